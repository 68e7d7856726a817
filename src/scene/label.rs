//! The "AI-generated" label: on every frame, not something a config can switch off
//! (deep-synthesis labelling rules, EU AI Act Art. 50; docs/design.md § Consent and labels).

use anyhow::{Result, bail};

use crate::config::LabelPosition;
use crate::frame::FrameSize;
use crate::raster::{self, Placed};

pub const TEXT: &str = "AI-generated";

pub fn render(size: FrameSize, position: LabelPosition) -> Result<Placed> {
    if !raster::have_fonts() {
        bail!("no fonts installed for the AI-generated label: run `bash scripts/setup.sh` (Debian package fonts-dejavu-core)");
    }
    // Sized from the shorter side so it reads on a phone in either orientation.
    let font = (size.width.min(size.height) as f32 * 0.036).max(12.0);
    let (pad_x, pad_y) = (font * 0.6, font * 0.35);
    let w = font * 0.62 * TEXT.len() as f32 + 2.0 * pad_x;
    let h = font + 2.0 * pad_y;
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">
  <rect width="{w}" height="{h}" rx="{r}" fill="#000000" fill-opacity="0.6"/>
  <text x="{cx}" y="{ty}" font-family="DejaVu Sans, sans-serif" font-size="{font}" font-weight="bold" fill="#ffffff" text-anchor="middle">{TEXT}</text>
</svg>"##,
        r = h * 0.3,
        cx = w / 2.0,
        ty = pad_y + font * 0.82,
    );
    let tree = raster::parse_svg(svg.as_bytes(), "label")?;
    let pixmap = raster::render_svg(&tree, w.ceil() as u32, h.ceil() as u32, 1.0, 0.0, 0.0)?;
    let margin = (size.width.min(size.height) as f32 * 0.03) as i32;
    let (pw, ph) = (pixmap.width() as i32, pixmap.height() as i32);
    let (x, y) = match position {
        LabelPosition::TopLeft => (margin, margin),
        LabelPosition::TopRight => (size.width as i32 - pw - margin, margin),
        LabelPosition::BottomLeft => (margin, size.height as i32 - ph - margin),
        LabelPosition::BottomRight => (size.width as i32 - pw - margin, size.height as i32 - ph - margin),
    };
    Ok(Placed { pixmap, x, y })
}
