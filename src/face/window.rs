//! A square window on a frame, possibly rotated, and the model input sampled from it.

/// A frame as the face models read it: RGBA bytes, row after row.
#[derive(Clone, Copy)]
pub struct Rgba<'a> {
    pub pixels: &'a [u8],
    pub width: u32,
    pub height: u32,
}

/// A square on the frame: its centre and side in frame pixels, and its rotation
/// (radians, clockwise on screen, since y grows downwards): the window's x axis runs
/// along `angle` on the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub center: [f32; 2],
    pub size: f32,
    pub angle: f32,
}

impl Window {
    /// The whole frame, centred in a square (what a detector sees: letterboxed).
    pub fn whole(width: u32, height: u32) -> Window {
        Window { center: [width as f32 / 2.0, height as f32 / 2.0], size: width.max(height) as f32, angle: 0.0 }
    }

    /// The frame point under (u, v) of an n x n sampling of this window.
    pub fn to_frame(&self, [u, v]: [f32; 2], n: usize) -> [f32; 2] {
        let s = self.size / n as f32;
        let (dx, dy) = ((u - n as f32 / 2.0) * s, (v - n as f32 / 2.0) * s);
        let (sin, cos) = self.angle.sin_cos();
        [self.center[0] + dx * cos - dy * sin, self.center[1] + dx * sin + dy * cos]
    }

    /// The inverse of `to_frame`.
    pub fn from_frame(&self, [x, y]: [f32; 2], n: usize) -> [f32; 2] {
        let (dx, dy) = (x - self.center[0], y - self.center[1]);
        let (sin, cos) = self.angle.sin_cos();
        let s = n as f32 / self.size;
        [(dx * cos + dy * sin) * s + n as f32 / 2.0, (-dx * sin + dy * cos) * s + n as f32 / 2.0]
    }

    /// The window sampled into an n x n model input, planar RGB (3 x n x n), each
    /// channel value v in 0..=255 written as `v * scale + offset`. Outside the frame is
    /// black. Bilinear: a face is usually larger than the input.
    pub fn sample_planar(&self, frame: Rgba, n: usize, scale: f32, offset: f32) -> Vec<f32> {
        let mut out = vec![offset; 3 * n * n];
        let (w, h) = (frame.width as i64, frame.height as i64);
        let px = |x: i64, y: i64, c: usize| -> f32 {
            if x < 0 || y < 0 || x >= w || y >= h { 0.0 } else { frame.pixels[((y * w + x) * 4) as usize + c] as f32 }
        };
        for v in 0..n {
            for u in 0..n {
                let [x, y] = self.to_frame([u as f32 + 0.5, v as f32 + 0.5], n);
                let (x, y) = (x - 0.5, y - 0.5);
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = (x - x0, y - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                for c in 0..3 {
                    let top = px(x0, y0, c) * (1.0 - fx) + px(x0 + 1, y0, c) * fx;
                    let bottom = px(x0, y0 + 1, c) * (1.0 - fx) + px(x0 + 1, y0 + 1, c) * fx;
                    out[c * n * n + v * n + u] = (top * (1.0 - fy) + bottom * fy) * scale + offset;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_and_window_coordinates_round_trip_under_rotation() {
        let w = Window { center: [300.0, 200.0], size: 150.0, angle: 0.4 };
        for p in [[0.0, 0.0], [96.0, 96.0], [191.0, 17.0]] {
            let back = w.from_frame(w.to_frame(p, 192), 192);
            assert!((back[0] - p[0]).abs() < 1e-3 && (back[1] - p[1]).abs() < 1e-3, "{p:?} -> {back:?}");
        }
        assert_eq!(w.to_frame([96.0, 96.0], 192), [300.0, 200.0], "the centre stays");
        // The window's x axis runs along its angle on the frame.
        let [x, y] = w.to_frame([192.0, 96.0], 192);
        assert!(((y - 200.0).atan2(x - 300.0) - 0.4).abs() < 1e-4);
    }

    #[test]
    fn sampling_reads_the_pixels_under_the_window_and_black_outside() {
        // A 4x2 frame: left half red, right half blue.
        let mut pixels = Vec::new();
        for _y in 0..2 {
            for x in 0..4 {
                pixels.extend_from_slice(if x < 2 { &[255, 0, 0, 255] } else { &[0, 0, 255, 255] });
            }
        }
        let frame = Rgba { pixels: &pixels, width: 4, height: 2 };
        let input = Window::whole(4, 2).sample_planar(frame, 4, 1.0 / 255.0, 0.0);
        let (red, blue) = (&input[0..16], &input[32..48]);
        // Rows 0 and 3 of the letterboxed square are outside the frame.
        assert_eq!(red[0], 0.0);
        assert_eq!(red[4], 1.0, "row 1, left: red");
        assert_eq!(blue[7], 1.0, "row 1, right: blue");
        assert_eq!(red[12], 0.0);
    }
}
