//! Speech: text -> 48 kHz PCM with exact phoneme timings, synthesized ahead of
//! playback on its own thread.

pub mod cache;
pub mod clip;
pub mod espeak;
pub mod http;
pub mod lane;
pub mod normalize;
pub mod onnx_patch;
pub mod piper;
pub mod resample;
pub mod say;
pub mod text;
pub mod voices;
pub mod wav;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::config::{VoiceConfig, VoiceEngine};
use crate::lipsync::audio_model::SharedMouthModel;
use crate::lipsync::{MouthTrack, visemes};
use cache::{CachedSpeech, SpeechCache};
use crate::phoneme::PhonemeSpan;
use piper::PiperVoice;
use resample::Resampler;

pub use crate::audio_format::OUTPUT_RATE;

/// One spoken sentence, ready to play.
pub struct Utterance {
    /// What the host wrote (captions, transcript).
    pub text: String,
    /// What the voice was given: normalized ("nineteen dollars ninety-nine").
    pub spoken: String,
    /// The voice's name (voices.rs).
    pub voice: String,
    pub product: String,
    /// The audio and its phoneme timings, shared with the speech cache (no copy).
    pub speech: Arc<CachedSpeech>,
    pub mouth: MouthTrack,
    /// Spoken words as sample ranges (from the phoneme timings).
    pub words: Vec<std::ops::Range<u32>>,
    /// Wall time synthesis took, for the real-time factor.
    pub synth_seconds: f64,
}

impl Utterance {
    /// 48 kHz mono.
    pub fn samples(&self) -> &[i16] {
        &self.speech.samples
    }

    pub fn phonemes(&self) -> &[PhonemeSpan] {
        &self.speech.phonemes
    }

    pub fn duration_seconds(&self) -> f64 {
        self.samples().len() as f64 / OUTPUT_RATE as f64
    }

    /// Where playback may stop after the word being spoken at `offset`: the middle of
    /// the pause that follows it, where the voice is quiet. None when no word ends
    /// before the utterance does.
    pub fn next_word_boundary(&self, offset: u32) -> Option<u32> {
        let i = self.words.partition_point(|w| w.end <= offset);
        let word = self.words.get(i)?;
        if offset < word.start {
            return Some(offset); // between words already
        }
        let next_start = self.words.get(i + 1)?.start;
        Some(word.end + (next_start - word.end) / 2)
    }
}

impl Utterance {
    /// The utterance from its word `k` on (the whole sentence after a lead phrase of
    /// k words), captioned `caption`; None when it has no word `k`.
    pub fn from_word(&self, k: usize, caption: &str) -> Option<Utterance> {
        let start = self.words.get(k)?.start;
        let phonemes: Vec<PhonemeSpan> = self
            .phonemes()
            .iter()
            .filter(|p| p.end > start)
            .map(|p| PhonemeSpan { phoneme: p.phoneme, start: p.start.saturating_sub(start), end: p.end - start })
            .collect();
        Some(self.with_speech(CachedSpeech { samples: self.samples()[start as usize..].to_vec(), phonemes }, caption))
    }

    /// The utterance with exactly `seconds` of silence after its last word: the
    /// trailing silence cut, or padded where the voice left less (Piper's durations
    /// are sampled, so a sentence's tail varies from 20 to 120 ms between syntheses).
    pub fn with_tail(&self, seconds: f64) -> Utterance {
        let end = self.words.last().map_or(0, |w| w.end as usize) + (seconds * OUTPUT_RATE as f64) as usize;
        let phonemes: Vec<PhonemeSpan> = self
            .phonemes()
            .iter()
            .filter(|p| (p.start as usize) < end)
            .map(|p| PhonemeSpan { end: p.end.min(end as u32), ..*p })
            .collect();
        let mut samples = self.samples()[..end.min(self.samples().len())].to_vec();
        samples.resize(end, 0);
        self.with_speech(CachedSpeech { samples, phonemes }, &self.text)
    }

    fn with_speech(&self, speech: CachedSpeech, caption: &str) -> Utterance {
        Utterance {
            text: caption.to_string(),
            spoken: self.spoken.clone(),
            voice: self.voice.clone(),
            product: self.product.clone(),
            mouth: MouthTrack::from_phonemes(&speech.phonemes, OUTPUT_RATE),
            words: words_from_phonemes(&speech.phonemes),
            speech: Arc::new(speech),
            synth_seconds: self.synth_seconds,
        }
    }
}

/// Word spans: runs of phonemes between pauses (word gaps, punctuation, start, end).
pub fn words_from_phonemes(phonemes: &[PhonemeSpan]) -> Vec<std::ops::Range<u32>> {
    let mut words: Vec<std::ops::Range<u32>> = Vec::new();
    let mut in_word = false;
    for p in phonemes {
        let pause = matches!(visemes::mouth_for(p.phoneme), visemes::Shape::Pause);
        match (pause, in_word) {
            (false, false) => {
                words.push(p.start..p.end);
                in_word = true;
            }
            (false, true) => words.last_mut().expect("in a word").end = p.end,
            (true, _) => in_word = false,
        }
    }
    words
}

/// What makes the sound.
enum Engine {
    Piper(PiperVoice),
    /// espeak-ng's own voice for `language` (any it speaks: "en-us", "cmn", …).
    Espeak { language: String, rate: u32, pitch: u32 },
    /// An external voice over HTTP (audio only; its mouth shapes from the mouth model).
    Http(http::HttpVoice),
}

/// A voice plus everything that turns its output into stream-ready speech.
pub struct Speaker {
    engine: EngineSlot,
    /// From the rate of the engine's last answer (an HTTP voice picks its own).
    resampler: Resampler,
    resampler_rate: u32,
    volume: f32,
    cache: Option<Arc<SpeechCache>>,
    /// What besides the text decides the sound: engine, voice file, parameters.
    identity: String,
    /// Finds mouth shapes in audio that comes without timings (an HTTP voice's).
    mouth_model: Option<crate::lipsync::audio_model::SharedMouthModel>,
}

/// The engine, or the config to load it from at the first sentence the cache lacks.
enum EngineSlot {
    Ready(Engine),
    Later(Box<VoiceConfig>),
}

impl Speaker {
    /// The voice, loaded now: a bad model or library is an error at start.
    pub fn load(config: &VoiceConfig) -> Result<Speaker> {
        let mut speaker = Speaker::lazy(config);
        speaker.engine()?;
        Ok(speaker)
    }

    /// The voice, loaded only when a sentence is not in the cache (a Piper voice takes
    /// about 2 s to load; `avatarcast say` of a cached line needs none of it).
    pub fn lazy(config: &VoiceConfig) -> Speaker {
        let identity = match config.engine {
            VoiceEngine::Piper => format!("piper|{}|length_scale={:?}|volume={}", file_identity(&config.model), config.length_scale, config.volume),
            VoiceEngine::Espeak => {
                format!("espeak|{}|rate={}|pitch={}|volume={}", config.language, espeak_rate(config), config.pitch.unwrap_or(50), config.volume)
            }
            VoiceEngine::Http => format!(
                "http|{}|{}|{}|volume={}",
                config.url.as_deref().unwrap_or(""),
                config.remote_model,
                config.remote_voice,
                config.volume
            ),
        };
        let mouth_model = match config.engine {
            VoiceEngine::Http => mouth_model(config),
            _ => None,
        };
        // Cached HTTP speech keeps the mouth shapes of the model that found them.
        let identity = match &mouth_model {
            Some(_) => format!("{identity}|mouth={}", file_identity(&config.mouth_model)),
            None => identity,
        };
        Speaker {
            engine: EngineSlot::Later(Box::new(config.clone())),
            resampler: Resampler::new(OUTPUT_RATE, OUTPUT_RATE),
            resampler_rate: OUTPUT_RATE,
            volume: config.volume,
            cache: None,
            identity,
            mouth_model,
        }
    }

    /// The engine, loading it on first use.
    fn engine(&mut self) -> Result<&mut Engine> {
        if let EngineSlot::Later(config) = &self.engine {
            let engine = match config.engine {
                VoiceEngine::Piper => Engine::Piper(PiperVoice::load(
                    &config.model,
                    &config.model_json(),
                    &config.onnxruntime_path(),
                    config.threads,
                    config.length_scale,
                )?),
                VoiceEngine::Espeak => {
                    // Checks the library and the language now, not at the first line.
                    espeak::phonemize(&config.language, "a").with_context(|| format!("`voice.language` = \"{}\"", config.language))?;
                    Engine::Espeak { language: config.language.clone(), rate: espeak_rate(config), pitch: config.pitch.unwrap_or(50) }
                }
                // The service picks its rate; the resampler follows it.
                VoiceEngine::Http => Engine::Http(http::HttpVoice::new(config)?),
            };
            self.engine = EngineSlot::Ready(engine);
        }
        match &mut self.engine {
            EngineSlot::Ready(engine) => Ok(engine),
            EngineSlot::Later(_) => unreachable!("loaded above"),
        }
    }

    /// Looks every sentence up in `cache` first, and keeps what it synthesizes there.
    pub fn with_cache(mut self, cache: Arc<SpeechCache>) -> Speaker {
        self.cache = Some(cache);
        self
    }

    /// Audio and phoneme timings at 48 kHz for already normalized text.
    fn synthesize(&mut self, spoken: &str) -> Result<Option<CachedSpeech>> {
        // Each engine: its audio at its own rate, and the phoneme spans at that rate
        // when it knows them (an HTTP voice does not: the mouth follows its sound).
        let (rate, audio, spans) = match self.engine()? {
            Engine::Piper(voice) => {
                let Some(syn) = voice.synthesize(spoken)? else { return Ok(None) };
                (syn.sample_rate, syn.samples, Some(syn.phonemes))
            }
            Engine::Espeak { language, rate, pitch } => {
                let out = espeak::speak(language, spoken, *rate, *pitch, 100)?;
                let audio = out.samples.iter().map(|s| f32::from(*s) / 32768.0).collect();
                (out.sample_rate, audio, Some(out.phonemes))
            }
            Engine::Http(voice) => {
                let (rate, audio) = voice.synthesize(spoken)?;
                (rate, audio, None)
            }
        };
        if audio.is_empty() {
            return Ok(None);
        }
        if rate != self.resampler_rate {
            self.resampler = Resampler::new(rate, OUTPUT_RATE);
            self.resampler_rate = rate;
        }
        let samples = to_pcm(&self.resampler.process(&audio), self.volume);
        let len = samples.len() as u32;
        let phonemes = match spans {
            Some(spans) => {
                let scale = |v: u32| ((v as u64 * OUTPUT_RATE as u64) / rate as u64) as u32;
                let mut phonemes: Vec<PhonemeSpan> =
                    spans.iter().map(|p| PhonemeSpan { phoneme: p.phoneme, start: scale(p.start), end: scale(p.end).min(len) }).collect();
                // Rounding rates can leave the last sample uncovered; the trailing silence owns it.
                if let Some(last) = phonemes.last_mut() {
                    last.end = len;
                }
                phonemes
            }
            None => crate::lipsync::audio_model::phonemes_from_sound(&samples, self.mouth_model.as_ref()),
        };
        Ok(Some(CachedSpeech { samples, phonemes }))
    }

    /// None when the line has nothing speakable (only emoji, say).
    pub fn speak(&mut self, line: &str, product: &str) -> Result<Option<Utterance>> {
        let started = Instant::now();
        // The voice says the normalized words ("nineteen dollars ninety-nine"); captions
        // and the transcript keep what the host wrote ("$19.99").
        let spoken = text::speakable(&normalize::normalize(line));
        if spoken.is_empty() {
            return Ok(None);
        }
        let written = text::speakable(line);
        let key = cache::key(&[&self.identity, &spoken]);
        let speech = match self.cache.as_ref().and_then(|c| c.get(&key)) {
            Some(hit) => hit,
            None => {
                let Some(fresh) = self.synthesize(&spoken)? else { return Ok(None) };
                match &self.cache {
                    Some(c) => c.put(&key, fresh),
                    None => Arc::new(fresh),
                }
            }
        };
        Ok(Some(Utterance {
            text: if written.is_empty() { spoken.clone() } else { written },
            spoken,
            voice: crate::config::DEFAULT_VOICE.to_string(),
            product: product.to_string(),
            mouth: MouthTrack::from_phonemes(&speech.phonemes, OUTPUT_RATE),
            words: words_from_phonemes(&speech.phonemes),
            speech,
            synth_seconds: started.elapsed().as_secs_f64(),
        }))
    }
}

/// espeak-ng's words per minute for `length_scale`.
fn espeak_rate(config: &VoiceConfig) -> u32 {
    (175.0 / config.length_scale.unwrap_or(1.0)).round() as u32
}

/// A file as the cache sees it: path, size and modification time (a replaced model
/// makes new entries).
fn file_identity(path: &std::path::Path) -> String {
    let meta = std::fs::metadata(path).ok();
    format!("{}|{}|{:?}", path.display(), meta.as_ref().map(|m| m.len()).unwrap_or(0), meta.and_then(|m| m.modified().ok()))
}

/// Float samples (-1..1) to 16-bit PCM with a gain.
fn to_pcm(samples: &[f32], volume: f32) -> Vec<i16> {
    samples.iter().map(|s| (s * volume * 32767.0).round().clamp(-32768.0, 32767.0) as i16).collect()
}

/// Synthesis and loading a voice are work done ahead of time; rendering and encoding
/// (this channel's and the machine's other channels') are due every 40 ms. On a small
/// machine they compete for the cores, so the calling thread yields (nice 10 more).
pub fn lower_thread_priority() {
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        // Relative to what the thread has: a channel run under `nice` keeps yielding.
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        let now = if now == -1 && *libc::__errno_location() != 0 { 0 } else { now };
        if libc::setpriority(libc::PRIO_PROCESS, tid, (now + 10).min(19)) != 0 {
            tracing::debug!("could not lower the thread's priority");
        }
    }
}

/// What the timeline plays: speech or silence.
#[derive(Clone)]
pub enum Segment {
    Speech(Arc<Utterance>),
    Silence { samples: u32 },
}

/// The audio-to-mouth model a voice config names, shared; None when `mouth_model` is
/// "" (the mouth follows loudness) or cannot be loaded (said once in the log: the
/// stream goes on with loudness).
pub fn mouth_model(config: &VoiceConfig) -> Option<SharedMouthModel> {
    if config.mouth_model.as_os_str().is_empty() {
        return None;
    }
    crate::lipsync::audio_model::MouthModel::shared(&config.mouth_model, &config.onnxruntime_path())
        .map_err(|e| tracing::error!("the mouth follows loudness for audio without timings: {e:#}"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(phoneme: char, start: u32, end: u32) -> PhonemeSpan {
        PhonemeSpan { phoneme, start, end }
    }

    #[test]
    fn words_split_at_pauses_and_boundaries_fall_between_them() {
        let ph = [
            span('^', 0, 100),
            span('h', 100, 200),
            span('ˈ', 200, 250),
            span('a', 250, 400),
            span(' ', 400, 600),
            span('j', 600, 700),
            span('u', 700, 900),
            span(',', 900, 1000),
            span('$', 1000, 1100),
        ];
        let words = words_from_phonemes(&ph);
        assert_eq!(words, vec![100..400, 600..900]);
        let u = Utterance {
            text: "hi you".into(),
            spoken: "hi you".into(),
            voice: "default".into(),
            product: String::new(),
            speech: Arc::new(CachedSpeech { samples: vec![0; 1100], phonemes: ph.to_vec() }),
            mouth: MouthTrack::default(),
            words,
            synth_seconds: 0.0,
        };
        assert_eq!(u.next_word_boundary(150), Some(500));
        assert_eq!(u.next_word_boundary(450), Some(450));
        assert_eq!(u.next_word_boundary(650), None);

        // After a one-word lead: from "you" on, re-timed from 0, the samples with it.
        let rest = u.from_word(1, "you").unwrap();
        assert_eq!(rest.samples().len(), 500);
        assert_eq!(rest.phonemes().iter().map(|p| (p.phoneme, p.start, p.end)).collect::<Vec<_>>(), vec![('j', 0, 100), ('u', 100, 300), (',', 300, 400), ('$', 400, 500)]);
        assert_eq!((rest.words.clone(), rest.text.as_str()), (vec![0..300], "you"));
        assert!(u.from_word(2, "").is_none());
        // A lead's trailing silence cut to 1 ms (48 samples) after its last word, or
        // padded with silence where the voice left less than asked.
        let lead = u.with_tail(0.001);
        assert_eq!(lead.samples().len(), 948);
        assert_eq!(lead.phonemes().last().map(|p| (p.phoneme, p.end)), Some((',', 948)));
        let padded = u.with_tail(0.01);
        assert_eq!(padded.samples().len(), 1380);
        assert!(padded.samples()[1100..].iter().all(|&s| s == 0));
        assert_eq!(padded.words, vec![100..400, 600..900]);
    }

    /// The nice value of the calling thread, from /proc (field 19 of its stat line).
    fn thread_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        // The command name (field 2) may hold spaces; the fields after it may not.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        after_name.split(' ').nth(16).unwrap().parse().unwrap()
    }

    #[test]
    fn lowering_priority_touches_only_the_calling_thread() {
        let before = thread_nice();
        let lowered = std::thread::spawn(|| {
            lower_thread_priority();
            thread_nice()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + 10).min(19), "the loader thread yields");
        assert_eq!(thread_nice(), before, "the thread that spawned it keeps its priority");
    }
}
