//! Gestures and idles as VRM Animation clips (.vrma, `VRMC_vrm_animation`): humanoid
//! bone rotations (and the hips' movement) over time, read into VRM's normalised space
//! so one clip fits every rig, and played over the host's idle pose with short fades.
//! Expression and look-at tracks of a clip are not read: the face follows the speech.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use glam::{Quat, Vec3};

use super::glb::Glb;
use super::model::rest_tree;
use super::vrm::Rig;

/// Keyframes of one value: times (seconds) and values, linear or held (STEP).
#[derive(Debug, Clone)]
struct Keys<T> {
    times: Vec<f32>,
    values: Vec<T>,
    step: bool,
}

impl<T: Copy> Keys<T> {
    /// The two keys around `t` and how far between them (0..1).
    fn around(&self, t: f32) -> (T, T, f32) {
        let i = self.times.partition_point(|&k| k <= t);
        if i == 0 {
            return (self.values[0], self.values[0], 0.0);
        }
        if i == self.times.len() {
            let last = self.values[i - 1];
            return (last, last, 0.0);
        }
        let (t0, t1) = (self.times[i - 1], self.times[i]);
        let f = if self.step || t1 <= t0 { 0.0 } else { (t - t0) / (t1 - t0) };
        (self.values[i - 1], self.values[i], f)
    }
}

/// A clip: rotation tracks per humanoid bone (VRM 1.0 names, normalised space) and
/// the hips' offset from their rest place (metres of the clip's own body).
#[derive(Debug, Clone)]
pub struct Clip {
    pub file: PathBuf,
    pub duration: f32,
    rotations: Vec<(String, Keys<Quat>)>,
    hips: Option<Keys<Vec3>>,
    /// The clip body's hips height at rest, to scale its hips movement to the host's.
    hips_height: f32,
}

impl Clip {
    pub fn read(file: &Path) -> Result<Clip> {
        let glb = Glb::read(file)?;
        Clip::from_glb(&glb).with_context(|| format!("VRM Animation clip {}", file.display()))
    }

    fn from_glb(glb: &Glb) -> Result<Clip> {
        let ext = glb.json.extensions.get("VRMC_vrm_animation").context("it has no VRMC_vrm_animation extension: export the clip as .vrma (VRM Animation)")?;
        let bones = ext.pointer("/humanoid/humanBones").and_then(|b| b.as_object()).context("VRMC_vrm_animation has no humanoid.humanBones")?;
        let mut bone_of = BTreeMap::new();
        for (name, b) in bones {
            let node = b.get("node").and_then(|n| n.as_u64()).with_context(|| format!("humanoid bone {name} names no node"))? as usize;
            ensure!(node < glb.json.nodes.len(), "humanoid bone {name} names node {node}, which does not exist");
            bone_of.insert(node, name.clone());
        }
        let (nodes, rest) = rest_tree(glb)?;
        let rotation_of = |i: usize| rest[i].to_scale_rotation_translation().1;
        let hips_node = bone_of.iter().find(|(_, b)| *b == "hips").map(|(n, _)| *n).context("the clip has no hips bone")?;
        let hips_rest = rest[hips_node].w_axis.truncate();
        let anim = glb.json.animations.first().context("the clip holds no animation")?;
        let (mut rotations, mut hips, mut duration) = (Vec::new(), None, 0f32);
        for (k, ch) in anim.channels.iter().enumerate() {
            let Some(bone) = ch.target.node.and_then(|n| bone_of.get(&n)) else { continue };
            let node = ch.target.node.expect("a bone's node");
            let s = anim.samplers.get(ch.sampler).with_context(|| format!("channel {k} uses sampler {}, which does not exist", ch.sampler))?;
            let times: Vec<f32> = glb.floats::<1>(s.input)?.into_iter().map(|[t]| t).collect();
            ensure!(!times.is_empty() && times.windows(2).all(|w| w[0] <= w[1]), "channel {k} ({bone}): its key times are empty or out of order");
            duration = duration.max(*times.last().expect("non-empty"));
            let (step, cubic) = (s.interpolation == "STEP", s.interpolation == "CUBICSPLINE");
            let parent = nodes[node].parent.map_or(Quat::IDENTITY, rotation_of);
            let world_rest_inv = rotation_of(node).inverse();
            match ch.target.path.as_str() {
                "rotation" => {
                    let values = spline_values(glb.floats::<4>(s.output)?, cubic, times.len(), k)?;
                    // Normalised: parent's rest world * local * own rest world^-1.
                    let values = values.into_iter().map(|q| (parent * Quat::from_array(q).normalize() * world_rest_inv).normalize()).collect();
                    rotations.push((bone.clone(), Keys { times, values, step }));
                }
                "translation" if bone == "hips" => {
                    let values = spline_values(glb.floats::<3>(s.output)?, cubic, times.len(), k)?;
                    let to_world = nodes[node].parent.map_or(glam::Mat4::IDENTITY, |p| rest[p]);
                    let values = values.into_iter().map(|t| to_world.transform_point3(Vec3::from(t)) - hips_rest).collect();
                    hips = Some(Keys { times, values, step });
                }
                _ => {}
            }
        }
        ensure!(!rotations.is_empty(), "it moves no humanoid bone (no rotation tracks on the nodes its humanoid names)");
        Ok(Clip { file: glb.path.clone(), duration: duration.max(1e-3), rotations, hips, hips_height: hips_rest.y.max(0.1) })
    }

    /// The humanoid bones the clip turns.
    pub fn bones(&self) -> impl Iterator<Item = &str> {
        self.rotations.iter().map(|(b, _)| b.as_str())
    }

    /// Refuses a clip that turns bones `rig` lacks, naming them.
    pub fn check(&self, rig: &Rig) -> Result<()> {
        let missing: Vec<&str> = self.bones().filter(|b| rig.bone(b).is_none()).collect();
        if !missing.is_empty() {
            bail!(
                "clip {} moves bones the model lacks: {}; remove those tracks from the clip or use a model that has them",
                self.file.display(),
                missing.join(", ")
            );
        }
        Ok(())
    }

    /// Each bone's rotation `t` seconds in (held at the ends).
    pub fn sample(&self, t: f32, mut each: impl FnMut(&str, Quat)) {
        for (bone, keys) in &self.rotations {
            let (a, b, f) = keys.around(t);
            each(bone, a.slerp(b, f));
        }
    }

    /// The hips' offset `t` seconds in, scaled to a body whose hips are `hips_height` high.
    pub fn hips_offset(&self, t: f32, hips_height: f32) -> Vec3 {
        self.hips.as_ref().map_or(Vec3::ZERO, |k| {
            let (a, b, f) = k.around(t);
            a.lerp(b, f) * (hips_height / self.hips_height)
        })
    }
}

/// A sampler's output values, one per key: a cubic spline stores in-tangent, value,
/// out-tangent per key, and only the values are kept (played linearly).
fn spline_values<const N: usize>(values: Vec<[f32; N]>, cubic: bool, keys: usize, channel: usize) -> Result<Vec<[f32; N]>> {
    let per_key = if cubic { 3 } else { 1 };
    ensure!(values.len() == keys * per_key, "channel {channel} has {} values for {keys} key times", values.len());
    Ok(if cubic { values.chunks_exact(3).map(|v| v[1]).collect() } else { values })
}

/// How much of a gesture shows `t` seconds into a clip of `duration`: it fades in and
/// out over FADE (shorter clips fade over a third of their length each way).
pub fn gesture_weight(t: f32, duration: f32) -> f32 {
    const FADE: f32 = 0.3;
    let fade = FADE.min(duration / 3.0);
    let w = (t / fade).min((duration - t) / fade).clamp(0.0, 1.0);
    w * w * (3.0 - 2.0 * w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_interpolate_and_hold_at_the_ends() {
        let k = Keys { times: vec![0.0, 1.0], values: vec![0.0f32, 10.0], step: false };
        assert_eq!(k.around(-1.0).0, 0.0);
        let (a, b, f) = k.around(0.25);
        assert_eq!((a, b), (0.0, 10.0));
        assert!((f - 0.25).abs() < 1e-6);
        assert_eq!(k.around(2.0), (10.0, 10.0, 0.0));
        let step = Keys { step: true, ..k };
        assert_eq!(step.around(0.9).2, 0.0);
    }

    #[test]
    fn a_gesture_fades_in_and_out() {
        assert_eq!(gesture_weight(0.0, 2.0), 0.0);
        assert!(gesture_weight(0.1, 2.0) > 0.0 && gesture_weight(0.1, 2.0) < 0.5);
        assert_eq!(gesture_weight(1.0, 2.0), 1.0);
        assert_eq!(gesture_weight(2.0, 2.0), 0.0);
        // A short clip still reaches full weight in its middle.
        assert_eq!(gesture_weight(0.3, 0.6), 1.0);
    }
}
