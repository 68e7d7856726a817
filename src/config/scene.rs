//! `[scene]`: what surrounds the host.

use std::path::PathBuf;

use serde::Deserialize;

use crate::cue::Framing;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SceneConfig {
    /// Background: an .svg, .png or .jpg file, or a colour "#rrggbb".
    pub background: String,
    /// More backgrounds by name, for `[background NAME]` markup and PUT /v1/scene.
    pub backgrounds: std::collections::BTreeMap<String, String>,
    /// Background switches blend over this long.
    pub crossfade_ms: u32,
    /// Word-synced captions of what the host says.
    pub captions: bool,
    /// A logo in the top-right corner (.svg, .png, .jpg).
    pub logo: Option<PathBuf>,
    /// Host framing at start: "half" (head to waist) or "full" (head to toe).
    pub framing: Framing,
    /// Where the always-visible "AI-generated" label sits.
    pub label_position: LabelPosition,
}

impl Default for SceneConfig {
    fn default() -> Self {
        SceneConfig {
            background: "assets/backgrounds/studio.svg".into(),
            backgrounds: Default::default(),
            crossfade_ms: 600,
            captions: true,
            logo: None,
            framing: Default::default(),
            label_position: LabelPosition::TopLeft,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LabelPosition {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
}
