//! The frame: background (switched with a crossfade), the host, the product card,
//! word-synced captions, a logo, and the always-visible "AI-generated" label.

pub mod canvas;
pub mod captions;
pub mod card;
pub mod label;
pub mod marker;
pub mod video;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{Color, Pixmap, PixmapPaint, Transform};

use crate::avatar::{Avatar, Plan};
use crate::config::Config;
use crate::cue::SceneCommand;
use crate::frame::FrameSize;
use crate::raster::{self, Placed, Region};
use canvas::Canvas;
use crate::show::file::ShowFile;

/// What the frame shows besides the host; `frame` is the stream's frame counter.
pub struct Overlays<'a> {
    pub frame: u64,
    pub caption: Option<(&'a str, usize)>,
    /// Product on air (the card follows the pitch).
    pub product: &'a str,
}

/// A background: a still picture or colour, or a looping video.
enum Background {
    Still(Pixmap),
    Video(video::VideoBackground),
}

impl Background {
    fn load(spec: &str, size: FrameSize, fps: u32, live: bool) -> Result<Background> {
        let path = Path::new(spec);
        if crate::media::decode::is_video(path) {
            return Ok(Background::Video(video::VideoBackground::open(path, size, fps, !live)?));
        }
        load_background(spec, size).map(Background::Still)
    }

    fn data(&self) -> &[u8] {
        match self {
            Background::Still(p) => p.data(),
            Background::Video(v) => v.frame(),
        }
    }
}

struct Fade {
    from: String,
    start: u64,
    frames: u64,
}

struct CardState {
    product: Option<String>,
    visible: bool,
    sale_ends: Option<u64>,
    /// What the cached pixmap shows: (product, seconds left).
    drawn: Option<(String, Option<u64>, Placed)>,
}

/// The frame's layers, bottom to top (the background is under them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    Host,
    Card,
    Caption,
    Logo,
    Label,
    Marker,
}

const LAYERS: [Layer; 6] = [Layer::Host, Layer::Card, Layer::Caption, Layer::Logo, Layer::Label, Layer::Marker];

/// Where a layer is and which version of its picture: a layer shown the same in two
/// frames needs no drawing in the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shown {
    region: Region,
    version: u64,
}

/// The pixmap placed at its position covers this region.
fn placed_region(p: &Placed, width: u32, height: u32) -> Option<Region> {
    Region::covering([p.x as f32, p.y as f32, p.pixmap.width() as f32, p.pixmap.height() as f32], 0.0, width, height)
}

pub struct Scene {
    pub size: FrameSize,
    fps: u32,
    backgrounds: HashMap<String, Background>,
    background: String,
    fade: Option<Fade>,
    crossfade_ms: u32,
    pub avatar: Avatar,
    label: Placed,
    logo: Option<Placed>,
    show: Arc<ShowFile>,
    pictures: HashMap<String, Pixmap>,
    card: CardState,
    card_layout: card::CardLayout,
    captions_on: bool,
    caption_drawn: Option<(String, usize, bool, Placed)>,
    /// The frame kept between frames, updated where something changed.
    canvas: Canvas,
    /// What each layer showed in the last frame (by `LAYERS` index).
    shown: [Option<Shown>; 6],
    /// Versions of the card and caption pictures: each redraw makes a new one.
    card_version: u64,
    caption_version: u64,
    /// The next frame is drawn whole (first frame, background switched).
    redraw_all: bool,
    /// The regions redrawn in the last frame (the buffer, reused).
    regions: Vec<Region>,
    /// Draws the latency marker (video.latency_marker).
    latency_marker: bool,
}

pub const DEFAULT_BACKGROUND: &str = "default";

impl Scene {
    /// `live`: videos never hold up a frame (render mode waits for each video frame).
    pub fn new(config: &Config, show: Arc<ShowFile>, live: bool) -> Result<Scene> {
        let size = config.video.size;
        let fps = config.video.fps;
        let mut backgrounds = HashMap::new();
        backgrounds.insert(
            DEFAULT_BACKGROUND.to_string(),
            Background::load(&config.scene.background, size, fps, live)
                .with_context(|| format!("`scene.background` = \"{}\"", config.scene.background))?,
        );
        for (name, spec) in &config.scene.backgrounds {
            let p = Background::load(spec, size, fps, live).with_context(|| format!("`scene.backgrounds.{name}` = \"{spec}\""))?;
            backgrounds.insert(name.clone(), p);
        }
        for name in show.backgrounds() {
            if !backgrounds.contains_key(&name) {
                bail!("show file uses [background {name}], but the config has no `scene.backgrounds.{name}`");
            }
        }
        let mut avatar = Avatar::load(config)?;
        avatar.set_framing(config.scene.framing);
        let label = label::render(size, config.scene.label_position)?;
        let logo = match &config.scene.logo {
            Some(path) => {
                let side = (size.height as f32 * 0.07) as u32;
                let pixmap = card::load_picture(path, side).with_context(|| format!("`scene.logo` = {}", path.display()))?;
                let margin = (size.width.min(size.height) as f32 * 0.03) as i32;
                Some(Placed { x: size.width as i32 - side as i32 - margin, y: margin, pixmap })
            }
            None => None,
        };
        let card_layout = card::CardLayout::for_frame(size);
        let side = (card_layout.h - 30.0 * card_layout.scale) as u32;
        let mut pictures = HashMap::new();
        for p in &show.products {
            if let Some(img) = &p.image {
                let pic = card::load_picture(img, side).with_context(|| format!("product `{}` image {}", p.id, img.display()))?;
                pictures.insert(p.id.clone(), pic);
            }
        }
        Ok(Scene {
            size,
            fps: config.video.fps,
            backgrounds,
            background: DEFAULT_BACKGROUND.into(),
            fade: None,
            crossfade_ms: config.scene.crossfade_ms,
            avatar,
            label,
            logo,
            show,
            pictures,
            card: CardState { product: None, visible: false, sale_ends: None, drawn: None },
            card_layout,
            captions_on: config.scene.captions,
            caption_drawn: None,
            canvas: Canvas::new(size.width, size.height),
            shown: [None; 6],
            card_version: 0,
            caption_version: 0,
            redraw_all: true,
            regions: Vec::new(),
            latency_marker: config.video.latency_marker,
        })
    }

    /// Takes in a new show file: products and their pictures for the card.
    pub fn set_show(&mut self, show: Arc<ShowFile>) {
        let side = (self.card_layout.h - 30.0 * self.card_layout.scale) as u32;
        self.pictures.clear();
        for p in &show.products {
            if let Some(img) = &p.image {
                match card::load_picture(img, side) {
                    Ok(pic) => {
                        self.pictures.insert(p.id.clone(), pic);
                    }
                    Err(e) => tracing::warn!("product `{}` image {}: {e:#}", p.id, img.display()),
                }
            }
        }
        if self.card.product.as_ref().is_some_and(|id| show.product(id).is_none()) {
            self.card = CardState { product: None, visible: false, sale_ends: None, drawn: None };
        }
        self.card.drawn = None;
        self.show = show;
    }

    pub fn background_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.backgrounds.keys().cloned().collect();
        v.sort();
        v
    }

    /// Applies a change; it shows from frame `frame` on. Unknown names are reported,
    /// never fatal.
    pub fn apply(&mut self, cmd: &SceneCommand, frame: u64) -> Result<()> {
        match cmd {
            SceneCommand::Background { name, crossfade_ms } => {
                if !self.backgrounds.contains_key(name) {
                    bail!("no background `{name}` (have: {})", self.background_names().join(", "));
                }
                if *name != self.background {
                    let ms = crossfade_ms.unwrap_or(self.crossfade_ms);
                    let frames = (ms as u64 * self.fps as u64).div_ceil(1000);
                    let from = std::mem::replace(&mut self.background, name.clone());
                    self.fade = (frames > 0).then_some(Fade { from, start: frame, frames });
                    self.redraw_all = true;
                }
            }
            SceneCommand::Card { product, visible, sale_seconds } => {
                if let Some(p) = product {
                    if self.show.product(p).is_none() {
                        bail!("no product `{p}`");
                    }
                    self.card.product = Some(p.clone());
                }
                if let Some(v) = visible {
                    self.card.visible = *v;
                }
                if let Some(secs) = sale_seconds {
                    self.card.sale_ends = Some(frame + *secs as u64 * self.fps as u64);
                    self.card.visible = true;
                }
            }
            SceneCommand::Captions { visible } => self.captions_on = *visible,
            SceneCommand::Framing { framing } => self.avatar.set_framing(*framing),
            SceneCommand::Gesture { name } => self.avatar.gesture(name)?,
        }
        Ok(())
    }

    /// Makes the next frame in the canvas (`rgba()`, `i420()`): the host as `plan` says;
    /// `deadline`: how long the host may wait for a video pack's mouth. Only what
    /// changed since the last frame is drawn and converted: the regions of layers
    /// that moved or changed, and of every layer overlapping them.
    pub fn render(&mut self, plan: &Plan, overlays: &Overlays, deadline: Option<std::time::Instant>) {
        let w = self.size.width;
        let now = self.layers_now(plan, overlays);
        let moving_background = self.fade.is_some() || matches!(self.backgrounds.get(&self.background), Some(Background::Video(_)));
        let mut dirty = [false; 6];
        // Kept between frames: no allocation per frame.
        let mut regions = std::mem::take(&mut self.regions);
        regions.clear();
        if std::mem::take(&mut self.redraw_all) || moving_background {
            regions.push(self.canvas.whole());
        } else {
            for i in 0..LAYERS.len() {
                // The host moves in every frame (breathing, sway, the mouth).
                if now[i] != self.shown[i] || LAYERS[i] == Layer::Host {
                    dirty[i] = true;
                    regions.extend(self.shown[i].iter().chain(&now[i]).map(|s| s.region));
                }
            }
        }
        // Layers are drawn whole, so every layer a redrawn region touches is redrawn,
        // and its region with it, until nothing more is touched.
        loop {
            canvas::merge(&mut regions);
            let touched: [bool; 6] =
                std::array::from_fn(|i| !dirty[i] && now[i].is_some_and(|s| regions.iter().any(|r| r.intersects(&s.region))));
            if !touched.contains(&true) {
                break;
            }
            for i in (0..LAYERS.len()).filter(|&i| touched[i]) {
                dirty[i] = true;
                regions.extend(now[i].map(|s| s.region));
            }
        }
        if regions.first() == Some(&self.canvas.whole()) {
            self.draw_background(overlays.frame);
        } else {
            let background = self.backgrounds[&self.background].data();
            for r in &regions {
                self.canvas.copy_from(background, r);
            }
        }
        for (i, layer) in LAYERS.iter().enumerate() {
            if !dirty[i] || now[i].is_none() {
                continue;
            }
            let mut frame = self.canvas.rgba.as_mut();
            let placed = match layer {
                Layer::Host => {
                    self.avatar.draw(&mut frame, overlays.frame, plan, deadline);
                    continue;
                }
                Layer::Marker => {
                    marker::draw(frame.data_mut(), w, now[i].map_or(0, |s| s.version as u32));
                    continue;
                }
                Layer::Card => self.card.drawn.as_ref().map(|(_, _, p)| p),
                Layer::Caption => self.caption_drawn.as_ref().map(|(_, _, _, p)| p),
                Layer::Logo => self.logo.as_ref(),
                Layer::Label => Some(&self.label),
            };
            if let Some(p) = placed {
                raster::draw_over(frame.data_mut(), w as usize, &p.pixmap, p.x, p.y);
            }
        }
        for r in &regions {
            self.canvas.convert(r);
        }
        self.regions = regions;
        self.shown = now;
    }

    /// Where each layer is this frame and which picture it shows (None: not shown).
    fn layers_now(&mut self, plan: &Plan, overlays: &Overlays) -> [Option<Shown>; 6] {
        let (w, h) = (self.size.width, self.size.height);
        let card = self.card_pixmap(overlays).and_then(|p| placed_region(p, w, h));
        let card_version = self.card_version;
        let caption = self.caption_pixmap(overlays).and_then(|p| placed_region(p, w, h));
        let caption_version = self.caption_version;
        let shown = |region: Option<Region>, version: u64| region.map(|region| Shown { region, version });
        LAYERS.map(|layer| match layer {
            Layer::Host => shown(self.avatar.bounds(plan, w, h), overlays.frame),
            Layer::Card => shown(card, card_version),
            Layer::Caption => shown(caption, caption_version),
            Layer::Logo => shown(self.logo.as_ref().and_then(|p| placed_region(p, w, h)), 0),
            Layer::Label => shown(placed_region(&self.label, w, h), 0),
            Layer::Marker => match self.latency_marker {
                true => {
                    let (x, y) = marker::origin(w);
                    let region = Region { x0: x, y0: y, x1: w, y1: (y + 2 * marker::BLOCK).min(h) };
                    Some(Shown { region, version: marker::now_ms() as u64 })
                }
                false => None,
            },
        })
    }

    /// The frame made last, premultiplied RGBA (opaque).
    pub fn rgba(&self) -> &[u8] {
        self.canvas.rgba.data()
    }

    /// The frame made last, I420 (BT.709, limited range), as the encoder takes it.
    pub fn i420(&self) -> &[u8] {
        self.canvas.i420()
    }

    /// Draws the next frame whole (tests compare it with the frame drawn by regions).
    pub fn redraw_all(&mut self) {
        self.redraw_all = true;
    }

    fn draw_background(&mut self, n: u64) {
        if let Some(Background::Video(v)) = self.backgrounds.get_mut(&self.background) {
            v.advance();
        }
        let to = self.backgrounds[&self.background].data();
        let frame = self.canvas.rgba.data_mut();
        match &self.fade {
            Some(f) if n < f.start + f.frames => {
                // The outgoing side holds its last frame.
                let from = self.backgrounds[&f.from].data();
                // Weight of the new background, 1..=256 over the fade.
                let w = (((n - f.start + 1) * 256) / (f.frames + 1)) as u32;
                for ((o, a), b) in frame.iter_mut().zip(from).zip(to) {
                    *o = ((*a as u32 * (256 - w) + *b as u32 * w) >> 8) as u8;
                }
            }
            _ => {
                frame.copy_from_slice(to);
                self.fade = None;
            }
        }
    }

    fn card_pixmap(&mut self, o: &Overlays) -> Option<&Placed> {
        // The card follows the pitch, except while a sale countdown pins its product.
        if self.card.sale_ends.is_none() && !o.product.is_empty() && self.card.product.as_deref() != Some(o.product) {
            self.card.product = Some(o.product.to_string());
        }
        let left = self.card.sale_ends.map(|end| end.saturating_sub(o.frame).div_ceil(self.fps as u64));
        if left == Some(0) {
            // The sale is over: the card leaves with it.
            self.card.sale_ends = None;
            self.card.visible = false;
        }
        if !self.card.visible {
            return None;
        }
        let id = self.card.product.as_deref()?;
        let stale = !matches!(&self.card.drawn, Some((p, l, _)) if p == id && *l == left);
        if stale {
            let product = self.show.product(id)?;
            match card::render(&self.card_layout, product, self.pictures.get(id), left) {
                Ok(p) => {
                    self.card.drawn = Some((id.to_string(), left, p));
                    self.card_version += 1;
                }
                Err(e) => {
                    tracing::warn!("product card: {e:#}");
                    return None;
                }
            }
        }
        self.card.drawn.as_ref().map(|(_, _, p)| p)
    }

    fn caption_pixmap(&mut self, o: &Overlays) -> Option<&Placed> {
        let (text, word) = o.caption.filter(|_| self.captions_on)?;
        let card = self.card.visible;
        let stale = !matches!(&self.caption_drawn, Some((t, w, c, _)) if t == text && *w == word && *c == card);
        if stale {
            let h = self.size.height as f32;
            let y = if card { self.card_layout.y - 90.0 * self.card_layout.scale } else { h * 0.84 };
            match captions::render(self.size, text, word, y) {
                Ok(p) => {
                    self.caption_drawn = Some((text.to_string(), word, card, p));
                    self.caption_version += 1;
                }
                Err(e) => {
                    tracing::warn!("captions: {e:#}");
                    return None;
                }
            }
        }
        self.caption_drawn.as_ref().map(|(_, _, _, p)| p)
    }

}

fn load_background(spec: &str, size: FrameSize) -> Result<Pixmap> {
    if let Some(hex) = spec.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 6);
        let Some(v) = v else { bail!("a colour must be written #rrggbb") };
        let mut p = Pixmap::new(size.width, size.height).context("frame size")?;
        p.fill(Color::from_rgba8((v >> 16) as u8, (v >> 8) as u8, v as u8, 255));
        return Ok(p);
    }
    let path = Path::new(spec);
    if !path.is_file() {
        bail!("file not found: give an .svg, .png or .jpg that exists, or a colour #rrggbb");
    }
    let mut out = Pixmap::new(size.width, size.height).context("frame size")?;
    out.fill(Color::BLACK);
    let layer = match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("svg") => {
            let tree = raster::load_svg_file(path)?;
            let s = tree.size();
            // Cover the frame, centred.
            let scale = (size.width as f32 / s.width()).max(size.height as f32 / s.height());
            let (dx, dy) = ((size.width as f32 - s.width() * scale) / 2.0, (size.height as f32 - s.height() * scale) / 2.0);
            raster::render_svg(&tree, size.width, size.height, scale, dx, dy)?
        }
        Some("png" | "jpg" | "jpeg") => raster::load_image_cover(path, size.width, size.height)?,
        _ => bail!("unsupported background type: use .svg, .png, .jpg or a colour #rrggbb"),
    };
    // Transparent parts of the art show black rather than garbage.
    out.draw_pixmap(0, 0, layer.as_ref(), &PixmapPaint::default(), Transform::identity(), None);
    Ok(out)
}
