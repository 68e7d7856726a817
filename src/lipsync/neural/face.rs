//! Face crop in, mouth out (docs/design.md § Wav2Lip tensor contract). The face's crop
//! (its box padded below the chin; where the pack has landmarks, turned so the eyes are
//! level) is resized to the model's square, BGR /255, lower half masked in channels 0-2
//! and the whole crop as reference in 3-5. The model's face goes back through a
//! feathered lower-face mask, kept inside the jaw line where the outline is known, so
//! only the mouth region changes and no seam shows.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::Pixmap;

use crate::face::Outline;

/// A box in frame pixels, whole and inside the frame: [x0, x1) x [y0, y1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Rect {
    /// The face box [x, y, w, h] grown by `pad` = [top, bottom, left, right] (Wav2Lip's
    /// default pads 10 px below the chin), clipped to the frame. None when too small.
    pub fn padded(face: [f32; 4], pad: [f32; 4], width: u32, height: u32) -> Option<Rect> {
        let [x, y, w, h] = face;
        let x0 = (x - pad[2]).max(0.0).round() as u32;
        let y0 = (y - pad[0]).max(0.0).round() as u32;
        let x1 = ((x + w + pad[3]).round().max(0.0) as u32).min(width);
        let y1 = ((y + h + pad[1]).round().max(0.0) as u32).min(height);
        (x1 >= x0 + 8 && y1 >= y0 + 8).then_some(Rect { x0, y0, x1, y1 })
    }

    pub fn width(&self) -> u32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> u32 {
        self.y1 - self.y0
    }
}

/// Where on a frame the model's square is read from: a rectangle, turned by `angle`
/// (radians, clockwise on screen) about its centre, resized to size x size (a wide face
/// is squeezed, as Wav2Lip does).
#[derive(Debug, Clone)]
pub struct FaceCrop {
    pub center: [f32; 2],
    pub width: f32,
    pub height: f32,
    pub angle: f32,
    /// The frame pixels it covers, clipped to the frame: what the paste redraws.
    pub bounds: Rect,
    /// The face's points, where the pack has landmarks: the mask follows the outline and
    /// the enhancer aligns by the five points.
    pub outline: Option<Arc<Outline>>,
    /// Its mask (`crop_mask`) and the side it was made at, made the first time it is
    /// pasted and shared by its clones: a pack's frame plays again and again.
    mask: Arc<OnceLock<(usize, Vec<f32>)>>,
}

/// The five points' places in a head-on face's padded box (fractions of its width and
/// height), for crops without landmarks.
pub const BOX_POINTS: [[f32; 2]; 5] = [[0.31, 0.40], [0.69, 0.40], [0.50, 0.58], [0.35, 0.77], [0.65, 0.77]];

impl FaceCrop {
    /// An upright box (packs without landmarks).
    pub fn from_rect(r: Rect) -> FaceCrop {
        let (w, h) = (r.width() as f32, r.height() as f32);
        FaceCrop { center: [r.x0 as f32 + w / 2.0, r.y0 as f32 + h / 2.0], width: w, height: h, angle: 0.0, bounds: r, outline: None, mask: Arc::default() }
    }

    /// The face turned upright by its eyes: the outline's extent across and along the
    /// eye line (forehead to chin), grown by `pad` = [top, bottom, left, right] as the
    /// box is. None when it leaves less than 8x8 pixels of the frame.
    pub fn aligned(outline: Outline, pad: [f32; 4], width: u32, height: u32) -> Option<FaceCrop> {
        let angle = outline.eye_angle();
        let (sin, cos) = angle.sin_cos();
        // Into the face's own axes (x along the eyes, y from forehead to chin) and back.
        let upright = |[x, y]: [f32; 2]| [x * cos + y * sin, -x * sin + y * cos];
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for q in outline.oval.iter().map(|&p| upright(p)) {
            for a in 0..2 {
                lo[a] = lo[a].min(q[a]);
                hi[a] = hi[a].max(q[a]);
            }
        }
        let (lo, hi) = ([lo[0] - pad[2], lo[1] - pad[0]], [hi[0] + pad[3], hi[1] + pad[1]]);
        let [u, v] = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        let center = [u * cos - v * sin, u * sin + v * cos];
        let mut crop = FaceCrop { center, width: hi[0] - lo[0], height: hi[1] - lo[1], angle, bounds: Rect { x0: 0, y0: 0, x1: 0, y1: 0 }, outline: None, mask: Arc::default() };
        let corners = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]].map(|c| crop.to_frame(c, 1));
        let edge = |a: usize, f: fn(f32, f32) -> f32| corners.iter().map(|c| c[a]).fold(corners[0][a], f);
        let x0 = edge(0, f32::min).floor().max(0.0) as u32;
        let y0 = edge(1, f32::min).floor().max(0.0) as u32;
        let x1 = (edge(0, f32::max).ceil().max(0.0) as u32).min(width);
        let y1 = (edge(1, f32::max).ceil().max(0.0) as u32).min(height);
        if x1 < x0 + 8 || y1 < y0 + 8 {
            return None;
        }
        crop.bounds = Rect { x0, y0, x1, y1 };
        crop.outline = Some(Arc::new(outline));
        Some(crop)
    }

    /// The frame point under (u, v) of an n x n sampling of the crop.
    pub fn to_frame(&self, [u, v]: [f32; 2], n: usize) -> [f32; 2] {
        let (dx, dy) = ((u / n as f32 - 0.5) * self.width, (v / n as f32 - 0.5) * self.height);
        let (sin, cos) = self.angle.sin_cos();
        [self.center[0] + dx * cos - dy * sin, self.center[1] + dx * sin + dy * cos]
    }

    /// The inverse of `to_frame`.
    pub fn from_frame(&self, [x, y]: [f32; 2], n: usize) -> [f32; 2] {
        let (dx, dy) = (x - self.center[0], y - self.center[1]);
        let (sin, cos) = self.angle.sin_cos();
        [((dx * cos + dy * sin) / self.width + 0.5) * n as f32, ((-dx * sin + dy * cos) / self.height + 0.5) * n as f32]
    }

    /// `crop_mask` at n x n, made once.
    fn mask(&self, n: usize) -> Cow<'_, [f32]> {
        match self.mask.get_or_init(|| (n, crop_mask(self, n))) {
            (made_at, mask) if *made_at == n => Cow::Borrowed(mask),
            _ => Cow::Owned(crop_mask(self, n)),
        }
    }

    /// Eye centres, nose tip, mouth corners in frame pixels: the landmarks' where the
    /// pack has them, else where they sit in a head-on face's box.
    pub fn five_points(&self) -> [[f32; 2]; 5] {
        match &self.outline {
            Some(o) => o.five,
            None => BOX_POINTS.map(|p| self.to_frame(p, 1)),
        }
    }
}

/// Pixels the crop reads: premultiplied RGBA, `width` a row, holding the frame's part
/// that starts at `origin` (the whole frame, or a cut around the face).
#[derive(Clone, Copy)]
pub struct Pixels<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub origin: [u32; 2],
}

impl<'a> Pixels<'a> {
    pub fn whole(frame: &'a Pixmap) -> Pixels<'a> {
        Pixels { data: frame.data(), width: frame.width() as usize, origin: [0, 0] }
    }
}

/// Bilinear sample of a 3-channel image (`get` reads pixel (x, y)) at (x, y), pixel
/// centres at integers, edges clamped: every resampling of the face crop, its paste
/// and the enhancer's alignment.
pub(super) fn bilinear(get: impl Fn(usize, usize) -> [f32; 3], width: usize, height: usize, x: f32, y: f32) -> [f32; 3] {
    let x = x.clamp(0.0, (width - 1) as f32);
    let y = y.clamp(0.0, (height - 1) as f32);
    // Truncation is the floor here (both are >= 0), without a call to floorf.
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let (p00, p01, p10, p11) = (get(x0, y0), get(x1, y0), get(x0, y1), get(x1, y1));
    std::array::from_fn(|c| (p00[c] * (1.0 - fx) + p01[c] * fx) * (1.0 - fy) + (p10[c] * (1.0 - fx) + p11[c] * fx) * fy)
}

/// Samples the crop to size x size, bilinearly, and hands each output pixel (row-major
/// index, BGR 0..255) to `put`. The one resampling of the model's crop, for training and
/// on air alike.
fn sample_crop(pixels: Pixels, crop: &FaceCrop, size: usize, mut put: impl FnMut(usize, [f32; 3])) {
    let (width, height) = (pixels.width, pixels.data.len() / 4 / pixels.width);
    let bgr_at = |x: usize, y: usize| [2, 1, 0].map(|c| pixels.data[(y * width + x) * 4 + c] as f32);
    // The frame point is affine in (u, v): stepped, not turned for every pixel. In the
    // pixels' own indices (centres at integers, from their origin).
    let first = crop.to_frame([0.5, 0.5], size);
    let (next_u, next_v) = (crop.to_frame([1.5, 0.5], size), crop.to_frame([0.5, 1.5], size));
    let step_u = [next_u[0] - first[0], next_u[1] - first[1]];
    let step_v = [next_v[0] - first[0], next_v[1] - first[1]];
    let first = [first[0] - 0.5 - pixels.origin[0] as f32, first[1] - 0.5 - pixels.origin[1] as f32];
    for v in 0..size {
        let mut at = [first[0] + step_v[0] * v as f32, first[1] + step_v[1] * v as f32];
        for u in 0..size {
            put(v * size + u, bilinear(bgr_at, width, height, at[0], at[1]));
            at = [at[0] + step_u[0], at[1] + step_u[1]];
        }
    }
}

/// The model's face input for one frame: [6][size][size], BGR in 0..1; rows from
/// size/2 down zeroed in channels 0-2 (the mouth the model must draw), channels 3-5
/// the unmasked reference.
pub fn crop_input(frame: &Pixmap, crop: &FaceCrop, size: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), 6 * size * size);
    let plane = size * size;
    let masked_from = size / 2 * size;
    sample_crop(Pixels::whole(frame), crop, size, |i, bgr| {
        for (ch, v) in bgr.into_iter().enumerate() {
            let v = v / 255.0;
            out[(3 + ch) * plane + i] = v;
            out[ch * plane + i] = if i >= masked_from { 0.0 } else { v };
        }
    });
}

/// The crop as a training sample: [size][size][3] BGR bytes (unmasked), sampled
/// exactly as `crop_input` samples it on air.
pub fn crop_bgr(pixels: Pixels, crop: &FaceCrop, size: usize, out: &mut [u8]) {
    debug_assert_eq!(out.len(), 3 * size * size);
    sample_crop(pixels, crop, size, |i, bgr| {
        for (ch, v) in bgr.into_iter().enumerate() {
            out[i * 3 + ch] = (v + 0.5) as u8;
        }
    });
}

/// The model's mouth, resampled into the crop's bounds, with how much of it to show.
#[derive(Debug, Clone)]
pub struct Patch {
    pub bounds: Rect,
    /// Straight RGB, bounds-sized.
    pub rgb: Vec<u8>,
    /// Feathered lower-face mask, 0-255.
    pub mask: Vec<u8>,
}

fn smooth(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Where the model's face is shown, per pixel of the n x n crop (0..1). Rows: nothing
/// above 45 % of the crop's height, all from 62 % down. Across: with the face's outline,
/// from nothing on the outline to all 8 % of the crop's width inside it (the mouth never
/// reaches past the jaw, so no seam shows at the chin); without one, fading out at the
/// crop's sides and bottom, its outer 2 % untouched.
pub fn crop_mask(crop: &FaceCrop, n: usize) -> Vec<f32> {
    let at = |i: usize| (i as f32 + 0.5) / n as f32;
    let rows: Vec<f32> = (0..n).map(|y| smooth(0.45, 0.62, at(y))).collect();
    let mut mask = vec![0f32; n * n];
    match &crop.outline {
        Some(outline) => {
            let oval: Vec<[f32; 2]> = outline.oval.iter().map(|&p| crop.from_frame(p, n)).collect();
            let depth = depth_inside(&oval, n);
            let feather = 0.08 * n as f32;
            for (i, m) in mask.iter_mut().enumerate() {
                *m = rows[i / n] * smooth(0.0, feather, depth[i]);
            }
        }
        None => {
            for (y, &row) in rows.iter().enumerate() {
                let row = row * smooth(0.02, 0.1, 1.0 - at(y));
                for x in 0..n {
                    mask[y * n + x] = row * smooth(0.02, 0.16, at(x)) * smooth(0.02, 0.16, 1.0 - at(x));
                }
            }
        }
    }
    mask
}

/// How far each pixel of an n x n grid lies inside the closed polygon (0 outside):
/// the least of its distances to the outline along its row and along its column. For
/// a face's outline that is the distance to the jaw at the sides and to the chin below
/// (on the outline's diagonals up to 1.4 times the true distance), at a cost of a few
/// crossings a row and a column, not a distance to every edge for every pixel.
fn depth_inside(polygon: &[[f32; 2]], n: usize) -> Vec<f32> {
    // Along axis `a` (0: rows, 1: columns): where each line crosses the outline.
    let spans = |a: usize| -> Vec<Vec<f32>> {
        (0..n)
            .map(|line| {
                let c = line as f32 + 0.5;
                let mut xs: Vec<f32> = (0..polygon.len())
                    .filter_map(|i| {
                        let (p, q) = (polygon[i], polygon[(i + 1) % polygon.len()]);
                        ((p[1 - a] > c) != (q[1 - a] > c)).then(|| p[a] + (c - p[1 - a]) / (q[1 - a] - p[1 - a]) * (q[a] - p[a]))
                    })
                    .collect();
                xs.sort_by(f32::total_cmp);
                xs
            })
            .collect()
    };
    // Depth of position `x` on a line whose crossings are `xs` (inside between pairs).
    let along = |xs: &[f32], x: f32| xs.chunks_exact(2).find(|s| s[0] <= x && x < s[1]).map_or(0.0, |s| (x - s[0]).min(s[1] - x));
    let (rows, cols) = (spans(0), spans(1));
    let mut depth = vec![0f32; n * n];
    for (y, row) in rows.iter().enumerate() {
        for x in 0..n {
            let across = along(row, x as f32 + 0.5);
            if across > 0.0 {
                depth[y * n + x] = across.min(along(&cols[x], y as f32 + 0.5));
            }
        }
    }
    depth
}

/// Builds the patch from one model output, [3][size][size] BGR in 0..1: each pixel of the
/// crop's bounds reads the output and the mask where it falls in the crop; pixels the
/// mask leaves out are not sampled at all.
pub fn patch_from_output(output: &[f32], size: usize, crop: &FaceCrop) -> Patch {
    let bounds = crop.bounds;
    let (bw, bh) = (bounds.width() as usize, bounds.height() as usize);
    let mask_n = crop.mask(size);
    let plane = size * size;
    // Crop pixels: the mask's value three times, the output's RGB (it is BGR planes).
    let mask_at = |x: usize, y: usize| [mask_n[y * size + x]; 3];
    let rgb_at = |x: usize, y: usize| [2, 1, 0].map(|c| output[c * plane + y * size + x]);
    let mut rgb = vec![0u8; bw * bh * 3];
    let mut mask = vec![0u8; bw * bh];
    // (u, v) is affine in (x, y): step it along each row instead of turning every pixel.
    let first = crop.from_frame([bounds.x0 as f32 + 0.5, bounds.y0 as f32 + 0.5], size);
    let next_x = crop.from_frame([bounds.x0 as f32 + 1.5, bounds.y0 as f32 + 0.5], size);
    let next_y = crop.from_frame([bounds.x0 as f32 + 0.5, bounds.y0 as f32 + 1.5], size);
    let step_x = [next_x[0] - first[0], next_x[1] - first[1]];
    let step_y = [next_y[0] - first[0], next_y[1] - first[1]];
    let inside = 0.0..size as f32;
    for y in 0..bh {
        let (mut u, mut v) = (first[0] + step_y[0] * y as f32, first[1] + step_y[1] * y as f32);
        for x in 0..bw {
            let (pu, pv) = (u, v);
            (u, v) = (u + step_x[0], v + step_x[1]);
            if !inside.contains(&pu) || !inside.contains(&pv) {
                continue;
            }
            let o = y * bw + x;
            mask[o] = (bilinear(mask_at, size, size, pu - 0.5, pv - 0.5)[0] * 255.0 + 0.5) as u8;
            if mask[o] == 0 {
                continue;
            }
            for (out, v) in rgb[o * 3..o * 3 + 3].iter_mut().zip(bilinear(rgb_at, size, size, pu - 0.5, pv - 0.5)) {
                *out = (v * 255.0).clamp(0.0, 255.0).round() as u8;
            }
        }
    }
    Patch { bounds, rgb, mask }
}

impl Patch {
    /// The crop's bounds of `source` (premultiplied RGBA) with the mouth laid in, the
    /// frame's own alpha kept, as a bounds-sized pixmap kept in `face` (reused while the
    /// bounds keep their size): the renderer draws it over the frame, so the frame itself
    /// is never copied.
    pub fn face_image<'a>(&self, source: &Pixmap, face: &'a mut Option<Pixmap>) -> &'a Pixmap {
        let (bw, bh) = (self.bounds.width(), self.bounds.height());
        if face.as_ref().is_none_or(|f| f.width() != bw || f.height() != bh) {
            *face = Pixmap::new(bw, bh);
        }
        let face = face.as_mut().expect("bounds are at least 8x8");
        let (sw, row) = (source.width() as usize, bw as usize * 4);
        for y in 0..bh as usize {
            let from = ((self.bounds.y0 as usize + y) * sw + self.bounds.x0 as usize) * 4;
            face.data_mut()[y * row..(y + 1) * row].copy_from_slice(&source.data()[from..from + row]);
        }
        let data = face.data_mut();
        for (i, &m) in self.mask.iter().enumerate() {
            let m = m as u32;
            if m == 0 {
                continue;
            }
            let px = &mut data[i * 4..i * 4 + 4];
            let a = px[3] as u32;
            for c in 0..3 {
                let generated = self.rgb[i * 3 + c] as u32 * a / 255;
                px[c] = ((px[c] as u32 * (255 - m) + generated * m + 127) / 255) as u8;
            }
        }
        face
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use resvg::tiny_skia::Color;

    #[test]
    fn crop_masks_the_lower_half_and_paste_changes_only_the_mouth_region() {
        let mut frame = Pixmap::new(200, 300).unwrap();
        frame.fill(Color::from_rgba8(200, 150, 100, 255));
        let rect = Rect::padded([50.0, 60.0, 100.0, 110.0], [0.0, 10.0, 0.0, 0.0], 200, 300).unwrap();
        assert_eq!(rect, Rect { x0: 50, y0: 60, x1: 150, y1: 180 });
        let crop = FaceCrop::from_rect(rect);
        let mut input = vec![0f32; 6 * 96 * 96];
        crop_input(&frame, &crop, 96, &mut input);
        let at = |c: usize, y: usize, x: usize| input[c * 96 * 96 + y * 96 + x];
        // BGR, /255; masked lower half in 0-2 only.
        assert!((at(0, 10, 10) - 100.0 / 255.0).abs() < 1e-3 && (at(2, 10, 10) - 200.0 / 255.0).abs() < 1e-3);
        assert_eq!(at(0, 60, 10), 0.0);
        assert!((at(3, 60, 10) - 100.0 / 255.0).abs() < 1e-3);

        // A black model output: the box's top and edges stay as they were, its lower middle turns dark.
        let patch = patch_from_output(&vec![0.0; 3 * 96 * 96], 96, &crop);
        let mut face = None;
        let out = patch.face_image(&frame, &mut face);
        assert_eq!((out.width(), out.height()), (rect.width(), rect.height()), "the box alone");
        // Box coordinates: frame (x, y) is (x - 50, y - 60).
        let px = |f: &Pixmap, x: u32, y: u32| f.pixel(x, y).unwrap().red();
        assert_eq!(px(out, 100 - 50, 70 - 60), 200, "forehead untouched");
        assert_eq!(px(out, 51 - 50, 150 - 60), px(&frame, 51, 150), "box edge untouched");
        assert_eq!(px(out, 100 - 50, 160 - 60), 0, "mouth replaced");
        assert_eq!(px(&frame, 20, 160), 200, "the frame itself untouched");
    }

    fn outline(cx: f32, cy: f32, turn: f32) -> Outline {
        Outline::ellipse([cx, cy], [50.0, 80.0], turn)
    }

    #[test]
    fn an_aligned_crop_is_turned_by_the_eyes_and_spans_the_outline() {
        let crop = FaceCrop::aligned(outline(300.0, 200.0, 25.0), [0.0, 10.0, 0.0, 0.0], 640, 480).unwrap();
        assert!((crop.angle.to_degrees() - 25.0).abs() < 1e-3);
        assert!((crop.width - 100.0).abs() < 0.5 && (crop.height - 170.0).abs() < 0.5, "{crop:?}");
        // In the crop, both eyes sit on one row, the mouth's corners on another, and the
        // chin 10 px (of 170) above the bottom.
        let five = crop.five_points().map(|p| crop.from_frame(p, 96));
        assert!((five[0][1] - five[1][1]).abs() < 1e-3 && (five[3][1] - five[4][1]).abs() < 1e-3, "{five:?}");
        assert!(five[0][0] < five[1][0], "the right eye stays on the left");
        let chin = crop.from_frame(crop.outline.as_ref().unwrap().oval[18], 96);
        assert!((chin[1] - 96.0 * 160.0 / 170.0).abs() < 0.1, "{chin:?}");
        // The bounds hold every corner of the turned crop.
        for c in [[0.0, 0.0], [96.0, 0.0], [0.0, 96.0], [96.0, 96.0]] {
            let [x, y] = crop.to_frame(c, 96);
            let b = crop.bounds;
            assert!(x >= b.x0 as f32 - 1.0 && x <= b.x1 as f32 + 1.0 && y >= b.y0 as f32 - 1.0 && y <= b.y1 as f32 + 1.0);
        }
    }

    #[test]
    fn an_outlined_mask_stays_inside_the_jaw_and_covers_the_mouth() {
        let crop = FaceCrop::aligned(outline(300.0, 200.0, -15.0), [0.0, 10.0, 0.0, 0.0], 640, 480).unwrap();
        let mask = crop_mask(&crop, 96);
        let at = |p: [f32; 2]| {
            let [u, v] = crop.from_frame(p, 96);
            mask[v as usize * 96 + u as usize]
        };
        let o = crop.outline.clone().unwrap();
        let mouth = [(o.five[3][0] + o.five[4][0]) / 2.0, (o.five[3][1] + o.five[4][1]) / 2.0];
        assert_eq!(at(mouth), 1.0, "the mouth is the model's");
        assert_eq!(at(o.five[0]), 0.0, "the eyes are the frame's");
        for &p in &o.oval {
            assert!(at(p) < 0.1, "on the outline: {}", at(p));
        }
    }
}
