//! Chroma key: a green or blue screen becomes transparent. Distance from the screen's
//! colour is measured in the CbCr plane (brightness apart, so shadows on the screen
//! key out too), with a soft edge and the screen's colour cast removed from the
//! person (spill).

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// `[key]` in a video pack's avatar.toml.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// "green", "blue" or the screen's measured colour "#rrggbb" (what `avatar import` writes).
    pub color: String,
    /// Colours this close to the screen's (0-1, in chroma) are fully transparent.
    #[serde(default = "default_tolerance")]
    pub tolerance: f32,
    /// Width of the soft edge beyond `tolerance`.
    #[serde(default = "default_softness")]
    pub softness: f32,
    /// Remove the screen's colour cast from hair and edges.
    #[serde(default = "default_spill")]
    pub spill: bool,
}

fn default_tolerance() -> f32 {
    0.12
}
fn default_softness() -> f32 {
    0.10
}
fn default_spill() -> bool {
    true
}

#[derive(Debug, Clone, Copy)]
pub struct ChromaKey {
    cb: f32,
    cr: f32,
    lo: f32,
    hi: f32,
    /// The screen's dominant channel (1 green, 2 blue), when spill is removed.
    spill: Option<usize>,
}

fn chroma(r: f32, g: f32, b: f32) -> (f32, f32) {
    (-0.1687 * r - 0.3313 * g + 0.5 * b, 0.5 * r - 0.4187 * g - 0.0813 * b)
}

/// "green", "blue" or "#rrggbb" to RGB.
pub fn parse_color(s: &str) -> Result<[u8; 3]> {
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "green" => [0x00, 0xb1, 0x40],
        "blue" => [0x00, 0x47, 0xbb],
        hex if hex.len() == 7 && hex.starts_with('#') => match u32::from_str_radix(&hex[1..], 16) {
            Ok(v) => [(v >> 16) as u8, (v >> 8) as u8, v as u8],
            Err(_) => bail!("`{s}` is not a colour: write \"green\", \"blue\" or \"#rrggbb\""),
        },
        _ => bail!("`{s}` is not a colour: write \"green\", \"blue\" or \"#rrggbb\""),
    })
}

impl ChromaKey {
    pub fn new(settings: &KeySettings) -> Result<ChromaKey> {
        let [r, g, b] = parse_color(&settings.color)?;
        if !(0.0..=1.0).contains(&settings.tolerance) || !(0.0..=1.0).contains(&settings.softness) {
            bail!("`key.tolerance` and `key.softness` are between 0 and 1");
        }
        let (cb, cr) = chroma(r as f32, g as f32, b as f32);
        if (cb * cb + cr * cr).sqrt() < 20.0 {
            bail!("key colour {} is nearly grey: a screen must be a strong green or blue", settings.color);
        }
        let spill = settings.spill.then(|| if g >= b { 1 } else { 2 });
        Ok(ChromaKey { cb, cr, lo: settings.tolerance * 255.0, hi: (settings.tolerance + settings.softness.max(1e-3)) * 255.0, spill })
    }

    /// Opacity 0-1 of one pixel.
    pub fn alpha(&self, r: u8, g: u8, b: u8) -> f32 {
        let (cb, cr) = chroma(r as f32, g as f32, b as f32);
        let d = ((cb - self.cb).powi(2) + (cr - self.cr).powi(2)).sqrt();
        ((d - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Keys a straight RGBA frame in place and premultiplies it (ready to draw).
    pub fn apply(&self, rgba: &mut [u8]) {
        for p in rgba.chunks_exact_mut(4) {
            let a = self.alpha(p[0], p[1], p[2]);
            if let Some(c) = self.spill {
                let others = if c == 1 { p[0].max(p[2]) } else { p[0].max(p[1]) };
                p[c] = p[c].min(others);
            }
            for v in &mut p[..3] {
                *v = (*v as f32 * a + 0.5) as u8;
            }
            p[3] = (a * 255.0 + 0.5) as u8;
        }
    }
}

/// The screen's colour: the median of the frame's border pixels (the person stands
/// inside it), for `avatar import`.
pub fn measure_screen(rgba: &[u8], width: u32, height: u32) -> [u8; 3] {
    let (w, h) = (width as usize, height as usize);
    let mut border = Vec::new();
    for y in 0..h {
        for x in 0..w {
            let edge = x < w / 20 || x >= w - w / 20 || y < h / 40;
            if edge {
                let i = (y * w + x) * 4;
                border.push([rgba[i], rgba[i + 1], rgba[i + 2]]);
            }
        }
    }
    let median = |c: usize| {
        let mut v: Vec<u8> = border.iter().map(|p| p[c]).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    [median(0), median(1), median(2)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_keys_out_and_people_stay() {
        let key = ChromaKey::new(&KeySettings { color: "#2fb34a".into(), tolerance: 0.12, softness: 0.1, spill: true }).unwrap();
        // Lit and shadowed screen: transparent.
        assert_eq!(key.alpha(0x2f, 0xb3, 0x4a), 0.0);
        assert_eq!(key.alpha(0x1c, 0x70, 0x2e), 0.0);
        // Skin, white shirt, dark hair, blue jeans: opaque.
        for c in [[224, 172, 140], [245, 245, 240], [40, 30, 25], [50, 70, 140]] {
            assert_eq!(key.alpha(c[0], c[1], c[2]), 1.0, "{c:?}");
        }
        let mut px = [0x2f, 0xb3, 0x4a, 255, 224, 190, 140, 255];
        key.apply(&mut px);
        assert_eq!(px[3], 0);
        assert_eq!(px[..3], [0, 0, 0]);
        // Spill: green no higher than red or blue.
        assert_eq!(px[4..], [224, 190.min(224), 140, 255]);
        assert!(ChromaKey::new(&KeySettings { color: "#808080".into(), tolerance: 0.1, softness: 0.1, spill: false }).is_err());
        assert!(parse_color("greenish").is_err());
    }
}
