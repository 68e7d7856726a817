//! BlazeFace, MediaPipe's face detector, on its ONNX contract: one input (1,3,N,N),
//! RGB in [-1, 1]; outputs (1,A,16) regressors (box centre and size, then six
//! keypoints: the eyes, the nose tip, the mouth, the ears, as offsets from an anchor in
//! input pixels) and (1,A,1) face logits. The anchors follow from N and A: 128 with
//! 896 (short range: 16x16 cells of 2 and 8x8 cells of 6) or 192 with 2304 (full
//! range: 48x48 cells of 1).

use std::path::Path;

use anyhow::{Context, Result, bail};
use ort::session::Session;
use ort::value::Tensor;

use super::window::{Rgba, Window};
use crate::onnx;

/// A detection below this probability is no face.
const MIN_SCORE: f32 = 0.5;
/// Overlapping detections of one face: the best is kept.
const SAME_FACE_IOU: f32 = 0.3;

/// One face found: its box [x, y, w, h] and keypoints in frame pixels.
#[derive(Clone, Debug)]
pub struct Detection {
    pub score: f32,
    pub bbox: [f32; 4],
    /// The subject's right eye (left on screen), left eye, nose tip, mouth centre,
    /// right and left ear.
    pub keypoints: [[f32; 2]; 6],
}

impl Detection {
    /// Where the face mesh should look: the box grown 1.5 times (the mesh wants the
    /// whole head), square, turned so the eyes are level.
    pub fn mesh_window(&self) -> Window {
        let [x, y, w, h] = self.bbox;
        let [r, l] = [self.keypoints[0], self.keypoints[1]];
        Window { center: [x + w / 2.0, y + h / 2.0], size: w.max(h) * 1.5, angle: (l[1] - r[1]).atan2(l[0] - r[0]) }
    }

    pub fn area(&self) -> f32 {
        self.bbox[2] * self.bbox[3]
    }
}

pub struct BlazeFace {
    session: Session,
    input: String,
    regressors: String,
    scores: String,
    size: usize,
    anchors: Vec<[f32; 2]>,
}

impl BlazeFace {
    pub fn load(model: &Path, onnxruntime: &Path) -> Result<BlazeFace> {
        let hint = format!(
            "give MediaPipe's BlazeFace as ONNX: one (1,3,N,N) input, (1,A,16) regressors and (1,A,1) scores, N=128 with A=896 or N=192 with A=2304 ({})",
            super::models::SETUP_HINT
        );
        let session = onnx::open_session(model, "face detector", &hint, onnxruntime, 1, Ok)?;
        let what = || format!("face detector {}", model.display());
        let (input, size) = match session.inputs() {
            [i] => match onnx::shape(i).as_slice() {
                [1, 3, h, w] if h == w && *h > 0 => (i.name().to_string(), *h as usize),
                s => bail!("{}: input {} has shape {s:?}: {hint}", what(), i.name()),
            },
            inputs => bail!("{} has {} inputs, not one: {hint}", what(), inputs.len()),
        };
        let find = |last: i64| session.outputs().iter().find(|o| onnx::shape(o).last() == Some(&last)).map(|o| (o.name().to_string(), onnx::shape(o)));
        let (Some((regressors, reg_shape)), Some((scores, _))) = (find(16), find(1)) else {
            bail!("{}: no (1,A,16) and (1,A,1) outputs: {hint}", what());
        };
        let count = reg_shape.get(1).copied().unwrap_or(0) as usize;
        let Some(anchors) = anchors(size, count) else {
            bail!("{}: a {size}x{size} input with {count} anchors is no BlazeFace this knows: {hint}", what());
        };
        Ok(BlazeFace { session, input, regressors, scores, size, anchors })
    }

    /// Every face in the frame, most likely first.
    pub fn detect(&mut self, frame: Rgba) -> Result<Vec<Detection>> {
        let n = self.size;
        let window = Window::whole(frame.width, frame.height);
        let input = Tensor::from_array(([1usize, 3, n, n], window.sample_planar(frame, n, 2.0 / 255.0, -1.0)))?;
        let outputs = self.session.run(ort::inputs![self.input.as_str() => input])?;
        let (_, reg) = outputs[self.regressors.as_str()].try_extract_tensor::<f32>().context("detector regressors")?;
        let (_, logits) = outputs[self.scores.as_str()].try_extract_tensor::<f32>().context("detector scores")?;
        let mut found = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = 1.0 / (1.0 + (-logits[i].clamp(-80.0, 80.0)).exp());
            if score < MIN_SCORE {
                continue;
            }
            let r = &reg[i * 16..i * 16 + 16];
            let at = |dx: f32, dy: f32| window.to_frame([anchor[0] * n as f32 + dx, anchor[1] * n as f32 + dy], n);
            let [cx, cy] = at(r[0], r[1]);
            let scale = window.size / n as f32;
            let (w, h) = (r[2] * scale, r[3] * scale);
            let keypoints = std::array::from_fn(|k| at(r[4 + 2 * k], r[5 + 2 * k]));
            found.push(Detection { score, bbox: [cx - w / 2.0, cy - h / 2.0, w, h], keypoints });
        }
        Ok(best_per_face(found))
    }
}

/// Anchor centres (fractions of the input) of BlazeFace's short- or full-range layout.
fn anchors(size: usize, count: usize) -> Option<Vec<[f32; 2]>> {
    let layers: &[(usize, usize)] = match (size, count) {
        (128, 896) => &[(16, 2), (8, 6)],
        (192, 2304) => &[(48, 1)],
        _ => return None,
    };
    let mut out = Vec::with_capacity(count);
    for &(cells, per_cell) in layers {
        for y in 0..cells {
            for x in 0..cells {
                for _ in 0..per_cell {
                    out.push([(x as f32 + 0.5) / cells as f32, (y as f32 + 0.5) / cells as f32]);
                }
            }
        }
    }
    Some(out)
}

/// Non-maximum suppression: the best detection of each face, best first.
fn best_per_face(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if kept.iter().all(|k| iou(&k.bbox, &d.bbox) < SAME_FACE_IOU) {
            kept.push(d);
        }
    }
    kept
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let ix = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let iy = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    let inter = ix.max(0.0) * iy.max(0.0);
    inter / (a[2] * a[3] + b[2] * b[3] - inter).max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_layouts_match_the_two_blazefaces() {
        let short = anchors(128, 896).unwrap();
        assert_eq!(short.len(), 896);
        assert_eq!(short[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(short[1], short[0], "two anchors a cell");
        assert_eq!(short[512], [0.5 / 8.0, 0.5 / 8.0], "then the 8x8 layer");
        assert_eq!(anchors(192, 2304).unwrap().len(), 2304);
        assert!(anchors(128, 2304).is_none());
    }

    #[test]
    fn overlapping_detections_of_one_face_become_one() {
        let d = |score, x| Detection { score, bbox: [x, 0.0, 10.0, 10.0], keypoints: [[0.0; 2]; 6] };
        let kept = best_per_face(vec![d(0.6, 1.0), d(0.9, 0.0), d(0.8, 50.0)]);
        let scores: Vec<f32> = kept.iter().map(|k| k.score).collect();
        assert_eq!(scores, vec![0.9, 0.8]);
    }
}
