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
        for y in (y0..y1).step_by(2) {
            let rows = [&rgba[(y * w + x0) * 4..(y * w + x1) * 4], &rgba[((y + 1) * w + x0) * 4..((y + 1) * w + x1) * 4]];
            let (luma0, luma1) = y_plane[y * w..(y + 2) * w].split_at_mut(w);
            let c = (y / 2) * (w / 2) + x0 / 2;
            let n = (x1 - x0) / 2;
            convert_rows(rows, [&mut luma0[x0..x1], &mut luma1[x0..x1]], &mut u_plane[c..c + n], &mut v_plane[c..c + n]);
        }
    }
}

/// Two RGBA rows (an even number of pixels) to their two luma rows and one row of
/// each chroma plane.
fn convert_rows(rgba: [&[u8]; 2], luma: [&mut [u8]; 2], u: &mut [u8], v: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        // SSE2 is part of x86-64: eight pixels a step, the same integer arithmetic.
        let [l0, l1] = luma;
        let done = sse2::convert_rows(rgba, [&mut *l0, &mut *l1], u, v);
        convert_rows_scalar([&rgba[0][done * 4..], &rgba[1][done * 4..]], [&mut l0[done..], &mut l1[done..]], &mut u[done / 2..], &mut v[done / 2..]);
    }
    #[cfg(not(target_arch = "x86_64"))]
    convert_rows_scalar(rgba, luma, u, v);
}

fn convert_rows_scalar(rgba: [&[u8]; 2], luma: [&mut [u8]; 2], u: &mut [u8], v: &mut [u8]) {
    let luma_of = |p: &[u8]| ((Y[0] * p[0] as i32 + Y[1] * p[1] as i32 + Y[2] * p[2] as i32 + (16 << 16) + (1 << 15)) >> 16) as u8;
    for (out, row) in luma.into_iter().zip(rgba) {
        for (o, p) in out.iter_mut().zip(row.chunks_exact(4)) {
            *o = luma_of(p);
        }
    }
    for ((u, v), (a, b)) in u.iter_mut().zip(v.iter_mut()).zip(rgba[0].chunks_exact(8).zip(rgba[1].chunks_exact(8))) {
        // Sums of four pixels: the mean's coefficients are a quarter.
        let sum = |c: usize| a[c] as i32 + a[c + 4] as i32 + b[c] as i32 + b[c + 4] as i32;
        let (r, g, bl) = (sum(0), sum(1), sum(2));
        *u = ((U[0] * r + U[1] * g + U[2] * bl + (128 << 18) + (1 << 17)) >> 18).clamp(0, 255) as u8;
        *v = ((V[0] * r + V[1] * g + V[2] * bl + (128 << 18) + (1 << 17)) >> 18).clamp(0, 255) as u8;
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    use super::{U, V, Y};

    /// Converts the longest multiple of eight pixels; returns how many.
    pub fn convert_rows(rgba: [&[u8]; 2], luma: [&mut [u8]; 2], u: &mut [u8], v: &mut [u8]) -> usize {
        let blocks = rgba[0].len() / 32;
        // SAFETY: SSE2 is always there on x86-64, and every load and store stays inside
        // the slices (blocks of 32 RGBA bytes, 8 luma and 4 chroma bytes, bounds asserted).
        unsafe {
            assert!(rgba[1].len() >= blocks * 32 && luma[0].len() >= blocks * 8 && luma[1].len() >= blocks * 8);
            assert!(u.len() >= blocks * 4 && v.len() >= blocks * 4);
            let zero = _mm_setzero_si128();
            // Luma's coefficients are even: halved, they fit 16 bits and give the same result.
            let cy = _mm_setr_epi16((Y[0] / 2) as i16, (Y[1] / 2) as i16, (Y[2] / 2) as i16, 0, (Y[0] / 2) as i16, (Y[1] / 2) as i16, (Y[2] / 2) as i16, 0);
            let cu = _mm_setr_epi16(U[0] as i16, U[1] as i16, U[2] as i16, 0, U[0] as i16, U[1] as i16, U[2] as i16, 0);
            let cv = _mm_setr_epi16(V[0] as i16, V[1] as i16, V[2] as i16, 0, V[0] as i16, V[1] as i16, V[2] as i16, 0);
            let y_bias = _mm_set1_epi32((16 << 15) + (1 << 14));
            let c_bias = _mm_set1_epi32((128 << 18) + (1 << 17));
            // [a0+b0, a1+b1, a2+b2, a3+b3] of madd results m = [a0, b0, a1, b1], n = [a2, b2, a3, b3].
            let pair_sums = |m: __m128i, n: __m128i| {
                let (m, n) = (_mm_castsi128_ps(m), _mm_castsi128_ps(n));
                _mm_add_epi32(_mm_castps_si128(_mm_shuffle_ps::<0b10_00_10_00>(m, n)), _mm_castps_si128(_mm_shuffle_ps::<0b11_01_11_01>(m, n)))
            };
            for b in 0..blocks {
                let mut sums = [zero; 4];
                for (r, row) in rgba.iter().enumerate() {
                    let p = row.as_ptr().add(b * 32);
                    let (q0, q1) = (_mm_loadu_si128(p as *const __m128i), _mm_loadu_si128(p.add(16) as *const __m128i));
                    let px = [_mm_unpacklo_epi8(q0, zero), _mm_unpackhi_epi8(q0, zero), _mm_unpacklo_epi8(q1, zero), _mm_unpackhi_epi8(q1, zero)];
                    let lo = pair_sums(_mm_madd_epi16(px[0], cy), _mm_madd_epi16(px[1], cy));
                    let hi = pair_sums(_mm_madd_epi16(px[2], cy), _mm_madd_epi16(px[3], cy));
                    let y32 = [_mm_srai_epi32::<15>(_mm_add_epi32(lo, y_bias)), _mm_srai_epi32::<15>(_mm_add_epi32(hi, y_bias))];
                    let y8 = _mm_packus_epi16(_mm_packs_epi32(y32[0], y32[1]), zero);
                    _mm_storel_epi64(luma[r].as_mut_ptr().add(b * 8) as *mut __m128i, y8);
                    for k in 0..4 {
                        sums[k] = _mm_add_epi16(sums[k], px[k]);
                    }
                }
                // Each 128-bit lane pair holds two pixels of two rows: add its halves for
                // the 2x2 sums, two chroma samples per pair of lanes.
                let quad = |k: usize| _mm_add_epi16(sums[k], _mm_srli_si128::<8>(sums[k]));
                let s01 = _mm_unpacklo_epi64(quad(0), quad(1));
                let s23 = _mm_unpacklo_epi64(quad(2), quad(3));
                let chroma = |c: __m128i| {
                    let t = pair_sums(_mm_madd_epi16(s01, c), _mm_madd_epi16(s23, c));
                    let t = _mm_srai_epi32::<18>(_mm_add_epi32(t, c_bias));
                    _mm_cvtsi128_si32(_mm_packus_epi16(_mm_packs_epi32(t, zero), zero))
                };
                (u.as_mut_ptr().add(b * 4) as *mut i32).write_unaligned(chroma(cu));
                (v.as_mut_ptr().add(b * 4) as *mut i32).write_unaligned(chroma(cv));
            }
        }
        blocks * 8
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

    #[test]
    fn vector_conversion_equals_scalar() {
        // Every byte value in every channel, at widths with and without a tail.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for pixels in [2usize, 8, 14, 64, 190] {
            let rows = [crate::raster::test_bytes(&mut seed, pixels * 4), crate::raster::test_bytes(&mut seed, pixels * 4)];
            let run = |f: fn([&[u8]; 2], [&mut [u8]; 2], &mut [u8], &mut [u8])| {
                let (mut l0, mut l1, mut u, mut v) = (vec![0; pixels], vec![0; pixels], vec![0; pixels / 2], vec![0; pixels / 2]);
                f([&rows[0], &rows[1]], [&mut l0, &mut l1], &mut u, &mut v);
                (l0, l1, u, v)
            };
            assert_eq!(run(convert_rows), run(convert_rows_scalar), "{pixels} pixels");
        }
    }
}
