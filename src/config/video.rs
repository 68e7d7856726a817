//! `[video]`: the frame, its rate and the H.264 encode.

use serde::Deserialize;

use crate::frame::FrameSize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    /// "WIDTHxHEIGHT", both even.
    pub size: FrameSize,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// Keyframe interval; platforms ask for 2 s.
    pub keyframe_seconds: u32,
    /// Draws the wall-clock time as a row of black and white blocks in the top-left
    /// corner, so a player can measure glass-to-glass latency (benches/webrtc_latency.rs).
    pub latency_marker: bool,
    /// x264's speed preset (docs/performance.md has what each costs on our frames).
    pub preset: String,
    /// x264's threads: 1 (the default) encodes each frame on one thread, so the
    /// encoder runs beside the renderer and the machine's other cores go to other
    /// channels; 0 lets x264 pick by the cores (slices of each frame in parallel).
    pub encoder_threads: u32,
    /// The H.264 profile of the one encode.
    pub profile: H264Profile,
}

/// `auto`: Constrained Baseline when a WHIP ingest is configured (what WebRTC stacks
/// negotiate most widely), Main otherwise (a little better for the same bitrate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum H264Profile {
    #[default]
    Auto,
    Main,
    ConstrainedBaseline,
}

/// x264's speed presets, fastest first.
pub const X264_PRESETS: [&str; 9] = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            size: FrameSize { width: 720, height: 1280 },
            fps: 25,
            bitrate_kbps: 2500,
            keyframe_seconds: 2,
            latency_marker: false,
            preset: "superfast".into(),
            encoder_threads: 1,
            profile: H264Profile::Auto,
        }
    }
}
