//! avatar.toml of a video pack, and its faces.json: plain data (docs/avatar-packs.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::avatar::consent::ConsentRecord;
use crate::avatar::key::KeySettings;
use crate::avatar::manifest::FramingRects;

fn yes() -> bool {
    true
}
fn default_faces() -> String {
    "faces.json".into()
}
fn default_padding() -> [f32; 4] {
    [0.0, 10.0, 0.0, 0.0]
}

/// avatar.toml of a video pack (docs/avatar-packs.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VideoManifest {
    pub name: String,
    pub kind: String,
    /// Footage of a real person needs their consent on record; set false only for
    /// rendered characters.
    #[serde(default = "yes")]
    pub real_person: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentRecord>,
    /// The footage, inside the pack.
    pub video: String,
    /// A grey matte of the same length and size (white: the person), instead of `key`.
    /// With neither, the footage is shown whole, its own background included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_video: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySettings>,
    /// Face box [x, y, w, h] of every frame (JSON, see docs).
    #[serde(default = "default_faces")]
    pub faces: String,
    /// Grows each face box [top, bottom, left, right] before the crop (Wav2Lip: 10 px below the chin).
    #[serde(default = "default_padding")]
    pub face_padding: [f32; 4],
    pub idle: FrameRange,
    #[serde(default)]
    pub gestures: BTreeMap<String, VideoGesture>,
    /// The presenter's own face model, inside the pack (written by `avatar train`);
    /// used unless the config names another in `avatar.lipsync.model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_model: Option<String>,
    pub framing: FramingRects,
}

/// Frames [first, last] of the footage, both included.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRange {
    pub first: usize,
    pub last: usize,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VideoGesture {
    pub first: usize,
    pub last: usize,
    /// The idle frame its first frame follows best: the gesture starts when the idle
    /// passes it.
    pub entry: usize,
    /// The idle frame its last frame leads into best.
    pub returns_to: usize,
}

/// faces.json: one box per frame of the footage (null where no face was found).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaceTrack {
    /// How the boxes were found (for people reading the file).
    #[serde(default)]
    pub source: String,
    pub boxes: Vec<Option<[f32; 4]>>,
}

/// landmarks.json (packs imported without --face): the face mesh's points that crops,
/// masks and measures need, and the head's pose, for every frame of the footage.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkTrack {
    pub source: String,
    /// Which of the mesh's 468 points each frame's `xy` holds, in order.
    pub points: Vec<usize>,
    pub frames: Vec<LandmarkFrame>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LandmarkFrame {
    pub state: crate::face::FaceState,
    /// Yaw, pitch, roll in degrees (face/landmarks.rs); absent when lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pose: Option<[f32; 3]>,
    /// Frame pixels, one pair per point in `points`; empty when lost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xy: Vec<[f32; 2]>,
}
