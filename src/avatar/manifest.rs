//! What every pack's manifest shares: reading avatar.toml, the framing rectangles,
//! and where the art lands in the frame.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

pub fn read_manifest(pack: &Path) -> Result<String> {
    std::fs::read_to_string(pack.join("avatar.toml"))
        .with_context(|| format!("avatar pack {}: cannot read avatar.toml; check `avatar.pack`", pack.display()))
}

/// Canvas rectangles [x, y, width, height] that fill the frame's height.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FramingRects {
    pub half: [f32; 4],
    pub full: [f32; 4],
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
