//! Strict TOML for every file avatarcast reads (config, show file, avatar manifest).

use anyhow::Result;

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
