//! The host: a sprite pack of vector layers (body, head, eyes, mouth shapes) drawn at
//! the output size once, then posed every frame with breathing, sway, blinks and
//! the mouth shape lip-sync asks for.

pub mod motion;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{FilterQuality, PixmapMut, PixmapPaint, Transform};
use serde::Deserialize;

use crate::lipsync::Mouth;
use crate::raster::{self, Placed};
pub use motion::{Eyes, Motion, Pose};

/// avatar.toml in a sprite pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    pub name: String,
    /// "sprite" (the only kind so far).
    pub kind: String,
    /// Size of the art's coordinate system; every layer uses it.
    pub canvas: [f32; 2],
    /// Where the head turns.
    pub neck: [f32; 2],
    /// Where breathing scales the body from.
    pub hips: [f32; 2],
    /// Centre of the mouth, for tools and tests that look at it.
    pub mouth: [f32; 2],
    pub framing: FramingRects,
}

/// Canvas rectangles [x, y, width, height] that fill the frame's height.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramingRects {
    pub half: [f32; 4],
    pub full: [f32; 4],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Head to waist: the usual shop-stream shot.
    #[default]
    Half,
    /// Head to toe.
    Full,
}

/// Where the art's canvas lands in the output frame.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub scale: f32,
    pub dx: f32,
    pub dy: f32,
}

impl Placement {
    /// Fits the canvas rectangle `rect` to the frame height, centred horizontally.
    pub fn fit(rect: [f32; 4], width: u32, height: u32) -> Placement {
        let scale = height as f32 / rect[3];
        let dx = (width as f32 - rect[2] * scale) / 2.0 - rect[0] * scale;
        Placement { scale, dx, dy: -rect[1] * scale }
    }

    pub fn map(&self, p: [f32; 2]) -> (f32, f32) {
        (p[0] * self.scale + self.dx, p[1] * self.scale + self.dy)
    }
}

/// The pack's layers drawn for one framing.
struct Layers {
    placement: Placement,
    body: Placed,
    head: Placed,
    eyes: HashMap<Eyes, Placed>,
    mouths: HashMap<Mouth, Placed>,
}

pub struct Avatar {
    pub manifest: PackManifest,
    framing: Framing,
    /// Both framings are drawn at load, so a switch costs nothing on air.
    sets: HashMap<Framing, Layers>,
}

impl Avatar {
    pub fn load(pack: &Path, width: u32, height: u32) -> Result<Avatar> {
        let manifest_path = pack.join("avatar.toml");
        let text = std::fs::read_to_string(&manifest_path).with_context(|| {
            format!("avatar pack {}: cannot read avatar.toml; check `avatar.pack`", pack.display())
        })?;
        let manifest: PackManifest =
            crate::config::from_toml(&text).with_context(|| format!("avatar pack manifest {}", manifest_path.display()))?;
        if manifest.kind != "sprite" {
            bail!("{}: `kind = \"{}\"` is not supported; use \"sprite\"", manifest_path.display(), manifest.kind);
        }
        let mut trees = HashMap::new();
        let mut files = vec!["body.svg".to_string(), "head.svg".into(), "eyes-open.svg".into(), "eyes-half.svg".into(), "eyes-closed.svg".into()];
        files.extend(Mouth::ALL.iter().map(|m| format!("mouth-{}.svg", m.letter())));
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
            sets.insert(framing, Layers { placement, body: layer("body.svg")?, head: layer("head.svg")?, eyes, mouths });
        }
        Ok(Avatar { manifest, framing: Framing::Half, sets })
    }

    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    /// Where the canvas lands in the frame, for the current framing.
    pub fn placement(&self) -> Placement {
        self.sets[&self.framing].placement
    }

    /// Draws the posed host onto the frame.
    pub fn draw(&self, frame: &mut PixmapMut, pose: &Pose) {
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
        for (layer, t) in [
            (&set.body, body),
            (&set.head, head),
            (&set.eyes[&pose.eyes], head),
            (&set.mouths[&pose.mouth], head),
        ] {
            frame.draw_pixmap(layer.x, layer.y, layer.pixmap.as_ref(), &paint, t, None);
        }
    }

    /// The mouth's centre in output pixels when the host stands at rest.
    pub fn mouth_position(&self) -> (f32, f32) {
        self.placement().map(self.manifest.mouth)
    }
}
