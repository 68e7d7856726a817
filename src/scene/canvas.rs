//! The frame as it stays from one frame to the next: an RGBA canvas, always whole,
//! and the I420 planes the encoder takes, both updated only inside the regions that
//! changed. Most of a shop stream stands still (background, label, logo, a card),
//! so a frame costs what moved in it, not its size.

use resvg::tiny_skia::Pixmap;

use crate::raster::Region;

/// Merges overlapping regions into their bounding boxes until none overlap.
pub fn merge(regions: &mut Vec<Region>) {
    let mut i = 0;
    while i < regions.len() {
        match (i + 1..regions.len()).find(|&j| regions[i].intersects(&regions[j])) {
            Some(j) => {
                let other = regions.swap_remove(j);
                regions[i] = regions[i].union(&other);
                i = 0;
            }
            None => i += 1,
        }
    }
}

/// BT.709, limited range, in 1/65536: what GStreamer assumes for I420 frames taller
/// than 576 lines (the encoder's caps carry no colorimetry, so videoconvert and
/// decoders take the same default).
const Y: [i32; 3] = [11966, 40254, 4064];
const U: [i32; 3] = [-6596, -22189, 28785];
const V: [i32; 3] = [28785, -26145, -2640];

pub struct Canvas {
    /// Premultiplied RGBA, opaque where the background is.
    pub rgba: Pixmap,
    /// Y plane, then U, then V (each a quarter of Y).
    i420: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32) -> Canvas {
        debug_assert!(width % 2 == 0 && height % 2 == 0, "I420 needs even sides");
        let rgba = Pixmap::new(width, height).expect("frame size is checked by the config");
        let luma = (width * height) as usize;
        let mut i420 = vec![16u8; luma + luma / 2];
        i420[luma..].fill(128);
        Canvas { rgba, i420 }
    }

    pub fn width(&self) -> u32 {
        self.rgba.width()
    }

    pub fn height(&self) -> u32 {
        self.rgba.height()
    }

    pub fn whole(&self) -> Region {
        Region { x0: 0, y0: 0, x1: self.width(), y1: self.height() }
    }

    /// The frame for the encoder: width x height luma, then the two half-size chroma planes.
    pub fn i420(&self) -> &[u8] {
        &self.i420
    }

    /// Bytes of an I420 frame of this size.
    pub fn i420_len(width: u32, height: u32) -> usize {
        let luma = (width * height) as usize;
        luma + luma / 2
    }

    /// Copies `region` of `source` (a frame-sized RGBA image) into the canvas.
    pub fn copy_from(&mut self, source: &[u8], region: &Region) {
        let w = self.width() as usize;
        let data = self.rgba.data_mut();
        for y in region.y0 as usize..region.y1 as usize {
            let row = (y * w + region.x0 as usize) * 4..(y * w + region.x1 as usize) * 4;
            data[row.clone()].copy_from_slice(&source[row]);
        }
    }

    /// Converts `region` of the canvas (grown to even corners) to I420. Chroma is the
    /// mean of each 2x2 block. The frame's sides are even (the config checks).
    pub fn convert(&mut self, region: &Region) {
        let (w, h) = (self.width() as usize, self.height() as usize);
        let x0 = region.x0 as usize & !1;
        let y0 = region.y0 as usize & !1;
        let x1 = ((region.x1 as usize + 1) & !1).min(w);
        let y1 = ((region.y1 as usize + 1) & !1).min(h);
        let luma = w * h;
        let rgba = self.rgba.data();
        let (y_plane, chroma) = self.i420.split_at_mut(luma);
        let (u_plane, v_plane) = chroma.split_at_mut(luma / 4);
        let luma_of = |p: &[u8]| ((Y[0] * p[0] as i32 + Y[1] * p[1] as i32 + Y[2] * p[2] as i32 + (16 << 16) + (1 << 15)) >> 16) as u8;
        for y in (y0..y1).step_by(2) {
            let rows = [&rgba[(y * w + x0) * 4..(y * w + x1) * 4], &rgba[((y + 1) * w + x0) * 4..((y + 1) * w + x1) * 4]];
            for (dy, row) in rows.iter().enumerate() {
                let out = &mut y_plane[(y + dy) * w + x0..(y + dy) * w + x1];
                for (o, p) in out.iter_mut().zip(row.chunks_exact(4)) {
                    *o = luma_of(p);
                }
            }
            let c = (y / 2) * (w / 2) + x0 / 2;
            let (us, vs) = (&mut u_plane[c..c + (x1 - x0) / 2], &mut v_plane[c..c + (x1 - x0) / 2]);
            for ((u, v), (a, b)) in us.iter_mut().zip(vs.iter_mut()).zip(rows[0].chunks_exact(8).zip(rows[1].chunks_exact(8))) {
                // Sums of four pixels: the mean's coefficients are a quarter.
                let sum = |c: usize| a[c] as i32 + a[c + 4] as i32 + b[c] as i32 + b[c + 4] as i32;
                let (r, g, bl) = (sum(0), sum(1), sum(2));
                *u = ((U[0] * r + U[1] * g + U[2] * bl + (128 << 18) + (1 << 17)) >> 18).clamp(0, 255) as u8;
                *v = ((V[0] * r + V[1] * g + V[2] * bl + (128 << 18) + (1 << 17)) >> 18).clamp(0, 255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_regions_merge_and_apart_ones_stay() {
        let r = |x0, y0, x1, y1| Region { x0, y0, x1, y1 };
        let mut v = vec![r(0, 0, 10, 10), r(50, 50, 60, 60), r(5, 5, 20, 20), r(18, 0, 30, 4)];
        merge(&mut v);
        v.sort_by_key(|r| r.x0);
        assert_eq!(v, vec![r(0, 0, 30, 20), r(50, 50, 60, 60)]);
    }

    #[test]
    fn primaries_convert_to_bt709_limited_range() {
        let mut c = Canvas::new(4, 2);
        for (i, px) in c.rgba.data_mut().chunks_exact_mut(4).enumerate() {
            px.copy_from_slice(&[[255, 255, 255, 255], [0, 0, 0, 255], [255, 0, 0, 255], [0, 0, 255, 255]][i % 4]);
        }
        c.convert(&Region { x0: 0, y0: 0, x1: 4, y1: 2 });
        let y = &c.i420()[..8];
        assert_eq!([y[0], y[1], y[2], y[3]], [235, 16, 63, 32]);
        // Chroma of (white + black) / 2 is grey; of (red + blue) / 2 is purple.
        let (u, v) = (&c.i420()[8..10], &c.i420()[10..12]);
        assert_eq!((u[0], v[0]), (128, 128));
        assert!(u[1] > 140 && v[1] > 140, "{u:?} {v:?}");
    }
}
