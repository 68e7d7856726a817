//! Phoneme timings: which sound the voice makes over which samples. Speech makes
//! them (exactly, from the voice model's durations), lip-sync turns them into mouth
//! shapes, the speech cache keeps them with the audio.

/// A phoneme and where it sounds, in samples of the voice's own rate.
#[derive(Debug, Clone, PartialEq)]
pub struct PhonemeSpan {
    pub phoneme: char,
    pub start: u32,
    pub end: u32,
}
