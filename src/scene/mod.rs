//! The frame: background, the host, and the always-visible "AI-generated" label.

pub mod label;

use std::path::Path;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{Color, FilterQuality, Pixmap, PixmapMut, PixmapPaint, Transform};

use crate::avatar::{Avatar, Pose};
use crate::config::{Config, FrameSize};
use crate::raster::{self, Placed};

pub struct Scene {
    pub size: FrameSize,
    background: Pixmap,
    pub avatar: Avatar,
    label: Placed,
}

impl Scene {
    pub fn new(config: &Config) -> Result<Scene> {
        let size = config.video.size;
        let background = load_background(&config.scene.background, size)
            .with_context(|| format!("`scene.background` = \"{}\"", config.scene.background))?;
        let avatar = Avatar::load(&config.avatar.pack, size.width, size.height)?;
        let label = label::render(size, config.scene.label_position)?;
        Ok(Scene { size, background, avatar, label })
    }

    /// Draws one frame into `frame` (premultiplied RGBA, the output size).
    pub fn render(&self, frame: &mut PixmapMut, pose: &Pose) {
        frame.data_mut().copy_from_slice(self.background.data());
        self.avatar.draw(frame, pose);
        let paint = PixmapPaint { quality: FilterQuality::Nearest, ..Default::default() };
        frame.draw_pixmap(self.label.x, self.label.y, self.label.pixmap.as_ref(), &paint, Transform::identity(), None);
    }

    pub fn frame_bytes(&self) -> usize {
        (self.size.width * self.size.height * 4) as usize
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
