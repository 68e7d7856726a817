//! Cues: what the show's markup asks of the scene at a word (a gesture, a
//! background, the product card, the framing), shared by the show, the timeline,
//! the avatar and the scene.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    Gesture(String),
    Background(String),
    Card(bool),
    Framing(Framing),
    /// The next word is emphasised (caption highlight, a nod).
    Emphasis,
    /// The host's face shows a feeling for a few seconds (3D hosts' expressions).
    Emotion(Emotion),
}

/// VRM's emotion presets, which a 3D host's face shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    /// Back to the speaking face.
    Neutral,
    Happy,
    Surprised,
    Sad,
    Angry,
    Relaxed,
}

/// How much of the host the frame shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Framing {
    /// Head to waist: the usual shop-stream shot.
    #[default]
    Half,
    /// Head to toe.
    Full,
}

/// Changes to the scene, from show markup or the control API.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SceneCommand {
    Background { name: String, crossfade_ms: Option<u32> },
    Card { product: Option<String>, visible: Option<bool>, sale_seconds: Option<u32> },
    Captions { visible: bool },
    Framing { framing: Framing },
    /// A gesture of the avatar pack, started at its next natural point.
    Gesture { name: String },
}
