//! MediaPipe's face mesh on its ONNX contract: one input (1,3,192,192), RGB in [0, 1],
//! a window on the face grown 1.5 times and turned upright; outputs 1404 values (468
//! points x, y, z in input pixels; z towards the camera is negative) and one
//! face-presence logit.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ort::session::Session;
use ort::value::Tensor;

use super::detector::Detection;
use super::landmarks::{Landmarks, POINTS};
use super::window::{Rgba, Window};
use crate::onnx;

const INPUT: usize = 192;
/// Below this presence the face is lost (covered, turned away, out of the window).
pub const MIN_PRESENCE: f32 = 0.5;

pub struct FaceMesh {
    session: Session,
    input: String,
    points: String,
    presence: String,
}

/// The mesh on one window: its points in frame pixels and how sure it is a face is there.
#[derive(Clone, Debug)]
pub struct MeshFit {
    pub landmarks: Landmarks,
    /// 0..1: how sure the mesh is that a face fills its window (MIN_PRESENCE).
    pub presence: f32,
}

impl FaceMesh {
    pub fn load(model: &Path, onnxruntime: &Path) -> Result<FaceMesh> {
        let hint = format!(
            "give MediaPipe's face mesh as ONNX: one (1,3,192,192) input, a 1404-value output (468 points) and a 1-value presence output ({})",
            super::models::SETUP_HINT
        );
        let session = onnx::open_session(model, "face mesh", &hint, onnxruntime, 1, Ok)?;
        let what = || format!("face mesh {}", model.display());
        let size = |o: &ort::value::Outlet| onnx::shape(o).iter().product::<i64>();
        let input = match session.inputs() {
            [i] if onnx::shape(i) == [1, 3, INPUT as i64, INPUT as i64] => i.name().to_string(),
            [i] => bail!("{}: input {} has shape {:?}: {hint}", what(), i.name(), onnx::shape(i)),
            inputs => bail!("{} has {} inputs, not one: {hint}", what(), inputs.len()),
        };
        let find = |n: i64| session.outputs().iter().find(|o| size(o) == n).map(|o| o.name().to_string());
        let (Some(points), Some(presence)) = (find(POINTS as i64 * 3), find(1)) else {
            bail!("{}: no 1404-value and 1-value outputs: {hint}", what());
        };
        Ok(FaceMesh { session, input, points, presence })
    }

    /// The mesh fitted in `window` of `frame`.
    pub fn fit(&mut self, frame: Rgba, window: Window) -> Result<MeshFit> {
        let input = Tensor::from_array(([1usize, 3, INPUT, INPUT], window.sample_planar(frame, INPUT, 1.0 / 255.0, 0.0)))?;
        let outputs = self.session.run(ort::inputs![self.input.as_str() => input])?;
        let (_, raw) = outputs[self.points.as_str()].try_extract_tensor::<f32>().context("face mesh points")?;
        let (_, logit) = outputs[self.presence.as_str()].try_extract_tensor::<f32>().context("face mesh presence")?;
        let depth_scale = window.size / INPUT as f32;
        let points = (0..POINTS)
            .map(|i| {
                let [x, y] = window.to_frame([raw[i * 3], raw[i * 3 + 1]], INPUT);
                [x, y, raw[i * 3 + 2] * depth_scale]
            })
            .collect();
        let presence = 1.0 / (1.0 + (-logit[0].clamp(-80.0, 80.0)).exp());
        Ok(MeshFit { landmarks: Landmarks { points }, presence })
    }

    /// The mesh on a detected face: first in the window the detection gives, then in
    /// the window its own points give (tighter, turned with the eyes, as when following
    /// a face from frame to frame). None when the mesh says no face is there.
    pub fn fit_detection(&mut self, frame: Rgba, found: &Detection) -> Result<Option<MeshFit>> {
        let first = self.fit(frame, found.mesh_window())?;
        if first.presence < MIN_PRESENCE {
            return Ok(None);
        }
        let fit = self.fit(frame, first.landmarks.next_window())?;
        Ok((fit.presence >= MIN_PRESENCE).then_some(fit))
    }
}
