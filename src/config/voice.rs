//! `[voice]` and `[voices.NAME]`: how the host sounds.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Deserialize;

/// The name of `[voice]` among the named voices (`[voices.NAME]`).
pub const DEFAULT_VOICE: &str = "default";

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
            onnxruntime: PathBuf::from("models/onnxruntime/libonnxruntime.so"),
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
    pub fn validate(&self, at: &str) -> Result<()> {
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
    pub fn model_json(&self) -> PathBuf {
        let mut s = self.model.clone().into_os_string();
        s.push(".json");
        PathBuf::from(s)
    }

    pub fn onnxruntime_path(&self) -> PathBuf {
        std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from).unwrap_or_else(|| self.onnxruntime.clone())
    }
}
