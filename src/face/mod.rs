//! Faces in a presenter's footage: found (BlazeFace, detector.rs), covered by 468
//! points (MediaPipe's face mesh, mesh.rs) and measured from those points (eyes,
//! mouth, head pose: landmarks.rs). Both models are MediaPipe's, converted to ONNX at
//! setup (docs/face-landmarks.md) and run through ONNX Runtime. A model's input is a
//! square window on the frame that may be rotated (window.rs), so a tilted head is
//! seen upright.

pub mod detector;
pub mod landmarks;
pub mod mesh;
pub mod models;
pub mod track;
pub mod window;

pub use detector::{BlazeFace, Detection};
pub use landmarks::{HeadPose, Landmarks, Outline};
pub use mesh::FaceMesh;
pub use models::{DETECTOR_FILE, MESH_FILE, MODEL_DIR, default_models};
pub use track::{FaceState, FaceTracker, TrackedFace};
pub use window::{Rgba, Window};

/// The most likely face in a still frame, with its mesh; None when there is none.
pub fn fit_still(detector: &mut BlazeFace, mesh: &mut FaceMesh, frame: Rgba) -> anyhow::Result<Option<mesh::MeshFit>> {
    match detector.detect(frame)?.first() {
        Some(best) => mesh.fit_detection(frame, best),
        None => Ok(None),
    }
}
