//! Face crop in, mouth out (docs/design.md § Wav2Lip tensor contract): the face box (padded below the chin) is
//! resized to the model's square, BGR /255, lower half masked in channels 0-2 and the
//! whole crop as reference in 3-5; the model's face goes back into the box through a
//! feathered lower-face mask, so only the mouth region changes and no seam shows.

use resvg::tiny_skia::Pixmap;

/// A face box in source pixels, whole and inside the frame: [x0, x1) x [y0, y1).
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

/// Bilinear sample positions for resizing `src` samples to `dst` (half-pixel
/// centres, as OpenCV's INTER_LINEAR): per output index, (first source index, weight of the next).
fn taps(src: u32, dst: u32) -> Vec<(usize, f32)> {
    let scale = src as f32 / dst as f32;
    (0..dst)
        .map(|d| {
            let s = ((d as f32 + 0.5) * scale - 0.5).max(0.0);
            let i = (s.floor() as usize).min(src as usize - 1);
            let f = if i + 1 < src as usize { s - i as f32 } else { 0.0 };
            (i, f)
        })
        .collect()
}

/// Resizes the box `rect` of premultiplied RGBA `data` (`width` pixels a row) to
/// size x size, bilinearly, and hands each output pixel (row-major index, BGR 0..255)
/// to `put`. The one resampling of the model's crop, for training and on air alike.
fn sample_box(data: &[u8], width: usize, rect: Rect, size: usize, mut put: impl FnMut(usize, [f32; 3])) {
    let xs = taps(rect.width(), size as u32);
    let ys = taps(rect.height(), size as u32);
    for (oy, &(iy, fy)) in ys.iter().enumerate() {
        let row0 = (rect.y0 as usize + iy) * width;
        let row1 = (rect.y0 as usize + (iy + 1).min(rect.height() as usize - 1)) * width;
        for (ox, &(ix, fx)) in xs.iter().enumerate() {
            let c0 = rect.x0 as usize + ix;
            let c1 = rect.x0 as usize + (ix + 1).min(rect.width() as usize - 1);
            let bgr = [2usize, 1, 0].map(|rgba| {
                let p = |r: usize, c: usize| data[(r + c) * 4 + rgba] as f32;
                let top = p(row0, c0) * (1.0 - fx) + p(row0, c1) * fx;
                let bottom = p(row1, c0) * (1.0 - fx) + p(row1, c1) * fx;
                top * (1.0 - fy) + bottom * fy
            });
            put(oy * size + ox, bgr);
        }
    }
}

/// The model's face input for one frame: [6][size][size], BGR in 0..1; rows from
/// size/2 down zeroed in channels 0-2 (the mouth the model must draw), channels 3-5
/// the unmasked reference.
pub fn crop_input(frame: &Pixmap, rect: Rect, size: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), 6 * size * size);
    let plane = size * size;
    let masked_from = size / 2 * size;
    sample_box(frame.data(), frame.width() as usize, rect, size, |i, bgr| {
        for (ch, v) in bgr.into_iter().enumerate() {
            let v = v / 255.0;
            out[(3 + ch) * plane + i] = v;
            out[ch * plane + i] = if i >= masked_from { 0.0 } else { v };
        }
    });
}

/// The face box as a training sample: [size][size][3] BGR bytes (unmasked), sampled
/// exactly as `crop_input` samples it on air.
pub fn crop_bgr(rgba: &[u8], width: usize, rect: Rect, size: usize, out: &mut [u8]) {
    debug_assert_eq!(out.len(), 3 * size * size);
    sample_box(rgba, width, rect, size, |i, bgr| {
        for (ch, v) in bgr.into_iter().enumerate() {
            out[i * 3 + ch] = (v + 0.5) as u8;
        }
    });
}

/// The model's mouth, resized into the face box, with how much of it to show.
#[derive(Debug, Clone)]
pub struct Patch {
    pub rect: Rect,
    /// Straight RGB, box-sized.
    pub rgb: Vec<u8>,
    /// Feathered lower-face mask, 0-255.
    pub mask: Vec<u8>,
}

/// The feathered lower-face mask, separably: a weight per box row (nothing above 45 %
/// of the box's height, all from 62 % down, fading out at the bottom edge) and per
/// column (fading out towards the sides); the outer 2 % of the box stays untouched,
/// so the paste has no edge.
fn mask_factors(width: usize, height: usize) -> (Vec<f32>, Vec<f32>) {
    let smooth = |e0: f32, e1: f32, x: f32| {
        let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
        t * t * (3.0 - 2.0 * t)
    };
    let rows = (0..height).map(|y| (y as f32 + 0.5) / height as f32).map(|v| smooth(0.45, 0.62, v) * smooth(0.02, 0.1, 1.0 - v)).collect();
    let cols = (0..width).map(|x| (x as f32 + 0.5) / width as f32).map(|u| smooth(0.02, 0.16, u) * smooth(0.02, 0.16, 1.0 - u)).collect();
    (rows, cols)
}

/// Builds the patch from one model output: [3][size][size], BGR in 0..1. Rows the mask
/// leaves out are not resized at all.
pub fn patch_from_output(output: &[f32], size: usize, rect: Rect) -> Patch {
    let (bw, bh) = (rect.width() as usize, rect.height() as usize);
    let xs = taps(size as u32, bw as u32);
    let ys = taps(size as u32, bh as u32);
    let (row_w, col_w) = mask_factors(bw, bh);
    let plane = size * size;
    let mut rgb = vec![0u8; bw * bh * 3];
    let mut mask = vec![0u8; bw * bh];
    for (y, &(iy, fy)) in ys.iter().enumerate() {
        if row_w[y] <= 0.0 {
            continue;
        }
        let iy1 = (iy + 1).min(size - 1);
        for (x, &(ix, fx)) in xs.iter().enumerate() {
            let o = y * bw + x;
            mask[o] = (row_w[y] * col_w[x] * 255.0 + 0.5) as u8;
            if mask[o] == 0 {
                continue;
            }
            let ix1 = (ix + 1).min(size - 1);
            for (rgb_c, bgr_c) in [(0usize, 2usize), (1, 1), (2, 0)] {
                let p = |r: usize, c: usize| output[bgr_c * plane + r * size + c];
                let top = p(iy, ix) * (1.0 - fx) + p(iy, ix1) * fx;
                let bottom = p(iy1, ix) * (1.0 - fx) + p(iy1, ix1) * fx;
                rgb[o * 3 + rgb_c] = ((top * (1.0 - fy) + bottom * fy) * 255.0).clamp(0.0, 255.0).round() as u8;
            }
        }
    }
    Patch { rect, rgb, mask }
}

impl Patch {
    /// The face box of `source` (premultiplied RGBA) with the mouth laid in, the
    /// frame's own alpha kept, as a box-sized pixmap kept in `face` (reused while the
    /// box keeps its size): the renderer draws it over the frame, so the frame itself
    /// is never copied.
    pub fn face_image<'a>(&self, source: &Pixmap, face: &'a mut Option<Pixmap>) -> &'a Pixmap {
        let (bw, bh) = (self.rect.width(), self.rect.height());
        if face.as_ref().is_none_or(|f| f.width() != bw || f.height() != bh) {
            *face = Pixmap::new(bw, bh);
        }
        let face = face.as_mut().expect("box is at least 8x8");
        let (sw, row) = (source.width() as usize, bw as usize * 4);
        for y in 0..bh as usize {
            let from = ((self.rect.y0 as usize + y) * sw + self.rect.x0 as usize) * 4;
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
        let mut input = vec![0f32; 6 * 96 * 96];
        crop_input(&frame, rect, 96, &mut input);
        let at = |c: usize, y: usize, x: usize| input[c * 96 * 96 + y * 96 + x];
        // BGR, /255; masked lower half in 0-2 only.
        assert!((at(0, 10, 10) - 100.0 / 255.0).abs() < 1e-3 && (at(2, 10, 10) - 200.0 / 255.0).abs() < 1e-3);
        assert_eq!(at(0, 60, 10), 0.0);
        assert!((at(3, 60, 10) - 100.0 / 255.0).abs() < 1e-3);

        // A black model output: the box's top and edges stay as they were, its lower middle turns dark.
        let patch = patch_from_output(&vec![0.0; 3 * 96 * 96], 96, rect);
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
}
