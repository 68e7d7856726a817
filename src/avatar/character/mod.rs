//! 3D hosts: a VRM (1.0 or 0.x) or an ARKit/Oculus-viseme glTF character, posed
//! and lip-synced on the CPU each frame and drawn headless by Vulkan (lavapipe on the
//! CPU, or a GPU) into the host's rectangle of the frame (docs/3d-hosts.md).
//!
//! Per frame: plan (mouth and blink weights, body motion -> posed vertices and the
//! rectangle they cover) then draw (upload, draw, read back, blend onto the canvas).

mod body;
mod clip;
mod deform;
mod face;
pub mod glb;
pub mod licence;
mod model;
mod render;
mod spring;
mod vrm;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use glam::{Mat4, Vec3};
use resvg::tiny_skia::PixmapMut;
use serde::{Deserialize, Serialize};

use super::consent::ConsentRecord;
use super::manifest::read_manifest;
use super::motion::{Eyes, Gaze, HeadMove, Motion, Pose as IdlePose};
use crate::config::AvatarConfig;
use crate::frame::FrameSize;
use crate::cue::{Emotion, Framing};
use crate::lipsync::phonetic::FrameSteps;
use body::{Body, Gesture};
use clip::Clip;
use deform::{Deformer, Pose, Skeleton, Vertex};
use face::{Feeling, MouthEase, MouthSet, emotion_expressions};
use model::Model;
use render::{Lights, Renderer};
pub use render::describe_device;
use vrm::{Format, Rig};

/// avatar.toml of a character pack (docs/3d-hosts.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CharacterManifest {
    pub name: String,
    pub kind: String,
    /// The .vrm or .glb file, inside the pack.
    pub model: String,
    /// A 3D scan of a real person needs their consent on record, as footage does.
    #[serde(default)]
    pub real_person: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentRecord>,
    #[serde(default)]
    pub lights: LightSettings,
    /// A VRM Animation clip (.vrma, in the pack) looped while no gesture plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle: Option<String>,
    /// Gesture name -> .vrma clip in the pack, for [gesture NAME] and the API.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gestures: BTreeMap<String, String>,
}

/// The pack's lights: sRGB colours times intensity; directions point from the host
/// toward the light (x right, y up, z toward the camera).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LightSettings {
    pub key: [f32; 3],
    pub key_direction: [f32; 3],
    pub fill: [f32; 3],
    pub fill_direction: [f32; 3],
    pub ambient: [f32; 3],
}

impl Default for LightSettings {
    fn default() -> Self {
        LightSettings { key: [0.9, 0.88, 0.84], key_direction: [-0.4, 0.5, 0.8], fill: [0.45, 0.47, 0.52], fill_direction: [0.7, 0.1, 0.4], ambient: [0.45, 0.45, 0.48] }
    }
}

impl LightSettings {
    fn lights(&self) -> Lights {
        let lin = |c: [f32; 3]| c.map(|v| v.max(0.0).powf(2.2));
        Lights { key_dir: Vec3::from(self.key_direction), key: lin(self.key), fill_dir: Vec3::from(self.fill_direction), fill: lin(self.fill), ambient: lin(self.ambient) }
    }
}

/// What frame `n` of a 3D host shows: its posed vertices and the frame rectangle
/// [x, y, w, h] they cover.
#[derive(Debug, Clone)]
pub struct CharacterPlan {
    vertices: Arc<Vec<Vertex>>,
    rect: [u32; 4],
}

impl CharacterPlan {
    /// Pixels drawn and read back.
    pub fn area(&self) -> u32 {
        self.rect[2] * self.rect[3]
    }
}

impl CharacterAvatar {
    /// The share of the drawn size that `plan` covers.
    pub fn coverage(&self, plan: &CharacterPlan) -> f64 {
        plan.area() as f64 / (self.size.0 * self.size.1) as f64
    }
}

/// A camera per framing: where it looks from and its projection.
struct Camera {
    eye: Vec3,
    view_proj: Mat4,
}

pub struct CharacterAvatar {
    pub manifest: CharacterManifest,
    model: Model,
    rig: Rig,
    skeleton: Skeleton,
    deformer: Deformer,
    mouth: MouthEase,
    motion: Motion,
    body: Body,
    gaze: Gaze,
    feeling: Feeling,
    cameras: [Camera; 2],
    framing: Framing,
    /// A gesture asked for (a clip of the pack or a head move), started at the next
    /// planned frame; likewise an emotion.
    requested: Option<String>,
    requested_emotion: Option<Emotion>,
    frame_seconds: f32,
    lights: Lights,
    renderer: Renderer,
    /// The size drawn: the frame's times `scale`.
    size: (u32, u32),
    scale: f32,
    pixels: Vec<u8>,
    pub times: StageTimes,
}

/// The last frame's stages (for `avatarcast bench`): posing (bones, morphs, skinning),
/// drawing, reading back and blending onto the canvas.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub pose: Duration,
    pub draw: Duration,
    pub read_back: Duration,
    pub blend: Duration,
}

/// A character pack read and checked: `avatarcast check`, `avatar import` and the
/// channel's load share it.
pub struct CharacterPack {
    pub manifest: CharacterManifest,
    model: Model,
    rig: Rig,
    mouth: MouthSet,
    idle: Option<Clip>,
    gestures: Vec<Gesture>,
}

/// Reads and checks the pack's model (geometry, humanoid, a mouth that can move,
/// licence), consent and clips (each must move only bones the model has).
pub fn read_pack(pack: &Path) -> Result<CharacterPack> {
    let path = pack.join("avatar.toml");
    let manifest: CharacterManifest = toml::from_str(&read_manifest(pack)?).with_context(|| format!("avatar pack manifest {}", path.display()))?;
    if manifest.real_person {
        ConsentRecord::check(manifest.consent.as_ref(), pack)?;
    }
    read_contents(pack, manifest)
}

/// Reads what `manifest` names in `pack`: the model and its clips (consent aside: a
/// pack being made gets its consent record after).
pub fn read_contents(pack: &Path, manifest: CharacterManifest) -> Result<CharacterPack> {
    let path = pack.join("avatar.toml");
    let file = pack.join(&manifest.model);
    let (model, rig, mouth) = read_model(&file).with_context(|| format!("3D host {}", file.display()))?;
    let read_clip = |name: &str| -> Result<Clip> {
        let clip = Clip::read(&pack.join(name)).with_context(|| format!("avatar pack {}", path.display()))?;
        clip.check(&rig)?;
        Ok(clip)
    };
    let idle = manifest.idle.as_deref().map(read_clip).transpose()?;
    let gestures = manifest.gestures.iter().map(|(name, file)| Ok(Gesture { name: name.clone(), clip: read_clip(file)? })).collect::<Result<_>>()?;
    Ok(CharacterPack { manifest, model, rig, mouth, idle, gestures })
}

impl CharacterPack {
    /// What the model's licence asks viewers to be told, if anything.
    pub fn credits(&self) -> Option<String> {
        self.rig.meta.as_ref().and_then(|m| m.credits())
    }

    /// One line: the format, size, mouth, clips and credits.
    pub fn describe(&self) -> String {
        let credits = self.credits().map_or(String::new(), |c| format!(", credits {c}"));
        let clips = self.gestures.iter().map(|g| g.name.as_str()).collect::<Vec<_>>().join(" ");
        let idle = if self.idle.is_some() { ", an idle clip" } else { "" };
        format!(
            "3D pack {} ({}, {} triangles, mouth {:?}, gesture clips [{clips}]{idle}{credits})",
            self.manifest.name,
            self.rig.format.describe(),
            self.model.triangles(),
            self.mouth
        )
    }
}

/// Checks a model file and clip files where the user has them (so errors name their
/// files): the model as a pack would load it, each clip against its bones.
pub fn check_files(model: &Path, clips: &[&Path]) -> Result<()> {
    let (_, rig, _) = read_model(model).with_context(|| format!("3D host {}", model.display()))?;
    for clip in clips {
        Clip::read(clip)?.check(&rig)?;
    }
    Ok(())
}

fn read_model(file: &Path) -> Result<(Model, Rig, MouthSet)> {
    let glb = glb::Glb::read(file)?;
    let model = Model::from_glb(&glb, |i| vrm::toon_of(&glb, i))?;
    let rig = Rig::read(&glb, &model)?;
    if let Some(meta) = &rig.meta {
        meta.check_corporate_use()?;
    }
    let Some(mouth) = MouthSet::of(|n| rig.expressions.get(n).is_some_and(|e| !e.binds.is_empty())) else {
        bail!(
            "its mouth cannot move: it has none of VRM's mouth expressions (aa ih ou ee oh), Oculus visemes (viseme_aa ...) or ARKit's jawOpen; \
             export the character with its blendshapes"
        );
    };
    Ok((model, rig, mouth))
}

impl CharacterAvatar {
    pub fn load(pack: &Path, size: FrameSize, fps: u32, config: &AvatarConfig) -> Result<CharacterAvatar> {
        let CharacterPack { manifest, model, mut rig, mouth, idle, gestures } = read_pack(pack)?;
        let (width, height, seed) = (size.width, size.height, config.seed);
        if !config.spring_bones {
            rig.springs = Default::default();
        }
        // Drawn at `render_scale` of the frame, same aspect.
        let scale = config.render_scale;
        let drawn = (((width as f32 * scale).round() as u32).max(1), ((height as f32 * scale).round() as u32).max(1));
        let renderer = Renderer::new(&model, drawn.0, drawn.1, config.render_device)?;
        tracing::info!(
            pack = %pack.display(),
            format = rig.format.describe(),
            triangles = model.triangles(),
            vertices = model.vertices(),
            mouth = ?mouth,
            spring_joints = rig.springs.joints(),
            gestures = ?gestures.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            adapter = %renderer.adapter,
            "3D host ready"
        );
        let skeleton = Skeleton::new(&model, rig.format == Format::Vrm0);
        let cameras = [Framing::Half, Framing::Full].map(|f| camera(&model, &rig, f, width, height));
        let hips_height = rig.bone("hips").map_or(1.0, |h| model.rest_globals()[h].w_axis.y);
        Ok(CharacterAvatar {
            body: Body::new(idle, gestures, hips_height, fps),
            gaze: Gaze::new(fps, seed ^ 0x5A5A),
            feeling: Feeling::new(fps),
            requested_emotion: None,
            lights: manifest.lights.lights(),
            manifest,
            skeleton,
            model,
            rig,
            deformer: Deformer::default(),
            mouth: MouthEase::new(mouth, fps),
            motion: Motion::new(fps, seed),
            cameras,
            framing: Framing::Half,
            requested: None,
            frame_seconds: 1.0 / fps as f32,
            renderer,
            size: drawn,
            scale,
            pixels: Vec::new(),
            times: StageTimes::default(),
        })
    }

    /// One line for `avatarcast check`.
    pub fn check(pack: &Path) -> Result<String> {
        Ok(read_pack(pack)?.describe())
    }

    /// The pack's gesture clips, then the head moves every character knows (nod,
    /// shake, tilt) that no clip of the same name replaces.
    pub fn gesture_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.body.clip_names().map(String::from).collect();
        for head in ["nod", "shake", "tilt"] {
            if !names.iter().any(|n| n == head) {
                names.push(head.into());
            }
        }
        names
    }

    /// Asks for gesture `name` (one of `gesture_names`): it starts with the next frame.
    pub fn request(&mut self, name: &str) {
        self.requested = Some(name.into());
    }

    /// Asks for `emotion` on the face from the next frame.
    pub fn feel(&mut self, emotion: Emotion) {
        self.requested_emotion = Some(emotion);
    }

    /// What the model's licence asks viewers to be told, if anything.
    pub fn credits(&self) -> Option<String> {
        self.rig.meta.as_ref().and_then(|m| m.credits())
    }

    /// Starts what was asked for since the last frame.
    fn start_requested(&mut self, n: u64) {
        if let Some(emotion) = self.requested_emotion.take() {
            self.feeling.show(emotion, n);
        }
        let Some(name) = self.requested.take() else { return };
        if self.body.start_clip(&name, n) {
            return;
        }
        match serde_json::from_value(serde_json::Value::String(name)) {
            Ok(HeadMove::Shake) => self.body.start_shake(n),
            Ok(head) => self.motion.head_move(head, n),
            Err(_) => {}
        }
    }

    /// An emphasised word: a small nod.
    pub fn emphasise(&mut self, n: u64) {
        self.motion.emphasise(n);
    }

    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    fn camera(&self) -> &Camera {
        &self.cameras[(self.framing == Framing::Full) as usize]
    }

    /// Decides frame `n`: mouth and blink weights, idle motion, and the posed vertices.
    pub fn plan(&mut self, n: u64, steps: &FrameSteps, speaking: bool) -> CharacterPlan {
        self.start_requested(n);
        let mouth_set = self.mouth.set();
        let mouth = self.mouth.frame(steps).to_vec();
        let motion = self.motion.pose(n, steps[steps.len() - 1], speaking);
        let mut expressions: Vec<(&str, f32)> = mouth_set.names().iter().copied().zip(mouth).collect();
        if let Some((emotion, weight)) = self.feeling.at(n) {
            let vrm_preset = self.rig.expressions.contains_key("happy");
            expressions.extend(emotion_expressions(emotion, vrm_preset).iter().map(|&(e, w)| (e, w * weight)));
        }
        let blink = match motion.eyes {
            Eyes::Open => 0.0,
            Eyes::Half => 0.6,
            Eyes::Closed => 1.0,
        };
        match mouth_set {
            MouthSet::Arkit | MouthSet::Visemes if !self.rig.expressions.contains_key("blink") => {
                expressions.extend([("eyeBlinkLeft", blink), ("eyeBlinkRight", blink)]);
            }
            _ => expressions.push(("blink", blink)),
        }
        let mut pose = Pose { morph_weights: self.morph_weights(&expressions), ..Pose::default() };
        let gaze = self.gaze.at(n);
        self.body.pose(&self.rig, self.model.nodes.len(), n, &motion, gaze, &mut pose);
        self.posed(&pose)
    }

    /// The host at rest (its idle's first frame, eyes open on the camera) showing
    /// `expression` at full weight, drawn over `out`: for `avatar preview` and golden
    /// frames.
    pub fn still(&mut self, expression: Option<&str>, out: &mut PixmapMut) -> Result<()> {
        let life = IdlePose { mouth: crate::lipsync::Mouth::X, eyes: Eyes::Open, breath: 0.0, sway_px: 0.0, tilt_deg: 0.0, nod_px: 0.0 };
        let weights: Vec<(&str, f32)> = expression.into_iter().map(|e| (e, 1.0)).collect();
        let mut pose = Pose { morph_weights: self.morph_weights(&weights), ..Pose::default() };
        self.body.pose(&self.rig, self.model.nodes.len(), 0, &life, (0.0, 0.0), &mut pose);
        let plan = self.posed(&pose);
        self.render_over(out, &plan)
    }

    /// The mouth expressions the rig speaks with.
    pub fn mouth_expressions(&self) -> &'static [&'static str] {
        self.mouth.set().names()
    }

    /// Bones, springs, morphs and skinning for `pose`, and the rectangle it covers.
    fn posed(&mut self, pose: &Pose) -> CharacterPlan {
        let posed = Instant::now();
        let mut locals = self.skeleton.locals(&self.model, pose, self.rig.bone("hips"));
        let globals = self.rig.springs.step(&self.model, &mut locals, self.frame_seconds);
        self.deformer.deform(&self.model, &globals, pose);
        let rect = self.cover(&self.deformer.vertices);
        self.times.pose = posed.elapsed();
        // The plan takes the buffer (no copy); the deformer fills a new one next frame.
        CharacterPlan { vertices: Arc::new(std::mem::take(&mut self.deformer.vertices)), rect }
    }

    /// Morph weights per mesh from expression weights (clamped to 0..1 per target).
    fn morph_weights(&self, expressions: &[(&str, f32)]) -> Vec<Vec<f32>> {
        let mut w: Vec<Vec<f32>> = self.model.meshes.iter().map(|m| m.default_weights.clone()).collect();
        for (name, weight) in expressions {
            let Some(e) = self.rig.expressions.get(*name) else { continue };
            let weight = if e.binary { (*weight >= 0.5) as u8 as f32 } else { *weight };
            for b in &e.binds {
                w[b.mesh][b.target] = (w[b.mesh][b.target] + weight * b.weight).clamp(0.0, 1.0);
            }
        }
        w
    }

    /// The rectangle (of the size drawn) the posed vertices cover, with a margin for
    /// anti-aliasing.
    fn cover(&self, vertices: &[Vertex]) -> [u32; 4] {
        let (w, h) = (self.size.0 as f32, self.size.1 as f32);
        let vp = self.camera().view_proj;
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for v in vertices {
            let c = vp * Vec3::from(v.position).extend(1.0);
            if c.w <= 0.0 {
                continue;
            }
            let (x, y) = ((c.x / c.w * 0.5 + 0.5) * w, (0.5 - c.y / c.w * 0.5) * h);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let x0 = (x0 - 4.0).clamp(0.0, w - 1.0) as u32;
        let y0 = (y0 - 4.0).clamp(0.0, h - 1.0) as u32;
        let x1 = (x1 + 4.0).clamp(x0 as f32 + 1.0, w) as u32;
        let y1 = (y1 + 4.0).clamp(y0 as f32 + 1.0, h) as u32;
        [x0, y0, x1 - x0, y1 - y0]
    }

    pub fn bounds(&self, plan: &CharacterPlan, width: u32, height: u32) -> Option<crate::raster::Region> {
        let [x, y, w, h] = plan.rect.map(|v| v as f32 / self.scale);
        crate::raster::Region::covering([x, y, w, h], 1.0, width, height)
    }

    /// Draws the planned frame over `out`; a Vulkan failure leaves the frame without
    /// the host for this frame and is logged, the stream goes on.
    pub fn draw(&mut self, out: &mut PixmapMut, plan: &CharacterPlan) {
        if let Err(e) = self.render_over(out, plan) {
            tracing::error!("3D host not drawn this frame: {e:#}");
        }
    }

    fn render_over(&mut self, out: &mut PixmapMut, plan: &CharacterPlan) -> Result<()> {
        let cam = &self.cameras[(self.framing == Framing::Full) as usize];
        self.renderer.render(&plan.vertices, cam.view_proj, cam.eye, &self.lights, plan.rect, &mut self.pixels)?;
        let blended = Instant::now();
        let [x, y, w, h] = plan.rect;
        if self.scale == 1.0 {
            let width = out.width() as usize;
            crate::raster::draw_rgba_over(out.data_mut(), width, &self.pixels, w as usize, x as i32, y as i32);
        } else {
            // Scaled up to the frame, bilinear, as the video host's frames are.
            let size = resvg::tiny_skia::IntSize::from_wh(w, h).context("empty host rectangle")?;
            let drawn = resvg::tiny_skia::Pixmap::from_vec(std::mem::take(&mut self.pixels), size).context("host pixels")?;
            let (s, width) = (1.0 / self.scale, out.width() as usize);
            crate::raster::draw_scaled(out.data_mut(), width, &drawn, [0, 0, w, h], s, x as f32 * s, y as f32 * s);
            self.pixels = drawn.take();
        }
        let gpu = self.renderer.times;
        (self.times.draw, self.times.read_back, self.times.blend) = (gpu.draw, gpu.read_back, blended.elapsed());
        Ok(())
    }

    pub fn adapter(&self) -> &str {
        &self.renderer.adapter
    }
}

/// The camera that frames the character at rest: half shows the head to the hips with
/// a little headroom; full, head to toe.
fn camera(model: &Model, rig: &Rig, framing: Framing, width: u32, height: u32) -> Camera {
    let rest = model.rest_globals();
    let y_of = |bone: &str| rig.bone(bone).map(|n| rest[n].w_axis.y);
    let (mut bottom, mut top) = (f32::MAX, f32::MIN);
    for p in model.meshes.iter().flat_map(|m| &m.primitives).flat_map(|p| &p.positions) {
        bottom = bottom.min(p.y);
        top = top.max(p.y);
    }
    let hips = y_of("hips").unwrap_or((bottom + top) / 2.0);
    // Screen heights (clip space, -1 bottom .. 1 top) that the span maps to.
    let (lo, hi, span_bottom) = match framing {
        Framing::Half => (-1.0, 0.86, hips + 0.02 * (top - bottom)),
        Framing::Full => (-0.92, 0.9, bottom),
    };
    let fovy = 20f32.to_radians();
    let half_height = (top - span_bottom) / (hi - lo);
    let centre = span_bottom - lo * half_height;
    let distance = half_height / (fovy / 2.0).tan();
    let faces_back = rig.format == Format::Vrm0;
    let eye = Vec3::new(0.0, centre, distance);
    let view = Mat4::look_at_rh(eye, Vec3::new(0.0, centre, 0.0), Vec3::Y);
    // A VRM 0.x character faces -Z: turn it to the camera.
    let turn = if faces_back { Mat4::from_rotation_y(std::f32::consts::PI) } else { Mat4::IDENTITY };
    let proj = Mat4::perspective_rh(fovy, width as f32 / height as f32, 0.05, distance * 4.0);
    Camera { eye: if faces_back { Vec3::new(0.0, centre, -distance) } else { eye }, view_proj: proj * view * turn }
}
