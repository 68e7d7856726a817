//! The one media clock. Video frame n has PTS n/fps; audio sample s has PTS s/rate;
//! frame n carries exactly the samples [S(n), S(n+1)) with S(n) = floor(n*rate/fps).
//! Nothing here reads the wall clock: live pacing comes from the GStreamer pipeline
//! clock, and render mode runs as fast as the CPU allows over the same ticks.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::lipsync::Mouth;
use crate::lipsync::phonetic::{self, FrameSteps, SILENT_FRAME};
use crate::show::director::{Director, Next};
use crate::show::lines::Origin;
use crate::cue::Cue;
use crate::audio_format::OUTPUT_RATE;
use crate::speech::{Segment, Utterance};

/// What the timeline plays, and whom it tells about it. The director is the real
/// one; tests drive the timeline with a scripted list.
pub trait Programme {
    /// Takes in whatever arrived since the last frame; `now` is the stream time.
    fn poll(&mut self, now: f64);
    /// The next segment; `wait` blocks until one is ready (render mode).
    fn next(&mut self, wait: bool) -> Option<Next>;
    /// Whether the segment playing should stop at the next word boundary.
    fn wants_interrupt(&self, origin: &Origin) -> bool;
    fn started(&mut self, origin: &Origin, segment: &Segment, at: f64);
    fn finished(&mut self, origin: &Origin, utterance: &Utterance, start: f64, end: f64);
    fn interrupted(&mut self, origin: Origin, segment: Segment, start: f64, end: f64);
}

impl Programme for Director {
    fn poll(&mut self, now: f64) {
        Director::tick(self, now)
    }
    fn next(&mut self, wait: bool) -> Option<Next> {
        Director::next(self, wait)
    }
    fn wants_interrupt(&self, origin: &Origin) -> bool {
        Director::wants_interrupt(self, origin)
    }
    fn started(&mut self, origin: &Origin, segment: &Segment, at: f64) {
        Director::started(self, origin, segment, at)
    }
    fn finished(&mut self, origin: &Origin, utterance: &Utterance, start: f64, end: f64) {
        Director::finished(self, origin, utterance, start, end)
    }
    fn interrupted(&mut self, origin: Origin, segment: Segment, start: f64, end: f64) {
        Director::interrupted(self, origin, segment, start, end)
    }
}

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
    /// The mouth shape the timings give for this frame, and whether a line is on air.
    pub mouth: Mouth,
    /// The shapes of its 10 ms steps, for a trained face model (lipsync::phonetic).
    pub steps: FrameSteps,
    pub speaking: bool,
    /// The line that started during this frame, if any.
    pub started_line: Option<&'a str>,
    /// Markup cues reached during this frame.
    pub cues: &'a [Cue],
    /// The sentence on air and the index of the written word being spoken.
    pub caption: Option<(&'a str, usize)>,
    /// Product id of the line on air ("" for none).
    pub product: &'a str,
}

/// An utterance placed on the timeline: global samples [start, end).
struct OnAir {
    start: u64,
    end: u64,
    utterance: Arc<Utterance>,
}

/// The segment playing now.
struct Current {
    origin: Origin,
    segment: Segment,
    /// Global sample where it started.
    start: u64,
    len: u64,
    /// Where it stops early (relative), when an interruption asked for it.
    cut_at: Option<u64>,
    /// Cues not reached yet, at relative sample offsets, in order.
    cues: VecDeque<(u32, Cue)>,
}

#[derive(Debug, Default, Clone)]
pub struct TimelineStats {
    pub lines_spoken: u64,
    /// Frames where nothing was ready to play (live mode only).
    pub speech_underruns: u64,
    pub interruptions: u64,
}

pub struct Timeline<P: Programme> {
    pub clock: MediaClock,
    pacing: Pacing,
    frame: u64,
    pub programme: P,
    on_air: VecDeque<OnAir>,
    current: Option<Current>,
    /// Next global sample to emit.
    sample: u64,
    audio: Vec<i16>,
    started_line: Option<String>,
    fired: Vec<Cue>,
    /// Stopping: the line on air ends at its next word boundary and nothing follows.
    closing: bool,
    /// Frames between making a frame and its going on air (the avatar's lookahead):
    /// times told to the programme are air times.
    output_delay_frames: u64,
    pub stats: TimelineStats,
}

impl<P: Programme> Timeline<P> {
    pub fn new(fps: u32, programme: P, pacing: Pacing) -> Timeline<P> {
        Timeline {
            clock: MediaClock { fps, rate: OUTPUT_RATE },
            pacing,
            frame: 0,
            programme,
            on_air: VecDeque::new(),
            current: None,
            sample: 0,
            audio: Vec::with_capacity((OUTPUT_RATE / fps + 1) as usize),
            started_line: None,
            fired: Vec::new(),
            closing: false,
            output_delay_frames: 0,
            stats: TimelineStats::default(),
        }
    }

    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Ends the stream gracefully: the segment on air is cut at its next word boundary
    /// (or ends, when no boundary is left) and no other starts.
    pub fn close(&mut self) {
        self.closing = true;
    }

    /// Closing, and nothing on air any more.
    pub fn closed(&self) -> bool {
        self.closing && self.current.is_none()
    }

    /// The line on air now, if any: its origin and utterance.
    pub fn current_line(&self) -> Option<(&Origin, &Utterance)> {
        match &self.current {
            Some(Current { origin, segment: Segment::Speech(u), .. }) => Some((origin, u)),
            _ => None,
        }
    }

    /// The frames are shown this many frames after they are made.
    pub fn set_output_delay(&mut self, frames: u64) {
        self.output_delay_frames = frames;
    }

    /// When `sample` is on air, in stream seconds.
    fn seconds(&self, sample: u64) -> f64 {
        (sample + self.clock.first_sample_of_frame(self.output_delay_frames)) as f64 / self.clock.rate as f64
    }

    /// Advances one frame: fills its audio and works out its mouth shape.
    pub fn tick(&mut self) -> Tick<'_> {
        let n = self.frame;
        let (s0, s1) = (self.clock.first_sample_of_frame(n), self.clock.first_sample_of_frame(n + 1));
        debug_assert_eq!(s0, self.sample);
        self.audio.clear();
        self.started_line = None;
        self.fired.clear();
        self.programme.poll(self.seconds(s0));
        self.check_interrupt();
        while self.sample < s1 {
            let want = s1 - self.sample;
            let Some(cur) = &mut self.current else {
                if self.closing || !self.start_next() {
                    // Nothing ready: silence for the rest of this frame.
                    self.stats.speech_underruns += u64::from(!self.closing);
                    self.audio.resize(self.audio.len() + want as usize, 0);
                    self.sample += want;
                }
                continue;
            };
            let offset = self.sample - cur.start;
            let end = cur.cut_at.unwrap_or(cur.len).min(cur.len);
            if offset >= end {
                self.finish_current();
                continue;
            }
            let take = (end - offset).min(want) as usize;
            while cur.cues.front().is_some_and(|(at, _)| u64::from(*at) < offset + take as u64) {
                self.fired.extend(cur.cues.pop_front().map(|(_, cue)| cue));
            }
            match &cur.segment {
                Segment::Speech(u) => self.audio.extend_from_slice(&u.samples()[offset as usize..offset as usize + take]),
                Segment::Silence { .. } => self.audio.resize(self.audio.len() + take, 0),
            }
            self.sample += take as u64;
        }
        // A segment that ended exactly on the frame edge is finished now, so its end is
        // reported in this frame.
        if self.current.as_ref().is_some_and(|c| self.sample - c.start >= c.cut_at.unwrap_or(c.len).min(c.len)) {
            self.finish_current();
        }

        // Lines that ended before this frame are done with.
        while self.on_air.front().is_some_and(|a| a.end < s0) {
            self.on_air.pop_front();
        }
        // Mouth: the shape covering most of this frame's audio window.
        let mut mouth = Mouth::X;
        let mut steps = SILENT_FRAME;
        let mut speaking = false;
        for a in &self.on_air {
            if a.start < s1 && a.end > s0 {
                speaking = true;
                let (from, to) = (s0 as i64 - a.start as i64, s1.min(a.end) as i64 - a.start as i64);
                let m = a.utterance.mouth.mouth_for_window(from, to);
                if m != Mouth::X {
                    mouth = m;
                }
                let own = phonetic::frame_steps(&a.utterance.mouth, from, s1 as i64 - a.start as i64);
                for (step, m) in steps.iter_mut().zip(own) {
                    if m != Mouth::X {
                        *step = m;
                    }
                }
            }
        }
        let (caption, product) = match &self.current {
            // A recording without a caption shows none.
            Some(Current { segment: Segment::Speech(u), start, .. }) if !u.text.is_empty() => {
                let offset = (self.sample.saturating_sub(*start)) as u32;
                let spoken = u.words.len().max(1);
                let written = u.text.split_whitespace().count().max(1);
                let j = u.words.partition_point(|w| w.start <= offset).saturating_sub(1);
                (Some((u.text.as_str(), (j * written / spoken).min(written - 1))), u.product.as_str())
            }
            Some(Current { segment: Segment::Speech(u), .. }) => (None, u.product.as_str()),
            _ => (None, ""),
        };
        self.frame += 1;
        Tick {
            frame: n,
            video_pts_ns: self.clock.frame_pts_ns(n),
            video_duration_ns: self.clock.frame_pts_ns(n + 1) - self.clock.frame_pts_ns(n),
            audio_pts_ns: self.clock.sample_pts_ns(s0),
            audio_duration_ns: self.clock.sample_pts_ns(s1) - self.clock.sample_pts_ns(s0),
            audio: &self.audio,
            mouth,
            steps,
            speaking,
            started_line: self.started_line.as_deref(),
            cues: &self.fired,
            caption,
            product,
        }
    }

    /// Asks for a cut at the next word boundary when the programme wants the air.
    fn check_interrupt(&mut self) {
        let Some(cur) = &mut self.current else { return };
        if cur.cut_at.is_some() || !(self.closing || self.programme.wants_interrupt(&cur.origin)) {
            return;
        }
        let offset = self.sample - cur.start;
        cur.cut_at = match &cur.segment {
            Segment::Speech(u) => u.next_word_boundary(offset as u32).map(u64::from),
            Segment::Silence { .. } => Some(offset),
        };
        if cur.cut_at.is_some() {
            self.stats.interruptions += 1;
        }
    }

    fn start_next(&mut self) -> bool {
        let Some(Next { segment, origin, cues }) = self.programme.next(self.pacing == Pacing::Render) else { return false };
        let len = match &segment {
            Segment::Speech(u) => {
                self.stats.lines_spoken += 1;
                self.started_line = Some(u.text.clone());
                self.on_air.push_back(OnAir { start: self.sample, end: self.sample + u.samples().len() as u64, utterance: u.clone() });
                u.samples().len() as u64
            }
            Segment::Silence { samples } => *samples as u64,
        };
        self.programme.started(&origin, &segment, self.seconds(self.sample));
        self.current = Some(Current { origin, segment, start: self.sample, len, cut_at: None, cues: cues.into() });
        true
    }

    fn finish_current(&mut self) {
        let Some(cur) = self.current.take() else { return };
        let (start, end) = (self.seconds(cur.start), self.seconds(self.sample));
        let cut = cur.cut_at.is_some_and(|c| c < cur.len);
        if cut {
            if let Segment::Speech(_) = &cur.segment {
                if let Some(a) = self.on_air.back_mut() {
                    a.end = self.sample;
                }
            }
            self.programme.interrupted(cur.origin, cur.segment, start, end);
        } else if let Segment::Speech(u) = &cur.segment {
            self.programme.finished(&cur.origin, u, start, end);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipsync::{MouthCue, MouthTrack};
    use crate::show::lines::Priority;

    /// A scripted programme: plays its list in order; an "urgent" entry appears at a
    /// given frame and asks for the air.
    #[derive(Default)]
    struct Script {
        queue: VecDeque<Next>,
        urgent: Option<(u64, Next)>,
        frame: u64,
        log: Vec<String>,
    }

    impl Programme for Script {
        fn poll(&mut self, _now: f64) {
            self.frame += 1;
        }
        fn next(&mut self, _wait: bool) -> Option<Next> {
            if self.urgent.as_ref().is_some_and(|(at, _)| self.frame > *at) {
                return self.urgent.take().map(|(_, n)| n);
            }
            self.queue.pop_front()
        }
        fn wants_interrupt(&self, origin: &Origin) -> bool {
            matches!(origin, Origin::Show { .. }) && self.urgent.as_ref().is_some_and(|(at, _)| self.frame > *at)
        }
        fn started(&mut self, origin: &Origin, _segment: &Segment, at: f64) {
            self.log.push(format!("start {} {at:.3}", origin.label()));
        }
        fn finished(&mut self, origin: &Origin, _u: &Utterance, _start: f64, end: f64) {
            self.log.push(format!("done {} {end:.3}", origin.label()));
        }
        fn interrupted(&mut self, origin: Origin, segment: Segment, _start: f64, end: f64) {
            self.log.push(format!("cut {} {end:.3}", origin.label()));
            self.queue.push_front(Next { segment, origin, cues: vec![] });
        }
    }

    /// `len` samples of speech; open mouth (D) over its middle half; words of 4800
    /// samples with 960-sample gaps.
    fn utterance(len: usize) -> Arc<Utterance> {
        let l = len as u32;
        let mouth = MouthTrack {
            cues: vec![
                MouthCue { start: 0, end: l / 4, mouth: Mouth::X },
                MouthCue { start: l / 4, end: 3 * l / 4, mouth: Mouth::D },
                MouthCue { start: 3 * l / 4, end: l, mouth: Mouth::X },
            ],
        };
        let words = (0..l / 5760).map(|i| i * 5760..i * 5760 + 4800).collect();
        Arc::new(Utterance {
            text: "test".into(),
            spoken: "test".into(),
            voice: "default".into(),
            product: "p".into(),
            speech: Arc::new(crate::speech::cache::CachedSpeech { samples: vec![1000; len], phonemes: vec![] }),
            mouth,
            words,
            synth_seconds: 0.0,
        })
    }

    fn show(segment: Segment) -> Next {
        Next { segment, origin: Origin::Show { seq: 0 }, cues: vec![] }
    }

    #[test]
    fn frames_carry_exact_sample_counts_and_timestamps() {
        let mut script = Script::default();
        script.queue.push_back(show(Segment::Silence { samples: 5000 }));
        script.queue.push_back(show(Segment::Speech(utterance(48_000))));
        let mut t = Timeline::new(25, script, Pacing::Live);
        let mut total = 0u64;
        for n in 0..100u64 {
            let tick = t.tick();
            assert_eq!(tick.audio.len(), 1920);
            assert_eq!(tick.video_pts_ns, n * 40_000_000);
            assert_eq!(tick.audio_pts_ns, total * 1_000_000_000 / 48_000);
            total += tick.audio.len() as u64;
        }
        assert_eq!(t.stats.lines_spoken, 1);
        assert_eq!(t.programme.log, vec!["start show 0.000", "start show 0.104", "done show 1.104"]);
    }

    #[test]
    fn odd_frame_rates_never_drift() {
        let mut t = Timeline::new(30, Script::default(), Pacing::Live);
        let mut total = 0u64;
        for _ in 0..30 * 60 {
            total += t.tick().audio.len() as u64;
        }
        assert_eq!(total, 48_000 * 60);
    }

    #[test]
    fn mouth_opens_exactly_where_speech_is() {
        let mut script = Script::default();
        script.queue.push_back(show(Segment::Silence { samples: 1920 * 10 }));
        script.queue.push_back(show(Segment::Speech(utterance(1920 * 40))));
        let mut t = Timeline::new(25, script, Pacing::Render);
        let mut open = Vec::new();
        let mut audible = Vec::new();
        for _ in 0..60 {
            let tick = t.tick();
            open.push(tick.mouth != Mouth::X);
            audible.push(tick.audio.iter().any(|&s| s != 0));
        }
        // Speech occupies frames 10..50; the open mouth its middle half, frames 20..40.
        assert!(audible[10..50].iter().all(|&a| a) && !audible[..10].iter().any(|&a| a) && !audible[50..].iter().any(|&a| a));
        let opened: Vec<usize> = open.iter().enumerate().filter(|(_, o)| **o).map(|(i, _)| i).collect();
        assert_eq!(opened, (20..40).collect::<Vec<_>>());
    }

    #[test]
    fn urgent_line_cuts_in_at_a_word_boundary_and_the_show_line_is_said_again() {
        let mut script = Script::default();
        script.queue.push_back(show(Segment::Speech(utterance(57_600)))); // 1.2 s, words every 120 ms
        script.urgent = Some((
            5, // appears during frame 5 (0.2 s into the line)
            Next {
                segment: Segment::Speech(utterance(9600)),
                origin: Origin::Line { id: 1, priority: Priority::Urgent, part: 0, last: true },
                cues: vec![],
            },
        ));
        let mut t = Timeline::new(25, script, Pacing::Live);
        for _ in 0..60 {
            t.tick();
        }
        // Frame 5 starts at 9600 samples (0.2 s), inside word 1 (5760..10560): the cut is in
        // the middle of the gap after it, at 11040 samples = 0.230 s.
        assert_eq!(
            t.programme.log,
            vec!["start show 0.000", "cut show 0.230", "start urgent 0.230", "done urgent 0.430", "start show 0.430", "done show 1.630"]
        );
        assert_eq!(t.stats.interruptions, 1);
    }
}
