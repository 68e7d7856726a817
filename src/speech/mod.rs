//! Speech: text -> 48 kHz PCM with exact phoneme timings, synthesized ahead of
//! playback on its own thread.

pub mod espeak;
pub mod onnx_patch;
pub mod piper;
pub mod resample;
pub mod text;

use std::thread::JoinHandle;
use std::time::Instant;

use anyhow::Result;
use crossbeam_channel::{Receiver, Sender, bounded};

use crate::config::VoiceConfig;
use crate::lipsync::MouthTrack;
use crate::show::{Show, ShowItem};
use piper::{PhonemeSpan, PiperVoice};
use resample::Resampler;

/// The stream's audio rate; every timing below is in samples of it.
pub const OUTPUT_RATE: u32 = 48_000;

/// One spoken sentence, ready to play.
pub struct Utterance {
    pub text: String,
    pub product: String,
    pub samples: Vec<i16>,
    pub phonemes: Vec<PhonemeSpan>,
    pub mouth: MouthTrack,
    /// Wall time synthesis took, for the real-time factor.
    pub synth_seconds: f64,
}

impl Utterance {
    pub fn duration_seconds(&self) -> f64 {
        self.samples.len() as f64 / OUTPUT_RATE as f64
    }
}

/// What the timeline plays next.
pub enum Segment {
    Speech(Box<Utterance>),
    Silence { samples: u32 },
}

/// A voice plus everything that turns its output into stream-ready speech.
pub struct Speaker {
    voice: PiperVoice,
    resampler: Resampler,
    volume: f32,
}

impl Speaker {
    pub fn load(config: &VoiceConfig) -> Result<Speaker> {
        let voice = PiperVoice::load(
            &config.model,
            &config.model_json(),
            &config.onnxruntime_path(),
            config.threads,
            config.length_scale,
        )?;
        let resampler = Resampler::new(voice.sample_rate, OUTPUT_RATE);
        Ok(Speaker { voice, resampler, volume: config.volume })
    }

    /// None when the line has nothing speakable (only emoji, say).
    pub fn speak(&mut self, line: &str, product: &str) -> Result<Option<Utterance>> {
        let started = Instant::now();
        let clean = text::speakable(line);
        if clean.is_empty() {
            return Ok(None);
        }
        let Some(syn) = self.voice.synthesize(&clean)? else { return Ok(None) };
        let resampled = self.resampler.process(&syn.samples);
        let samples: Vec<i16> =
            resampled.iter().map(|s| (s * self.volume * 32767.0).round().clamp(-32768.0, 32767.0) as i16).collect();
        let scale = |v: u32| ((v as u64 * OUTPUT_RATE as u64) / syn.sample_rate as u64) as u32;
        let mut phonemes: Vec<PhonemeSpan> = syn
            .phonemes
            .iter()
            .map(|p| PhonemeSpan { phoneme: p.phoneme, start: scale(p.start), end: scale(p.end).min(samples.len() as u32) })
            .collect();
        // Rounding rates can leave the last sample uncovered; the trailing silence owns it.
        if let Some(last) = phonemes.last_mut() {
            last.end = samples.len() as u32;
        }
        let mouth = MouthTrack::from_phonemes(&phonemes, OUTPUT_RATE);
        Ok(Some(Utterance {
            text: clean,
            product: product.to_string(),
            samples,
            phonemes,
            mouth,
            synth_seconds: started.elapsed().as_secs_f64(),
        }))
    }
}

/// The speech thread: walks the show and keeps up to `ahead` segments ready.
pub struct SpeechWorker {
    pub segments: Receiver<Segment>,
    handle: Option<JoinHandle<()>>,
}

impl SpeechWorker {
    pub fn spawn(mut speaker: Speaker, mut show: Show, ahead: usize) -> SpeechWorker {
        let (tx, rx) = bounded(ahead);
        let handle = std::thread::Builder::new()
            .name("speech".into())
            .spawn(move || {
                for item in show.by_ref() {
                    if !Self::produce(&mut speaker, item, &tx) {
                        break;
                    }
                }
            })
            .expect("spawn speech thread");
        SpeechWorker { segments: rx, handle: Some(handle) }
    }

    /// False once nobody listens any more.
    fn produce(speaker: &mut Speaker, item: ShowItem, tx: &Sender<Segment>) -> bool {
        let segment = match item {
            ShowItem::Pause { ms } => Segment::Silence { samples: ms * (OUTPUT_RATE / 1000) },
            ShowItem::Say { text, product } => match speaker.speak(&text, &product) {
                Ok(Some(u)) => {
                    tracing::debug!(text = %u.text, seconds = u.duration_seconds(), rtf = u.synth_seconds / u.duration_seconds(), "synthesized");
                    Segment::Speech(Box::new(u))
                }
                Ok(None) => {
                    tracing::warn!(%text, "nothing speakable in this line; skipped");
                    return true;
                }
                Err(e) => {
                    tracing::error!(%text, "speech failed, line skipped: {e:#}");
                    return true;
                }
            },
        };
        tx.send(segment).is_ok()
    }
}

impl Drop for SpeechWorker {
    fn drop(&mut self) {
        // Disconnect first so a blocked send returns, then wait for the thread.
        let (_, rx) = bounded(0);
        drop(std::mem::replace(&mut self.segments, rx));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
