//! `[show]` (the show file, the transcript) and `[moderation]` (what may not be said).

use std::path::PathBuf;

use serde::Deserialize;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Swap each banned term for its replacement and speak the line.
    Replace,
    /// Drop the whole line.
    Block,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    pub action: Action,
    /// Terms to catch, matched case-insensitively (whole words for Latin script).
    pub banned: Vec<String>,
    /// What replaces a banned Latin-script term under `action = "replace"`.
    pub replacement: String,
    /// What replaces a banned Chinese term.
    pub replacement_cjk: String,
}

impl Default for ModerationConfig {
    fn default() -> Self {
        ModerationConfig {
            action: Action::Replace,
            banned: [
                "best", "the best", "No. 1", "No.1", "number one", "#1", "100% guaranteed", "guaranteed", "cheapest",
                "lowest price", "world's first", "best-selling", "最好", "第一", "最佳", "最低价", "100%保证", "国家级",
                "顶级", "绝对",
            ]
            .map(String::from)
            .to_vec(),
            replacement: "great".into(),
            replacement_cjk: "很好".into(),
        }
    }
}
