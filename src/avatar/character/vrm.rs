//! What VRM (1.0 `VRMC_vrm`, 0.x `VRM`) and plain ARKit/Oculus glTF files say about a
//! character beyond its geometry: which node is which humanoid bone, which morph
//! targets make each expression, the MToon look, the licence meta and the spring
//! bones. Everything comes out in VRM 1.0's vocabulary, so the rest of the host knows
//! one naming.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::glb::Glb;
use super::licence::Meta;
use super::model::{Model, Toon};
use super::spring::Springs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Vrm1,
    /// Faces -Z, expression weights 0-100.
    Vrm0,
    /// Plain glTF: ARKit blendshape and/or Oculus viseme names, Mixamo-style bones.
    Gltf,
}

impl Format {
    pub fn of(glb: &Glb) -> Format {
        if glb.json.extensions.contains_key("VRMC_vrm") {
            Format::Vrm1
        } else if glb.json.extensions.contains_key("VRM") {
            Format::Vrm0
        } else {
            Format::Gltf
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Format::Vrm1 => "VRM 1.0",
            Format::Vrm0 => "VRM 0.x",
            Format::Gltf => "glTF",
        }
    }
}

/// Humanoid bones a host needs (VRM 1.0's required set).
pub const REQUIRED_BONES: [&str; 15] = [
    "hips",
    "spine",
    "head",
    "leftUpperLeg",
    "leftLowerLeg",
    "leftFoot",
    "rightUpperLeg",
    "rightLowerLeg",
    "rightFoot",
    "leftUpperArm",
    "leftLowerArm",
    "leftHand",
    "rightUpperArm",
    "rightLowerArm",
    "rightHand",
];

/// One morph target an expression moves, at full strength.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bind {
    /// Index into Model::meshes.
    pub mesh: usize,
    pub target: usize,
    pub weight: f32,
}

/// An expression: the morph targets it moves.
#[derive(Debug, Clone, Default)]
pub struct Expression {
    pub binds: Vec<Bind>,
    /// On/off only (VRM's isBinary): weights snap at 0.5.
    pub binary: bool,
}

/// What the file says beyond geometry, in VRM 1.0 names.
pub struct Rig {
    pub format: Format,
    /// Humanoid bone name (VRM 1.0) -> node.
    pub bones: BTreeMap<String, usize>,
    pub expressions: BTreeMap<String, Expression>,
    pub meta: Option<Meta>,
    pub springs: Springs,
}

impl Rig {
    pub fn read(glb: &Glb, model: &Model) -> Result<Rig> {
        let format = Format::of(glb);
        let (bones, expressions, meta) = match format {
            Format::Vrm1 => {
                let vrm = &glb.json.extensions["VRMC_vrm"];
                (vrm1_bones(vrm)?, vrm1_expressions(vrm, model)?, Some(Meta::from_vrm1(vrm.get("meta").context("VRMC_vrm has no meta")?)?))
            }
            Format::Vrm0 => {
                let vrm = &glb.json.extensions["VRM"];
                (vrm0_bones(vrm)?, vrm0_expressions(vrm, model)?, Some(Meta::from_vrm0(vrm.get("meta").context("VRM has no meta")?)?))
            }
            Format::Gltf => (named_bones(model), named_expressions(model), None),
        };
        for (name, &node) in &bones {
            if node >= model.nodes.len() {
                bail!("humanoid bone {name} names node {node}, which does not exist");
            }
        }
        let missing: Vec<&str> = REQUIRED_BONES.iter().copied().filter(|b| !bones.contains_key(*b)).collect();
        if !missing.is_empty() {
            bail!(
                "it lacks the humanoid bones {} (a {} host needs hips, spine, head, arms and legs{})",
                missing.join(", "),
                format.describe(),
                if format == Format::Gltf { "; plain glTF bones are found by Mixamo names: Hips, Spine, Head, LeftArm, LeftForeArm, LeftHand, LeftUpLeg, LeftLeg, LeftFoot, ..." } else { "" }
            );
        }
        let springs = match (format, glb.json.extensions.get("VRMC_springBone"), glb.json.extensions.get("VRM").and_then(|v| v.get("secondaryAnimation"))) {
            (Format::Vrm1, Some(ext), _) => Springs::from_vrm1(ext, model).context("VRMC_springBone")?,
            (Format::Vrm0, _, Some(ext)) => Springs::from_vrm0(ext, model).context("secondaryAnimation")?,
            _ => Springs::default(),
        };
        Ok(Rig { format, bones, expressions, meta, springs })
    }

    pub fn bone(&self, name: &str) -> Option<usize> {
        self.bones.get(name).copied()
    }
}

fn vrm1_bones(vrm: &Value) -> Result<BTreeMap<String, usize>> {
    let bones = vrm.pointer("/humanoid/humanBones").and_then(Value::as_object).context("VRMC_vrm has no humanoid.humanBones")?;
    bones
        .iter()
        .map(|(name, b)| Ok((name.clone(), b.get("node").and_then(Value::as_u64).with_context(|| format!("humanoid bone {name} has no node"))? as usize)))
        .collect()
}

fn vrm0_bones(vrm: &Value) -> Result<BTreeMap<String, usize>> {
    let list = vrm.pointer("/humanoid/humanBones").and_then(Value::as_array).context("VRM has no humanoid.humanBones")?;
    let mut out = BTreeMap::new();
    for b in list {
        let (Some(name), Some(node)) = (b.get("bone").and_then(Value::as_str), b.get("node").and_then(Value::as_u64)) else { continue };
        out.insert(name.to_string(), node as usize);
    }
    Ok(out)
}

/// Mixamo bone names (with any "prefix:" dropped) -> VRM 1.0 names.
const MIXAMO: [(&str, &str); 24] = [
    ("Hips", "hips"),
    ("Spine", "spine"),
    ("Spine1", "chest"),
    ("Spine2", "upperChest"),
    ("Neck", "neck"),
    ("Head", "head"),
    ("LeftEye", "leftEye"),
    ("RightEye", "rightEye"),
    ("LeftShoulder", "leftShoulder"),
    ("LeftArm", "leftUpperArm"),
    ("LeftForeArm", "leftLowerArm"),
    ("LeftHand", "leftHand"),
    ("RightShoulder", "rightShoulder"),
    ("RightArm", "rightUpperArm"),
    ("RightForeArm", "rightLowerArm"),
    ("RightHand", "rightHand"),
    ("LeftUpLeg", "leftUpperLeg"),
    ("LeftLeg", "leftLowerLeg"),
    ("LeftFoot", "leftFoot"),
    ("LeftToeBase", "leftToes"),
    ("RightUpLeg", "rightUpperLeg"),
    ("RightLeg", "rightLowerLeg"),
    ("RightFoot", "rightFoot"),
    ("RightToeBase", "rightToes"),
];

fn named_bones(model: &Model) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, n) in model.nodes.iter().enumerate() {
        let bare = n.name.rsplit(':').next().unwrap_or(&n.name);
        if let Some((_, vrm)) = MIXAMO.iter().find(|(m, _)| *m == bare) {
            out.entry(vrm.to_string()).or_insert(i);
        }
    }
    out
}

/// Mesh instance of `node` (1.0 binds address nodes).
fn instance_of_node(model: &Model, node: usize) -> Option<usize> {
    model.meshes.iter().position(|m| m.node == node)
}

fn vrm1_expressions(vrm: &Value, model: &Model) -> Result<BTreeMap<String, Expression>> {
    let mut out = BTreeMap::new();
    for group in ["preset", "custom"] {
        let Some(map) = vrm.pointer(&format!("/expressions/{group}")).and_then(Value::as_object) else { continue };
        for (name, e) in map {
            let mut binds = Vec::new();
            for b in e.get("morphTargetBinds").and_then(Value::as_array).into_iter().flatten() {
                let node = b.get("node").and_then(Value::as_u64).with_context(|| format!("expression {name}: a bind has no node"))? as usize;
                let mesh = instance_of_node(model, node).with_context(|| format!("expression {name}: node {node} has no mesh"))?;
                binds.push(bind(model, name, mesh, b, 1.0)?);
            }
            out.insert(name.clone(), Expression { binds, binary: e.get("isBinary").and_then(Value::as_bool).unwrap_or(false) });
        }
    }
    Ok(out)
}

fn bind(model: &Model, name: &str, mesh: usize, b: &Value, scale: f32) -> Result<Bind> {
    let target = b.get("index").and_then(Value::as_u64).with_context(|| format!("expression {name}: a bind has no index"))? as usize;
    let targets = model.meshes[mesh].target_names.len();
    if target >= targets {
        bail!("expression {name}: morph target {target} of a mesh that has {targets}");
    }
    let weight = b.get("weight").and_then(Value::as_f64).unwrap_or(scale as f64) as f32 / scale;
    Ok(Bind { mesh, target, weight })
}

/// VRM 0.x preset names -> 1.0 names.
fn vrm0_name(preset: &str) -> Option<&'static str> {
    Some(match preset {
        "a" => "aa",
        "i" => "ih",
        "u" => "ou",
        "e" => "ee",
        "o" => "oh",
        "blink" => "blink",
        "blink_l" => "blinkLeft",
        "blink_r" => "blinkRight",
        "joy" => "happy",
        "angry" => "angry",
        "sorrow" => "sad",
        "fun" => "relaxed",
        "neutral" => "neutral",
        "lookup" => "lookUp",
        "lookdown" => "lookDown",
        "lookleft" => "lookLeft",
        "lookright" => "lookRight",
        _ => return None,
    })
}

fn vrm0_expressions(vrm: &Value, model: &Model) -> Result<BTreeMap<String, Expression>> {
    let mut out = BTreeMap::new();
    for g in vrm.pointer("/blendShapeMaster/blendShapeGroups").and_then(Value::as_array).into_iter().flatten() {
        let preset = g.get("presetName").and_then(Value::as_str).unwrap_or("unknown");
        let custom = g.get("name").and_then(Value::as_str).unwrap_or_default();
        let name = vrm0_name(preset).map(str::to_string).unwrap_or_else(|| custom.to_string());
        if name.is_empty() {
            continue;
        }
        let mut binds = Vec::new();
        for b in g.get("binds").and_then(Value::as_array).into_iter().flatten() {
            let mesh = b.get("mesh").and_then(Value::as_u64).with_context(|| format!("blend shape {name}: a bind has no mesh"))? as usize;
            // 0.x binds name a glTF mesh; every node that places it moves.
            for inst in (0..model.meshes.len()).filter(|&k| model.meshes[k].mesh == mesh) {
                binds.push(bind(model, &name, inst, b, 100.0)?);
            }
        }
        out.insert(name, Expression { binds, binary: g.get("isBinary").and_then(Value::as_bool).unwrap_or(false) });
    }
    Ok(out)
}

/// Plain glTF: every morph target is an expression of its own name (ARKit's
/// jawOpen, Oculus's viseme_aa, ...), across all meshes that have it.
fn named_expressions(model: &Model) -> BTreeMap<String, Expression> {
    let mut out: BTreeMap<String, Expression> = BTreeMap::new();
    for (mesh, m) in model.meshes.iter().enumerate() {
        for (target, name) in m.target_names.iter().enumerate() {
            out.entry(name.clone()).or_default().binds.push(Bind { mesh, target, weight: 1.0 });
        }
    }
    out
}

/// Material `i`'s MToon parameters, from 1.0's VRMC_materials_mtoon or 0.x's
/// materialProperties (matched by the material's name).
pub fn toon_of(glb: &Glb, i: usize) -> Option<Toon> {
    let material = glb.json.materials.get(i)?;
    if let Some(m) = material.extensions.get("VRMC_materials_mtoon") {
        let f = |k: &str, d: f32| m.get(k).and_then(Value::as_f64).map_or(d, |v| v as f32);
        let c = |k: &str, d: [f32; 3]| m.get(k).and_then(|v| serde_json::from_value::<[f32; 3]>(v.clone()).ok()).unwrap_or(d);
        return Some(Toon {
            shade: c("shadeColorFactor", [0.0; 3]),
            shift: f("shadingShiftFactor", 0.0),
            toony: f("shadingToonyFactor", 0.9),
            rim: c("parametricRimColorFactor", [0.0; 3]),
            rim_power: f("parametricRimFresnelPowerFactor", 5.0),
            rim_lift: f("parametricRimLiftFactor", 0.0),
        });
    }
    let props = glb.json.extensions.get("VRM")?.get("materialProperties")?.as_array()?;
    let name = material.name.as_deref()?;
    let p = props.iter().find(|p| p.get("name").and_then(Value::as_str) == Some(name))?;
    if p.get("shader").and_then(Value::as_str) != Some("VRM/MToon") {
        return None;
    }
    let f = |k: &str, d: f32| p.pointer(&format!("/floatProperties/{k}")).and_then(Value::as_f64).map_or(d, |v| v as f32);
    let c = |k: &str, d: [f32; 3]| {
        p.pointer(&format!("/vectorProperties/{k}")).and_then(|v| serde_json::from_value::<Vec<f32>>(v.clone()).ok()).filter(|v| v.len() >= 3).map_or(d, |v| [v[0], v[1], v[2]])
    };
    Some(Toon {
        shade: c("_ShadeColor", [0.0; 3]),
        shift: f("_ShadeShift", 0.0),
        toony: f("_ShadeToony", 0.9),
        rim: c("_RimColor", [0.0; 3]),
        rim_power: f("_RimFresnelPower", 1.0),
        rim_lift: f("_RimLift", 0.0),
    })
}
