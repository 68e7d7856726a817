//! Sprite packs: layered vector art (body poses, head, eyes, mouth shapes A-H and X),
//! drawn at the output size once at load, then posed every frame.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{BlendMode, Color, FilterQuality, Pixmap, PixmapMut, PixmapPaint, Transform};
use serde::Deserialize;

use super::motion::{Eyes, HeadMove, Pose};
use super::{FramingRects, Framing, Placement};
use crate::lipsync::Mouth;
use crate::raster::{self, Placed};

/// avatar.toml of a sprite pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpriteManifest {
    pub name: String,
    pub kind: String,
    /// Art of a real person's likeness needs their consent on record, as video packs do.
    #[serde(default)]
    pub real_person: bool,
    #[serde(default)]
    pub consent: Option<super::consent::ConsentRecord>,
    /// Size of the art's coordinate system; every layer uses it.
    pub canvas: [f32; 2],
    /// Where the head turns.
    pub neck: [f32; 2],
    /// Where breathing scales the body from.
    pub hips: [f32; 2],
    /// Centre of the mouth, for tools and tests that look at it.
    pub mouth: [f32; 2],
    pub framing: FramingRects,
    #[serde(default)]
    pub gestures: std::collections::BTreeMap<String, SpriteGesture>,
}

/// A named gesture: a body pose held for a while, a head move, or both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpriteGesture {
    /// Body layer drawn instead of body.svg while the gesture lasts.
    pub body: Option<String>,
    /// "nod", "shake" or "tilt".
    pub head: Option<HeadMove>,
    /// How long the body pose is held, blends included.
    #[serde(default = "default_gesture_seconds")]
    pub seconds: f32,
}

fn default_gesture_seconds() -> f32 {
    1.5
}

/// Frames a body pose takes to blend in and out.
const BLEND_FRAMES: u64 = 4;

/// The pack's layers drawn for one framing.
struct Layers {
    placement: Placement,
    body: Placed,
    /// Gesture body poses, by gesture name.
    bodies: HashMap<String, Placed>,
    head: Placed,
    eyes: HashMap<Eyes, Placed>,
    mouths: HashMap<Mouth, Placed>,
}

/// A gesture on air: its name and the frame it started.
#[derive(Debug, Clone)]
struct Playing {
    name: String,
    start: u64,
    frames: u64,
}

pub struct SpriteAvatar {
    pub manifest: SpriteManifest,
    framing: Framing,
    /// Both framings are drawn at load, so a switch costs nothing on air.
    sets: HashMap<Framing, Layers>,
    fps: u32,
    playing: Option<Playing>,
    /// Off-frame sum for body-pose blends.
    scratch: Option<Pixmap>,
}

/// What a sprite frame shows besides the pose: the gesture body and its weight.
#[derive(Debug, Clone, Default)]
pub struct SpritePlan {
    pub body: Option<(String, f32)>,
}

impl SpriteAvatar {
    pub fn load(pack: &Path, width: u32, height: u32, fps: u32) -> Result<SpriteAvatar> {
        let manifest_path = pack.join("avatar.toml");
        let text = super::read_manifest(pack)?;
        let manifest: SpriteManifest =
            crate::config::from_toml(&text).with_context(|| format!("avatar pack manifest {}", manifest_path.display()))?;
        if manifest.real_person {
            super::consent::ConsentRecord::check(manifest.consent.as_ref(), pack)?;
        }
        for (name, g) in &manifest.gestures {
            if g.body.is_none() && g.head.is_none() {
                bail!("{}: gesture `{name}` needs `body` (a body pose .svg) and/or `head` (nod, shake or tilt)", manifest_path.display());
            }
            if !(0.2..=30.0).contains(&g.seconds) {
                bail!("{}: gesture `{name}`: `seconds` must be between 0.2 and 30", manifest_path.display());
            }
        }
        let mut files = vec!["body.svg".to_string(), "head.svg".into(), "eyes-open.svg".into(), "eyes-half.svg".into(), "eyes-closed.svg".into()];
        files.extend(Mouth::ALL.iter().map(|m| format!("mouth-{}.svg", m.letter())));
        files.extend(manifest.gestures.values().filter_map(|g| g.body.clone()));
        let mut trees = HashMap::new();
        for file in &files {
            let path: PathBuf = pack.join(file);
            trees.insert(file.clone(), raster::load_svg_file(&path).with_context(|| format!("avatar pack {}", pack.display()))?);
        }
        let mut sets = HashMap::new();
        for (framing, rect) in [(Framing::Half, manifest.framing.half), (Framing::Full, manifest.framing.full)] {
            let placement = Placement::fit(rect, width, height);
            let layer = |file: &str| -> Result<Placed> {
                let full = raster::render_svg(&trees[file], width, height, placement.scale, placement.dx, placement.dy)?;
                raster::crop_to_content(&full).with_context(|| format!("avatar layer {}", pack.join(file).display()))
            };
            let mut eyes = HashMap::new();
            for (e, file) in [(Eyes::Open, "eyes-open.svg"), (Eyes::Half, "eyes-half.svg"), (Eyes::Closed, "eyes-closed.svg")] {
                eyes.insert(e, layer(file)?);
            }
            let mut mouths = HashMap::new();
            for m in Mouth::ALL {
                mouths.insert(m, layer(&format!("mouth-{}.svg", m.letter()))?);
            }
            let mut bodies = HashMap::new();
            for (name, g) in &manifest.gestures {
                if let Some(file) = &g.body {
                    bodies.insert(name.clone(), layer(file)?);
                }
            }
            sets.insert(framing, Layers { placement, body: layer("body.svg")?, bodies, head: layer("head.svg")?, eyes, mouths });
        }
        Ok(SpriteAvatar { manifest, framing: Framing::Half, sets, fps, playing: None, scratch: None })
    }

    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    /// Where the canvas lands in the frame, for the current framing.
    pub fn placement(&self) -> Placement {
        self.sets[&self.framing].placement
    }

    pub fn gesture_names(&self) -> Vec<String> {
        self.manifest.gestures.keys().cloned().collect()
    }

    pub fn gesture(&self, name: &str) -> Option<&SpriteGesture> {
        self.manifest.gestures.get(name)
    }

    /// Starts a body pose now (a sprite can blend from any frame); a gesture already
    /// playing gives way.
    pub fn start_body_pose(&mut self, name: &str, frame: u64) {
        let frames = (self.manifest.gestures[name].seconds * self.fps as f32).round().max(2.0 * BLEND_FRAMES as f32) as u64;
        self.playing = Some(Playing { name: name.to_string(), start: frame, frames });
    }

    /// The gesture body for frame `frame` and how far it has blended in (0..1].
    pub fn plan(&mut self, frame: u64) -> SpritePlan {
        let Some(p) = &self.playing else { return SpritePlan::default() };
        let t = frame.saturating_sub(p.start);
        if t >= p.frames {
            self.playing = None;
            return SpritePlan::default();
        }
        let edge = t.min(p.frames - 1 - t) + 1;
        let weight = (edge as f32 / (BLEND_FRAMES + 1) as f32).min(1.0);
        SpritePlan { body: Some((p.name.clone(), weight)) }
    }

    /// Draws the posed host onto the frame.
    pub fn draw(&mut self, frame: &mut PixmapMut, pose: &Pose, plan: &SpritePlan) {
        let p = &self.placement();
        let (_, hy) = p.map(self.manifest.hips);
        let (nx, ny) = p.map(self.manifest.neck);
        let sway = pose.sway_px * p.scale;
        // Breathing stretches the torso upwards from the hips.
        let s = 1.0 + pose.breath;
        let body = Transform::from_row(1.0, 0.0, 0.0, s, sway, hy * (1.0 - s));
        // The head rides on the neck and tilts around it.
        let neck_moved = (nx + sway, hy + (ny - hy) * s);
        let head = Transform::from_translate(neck_moved.0 - nx, neck_moved.1 - ny + pose.nod_px * p.scale)
            .pre_concat(Transform::from_rotate_at(pose.tilt_deg, nx, ny));
        let paint = PixmapPaint { quality: FilterQuality::Bilinear, ..Default::default() };
        let set = &self.sets[&self.framing];
        // A gesture pose blends over the resting body, then replaces it.
        let gesture = plan.body.as_ref().and_then(|(name, w)| set.bodies.get(name).map(|l| (l, *w)));
        match gesture {
            Some((layer, w)) if w >= 1.0 => frame.draw_pixmap(layer.x, layer.y, layer.pixmap.as_ref(), &paint, body, None),
            Some((layer, w)) => {
                // A true cross-dissolve: (1-w)·rest + w·pose summed off-frame, then laid
                // over the frame; drawn one over the other, the torso would turn see-through.
                let scratch = self.scratch.get_or_insert_with(|| Pixmap::new(frame.width(), frame.height()).expect("frame size"));
                scratch.fill(Color::TRANSPARENT);
                let rest = &set.body;
                for (l, opacity) in [(rest, 1.0 - w), (layer, w)] {
                    let add = PixmapPaint { opacity, blend_mode: BlendMode::Plus, ..paint.clone() };
                    scratch.draw_pixmap(l.x, l.y, l.pixmap.as_ref(), &add, body, None);
                }
                frame.draw_pixmap(0, 0, scratch.as_ref(), &PixmapPaint::default(), Transform::identity(), None);
            }
            None => frame.draw_pixmap(set.body.x, set.body.y, set.body.pixmap.as_ref(), &paint, body, None),
        }
        for (layer, t) in [(&set.head, head), (&set.eyes[&pose.eyes], head), (&set.mouths[&pose.mouth], head)] {
            frame.draw_pixmap(layer.x, layer.y, layer.pixmap.as_ref(), &paint, t, None);
        }
    }

    /// The mouth's centre in output pixels when the host stands at rest.
    pub fn mouth_position(&self) -> (f32, f32) {
        self.placement().map(self.manifest.mouth)
    }
}
