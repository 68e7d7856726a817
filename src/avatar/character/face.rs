//! A 3D face from the voice's exact phoneme timings: each 10 ms step's mouth shape
//! (the same shapes the 2D hosts draw, lipsync/visemes.rs) becomes weights of the
//! rig's own mouth expressions (VRM's five vowels, Oculus visemes or ARKit
//! blendshapes), eased step by step so sounds flow into each other; the lips still
//! close fully for M, B and P. Blinks come from the shared idle motion.

use crate::cue::Emotion;
use crate::lipsync::Mouth;
use crate::lipsync::phonetic::{FrameSteps, STEPS_PER_FRAME};

/// The mouth expressions a rig has, in the order `weights` returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouthSet {
    /// VRM presets: aa ih ou ee oh.
    Vowels,
    /// Oculus: viseme_sil PP FF TH DD kk CH SS nn RR aa E I O U.
    Visemes,
    /// ARKit: jawOpen mouthFunnel mouthPucker mouthClose mouthStretchLeft/Right
    /// mouthRollLower mouthSmileLeft/Right.
    Arkit,
}

pub const VOWELS: [&str; 5] = ["aa", "ih", "ou", "ee", "oh"];
pub const VISEMES: [&str; 15] = [
    "viseme_sil",
    "viseme_PP",
    "viseme_FF",
    "viseme_TH",
    "viseme_DD",
    "viseme_kk",
    "viseme_CH",
    "viseme_SS",
    "viseme_nn",
    "viseme_RR",
    "viseme_aa",
    "viseme_E",
    "viseme_I",
    "viseme_O",
    "viseme_U",
];
pub const ARKIT: [&str; 9] = ["jawOpen", "mouthFunnel", "mouthPucker", "mouthClose", "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthSmileLeft", "mouthSmileRight"];

impl MouthSet {
    /// The richest set whose expressions the rig has all of (`has` answers by name).
    pub fn of(has: impl Fn(&str) -> bool) -> Option<MouthSet> {
        if VOWELS.iter().all(|n| has(n)) {
            Some(MouthSet::Vowels)
        } else if VISEMES.iter().all(|n| has(n)) {
            Some(MouthSet::Visemes)
        } else if has("jawOpen") {
            Some(MouthSet::Arkit)
        } else {
            None
        }
    }

    pub fn names(self) -> &'static [&'static str] {
        match self {
            MouthSet::Vowels => &VOWELS,
            MouthSet::Visemes => &VISEMES,
            MouthSet::Arkit => &ARKIT,
        }
    }

    /// Full-strength weights of a 2D mouth shape, in `names()` order.
    fn target(self, m: Mouth, out: &mut [f32]) {
        out.fill(0.0);
        for (name, w) in self.shape(m) {
            if let Some(i) = self.names().iter().position(|n| n == name) {
                out[i] = *w;
            }
        }
    }

    /// The expressions (and strengths) that make mouth shape `m` in this set.
    fn shape(self, m: Mouth) -> &'static [(&'static str, f32)] {
        match (self, m) {
            (MouthSet::Vowels, Mouth::A | Mouth::X) => &[],
            (MouthSet::Vowels, Mouth::B) => &[("ih", 0.25), ("ee", 0.2)],
            (MouthSet::Vowels, Mouth::C) => &[("ee", 0.35), ("aa", 0.4)],
            (MouthSet::Vowels, Mouth::D) => &[("aa", 1.0)],
            (MouthSet::Vowels, Mouth::E) => &[("oh", 0.8), ("aa", 0.15)],
            (MouthSet::Vowels, Mouth::F) => &[("ou", 0.95)],
            (MouthSet::Vowels, Mouth::G) => &[("ih", 0.2)],
            (MouthSet::Vowels, Mouth::H) => &[("aa", 0.3), ("ih", 0.25)],
            (MouthSet::Visemes, Mouth::A) => &[("viseme_PP", 1.0)],
            (MouthSet::Visemes, Mouth::B) => &[("viseme_SS", 1.0)],
            (MouthSet::Visemes, Mouth::C) => &[("viseme_E", 1.0)],
            (MouthSet::Visemes, Mouth::D) => &[("viseme_aa", 1.0)],
            (MouthSet::Visemes, Mouth::E) => &[("viseme_O", 1.0)],
            (MouthSet::Visemes, Mouth::F) => &[("viseme_U", 1.0)],
            (MouthSet::Visemes, Mouth::G) => &[("viseme_FF", 1.0)],
            (MouthSet::Visemes, Mouth::H) => &[("viseme_nn", 1.0)],
            (MouthSet::Visemes, Mouth::X) => &[("viseme_sil", 1.0)],
            (MouthSet::Arkit, Mouth::A) => &[("mouthClose", 0.3)],
            (MouthSet::Arkit, Mouth::X) => &[],
            (MouthSet::Arkit, Mouth::B) => &[("jawOpen", 0.08), ("mouthStretchLeft", 0.25), ("mouthStretchRight", 0.25)],
            (MouthSet::Arkit, Mouth::C) => &[("jawOpen", 0.35), ("mouthStretchLeft", 0.15), ("mouthStretchRight", 0.15)],
            (MouthSet::Arkit, Mouth::D) => &[("jawOpen", 0.7)],
            (MouthSet::Arkit, Mouth::E) => &[("jawOpen", 0.35), ("mouthFunnel", 0.6)],
            (MouthSet::Arkit, Mouth::F) => &[("jawOpen", 0.12), ("mouthPucker", 0.9), ("mouthFunnel", 0.3)],
            (MouthSet::Arkit, Mouth::G) => &[("jawOpen", 0.05), ("mouthRollLower", 0.6)],
            (MouthSet::Arkit, Mouth::H) => &[("jawOpen", 0.3)],
        }
    }
}

/// Time constants of the easing (seconds): the mouth opens a little slower than the
/// lips snap shut for M/B/P, so plosives read even when short.
const OPEN_SECONDS: f32 = 0.035;
const CLOSE_SECONDS: f32 = 0.010;

/// The mouth's weights, eased from step to step; clock-free, one `frame` call a frame.
pub struct MouthEase {
    set: MouthSet,
    step_seconds: f32,
    now: Vec<f32>,
    target: Vec<f32>,
}

impl MouthEase {
    pub fn new(set: MouthSet, fps: u32) -> MouthEase {
        let n = set.names().len();
        MouthEase { set, step_seconds: 1.0 / (fps as f32 * STEPS_PER_FRAME as f32), now: vec![0.0; n], target: vec![0.0; n] }
    }

    pub fn set(&self) -> MouthSet {
        self.set
    }

    /// Eases through the frame's steps and returns the weights at its end.
    pub fn frame(&mut self, steps: &FrameSteps) -> &[f32] {
        for &m in steps {
            self.set.target(m, &mut self.target);
            let tau = if m == Mouth::A || m == Mouth::X { CLOSE_SECONDS } else { OPEN_SECONDS };
            let k = 1.0 - (-self.step_seconds / tau).exp();
            for (w, t) in self.now.iter_mut().zip(&self.target) {
                *w += (t - *w) * k;
            }
        }
        &self.now
    }
}

/// An emotion shown by the face: it eases in over 0.3 s, holds for 3 s and eases out
/// over 0.5 s, or sooner when another (or neutral) is asked for. Clock-free: frames.
pub struct Feeling {
    fps: f32,
    /// The emotion, its start frame and the frame it starts to fade.
    now: Option<(Emotion, u64, u64)>,
}

const FEEL_IN: f32 = 0.3;
const FEEL_HOLD: f32 = 3.0;
const FEEL_OUT: f32 = 0.5;

impl Feeling {
    pub fn new(fps: u32) -> Feeling {
        Feeling { fps: fps as f32, now: None }
    }

    /// Shows `emotion` from frame `n` (neutral fades the current one out).
    pub fn show(&mut self, emotion: Emotion, n: u64) {
        self.now = match (emotion, self.now) {
            (Emotion::Neutral, Some((e, start, end))) => Some((e, start, end.min(n))),
            (Emotion::Neutral, None) => None,
            (e, _) => Some((e, n, n + ((FEEL_IN + FEEL_HOLD) * self.fps) as u64)),
        };
    }

    /// The emotion at frame `n` and its weight (0..1).
    pub fn at(&mut self, n: u64) -> Option<(Emotion, f32)> {
        let (e, start, end) = self.now?;
        let rise = (n.saturating_sub(start) as f32 / (FEEL_IN * self.fps)).min(1.0);
        let fall = n.saturating_sub(end) as f32 / (FEEL_OUT * self.fps);
        if fall >= 1.0 {
            self.now = None;
            return None;
        }
        let ease = |x: f32| x * x * (3.0 - 2.0 * x);
        Some((e, ease(rise) * (1.0 - ease(fall))))
    }
}

/// The expressions (and strengths) that show `emotion`: VRM's own preset where the rig
/// has it, ARKit blendshapes otherwise.
pub fn emotion_expressions(emotion: Emotion, vrm_preset: bool) -> &'static [(&'static str, f32)] {
    match (emotion, vrm_preset) {
        (Emotion::Neutral, _) => &[],
        (Emotion::Happy, true) => &[("happy", 1.0)],
        (Emotion::Surprised, true) => &[("surprised", 1.0)],
        (Emotion::Sad, true) => &[("sad", 1.0)],
        (Emotion::Angry, true) => &[("angry", 1.0)],
        (Emotion::Relaxed, true) => &[("relaxed", 1.0)],
        (Emotion::Happy, false) => &[("mouthSmileLeft", 0.8), ("mouthSmileRight", 0.8), ("cheekSquintLeft", 0.4), ("cheekSquintRight", 0.4)],
        (Emotion::Surprised, false) => &[("browInnerUp", 0.9), ("browOuterUpLeft", 0.6), ("browOuterUpRight", 0.6), ("eyeWideLeft", 0.7), ("eyeWideRight", 0.7)],
        (Emotion::Sad, false) => &[("browInnerUp", 0.6), ("mouthFrownLeft", 0.6), ("mouthFrownRight", 0.6)],
        (Emotion::Angry, false) => &[("browDownLeft", 0.8), ("browDownRight", 0.8), ("noseSneerLeft", 0.3), ("noseSneerRight", 0.3)],
        (Emotion::Relaxed, false) => &[("mouthSmileLeft", 0.35), ("mouthSmileRight", 0.35), ("eyeSquintLeft", 0.3), ("eyeSquintRight", 0.3)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feeling_eases_in_holds_and_fades() {
        let mut f = Feeling::new(25);
        f.show(Emotion::Happy, 100);
        assert_eq!(f.at(100), Some((Emotion::Happy, 0.0)));
        assert!(f.at(104).unwrap().1 > 0.3);
        assert_eq!(f.at(150), Some((Emotion::Happy, 1.0)));
        assert!(f.at(188).unwrap().1 < 0.9);
        assert_eq!(f.at(200), None);
        f.show(Emotion::Surprised, 300);
        f.show(Emotion::Neutral, 320);
        assert!(f.at(325).unwrap().1 < 1.0);
        assert_eq!(f.at(333), None);
    }

    #[test]
    fn the_set_is_the_richest_the_rig_has_in_full() {
        assert_eq!(MouthSet::of(|n| VOWELS.contains(&n)), Some(MouthSet::Vowels));
        assert_eq!(MouthSet::of(|n| n.starts_with("viseme_") || n == "jawOpen"), Some(MouthSet::Visemes));
        assert_eq!(MouthSet::of(|n| n == "jawOpen"), Some(MouthSet::Arkit));
        assert_eq!(MouthSet::of(|n| n == "aa"), None);
    }

    #[test]
    fn an_open_vowel_opens_within_a_frame_and_m_closes_it() {
        let mut e = MouthEase::new(MouthSet::Vowels, 25);
        let aa = e.frame(&[Mouth::D; 4])[0];
        assert!(aa > 0.65, "aa after one frame: {aa}");
        let closed = e.frame(&[Mouth::A; 4])[0];
        assert!(closed < 0.02, "aa after one frame of M: {closed}");
    }

    #[test]
    fn a_one_step_sound_blends_rather_than_switching() {
        let mut e = MouthEase::new(MouthSet::Vowels, 25);
        e.frame(&[Mouth::D; 4]);
        let w = e.frame(&[Mouth::D, Mouth::F, Mouth::D, Mouth::D]).to_vec();
        // The brief "oo" rounds the mouth a little without closing the "ah".
        assert!(w[0] > 0.5 && w[2] > 0.05 && w[2] < 0.5, "{w:?}");
    }
}
