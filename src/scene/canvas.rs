//! The frame as it stays from one frame to the next: an RGBA canvas, always whole,
//! and the I420 planes the encoder takes, both updated only inside the regions that
//! changed. Most of a shop stream stands still (background, label, logo, a card),
//! so a frame costs what moved in it, not its size.

use resvg::tiny_skia::Pixmap;

pub use crate::raster::Region;

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
    /// mean of each 2x2 block.
    pub fn convert(&mut self, region: &Region) {
        let (w, h) = (self.width(), self.height());
        // Grown to even corners: I420 carries one chroma sample per 2x2 pixels.
        let r = Region { x0: region.x0 & !1, y0: region.y0 & !1, x1: ((region.x1 + 1) & !1).min(w), y1: ((region.y1 + 1) & !1).min(h) };
        let (w, luma) = (w as usize, (w * h) as usize);
        let cw = w / 2;
        let rgba = self.rgba.data();
        let (y_plane, chroma) = self.i420.split_at_mut(luma);
        let (u_plane, v_plane) = chroma.split_at_mut(luma / 4);
        let dot = |k: &[i32; 3], p: &[u8]| k[0] * p[0] as i32 + k[1] * p[1] as i32 + k[2] * p[2] as i32;
        for y in (r.y0 as usize..r.y1 as usize).step_by(2) {
            let pair = y + 1 < h as usize;
            for x in (r.x0 as usize..r.x1 as usize).step_by(2) {
                let mut sum = [0i32; 3];
                let mut n = 0;
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    let (px, py) = (x + dx, y + dy);
                    if px >= w || (dy == 1 && !pair) {
                        continue;
                    }
                    let p = &rgba[(py * w + px) * 4..][..3];
                    y_plane[py * w + px] = ((dot(&Y, p) + (16 << 16) + (1 << 15)) >> 16) as u8;
                    for c in 0..3 {
                        sum[c] += p[c] as i32;
                    }
                    n += 1;
                }
                let mean = sum.map(|s| (s + n / 2) / n);
                let m = [mean[0] as u8, mean[1] as u8, mean[2] as u8];
                let c = (y / 2) * cw + x / 2;
                u_plane[c] = ((dot(&U, &m) + (128 << 16) + (1 << 15)) >> 16).clamp(0, 255) as u8;
                v_plane[c] = ((dot(&V, &m) + (128 << 16) + (1 << 15)) >> 16).clamp(0, 255) as u8;
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
