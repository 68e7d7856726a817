//! Turning art files into premultiplied RGBA pixmaps, once, at the output size.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{IntSize, Pixmap, PremultipliedColorU8, Transform};
use resvg::usvg;

/// A pixmap placed at an offset in output coordinates.
pub struct Placed {
    pub pixmap: Pixmap,
    pub x: i32,
    pub y: i32,
}

fn fonts() -> Arc<usvg::fontdb::Database> {
    static DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        db.set_sans_serif_family("DejaVu Sans");
        Arc::new(db)
    })
    .clone()
}

/// Whether any font is installed for text in the scene (the AI label).
pub fn have_fonts() -> bool {
    fonts().faces().next().is_some()
}

pub fn parse_svg(data: &[u8], origin: &str) -> Result<usvg::Tree> {
    let options = usvg::Options { fontdb: fonts(), ..Default::default() };
    usvg::Tree::from_data(data, &options).with_context(|| format!("{origin} is not a valid SVG file"))
}

/// Renders an SVG scaled by `scale` (and shifted by `dx`,`dy`) onto a `width`x`height` pixmap.
pub fn render_svg(tree: &usvg::Tree, width: u32, height: u32, scale: f32, dx: f32, dy: f32) -> Result<Pixmap> {
    let mut pixmap = Pixmap::new(width, height).context("pixmap size")?;
    let t = Transform::from_row(scale, 0.0, 0.0, scale, dx, dy);
    resvg::render(tree, t, &mut pixmap.as_mut());
    Ok(pixmap)
}

pub fn load_svg_file(path: &Path) -> Result<usvg::Tree> {
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_svg(&data, &path.display().to_string())
}

/// Loads a PNG or JPEG and covers `width`x`height` with it (scaled to fill, centred, cropped).
pub fn load_image_cover(path: &Path, width: u32, height: u32) -> Result<Pixmap> {
    let img = image::open(path)
        .with_context(|| format!("cannot decode image {}: use a PNG or JPEG file", path.display()))?
        .to_rgba8();
    let (iw, ih) = img.dimensions();
    let scale = (width as f32 / iw as f32).max(height as f32 / ih as f32);
    let (sw, sh) = (((iw as f32 * scale).round() as u32).max(width), ((ih as f32 * scale).round() as u32).max(height));
    let resized = image::imageops::resize(&img, sw, sh, image::imageops::FilterType::CatmullRom);
    let (ox, oy) = ((sw - width) / 2, (sh - height) / 2);
    let mut data = Vec::with_capacity((width * height * 4) as usize);
    for y in 0..height {
        for x in 0..width {
            let p = resized.get_pixel(x + ox, y + oy).0;
            let c = PremultipliedColorU8::from_rgba(
                ((p[0] as u16 * p[3] as u16) / 255) as u8,
                ((p[1] as u16 * p[3] as u16) / 255) as u8,
                ((p[2] as u16 * p[3] as u16) / 255) as u8,
                p[3],
            )
            .expect("premultiplied");
            data.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
        }
    }
    Pixmap::from_vec(data, IntSize::from_wh(width, height).expect("size")).context("image size")
}

/// Cuts a pixmap down to the bounding box of its visible pixels (plus a 2 px margin
/// for filtering), so per-frame drawing only touches what shows.
pub fn crop_to_content(pixmap: &Pixmap) -> Result<Placed> {
    let (w, h) = (pixmap.width() as usize, pixmap.height() as usize);
    let data = pixmap.data();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0usize, 0usize);
    for y in 0..h {
        for x in 0..w {
            if data[(y * w + x) * 4 + 3] != 0 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x1 == 0 {
        bail!("the layer draws nothing");
    }
    let m = 2;
    let (x0, y0, x1, y1) = (x0.saturating_sub(m), y0.saturating_sub(m), (x1 + m).min(w), (y1 + m).min(h));
    let (cw, ch) = (x1 - x0, y1 - y0);
    let mut out = Vec::with_capacity(cw * ch * 4);
    for y in y0..y1 {
        out.extend_from_slice(&data[(y * w + x0) * 4..(y * w + x1) * 4]);
    }
    let pixmap = Pixmap::from_vec(out, IntSize::from_wh(cw as u32, ch as u32).expect("size")).expect("crop");
    Ok(Placed { pixmap, x: x0 as i32, y: y0 as i32 })
}
