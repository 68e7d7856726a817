//! The one media clock. Video frame n has PTS n/fps; audio sample s has PTS s/rate;
//! frame n carries exactly the samples [S(n), S(n+1)) with S(n) = floor(n*rate/fps).
//! Nothing here reads the wall clock: live pacing comes from the GStreamer pipeline
//! clock, and render mode runs as fast as the CPU allows over the same ticks.

use std::collections::VecDeque;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::avatar::{Motion, Pose};
use crate::lipsync::Mouth;
use crate::speech::{OUTPUT_RATE, Segment, Utterance};

/// Frame and sample counters to timestamps.
#[derive(Debug, Clone, Copy)]
pub struct MediaClock {
    pub fps: u32,
    pub rate: u32,
}

impl MediaClock {
    pub fn first_sample_of_frame(&self, frame: u64) -> u64 {
        frame * self.rate as u64 / self.fps as u64
    }
    pub fn frame_pts_ns(&self, frame: u64) -> u64 {
        frame * 1_000_000_000 / self.fps as u64
    }
    pub fn sample_pts_ns(&self, sample: u64) -> u64 {
        sample * 1_000_000_000 / self.rate as u64
    }
}

/// How the timeline treats speech that is not ready yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Never wait: the host idles in silence until the next line is ready.
    Live,
    /// Wait for the next segment: output is complete and independent of CPU speed.
    Render,
}

/// One frame's worth of media.
pub struct Tick<'a> {
    pub frame: u64,
    pub video_pts_ns: u64,
    pub video_duration_ns: u64,
    pub audio_pts_ns: u64,
    pub audio_duration_ns: u64,
    pub audio: &'a [i16],
    pub pose: Pose,
    /// The line that started during this frame, if any.
    pub started_line: Option<&'a str>,
}

/// An utterance placed on the timeline at a global sample position.
struct OnAir {
    start: u64,
    utterance: Box<Utterance>,
}

enum Playing {
    Speech(usize),
    Silence { remaining: u64 },
    Idle,
}

#[derive(Debug, Default, Clone)]
pub struct TimelineStats {
    pub lines_spoken: u64,
    /// Frames where speech was due but not ready (live mode only).
    pub speech_underruns: u64,
}

pub struct Timeline {
    pub clock: MediaClock,
    pacing: Pacing,
    frame: u64,
    segments: Receiver<Segment>,
    on_air: VecDeque<OnAir>,
    playing: Playing,
    /// Next global sample to emit.
    sample: u64,
    audio: Vec<i16>,
    motion: Motion,
    started_line: Option<String>,
    pub stats: TimelineStats,
}

impl Timeline {
    pub fn new(fps: u32, segments: Receiver<Segment>, pacing: Pacing, seed: u64) -> Timeline {
        Timeline {
            clock: MediaClock { fps, rate: OUTPUT_RATE },
            pacing,
            frame: 0,
            segments,
            on_air: VecDeque::new(),
            playing: Playing::Idle,
            sample: 0,
            audio: Vec::with_capacity((OUTPUT_RATE / fps + 1) as usize),
            motion: Motion::new(fps, seed),
            started_line: None,
            stats: TimelineStats::default(),
        }
    }

    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Advances one frame: fills its audio and works out its pose.
    pub fn tick(&mut self) -> Tick<'_> {
        let n = self.frame;
        let (s0, s1) = (self.clock.first_sample_of_frame(n), self.clock.first_sample_of_frame(n + 1));
        debug_assert_eq!(s0, self.sample);
        self.audio.clear();
        self.started_line = None;
        while self.sample < s1 {
            let want = s1 - self.sample;
            match &mut self.playing {
                Playing::Speech(i) => {
                    let air = &self.on_air[*i];
                    let offset = (self.sample - air.start) as usize;
                    let left = air.utterance.samples.len() - offset;
                    let take = left.min(want as usize);
                    self.audio.extend_from_slice(&air.utterance.samples[offset..offset + take]);
                    self.sample += take as u64;
                    if take == left {
                        self.playing = Playing::Idle;
                    }
                }
                Playing::Silence { remaining } => {
                    let take = (*remaining).min(want);
                    self.audio.resize(self.audio.len() + take as usize, 0);
                    self.sample += take;
                    *remaining -= take;
                    if *remaining == 0 {
                        self.playing = Playing::Idle;
                    }
                }
                Playing::Idle => {
                    if !self.next_segment() {
                        // Nothing ready: silence for the rest of this frame.
                        self.audio.resize(self.audio.len() + want as usize, 0);
                        self.sample += want;
                    }
                }
            }
        }

        // Mouth: the shape covering most of this frame's audio window.
        // Lines that ended before this frame are done (the one playing ends after it).
        while self.on_air.front().is_some_and(|a| a.start + (a.utterance.samples.len() as u64) < s0) {
            self.on_air.pop_front();
            if let Playing::Speech(i) = &mut self.playing {
                *i -= 1;
            }
        }
        let mut mouth = Mouth::X;
        let mut speaking = false;
        for a in &self.on_air {
            let end = a.start + a.utterance.samples.len() as u64;
            if a.start < s1 && end > s0 {
                speaking = true;
                let m = a.utterance.mouth.mouth_for_window(s0 as i64 - a.start as i64, s1 as i64 - a.start as i64);
                if m != Mouth::X {
                    mouth = m;
                }
            }
        }
        let pose = self.motion.pose(n, mouth, speaking);
        self.frame += 1;
        Tick {
            frame: n,
            video_pts_ns: self.clock.frame_pts_ns(n),
            video_duration_ns: self.clock.frame_pts_ns(n + 1) - self.clock.frame_pts_ns(n),
            audio_pts_ns: self.clock.sample_pts_ns(s0),
            audio_duration_ns: self.clock.sample_pts_ns(s1) - self.clock.sample_pts_ns(s0),
            audio: &self.audio,
            pose,
            started_line: self.started_line.as_deref(),
        }
    }

    /// Takes the next segment from the speech thread; false when none is ready.
    fn next_segment(&mut self) -> bool {
        let segment = match self.pacing {
            Pacing::Render => self.segments.recv().ok(),
            Pacing::Live => match self.segments.try_recv() {
                Ok(s) => Some(s),
                Err(TryRecvError::Empty) => {
                    self.stats.speech_underruns += 1;
                    None
                }
                Err(TryRecvError::Disconnected) => None,
            },
        };
        match segment {
            Some(Segment::Speech(utterance)) => {
                self.stats.lines_spoken += 1;
                self.started_line = Some(utterance.text.clone());
                self.on_air.push_back(OnAir { start: self.sample, utterance });
                self.playing = Playing::Speech(self.on_air.len() - 1);
                true
            }
            Some(Segment::Silence { samples }) => {
                self.playing = Playing::Silence { remaining: samples as u64 };
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipsync::{MouthCue, MouthTrack};
    use crossbeam_channel::bounded;

    fn utterance(len: usize) -> Box<Utterance> {
        // Open mouth (D) over the middle half of the utterance.
        let mouth = MouthTrack {
            cues: vec![
                MouthCue { start: 0, end: len as u32 / 4, mouth: Mouth::X },
                MouthCue { start: len as u32 / 4, end: 3 * len as u32 / 4, mouth: Mouth::D },
                MouthCue { start: 3 * len as u32 / 4, end: len as u32, mouth: Mouth::X },
            ],
        };
        Box::new(Utterance {
            text: "test".into(),
            product: "p".into(),
            samples: vec![1000; len],
            phonemes: vec![],
            mouth,
            synth_seconds: 0.0,
        })
    }

    #[test]
    fn frames_carry_exact_sample_counts_and_timestamps() {
        let (tx, rx) = bounded(4);
        tx.send(Segment::Silence { samples: 5000 }).unwrap();
        tx.send(Segment::Speech(utterance(48_000))).unwrap();
        drop(tx);
        let mut t = Timeline::new(25, rx, Pacing::Live, 1);
        let mut total = 0u64;
        for n in 0..100u64 {
            let tick = t.tick();
            assert_eq!(tick.audio.len(), 1920);
            assert_eq!(tick.video_pts_ns, n * 40_000_000);
            assert_eq!(tick.audio_pts_ns, total * 1_000_000_000 / 48_000);
            total += tick.audio.len() as u64;
        }
        assert_eq!(t.stats.lines_spoken, 1);
    }

    #[test]
    fn odd_frame_rates_never_drift() {
        let (_tx, rx) = bounded(1);
        let mut t = Timeline::new(30, rx, Pacing::Live, 1);
        let mut total = 0u64;
        for _ in 0..30 * 60 {
            total += t.tick().audio.len() as u64;
        }
        assert_eq!(total, 48_000 * 60);
    }

    #[test]
    fn mouth_opens_exactly_where_speech_is() {
        let (tx, rx) = bounded(4);
        tx.send(Segment::Silence { samples: 1920 * 10 }).unwrap();
        tx.send(Segment::Speech(utterance(1920 * 40))).unwrap();
        drop(tx);
        let mut t = Timeline::new(25, rx, Pacing::Render, 1);
        let mut open = Vec::new();
        let mut audible = Vec::new();
        for _ in 0..60 {
            let tick = t.tick();
            open.push(tick.pose.mouth != Mouth::X);
            audible.push(tick.audio.iter().any(|&s| s != 0));
        }
        // Speech occupies frames 10..50; the open mouth its middle half, frames 20..40.
        assert!(audible[10..50].iter().all(|&a| a) && !audible[..10].iter().any(|&a| a) && !audible[50..].iter().any(|&a| a));
        let opened: Vec<usize> = open.iter().enumerate().filter(|(_, o)| **o).map(|(i, _)| i).collect();
        assert_eq!(opened, (20..40).collect::<Vec<_>>());
    }
}
