//! Where setup puts the face models, and what to do when they are missing.

use std::path::{Path, PathBuf};

/// Under the repository (or the image's /app).
pub const MODEL_DIR: &str = "models/face";
/// BlazeFace full range: faces from near to a few metres away (a 192x192 input).
pub const DETECTOR_FILE: &str = "face_detection_full_range.onnx";
pub const MESH_FILE: &str = "face_landmark.onnx";

/// The default detector and mesh under `dir`.
pub fn default_models(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(DETECTOR_FILE), dir.join(MESH_FILE))
}

/// What to run, in every "model not found" error.
pub const SETUP_HINT: &str = "run `bash scripts/setup.sh`, which converts MediaPipe's face models to ONNX into models/face";
