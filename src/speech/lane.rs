//! Synthesis lanes: a thread with its own voices that speaks jobs in order and sends
//! each result back. The show and live insertions get one lane each.

use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::voices::Voices;
use super::{Utterance, lower_thread_priority};

/// What a synthesis job is for, so its result finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKey {
    Show(u64),
    /// One sentence (`part`) of an inserted line.
    Line { id: u64, part: u32 },
}

pub struct SynthJob {
    pub key: JobKey,
    pub text: String,
    pub product: String,
    /// A voice name (voices.rs); None: the default.
    pub voice: Option<String>,
    /// A recorded line to play instead of speaking `text` (then its caption).
    pub audio: Option<std::path::PathBuf>,
    /// Which piece of the sentence plays (text::lead_phrase).
    pub phrase: Phrase,
}

/// A live line's first sentence goes on air in two pieces: its lead phrase,
/// synthesized alone (first audio after a few words' work), then the whole sentence's
/// synthesis from the word after the lead, so the rest keeps its melody. A voice
/// without word timings (HTTP) says the whole sentence in the first piece instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Phrase {
    Whole,
    /// `text` is the sentence, this its lead phrase (its trailing silence made one word gap).
    Lead(String),
    /// `text` is the sentence, this the lead phrase already said.
    AfterLead(String),
}

/// Silence kept after a lead phrase: about the gap between two words.
const LEAD_TAIL_SECONDS: f64 = 0.04;

pub struct SynthDone {
    pub key: JobKey,
    /// Ok(None): nothing speakable in the text.
    pub result: Result<Option<Arc<Utterance>>, String>,
}

/// A synthesis thread with its own voice instances. The show and live insertions get
/// one lane each, so an urgent line never waits behind the show's look-ahead.
pub struct SynthLane {
    jobs: Option<Sender<SynthJob>>,
    handle: Option<JoinHandle<()>>,
}

impl SynthLane {
    /// `background`: work done ahead of time (the show's look-ahead) yields the CPU to
    /// rendering and encoding; the lane for live insertions does not, since a viewer
    /// waits for it.
    pub fn spawn(name: &str, mut voices: Voices, done: Sender<SynthDone>, background: bool) -> SynthLane {
        let (tx, rx) = unbounded::<SynthJob>();
        let handle = std::thread::Builder::new()
            .name(format!("speech-{name}"))
            .spawn(move || {
                if background {
                    lower_thread_priority();
                }
                for job in rx {
                    let voice = job.voice.as_deref();
                    let spoken = match (&job.audio, &job.phrase) {
                        (Some(path), _) => voices.recorded(path, &job.text, &job.product).map(Some),
                        (None, Phrase::Lead(lead)) if voices.times_words(voice) => {
                            voices.speak(voice, lead, &job.product).map(|u| u.map(|u| u.with_tail(LEAD_TAIL_SECONDS)))
                        }
                        (None, Phrase::AfterLead(lead)) if voices.times_words(voice) => {
                            voices.speak_after(voice, lead, &job.text, &job.product)
                        }
                        (None, Phrase::AfterLead(_)) => Ok(None),
                        (None, _) => voices.speak(voice, &job.text, &job.product),
                    };
                    let result = match spoken {
                        Ok(u) => Ok(u.map(Arc::new)),
                        Err(e) => Err(format!("{e:#}")),
                    };
                    if let Ok(Some(u)) = &result {
                        tracing::debug!(text = %u.text, seconds = u.duration_seconds(), rtf = u.synth_seconds / u.duration_seconds(), "synthesized");
                    }
                    if done.send(SynthDone { key: job.key, result }).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn speech thread");
        SynthLane { jobs: Some(tx), handle: Some(handle) }
    }

    pub fn submit(&self, job: SynthJob) {
        if let Some(tx) = &self.jobs {
            let _ = tx.send(job);
        }
    }
}

impl Drop for SynthLane {
    fn drop(&mut self) {
        // Closing the job channel ends the thread after its current job.
        self.jobs.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Receives results from the lanes.
pub type SynthResults = Receiver<SynthDone>;
