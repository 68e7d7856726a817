//! The optional face enhancer after the mouth (docs/design.md § Face model and enhancer): a GFPGAN-style ONNX
//! model the user brings, off by default and meant for GPU machines (a 512 px
//! enhancer takes about a second a frame on a CPU core).
//!
//! Contract (facefusion's face_enhancer, which GFPGAN, GPEN and CodeFormer exports
//! share): input (1,3,S,S) RGB in [-1, 1]; output the same; CodeFormer's extra `weight`
//! input (float64, one value) is its fidelity. The face, its new mouth laid in, is
//! aligned to the FFHQ template by a similarity transform of five points, enhanced,
//! and pasted back through a mask with a blurred border, blended `enhancer_blend`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ort::session::Session;
use ort::value::Tensor;
use resvg::tiny_skia::Pixmap;

use super::face::{FaceCrop, Patch, bilinear};
use super::provider::register_provider;
use crate::config::LipsyncConfig;
use crate::onnx;

/// The FFHQ template, fractions of S: left eye, right eye, nose, mouth left, mouth right.
pub const FFHQ_POINTS: [[f32; 2]; 5] =
    [[0.37691676, 0.46864664], [0.62285697, 0.46912813], [0.50123859, 0.61331904], [0.39308822, 0.72541100], [0.61150205, 0.72490465]];

/// CodeFormer's fidelity (0: most restoration, 1: most like the input): towards the
/// person's own features, which matter more on a brand's presenter than smoothness.
const CODEFORMER_FIDELITY: f64 = 0.7;

/// Rotation, uniform scale and shift: p -> [a -b; b a] p + t.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    /// The transform taking `from` onto `to` with the least squared error (Umeyama's,
    /// without reflection).
    pub fn fit(from: &[[f32; 2]], to: &[[f32; 2]]) -> Similarity {
        let n = from.len() as f32;
        let mean = |p: &[[f32; 2]]| p.iter().fold([0.0, 0.0], |m, q| [m[0] + q[0] / n, m[1] + q[1] / n]);
        let (mf, mt) = (mean(from), mean(to));
        let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
        for (f, t) in from.iter().zip(to) {
            let (x, y, u, v) = (f[0] - mf[0], f[1] - mf[1], t[0] - mt[0], t[1] - mt[1]);
            dot += x * u + y * v;
            cross += x * v - y * u;
            norm += x * x + y * y;
        }
        let (a, b) = (dot / norm, cross / norm);
        Similarity { a, b, tx: mt[0] - (a * mf[0] - b * mf[1]), ty: mt[1] - (b * mf[0] + a * mf[1]) }
    }

    pub fn apply(&self, [x, y]: [f32; 2]) -> [f32; 2] {
        [self.a * x - self.b * y + self.tx, self.b * x + self.a * y + self.ty]
    }

    pub fn inverse(&self) -> Similarity {
        let d = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / d, -self.b / d);
        Similarity { a, b, tx: -(a * self.tx - b * self.ty), ty: -(b * self.tx + a * self.ty) }
    }
}

fn smooth(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

pub struct FaceEnhancer {
    session: Session,
    input: String,
    /// CodeFormer's fidelity input, when the model has one.
    weight: Option<String>,
    output: String,
    /// Side of the aligned square.
    pub size: usize,
    blend: f32,
    aligned: Vec<f32>,
    /// Whether a failure was logged (once a stream, not once a frame).
    warned: bool,
}

impl FaceEnhancer {
    pub fn load(config: &LipsyncConfig, onnxruntime: &Path) -> Result<FaceEnhancer> {
        let model = &config.enhancer;
        let hint = "give `avatar.lipsync.enhancer` a face enhancer with one (1,3,S,S) RGB input in [-1, 1] and an output of \
                    the same shape (GFPGAN, GPEN or CodeFormer ONNX exports), or leave it \"\"";
        let threads = match config.threads {
            0 => onnx::all_cores(),
            n => n,
        };
        let session = onnx::open_session(model, "face enhancer", hint, onnxruntime, threads, |b| register_provider(b, config, onnxruntime))?;
        let (mut input, mut weight, mut size) = (None, None, 512usize);
        for i in session.inputs() {
            match onnx::shape(i).as_slice() {
                [_, 3, h, w] => {
                    input = Some(i.name().to_string());
                    if *h > 0 && h == w {
                        size = *h as usize;
                    }
                }
                [1] | [_] if i.name() == "weight" => weight = Some(i.name().to_string()),
                s => bail!("face enhancer {}: input {} has shape {s:?}: {hint}", model.display(), i.name()),
            }
        }
        let Some(input) = input else { bail!("face enhancer {} has no (1,3,S,S) input: {hint}", model.display()) };
        let Some(output) = session.outputs().first().map(|o| o.name().to_string()) else {
            bail!("face enhancer {} has no output: {hint}", model.display());
        };
        let mut loaded = FaceEnhancer { session, input, weight, output, size, blend: config.enhancer_blend, aligned: Vec::new(), warned: false };
        // A grey face through it: a wrong output shape fails here, not on air.
        loaded.aligned = vec![0.0; 3 * size * size];
        loaded.run().with_context(|| format!("face enhancer {}", model.display()))?;
        Ok(loaded)
    }

    /// The model on `self.aligned`: [3][S][S] RGB in [-1, 1] out.
    fn run(&mut self) -> Result<Vec<f32>> {
        let s = self.size;
        let image = Tensor::from_array(([1usize, 3, s, s], self.aligned.clone()))?;
        let outputs = match &self.weight {
            Some(w) => self.session.run(ort::inputs![self.input.as_str() => image, w.as_str() => Tensor::from_array(([1usize], vec![CODEFORMER_FIDELITY]))?])?,
            None => self.session.run(ort::inputs![self.input.as_str() => image])?,
        };
        let (shape, values) = outputs[self.output.as_str()].try_extract_tensor::<f32>()?;
        if shape.to_vec() != [1, 3, s as i64, s as i64] {
            bail!("output `{}` has shape {:?}; a face enhancer gives (1, 3, {s}, {s})", self.output, shape.to_vec());
        }
        Ok(values.to_vec())
    }

    /// `enhance`, or on failure the patch as it was: the stream keeps its new mouth.
    pub fn enhance_or_keep(&mut self, source: &Pixmap, crop: &FaceCrop, patch: &mut Patch) {
        if let Err(e) = self.enhance(source, crop, patch) {
            if !std::mem::replace(&mut self.warned, true) {
                tracing::error!("face enhancer failed ({e:#}); frames show the mouth without enhancing");
            }
        }
    }

    /// Enhances the face in `patch`'s bounds of `source` (premultiplied RGBA), the
    /// patch's mouth laid in first, aligned to the template by the crop's five points
    /// (the landmarks' where the pack has them); the patch then carries the whole
    /// blended face.
    pub fn enhance(&mut self, source: &Pixmap, crop: &FaceCrop, patch: &mut Patch) -> Result<()> {
        let rect = patch.bounds;
        let (bw, bh, s) = (rect.width() as usize, rect.height() as usize, self.size);
        let (fw, fh) = (source.width() as usize, source.height() as usize);
        let straight = |x: usize, y: usize| -> [f32; 3] {
            let p = &source.data()[(y * fw + x) * 4..][..4];
            let a = p[3] as f32;
            if a == 0.0 { [0.0; 3] } else { [0, 1, 2].map(|c| p[c] as f32 * 255.0 / a) }
        };
        // The face as it will show: the frame's bounds with the mouth laid in.
        let mut face = vec![0f32; bw * bh * 3];
        for y in 0..bh {
            for x in 0..bw {
                let o = y * bw + x;
                let m = patch.mask[o] as f32 / 255.0;
                let under = straight(rect.x0 as usize + x, rect.y0 as usize + y);
                for c in 0..3 {
                    face[o * 3 + c] = under[c] * (1.0 - m) + patch.rgb[o * 3 + c] as f32 * m;
                }
            }
        }
        // Bounds pixels (centres at integers) <-> template pixels.
        let five = crop.five_points().map(|[x, y]| [x - rect.x0 as f32 - 0.5, y - rect.y0 as f32 - 0.5]);
        let to_template = Similarity::fit(&five, &FFHQ_POINTS.map(|[u, v]| [u * s as f32 - 0.5, v * s as f32 - 0.5]));
        let from_template = to_template.inverse();
        // The aligned square, from the frame around the bounds where it reaches past them.
        let in_frame = |x: usize, y: usize| -> [f32; 3] {
            let (bx, by) = (x as i64 - rect.x0 as i64, y as i64 - rect.y0 as i64);
            if (0..bw as i64).contains(&bx) && (0..bh as i64).contains(&by) {
                let o = (by as usize * bw + bx as usize) * 3;
                [face[o], face[o + 1], face[o + 2]]
            } else {
                straight(x, y)
            }
        };
        let plane = s * s;
        self.aligned.resize(3 * plane, 0.0);
        for v in 0..s {
            for u in 0..s {
                let [x, y] = from_template.apply([u as f32, v as f32]);
                let rgb = bilinear(in_frame, fw, fh, x + rect.x0 as f32, y + rect.y0 as f32);
                for c in 0..3 {
                    self.aligned[c * plane + v * s + u] = rgb[c] / 127.5 - 1.0;
                }
            }
        }
        let enhanced = self.run()?;
        let out = |u: usize, v: usize| [0, 1, 2].map(|c| (enhanced[c * plane + v * s + u] + 1.0) * 127.5);
        // Back into the bounds: the template square's border blurred over 7 % of S, the
        // bounds' own edges faded (the face meets the frame without a seam).
        let border = 0.07 * s as f32;
        for y in 0..bh {
            let ey = smooth(0.0, 0.1, (y as f32 + 0.5) / bh as f32) * smooth(0.0, 0.1, 1.0 - (y as f32 + 0.5) / bh as f32);
            for x in 0..bw {
                let ex = smooth(0.0, 0.1, (x as f32 + 0.5) / bw as f32) * smooth(0.0, 0.1, 1.0 - (x as f32 + 0.5) / bw as f32);
                let [u, v] = to_template.apply([x as f32, y as f32]);
                let inside = u.min(v).min(s as f32 - 1.0 - u).min(s as f32 - 1.0 - v);
                let w = smooth(0.0, border, inside) * ex * ey * self.blend;
                let o = y * bw + x;
                if w <= 0.0 && patch.mask[o] == 0 {
                    continue;
                }
                let e = if w > 0.0 { bilinear(out, s, s, u, v) } else { [0.0; 3] };
                for c in 0..3 {
                    patch.rgb[o * 3 + c] = (face[o * 3 + c] * (1.0 - w) + e[c] * w).round().clamp(0.0, 255.0) as u8;
                }
                patch.mask[o] = 255;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::lipsync::neural::face::BOX_POINTS;

    #[test]
    fn a_fitted_similarity_recovers_a_known_one_and_inverts() {
        let known = Similarity { a: 1.8 * 0.1f32.cos(), b: 1.8 * 0.1f32.sin(), tx: 40.0, ty: -12.0 };
        let from = BOX_POINTS.map(|[u, v]| [u * 200.0, v * 240.0]);
        let to = from.map(|p| known.apply(p));
        let fitted = Similarity::fit(&from, &to);
        for p in from {
            let (q, r) = (fitted.apply(p), known.apply(p));
            assert!((q[0] - r[0]).abs() < 1e-3 && (q[1] - r[1]).abs() < 1e-3, "{q:?} vs {r:?}");
            let back = fitted.inverse().apply(q);
            assert!((back[0] - p[0]).abs() < 1e-3 && (back[1] - p[1]).abs() < 1e-3, "{back:?} vs {p:?}");
        }
    }

    #[test]
    fn a_frontal_box_maps_onto_the_template_upright() {
        let from = BOX_POINTS.map(|[u, v]| [u * 150.0, v * 180.0]);
        let to = FFHQ_POINTS.map(|[u, v]| [u * 512.0, v * 512.0]);
        let t = Similarity::fit(&from, &to);
        assert!(t.b.abs() < 0.01 * t.a, "no rotation: {t:?}");
        // Each point lands within 3 % of S of its template point.
        for (f, g) in from.iter().zip(to) {
            let q = t.apply(*f);
            assert!((q[0] - g[0]).hypot(q[1] - g[1]) < 0.03 * 512.0, "{q:?} vs {g:?}");
        }
    }
}
