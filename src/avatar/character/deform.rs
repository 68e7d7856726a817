//! A posed character's vertices, on the CPU: humanoid rotations (in VRM's normalised
//! space, so one clip or motion fits every rig) -> node matrices -> morph targets ->
//! linear blend skinning, into one vertex buffer that the GPU only draws. Doing this
//! on the CPU lets lavapipe and a real GPU draw the very same triangles.

use glam::{Mat4, Quat, Vec3};

use super::model::{Model, Transform};

/// What the renderer reads per vertex.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Vertex {
    pub position: [f32; 3],
    pub normal: [f32; 3],
    pub uv: [f32; 2],
}

/// One frame's pose: rotations of named nodes in normalised space (identity = rest,
/// facing +Z) and morph weights per mesh instance.
#[derive(Debug, Clone, Default)]
pub struct Pose {
    pub rotations: Vec<(usize, Quat)>,
    /// Moves the hips (metres, normalised space): breathing, a bob.
    pub hips_offset: Vec3,
    pub morph_weights: Vec<Vec<f32>>,
}

/// The rest pose's world rotations, which turn normalised rotations into each rig's
/// own local ones.
pub struct Skeleton {
    parent_world_rest: Vec<Quat>,
    /// A VRM 0.x rig faces -Z: its normalised rotations are mirrored to match.
    faces_back: bool,
}

impl Skeleton {
    pub fn new(model: &Model, faces_back: bool) -> Skeleton {
        let rest = model.rest_globals();
        let parent_world_rest = model
            .nodes
            .iter()
            .map(|n| n.parent.map_or(Quat::IDENTITY, |p| rest[p].to_scale_rotation_translation().1))
            .collect();
        Skeleton { parent_world_rest, faces_back }
    }

    /// Every node's local transform in `pose`.
    pub fn locals(&self, model: &Model, pose: &Pose, hips: Option<usize>) -> Vec<Transform> {
        let mut local: Vec<Transform> = model.nodes.iter().map(|n| n.rest).collect();
        for &(node, q) in &pose.rotations {
            let q = if self.faces_back { Quat::from_xyzw(-q.x, q.y, -q.z, q.w) } else { q };
            let pw = self.parent_world_rest[node];
            local[node].r = pw.inverse() * q * pw * model.nodes[node].rest.r;
        }
        if let Some(h) = hips {
            let off = if self.faces_back { Vec3::new(-pose.hips_offset.x, pose.hips_offset.y, -pose.hips_offset.z) } else { pose.hips_offset };
            local[h].t += self.parent_world_rest[h].inverse() * off;
        }
        local
    }
}

/// Scratch buffers, kept between frames so posing allocates nothing.
#[derive(Default)]
pub struct Deformer {
    pub vertices: Vec<Vertex>,
    positions: Vec<Vec3>,
    normals: Vec<Vec3>,
    joints: Vec<Mat4>,
}

impl Deformer {
    /// Writes every primitive's posed vertices, in model order, into `self.vertices`.
    pub fn deform(&mut self, model: &Model, globals: &[Mat4], pose: &Pose) {
        self.vertices.clear();
        self.vertices.reserve(model.vertices());
        for (mi, mesh) in model.meshes.iter().enumerate() {
            let weights = pose.morph_weights.get(mi).unwrap_or(&mesh.default_weights);
            let skin = mesh.skin.map(|s| &model.skins[s]);
            self.joints.clear();
            if let Some(skin) = skin {
                self.joints.extend(skin.joints.iter().zip(&skin.inverse_bind).map(|(&j, ib)| globals[j] * *ib));
            }
            let node = globals[mesh.node];
            for p in &mesh.primitives {
                self.positions.clear();
                self.positions.extend_from_slice(&p.positions);
                self.normals.clear();
                self.normals.extend_from_slice(&p.normals);
                for (t, &w) in p.targets.iter().zip(weights) {
                    if w.abs() < 1e-4 {
                        continue;
                    }
                    for &(i, dp, dn) in &t.deltas {
                        self.positions[i as usize] += dp * w;
                        self.normals[i as usize] += dn * w;
                    }
                }
                let skinned = skin.is_some() && !p.joints.is_empty();
                for i in 0..p.positions.len() {
                    let m = if skinned { blend(&self.joints, p.joints[i], p.weights[i]) } else { node };
                    let pos = m.transform_point3(self.positions[i]);
                    let n = m.transform_vector3(self.normals[i]).normalize_or(Vec3::Y);
                    self.vertices.push(Vertex { position: pos.into(), normal: n.into(), uv: p.uvs[i] });
                }
            }
        }
    }
}

/// The weighted sum of up to four joint matrices.
fn blend(joints: &[Mat4], j: [u16; 4], w: [f32; 4]) -> Mat4 {
    let mut m = Mat4::ZERO;
    let mut total = 0.0;
    for k in 0..4 {
        if w[k] > 0.0 {
            if let Some(jm) = joints.get(j[k] as usize) {
                m += *jm * w[k];
                total += w[k];
            }
        }
    }
    if total <= 0.0 { Mat4::IDENTITY } else { m * (1.0 / total) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::avatar::character::model::{MeshInstance, Node, Primitive, Skin};

    /// Two joints along +X; a vertex at the tip weighted fully to the second.
    fn arm() -> Model {
        let node = |name: &str, parent, t: Vec3| Node { name: name.into(), parent, rest: Transform { t, r: Quat::IDENTITY, s: Vec3::ONE } };
        let nodes = vec![node("root", None, Vec3::ZERO), node("upper", Some(0), Vec3::X), node("lower", Some(1), Vec3::X)];
        let prim = Primitive {
            positions: vec![Vec3::new(3.0, 0.0, 0.0)],
            normals: vec![Vec3::Y],
            uvs: vec![[0.0; 2]],
            joints: vec![[1, 0, 0, 0]],
            weights: vec![[1.0, 0.0, 0.0, 0.0]],
            indices: vec![0, 0, 0],
            material: 0,
            targets: vec![crate::avatar::character::model::MorphTarget { deltas: vec![(0, Vec3::Y, Vec3::ZERO)] }],
        };
        let skin = Skin { joints: vec![1, 2], inverse_bind: vec![Mat4::from_translation(-Vec3::X), Mat4::from_translation(-2.0 * Vec3::X)] };
        let mesh = MeshInstance { node: 0, mesh: 0, skin: Some(0), target_names: vec!["up".into()], default_weights: vec![0.0], primitives: vec![prim] };
        Model { nodes, order: vec![0, 1, 2], skins: vec![skin], meshes: vec![mesh], materials: vec![], textures: vec![] }
    }

    fn tip(pose: &Pose) -> Vec3 {
        let model = arm();
        let s = Skeleton::new(&model, false);
        let mut d = Deformer::default();
        let locals = s.locals(&model, pose, None);
        d.deform(&model, &model.globals(|i| locals[i].matrix()), pose);
        Vec3::from(d.vertices[0].position)
    }

    #[test]
    fn a_rotated_bone_carries_its_vertices() {
        assert!(tip(&Pose::default()).abs_diff_eq(Vec3::new(3.0, 0.0, 0.0), 1e-5));
        // The upper bone turned 90 degrees about Z swings the tip from +X to +Y.
        let pose = Pose { rotations: vec![(1, Quat::from_rotation_z(std::f32::consts::FRAC_PI_2))], ..Pose::default() };
        assert!(tip(&pose).abs_diff_eq(Vec3::new(1.0, 2.0, 0.0), 1e-5), "{}", tip(&pose));
    }

    #[test]
    fn morph_weights_move_vertices_before_skinning() {
        let pose = Pose { morph_weights: vec![vec![0.5]], ..Pose::default() };
        assert!(tip(&pose).abs_diff_eq(Vec3::new(3.0, 0.5, 0.0), 1e-5));
    }
}
