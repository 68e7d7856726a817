//! `[output]`: where the stream goes. The targets are parsed and checked where they
//! are used, once (src/output, `Output::all`); here they are plain data.

use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    pub rtmp: Vec<RtmpOutputConfig>,
    pub srt: Vec<SrtOutputConfig>,
    pub file: Vec<FileOutputConfig>,
    pub hls: Vec<HlsOutputConfig>,
    pub whip: Vec<WhipOutputConfig>,
    /// Wait before a failed output's first reconnect attempt (then x1.5 each time).
    pub retry_first_seconds: f64,
    /// Longest wait between two reconnect attempts of a failed output.
    pub retry_max_seconds: f64,
    /// An RTMP output whose server accepts no bytes for this long is reconnected.
    pub stall_seconds: f64,
    pub webrtc: WebrtcConfig,
    /// The targets came from `--output` (errors name them so, not a config field).
    #[serde(skip)]
    pub from_command_line: bool,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            rtmp: Vec::new(),
            srt: Vec::new(),
            file: Vec::new(),
            hls: Vec::new(),
            whip: Vec::new(),
            retry_first_seconds: 2.0,
            retry_max_seconds: 6.0,
            stall_seconds: 10.0,
            webrtc: WebrtcConfig::default(),
            from_command_line: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HlsOutputConfig {
    /// Folder for index.m3u8 and its segments.
    pub dir: PathBuf,
    /// Segment length; a multiple of `video.keyframe_seconds` (segments start on keyframes).
    #[serde(default)]
    pub segment_seconds: Option<u32>,
    /// Segments listed in the playlist (and kept on disk).
    #[serde(default = "default_playlist_length")]
    pub playlist_length: u32,
}

fn default_playlist_length() -> u32 {
    6
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebrtcConfig {
    /// WHEP playback next to the control API (live mode).
    pub enabled: bool,
    pub max_viewers: u32,
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        WebrtcConfig { enabled: true, max_viewers: 10 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtmpOutputConfig {
    /// rtmp://host[:port]/app/streamkey or rtmps://…
    pub url: String,
    /// Or `url` without the key (rtmp://host/app) and the environment variable holding
    /// the stream key (a Kubernetes Secret, kept out of files).
    #[serde(default)]
    pub key_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOutputConfig {
    /// .flv, .mp4 or .mkv
    pub path: PathBuf,
    /// Starts a new file every this many minutes (NAME-00001.mp4, NAME-00002.mp4, …).
    #[serde(default)]
    pub split_minutes: Option<f64>,
    /// Space kept free on the recording's disk: below it the recording is closed (a
    /// playable file) and waits; it goes on in a new file once twice this is free.
    #[serde(default = "default_min_free_mb")]
    pub min_free_mb: u64,
    /// Split recordings only: the oldest parts are deleted to keep at most this many
    /// gigabytes of them (none: keep all).
    #[serde(default)]
    pub keep_gb: Option<f64>,
}

fn default_min_free_mb() -> u64 {
    256
}

impl FileOutputConfig {
    /// A recording with the defaults (`--output out.mp4` on the command line).
    pub fn at(path: PathBuf, split_minutes: Option<f64>) -> FileOutputConfig {
        FileOutputConfig { path, split_minutes, min_free_mb: default_min_free_mb(), keep_gb: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SrtOutputConfig {
    /// srt://host:port of the listener.
    pub url: String,
    /// The stream id the listener's access control asks for ("" = none).
    #[serde(default)]
    pub streamid: String,
    /// AES encryption passphrase, 10 to 79 characters ("" = unencrypted).
    #[serde(default)]
    pub passphrase: String,
    /// Or the environment variable holding the passphrase (a Secret).
    #[serde(default)]
    pub passphrase_env: Option<String>,
    /// SRT's receive latency: how long lost packets may be resent.
    #[serde(default = "default_latency_ms")]
    pub latency_ms: u32,
}

fn default_latency_ms() -> u32 {
    200
}

impl SrtOutputConfig {
    /// A target given on the command line (`--output srt://…`).
    pub fn from_url(url: &str) -> SrtOutputConfig {
        SrtOutputConfig { url: url.to_string(), streamid: String::new(), passphrase: String::new(), passphrase_env: None, latency_ms: default_latency_ms() }
    }
}

/// `[[output.whip]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhipOutputConfig {
    /// The endpoint: http(s)://host[:port]/path, as the platform gives it.
    pub url: String,
    /// The environment variable holding the bearer token (a Secret); none: no token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Read from `token_env` when the config is loaded.
    #[serde(skip)]
    pub token: Option<String>,
}
