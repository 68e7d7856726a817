//! External or cloned voices over HTTP: an OpenAI-compatible `POST /v1/audio/speech`
//! (`{"model", "input", "voice", "response_format": "wav"}`) or any endpoint that
//! takes that body and answers with a WAV file. A timeout bounds every request; on
//! any failure the line falls back to the default voice (voices.rs), so the stream
//! never goes quiet because a service did. The audio comes without timings: the
//! mouth follows its loudness (lipsync::energy).

use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::config::VoiceConfig;

pub struct HttpVoice {
    agent: ureq::Agent,
    url: String,
    model: String,
    voice: String,
    api_key: Option<String>,
}

impl HttpVoice {
    pub fn new(config: &VoiceConfig) -> Result<HttpVoice> {
        let url = config.url.clone().context("`url` is required for engine = \"http\"")?;
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).with_context(|| format!("environment variable {var} (api_key_env) is not set"))?),
            None => None,
        };
        let timeout = Duration::from_millis(u64::from(config.timeout_ms));
        Ok(HttpVoice {
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
            url,
            model: config.remote_model.clone(),
            voice: config.remote_voice.clone(),
            api_key,
        })
    }

    /// Mono samples in -1..1 and their rate.
    pub fn synthesize(&self, text: &str) -> Result<(u32, Vec<f32>)> {
        let mut request = self.agent.post(&self.url).set("Accept", "audio/wav");
        if let Some(key) = &self.api_key {
            request = request.set("Authorization", &format!("Bearer {key}"));
        }
        let body = serde_json::json!({ "model": self.model, "input": text, "voice": self.voice, "response_format": "wav" });
        let response = request.send_json(body).map_err(|e| match e {
            ureq::Error::Status(code, r) => anyhow::anyhow!("{} answered HTTP {code}: {}", self.url, r.into_string().unwrap_or_default().chars().take(200).collect::<String>()),
            other => anyhow::anyhow!("{}: {other}", self.url),
        })?;
        let mut bytes = Vec::new();
        // At most 64 MiB: minutes of audio; a runaway answer is cut off.
        std::io::Read::read_to_end(&mut std::io::Read::take(response.into_reader(), 64 << 20), &mut bytes).context("reading the audio")?;
        parse_wav(&bytes).with_context(|| format!("{} did not answer with a WAV file", self.url))
    }
}

/// PCM WAV (8/16/24/32-bit integer or 32-bit float, any channels, mixed to mono).
pub fn parse_wav(bytes: &[u8]) -> Result<(u32, Vec<f32>)> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        bail!("not a RIFF/WAVE file");
    }
    let (mut format, mut channels, mut rate, mut bits) = (0u16, 0u16, 0u32, 0u16);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
        if id == b"fmt " && body.len() >= 16 {
            format = u16::from_le_bytes([body[0], body[1]]);
            channels = u16::from_le_bytes([body[2], body[3]]);
            rate = u32::from_le_bytes(body[4..8].try_into().expect("4 bytes"));
            bits = u16::from_le_bytes([body[14], body[15]]);
            if format == 0xfffe && body.len() >= 26 {
                format = u16::from_le_bytes([body[24], body[25]]); // WAVE_FORMAT_EXTENSIBLE: the sub-format
            }
        } else if id == b"data" {
            if channels == 0 || rate == 0 {
                bail!("data before its format");
            }
            let width = usize::from(bits / 8);
            let frame = width * usize::from(channels);
            let sample = |b: &[u8]| -> f32 {
                match (format, bits) {
                    (1, 8) => (f32::from(b[0]) - 128.0) / 128.0,
                    (1, 16) => f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
                    (1, 24) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
                    (1, 32) => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0,
                    (3, 32) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    _ => 0.0,
                }
            };
            if !matches!((format, bits), (1, 8 | 16 | 24 | 32) | (3, 32)) {
                bail!("WAV format {format} with {bits} bits is not supported (use 16-bit PCM)");
            }
            let mono = body
                .chunks_exact(frame)
                .map(|f| f.chunks_exact(width).map(sample).sum::<f32>() / f32::from(channels))
                .collect();
            return Ok((rate, mono));
        }
        at += 8 + len + (len & 1);
    }
    bail!("no audio data in the WAV file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_files_read_back() {
        let dir = std::env::temp_dir().join(format!("avatarcast-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.wav");
        let samples: Vec<i16> = (0..480).map(|i| ((i as f32 / 10.0).sin() * 16000.0) as i16).collect();
        crate::speech::wav::write_wav(&path, &samples, 48000).unwrap();
        let (rate, read) = parse_wav(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!((rate, read.len()), (48000, 480));
        assert!((read[5] - f32::from(samples[5]) / 32768.0).abs() < 1e-6);
        assert!(parse_wav(b"RIFF\0\0\0\0WAVEjunk").is_err());
        assert!(parse_wav(b"ID3 mp3").is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
