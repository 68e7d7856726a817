//! SRT contribution (broadcast ingest, vMix, OBS, SRS): MPEG-TS with the one encode's
//! H.264 and AAC over srtsink in caller mode, one pipeline per destination, rebuilt by
//! the supervisor when the listener goes away.

use anyhow::{Result, bail};

use crate::config::SrtOutputConfig;

const PIPELINE: &str = include_str!("../../pipelines/output-srt.gst");

/// `[[output.srt]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtTarget {
    pub host: String,
    pub port: u16,
    pub streamid: String,
    passphrase: String,
    pub latency_ms: u32,
}

impl SrtTarget {
    /// Checks `config` (`at` names it in errors: `output.srt[0]`, or `--output` for a
    /// target given on the command line).
    pub fn new(config: &SrtOutputConfig, at: &str) -> Result<SrtTarget> {
        let field = |key: &str| if at.starts_with("--") { at.to_string() } else { format!("`{at}.{key}`") };
        let Some(rest) = config.url.strip_prefix("srt://") else {
            bail!("{}: `{}` is not an SRT URL; write srt://host:port", field("url"), config.url);
        };
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if rest.len() != authority.len() {
            bail!("{}: write only srt://host:port; give the stream id in `streamid` and the passphrase in `passphrase` ([[output.srt]])", field("url"));
        }
        let Some((host, port)) = authority.rsplit_once(':') else {
            bail!("{}: `{}` has no port; write srt://host:port", field("url"), config.url);
        };
        let port: u16 = port.parse().ok().filter(|&p| p > 0).ok_or_else(|| anyhow::anyhow!("{}: port `{port}` is not a number from 1 to 65535", field("url")))?;
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '"') {
            bail!("{}: `{host}` is not a host name", field("url"));
        }
        let p = config.passphrase.chars().count();
        if p != 0 && !(10..=79).contains(&p) {
            bail!("{}: SRT takes 10 to 79 characters ({p} given), or none for no encryption", field("passphrase"));
        }
        if !(20..=8000).contains(&config.latency_ms) {
            bail!("{}: use 20 to 8000 (120 to 500 on the open internet)", field("latency_ms"));
        }
        if config.streamid.contains(['"', '\n']) {
            bail!("{}: no quotes or line breaks", field("streamid"));
        }
        Ok(SrtTarget { host: host.to_string(), port, streamid: config.streamid.clone(), passphrase: config.passphrase.clone(), latency_ms: config.latency_ms })
    }

    /// Safe to log: the passphrase is never shown, the stream id is masked like a key.
    pub fn describe(&self) -> String {
        let id = if self.streamid.is_empty() { String::new() } else { " (streamid ****)".into() };
        let enc = if self.passphrase.is_empty() { "" } else { ", encrypted" };
        format!("SRT srt://{}:{}{id}{enc}", self.host, self.port)
    }

    /// A failure in words, with what to check.
    pub fn explain(&self, message: &str) -> String {
        // GStreamer's detail after the message names its source file: not for operators.
        let detail = message.split(" ../").next().unwrap_or(message).trim();
        let why = if detail.contains("Connection does not exist") || detail.contains("setup failure") {
            format!("no SRT listener answered at {}:{} (is it running, and is UDP port {} open?)", self.host, self.port, self.port)
        } else if detail.to_ascii_lowercase().contains("reject") {
            "the listener refused the connection (check `streamid` and `passphrase`)".to_string()
        } else if detail.contains("Failed to write") {
            "the connection to the listener was lost".to_string()
        } else {
            "the SRT output failed".to_string()
        };
        format!("{}: {why} [{detail}]", self.describe())
    }

    pub fn pipeline_description(&self) -> String {
        let mut options = String::new();
        if !self.streamid.is_empty() {
            options.push_str(&format!("streamid=\"{}\" ", self.streamid));
        }
        if !self.passphrase.is_empty() {
            options.push_str(&format!("passphrase=\"{}\" ", self.passphrase.replace('\\', "\\\\").replace('"', "\\\"")));
        }
        let sink = crate::gst_helpers::fill(
            PIPELINE,
            &[("uri", format!("srt://{}:{}?mode=caller", self.host, self.port)), ("latency_ms", self.latency_ms.to_string()), ("options", options)],
        );
        super::sources::with_sources("mux.", "mux.", &sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_settings_are_checked_and_secrets_stay_out_of_logs() {
        let ok = |url: &str| SrtTarget::new(&SrtOutputConfig::from_url(url), "output.srt[0]");
        assert_eq!(ok("srt://ingest.example.com:9000").unwrap().port, 9000);
        for (url, says) in [("rtmp://h/app/key", "not an SRT URL"), ("srt://h", "no port"), ("srt://h:x", "port `x`"), ("srt://h:9000?streamid=a", "only srt://host:port")] {
            let e = format!("{:#}", ok(url).unwrap_err());
            assert!(e.contains("output.srt[0].url") && e.contains(says), "{url}: {e}");
        }
        let mut c = SrtOutputConfig::from_url("srt://h:9000");
        c.passphrase = "short".into();
        assert!(format!("{:#}", SrtTarget::new(&c, "output.srt[1]").unwrap_err()).contains("output.srt[1].passphrase"));
        c.passphrase = "a secret of twenty".into();
        c.streamid = "#!::r=live/key,m=publish".into();
        let t = SrtTarget::new(&c, "output.srt[1]").unwrap();
        assert!(!t.describe().contains("secret") && !t.describe().contains("live/key"), "{}", t.describe());
        let p = t.pipeline_description();
        assert!(p.contains("passphrase=\"a secret of twenty\"") && p.contains("mode=caller") && p.contains("latency=200"), "{p}");
    }
}
