//! A character's geometry as the CPU deforms it: the node tree at rest, skins, mesh
//! primitives with their morph targets kept sparse (a mouth shape moves a few hundred
//! vertices of thousands), materials and decoded textures. Read from a Glb; what VRM
//! adds on top (humanoid, expressions, MToon, springs, licence) is vrm.rs.

use anyhow::{Context, Result, bail, ensure};
use glam::{Mat4, Quat, Vec3};

use super::glb::{Glb, MaterialJson};

/// What a channel's CPU and one core can skin and draw each frame (docs/3d-hosts.md).
pub const MAX_TRIANGLES: usize = 120_000;
pub const MAX_VERTICES: usize = 80_000;
/// Larger textures are scaled down at load: the host is at most ~1280 px tall.
pub const MAX_TEXTURE_SIDE: u32 = 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transform {
    pub t: Vec3,
    pub r: Quat,
    pub s: Vec3,
}

impl Transform {
    pub fn matrix(&self) -> Mat4 {
        Mat4::from_scale_rotation_translation(self.s, self.r, self.t)
    }
}

pub struct Node {
    pub name: String,
    pub parent: Option<usize>,
    pub rest: Transform,
}

pub struct Skin {
    pub joints: Vec<usize>,
    pub inverse_bind: Vec<Mat4>,
}

/// A morph target's non-zero deltas: (vertex, position delta, normal delta).
pub struct MorphTarget {
    pub deltas: Vec<(u32, Vec3, Vec3)>,
}

pub struct Primitive {
    pub positions: Vec<Vec3>,
    pub normals: Vec<Vec3>,
    pub uvs: Vec<[f32; 2]>,
    /// Joints index into the mesh's skin's joint list.
    pub joints: Vec<[u16; 4]>,
    pub weights: Vec<[f32; 4]>,
    pub indices: Vec<u32>,
    pub material: usize,
    pub targets: Vec<MorphTarget>,
}

/// A mesh placed by a node: the unit morph weights address.
pub struct MeshInstance {
    pub node: usize,
    /// The glTF mesh index (VRM 0.x binds name meshes, 1.0 binds name nodes).
    pub mesh: usize,
    pub skin: Option<usize>,
    pub target_names: Vec<String>,
    pub default_weights: Vec<f32>,
    pub primitives: Vec<Primitive>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlphaMode {
    Opaque,
    Mask(f32),
    Blend,
}

/// MToon's parameters that the toon shader uses (VRM's cartoon look).
#[derive(Debug, Clone, Copy)]
pub struct Toon {
    pub shade: [f32; 3],
    /// Where light turns to shade (-1..1) and how sharply (0 smooth .. 1 hard).
    pub shift: f32,
    pub toony: f32,
    pub rim: [f32; 3],
    pub rim_power: f32,
    pub rim_lift: f32,
}

#[derive(Debug, Clone, Copy)]
pub enum Shading {
    Toon(Toon),
    Pbr { metallic: f32, roughness: f32 },
}

pub struct Material {
    pub name: String,
    pub base_color: [f32; 4],
    pub base_texture: Option<usize>,
    pub normal_texture: Option<(usize, f32)>,
    pub emissive: [f32; 3],
    pub alpha: AlphaMode,
    pub double_sided: bool,
    pub shading: Shading,
}

/// Straight RGBA8 pixels.
pub struct Texture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

pub struct Model {
    pub nodes: Vec<Node>,
    /// Node indices with every parent before its children.
    pub order: Vec<usize>,
    pub skins: Vec<Skin>,
    pub meshes: Vec<MeshInstance>,
    pub materials: Vec<Material>,
    pub textures: Vec<Texture>,
}

impl Model {
    /// Reads the scene's nodes, meshes and materials; `toon` gives each material's MToon
    /// parameters where the file has them.
    pub fn from_glb(glb: &Glb, toon: impl Fn(usize) -> Option<Toon>) -> Result<Model> {
        let nodes = read_nodes(glb)?;
        let order = parents_first(&nodes);
        let skins = glb.json.skins.iter().enumerate().map(|(i, s)| read_skin(glb, i, s)).collect::<Result<Vec<_>>>()?;
        let mut meshes = Vec::new();
        for (node, n) in glb.json.nodes.iter().enumerate() {
            let Some(mesh) = n.mesh else { continue };
            meshes.push(read_mesh(glb, node, mesh, n.skin).with_context(|| format!("mesh {mesh} ({})", glb.json.meshes.get(mesh).and_then(|m| m.name.as_deref()).unwrap_or("unnamed")))?);
        }
        ensure!(!meshes.is_empty(), "it has no meshes");
        let (tris, verts) = meshes.iter().flat_map(|m| &m.primitives).fold((0, 0), |(t, v), p| (t + p.indices.len() / 3, v + p.positions.len()));
        ensure!(tris <= MAX_TRIANGLES, "it has {tris} triangles; a host may have at most {MAX_TRIANGLES} (decimate it, e.g. VRoid Studio's export reduction)");
        ensure!(verts <= MAX_VERTICES, "it has {verts} vertices; a host may have at most {MAX_VERTICES} (decimate it)");
        // Materials name textures, textures name images: keep the image.
        let image_of = |t: usize| glb.json.textures.get(t).and_then(|t| t.source);
        let materials = glb.json.materials.iter().enumerate().map(|(i, m)| read_material(m, toon(i), &image_of)).collect();
        let textures = (0..glb.json.images.len()).map(|i| read_texture(glb, i)).collect::<Result<Vec<_>>>()?;
        let model = Model { nodes, order, skins, meshes, materials, textures };
        model.check_references(glb)?;
        Ok(model)
    }

    pub fn triangles(&self) -> usize {
        self.meshes.iter().flat_map(|m| &m.primitives).map(|p| p.indices.len() / 3).sum()
    }

    pub fn vertices(&self) -> usize {
        self.meshes.iter().flat_map(|m| &m.primitives).map(|p| p.positions.len()).sum()
    }

    /// Every primitive's material and every material's image exist.
    fn check_references(&self, glb: &Glb) -> Result<()> {
        for p in self.meshes.iter().flat_map(|m| &m.primitives) {
            ensure!(p.material < self.materials.len().max(1), "a primitive uses material {} of {}", p.material, self.materials.len());
        }
        for m in &self.materials {
            for t in m.base_texture.iter().chain(m.normal_texture.as_ref().map(|(t, _)| t)) {
                ensure!(*t < self.textures.len(), "material {} uses image {t} but the file has {} images", m.name, glb.json.images.len());
            }
        }
        Ok(())
    }

    /// Every node's rest transform in model space.
    pub fn rest_globals(&self) -> Vec<Mat4> {
        self.globals(|i| self.nodes[i].rest.matrix())
    }

    /// Model-space matrices from each node's local matrix.
    pub fn globals(&self, local: impl Fn(usize) -> Mat4) -> Vec<Mat4> {
        globals(&self.nodes, &self.order, local)
    }
}

/// The node tree of a file without meshes (a .vrma clip): nodes and their rest
/// transforms in model space.
pub fn rest_tree(glb: &Glb) -> Result<(Vec<Node>, Vec<Mat4>)> {
    let nodes = read_nodes(glb)?;
    let rest = globals(&nodes, &parents_first(&nodes), |i| nodes[i].rest.matrix());
    Ok((nodes, rest))
}

fn globals(nodes: &[Node], order: &[usize], local: impl Fn(usize) -> Mat4) -> Vec<Mat4> {
    let mut out = vec![Mat4::IDENTITY; nodes.len()];
    for &i in order {
        let l = local(i);
        out[i] = match nodes[i].parent {
            Some(p) => out[p] * l,
            None => l,
        };
    }
    out
}

fn read_nodes(glb: &Glb) -> Result<Vec<Node>> {
    let json = &glb.json.nodes;
    let mut parent = vec![None; json.len()];
    for (i, n) in json.iter().enumerate() {
        for &c in &n.children {
            let slot = parent.get_mut(c).with_context(|| format!("node {i} has child {c}, which does not exist"))?;
            ensure!(slot.is_none(), "node {c} has two parents");
            *slot = Some(i);
        }
    }
    Ok(json
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let rest = match n.matrix {
                Some(m) => {
                    let (s, r, t) = Mat4::from_cols_array(&m).to_scale_rotation_translation();
                    Transform { t, r, s }
                }
                None => Transform { t: Vec3::from(n.translation), r: Quat::from_array(n.rotation).normalize(), s: Vec3::from(n.scale) },
            };
            Node { name: n.name.clone().unwrap_or_else(|| format!("node{i}")), parent: parent[i], rest }
        })
        .collect())
}

/// Breadth-first from the roots, so a parent's global is known before its children's.
fn parents_first(nodes: &[Node]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].parent.is_none()).collect();
    let mut k = 0;
    while k < order.len() {
        let p = order[k];
        order.extend((0..nodes.len()).filter(|&c| nodes[c].parent == Some(p)));
        k += 1;
    }
    order
}

fn read_skin(glb: &Glb, i: usize, s: &super::glb::SkinJson) -> Result<Skin> {
    let inverse_bind = match s.inverse_bind_matrices {
        Some(a) => glb.floats::<16>(a)?.iter().map(Mat4::from_cols_array).collect(),
        None => vec![Mat4::IDENTITY; s.joints.len()],
    };
    ensure!(inverse_bind.len() == s.joints.len(), "skin {i} has {} joints but {} inverse bind matrices", s.joints.len(), inverse_bind.len());
    for &j in &s.joints {
        ensure!(j < glb.json.nodes.len(), "skin {i} names joint node {j}, which does not exist");
    }
    Ok(Skin { joints: s.joints.clone(), inverse_bind })
}

fn read_mesh(glb: &Glb, node: usize, mesh: usize, skin: Option<usize>) -> Result<MeshInstance> {
    let m = glb.json.meshes.get(mesh).context("the mesh does not exist")?;
    let mut primitives = Vec::new();
    for (k, p) in m.primitives.iter().enumerate() {
        if p.mode != 4 {
            tracing::warn!("{}: mesh {mesh} primitive {k} is not triangles (mode {}); not drawn", glb.path.display(), p.mode);
            continue;
        }
        primitives.push(read_primitive(glb, p, skin.is_some()).with_context(|| format!("primitive {k}"))?);
    }
    let targets = primitives.first().map_or(0, |p| p.targets.len());
    let target_names: Vec<String> = m
        .extras
        .as_ref()
        .and_then(|e| e.get("targetNames"))
        .or_else(|| m.primitives.first().and_then(|p| p.extras.as_ref()).and_then(|e| e.get("targetNames")))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_else(|| (0..targets).map(|i| format!("target{i}")).collect());
    let mut default_weights = m.weights.clone();
    default_weights.resize(targets, 0.0);
    Ok(MeshInstance { node, mesh, skin, target_names, default_weights, primitives })
}

fn read_primitive(glb: &Glb, p: &super::glb::PrimitiveJson, skinned: bool) -> Result<Primitive> {
    let attr = |name: &str| p.attributes.get(name).copied();
    let positions: Vec<Vec3> = glb.floats::<3>(attr("POSITION").context("it has no POSITION")?)?.into_iter().map(Vec3::from).collect();
    let n = positions.len();
    let indices: Vec<u32> = match p.indices {
        Some(a) => glb.uints::<1>(a)?.into_iter().map(|[i]| i).collect(),
        None => (0..n as u32).collect(),
    };
    ensure!(indices.len() % 3 == 0, "{} indices do not make whole triangles", indices.len());
    if let Some(bad) = indices.iter().find(|&&i| i as usize >= n) {
        bail!("index {bad} is beyond its {n} vertices");
    }
    let normals = match attr("NORMAL") {
        Some(a) => glb.floats::<3>(a)?.into_iter().map(Vec3::from).collect(),
        None => smooth_normals(&positions, &indices),
    };
    let uvs = match attr("TEXCOORD_0") {
        Some(a) => glb.floats::<2>(a)?,
        None => vec![[0.0; 2]; n],
    };
    let (joints, weights) = match (skinned, attr("JOINTS_0"), attr("WEIGHTS_0")) {
        (true, Some(j), Some(w)) => (glb.uints::<4>(j)?.into_iter().map(|j| j.map(|x| x as u16)).collect(), glb.floats::<4>(w)?),
        _ => (vec![], vec![]),
    };
    ensure!(normals.len() == n && uvs.len() == n, "its attributes differ in length");
    ensure!(joints.len() == weights.len() && (joints.is_empty() || joints.len() == n), "its JOINTS_0/WEIGHTS_0 differ in length from POSITION");
    let mut targets = Vec::new();
    for t in &p.targets {
        let dp = match t.get("POSITION") {
            Some(&a) => glb.floats::<3>(a)?,
            None => vec![[0.0; 3]; n],
        };
        let dn = match t.get("NORMAL") {
            Some(&a) => glb.floats::<3>(a)?,
            None => vec![[0.0; 3]; n],
        };
        ensure!(dp.len() == n && dn.len() == n, "a morph target's length differs from POSITION");
        let deltas = (0..n)
            .filter(|&i| dp[i] != [0.0; 3] || dn[i] != [0.0; 3])
            .map(|i| (i as u32, Vec3::from(dp[i]), Vec3::from(dn[i])))
            .collect();
        targets.push(MorphTarget { deltas });
    }
    Ok(Primitive { positions, normals, uvs, joints, weights, indices, material: p.material.unwrap_or(0), targets })
}

fn smooth_normals(positions: &[Vec3], indices: &[u32]) -> Vec<Vec3> {
    let mut n = vec![Vec3::ZERO; positions.len()];
    for t in indices.chunks_exact(3) {
        let [a, b, c] = [t[0], t[1], t[2]].map(|i| i as usize);
        let f = (positions[b] - positions[a]).cross(positions[c] - positions[a]);
        for i in [a, b, c] {
            n[i] += f;
        }
    }
    n.into_iter().map(|v| v.normalize_or(Vec3::Y)).collect()
}

fn read_material(m: &MaterialJson, toon: Option<Toon>, image_of: &dyn Fn(usize) -> Option<usize>) -> Material {
    let pbr = &m.pbr_metallic_roughness;
    let alpha = match m.alpha_mode.as_str() {
        "MASK" => AlphaMode::Mask(m.alpha_cutoff),
        "BLEND" => AlphaMode::Blend,
        _ => AlphaMode::Opaque,
    };
    Material {
        name: m.name.clone().unwrap_or_default(),
        base_color: pbr.base_color_factor,
        base_texture: pbr.base_color_texture.as_ref().and_then(|t| image_of(t.index)),
        normal_texture: m.normal_texture.as_ref().and_then(|t| Some((image_of(t.index)?, t.scale))),
        emissive: m.emissive_factor,
        alpha,
        double_sided: m.double_sided,
        shading: match toon {
            Some(t) => Shading::Toon(t),
            None => Shading::Pbr { metallic: pbr.metallic_factor, roughness: pbr.roughness_factor },
        },
    }
}

/// Decodes image `i`, scaled to at most MAX_TEXTURE_SIDE a side.
fn read_texture(glb: &Glb, i: usize) -> Result<Texture> {
    let name = glb.json.images[i].name.clone().unwrap_or_else(|| format!("image {i}"));
    let bytes = glb.image_bytes(i)?;
    let img = image::load_from_memory(bytes).with_context(|| format!("texture {name} does not decode (PNG or JPEG are read; KTX2 is not)"))?;
    let img = if img.width().max(img.height()) > MAX_TEXTURE_SIDE { img.resize(MAX_TEXTURE_SIDE, MAX_TEXTURE_SIDE, image::imageops::FilterType::Triangle) } else { img };
    let rgba = img.to_rgba8();
    Ok(Texture { width: rgba.width(), height: rgba.height(), rgba: rgba.into_raw() })
}
