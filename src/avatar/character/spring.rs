//! Spring bones: hair and clothes that swing after the head or body moves and settle
//! under gravity, from VRM 1.0's `VRMC_springBone` or 0.x's `secondaryAnimation`.
//! Each joint's tail is integrated (inertia less drag, a pull back toward its rest
//! direction, gravity), kept at the bone's length, pushed out of the colliders, and
//! the joint is turned to point at it. Steps are a fixed fraction of a frame, so a
//! render is reproducible and 25 fps is as stable as 60.

use anyhow::{Context, Result};
use glam::{Mat4, Quat, Vec3};
use serde_json::Value;

use super::model::{Model, Transform};

/// At most this long a step (seconds): shorter steps keep stiff springs stable.
const MAX_STEP: f32 = 1.0 / 60.0;
/// A chain's last joint without a child points this far along its bone (metres).
const VIRTUAL_TAIL: f32 = 0.07;

#[derive(Debug, Clone, Copy)]
struct Settings {
    stiffness: f32,
    gravity: Vec3,
    drag: f32,
    hit_radius: f32,
}

#[derive(Debug, Clone)]
struct Joint {
    node: usize,
    settings: Settings,
    /// The rest direction to the tail, in the joint's own space, and its length.
    axis: Vec3,
    length: f32,
    tail: Vec3,
    prev_tail: Vec3,
}

#[derive(Debug, Clone)]
struct Collider {
    node: usize,
    offset: Vec3,
    /// A capsule's other end (node space); None for a sphere.
    end: Option<Vec3>,
    radius: f32,
}

#[derive(Debug, Clone)]
struct Chain {
    joints: Vec<Joint>,
    colliders: Vec<usize>,
}

/// All springs of a character and their state between frames.
#[derive(Debug, Clone, Default)]
pub struct Springs {
    chains: Vec<Chain>,
    colliders: Vec<Collider>,
    started: bool,
}

fn vec3(v: Option<&Value>) -> Option<Vec3> {
    match v? {
        Value::Array(a) if a.len() == 3 => Some(Vec3::new(a[0].as_f64()? as f32, a[1].as_f64()? as f32, a[2].as_f64()? as f32)),
        Value::Object(o) => Some(Vec3::new(o.get("x")?.as_f64()? as f32, o.get("y")?.as_f64()? as f32, o.get("z")?.as_f64()? as f32)),
        _ => None,
    }
}

fn num(v: &Value, key: &str, default: f32) -> f32 {
    v.get(key).and_then(Value::as_f64).map_or(default, |x| x as f32)
}

fn node(v: &Value, what: &str, nodes: usize) -> Result<usize> {
    let n = v.get("node").and_then(Value::as_u64).with_context(|| format!("{what} has no node"))? as usize;
    anyhow::ensure!(n < nodes, "{what} names node {n}, which does not exist");
    Ok(n)
}

impl Springs {
    /// VRM 1.0's VRMC_springBone.
    pub fn from_vrm1(ext: &Value, model: &Model) -> Result<Springs> {
        let n = model.nodes.len();
        let mut colliders = Vec::new();
        for (i, c) in ext.get("colliders").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let node = node(c, &format!("spring collider {i}"), n)?;
            let (shape, end) = match (c.pointer("/shape/sphere"), c.pointer("/shape/capsule")) {
                (Some(s), _) => (s, None),
                (None, Some(s)) => (s, Some(vec3(s.get("tail")).unwrap_or(Vec3::ZERO))),
                _ => continue,
            };
            colliders.push(Collider { node, offset: vec3(shape.get("offset")).unwrap_or(Vec3::ZERO), end, radius: num(shape, "radius", 0.0) });
        }
        let groups: Vec<Vec<usize>> = ext
            .get("colliderGroups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|g| g.get("colliders").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64).map(|c| c as usize).filter(|&c| c < colliders.len()).collect())
            .collect();
        let mut chains = Vec::new();
        for (s, spring) in ext.get("springs").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let mut nodes = Vec::new();
            for (k, j) in spring.get("joints").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let settings = Settings {
                    stiffness: num(j, "stiffness", 1.0),
                    gravity: vec3(j.get("gravityDir")).unwrap_or(Vec3::NEG_Y) * num(j, "gravityPower", 0.0),
                    drag: num(j, "dragForce", 0.5).clamp(0.0, 1.0),
                    hit_radius: num(j, "hitRadius", 0.0),
                };
                nodes.push((node(j, &format!("spring {s} joint {k}"), n)?, settings));
            }
            let colliders = spring.get("colliderGroups").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64).filter_map(|g| groups.get(g as usize)).flatten().copied().collect();
            chains.push(chain(model, &nodes, colliders));
        }
        Ok(Springs { chains, colliders, started: false })
    }

    /// VRM 0.x's secondaryAnimation: each bone group names chain roots; every root's
    /// first-child line is a chain. Its collider offsets have z mirrored.
    pub fn from_vrm0(ext: &Value, model: &Model) -> Result<Springs> {
        let n = model.nodes.len();
        let mut colliders = Vec::new();
        let mut groups = Vec::new();
        for (i, g) in ext.get("colliderGroups").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let node = node(g, &format!("collider group {i}"), n)?;
            let mut members = Vec::new();
            for c in g.get("colliders").and_then(Value::as_array).into_iter().flatten() {
                let o = vec3(c.get("offset")).unwrap_or(Vec3::ZERO);
                members.push(colliders.len());
                colliders.push(Collider { node, offset: Vec3::new(o.x, o.y, -o.z), end: None, radius: num(c, "radius", 0.0) });
            }
            groups.push(members);
        }
        let mut chains = Vec::new();
        for g in ext.get("boneGroups").and_then(Value::as_array).into_iter().flatten() {
            let settings = Settings {
                stiffness: num(g, "stiffiness", 1.0),
                gravity: vec3(g.get("gravityDir")).unwrap_or(Vec3::NEG_Y) * num(g, "gravityPower", 0.0),
                drag: num(g, "dragForce", 0.5).clamp(0.0, 1.0),
                hit_radius: num(g, "hitRadius", 0.0),
            };
            let members: Vec<usize> = g.get("colliderGroups").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64).filter_map(|i| groups.get(i as usize)).flatten().copied().collect();
            for root in g.get("bones").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_u64) {
                let mut nodes = vec![];
                let mut at = Some(root as usize).filter(|&r| r < n);
                while let Some(j) = at {
                    nodes.push((j, settings));
                    at = (0..n).find(|&c| model.nodes[c].parent == Some(j));
                }
                chains.push(chain(model, &nodes, members.clone()));
            }
        }
        Ok(Springs { chains, colliders, started: false })
    }

    pub fn joints(&self) -> usize {
        self.chains.iter().map(|c| c.joints.len()).sum()
    }

    /// Advances the springs by `dt` seconds from the posed `locals` and turns their
    /// joints in `locals`; returns the globals after.
    pub fn step(&mut self, model: &Model, locals: &mut [Transform], dt: f32) -> Vec<Mat4> {
        let mut globals = model.globals(|i| locals[i].matrix());
        if self.chains.is_empty() {
            return globals;
        }
        if !self.started {
            self.start(model, &globals);
        }
        let steps = (dt / MAX_STEP).ceil().max(1.0) as usize;
        let h = dt / steps as f32;
        for _ in 0..steps {
            for c in 0..self.chains.len() {
                for j in 0..self.chains[c].joints.len() {
                    self.move_joint(model, c, j, locals, &globals, h);
                    globals = model.globals(|i| locals[i].matrix());
                }
            }
        }
        globals
    }

    /// Puts every tail at rest.
    fn start(&mut self, model: &Model, globals: &[Mat4]) {
        for joint in self.chains.iter_mut().flat_map(|c| &mut c.joints) {
            let parent = parent_matrix(model, globals, joint.node);
            let head = globals[joint.node].w_axis.truncate();
            let rest = (parent_rotation(parent) * model.nodes[joint.node].rest.r * joint.axis).normalize_or(Vec3::NEG_Y);
            joint.tail = head + rest * joint.length;
            joint.prev_tail = joint.tail;
        }
        self.started = true;
    }

    fn move_joint(&mut self, model: &Model, c: usize, j: usize, locals: &mut [Transform], globals: &[Mat4], h: f32) {
        let rest_rotation = model.nodes[self.chains[c].joints[j].node].rest.r;
        let joint = &self.chains[c].joints[j];
        let parent = parent_rotation(parent_matrix(model, globals, joint.node));
        let head = globals[joint.node].w_axis.truncate();
        let s = joint.settings;
        let rest_dir = (parent * rest_rotation * joint.axis).normalize_or(Vec3::NEG_Y);
        let mut next = joint.tail + (joint.tail - joint.prev_tail) * (1.0 - s.drag) + rest_dir * s.stiffness * h + s.gravity * h;
        next = head + (next - head).normalize_or(rest_dir) * joint.length;
        for &k in &self.chains[c].colliders {
            next = self.colliders[k].push_out(globals, next, s.hit_radius);
        }
        next = head + (next - head).normalize_or(rest_dir) * joint.length;
        let joint = &mut self.chains[c].joints[j];
        joint.prev_tail = joint.tail;
        joint.tail = next;
        let local_dir = ((parent * rest_rotation).inverse() * (next - head)).normalize_or(joint.axis);
        locals[joint.node].r = rest_rotation * Quat::from_rotation_arc(joint.axis, local_dir);
    }
}

impl Collider {
    /// `p` moved out of the collider (grown by `hit`), if it was inside.
    fn push_out(&self, globals: &[Mat4], p: Vec3, hit: f32) -> Vec3 {
        let m = globals[self.node];
        let a = m.transform_point3(self.offset);
        let centre = match self.end {
            Some(end) => {
                let b = m.transform_point3(end);
                let ab = b - a;
                a + ab * ((p - a).dot(ab) / ab.length_squared().max(1e-9)).clamp(0.0, 1.0)
            }
            None => a,
        };
        let d = p - centre;
        let r = self.radius + hit;
        if d.length_squared() < r * r { centre + d.normalize_or(Vec3::Y) * r } else { p }
    }
}

fn parent_matrix(model: &Model, globals: &[Mat4], node: usize) -> Mat4 {
    model.nodes[node].parent.map_or(Mat4::IDENTITY, |p| globals[p])
}

fn parent_rotation(m: Mat4) -> Quat {
    m.to_scale_rotation_translation().1
}

/// A chain of `nodes`, each pointing at the next (the last at its first child, or on
/// along its bone).
fn chain(model: &Model, nodes: &[(usize, Settings)], colliders: Vec<usize>) -> Chain {
    let rest = model.rest_globals();
    let pos = |n: usize| rest[n].w_axis.truncate();
    let joints = nodes
        .iter()
        .enumerate()
        .map(|(k, &(node, settings))| {
            let child = nodes.get(k + 1).map(|n| n.0).or_else(|| (0..model.nodes.len()).find(|&c| model.nodes[c].parent == Some(node)));
            let world_tail = match child {
                Some(c) => pos(c),
                None => {
                    let from = model.nodes[node].parent.map_or(pos(node) + Vec3::Y, pos);
                    pos(node) + (pos(node) - from).normalize_or(Vec3::NEG_Y) * VIRTUAL_TAIL
                }
            };
            let to_local = rest[node].inverse();
            let axis = to_local.transform_vector3(world_tail - pos(node));
            Joint { node, settings, axis: axis.normalize_or(Vec3::NEG_Y), length: (world_tail - pos(node)).length().max(1e-4), tail: world_tail, prev_tail: world_tail }
        })
        .collect();
    Chain { joints, colliders }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avatar::character::model::Node;

    /// A head with a two-joint strand hanging below it.
    fn strand() -> (Model, Springs) {
        let node = |name: &str, parent, t: Vec3| Node { name: name.into(), parent, rest: Transform { t, r: Quat::IDENTITY, s: Vec3::ONE } };
        let nodes = vec![node("head", None, Vec3::new(0.0, 1.5, 0.0)), node("hair1", Some(0), Vec3::new(0.0, -0.1, -0.1)), node("hair2", Some(1), Vec3::new(0.0, -0.1, 0.0)), node("hair3", Some(2), Vec3::new(0.0, -0.1, 0.0))];
        let model = Model { nodes, order: vec![0, 1, 2, 3], skins: vec![], meshes: vec![], materials: vec![], textures: vec![] };
        let ext = serde_json::json!({"springs": [{"joints": [
            {"node": 1, "stiffness": 1.0, "gravityPower": 0.5, "dragForce": 0.4},
            {"node": 2, "stiffness": 1.0, "gravityPower": 0.5, "dragForce": 0.4}]}]});
        let springs = Springs::from_vrm1(&ext, &model).unwrap();
        (model, springs)
    }

    fn tip(model: &Model, springs: &mut Springs, head_yaw: f32) -> Vec3 {
        let mut locals: Vec<Transform> = model.nodes.iter().map(|n| n.rest).collect();
        locals[0].r = Quat::from_rotation_y(head_yaw);
        springs.step(model, &mut locals, 0.04)[3].w_axis.truncate()
    }

    #[test]
    fn hair_lags_a_head_turn_then_settles_where_the_head_put_it() {
        let (model, mut springs) = strand();
        for _ in 0..10 {
            tip(&model, &mut springs, 0.0);
        }
        // The head turns 60 degrees at once; rigidly the tip would jump to `turned`.
        let turned = Quat::from_rotation_y(1.0) * (Vec3::new(0.0, -0.3, -0.1)) + Vec3::new(0.0, 1.5, 0.0);
        let first = tip(&model, &mut springs, 1.0);
        assert!(first.distance(turned) > 0.03, "the hair followed rigidly: {first} vs {turned}");
        let mut last = first;
        for _ in 0..100 {
            last = tip(&model, &mut springs, 1.0);
        }
        // Settled: it hangs from the turned head again (gravity pulls it a little down).
        assert!(last.distance(turned) < 0.06, "the hair did not settle: {last} vs {turned}");
        let again = tip(&model, &mut springs, 1.0);
        assert!(again.distance(last) < 1e-3, "still moving after 4 s: {again} vs {last}");
    }

    #[test]
    fn a_collider_keeps_the_hair_out() {
        let (model, mut springs) = strand();
        // A sphere behind the strand's middle (the head node is at y 1.5, the strand at z -0.1).
        springs.colliders.push(Collider { node: 0, offset: Vec3::new(0.0, -0.2, -0.15), end: None, radius: 0.06 });
        springs.chains[0].colliders.push(0);
        for _ in 0..50 {
            tip(&model, &mut springs, 0.0);
        }
        let centre = Vec3::new(0.0, 1.3, -0.15);
        for j in &springs.chains[0].joints {
            assert!(j.tail.distance(centre) >= 0.06 - 1e-3, "a tail is inside the collider: {}", j.tail);
        }
        // Without the collider the strand's middle hangs inside it.
        assert!(Vec3::new(0.0, 1.3, -0.1).distance(centre) < 0.06);
    }
}
