//! The config file (TOML): what to say, how it looks and sounds, where it goes.
//! Every field is documented in config/README.md. Loading is strict: an unknown key
//! or a malformed value stops startup with the config path of the field and a hint.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

pub use crate::frame::FrameSize;

mod api;
mod audio;
mod avatar;
mod label;
mod output;
mod scene;
mod show;
mod strict;
mod video;
mod voice;

pub use api::*;
pub use audio::*;
pub use avatar::*;
pub use label::*;
pub use output::*;
pub use scene::*;
pub use show::*;
pub use strict::*;
pub use video::*;
pub use voice::*;

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
    pub moderation: ModerationConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub chat: ChatConfig,
    #[serde(default)]
    pub output: OutputsConfig,
    /// The machine-readable AI label (always on; this names the producer and the id).
    #[serde(default)]
    pub label: LabelConfig,
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
        self.avatar.validate()?;
        self.label.validate()?;
        for (name, v) in &self.voices {
            if name == DEFAULT_VOICE || name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == '/') {
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
        for (i, f) in self.output.file.iter().enumerate() {
            if f.keep_gb.is_some_and(|g| !(g > 0.0) || f.split_minutes.is_none()) {
                bail!("`output.file[{i}].keep_gb`: use a number of gigabytes above 0, with split_minutes (the oldest parts are deleted)");
            }
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
        let (first, max) = (self.output.retry_first_seconds, self.output.retry_max_seconds);
        if !(0.1..=60.0).contains(&first) {
            bail!("`output.retry_first_seconds`: use 0.1 to 60");
        }
        if !(0.1..=300.0).contains(&max) || max < first {
            bail!("`output.retry_max_seconds`: use {first} (output.retry_first_seconds) to 300");
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

    /// Replaces the config's outputs with command-line targets (`--output`): an
    /// srt:// URL, another URL (RTMP), or a file. They are checked with the config's
    /// own outputs, where the outputs are made (`Output::all`), and named as given.
    pub fn set_outputs(&mut self, targets: &[String]) {
        // Targets replace the config's; the delivery settings stay.
        let mut outputs = OutputsConfig {
            rtmp: Vec::new(),
            srt: Vec::new(),
            file: Vec::new(),
            hls: Vec::new(),
            whip: Vec::new(),
            from_command_line: true,
            ..self.output.clone()
        };
        for t in targets {
            if t.starts_with("srt://") {
                outputs.srt.push(SrtOutputConfig::from_url(t));
            } else if t.contains("://") {
                outputs.rtmp.push(RtmpOutputConfig { url: t.clone(), key_env: None });
            } else {
                outputs.file.push(FileOutputConfig::at(PathBuf::from(t), None));
            }
        }
        self.output = outputs;
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
        c.set_outputs(&["rtmp://127.0.0.1:1935/live/x".into(), "b.mp4".into(), "srt://127.0.0.1:9000".into()]);
        assert_eq!(c.output.rtmp.len(), 1);
        assert_eq!(c.output.srt.len(), 1);
        assert_eq!(c.output.file[0].path, PathBuf::from("b.mp4"));
        assert!(c.output.from_command_line);
    }
}
