//! An optional face detector for `avatar import`, on the contract of the common
//! lightweight ONNX detectors (UltraFace "version-RFB-320" and its kin): one image input
//! (1,3,H,W), RGB, (pixel - 127) / 128; outputs `scores` (1,N,2: background, face) and
//! `boxes` (1,N,4: x0, y0, x1, y1 as fractions of the image). Names and the input size
//! are read from the model.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ort::session::Session;
use ort::value::Tensor;

use crate::onnx;

/// A detection below this score is no face.
const MIN_SCORE: f32 = 0.7;

pub struct FaceDetector {
    session: Session,
    input: String,
    scores: String,
    boxes: String,
    width: usize,
    height: usize,
}

impl FaceDetector {
    pub fn load(model: &Path, onnxruntime: &Path) -> Result<FaceDetector> {
        let hint = "give a face detector with one (1,3,H,W) input and `scores` (1,N,2) / `boxes` (1,N,4) outputs, as UltraFace's version-RFB-320.onnx";
        let session = onnx::open_session(model, "face detector", hint, onnxruntime, onnx::all_cores(), Ok)?;
        let (input, width, height) = match session.inputs() {
            [i] => match onnx::shape(i).as_slice() {
                [_, 3, h, w] if *h > 0 && *w > 0 => (i.name().to_string(), *w as usize, *h as usize),
                s => bail!("face detector {}: input {} has shape {s:?}, not (1,3,H,W): {hint}", model.display(), i.name()),
            },
            _ => bail!("face detector {} has {} inputs, not one: {hint}", model.display(), session.inputs().len()),
        };
        let find = |last: i64| session.outputs().iter().find(|o| onnx::shape(o).last() == Some(&last)).map(|o| o.name().to_string());
        let (Some(scores), Some(boxes)) = (find(2), find(4)) else {
            bail!("face detector {}: no (1,N,2) scores and (1,N,4) boxes outputs: {hint}", model.display());
        };
        Ok(FaceDetector { session, input, scores, boxes, width, height })
    }

    /// The most likely face in a premultiplied RGBA frame, [x, y, w, h] in its pixels.
    pub fn detect(&mut self, rgba: &[u8], width: u32, height: u32) -> Result<Option<[f32; 4]>> {
        let (w, h) = (self.width, self.height);
        let mut input = vec![0f32; 3 * w * h];
        for y in 0..h {
            let sy = ((y as f32 + 0.5) * height as f32 / h as f32) as usize;
            for x in 0..w {
                let sx = ((x as f32 + 0.5) * width as f32 / w as f32) as usize;
                let p = &rgba[(sy.min(height as usize - 1) * width as usize + sx.min(width as usize - 1)) * 4..][..3];
                for c in 0..3 {
                    input[c * w * h + y * w + x] = (p[c] as f32 - 127.0) / 128.0;
                }
            }
        }
        let tensor = Tensor::from_array(([1usize, 3, h, w], input))?;
        let outputs = self.session.run(ort::inputs![self.input.as_str() => tensor])?;
        let (_, scores) = outputs[self.scores.as_str()].try_extract_tensor::<f32>().context("detector scores")?;
        let (_, boxes) = outputs[self.boxes.as_str()].try_extract_tensor::<f32>().context("detector boxes")?;
        let best = (0..scores.len() / 2).max_by(|&a, &b| scores[a * 2 + 1].total_cmp(&scores[b * 2 + 1]));
        Ok(best.filter(|&i| scores[i * 2 + 1] >= MIN_SCORE && i * 4 + 3 < boxes.len()).map(|i| {
            let b = &boxes[i * 4..i * 4 + 4];
            let (x0, y0) = (b[0].clamp(0.0, 1.0) * width as f32, b[1].clamp(0.0, 1.0) * height as f32);
            let (x1, y1) = (b[2].clamp(0.0, 1.0) * width as f32, b[3].clamp(0.0, 1.0) * height as f32);
            [x0, y0, (x1 - x0).max(1.0), (y1 - y0).max(1.0)]
        }))
    }
}
