//! The product card: picture, name, price with the original price struck through,
//! and a countdown while a sale runs. Drawn once per change (the countdown changes
//! once a second), composited every frame.

use anyhow::Result;
use resvg::tiny_skia::{Pixmap, PixmapPaint, Transform};

use crate::frame::FrameSize;
use crate::raster::{self, Placed};
use crate::show::file::Product;

pub struct CardLayout {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub scale: f32,
}

impl CardLayout {
    /// Lower part of the frame, over the host's body.
    pub fn for_frame(size: FrameSize) -> CardLayout {
        let scale = (size.width as f32 / 720.0).min(size.height as f32 / 1280.0);
        let (w, h) = (640.0 * scale, 190.0 * scale);
        CardLayout { x: (size.width as f32 - w) / 2.0, y: size.height as f32 - h - 60.0 * scale, w, h, scale }
    }
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// "mm:ss" for the countdown.
pub fn countdown(seconds: u64) -> String {
    format!("{:02}:{:02}", seconds / 60, seconds % 60)
}

/// Renders the card for `product`, with `sale_left` seconds of sale when one runs.
pub fn render(layout: &CardLayout, product: &Product, picture: Option<&Pixmap>, sale_left: Option<u64>) -> Result<Placed> {
    let s = layout.scale;
    let (w, h) = (layout.w, layout.h);
    let text_x = if picture.is_some() { 190.0 * s } else { 30.0 * s };
    let mut body = String::new();
    // Long names shrink to fit the card (bold glyphs average ~0.62 em, CJK 1 em).
    let room = w - text_x - 24.0 * s;
    let ems: f32 = product.name.chars().map(|c| if c.is_ascii() { 0.62 } else { 1.0 }).sum();
    let name_size = (32.0 * s).min(room / ems.max(1.0));
    body.push_str(&format!(
        r##"<text x="{text_x}" y="{}" font-family="DejaVu Sans, WenQuanYi Micro Hei, sans-serif" font-size="{name_size}" font-weight="bold" fill="#1f2430">{}</text>"##,
        58.0 * s,
        xml_escape(&product.name)
    ));
    if let Some(price) = &product.price {
        body.push_str(&format!(
            r##"<text x="{text_x}" y="{}" font-family="DejaVu Sans, sans-serif" font-size="{}" font-weight="bold" fill="#e0243c">{}</text>"##,
            122.0 * s,
            50.0 * s,
            xml_escape(price)
        ));
        if let Some(orig) = &product.original_price {
            // Struck through: a line over the text, its width estimated from the glyph count.
            let px = text_x + (price.chars().count() as f32 * 0.64 * 50.0 + 22.0) * s;
            let ow = orig.chars().count() as f32 * 0.6 * 28.0 * s;
            body.push_str(&format!(
                r##"<text x="{px}" y="{}" font-family="DejaVu Sans, sans-serif" font-size="{}" fill="#8a8f99">{}</text><line x1="{px}" y1="{ly}" x2="{}" y2="{ly}" stroke="#8a8f99" stroke-width="{}"/>"##,
                120.0 * s,
                28.0 * s,
                xml_escape(orig),
                px + ow,
                2.5 * s,
                ly = 111.0 * s,
            ));
        }
    }
    if let Some(left) = sale_left {
        body.push_str(&format!(
            r##"<rect x="{text_x}" y="{}" width="{}" height="{}" rx="{}" fill="#e0243c"/><text x="{}" y="{}" font-family="DejaVu Sans, sans-serif" font-size="{}" font-weight="bold" fill="#ffffff">Sale ends in {}</text>"##,
            140.0 * s,
            300.0 * s,
            38.0 * s,
            10.0 * s,
            text_x + 14.0 * s,
            168.0 * s,
            24.0 * s,
            countdown(left)
        ));
    }
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><rect width="{w}" height="{h}" rx="{r}" fill="#ffffff" fill-opacity="0.96"/>{body}</svg>"##,
        r = 22.0 * s
    );
    let tree = raster::parse_svg(svg.as_bytes(), "product card")?;
    let mut pixmap = raster::render_svg(&tree, w.ceil() as u32, h.ceil() as u32, 1.0, 0.0, 0.0)?;
    if let Some(pic) = picture {
        let m = ((h - pic.height() as f32) / 2.0) as i32;
        pixmap.draw_pixmap(m, m, pic.as_ref(), &PixmapPaint::default(), Transform::identity(), None);
    }
    Ok(Placed { pixmap, x: layout.x as i32, y: layout.y as i32 })
}

/// The product picture, fitted into a square of `side` pixels.
pub fn load_picture(path: &std::path::Path, side: u32) -> Result<Pixmap> {
    match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
        Some("svg") => {
            let tree = raster::load_svg_file(path)?;
            let sz = tree.size();
            let scale = side as f32 / sz.width().max(sz.height());
            let (dx, dy) = ((side as f32 - sz.width() * scale) / 2.0, (side as f32 - sz.height() * scale) / 2.0);
            raster::render_svg(&tree, side, side, scale, dx, dy)
        }
        _ => raster::load_image_cover(path, side, side),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_reads_minutes_and_seconds() {
        assert_eq!(countdown(599), "09:59");
        assert_eq!(countdown(0), "00:00");
        assert_eq!(xml_escape("A&B <C>"), "A&amp;B &lt;C&gt;");
    }
}
