//! Piper voices (VITS exported to ONNX) through ONNX Runtime, with exact per-phoneme
//! durations read out of the model's `Ceil` node (docs/design.md § ONNX Runtime and Piper timings).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use super::{espeak, onnx_patch};
use crate::onnx;
use crate::phoneme::PhonemeSpan;

/// Piper's duration unit: one spectrogram frame of 256 samples.
const HOP: u32 = 256;

#[derive(Deserialize)]
struct VoiceJson {
    audio: AudioJson,
    espeak: EspeakJson,
    #[serde(default)]
    inference: InferenceJson,
    phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    num_speakers: u32,
}

#[derive(Deserialize)]
struct AudioJson {
    sample_rate: u32,
}

#[derive(Deserialize)]
struct EspeakJson {
    voice: String,
}

#[derive(Deserialize)]
#[serde(default)]
struct InferenceJson {
    noise_scale: f32,
    length_scale: f32,
    noise_w: f32,
}

impl Default for InferenceJson {
    fn default() -> Self {
        InferenceJson { noise_scale: 0.667, length_scale: 1.0, noise_w: 0.8 }
    }
}


pub struct Synthesis {
    pub sample_rate: u32,
    pub samples: Vec<f32>,
    /// Covers the whole audio: leading silence (`^`), phonemes, trailing silence (`$`).
    pub phonemes: Vec<PhonemeSpan>,
    pub ipa: String,
}

/// A voice's model loaded once per process: the show and live lanes (and any voice
/// that names the same file) share it, which halves what a channel's speech holds in
/// memory. A lane waits for the other's sentence at most.
struct LoadedModel {
    session: Mutex<Session>,
    /// The model's `Ceil` output, declared as a graph output at load time.
    durations_output: Option<String>,
}

type SharedModel = Arc<LoadedModel>;

/// Loaded models by (file, threads), held while a voice uses them.
static MODELS: Mutex<Vec<((PathBuf, usize), Weak<LoadedModel>)>> = Mutex::new(Vec::new());

/// The model `model` at `threads`: the one already loaded, or a new one from `load`
/// (loads are one at a time, so two lanes starting together load it once, and the
/// second never reads the file).
fn shared_model(model: &Path, threads: usize, load: impl FnOnce() -> Result<LoadedModel>) -> Result<SharedModel> {
    let key = (model.canonicalize().unwrap_or_else(|_| model.to_path_buf()), threads);
    let mut models = MODELS.lock().unwrap_or_else(|p| p.into_inner());
    models.retain(|(_, s)| s.strong_count() > 0);
    if let Some(loaded) = models.iter().find(|(k, _)| *k == key).and_then(|(_, s)| s.upgrade()) {
        return Ok(loaded);
    }
    let loaded = Arc::new(load()?);
    models.push((key, Arc::downgrade(&loaded)));
    Ok(loaded)
}

pub struct PiperVoice {
    model: SharedModel,
    id_map: HashMap<char, Vec<i64>>,
    espeak_voice: String,
    pub sample_rate: u32,
    scales: [f32; 3],
    multi_speaker: bool,
}

impl PiperVoice {
    pub fn load(model: &Path, json: &Path, onnxruntime: &Path, threads: usize, length_scale: Option<f32>) -> Result<PiperVoice> {
        let started = Instant::now();
        if !model.is_file() {
            bail!(
                "voice model {} not found: run `bash scripts/setup.sh` (it unpacks the default voice) or set `voice.model` \
                 to a Piper .onnx file",
                model.display()
            );
        }
        let json_text = std::fs::read_to_string(json).with_context(|| {
            format!("voice config {} not found: a Piper voice needs its .onnx.json beside the .onnx", json.display())
        })?;
        let cfg: VoiceJson = serde_json::from_str(&json_text)
            .with_context(|| format!("voice config {} is not a Piper voice config", json.display()))?;
        let mut id_map = HashMap::new();
        for (k, v) in cfg.phoneme_id_map {
            let mut chars = k.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                id_map.insert(c, v);
            }
        }
        for needed in ['_', '^', '$'] {
            if !id_map.contains_key(&needed) {
                bail!("voice config {}: phoneme_id_map lacks `{needed}`", json.display());
            }
        }

        // Our part of the load (finding and exposing the durations) apart from ONNX
        // Runtime's (opening the session), for the log; zero when the model was shared.
        let (mut patch_ms, mut session_ms, mut opened) = (0, 0, false);
        let loaded = shared_model(model, threads, || {
            let bytes = std::fs::read(model).with_context(|| format!("cannot read voice model {}", model.display()))?;
            let patching = Instant::now();
            let ceil = onnx_patch::node_outputs_of_type(&bytes, "Ceil")
                .with_context(|| format!("voice model {} is not a valid ONNX file", model.display()))?;
            // The unpatched copy goes before ONNX Runtime makes its own: a voice's load
            // is a channel's peak of memory.
            let (bytes, durations_output) = match ceil.as_slice() {
                [name] => {
                    let patched = onnx_patch::add_float_output(&bytes, name)?;
                    drop(bytes);
                    (patched, Some(name.clone()))
                }
                _ => {
                    tracing::warn!(model = %model.display(), "no single Ceil node: phoneme timings will be estimated from the audio length");
                    (bytes, None)
                }
            };
            patch_ms = patching.elapsed().as_millis() as u64;
            let opening = Instant::now();
            let env = onnx::environment(onnxruntime)?;
            // No CPU arena: a sentence's activations grow with its length (about 270 MB
            // for 25 s of speech), and ONNX Runtime's arena would keep the longest
            // sentence's for as long as the channel runs (the live soak's RSS stepped
            // up 40-80 MB with each new longest line); freed, they go back.
            let cpu = ort::ep::CPU::default().with_arena_allocator(false).build();
            let session = Session::builder(env)
                .map_err(onnx::err)?
                .with_intra_threads(threads)
                .map_err(onnx::err)?
                .with_execution_providers([cpu])
                .map_err(onnx::err)?
                .commit_from_memory(&bytes)
                .map_err(|e| anyhow::anyhow!("ONNX Runtime cannot load voice model {}: {e}", model.display()))?;
            (session_ms, opened) = (opening.elapsed().as_millis() as u64, true);
            Ok(LoadedModel { session: Mutex::new(session), durations_output })
        })?;
        let names: Vec<String> = loaded.session.lock().unwrap_or_else(|p| p.into_inner()).inputs().iter().map(|i| i.name().to_string()).collect();
        for needed in ["input", "input_lengths", "scales"] {
            if !names.iter().any(|n| n == needed) {
                bail!("voice model {} has no input `{needed}` (inputs: {names:?}): not a Piper voice", model.display());
            }
        }
        let multi_speaker = cfg.num_speakers > 1 && names.iter().any(|n| n == "sid");
        let inf = cfg.inference;
        tracing::info!(
            model = %model.display(),
            rate = cfg.audio.sample_rate,
            load_ms = started.elapsed().as_millis() as u64,
            patch_ms,
            session_ms,
            "{}",
            if opened { "voice loaded" } else { "voice loaded: the model another lane loaded, shared" }
        );
        Ok(PiperVoice {
            model: loaded,
            id_map,
            espeak_voice: cfg.espeak.voice,
            sample_rate: cfg.audio.sample_rate,
            scales: [inf.noise_scale, length_scale.unwrap_or(inf.length_scale), inf.noise_w],
            multi_speaker,
        })
    }

    /// Speaks `text`; None when nothing in it is speakable by this voice. A long
    /// sentence is spoken in pieces of at most PIECE_PHONEMES, joined end to end: the
    /// model's memory grows with the input's length (a 25 s run-on line took 390 MB
    /// at its peak), and a piece's seam is a short breath.
    pub fn synthesize(&mut self, text: &str) -> Result<Option<Synthesis>> {
        let ipa = espeak::phonemize(&self.espeak_voice, text)?;
        let mut joined: Option<Synthesis> = None;
        for piece in ipa_pieces(&ipa, PIECE_PHONEMES) {
            let Some(next) = self.synthesize_ipa(piece)? else { continue };
            match joined.as_mut() {
                None => joined = Some(next),
                Some(all) => all.append(next),
            }
        }
        release_freed_heap();
        Ok(joined.map(|s| Synthesis { ipa, ..s }))
    }

    /// One model run over the phonemes `ipa`.
    fn synthesize_ipa(&mut self, ipa: &str) -> Result<Option<Synthesis>> {
        // Sequence: ^ (phoneme _)* $, remembering which ids each phoneme owns.
        let mut ids: Vec<i64> = self.id_map[&'^'].clone();
        let mut owners: Vec<(char, std::ops::Range<usize>)> = vec![('^', 0..ids.len())];
        let pad = self.id_map[&'_'].clone();
        let mut spoken = 0;
        for c in ipa.chars() {
            let Some(pid) = self.id_map.get(&c) else { continue };
            let start = ids.len();
            ids.extend_from_slice(pid);
            ids.extend_from_slice(&pad);
            owners.push((c, start..ids.len()));
            spoken += usize::from(!c.is_whitespace());
        }
        if spoken == 0 {
            return Ok(None);
        }
        let start = ids.len();
        ids.extend_from_slice(&self.id_map[&'$']);
        owners.push(('$', start..ids.len()));

        let n = ids.len();
        let mut inputs = ort::inputs![
            "input" => Tensor::from_array(([1usize, n], ids))?,
            "input_lengths" => Tensor::from_array(([1usize], vec![n as i64]))?,
            "scales" => Tensor::from_array(([3usize], self.scales.to_vec()))?,
        ];
        if self.multi_speaker {
            inputs.push(("sid".into(), Tensor::from_array(([1usize], vec![0i64]))?.into()));
        }
        let (samples, durations) = {
            let mut session = self.model.session.lock().unwrap_or_else(|p| p.into_inner());
            let outputs = session.run(inputs)?;
            let (_, audio) = outputs["output"].try_extract_tensor::<f32>()?;
            let durations: Option<Vec<f32>> = match &self.model.durations_output {
                Some(name) => Some(outputs[name.as_str()].try_extract_tensor::<f32>()?.1.to_vec()),
                None => None,
            };
            (audio.to_vec(), durations)
        };

        let frames: Vec<f32> = match durations {
            Some(d) if d.len() == n => d,
            _ => vec![samples.len() as f32 / HOP as f32 / n as f32; n],
        };
        let mut phonemes = Vec::with_capacity(owners.len());
        let mut cursor = 0f32;
        for (c, range) in owners {
            let len: f32 = frames[range].iter().sum();
            let start = (cursor * HOP as f32).round() as u32;
            cursor += len;
            let end = ((cursor * HOP as f32).round() as u32).min(samples.len() as u32);
            phonemes.push(PhonemeSpan { phoneme: c, start: start.min(end), end });
        }
        if let Some(last) = phonemes.last_mut() {
            last.end = samples.len() as u32;
        }
        Ok(Some(Synthesis { sample_rate: self.sample_rate, samples, phonemes, ipa: ipa.to_string() }))
    }
}

impl Synthesis {
    /// `next` played right after this one.
    fn append(&mut self, next: Synthesis) {
        let offset = self.samples.len() as u32;
        self.samples.extend_from_slice(&next.samples);
        self.phonemes.extend(next.phonemes.into_iter().map(|p| PhonemeSpan { start: p.start + offset, end: p.end + offset, ..p }));
    }
}

/// Spoken phonemes (IPA characters) in one model run: about 9 s of speech.
const PIECE_PHONEMES: usize = 120;

/// `ipa` cut between words into pieces of at most `max` phonemes (a single longer
/// word stays whole), at a clause's end (",", ";", ":") when one lies in the piece's
/// second half.
fn ipa_pieces(ipa: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut count) = (0, 0);
    // Where the piece could end at a clause: byte index and phonemes before it.
    let mut clause_end: Option<(usize, usize)> = None;
    for (at, word) in words_at(ipa) {
        let len = word.chars().count();
        if count > 0 && count + len > max {
            let (end, before) = match clause_end {
                Some((end, before)) if before >= max / 2 => (end, before),
                _ => (at, count),
            };
            pieces.push(ipa[start..end].trim());
            (start, count, clause_end) = (end, count - before, None);
        }
        count += len;
        if word.ends_with([',', ';', ':']) {
            clause_end = Some((at + word.len(), count));
        }
    }
    pieces.push(ipa[start..].trim());
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// The space-separated words of `text` with their byte offsets.
fn words_at(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(' ').scan(0, |at, word| {
        let this = *at;
        *at += word.len() + 1;
        Some((this, word))
    })
    .filter(|(_, w)| !w.is_empty())
}

/// Hands the pages the model's activations freed back to the system. A long
/// sentence's activations run to hundreds of MB; glibc's heap keeps freed pages in
/// the thread's arena, so without this a channel's memory ratchets up with each new
/// longest line and stays there for as long as it runs.
fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phonemes(piece: &str) -> usize {
        piece.chars().filter(|c| !c.is_whitespace()).count()
    }

    #[test]
    fn a_short_sentence_is_one_piece() {
        assert_eq!(ipa_pieces("həlˈoʊ, wˈɜːld.", 120), vec!["həlˈoʊ, wˈɜːld."]);
    }

    #[test]
    fn a_long_sentence_is_cut_between_words_within_the_limit() {
        let ipa = vec!["ðɪs"; 100].join(" ");
        let pieces = ipa_pieces(&ipa, 120);
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| phonemes(p) <= 120 && !p.starts_with(' ') && !p.ends_with(' ')), "{pieces:?}");
        assert_eq!(pieces.join(" "), ipa, "nothing lost or doubled");
    }

    #[test]
    fn a_cut_prefers_the_end_of_a_clause_in_the_second_half() {
        // Words of 3 phonemes, a comma after the 22nd (67 phonemes): the first piece ends there.
        let words: Vec<String> = (0..60).map(|i| if i == 21 { "ænd,".to_string() } else { "ænd".to_string() }).collect();
        let ipa = words.join(" ");
        let pieces = ipa_pieces(&ipa, 90);
        assert!(pieces[0].ends_with("ænd,"), "{pieces:?}");
        assert_eq!(phonemes(pieces[0]), 67);
        assert_eq!(pieces.join(" "), ipa);
        // A comma early in the piece is not worth a short piece.
        let early = ipa_pieces(&ipa, 200);
        assert_eq!(early.len(), 1);
        let words: Vec<String> = (0..60).map(|i| if i == 2 { "ænd,".to_string() } else { "ænd".to_string() }).collect();
        let ipa = words.join(" ");
        let pieces = ipa_pieces(&ipa, 90);
        assert_eq!(phonemes(pieces[0]), 88, "cut at the limit: {pieces:?}");
    }

    #[test]
    fn a_word_longer_than_the_limit_stays_whole() {
        let long = "a".repeat(30);
        let ipa = format!("bi {long} si");
        assert_eq!(ipa_pieces(&ipa, 10), vec!["bi", long.as_str(), "si"]);
    }
}
