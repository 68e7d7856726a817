//! A looping background video: decoded by GStreamer at the output size and frame
//! rate, one frame taken per stream frame, back to the start at the end. In live
//! mode the renderer never waits for the decoder: when no new frame is ready it
//! shows the last one again.

use std::path::Path;

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::frame::FrameSize;

pub struct VideoBackground {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    frame: Vec<u8>,
    /// Block for each frame (render mode) or take what is ready (live).
    wait: bool,
    /// The first frame, decoded at open to check the file, not shown yet.
    primed: bool,
}

impl VideoBackground {
    pub fn open(path: &Path, size: FrameSize, fps: u32, wait: bool) -> Result<VideoBackground> {
        if !path.is_file() {
            bail!("video {} not found", path.display());
        }
        let location = crate::gst_helpers::location(path);
        // Scaled to fill the frame: give a video of the output's aspect ratio.
        let desc = format!(
            "filesrc location=\"{location}\" ! decodebin ! videoconvert ! videoscale ! videorate \
             ! video/x-raw,format=RGBA,width={},height={},pixel-aspect-ratio=1/1,framerate={fps}/1 \
             ! appsink name=sink sync=false max-buffers=4 drop=false",
            size.width, size.height
        );
        let pipeline = crate::gst_helpers::launch(&desc)?;
        let sink = pipeline.by_name("sink").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).context("appsink")?;
        pipeline.set_state(gst::State::Playing).context("starting the background video")?;
        let mut video = VideoBackground { pipeline, sink, frame: vec![0; (size.width * size.height * 4) as usize], wait: true, primed: false };
        // The first frame proves the file decodes; a broken file stops startup here.
        if !video.advance() {
            bail!("{} does not decode as video (use H.264/VP8/VP9 in .mp4, .mkv or .webm)", path.display());
        }
        video.wait = wait;
        video.primed = true;
        Ok(video)
    }

    /// Moves to the next frame (looping at the end). False when none came.
    pub fn advance(&mut self) -> bool {
        if std::mem::take(&mut self.primed) {
            return true;
        }
        let timeout = if self.wait { gst::ClockTime::from_seconds(2) } else { gst::ClockTime::from_mseconds(5) };
        for _ in 0..2 {
            if let Some(sample) = self.sink.try_pull_sample(timeout) {
                if let Some(buf) = sample.buffer() {
                    if let Ok(map) = buf.map_readable() {
                        if map.len() == self.frame.len() {
                            self.frame.copy_from_slice(&map);
                            return true;
                        }
                    }
                }
                return false;
            }
            if !self.sink.is_eos() {
                return false;
            }
            // Back to the start, then take its first frame.
            if self.pipeline.seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE, gst::ClockTime::ZERO).is_err() {
                tracing::warn!("background video: cannot loop");
                return false;
            }
        }
        false
    }

    /// The current frame, RGBA at the output size (opaque, so premultiplied as is).
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }
}

impl Drop for VideoBackground {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
