//! Sprite packs: layered art, SVG or PNG (body poses, head, eyes, mouth shapes A-H and X),
//! drawn at the output size once at load, then posed every frame.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{BlendMode, Color, FilterQuality, Pixmap, PixmapMut, PixmapPaint, Transform};
use serde::Deserialize;

use super::motion::{Eyes, HeadMove, Pose};
use super::sprite_layer::SpriteLayer;
use super::manifest::{FramingRects, Placement, read_manifest};
use crate::cue::Framing;
use crate::lipsync::Mouth;
use crate::raster::{self, Placed, Region};

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

/// NAME.svg or NAME.png in the pack, whichever is there.
fn find_layer(pack: &Path, name: &str) -> Result<String> {
    ["svg", "png"]
        .iter()
        .map(|ext| format!("{name}.{ext}"))
        .find(|f| pack.join(f).is_file())
        .with_context(|| format!("avatar pack {}: layer {name} is missing; add {name}.svg or {name}.png", pack.display()))
}

/// Frames a body pose takes to blend in and out.
const BLEND_FRAMES: u64 = 4;

/// The pack's layers drawn for one framing.
struct Layers {
    placement: Placement,
    body: SpriteLayer,
    /// Gesture body poses, by gesture name.
    bodies: HashMap<String, SpriteLayer>,
    head: SpriteLayer,
    eyes: HashMap<Eyes, SpriteLayer>,
    mouths: HashMap<Mouth, SpriteLayer>,
}

/// A gesture on air: its name and the frame it started.
#[derive(Debug, Clone)]
struct Playing {
    name: Arc<str>,
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
    /// A gesture asked for, started by the next `plan`.
    requested: Option<String>,
    /// Off-frame sum for body-pose blends.
    scratch: Option<Pixmap>,
}

/// What a sprite frame shows besides the pose: the gesture body and its weight.
#[derive(Debug, Clone, Default)]
pub struct SpritePlan {
    /// (gesture name, shared so a plan per frame allocates nothing; weight).
    pub body: Option<(Arc<str>, f32)>,
}

impl SpriteAvatar {
    pub fn load(pack: &Path, width: u32, height: u32, fps: u32) -> Result<SpriteAvatar> {
        let manifest_path = pack.join("avatar.toml");
        let text = read_manifest(pack)?;
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
        // Each layer is NAME.svg or NAME.png; gesture bodies are named in full.
        let mut files: Vec<String> = ["body", "head", "eyes-open", "eyes-half", "eyes-closed"]
            .into_iter()
            .map(String::from)
            .chain(Mouth::ALL.iter().map(|m| format!("mouth-{}", m.letter())))
            .map(|name| find_layer(pack, &name))
            .collect::<Result<_>>()?;
        files.extend(manifest.gestures.values().filter_map(|g| g.body.clone()));
        let mut art = HashMap::new();
        for file in &files {
            let path: PathBuf = pack.join(file);
            art.insert(file.clone(), raster::load_layer(&path).with_context(|| format!("avatar pack {}", pack.display()))?);
        }
        let file_of = |name: &str| files.iter().find(|f| f.strip_suffix(".svg").or(f.strip_suffix(".png")) == Some(name)).cloned().unwrap_or_default();
        let mut sets = HashMap::new();
        for (framing, rect) in [(Framing::Half, manifest.framing.half), (Framing::Full, manifest.framing.full)] {
            let placement = Placement::fit(rect, width, height);
            let layer = |file: &str| -> Result<SpriteLayer> {
                let full = raster::render_layer(&art[file], manifest.canvas, width, height, placement.scale, placement.dx, placement.dy)?;
                let placed = raster::crop_to_content(&full).with_context(|| format!("avatar layer {}", pack.join(file).display()))?;
                Ok(SpriteLayer::new(placed))
            };
            let mut eyes = HashMap::new();
            for (e, name) in [(Eyes::Open, "eyes-open"), (Eyes::Half, "eyes-half"), (Eyes::Closed, "eyes-closed")] {
                eyes.insert(e, layer(&file_of(name))?);
            }
            let mut mouths = HashMap::new();
            for m in Mouth::ALL {
                mouths.insert(m, layer(&file_of(&format!("mouth-{}", m.letter())))?);
            }
            let mut bodies = HashMap::new();
            for (name, g) in &manifest.gestures {
                if let Some(file) = &g.body {
                    bodies.insert(name.clone(), layer(file)?);
                }
            }
            sets.insert(framing, Layers { placement, body: layer(&file_of("body"))?, bodies, head: layer(&file_of("head"))?, eyes, mouths });
        }
        Ok(SpriteAvatar { manifest, framing: Framing::Half, sets, fps, playing: None, requested: None, scratch: None })
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

    /// Asks for gesture `name` (one of `gesture_names`); the next `plan` starts it.
    pub fn request(&mut self, name: &str) {
        self.requested = Some(name.to_string());
    }

    /// The gesture body for frame `frame` and how far it has blended in (0..1], and a
    /// head move to start now. A gesture asked for starts here (a sprite can blend from
    /// any frame); one already playing gives way.
    pub fn plan(&mut self, frame: u64) -> (SpritePlan, Option<HeadMove>) {
        let mut head = None;
        if let Some(name) = self.requested.take() {
            let g = &self.manifest.gestures[&name];
            head = g.head;
            if g.body.is_some() {
                let frames = (g.seconds * self.fps as f32).round().max(2.0 * BLEND_FRAMES as f32) as u64;
                self.playing = Some(Playing { name: name.into(), start: frame, frames });
            }
        }
        (self.body_plan(frame), head)
    }

    fn body_plan(&mut self, frame: u64) -> SpritePlan {
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
    /// Where the body and the head go this frame.
    fn transforms(&self, pose: &Pose) -> (Transform, Transform) {
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
        (body, head)
    }

    /// The pixels `draw` may touch for this pose: every layer's box, moved.
    pub fn bounds(&self, pose: &Pose, plan: &SpritePlan, width: u32, height: u32) -> Option<Region> {
        let (body, head) = self.transforms(pose);
        let set = &self.sets[&self.framing];
        let gesture = plan.body.as_ref().and_then(|(name, _)| set.bodies.get(&**name));
        let layers = [(Some(&set.body.placed), body), (gesture.map(|g| &g.placed), body), (Some(&set.head.placed), head), (set.eyes.get(&pose.eyes).map(|l| &l.placed), head), (set.mouths.get(&pose.mouth).map(|l| &l.placed), head)];
        let mut bounds: Option<Region> = None;
        for (layer, t) in layers {
            let Some(l) = layer else { continue };
            let (x0, y0, x1, y1) = (l.x as f32, l.y as f32, (l.x + l.pixmap.width() as i32) as f32, (l.y + l.pixmap.height() as i32) as f32);
            let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)].map(|(x, y)| (t.sx * x + t.kx * y + t.tx, t.ky * x + t.sy * y + t.ty));
            let (min_x, max_x) = corners.iter().fold((f32::MAX, f32::MIN), |(a, b), c| (a.min(c.0), b.max(c.0)));
            let (min_y, max_y) = corners.iter().fold((f32::MAX, f32::MIN), |(a, b), c| (a.min(c.1), b.max(c.1)));
            // Bilinear filtering reaches a pixel past the edge.
            if let Some(r) = Region::covering([min_x, min_y, max_x - min_x, max_y - min_y], 2.0, width, height) {
                bounds = Some(bounds.map_or(r, |b| b.union(&r)));
            }
        }
        bounds
    }

    pub fn draw(&mut self, frame: &mut PixmapMut, pose: &Pose, plan: &SpritePlan) {
        let (body, head) = self.transforms(pose);
        let paint = PixmapPaint { quality: FilterQuality::Bilinear, ..Default::default() };
        let set = &self.sets[&self.framing];
        // A gesture pose blends over the resting body, then replaces it.
        let gesture = plan.body.as_ref().and_then(|(name, w)| set.bodies.get(&**name).map(|l| (l, *w)));
        // The body only shifts sideways and stretches down from the hips.
        let (sy, dy) = (body.sy, |l: &Placed| l.y as f32 * body.sy + body.ty);
        let dx = |l: &Placed| l.x as f32 + body.tx;
        let width = frame.width() as usize;
        match gesture {
            Some((layer, w)) if w >= 1.0 => layer.draw_stretched(frame.data_mut(), width, sy, dx(&layer.placed), dy(&layer.placed)),
            Some((layer, w)) => {
                // A true cross-dissolve: (1-w)·rest + w·pose summed off-frame, then laid
                // over the frame; drawn one over the other, the torso would turn see-through.
                let scratch = self.scratch.get_or_insert_with(|| Pixmap::new(frame.width(), frame.height()).expect("frame size"));
                scratch.fill(Color::TRANSPARENT);
                let rest = &set.body.placed;
                for (l, opacity) in [(rest, 1.0 - w), (&layer.placed, w)] {
                    let add = PixmapPaint { opacity, blend_mode: BlendMode::Plus, ..paint.clone() };
                    scratch.draw_pixmap(l.x, l.y, l.pixmap.as_ref(), &add, body, None);
                }
                frame.draw_pixmap(0, 0, scratch.as_ref(), &PixmapPaint::default(), Transform::identity(), None);
            }
            None => set.body.draw_stretched(frame.data_mut(), width, sy, dx(&set.body.placed), dy(&set.body.placed)),
        }
        for layer in [&set.head, &set.eyes[&pose.eyes], &set.mouths[&pose.mouth]] {
            layer.draw_moved(frame.data_mut(), width, head);
        }
    }

    /// The mouth's centre in output pixels when the host stands at rest.
    pub fn mouth_position(&self) -> (f32, f32) {
        self.placement().map(self.manifest.mouth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::tiny_skia::Pixmap;

    fn draw(pack: &Path) -> Pixmap {
        let mut avatar = SpriteAvatar::load(pack, 360, 640, 25).unwrap();
        let mut frame = Pixmap::new(360, 640).unwrap();
        let pose = Pose { mouth: Mouth::D, eyes: Eyes::Open, breath: 0.0, sway_px: 0.0, tilt_deg: 0.0, nod_px: 0.0 };
        avatar.draw(&mut frame.as_mut(), &pose, &SpritePlan::default());
        frame
    }

    #[test]
    fn png_layers_draw_like_svg_ones() {
        let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/avatars/cartoon-host");
        let dir = std::env::temp_dir().join(format!("avatarcast-png-pack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(&built_in).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        // The head as pixels spanning the canvas (720x2240), instead of vector art.
        let tree = raster::load_svg_file(&dir.join("head.svg")).unwrap();
        let pixels = raster::render_svg(&tree, 720, 2240, 1.0, 0.0, 0.0).unwrap();
        let straight: Vec<u8> = pixels.pixels().iter().flat_map(|p| {
            let c = p.demultiply();
            [c.red(), c.green(), c.blue(), c.alpha()]
        }).collect();
        image::save_buffer(dir.join("head.png"), &straight, 720, 2240, image::ExtendedColorType::Rgba8).unwrap();
        std::fs::remove_file(dir.join("head.svg")).unwrap();

        let (svg, png) = (draw(&built_in), draw(&dir));
        let diff = svg.data().iter().zip(png.data()).map(|(a, b)| (*a as i32 - *b as i32).abs()).sum::<i32>() as f64 / svg.data().len() as f64;
        assert!(diff < 1.0, "PNG head differs from the SVG one by {diff:.2} per channel");

        std::fs::remove_file(dir.join("head.png")).unwrap();
        let e = SpriteAvatar::load(&dir, 360, 640, 25).err().unwrap().to_string();
        assert!(e.contains("layer head is missing; add head.svg or head.png"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
