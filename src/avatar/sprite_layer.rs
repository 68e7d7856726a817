//! A sprite layer as it is drawn every frame: the body shifted sideways (sway) and
//! stretched down (breath), the head, eyes and mouth moved and tilted, all by fractions
//! of a pixel. Cartoon art is mostly flat colour, and where the four source pixels a
//! bilinear sample reads are one opaque colour (or all clear) the output is that
//! colour (or nothing), whatever the fractions. So each pair of source rows is
//! summarised once, at load, as runs: flat, clear or mixed; a frame fills the flat
//! runs, skips the clear ones and filters only the mixed ones (edges and gradients),
//! a small part of the layer.

use resvg::tiny_skia::Transform;

use crate::raster::Placed;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Clear,
    Flat([u8; 4]),
    Mixed,
}

/// Source column pairs (c, c + 1) for c in [start, end), all of one kind.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u32,
    end: u32,
    kind: Kind,
}

/// Shorter flat or clear runs are filtered as mixed ones.
const MIN_RUN: u32 = 12;

pub struct SpriteLayer {
    pub placed: Placed,
    /// Per source row r: the runs of the 2x2 neighbourhoods of rows r and r + 1.
    runs: Vec<Vec<Run>>,
}

impl SpriteLayer {
    pub fn new(placed: Placed) -> SpriteLayer {
        let (w, h) = (placed.pixmap.width() as usize, placed.pixmap.height() as usize);
        let data = placed.pixmap.data();
        let px = |x: usize, y: usize| -> [u8; 4] { data[(y * w + x) * 4..(y * w + x) * 4 + 4].try_into().expect("4 bytes") };
        let runs = (0..h.saturating_sub(1))
            .map(|r| {
                let mut row: Vec<Run> = Vec::new();
                for c in 0..w.saturating_sub(1) {
                    let (a, b, d, e) = (px(c, r), px(c + 1, r), px(c, r + 1), px(c + 1, r + 1));
                    let kind = if a == b && a == d && a == e && (a[3] == 255 || a == [0; 4]) {
                        if a[3] == 0 { Kind::Clear } else { Kind::Flat(a) }
                    } else {
                        Kind::Mixed
                    };
                    match row.last_mut() {
                        Some(last) if last.kind == kind => last.end = c as u32 + 1,
                        _ => row.push(Run { start: c as u32, end: c as u32 + 1, kind }),
                    }
                }
                // A run costs a lookup to enter: short flat and clear runs (a gradient's
                // steps) are cheaper filtered with their neighbours.
                let mut merged: Vec<Run> = Vec::with_capacity(row.len());
                for mut run in row {
                    if run.end - run.start < MIN_RUN {
                        run.kind = Kind::Mixed;
                    }
                    match merged.last_mut() {
                        Some(last) if last.kind == run.kind => last.end = run.end,
                        _ => merged.push(run),
                    }
                }
                merged
            })
            .collect();
        SpriteLayer { placed, runs }
    }

    /// Draws the layer over premultiplied RGBA `dst` (`dst_w` wide), source-over,
    /// bilinear: a source pixel (x, y) of the pixmap lands at (x + dx, y · sy + dy)
    /// (pixel centres, as tiny-skia maps them). Texels outside the pixmap are clear.
    pub fn draw_stretched(&self, dst: &mut [u8], dst_w: usize, sy: f32, dx: f32, dy: f32) {
        let src = &self.placed.pixmap;
        let (sw, sh) = (src.width() as i64, src.height() as i64);
        let dst_h = (dst.len() / 4 / dst_w) as i64;
        if sy <= 0.0 || sw < 2 || sh < 2 {
            return;
        }
        // Across, every output column o reads source columns c = o + n and c + 1 with
        // the same weight: the shift's whole and fractional parts.
        let shift = -dx;
        let n = shift.floor() as i64;
        let fx = ((shift - n as f32) * 256.0) as u32;
        // Output columns reading any source column in [-1, sw).
        let ox0 = (-1 - n).max(0);
        let ox1 = (sw - n).min(dst_w as i64);
        let oy0 = ((dy - sy).floor() as i64).max(0);
        let oy1 = (((sh as f32 + 1.0) * sy + dy).ceil() as i64).min(dst_h);
        if ox1 <= ox0 || oy1 <= oy0 {
            return;
        }
        let data = src.data();
        let texel = |x: i64, y: i64| -> [u32; 4] {
            if x < 0 || y < 0 || x >= sw || y >= sh {
                return [0; 4];
            }
            let i = ((y * sw + x) * 4) as usize;
            [data[i] as u32, data[i + 1] as u32, data[i + 2] as u32, data[i + 3] as u32]
        };
        for oy in oy0..oy1 {
            let s = (oy as f32 + 0.5 - dy) / sy - 0.5;
            let iy = s.floor() as i64;
            if iy < -1 || iy >= sh {
                continue;
            }
            let fy = ((s - iy as f32) * 256.0) as u32;
            let out = &mut dst[oy as usize * dst_w * 4..(oy as usize + 1) * dst_w * 4];
            // One output pixel filtered from its four texels, laid over.
            let filter = |out: &mut [u8], o: i64| {
                let c = o + n;
                let (a, b, d, e) = (texel(c, iy), texel(c + 1, iy), texel(c, iy + 1), texel(c + 1, iy + 1));
                let mut v = [0u32; 4];
                for k in 0..4 {
                    let top = (a[k] * (256 - fx) + b[k] * fx + 128) >> 8;
                    let bottom = (d[k] * (256 - fx) + e[k] * fx + 128) >> 8;
                    v[k] = (top * (256 - fy) + bottom * fy + 128) >> 8;
                }
                over(&mut out[o as usize * 4..o as usize * 4 + 4], v);
            };
            let (first, last) = (ox0.max(-n), (sw - 1 - n).min(ox1));
            if iy < 0 || iy + 1 >= sh || first >= last {
                // A row pair half outside the pixmap: every pixel filtered.
                (ox0..ox1).for_each(|o| filter(out, o));
                continue;
            }
            // The columns reading the column left of the pixmap, and right of it.
            (ox0..first).for_each(|o| filter(out, o));
            (last..ox1).for_each(|o| filter(out, o));
            for run in &self.runs[iy as usize] {
                let (a, b) = ((run.start as i64 - n).max(first), (run.end as i64 - n).min(last));
                if a >= b {
                    continue;
                }
                match run.kind {
                    Kind::Clear => {}
                    Kind::Flat(colour) => fill(&mut out[a as usize * 4..b as usize * 4], colour),
                    Kind::Mixed => {
                        let (r0, r1) = (iy as usize * sw as usize * 4, (iy as usize + 1) * sw as usize * 4);
                        let c = (a + n) as usize * 4..(b + n) as usize * 4 + 4;
                        filter_inside(&mut out[a as usize * 4..b as usize * 4], [&data[r0..][c.clone()], &data[r1..][c]], fx, fy);
                    }
                }
            }
        }
    }
    /// Draws the layer, placed at its offset and then moved by `t` (as tiny-skia's
    /// draw_pixmap places it), over premultiplied RGBA `dst` (`dst_w` wide):
    /// bilinear, source-over, texels outside the pixmap clear (so its edges come out
    /// smooth). Along an output row the source position steps by a constant; while it
    /// stays in one flat or clear run of one row pair, the pixels are filled or skipped
    /// at once.
    pub fn draw_moved(&self, dst: &mut [u8], dst_w: usize, t: Transform) {
        let Some(inv) = t.invert() else { return };
        let (src, x, y) = (&self.placed.pixmap, self.placed.x, self.placed.y);
        let (sw, sh) = (src.width() as i64, src.height() as i64);
        let dst_h = (dst.len() / 4 / dst_w) as i64;
        // The frame pixels the moved pixmap may cover.
        let corners = [(0, 0), (sw, 0), (0, sh), (sw, sh)].map(|(cx, cy)| {
            let (px, py) = ((cx + x as i64) as f32, (cy + y as i64) as f32);
            (t.sx * px + t.kx * py + t.tx, t.ky * px + t.sy * py + t.ty)
        });
        let fold = |f: fn(f32, f32) -> f32, init: f32, pick: fn(&(f32, f32)) -> f32| corners.iter().map(pick).fold(init, f);
        let ox0 = (fold(f32::min, f32::MAX, |c| c.0).floor() as i64 - 1).max(0);
        let ox1 = (fold(f32::max, f32::MIN, |c| c.0).ceil() as i64 + 1).min(dst_w as i64);
        let oy0 = (fold(f32::min, f32::MAX, |c| c.1).floor() as i64 - 1).max(0);
        let oy1 = (fold(f32::max, f32::MIN, |c| c.1).ceil() as i64 + 1).min(dst_h);
        let data = src.data();
        let texel = |tx: i64, ty: i64| -> [u32; 4] {
            if tx < 0 || ty < 0 || tx >= sw || ty >= sh {
                return [0; 4];
            }
            let i = ((ty * sw + tx) * 4) as usize;
            [data[i] as u32, data[i + 1] as u32, data[i + 2] as u32, data[i + 3] as u32]
        };
        // Source position (texel centres at integers) of a frame pixel centre, in 1/256 texel.
        let (du, dv) = ((inv.sx * 256.0) as i64, (inv.ky * 256.0) as i64);
        // Pixels from position p (1/256) with step d before p leaves [lo, hi) (texels).
        let steps = |p: i64, d: i64, lo: i64, hi: i64| -> i64 {
            match d {
                0 => i64::MAX,
                d if d > 0 => (hi * 256 - p + d - 1) / d,
                d => (p - lo * 256) / -d + 1,
            }
        };
        for oy in oy0..oy1 {
            let (px, py) = (ox0 as f32 + 0.5, oy as f32 + 0.5);
            let mut u = ((inv.sx * px + inv.kx * py + inv.tx - x as f32 - 0.5) * 256.0) as i64;
            let mut v = ((inv.ky * px + inv.sy * py + inv.ty - y as f32 - 0.5) * 256.0) as i64;
            let row = &mut dst[oy as usize * dst_w * 4..(oy as usize + 1) * dst_w * 4];
            let mut ox = ox0;
            while ox < ox1 {
                let (tx, ty) = (u >> 8, v >> 8);
                if !(tx >= 0 && ty >= 0 && tx + 1 < sw && ty + 1 < sh) {
                    // Reading the pixmap's border (or nothing): filtered alone.
                    if tx >= -1 && ty >= -1 && tx < sw && ty < sh {
                        let (fx, fy) = ((u & 255) as u32, (v & 255) as u32);
                        let s = bilinear([texel(tx, ty), texel(tx + 1, ty), texel(tx, ty + 1), texel(tx + 1, ty + 1)], fx, fy);
                        over(&mut row[ox as usize * 4..ox as usize * 4 + 4], s);
                    }
                    ox += 1;
                    u += du;
                    v += dv;
                    continue;
                }
                let run = self.run_at(tx, ty);
                // The pixels from here that stay in this run of this row pair.
                let stay = steps(u, du, run.start as i64, run.end as i64).min(steps(v, dv, ty, ty + 1));
                let count = stay.clamp(1, ox1 - ox);
                match run.kind {
                    Kind::Clear => {}
                    Kind::Flat(colour) => fill(&mut row[ox as usize * 4..(ox + count) as usize * 4], colour),
                    Kind::Mixed => {
                        let (r0, r1) = (&data[(ty * sw * 4) as usize..][..sw as usize * 4], &data[((ty + 1) * sw * 4) as usize..][..sw as usize * 4]);
                        filter_moved(&mut row[ox as usize * 4..(ox + count) as usize * 4], [r0, r1], (u, v), (du, dv));
                    }
                }
                ox += count;
                u += du * count;
                v += dv * count;
            }
        }
    }

    fn run_at(&self, tx: i64, ty: i64) -> Run {
        let runs = &self.runs[ty as usize];
        runs[runs.partition_point(|r| r.end as i64 <= tx)]
    }
}

/// Fills `out` with one colour, 32 bytes a store where it can.
fn fill(out: &mut [u8], colour: [u8; 4]) {
    let wide: [u8; 32] = std::array::from_fn(|i| colour[i % 4]);
    let mut blocks = out.chunks_exact_mut(32);
    for block in &mut blocks {
        block.copy_from_slice(&wide);
    }
    for px in blocks.into_remainder().chunks_exact_mut(4) {
        px.copy_from_slice(&colour);
    }
}

/// Filters the pixels of `out` from two source rows (each one pixel longer than
/// `out`): byte by byte, in 16-bit lanes the compiler vectorizes, a block at a time;
/// then lays them over (`raster::blend_row`: `over`'s arithmetic, in SSE2). The same
/// arithmetic as `filter` in `draw_stretched`.
fn filter_inside(out: &mut [u8], rows: [&[u8]; 2], fx: u32, fy: u32) {
    const BLOCK: usize = 64 * 4;
    let (fx, fy) = (fx as u16, fy as u16);
    let mut v = [0u8; BLOCK];
    for (k, out) in out.chunks_mut(BLOCK).enumerate() {
        let n = out.len();
        let (top, bottom) = (&rows[0][k * BLOCK..k * BLOCK + n + 4], &rows[1][k * BLOCK..k * BLOCK + n + 4]);
        for i in 0..n {
            let t = (top[i] as u16 * (256 - fx) + top[i + 4] as u16 * fx + 128) >> 8;
            let b = (bottom[i] as u16 * (256 - fx) + bottom[i + 4] as u16 * fx + 128) >> 8;
            // At most 255 · 256 + 128: 16 bits hold it.
            v[i] = ((t * (256 - fy) + b * fy + 128) >> 8) as u8;
        }
        crate::raster::blend_row(out, &v[..n]);
    }
}

/// Filters the pixels of `out` from one row pair, the source position starting at
/// `(u, v)` and stepping by `(du, dv)` per pixel (1/256 texel; it stays in the pair),
/// and lays them over. The same arithmetic as `filter_inside`.
fn filter_moved(out: &mut [u8], rows: [&[u8]; 2], start: (i64, i64), step: (i64, i64)) {
    #[cfg(target_arch = "x86_64")]
    sse2::filter_moved(out, rows, start, step);
    #[cfg(not(target_arch = "x86_64"))]
    filter_moved_scalar(out, rows, start, step);
}

#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn filter_moved_scalar(out: &mut [u8], rows: [&[u8]; 2], (mut u, mut v): (i64, i64), (du, dv): (i64, i64)) {
    for px in out.chunks_exact_mut(4) {
        let i = ((u >> 8) * 4) as usize;
        let (fx, fy) = ((u & 255) as u32, (v & 255) as u32);
        let lerp = |r: &[u8], k: usize| (r[i + k] as u32 * (256 - fx) + r[i + 4 + k] as u32 * fx + 128) >> 8;
        over(px, std::array::from_fn(|k| (lerp(rows[0], k) * (256 - fy) + lerp(rows[1], k) * fy + 128) >> 8));
        u += du;
        v += dv;
    }
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::*;

    /// `filter_moved_scalar`, a pixel's four channels a step: each lerp is one
    /// multiply-add of (texel, next texel) pairs by (256 - f, f); an opaque result is
    /// stored as it is (most of a filtered head is opaque shading).
    pub fn filter_moved(out: &mut [u8], rows: [&[u8]; 2], (u, v): (i64, i64), (du, dv): (i64, i64)) {
        let n = (out.len() / 4) as i64;
        if n == 0 {
            return;
        }
        // The texel column moves linearly, so the first and last pixels bound the reads.
        let (first, last) = (u >> 8, (u + du * (n - 1)) >> 8);
        assert!(first.min(last) >= 0 && (first.max(last) as usize + 2) * 4 <= rows[0].len().min(rows[1].len()), "reads stay in the rows");
        // SAFETY: SSE2 is always there on x86-64; every 8-byte load starts at a texel
        // column in [first, last] (asserted above to leave two texels in both rows).
        unsafe {
            let (zero, round) = (_mm_setzero_si128(), _mm_set1_epi32(128));
            let lerp = |at: *const u8, f: i32| {
                let x = _mm_loadl_epi64(at as *const __m128i);
                let pairs = _mm_unpacklo_epi8(_mm_unpacklo_epi8(x, _mm_srli_si128(x, 4)), zero);
                _mm_srli_epi32(_mm_add_epi32(_mm_madd_epi16(pairs, _mm_set1_epi32((f << 16) | (256 - f))), round), 8)
            };
            let (mut u, mut v) = (u, v);
            for px in out.chunks_exact_mut(4) {
                let i = ((u >> 8) * 4) as usize;
                let (fx, fy) = ((u & 255) as i32, (v & 255) as i32);
                let (top, bottom) = (lerp(rows[0].as_ptr().add(i), fx), lerp(rows[1].as_ptr().add(i), fx));
                let pairs = _mm_unpacklo_epi16(_mm_packs_epi32(top, top), _mm_packs_epi32(bottom, bottom));
                let s = _mm_srli_epi32(_mm_add_epi32(_mm_madd_epi16(pairs, _mm_set1_epi32((fy << 16) | (256 - fy))), round), 8);
                let s = _mm_packs_epi32(s, s);
                let rgba = _mm_cvtsi128_si32(_mm_packus_epi16(s, s)).to_le_bytes();
                match rgba[3] {
                    255 => px.copy_from_slice(&rgba),
                    0 => {}
                    _ => super::over(px, rgba.map(u32::from)),
                }
                u += du;
                v += dv;
            }
        }
    }
}

/// The bilinear sample of four texels (top left, top right, bottom left, bottom
/// right) at fractions (1/256) `fx` across and `fy` down.
fn bilinear([a, b, d, e]: [[u32; 4]; 4], fx: u32, fy: u32) -> [u32; 4] {
    std::array::from_fn(|k| ((a[k] * (256 - fx) + b[k] * fx) * (256 - fy) + (d[k] * (256 - fx) + e[k] * fx) * fy + (1 << 15)) >> 16)
}

/// Premultiplied source-over of one filtered pixel.
fn over(px: &mut [u8], v: [u32; 4]) {
    match v[3] {
        0 => {}
        255.. => {
            for k in 0..4 {
                px[k] = v[k].min(255) as u8;
            }
        }
        a => {
            let keep = 255 - a;
            for k in 0..4 {
                px[k] = (v[k] + (px[k] as u32 * keep + 127) / 255).min(255) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::test_bytes;
    use resvg::tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap};

    /// A flat disc with soft edges on a clear pixmap.
    fn disc() -> Placed {
        let mut p = Pixmap::new(80, 100).unwrap();
        let mut paint = Paint::default();
        paint.set_color(Color::from_rgba8(200, 60, 40, 255));
        paint.anti_alias = true;
        let circle = PathBuilder::from_circle(40.0, 50.0, 33.3).unwrap();
        p.fill_path(&circle, &paint, FillRule::Winding, Default::default(), None);
        Placed { pixmap: p, x: 0, y: 0 }
    }

    #[test]
    fn runs_draw_what_filtering_every_pixel_draws() {
        let layer = SpriteLayer::new(disc());
        assert!(layer.runs.iter().flatten().any(|r| matches!(r.kind, Kind::Flat(_))), "a flat disc has flat runs");
        let mixed: u32 = layer.runs.iter().flatten().filter(|r| r.kind == Kind::Mixed).map(|r| r.end - r.start).sum();
        assert!(mixed < 80 * 100 / 4, "only the edge is filtered: {mixed} pairs");
        // Against a layer whose runs are all mixed: every pixel filtered.
        let all_mixed = SpriteLayer {
            runs: layer.runs.iter().map(|_| vec![Run { start: 0, end: 79, kind: Kind::Mixed }]).collect(),
            placed: disc(),
        };
        for (sy, dx, dy) in [(1.0, 10.0, 5.0), (1.004, 10.37, 4.81), (0.996, -3.6, -7.2), (1.0, 0.99, 0.01)] {
            let draw = |l: &SpriteLayer| {
                let mut frame = vec![0u8; 120 * 120 * 4];
                for px in frame.chunks_exact_mut(4) {
                    px.copy_from_slice(&[10, 120, 30, 255]);
                }
                l.draw_stretched(&mut frame, 120, sy, dx, dy);
                frame
            };
            let (fast, slow) = (draw(&layer), draw(&all_mixed));
            assert!(fast == slow, "sy {sy} dx {dx} dy {dy}: runs and filtering differ");
            assert!(fast.chunks_exact(4).any(|p| p == [200, 60, 40, 255]), "the disc is drawn");
        }
    }

    #[test]
    fn vector_moved_filter_equals_scalar() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let rows = [test_bytes(&mut seed, 64 * 4), test_bytes(&mut seed, 64 * 4)];
        let under = test_bytes(&mut seed, 40 * 4);
        // Steps as a tilted head's rows take them: across about one texel, down a little.
        for (start, step) in [((3 * 256 + 17, 40), (255, 3)), ((0, 255), (256, -6)), ((10 * 256 + 255, 0), (241, 0)), ((5 * 256, 128), (263, 1))] {
            let run = |f: fn(&mut [u8], [&[u8]; 2], (i64, i64), (i64, i64))| {
                let mut out = under.clone();
                f(&mut out, [&rows[0], &rows[1]], start, step);
                out
            };
            assert_eq!(run(filter_moved), run(filter_moved_scalar), "start {start:?} step {step:?}");
        }
    }

    #[test]
    fn moved_runs_draw_what_filtering_every_pixel_draws() {
        let layer = SpriteLayer::new(Placed { x: 7, y: -3, ..disc() });
        let all_mixed = SpriteLayer { runs: layer.runs.iter().map(|_| vec![Run { start: 0, end: 79, kind: Kind::Mixed }]).collect(), placed: Placed { x: 7, y: -3, ..disc() } };
        let moves = [
            Transform::identity(),
            Transform::from_translate(3.3, -1.7),
            Transform::from_rotate_at(2.4, 40.0, 90.0).post_translate(0.4, 1.2),
            Transform::from_rotate_at(-4.0, 60.0, 20.0),
            Transform::from_rotate_at(90.0, 50.0, 50.0),
        ];
        for t in moves {
            let draw = |l: &SpriteLayer| {
                let mut frame = vec![0u8; 130 * 130 * 4];
                for px in frame.chunks_exact_mut(4) {
                    px.copy_from_slice(&[10, 120, 30, 255]);
                }
                l.draw_moved(&mut frame, 130, t);
                frame
            };
            let (fast, slow) = (draw(&layer), draw(&all_mixed));
            let differ = fast.chunks_exact(4).zip(slow.chunks_exact(4)).filter(|(a, b)| a != b).count();
            assert_eq!(differ, 0, "{t:?}: runs and filtering differ in {differ} pixels");
            assert!(fast.chunks_exact(4).any(|p| p == [200, 60, 40, 255]), "the disc is drawn");
        }
    }
}
