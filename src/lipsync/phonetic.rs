//! What a trained face model hears: the mouth shapes being said, not the voice saying
//! them. Each video frame is cut into `STEPS_PER_FRAME` steps (10 ms at 25 fps) and
//! each step gets the shape that covers most of it, from the same mouth tracks the
//! cartoon host uses (a voice's exact phoneme timings, or the mouth model for audio
//! without them). A frame's input is the one-hot shapes of the steps from
//! `FRAMES_BEFORE` frames before it to `FRAMES_AFTER` after it, so the model sees a
//! sound coming and going (coarticulation). The same code builds the features of the
//! footage for training and of the stream on air, so the two cannot drift apart.

use std::collections::VecDeque;

use super::{Mouth, MouthTrack};

pub const STEPS_PER_FRAME: usize = 4;
pub const FRAMES_BEFORE: usize = 2;
pub const FRAMES_AFTER: usize = 2;
/// Steps in one frame's window.
pub const WINDOW_STEPS: usize = (FRAMES_BEFORE + 1 + FRAMES_AFTER) * STEPS_PER_FRAME;
pub const SHAPES: usize = Mouth::ALL.len();
/// Floats in one frame's window: [WINDOW_STEPS][SHAPES].
pub const WINDOW_LEN: usize = WINDOW_STEPS * SHAPES;

/// One frame's steps.
pub type FrameSteps = [Mouth; STEPS_PER_FRAME];
pub const SILENT_FRAME: FrameSteps = [Mouth::X; STEPS_PER_FRAME];

/// The steps of the sample window [start, end) of `track` (its own sample positions;
/// outside the track is rest).
pub fn frame_steps(track: &MouthTrack, start: i64, end: i64) -> FrameSteps {
    let len = end - start;
    std::array::from_fn(|k| {
        let (a, b) = (start + len * k as i64 / STEPS_PER_FRAME as i64, start + len * (k as i64 + 1) / STEPS_PER_FRAME as i64);
        track.mouth_for_window(a, b)
    })
}

/// Writes the window of frames [centre - FRAMES_BEFORE, centre + FRAMES_AFTER] as
/// one-hot shapes; `frames` yields exactly those frames' steps in order.
pub fn write_window<'a>(frames: impl Iterator<Item = &'a FrameSteps>, out: &mut [f32]) {
    debug_assert_eq!(out.len(), WINDOW_LEN);
    out.fill(0.0);
    for (i, mouth) in frames.flat_map(|f| f.iter()).take(WINDOW_STEPS).enumerate() {
        out[i * SHAPES + shape_index(*mouth)] = 1.0;
    }
}

fn shape_index(m: Mouth) -> usize {
    Mouth::ALL.iter().position(|&x| x == m).expect("every shape is in ALL")
}

/// Windows of a whole recording: one per frame of `steps`, the edges padded with rest.
pub fn windows(steps: &[FrameSteps]) -> Vec<f32> {
    let mut out = vec![0f32; steps.len() * WINDOW_LEN];
    let at = |i: isize| if i < 0 || i as usize >= steps.len() { &SILENT_FRAME } else { &steps[i as usize] };
    for (n, chunk) in out.chunks_exact_mut(WINDOW_LEN).enumerate() {
        let n = n as isize;
        write_window((n - FRAMES_BEFORE as isize..=n + FRAMES_AFTER as isize).map(at), chunk);
    }
    out
}

/// The stream's side: frames' steps pushed in order; a frame's window is ready once
/// `FRAMES_AFTER` more frames have come.
#[derive(Default)]
pub struct WindowQueue {
    /// Steps of the last frames pushed, oldest first; frame `first` is the front
    /// (negative: the rest before the stream began).
    recent: VecDeque<FrameSteps>,
    first: i64,
    /// The first frame pushed.
    start: Option<i64>,
}

impl WindowQueue {
    /// Adds frame `frame`'s steps (frames come in order, from any start).
    pub fn push(&mut self, frame: u64, steps: FrameSteps) {
        let frame = frame as i64;
        if self.start.is_none() {
            // The stream starts in silence: the frames before the first are rest.
            self.start = Some(frame);
            self.first = frame - FRAMES_BEFORE as i64;
            self.recent.extend([SILENT_FRAME; FRAMES_BEFORE]);
        }
        self.recent.push_back(steps);
        while self.recent.len() > FRAMES_BEFORE + 1 + FRAMES_AFTER {
            self.recent.pop_front();
            self.first += 1;
        }
    }

    /// The frame whose window the last push completed, and that window.
    pub fn ready(&self, out: &mut [f32]) -> Option<u64> {
        let last = self.first + self.recent.len() as i64 - 1;
        let centre = last - FRAMES_AFTER as i64;
        if centre < self.start? {
            return None;
        }
        write_window(self.recent.iter().skip((centre - FRAMES_BEFORE as i64 - self.first) as usize), out);
        Some(centre as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipsync::MouthCue;

    #[test]
    fn steps_follow_the_track_within_a_frame() {
        // 1920 samples a frame: rest for 600, D for 900, A after.
        let track = MouthTrack {
            cues: vec![
                MouthCue { start: 0, end: 600, mouth: Mouth::X },
                MouthCue { start: 600, end: 1500, mouth: Mouth::D },
                MouthCue { start: 1500, end: 4000, mouth: Mouth::A },
            ],
        };
        assert_eq!(frame_steps(&track, 0, 1920), [Mouth::X, Mouth::D, Mouth::D, Mouth::A]);
        assert_eq!(frame_steps(&track, 3840, 5760), [Mouth::A, Mouth::X, Mouth::X, Mouth::X], "after the track: rest");
    }

    #[test]
    fn the_stream_and_a_recording_give_the_same_windows() {
        let shapes = [Mouth::A, Mouth::D, Mouth::F, Mouth::X, Mouth::B, Mouth::C, Mouth::G];
        let steps: Vec<FrameSteps> = (0..30).map(|i| std::array::from_fn(|k| shapes[(i * 3 + k) % shapes.len()])).collect();
        let whole = windows(&steps);
        let mut queue = WindowQueue::default();
        let mut out = vec![0f32; WINDOW_LEN];
        let mut seen = 0;
        for (i, s) in steps.iter().enumerate() {
            queue.push(i as u64, *s);
            if let Some(centre) = queue.ready(&mut out) {
                assert_eq!(centre, (i - FRAMES_AFTER) as u64);
                assert_eq!(out, whole[centre as usize * WINDOW_LEN..][..WINDOW_LEN], "frame {centre}");
                seen += 1;
            }
        }
        assert_eq!(seen, steps.len() - FRAMES_AFTER);
        // Every step is one shape.
        assert!(whole.chunks_exact(SHAPES).all(|s| s.iter().sum::<f32>() == 1.0));
    }
}
