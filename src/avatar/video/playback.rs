//! Which footage frame each stream frame of a video pack shows: the idle played forth
//! and back (no jump cut); a gesture starts when the idle passes the frame its first
//! frame follows best (or after a wait), and returns into the idle at the frame its
//! last frame leads into, each switch with a short crossfade. Counts frames only, so
//! the player thread can run it ahead of the renderer.

use std::collections::BTreeMap;

use super::manifest::{FrameRange, VideoGesture};

/// Crossfade lengths, in frames.
const FADE_FRAMES: u64 = 4;
const LONG_FADE_FRAMES: u64 = 8;
/// A gesture waits at most this long for the idle to reach its entry frame.
const MAX_WAIT_SECONDS: f32 = 1.2;
/// Idle frames this close to the entry count as reaching it.
const ENTRY_SLACK: usize = 2;

/// What one stream frame shows: a footage frame, perhaps fading from another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub frame: usize,
    /// (footage frame fading out, its weight 0..1).
    pub fade_from: Option<(usize, f32)>,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Gesture { name: String, start: u64 },
}

pub struct Playback {
    idle: FrameRange,
    gestures: BTreeMap<String, VideoGesture>,
    fps: u32,
    /// The stream frame `next` plans.
    n: u64,
    /// Position in the idle's forth-and-back cycle.
    idle_phase: u64,
    state: State,
    /// A gesture asked for, and the frame its wait began (set by the next `next`).
    pending: Option<(String, Option<u64>)>,
    /// (footage frame fading out, first stream frame of the fade, its length).
    fade: Option<(usize, u64, u64)>,
}

impl Playback {
    pub fn new(idle: FrameRange, gestures: BTreeMap<String, VideoGesture>, fps: u32) -> Playback {
        Playback { idle, gestures, fps, n: 0, idle_phase: 0, state: State::Idle, pending: None, fade: None }
    }

    /// Asks for a gesture (a name the pack has): it starts when the idle passes its
    /// entry frame, at most MAX_WAIT_SECONDS from the next frame on.
    pub fn request(&mut self, name: &str) {
        if self.gestures.contains_key(name) {
            self.pending = Some((name.to_string(), None));
        }
    }

    /// The next stream frame's footage frame.
    pub fn next(&mut self) -> Step {
        let n = self.n;
        self.n += 1;
        let frame = self.next_frame(n);
        let fade_from = match self.fade {
            Some((from, start, frames)) if n < start + frames => Some((from, 1.0 - (n - start + 1) as f32 / (frames + 1) as f32)),
            _ => {
                self.fade = None;
                None
            }
        };
        Step { frame, fade_from }
    }

    fn next_frame(&mut self, n: u64) -> usize {
        if let State::Gesture { name, start } = &self.state {
            let g = self.gestures[name];
            let t = (n - start) as usize;
            if g.first + t <= g.last {
                return g.first + t;
            }
            // Back into the idle at the frame the gesture's end leads into, going forwards.
            self.idle_phase = (g.returns_to - self.idle.first) as u64;
            self.fade = Some((g.last, n, FADE_FRAMES));
            self.state = State::Idle;
        }
        let idle = forth_and_back(self.idle, self.idle_phase);
        if let Some((name, asked)) = &mut self.pending {
            let asked = *asked.get_or_insert(n);
            let g = self.gestures[name.as_str()];
            let waited = (n - asked) as f32 / self.fps as f32;
            let at_entry = idle.abs_diff(g.entry) <= ENTRY_SLACK;
            if at_entry || waited >= MAX_WAIT_SECONDS {
                self.fade = Some((idle, n, if at_entry { FADE_FRAMES } else { LONG_FADE_FRAMES }));
                let (name, _) = self.pending.take().expect("pending");
                self.state = State::Gesture { name, start: n };
                return g.first;
            }
        }
        self.idle_phase += 1;
        idle
    }
}

/// Frame `phase` of a range played forth and back: first..=last, then back down,
/// the turning frames shown once.
fn forth_and_back(range: FrameRange, phase: u64) -> usize {
    let span = (range.last - range.first) as u64;
    let p = phase % (2 * span);
    range.first + if p <= span { p } else { 2 * span - p } as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playback() -> Playback {
        let wave = VideoGesture { first: 100, last: 104, entry: 13, returns_to: 11 };
        Playback::new(FrameRange { first: 10, last: 13 }, [("wave".to_string(), wave)].into(), 25)
    }

    fn frames(p: &mut Playback, count: usize) -> Vec<usize> {
        (0..count).map(|_| p.next().frame).collect()
    }

    #[test]
    fn idle_plays_forth_and_back_without_repeating_the_turning_frames() {
        assert_eq!(frames(&mut playback(), 9), vec![10, 11, 12, 13, 12, 11, 10, 11, 12]);
    }

    #[test]
    fn a_gesture_starts_at_its_entry_and_returns_forwards_with_crossfades() {
        let mut p = playback();
        p.request("wave");
        // The idle reaches 11, within two frames of the entry (13): the gesture starts
        // there, fading from that idle frame.
        assert_eq!(frames(&mut p, 1), vec![10]);
        let start = p.next();
        assert_eq!(start, Step { frame: 100, fade_from: Some((11, 0.8)) });
        assert_eq!(frames(&mut p, 4), vec![101, 102, 103, 104]);
        let back = p.next();
        assert_eq!((back.frame, back.fade_from.map(|f| f.0)), (11, Some(104)), "back into the idle at returns_to, fading from the gesture's end");
        assert_eq!(frames(&mut p, 3), vec![12, 13, 12], "then on forwards");
        assert!(p.next().fade_from.is_none(), "the crossfade lasts four frames");
    }

    #[test]
    fn a_gesture_waits_for_its_entry_at_most_a_while() {
        let wave = VideoGesture { first: 100, last: 101, entry: 40, returns_to: 40 };
        let mut p = Playback::new(FrameRange { first: 10, last: 60 }, [("wave".to_string(), wave)].into(), 25);
        frames(&mut p, 45);
        p.request("wave");
        // The idle goes up from 55 to 60, then down to 42 (within two of the entry).
        let waited = (0..100).position(|_| p.next().frame == 100).unwrap();
        assert_eq!(waited, 23, "starts when the idle comes down to 42");
        p.request("jump");
        assert!(p.pending.is_none(), "a name the pack lacks is ignored");

        let mut p = Playback::new(FrameRange { first: 10, last: 60 }, [("wave".to_string(), VideoGesture { entry: 10, ..wave })].into(), 25);
        frames(&mut p, 5);
        p.request("wave");
        let waited = (0..100).position(|_| p.next().frame == 100).unwrap();
        assert_eq!(waited, 30, "gives up waiting after 1.2 s (30 frames) and starts with a long crossfade");
        assert_eq!(p.fade.map(|f| f.2), Some(LONG_FADE_FRAMES));
    }
}
