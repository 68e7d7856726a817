//! Mouth shapes from the sound alone, for audio that comes without phoneme timings
//! (recorded lines, HTTP voices): a small ONNX model
//! (assets/lipsync/mouth-from-audio.onnx, trained by scripts/mouth-model/train.sh on
//! the project's own voices, whose exact timings are the labels) names the shape
//! every 10 ms. Its accuracy is in docs/lipsync.md.
//!
//! Contract: input `audio` [1, N] f32 (48 kHz mono, -1..1); output `mouth` [1, 9, T]
//! logits for the shapes A-H, X; frame t is centred on sample 480 t + 480.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, Result, bail};
use ort::session::Session;
use ort::value::Tensor;

use crate::onnx;
use crate::phoneme::PhonemeSpan;

/// 10 ms at 48 kHz.
const FRAME: usize = 480;
/// Audio per model run: long recordings go through in pieces (bounded memory), each
/// with context on both sides so the seams do not show.
const CHUNK_FRAMES: usize = 2000;
const CONTEXT_FRAMES: usize = 30;
/// Shorter runs join the run before them (no flicker).
const MIN_RUN_FRAMES: usize = 3;
/// Per shape A B C D E F G H X: a phoneme whose mouth shape it is (lipsync::visemes),
/// so the shapes go through the same path as synthesized speech; '_' is a pause. The
/// tenth, a word gap found in the sound (carve_word_gaps), is a pause too.
const SHAPE_PHONEMES: [char; 10] = ['m', 't', 'ə', 'a', 'o', 'u', 'f', 'l', '_', '_'];
const REST: u8 = 8;
const WORD_GAP: u8 = 9;

pub struct MouthModel {
    session: Session,
}

/// One model per file, shared by every synthesis lane (a run takes a few ms).
pub type SharedMouthModel = Arc<Mutex<MouthModel>>;

impl MouthModel {
    pub fn load(model: &Path, onnxruntime: &Path) -> Result<MouthModel> {
        let hint = "train it with scripts/mouth-model/train.sh, point `voice.mouth_model` at another, or set it to \"\" for mouth shapes from loudness";
        let session = onnx::open_session(model, "mouth model", hint, onnxruntime, 1, Ok)?;
        let has = |names: Vec<&str>, want: &str| names.contains(&want);
        if !has(session.inputs().iter().map(|i| i.name()).collect(), "audio") || !has(session.outputs().iter().map(|o| o.name()).collect(), "mouth") {
            bail!("mouth model {} needs an input `audio` and an output `mouth` (see src/lipsync/audio_model.rs): {hint}", model.display());
        }
        let mut loaded = MouthModel { session };
        // One frame of silence: checks the output's shape now, not on air.
        loaded.frames(&[0.0; FRAME * 4]).with_context(|| format!("mouth model {}", model.display()))?;
        Ok(loaded)
    }

    /// The model for `model`, loaded once per process.
    pub fn shared(model: &Path, onnxruntime: &Path) -> Result<SharedMouthModel> {
        static MODELS: OnceLock<Mutex<HashMap<PathBuf, SharedMouthModel>>> = OnceLock::new();
        let mut models = MODELS.get_or_init(Default::default).lock().expect("mouth model table");
        if let Some(m) = models.get(model) {
            return Ok(m.clone());
        }
        let m = Arc::new(Mutex::new(MouthModel::load(model, onnxruntime)?));
        models.insert(model.to_path_buf(), m.clone());
        Ok(m)
    }

    /// The shape (0-8: A-H, X) of each 10 ms frame the model sees in `audio`.
    fn frames(&mut self, audio: &[f32]) -> Result<Vec<u8>> {
        let input = Tensor::from_array(([1usize, audio.len()], audio.to_vec()))?;
        let outputs = self.session.run(ort::inputs!["audio" => input])?;
        let (shape, logits) = outputs["mouth"].try_extract_tensor::<f32>()?;
        if shape.len() != 3 || shape[1] != 9 {
            bail!("output `mouth` has shape {shape:?}; expected [1, 9, frames]");
        }
        let t = shape[2] as usize;
        Ok((0..t)
            .map(|i| (0..9).max_by(|&a, &b| logits[a * t + i].total_cmp(&logits[b * t + i])).unwrap_or(REST as usize) as u8)
            .collect())
    }

    /// Pseudo-phonemes at 48 kHz that tile `samples`, one per run of a mouth shape.
    pub fn phonemes(&mut self, samples: &[i16]) -> Result<Vec<PhonemeSpan>> {
        let audio: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let total = samples.len().div_ceil(FRAME);
        let mut shapes = vec![REST; total];
        if samples.len() < 4 * FRAME {
            // Shorter than the model's window: a blip, the mouth rests.
            return Ok(spans(&shapes, samples.len()));
        }
        let mut first = 0;
        while first < total {
            let last = (first + CHUNK_FRAMES).min(total);
            // Frame g is centred on sample 480 g + 480: a piece starting at frame
            // `from` holds frames from, from + 1, … as far as its audio reaches.
            let from = first.saturating_sub(CONTEXT_FRAMES);
            let end = ((last + CONTEXT_FRAMES) * FRAME + FRAME).min(audio.len());
            let got = self.frames(&audio[from * FRAME..end])?;
            for (i, s) in got.iter().enumerate() {
                let g = from + i;
                if (first..last).contains(&g) {
                    shapes[g] = *s;
                }
            }
            // The last frames, too close to the end for a full window, keep the last shape seen.
            if last == total {
                let seen = (from + got.len()).clamp(first.max(1), total);
                let fill = shapes[seen - 1];
                shapes[seen..].fill(fill);
            }
            first = last;
        }
        carve_word_gaps(&mut shapes, samples);
        Ok(spans(&shapes, samples.len()))
    }
}

/// Quiet runs of at least this many frames between sounds are word gaps.
const WORD_GAP_FRAMES: usize = 5;
/// Quiet runs this long are pauses: the mouth rests (as MouthTrack does for speech).
const PAUSE_FRAMES: usize = 12;

/// The model learned that the mouth holds its shape through a short pause (as the
/// renderer shows synthesized speech), so it rarely names one; captions and cuts
/// need word gaps, though. A quiet run of 50 ms or more gets a one-frame rest in its
/// middle (a word gap; the mouth keeps what the model hears around it, such as the
/// closure of a T), and one of 120 ms or more rests throughout, except where the model
/// hears closed lips (the silence of a P, B or M).
fn carve_word_gaps(shapes: &mut [u8], samples: &[i16]) {
    let level: Vec<f32> = (0..shapes.len())
        .map(|g| {
            let w = &samples[(g * FRAME + FRAME / 2).min(samples.len())..(g * FRAME + FRAME * 3 / 2).min(samples.len())];
            (w.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>() / w.len().max(1) as f32).sqrt()
        })
        .collect();
    let quiet = super::energy::silence_level(&level);
    let mut g = 0;
    while g < shapes.len() {
        let run = level[g..].iter().take_while(|&&l| l < quiet).count();
        // Quiet at the start or the end is the silence around the speech.
        let edge = g == 0 || g + run == shapes.len();
        if run >= PAUSE_FRAMES || (edge && run > 0) {
            for s in &mut shapes[g..g + run] {
                if *s != 0 {
                    *s = REST;
                }
            }
        } else if run >= WORD_GAP_FRAMES && shapes[g + run / 2] != 0 {
            shapes[g + run / 2] = WORD_GAP;
        }
        g += run.max(1);
    }
}

/// Runs of shapes -> pseudo-phonemes; frame g covers samples [480 g + 240, 480 g + 720).
fn spans(shapes: &[u8], len: usize) -> Vec<PhonemeSpan> {
    // Word gaps stay, however short.
    let merged = super::steady_runs(shapes.iter().copied(), MIN_RUN_FRAMES, |s| s == WORD_GAP);
    let mut out = Vec::with_capacity(merged.len());
    let mut frame = 0;
    let mut at = 0u32;
    for (s, n) in merged {
        frame += n;
        let end = ((frame * FRAME + FRAME / 2).min(len)) as u32;
        if end > at {
            out.push(PhonemeSpan { phoneme: SHAPE_PHONEMES[s as usize], start: at, end });
            at = end;
        }
    }
    match out.last_mut() {
        Some(last) => last.end = len as u32,
        None if len > 0 => out.push(PhonemeSpan { phoneme: '_', start: 0, end: len as u32 }),
        None => {}
    }
    out
}

/// Mouth pseudo-phonemes for audio without timings: from the model when there is one,
/// else from loudness (lipsync::energy). A model that fails on this audio falls back
/// to loudness too: the line still plays.
pub fn phonemes_from_sound(samples: &[i16], model: Option<&SharedMouthModel>) -> Vec<PhonemeSpan> {
    if let Some(m) = model {
        match m.lock().expect("mouth model").phonemes(samples) {
            Ok(p) => return p,
            Err(e) => tracing::error!("mouth model failed, the mouth follows loudness for this line: {e:#}"),
        }
    }
    super::energy::phonemes_from_audio(samples, crate::audio_format::OUTPUT_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipsync::visemes::{Shape, mouth_for};
    use crate::lipsync::Mouth;

    #[test]
    fn each_shape_has_a_phoneme_of_that_shape() {
        for (i, m) in Mouth::ALL.iter().enumerate() {
            let shape = mouth_for(SHAPE_PHONEMES[i]);
            match (m, shape) {
                (Mouth::X, Shape::Pause) => {}
                (m, Shape::Mouth(got)) => assert_eq!(*m, got, "{}", SHAPE_PHONEMES[i]),
                _ => panic!("{m:?}"),
            }
        }
    }

    #[test]
    fn runs_become_spans_that_tile_the_audio() {
        // X X X D D D D t(1 frame: joins D) A A A gap(stays) A A A X(1 frame: joins A)
        let shapes = [8, 8, 8, 3, 3, 3, 3, 1, 0, 0, 0, 9, 0, 0, 0, 8];
        let len = shapes.len() * FRAME + 100;
        let s = spans(&shapes, len);
        let got: Vec<char> = s.iter().map(|p| p.phoneme).collect();
        assert_eq!(got, vec!['_', 'a', 'm', '_', 'm']);
        assert_eq!(s[0].start, 0);
        assert_eq!(s[0].end, (3 * FRAME + FRAME / 2) as u32);
        assert!(s.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(s.last().unwrap().end, len as u32);
    }
}
