//! Optional answers to chat drafted by an OpenAI-compatible chat endpoint
//! (`/v1/chat/completions`), for comments no rule matches. Off unless configured;
//! bounded by a timeout, with a fallback line, so the stream never waits on it.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

use crate::show::file::Product;

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

    /// Drafts an answer (blocking, bounded by the timeout). Errors say what failed.
    pub fn draft(&self, user: &str, comment: &str, product: Option<&Product>) -> Result<String> {
        let mut system = self.system.clone();
        if let Some(p) = product {
            system.push_str(&format!("\nProduct on air: {}", p.name));
            if let Some(price) = &p.price {
                system.push_str(&format!(", price {price}"));
            }
            if let Some(orig) = &p.original_price {
                system.push_str(&format!(" (was {orig})"));
            }
            system.push('.');
        }
        let body = json!({
            "model": self.model,
            "messages": [
                { "role": "system", "content": system },
                { "role": "user", "content": format!("{user} asks: {comment}") },
            ],
            "max_tokens": 120,
            "temperature": 0.6,
        });
        let mut req = ureq::post(&self.url).timeout(Duration::from_millis(self.timeout_ms)).set("Content-Type", "application/json");
        if let Some(key) = &self.key {
            req = req.set("Authorization", &format!("Bearer {key}"));
        }
        let resp: serde_json::Value = req
            .send_json(body)
            .map_err(|e| anyhow::anyhow!("chat endpoint {}: {e}", self.url))?
            .into_json()
            .context("chat endpoint answered with something that is not JSON")?;
        let text = resp["choices"][0]["message"]["content"].as_str().unwrap_or("").trim().to_string();
        if text.is_empty() {
            bail!("chat endpoint answered without choices[0].message.content");
        }
        // One or two sentences at most: a spoken answer, not an essay.
        let mut sentences = crate::show::split_sentences(&text);
        sentences.truncate(2);
        Ok(sentences.join(" ").chars().take(400).collect())
    }
}
