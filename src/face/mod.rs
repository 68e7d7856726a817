//! Faces in a presenter's footage: found (BlazeFace, detector.rs), covered by 468
//! points (MediaPipe's face mesh, mesh.rs) and measured from those points (eyes,
//! mouth, head pose: landmarks.rs). Both models are MediaPipe's, converted to ONNX at
//! setup (docs/face-landmarks.md) and run through ONNX Runtime. A model's input is a
//! square window on the frame that may be rotated (window.rs), so a tilted head is
//! seen upright.

pub mod detector;
pub mod landmarks;
pub mod mesh;
pub mod window;

use std::path::{Path, PathBuf};

pub use detector::{BlazeFace, Detection};
pub use landmarks::{HeadPose, Landmarks};
pub use mesh::FaceMesh;
pub use window::{Rgba, Window};

/// Where setup puts the models, under the repository (or the image's /app).
pub const MODEL_DIR: &str = "models/face";
/// BlazeFace full range: faces from near to a few metres away (a 192x192 input).
pub const DETECTOR_FILE: &str = "face_detection_full_range.onnx";
pub const MESH_FILE: &str = "face_landmark.onnx";

/// The default detector and mesh under `dir`.
pub fn default_models(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(DETECTOR_FILE), dir.join(MESH_FILE))
}

/// What to run setup for, in every "model not found" error.
pub(crate) const SETUP_HINT: &str = "run `bash scripts/setup.sh`, which converts MediaPipe's face models to ONNX into models/face";

/// The most likely face in a still frame: the detector's best face, the mesh in the
/// window it gives, then the mesh again in the window its own points give (tighter
/// and turned with the eyes, as when following a face from frame to frame). None when
/// no face is found or the mesh says none is there.
pub fn fit_still(detector: &mut BlazeFace, mesh: &mut FaceMesh, frame: Rgba) -> anyhow::Result<Option<mesh::MeshFit>> {
    let Some(best) = detector.detect(frame)?.into_iter().next() else { return Ok(None) };
    let first = mesh.fit(frame, best.mesh_window())?;
    if first.presence < mesh::MIN_PRESENCE {
        return Ok(None);
    }
    let fit = mesh.fit(frame, first.landmarks.next_window())?;
    Ok((fit.presence >= mesh::MIN_PRESENCE).then_some(fit))
}
