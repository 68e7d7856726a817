//! HLS for web players: MPEG-TS segments and a rolling playlist in a folder; old
//! segments are deleted as they leave the playlist.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::config::HlsOutputConfig;

const PIPELINE: &str = include_str!("../../pipelines/output-hls.gst");

#[derive(Debug, Clone)]
pub struct HlsTarget {
    pub dir: PathBuf,
    pub segment_seconds: u32,
    pub playlist_length: u32,
}

impl HlsTarget {
    pub fn new(config: &HlsOutputConfig, keyframe_seconds: u32) -> HlsTarget {
        HlsTarget {
            dir: config.dir.clone(),
            segment_seconds: config.segment_seconds.unwrap_or(keyframe_seconds),
            playlist_length: config.playlist_length,
        }
    }

    /// Makes the playlist's folder (when the stream starts, not when the config is read).
    pub fn make_folder(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("cannot create the HLS folder {}", self.dir.display()))
    }

    pub fn pipeline_description(&self) -> String {
        let dir = self.dir.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
        let sink = crate::gst_helpers::fill(
            PIPELINE,
            &[
                // The segment location is a printf pattern: a `%` of the folder's is escaped.
                ("dir_pattern", dir.replace('%', "%%")),
                ("dir", dir),
                ("segment_seconds", self.segment_seconds.to_string()),
                ("playlist_length", self.playlist_length.to_string()),
                // A player may still be fetching a segment that just left the playlist.
                ("max_files", (self.playlist_length + 2).to_string()),
            ],
        );
        super::sources::with_sources("hls.video", "hls.audio", &sink)
    }
}
