//! Optional answers to chat drafted by an OpenAI-compatible chat endpoint
//! (`/v1/chat/completions`), for comments no rule matches. Off unless configured;
//! bounded by a timeout, with a fallback line, so the stream never waits on it.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::config::LlmConfig;
use crate::show::file::Product;

/// Drafts an answer (blocking, bounded by the timeout). Errors say what failed.
pub fn draft(config: &LlmConfig, user: &str, comment: &str, product: Option<&Product>) -> Result<String> {
    let mut system = config.system.clone();
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
        "model": config.model,
        "messages": [
            { "role": "system", "content": system },
            { "role": "user", "content": format!("{user} asks: {comment}") },
        ],
        "max_tokens": 120,
        "temperature": 0.6,
    });
    let mut req = ureq::post(&config.url).timeout(Duration::from_millis(config.timeout_ms)).set("Content-Type", "application/json");
    if let Some(key) = &config.key {
        req = req.set("Authorization", &format!("Bearer {key}"));
    }
    let resp: serde_json::Value = req
        .send_json(body)
        .map_err(|e| anyhow::anyhow!("chat endpoint {}: {e}", config.url))?
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
