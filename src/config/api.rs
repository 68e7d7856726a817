//! `[api]` (the control API) and `[chat]` (answers to viewers' comments).

use anyhow::{Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatConfig {
    /// An OpenAI-compatible endpoint that drafts answers to comments no rule matches;
    /// off when absent.
    pub llm: Option<LlmConfig>,
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
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// Full URL of the chat-completions endpoint, http:// or https://.
    pub url: String,
    /// Sent as a bearer token when set.
    pub key: Option<String>,
    #[serde(default = "default_model")]
    pub model: String,
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// Instructions for the model; the product on air is appended.
    #[serde(default = "default_system")]
    pub system: String,
    /// Said when the endpoint fails or is too slow.
    #[serde(default = "default_fallback")]
    pub fallback: String,
}

fn default_model() -> String {
    "gpt-4o-mini".into()
}
fn default_timeout() -> u64 {
    4000
}
fn default_system() -> String {
    "You are the friendly host of a live shopping stream. Answer the viewer's comment in one or two short spoken \
     sentences, plain text, no emoji, no lists. Never promise what you do not know; never use absolute claims \
     like best or number one."
        .into()
}
fn default_fallback() -> String {
    "Thanks for the question! Keep them coming, I read every comment.".into()
}

impl LlmConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            bail!("`chat.llm.url`: `{}` must start with http:// or https://", self.url);
        }
        if !(100..=30_000).contains(&self.timeout_ms) {
            bail!("`chat.llm.timeout_ms`: use 100 to 30000");
        }
        Ok(())
    }
}
