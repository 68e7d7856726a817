//! Idle life: breathing, a slow sway, a small nod while speaking, and blinks at
//! natural random intervals. Everything is a function of the frame counter and a
//! seeded generator, so a render is reproducible.

use crate::lipsync::Mouth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Eyes {
    Open,
    Half,
    Closed,
}

/// A head gesture, drawn procedurally on any pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadMove {
    /// Down and back up (also on every emphasised word).
    Nod,
    /// Side to side, twice.
    Shake,
    /// A friendly lean to one side and back.
    Tilt,
}

/// Everything the avatar needs to draw one frame.
#[derive(Debug, Clone, Copy)]
pub struct Pose {
    pub mouth: Mouth,
    pub eyes: Eyes,
    /// Relative torso stretch, about ±0.4 %.
    pub breath: f32,
    /// Sideways shift in art pixels.
    pub sway_px: f32,
    /// Head tilt in degrees.
    pub tilt_deg: f32,
    /// Head bob in art pixels.
    pub nod_px: f32,
}

/// Small xorshift generator: enough for blink timing, no dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

pub struct Motion {
    fps: f32,
    rng: Rng,
    next_blink: u64,
    /// Frames of the blink in progress, counted from its start.
    blink_start: Option<u64>,
    /// How strongly the head follows speech, eased so it never jumps.
    talk: f32,
    /// The head move in progress and the frame it started.
    head: Option<(HeadMove, u64)>,
}

/// Eyelids per frame of a blink at 25 fps: half, closed, closed, half (~160 ms).
const BLINK: [Eyes; 4] = [Eyes::Half, Eyes::Closed, Eyes::Closed, Eyes::Half];

impl Motion {
    pub fn new(fps: u32, seed: u64) -> Motion {
        let mut m = Motion { fps: fps as f32, rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), next_blink: 0, blink_start: None, talk: 0.0, head: None };
        m.next_blink = m.blink_gap(0);
        m
    }

    /// People blink every 2–6 s; sometimes twice in a row.
    fn blink_gap(&mut self, now: u64) -> u64 {
        let seconds = if self.rng.next_f32() < 0.15 { 0.35 } else { 2.0 + 4.0 * self.rng.next_f32() };
        now + (seconds * self.fps).round().max(1.0) as u64
    }

    /// An emphasised word starts now: the head gives a small nod.
    pub fn emphasise(&mut self, frame: u64) {
        self.head_move(HeadMove::Nod, frame);
    }

    /// Starts a head move now; one in progress gives way.
    pub fn head_move(&mut self, kind: HeadMove, frame: u64) {
        self.head = Some((kind, frame));
    }

    /// The pose for frame `frame`; call once per frame, in order.
    pub fn pose(&mut self, frame: u64, mouth: Mouth, speaking: bool) -> Pose {
        let t = frame as f32 / self.fps;
        let tau = std::f32::consts::TAU;

        if self.blink_start.is_none() && frame >= self.next_blink {
            self.blink_start = Some(frame);
        }
        let blink_frames = ((BLINK.len() as f32) * self.fps / 25.0).round().max(2.0) as u64;
        let eyes = match self.blink_start {
            Some(start) if frame - start < blink_frames => BLINK[((frame - start) * BLINK.len() as u64 / blink_frames) as usize],
            Some(_) => {
                self.blink_start = None;
                self.next_blink = self.blink_gap(frame);
                Eyes::Open
            }
            None => Eyes::Open,
        };

        let target = if speaking { 1.0 } else { 0.0 };
        self.talk += (target - self.talk) * (1.0 - (-1.0 / (0.4 * self.fps)).exp());

        let (head_tilt, head_nod) = self.head_offsets(frame);
        Pose {
            mouth,
            eyes,
            breath: 0.004 * (tau * t / 4.2).sin(),
            sway_px: 3.0 * (tau * t / 9.0).sin() + 1.0 * (tau * t / 3.7).sin(),
            tilt_deg: 1.2 * (tau * t / 7.3).sin() + self.talk * 1.0 * (tau * t / 2.1).sin() + head_tilt,
            nod_px: self.talk * 2.0 * (tau * t / 0.9).sin() + head_nod,
        }
    }

    /// Extra head tilt (degrees) and bob (art pixels) of the head move in progress.
    fn head_offsets(&mut self, frame: u64) -> (f32, f32) {
        let Some((kind, start)) = self.head else { return (0.0, 0.0) };
        let t = (frame.saturating_sub(start)) as f32 / self.fps;
        let pi = std::f32::consts::PI;
        let (seconds, offsets) = match kind {
            // Down and back up over 0.4 s.
            HeadMove::Nod => (0.4, (0.0, 6.0 * (pi * t / 0.4).sin())),
            // Two swings of ±4° over 0.9 s, fading out.
            HeadMove::Shake => (0.9, (4.0 * (1.0 - t / 0.9) * (2.0 * std::f32::consts::TAU * t / 0.9).sin(), 0.0)),
            // Lean 5° and back over 1.2 s.
            HeadMove::Tilt => (1.2, (5.0 * (pi * t / 1.2).sin(), 0.0)),
        };
        if t > seconds {
            self.head = None;
            return (0.0, 0.0);
        }
        offsets
    }
}

/// Where the eyes look, in degrees (yaw to the host's left, pitch up): at the camera,
/// with the small jumps (saccades) living eyes make every half second to few seconds,
/// most of them back to the camera.
pub struct Gaze {
    fps: f32,
    rng: Rng,
    next_jump: u64,
    target: (f32, f32),
}

impl Gaze {
    pub fn new(fps: u32, seed: u64) -> Gaze {
        Gaze { fps: fps as f32, rng: Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1), next_jump: 0, target: (0.0, 0.0) }
    }

    /// The gaze at frame `frame`; call once per frame, in order. A saccade takes one frame.
    pub fn at(&mut self, frame: u64) -> (f32, f32) {
        if frame >= self.next_jump {
            self.target = if self.rng.next_f32() < 0.55 {
                (0.0, 0.0)
            } else {
                (8.0 * (self.rng.next_f32() - 0.5), 5.0 * (self.rng.next_f32() - 0.5))
            };
            self.next_jump = frame + ((0.5 + 2.0 * self.rng.next_f32()) * self.fps).round() as u64;
        }
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eyes_stay_near_the_camera_and_jump_now_and_then() {
        let mut g = Gaze::new(25, 3);
        let looks: Vec<(f32, f32)> = (0..25 * 60).map(|f| g.at(f)).collect();
        assert!(looks.iter().all(|&(y, p)| y.abs() <= 4.0 && p.abs() <= 2.5));
        let jumps: Vec<usize> = (1..looks.len()).filter(|&i| looks[i] != looks[i - 1]).collect();
        // A minute: a jump every 0.5-2.5 s (some jumps land where the eyes already are).
        assert!((15..=120).contains(&jumps.len()), "{} jumps", jumps.len());
        assert!(jumps.windows(2).all(|w| w[1] - w[0] >= 12), "saccades closer than 0.5 s");
        let at_camera = looks.iter().filter(|&&l| l == (0.0, 0.0)).count();
        assert!(at_camera * 3 > looks.len(), "the eyes look at the camera only {at_camera} of {} frames", looks.len());
    }

    #[test]
    fn blinks_come_at_natural_intervals() {
        let mut m = Motion::new(25, 7);
        let mut starts = Vec::new();
        let mut prev = Eyes::Open;
        for f in 0..25 * 120 {
            let p = m.pose(f, Mouth::X, false);
            if prev == Eyes::Open && p.eyes != Eyes::Open {
                starts.push(f);
            }
            prev = p.eyes;
        }
        // Two minutes: roughly 20–60 blinks, none closer than 0.3 s, none further than 6.5 s apart.
        assert!((20..=60).contains(&starts.len()), "{} blinks", starts.len());
        for w in starts.windows(2) {
            let gap = (w[1] - w[0]) as f32 / 25.0;
            assert!((0.3..=6.5).contains(&gap), "gap {gap}");
        }
    }

    #[test]
    fn idle_motion_is_subtle_and_smooth() {
        let mut m = Motion::new(25, 1);
        let poses: Vec<Pose> = (0..500).map(|f| m.pose(f, Mouth::X, f > 250)).collect();
        for w in poses.windows(2) {
            assert!((w[1].tilt_deg - w[0].tilt_deg).abs() < 0.5);
            assert!((w[1].sway_px - w[0].sway_px).abs() < 1.0);
        }
        assert!(poses.iter().all(|p| p.breath.abs() <= 0.004 && p.tilt_deg.abs() < 2.5));
    }
}
