//! The character's body in one frame, as humanoid bone rotations in VRM's normalised
//! space, in layers: the rest pose or the pack's idle clip; a gesture clip over it,
//! faded in and out; then the shared idle life (breath, sway, the head's tilt, nod and
//! turn) and the eyes' gaze on top.

use glam::{Quat, Vec3};

use super::clip::{Clip, gesture_weight};
use super::deform::Pose;
use super::vrm::Rig;
use crate::avatar::motion::Pose as IdlePose;

/// Rotations being built for one frame, by node.
struct Bones<'a> {
    rig: &'a Rig,
    rotations: Vec<Option<Quat>>,
}

impl Bones<'_> {
    fn get(&self, bone: &str) -> Option<(usize, Quat)> {
        let node = self.rig.bone(bone)?;
        Some((node, self.rotations[node].unwrap_or(Quat::IDENTITY)))
    }

    fn set(&mut self, bone: &str, q: Quat) {
        if let Some(node) = self.rig.bone(bone) {
            self.rotations[node] = Some(q);
        }
    }

    /// Moves `bone` toward `q` by `weight` (0: as it is, 1: q).
    fn blend(&mut self, bone: &str, q: Quat, weight: f32) {
        if let Some((node, now)) = self.get(bone) {
            self.rotations[node] = Some(now.slerp(q, weight));
        }
    }

    /// Adds a turn `q` in the bone's own frame on top of what it has.
    fn turn(&mut self, bone: &str, q: Quat) {
        if let Some((node, now)) = self.get(bone) {
            self.rotations[node] = Some(now * q);
        }
    }
}

/// A gesture clip of the pack, by name.
pub struct Gesture {
    pub name: String,
    pub clip: Clip,
}

pub struct Body {
    idle: Option<Clip>,
    gestures: Vec<Gesture>,
    /// The gesture clip playing and its start frame.
    playing: Option<(usize, u64)>,
    /// A head shake in progress (its start frame): a 3D head turns where a 2D one tilts.
    shake_from: Option<u64>,
    /// The host's hips height at rest, to scale a clip's hips movement.
    hips_height: f32,
    frame_seconds: f32,
}

impl Body {
    pub fn new(idle: Option<Clip>, gestures: Vec<Gesture>, hips_height: f32, fps: u32) -> Body {
        Body { idle, gestures, playing: None, shake_from: None, hips_height, frame_seconds: 1.0 / fps as f32 }
    }

    pub fn clip_names(&self) -> impl Iterator<Item = &str> {
        self.gestures.iter().map(|g| g.name.as_str())
    }

    /// Starts gesture clip `name` at frame `n`; false if the pack has no such clip.
    pub fn start_clip(&mut self, name: &str, n: u64) -> bool {
        let Some(i) = self.gestures.iter().position(|g| g.name == name) else { return false };
        self.playing = Some((i, n));
        true
    }

    pub fn start_shake(&mut self, n: u64) {
        self.shake_from = Some(n);
    }

    /// Writes frame `n`'s rotations and hips offset into `pose`. `life` is the shared
    /// idle motion; `gaze` the eyes' (yaw, pitch) in degrees.
    pub fn pose(&mut self, rig: &Rig, nodes: usize, n: u64, life: &IdlePose, gaze: (f32, f32), pose: &mut Pose) {
        let mut bones = Bones { rig, rotations: vec![None; nodes] };
        let t = n as f32 * self.frame_seconds;
        match &self.idle {
            Some(idle) => idle.sample(t % idle.duration, |bone, q| bones.set(bone, q)),
            None => rest_arms(&mut bones),
        }
        let mut hips = Vec3::ZERO;
        if let Some((i, start)) = self.playing {
            let clip = &self.gestures[i].clip;
            let into = (n - start) as f32 * self.frame_seconds;
            if into > clip.duration {
                self.playing = None;
            } else {
                let w = gesture_weight(into, clip.duration);
                clip.sample(into, |bone, q| bones.blend(bone, q, w));
                hips = clip.hips_offset(into, self.hips_height) * w;
            }
        }
        let yaw = self.shake_yaw(n);
        life_on_top(&mut bones, life, yaw, gaze);
        pose.rotations = bones.rotations.iter().enumerate().filter_map(|(node, q)| q.map(|q| (node, q))).collect();
        pose.hips_offset = hips + Vec3::new(life.sway_px * 0.0015, life.breath * 0.5, 0.0);
    }

    /// The head's turn (degrees about the vertical) of the shake in progress: two
    /// swings of 14 degrees over 1.2 s, easing out.
    fn shake_yaw(&mut self, n: u64) -> f32 {
        let Some(start) = self.shake_from else { return 0.0 };
        let t = (n - start) as f32 * self.frame_seconds;
        if t > 1.2 {
            self.shake_from = None;
            return 0.0;
        }
        14.0 * (1.0 - t / 1.2) * (2.0 * std::f32::consts::TAU * t / 1.2).sin()
    }
}

/// Arms down from the T-pose, for a pack without an idle clip.
fn rest_arms(bones: &mut Bones) {
    let deg = f32::to_radians;
    bones.set("leftUpperArm", Quat::from_rotation_z(deg(-70.0)) * Quat::from_rotation_y(deg(-8.0)));
    bones.set("rightUpperArm", Quat::from_rotation_z(deg(70.0)) * Quat::from_rotation_y(deg(8.0)));
    bones.set("leftLowerArm", Quat::from_rotation_y(deg(-25.0)));
    bones.set("rightLowerArm", Quat::from_rotation_y(deg(25.0)));
}

/// Breathing, sway, the head's turn, tilt and nod, and the eyes, over the clips.
fn life_on_top(bones: &mut Bones, m: &IdlePose, yaw: f32, (gaze_yaw, gaze_pitch): (f32, f32)) {
    let deg = f32::to_radians;
    // The sprite motion's units (art pixels, stretch) scaled to a body's angles.
    bones.turn("spine", Quat::from_rotation_z(deg(m.sway_px * 0.25)) * Quat::from_rotation_x(deg(-m.breath * 120.0)));
    bones.turn("chest", Quat::from_rotation_x(deg(-m.breath * 150.0)));
    bones.turn("neck", Quat::from_rotation_z(deg(m.tilt_deg * 0.4)));
    bones.turn("head", Quat::from_rotation_y(deg(yaw)) * Quat::from_rotation_z(deg(m.tilt_deg * 0.6)) * Quat::from_rotation_x(deg(m.nod_px * 0.7)));
    let eyes = Quat::from_rotation_y(deg(gaze_yaw)) * Quat::from_rotation_x(deg(-gaze_pitch));
    bones.turn("leftEye", eyes);
    bones.turn("rightEye", eyes);
}
