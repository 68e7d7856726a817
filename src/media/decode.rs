//! Reading a video file frame by frame (avatar packs, `avatar import`): decoded by
//! GStreamer to RGBA at the file's own size, handed over in order, as fast as the
//! decoder goes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

/// What the file holds.
#[derive(Debug, Clone, Copy)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Frames in the file, from its duration (None when the container does not say).
    pub frames: Option<usize>,
}

/// Calls `each(index, info, rgba)` for every frame; `each` returns false to stop early.
/// Returns the number of frames read.
pub fn for_each_frame(path: &Path, mut each: impl FnMut(usize, VideoInfo, &[u8]) -> Result<bool>) -> Result<usize> {
    if !path.is_file() {
        bail!("video {} not found", path.display());
    }
    crate::gst_helpers::init()?;
    let location = path.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"");
    let desc = format!(
        "filesrc location=\"{location}\" ! decodebin ! videoconvert ! video/x-raw,format=RGBA \
         ! appsink name=sink sync=false max-buffers=8 drop=false"
    );
    let pipeline = gst::parse::launch(&desc)?.downcast::<gst::Pipeline>().map_err(|_| anyhow::anyhow!("not a pipeline"))?;
    let sink = pipeline.by_name("sink").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).context("appsink")?;
    let _stop = StopOnDrop(pipeline.clone());
    pipeline.set_state(gst::State::Playing).with_context(|| format!("{} cannot be read as video", path.display()))?;
    let bus = pipeline.bus().context("bus")?;
    let mut n = 0;
    loop {
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                bail!("{} does not decode as video ({}): use H.264, VP8 or VP9 in .mp4, .mkv, .mov or .webm", path.display(), e.error());
            }
        }
        let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(10)) else {
            if sink.is_eos() {
                break;
            }
            bail!("{}: the decoder stopped answering after {n} frames", path.display());
        };
        let caps = sample.caps().context("decoded frame without caps")?;
        let vi = gst_video::VideoInfo::from_caps(caps).context("decoded frame caps")?;
        let fps = vi.fps();
        let info = VideoInfo {
            width: vi.width(),
            height: vi.height(),
            fps: if fps.denom() > 0 && fps.numer() > 0 { fps.numer() as f64 / fps.denom() as f64 } else { 25.0 },
            frames: None,
        };
        let info = VideoInfo {
            frames: pipeline.query_duration::<gst::ClockTime>().map(|d| (d.nseconds() as f64 / 1e9 * info.fps).round() as usize),
            ..info
        };
        let buffer = sample.buffer().context("decoded frame without data")?;
        let map = buffer.map_readable().context("decoded frame")?;
        let row = (info.width * 4) as usize;
        let stride = vi.stride()[0] as usize;
        let keep_going = if stride == row {
            each(n, info, &map[..row * info.height as usize])?
        } else {
            // Rows padded by the decoder: pack them.
            let packed: Vec<u8> = (0..info.height as usize).flat_map(|y| map[y * stride..y * stride + row].iter().copied()).collect();
            each(n, info, &packed)?
        };
        n += 1;
        if !keep_going {
            break;
        }
    }
    if n == 0 {
        bail!("{} holds no video frames", path.display());
    }
    Ok(n)
}

struct StopOnDrop(gst::Pipeline);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = self.0.set_state(gst::State::Null);
    }
}

/// Whether `path` names a video file we decode (by its extension).
pub fn is_video(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref(),
        Some("mp4" | "mkv" | "webm" | "mov" | "m4v")
    )
}
