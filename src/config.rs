//! The config file (TOML): what to say, how it looks and sounds, where it goes.
//! Every field is documented in config/README.md. Loading is strict: an unknown key
//! or a malformed value stops startup with the config path of the field and a hint.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Line number (1-based) of byte `offset` in `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Strict TOML for every file avatarcast reads (config, show file, avatar manifest):
/// an error names the line and the path of the field, e.g. "line 9: `video.colour`:
/// unknown field `colour`, expected one of …".
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(0);
        anyhow::anyhow!("line {line}: not valid TOML: {}", e.message())
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().map(|s| line_at(text, s.start)).unwrap_or(0);
        // toml's message can carry a snippet of the file; its first line says it all.
        anyhow::anyhow!("line {line}: `{path}`: {}", inner.message().lines().next().unwrap_or(""))
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub video: VideoConfig,
    #[serde(default)]
    pub audio: AudioConfig,
    #[serde(default)]
    pub voice: VoiceConfig,
    /// More voices by name ([voices.NAME]), for shows, segments and inserted lines.
    #[serde(default)]
    pub voices: std::collections::BTreeMap<String, VoiceConfig>,
    #[serde(default)]
    pub avatar: AvatarConfig,
    #[serde(default)]
    pub scene: SceneConfig,
    pub show: ShowConfig,
    #[serde(default)]
    pub moderation: crate::show::moderation::ModerationConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub chat: ChatConfig,
    #[serde(default)]
    pub output: OutputsConfig,
    /// The machine-readable AI label (always on; this names the producer and the id).
    #[serde(default)]
    pub label: crate::label::LabelConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// An OpenAI-compatible endpoint that drafts answers to comments no rule matches;
    /// off when absent.
    pub llm: Option<crate::control::llm::LlmConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address of the control API (HTTP + JSON); `--api` overrides it.
    pub listen: String,
    /// Bearer token; required whenever `listen` is beyond loopback.
    pub token: Option<String>,
    /// Or the environment variable holding it (a Kubernetes Secret, kept out of files).
    pub token_env: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig { listen: "127.0.0.1:8080".into(), token: None, token_env: None }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    /// "WIDTHxHEIGHT", both even.
    pub size: FrameSize,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// Keyframe interval; platforms ask for 2 s.
    pub keyframe_seconds: u32,
    /// Draws the wall-clock time as a row of black and white blocks in the top-left
    /// corner, so a player can measure glass-to-glass latency (benches/webrtc_latency.rs).
    pub latency_marker: bool,
    /// x264's speed preset (docs/performance.md has what each costs on our frames).
    pub preset: String,
    /// x264's threads: 1 (the default) encodes each frame on one thread, so the
    /// encoder runs beside the renderer and the machine's other cores go to other
    /// channels; 0 lets x264 pick by the cores (slices of each frame in parallel).
    pub encoder_threads: u32,
}

/// x264's speed presets, fastest first.
pub const X264_PRESETS: [&str; 9] = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            size: FrameSize { width: 720, height: 1280 },
            fps: 25,
            bitrate_kbps: 2500,
            keyframe_seconds: 2,
            latency_marker: false,
            preset: "superfast".into(),
            encoder_threads: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
}

impl<'de> Deserialize<'de> for FrameSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for FrameSize {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not a size: write WIDTHxHEIGHT with even numbers from 64 to 4096, e.g. \"720x1280\"");
        let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
        let (width, height): (u32, u32) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
        let ok = |v: u32| (64..=4096).contains(&v) && v % 2 == 0;
        if !ok(width) || !ok(height) {
            return Err(bad());
        }
        Ok(FrameSize { width, height })
    }
}

impl fmt::Display for FrameSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    pub bitrate_kbps: u32,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig { bitrate_kbps: 128 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// piper (neural, the default) or espeak (espeak-ng's own voice, any language it speaks).
    pub engine: VoiceEngine,
    /// Piper voice model; its `.onnx.json` sits beside it.
    pub model: PathBuf,
    /// espeak engine: the espeak-ng voice, e.g. "en-us" or "cmn" (Mandarin).
    pub language: String,
    /// espeak engine: 0-100, 50 is the voice's own.
    pub pitch: Option<u32>,
    /// http engine: the endpoint (OpenAI-compatible /v1/audio/speech, or any that answers WAV).
    pub url: Option<String>,
    /// http engine: the request's `model` and `voice`.
    pub remote_model: String,
    pub remote_voice: String,
    /// http engine: the environment variable that holds the bearer token, if one is needed.
    pub api_key_env: Option<String>,
    /// http engine: longest wait for an answer; past it the default voice says the line.
    pub timeout_ms: u32,
    /// ONNX Runtime shared library (unpacked by scripts/setup.sh). `ORT_DYLIB_PATH` overrides it.
    pub onnxruntime: PathBuf,
    /// Inference threads for synthesis.
    pub threads: usize,
    /// >1 speaks slower, <1 faster.
    pub length_scale: Option<f32>,
    /// Output gain, 1.0 = as the voice produces it.
    pub volume: f32,
    /// The model that finds mouth shapes in audio without timings (HTTP voices; for
    /// recorded lines, the one in [voice]); "" = mouth shapes from loudness.
    pub mouth_model: PathBuf,
    /// Synthesized sentences kept here across runs; "" keeps them in memory only.
    pub cache_dir: PathBuf,
    pub cache_memory_mb: u32,
    pub cache_disk_mb: u32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            engine: VoiceEngine::Piper,
            model: PathBuf::from("models/voices/en_US-joe-medium.onnx"),
            language: "en-us".into(),
            pitch: None,
            url: None,
            remote_model: "tts-1".into(),
            remote_voice: "alloy".into(),
            api_key_env: None,
            timeout_ms: 5000,
            onnxruntime: PathBuf::from("models/onnxruntime/libonnxruntime.so.1.31.1"),
            threads: 1,
            length_scale: None,
            volume: 1.0,
            mouth_model: PathBuf::from("assets/lipsync/mouth-from-audio.onnx"),
            cache_dir: PathBuf::from("cache/speech"),
            cache_memory_mb: 256,
            cache_disk_mb: 2048,
        }
    }
}

impl VoiceConfig {
    /// Range checks; `at` is the config path ("voice", "voices.anna").
    fn validate(&self, at: &str) -> Result<()> {
        if !(1..=16).contains(&self.threads) {
            bail!("`{at}.threads`: use 1 to 16");
        }
        if let Some(p) = self.pitch {
            if self.engine != VoiceEngine::Espeak {
                bail!("`{at}.pitch`: only the espeak engine takes a pitch (engine = \"espeak\")");
            }
            if p > 100 {
                bail!("`{at}.pitch`: use 0 to 100 (50 is the voice's own)");
            }
        }
        if self.engine == VoiceEngine::Http {
            if !self.url.as_deref().is_some_and(|u| u.starts_with("http://") || u.starts_with("https://")) {
                bail!("`{at}.url`: engine = \"http\" needs the endpoint, e.g. \"http://127.0.0.1:8000/v1/audio/speech\"");
            }
            if !(100..=60_000).contains(&self.timeout_ms) {
                bail!("`{at}.timeout_ms`: use 100 to 60000");
            }
        }
        if !(0.0..=4.0).contains(&self.volume) {
            bail!("`{at}.volume`: use 0.0 to 4.0 (1.0 leaves the voice as it is)");
        }
        if let Some(ls) = self.length_scale {
            if !(0.25..=4.0).contains(&ls) {
                bail!("`{at}.length_scale`: use 0.25 to 4.0 (1.0 is the voice's own pace)");
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoiceEngine {
    Piper,
    Espeak,
    Http,
}

impl VoiceConfig {
    /// The shared audio-to-mouth model, None when `mouth_model` is "" (loudness) or
    /// cannot be loaded (said once in the log: the stream goes on with loudness).
    pub fn mouth_model(&self) -> Option<crate::lipsync::audio_model::SharedMouthModel> {
        if self.mouth_model.as_os_str().is_empty() {
            return None;
        }
        crate::lipsync::audio_model::MouthModel::shared(&self.mouth_model, &self.onnxruntime_path())
            .map_err(|e| tracing::error!("the mouth follows loudness for audio without timings: {e:#}"))
            .ok()
    }

    pub fn model_json(&self) -> PathBuf {
        let mut s = self.model.clone().into_os_string();
        s.push(".json");
        PathBuf::from(s)
    }

    /// The speech cache this voice config asks for.
    pub fn cache(&self) -> crate::speech::cache::SpeechCache {
        let dir = (!self.cache_dir.as_os_str().is_empty() && self.cache_disk_mb > 0).then(|| self.cache_dir.clone());
        crate::speech::cache::SpeechCache::new(self.cache_memory_mb as usize * 1024 * 1024, dir, u64::from(self.cache_disk_mb) * 1024 * 1024)
    }

    pub fn onnxruntime_path(&self) -> PathBuf {
        std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from).unwrap_or_else(|| self.onnxruntime.clone())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AvatarConfig {
    /// Avatar pack folder (avatar.toml and its media; docs/avatar-packs.md).
    pub pack: PathBuf,
    /// Seed for blinks and idle motion, so a render is reproducible.
    pub seed: u64,
    /// The face model that redraws a video pack's mouth.
    pub lipsync: crate::lipsync::neural::LipsyncConfig,
}

impl Default for AvatarConfig {
    fn default() -> Self {
        AvatarConfig { pack: PathBuf::from("assets/avatars/cartoon-host"), seed: 7, lipsync: Default::default() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SceneConfig {
    /// Background: an .svg, .png or .jpg file, or a colour "#rrggbb".
    pub background: String,
    /// More backgrounds by name, for `[background NAME]` markup and PUT /v1/scene.
    pub backgrounds: std::collections::BTreeMap<String, String>,
    /// Background switches blend over this long.
    pub crossfade_ms: u32,
    /// Word-synced captions of what the host says.
    pub captions: bool,
    /// A logo in the top-right corner (.svg, .png, .jpg).
    pub logo: Option<PathBuf>,
    /// Host framing at start: "half" (head to waist) or "full" (head to toe).
    pub framing: crate::avatar::Framing,
    /// Where the always-visible "AI-generated" label sits.
    pub label_position: LabelPosition,
}

impl Default for SceneConfig {
    fn default() -> Self {
        SceneConfig {
            background: "assets/backgrounds/studio.svg".into(),
            backgrounds: Default::default(),
            crossfade_ms: 600,
            captions: true,
            logo: None,
            framing: Default::default(),
            label_position: LabelPosition::TopLeft,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LabelPosition {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowConfig {
    /// The show file: products, pitch variants, segments (docs/show-file.md).
    pub file: PathBuf,
    /// Everything said on air, one JSON line each; "" turns it off.
    #[serde(default = "default_transcript")]
    pub transcript: PathBuf,
}

fn default_transcript() -> PathBuf {
    PathBuf::from("out/transcript.jsonl")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    pub rtmp: Vec<RtmpOutputConfig>,
    pub srt: Vec<crate::output::srt::SrtOutputConfig>,
    pub file: Vec<FileOutputConfig>,
    pub hls: Vec<HlsOutputConfig>,
    pub whip: Vec<crate::output::whip::WhipOutputConfig>,
    /// Longest wait between two reconnect attempts of a failed output.
    pub retry_max_seconds: f64,
    /// An RTMP output whose server accepts no bytes for this long is reconnected.
    pub stall_seconds: f64,
    pub webrtc: WebrtcConfig,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig {
            rtmp: Vec::new(),
            srt: Vec::new(),
            file: Vec::new(),
            hls: Vec::new(),
            whip: Vec::new(),
            retry_max_seconds: 6.0,
            stall_seconds: 10.0,
            webrtc: WebrtcConfig::default(),
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
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}: check the path given to --config", path.display()))?;
        let config = Self::parse(&text).with_context(|| format!("config file {}", path.display()))?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<Config> {
        let mut config: Config = from_toml(text)?;
        config.read_secrets(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Fills the API token and stream keys named by `*_env` keys from the environment.
    fn read_secrets(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        let read = |var: &str, field: &str| -> Result<String> {
            env(var).filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_string()).with_context(|| {
                format!("`{field}`: the environment variable {var} is not set (or empty); set it, e.g. from a Secret")
            })
        };
        if let Some(var) = &self.api.token_env {
            if self.api.token.is_some() {
                bail!("`api.token_env`: give the token either in `api.token` or through `api.token_env`, not both");
            }
            self.api.token = Some(read(var, "api.token_env")?);
        }
        for (i, s) in self.output.srt.iter_mut().enumerate() {
            if let Some(var) = &s.passphrase_env {
                if !s.passphrase.is_empty() {
                    bail!("`output.srt[{i}].passphrase_env`: give the passphrase either in `passphrase` or through `passphrase_env`, not both");
                }
                s.passphrase = read(var, &format!("output.srt[{i}].passphrase_env"))?;
            }
        }
        for (i, w) in self.output.whip.iter_mut().enumerate() {
            if let Some(var) = &w.token_env {
                w.token = Some(read(var, &format!("output.whip[{i}].token_env"))?);
            }
        }
        for (i, r) in self.output.rtmp.iter_mut().enumerate() {
            if let Some(var) = &r.key_env {
                let key = read(var, &format!("output.rtmp[{i}].key_env"))?;
                r.url = format!("{}/{key}", r.url.trim_end_matches('/'));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if !(1..=60).contains(&self.video.fps) {
            bail!("`video.fps`: {} is out of range; use 1 to 60 (25 is what lip-sync models expect)", self.video.fps);
        }
        if !(200..=50_000).contains(&self.video.bitrate_kbps) {
            bail!("`video.bitrate_kbps`: {} is out of range; use 200 to 50000 (2500 suits 720x1280)", self.video.bitrate_kbps);
        }
        if !(1..=10).contains(&self.video.keyframe_seconds) {
            bail!("`video.keyframe_seconds`: use 1 to 10 (platforms ask for 2)");
        }
        if self.video.encoder_threads > 64 {
            bail!("`video.encoder_threads`: {} is more than x264 uses; give 0 (x264 picks) or 1 to 64", self.video.encoder_threads);
        }
        if !X264_PRESETS.contains(&self.video.preset.as_str()) {
            bail!("`video.preset`: `{}` is not an x264 preset; use one of {}", self.video.preset, X264_PRESETS.join(", "));
        }
        if !(32..=320).contains(&self.audio.bitrate_kbps) {
            bail!("`audio.bitrate_kbps`: {} is out of range; use 32 to 320 (128 is usual)", self.audio.bitrate_kbps);
        }
        self.voice.validate("voice")?;
        self.avatar.lipsync.validate()?;
        self.label.validate()?;
        for (name, v) in &self.voices {
            if name == crate::speech::voices::DEFAULT || name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '/') {
                bail!("`voices.{name}`: pick another name (not `default`, no spaces or slashes)");
            }
            v.validate(&format!("voices.{name}"))?;
        }
        let addr: std::net::SocketAddr = self.api.listen.parse().map_err(|_| {
            anyhow::anyhow!("`api.listen`: `{}` is not an address; write IP:PORT, e.g. \"127.0.0.1:8080\"", self.api.listen)
        })?;
        if !addr.ip().is_loopback() && self.api.token.as_deref().is_none_or(|t| t.len() < 16) {
            bail!(
                "`api.token`: the control API listens on {addr}, beyond this machine; set a bearer token of at least \
                 16 characters (or listen on 127.0.0.1)"
            );
        }
        if let Some(llm) = &self.chat.llm {
            llm.validate()?;
        }
        for (i, r) in self.output.rtmp.iter().enumerate() {
            crate::output::rtmp::RtmpTarget::parse(&r.url).with_context(|| format!("`output.rtmp[{i}].url`"))?;
        }
        for (i, s) in self.output.srt.iter().enumerate() {
            crate::output::srt::SrtTarget::new(s, &format!("output.srt[{i}]"))?;
        }
        for (i, w) in self.output.whip.iter().enumerate() {
            crate::output::whip::WhipTarget::new(w, &format!("output.whip[{i}]"))?;
        }
        for (i, f) in self.output.file.iter().enumerate() {
            crate::output::file::Container::from_path(&f.path).with_context(|| format!("`output.file[{i}].path`"))?;
            if f.split_minutes.is_some_and(|m| !(m * 60.0 >= self.video.keyframe_seconds as f64 && m <= 24.0 * 60.0)) {
                bail!(
                    "`output.file[{i}].split_minutes`: use {:.2} to 1440 (a file holds at least one keyframe interval)",
                    self.video.keyframe_seconds as f64 / 60.0
                );
            }
        }
        for (i, h) in self.output.hls.iter().enumerate() {
            let k = self.video.keyframe_seconds;
            if h.segment_seconds.is_some_and(|s| s == 0 || s % k != 0) {
                bail!("`output.hls[{i}].segment_seconds`: use a multiple of video.keyframe_seconds ({k}); segments start on keyframes");
            }
            if !(3..=100).contains(&h.playlist_length) {
                bail!("`output.hls[{i}].playlist_length`: use 3 to 100 (players want at least 3 segments)");
            }
        }
        if !(2.0..=300.0).contains(&self.output.retry_max_seconds) {
            bail!("`output.retry_max_seconds`: use 2 to 300 (the first retry comes after 2 s)");
        }
        if !(2.0..=120.0).contains(&self.output.stall_seconds) {
            bail!("`output.stall_seconds`: use 2 to 120");
        }
        if !(1..=100).contains(&self.output.webrtc.max_viewers) {
            bail!("`output.webrtc.max_viewers`: use 1 to 100");
        }
        Ok(())
    }

    /// Sets the control API address (`--api`), with the same checks as the config's.
    pub fn set_api_listen(&mut self, addr: &str) -> Result<()> {
        self.api.listen = addr.to_string();
        self.validate().context("--api")
    }

    /// Replaces the config's outputs with command-line targets (`--output`).
    pub fn set_outputs(&mut self, targets: &[String]) -> Result<()> {
        // Targets replace the config's; the delivery settings stay.
        let mut outputs =
            OutputsConfig { rtmp: Vec::new(), srt: Vec::new(), file: Vec::new(), hls: Vec::new(), whip: Vec::new(), ..self.output.clone() };
        for t in targets {
            if t.starts_with("srt://") {
                let srt = crate::output::srt::SrtOutputConfig::from_url(t);
                crate::output::srt::SrtTarget::new(&srt, "--output")?;
                outputs.srt.push(srt);
            } else if t.contains("://") {
                crate::output::rtmp::RtmpTarget::parse(t).with_context(|| format!("--output {t}"))?;
                outputs.rtmp.push(RtmpOutputConfig { url: t.clone(), key_env: None });
            } else {
                let path = PathBuf::from(t);
                crate::output::file::Container::from_path(&path).with_context(|| format!("--output {t}"))?;
                outputs.file.push(FileOutputConfig { path, split_minutes: None });
            }
        }
        self.output = outputs;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[show]\nfile = \"show.toml\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse(MINIMAL).unwrap();
        assert_eq!(c.video.size, FrameSize { width: 720, height: 1280 });
        assert_eq!(c.video.fps, 25);
        assert_eq!(c.show.file, PathBuf::from("show.toml"));
    }

    #[test]
    fn unknown_key_names_its_path() {
        let err = Config::parse(&format!("{MINIMAL}[output]\n[[output.rtmp]]\nurl = \"rtmp://a/b/c\"\nkey = 1\n")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("output.rtmp"), "{msg}");
        assert!(msg.contains("unknown field `key`"), "{msg}");
    }

    #[test]
    fn bad_size_names_field_and_format() {
        let err = Config::parse(&format!("[video]\nsize = \"big\"\n{MINIMAL}")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("video.size") && msg.contains("WIDTHxHEIGHT"), "{msg}");
        assert!("721x1280".parse::<FrameSize>().is_err());
        assert_eq!("1280x720".parse::<FrameSize>().unwrap(), FrameSize { width: 1280, height: 720 });
    }

    #[test]
    fn bad_rtmp_url_names_field() {
        let err = Config::parse(&format!("{MINIMAL}[[output.rtmp]]\nurl = \"http://example.com/live\"\n")).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("output.rtmp[0].url") && msg.contains("rtmp://"), "{msg}");
    }

    #[test]
    fn secrets_come_from_the_environment() {
        let text = format!("{MINIMAL}[api]\nlisten = \"0.0.0.0:8080\"\ntoken_env = \"TOKEN\"\n[[output.rtmp]]\nurl = \"rtmp://ingest/live/\"\nkey_env = \"KEY\"\n");
        let mut c: Config = from_toml(&text).unwrap();
        c.read_secrets(|v| Some(if v == "TOKEN" { "0123456789abcdef".into() } else { "sk-42".into() })).unwrap();
        c.validate().unwrap();
        assert_eq!(c.api.token.as_deref(), Some("0123456789abcdef"));
        assert_eq!(c.output.rtmp[0].url, "rtmp://ingest/live/sk-42");
        let mut c: Config = from_toml(&text).unwrap();
        let err = c.read_secrets(|v| (v == "TOKEN").then(|| "0123456789abcdef".into())).unwrap_err();
        assert!(format!("{err:#}").contains("`output.rtmp[0].key_env`: the environment variable KEY is not set"), "{err:#}");
    }

    #[test]
    fn api_beyond_loopback_needs_a_token() {
        let err = Config::parse(&format!("{MINIMAL}[api]\nlisten = \"0.0.0.0:8080\"\n")).unwrap_err();
        assert!(format!("{err:#}").contains("api.token"), "{err:#}");
        assert!(Config::parse(&format!("{MINIMAL}[api]\nlisten = \"0.0.0.0:8080\"\ntoken = \"0123456789abcdef\"\n")).is_ok());
        let err = Config::parse(&format!("{MINIMAL}[api]\nlisten = \"localhost\"\n")).unwrap_err();
        assert!(format!("{err:#}").contains("api.listen"), "{err:#}");
    }

    #[test]
    fn command_line_outputs_replace_config_outputs() {
        let mut c = Config::parse(&format!("{MINIMAL}[[output.file]]\npath = \"a.flv\"\n")).unwrap();
        c.set_outputs(&["rtmp://127.0.0.1:1935/live/x".into(), "b.mp4".into()]).unwrap();
        assert_eq!(c.output.rtmp.len(), 1);
        assert_eq!(c.output.file[0].path, PathBuf::from("b.mp4"));
        assert!(c.set_outputs(&["b.avi".into()]).is_err());
    }
}
