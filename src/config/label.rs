//! `[label]`: the machine-readable AI label's producer and content id.

use anyhow::{Result, bail};
use serde::Deserialize;

/// `[label]`: who made the stream and how its content id is formed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabelConfig {
    /// The producer's name or code (`ContentProducer`).
    pub producer: String,
    /// The channel's name: in the content id; "" = the show file's name.
    pub channel: String,
    /// The content id (`ProduceID`), unique per stream: `{producer}`, `{channel}` and
    /// `{start}` (the stream's start, UTC, e.g. 20261130T221500Z) are filled in.
    pub content_id: String,
}

impl Default for LabelConfig {
    fn default() -> Self {
        LabelConfig { producer: "avatarcast".into(), channel: String::new(), content_id: "{producer}:{channel}:{start}".into() }
    }
}

const PLACEHOLDERS: [&str; 3] = ["{producer}", "{channel}", "{start}"];

impl LabelConfig {
    pub fn validate(&self) -> Result<()> {
        if self.producer.trim().is_empty() {
            bail!("`label.producer`: name the producer (a company name or code); the AI label cannot be left without one");
        }
        let mut rest = self.content_id.clone();
        for p in PLACEHOLDERS {
            rest = rest.replace(p, "");
        }
        if let Some(i) = rest.find(['{', '}']) {
            bail!("`label.content_id`: `{}` is not a placeholder; use {}", &rest[i..], PLACEHOLDERS.join(", "));
        }
        if !self.content_id.contains("{start}") {
            bail!("`label.content_id`: include `{{start}}` so every stream gets its own id");
        }
        Ok(())
    }
}
