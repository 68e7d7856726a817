//! `avatarcast say`: the speech stage on its own. A line in, a 48 kHz WAV out, and
//! optionally its phoneme and word timings as JSON: for checking a voice, a price or
//! a pronunciation, and for measuring.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::wav::write_wav;
use super::{OUTPUT_RATE, Speaker};
use crate::config::VoiceConfig;

/// Picks the voice: a path to a `.onnx`, or a name from the catalog (voices.rs).
pub fn resolve_voice(config: &crate::config::Config, voice: Option<&str>) -> Result<VoiceConfig> {
    let catalog = super::voices::VoiceCatalog::new(&config.voice, &config.voices);
    match voice {
        None => Ok(config.voice.clone()),
        Some(path) if path.ends_with(".onnx") => {
            if !Path::new(path).is_file() {
                bail!("voice model {path} not found");
            }
            Ok(VoiceConfig { model: PathBuf::from(path), engine: crate::config::VoiceEngine::Piper, ..config.voice.clone() })
        }
        Some(name) => catalog.resolve(name),
    }
}

/// The voice settings for work no stream waits on: every core of the machine (a live
/// channel keeps `voice.threads`, leaving the cores to rendering and encoding).
fn offline(config: &VoiceConfig) -> VoiceConfig {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    VoiceConfig { threads: config.threads.max(cores), ..config.clone() }
}

/// Speaks `text` into `wav` (and `timings`); returns the timings document.
pub fn run(config: &VoiceConfig, text: &str, wav: &Path, timings: Option<&Path>) -> Result<serde_json::Value> {
    let config = &offline(config);
    let cache = std::sync::Arc::new(super::cache::SpeechCache::for_voice(config));
    // A line in the cache needs no voice: it is loaded only for a line that is not.
    let mut speaker = Speaker::lazy(config).with_cache(cache.clone());
    let started = std::time::Instant::now();
    let Some(u) = speaker.speak(text, "")? else {
        bail!("nothing in `{text}` can be spoken (only symbols or emoji?)");
    };
    let mut doc = timings_doc(config, &u);
    doc["cached"] = json!(cache.hits.load(std::sync::atomic::Ordering::Relaxed) > 0);
    doc["synth_seconds"] = json!(started.elapsed().as_secs_f64());
    write_wav(wav, u.samples(), OUTPUT_RATE)?;
    if let Some(path) = timings {
        std::fs::write(path, serde_json::to_string_pretty(&doc)?).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(doc)
}

/// Speaks every non-empty line of `lines` into `dir`/NNNN.wav with its timings in
/// `dir`/NNNN.json (NNNN = the line's number in the file), loading the voice once: for
/// pre-rendering a script, and for the lip-sync model's training data. Returns how
/// many were written.
pub fn run_lines(config: &VoiceConfig, lines: &Path, dir: &Path) -> Result<usize> {
    let script = std::fs::read_to_string(lines).with_context(|| format!("reading the lines file {}", lines.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating the output folder {}", dir.display()))?;
    let todo: Vec<(usize, &str)> = script.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
    let config = &offline(config);
    let mut speaker = Speaker::lazy(config).with_cache(std::sync::Arc::new(super::cache::SpeechCache::for_voice(config)));
    let started = std::time::Instant::now();
    let mut written = 0;
    for (i, (number, line)) in todo.iter().enumerate() {
        if i % 50 == 0 && i > 0 {
            tracing::info!("said {i} of {} lines in {:.0} s", todo.len(), started.elapsed().as_secs_f64());
        }
        let Some(u) = speaker.speak(line, "")? else {
            tracing::warn!(line = number + 1, "nothing to speak in `{line}`; skipped");
            continue;
        };
        let stem = dir.join(format!("{:04}", number + 1));
        write_wav(&stem.with_extension("wav"), u.samples(), OUTPUT_RATE)?;
        let doc = timings_doc(config, &u);
        std::fs::write(stem.with_extension("json"), serde_json::to_string(&doc)?)
            .with_context(|| format!("writing {}", stem.with_extension("json").display()))?;
        written += 1;
    }
    Ok(written)
}

/// Phoneme, word and mouth-shape timings (seconds) of one utterance.
fn timings_doc(config: &VoiceConfig, u: &super::Utterance) -> serde_json::Value {
    let seconds = |s: u32| f64::from(s) / f64::from(OUTPUT_RATE);
    let spoken_words: Vec<&str> = u.spoken.split_whitespace().collect();
    let words: Vec<serde_json::Value> = u
        .words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut v = json!({ "start": seconds(w.start), "end": seconds(w.end) });
            // espeak-ng sometimes joins or splits words; text only where they line up.
            if spoken_words.len() == u.words.len() {
                v["word"] = json!(spoken_words[i]);
            }
            v
        })
        .collect();
    json!({
        "text": u.text,
        "spoken": u.spoken,
        "voice": match config.engine {
            crate::config::VoiceEngine::Piper => config.model.display().to_string(),
            crate::config::VoiceEngine::Espeak => format!("espeak-ng {}", config.language),
            crate::config::VoiceEngine::Http => config.url.clone().unwrap_or_default(),
        },
        "sample_rate": OUTPUT_RATE,
        "duration": u.duration_seconds(),
        "phonemes": u.phonemes().iter().map(|p| json!({ "phoneme": p.phoneme.to_string(), "start": seconds(p.start), "end": seconds(p.end) })).collect::<Vec<_>>(),
        "words": words,
        // The mouth shapes the renderer shows (A-H, X: docs/design.md § Mouth shapes).
        "mouth": u.mouth.cues.iter().map(|c| json!({ "shape": c.mouth.letter().to_string(), "start": seconds(c.start), "end": seconds(c.end) })).collect::<Vec<_>>(),
    })
}
