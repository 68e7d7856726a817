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
    /// The screen's colour, RGB 0-255.
    screen: [f32; 3],
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
        Ok(ChromaKey { screen: [r, g, b].map(f32::from), cb, cr, lo: settings.tolerance * 255.0, hi: (settings.tolerance + settings.softness.max(1e-3)) * 255.0, spill })
    }

    /// Opacity 0-1 of a colour given by its chroma.
    fn alpha_of(&self, (cb, cr): (f32, f32)) -> f32 {
        let d = ((cb - self.cb).powi(2) + (cr - self.cr).powi(2)).sqrt();
        ((d - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Opacity 0-1 of one pixel.
    pub fn alpha(&self, r: u8, g: u8, b: u8) -> f32 {
        self.alpha_of(chroma(r as f32, g as f32, b as f32))
    }

    /// Keys a straight RGBA frame `width` pixels wide in place and premultiplies it
    /// (ready to draw). The frame (or the part of it) must start at even footage
    /// coordinates.
    ///
    /// Opacity is read from chroma, and footage keeps one chroma sample per 2x2 pixels
    /// (4:2:0), which the decoder repeats over the block: keyed pixel by pixel, an edge
    /// would step every two pixels. So each block's chroma is taken once and
    /// interpolated between block centres; colour stays as decoded.
    ///
    /// A pixel on the person's edge is part person, part screen: its premultiplied
    /// colour is what is left once the screen's share, 1 - opacity, of the screen's
    /// colour is taken out (so the edge blends into the new background without a
    /// green or dark rim). Spill then caps the screen's channel at the others: the
    /// cast the screen throws on hair and skin.
    pub fn apply(&self, rgba: &mut [u8], width: usize) {
        let height = rgba.len() / 4 / width;
        let blocks = BlockChroma::of(rgba, width, height);
        for y in 0..height {
            for x in 0..width {
                let a = self.alpha_of(blocks.at(x, y));
                let p = &mut rgba[(y * width + x) * 4..][..4];
                let mut c = [0, 1, 2].map(|i| (p[i] as f32 - (1.0 - a) * self.screen[i]).clamp(0.0, 255.0 * a));
                if let Some(s) = self.spill {
                    let others = if s == 1 { c[0].max(c[2]) } else { c[0].max(c[1]) };
                    c[s] = c[s].min(others);
                }
                for (v, c) in p[..3].iter_mut().zip(c) {
                    *v = (c + 0.5) as u8;
                }
                p[3] = (a * 255.0 + 0.5) as u8;
            }
        }
    }
}

/// A frame's chroma, one (Cb, Cr) per 2x2 block (the mean of its pixels), read back
/// bilinearly between block centres.
struct BlockChroma {
    cols: usize,
    rows: usize,
    chroma: Vec<(f32, f32)>,
}

impl BlockChroma {
    fn of(rgba: &[u8], width: usize, height: usize) -> BlockChroma {
        let (cols, rows) = (width.div_ceil(2), height.div_ceil(2));
        let mut sums = vec![(0f32, 0f32, 0f32); cols * rows];
        for (i, p) in rgba.chunks_exact(4).enumerate() {
            let (x, y) = (i % width, i / width);
            let (cb, cr) = chroma(p[0] as f32, p[1] as f32, p[2] as f32);
            let s = &mut sums[y / 2 * cols + x / 2];
            *s = (s.0 + cb, s.1 + cr, s.2 + 1.0);
        }
        BlockChroma { cols, rows, chroma: sums.into_iter().map(|(cb, cr, n)| (cb / n, cr / n)).collect() }
    }

    /// Pixel (x, y)'s chroma: block centres sit at pixel 2k + 1 (between its two pixels).
    fn at(&self, x: usize, y: usize) -> (f32, f32) {
        let place = |v: usize, n: usize| {
            let g = ((v as f32 - 0.5) / 2.0).clamp(0.0, (n - 1) as f32);
            let i = (g as usize).min(n.saturating_sub(2));
            (i, (i + 1).min(n - 1), g - i as f32)
        };
        let ((x0, x1, fx), (y0, y1, fy)) = (place(x, self.cols), place(y, self.rows));
        let c = |bx: usize, by: usize| self.chroma[by * self.cols + bx];
        let lerp = |a: (f32, f32), b: (f32, f32), t: f32| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        lerp(lerp(c(x0, y0), c(x1, y0), fx), lerp(c(x0, y1), c(x1, y1), fx), fy)
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
        // Screen and skin, each a 2x2 block (one chroma sample each).
        let mut px: Vec<u8> = [[0x2f, 0xb3, 0x4a, 255], [224, 190, 140, 255]].iter().flat_map(|p| [*p, *p]).collect::<Vec<_>>().repeat(2).concat();
        key.apply(&mut px, 4);
        assert_eq!(px[..4], [0, 0, 0, 0]);
        // Spill: green no higher than red or blue.
        assert_eq!(px[12..16], [224, 190.min(224), 140, 255]);
        assert!(ChromaKey::new(&KeySettings { color: "#808080".into(), tolerance: 0.1, softness: 0.1, spill: false }).is_err());
        assert!(parse_color("greenish").is_err());
    }

    #[test]
    fn an_edge_inside_a_chroma_block_is_graded_pixel_by_pixel() {
        let key = ChromaKey::new(&KeySettings { color: "#2fb34a".into(), tolerance: 0.12, softness: 0.1, spill: true }).unwrap();
        // Three 2x2 blocks as a 4:2:0 decoder hands them over: screen, an edge block
        // (half skin: its one chroma sample is the mix), skin.
        let (screen, skin) = ([0x2f, 0xb3, 0x4a, 255], [224u8, 172, 140, 255]);
        let mix: [u8; 4] = std::array::from_fn(|i| ((screen[i] as u16 + skin[i] as u16) / 2) as u8);
        let row: Vec<u8> = [screen, screen, mix, mix, skin, skin].concat();
        let mut px = row.repeat(2);
        key.apply(&mut px, 6);
        let opacity: Vec<u8> = (0..6).map(|x| px[x * 4 + 3]).collect();
        // The edge block's two pixels differ (a decoder's copy of one sample would not),
        // rising towards the skin.
        assert!(opacity[1] < opacity[2] && opacity[2] < opacity[3] && opacity[3] < opacity[4], "opacity across the edge: {opacity:?}");
        assert_eq!((opacity[0], opacity[5]), (0, 255));
    }

    #[test]
    fn an_edge_pixel_blends_into_a_new_background_like_the_person_would() {
        let key = ChromaKey::new(&KeySettings { color: "#2fb34a".into(), tolerance: 0.12, softness: 0.1, spill: true }).unwrap();
        // Half skin, half screen (a pixel the person's outline crosses), laid over white.
        let (skin, screen) = ([224f32, 172.0, 140.0], [47f32, 179.0, 74.0]);
        let mix = [0, 1, 2].map(|i| ((skin[i] + screen[i]) / 2.0).round() as u8);
        let mut px = [mix[0], mix[1], mix[2], 255].repeat(4);
        key.apply(&mut px, 2);
        let a = px[3] as f32 / 255.0;
        assert!((a - 0.5).abs() < 0.1, "opacity {a}");
        for i in 0..3 {
            let shown = px[i] as f32 + (1.0 - a) * 255.0;
            let person_over_white = (skin[i] + 255.0) / 2.0;
            assert!((shown - person_over_white).abs() < 8.0, "channel {i}: {shown} where half skin over white is {person_over_white}");
        }
    }
}
