//! Reading a video file frame by frame (avatar packs, `avatar import`): decoded by
//! GStreamer to RGBA at the file's own size, handed over in order, as fast as the
//! decoder goes; a reader can also jump to a frame of a constant-rate file.

use std::path::{Path, PathBuf};

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

/// Any container and codec GStreamer has a plugin for.
pub const ANY_DECODER: &str = "decodebin";

/// An open video file: frames in order from the start, or from a frame `seek` named.
pub struct VideoReader {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    path: PathBuf,
    /// The index of the frame `next` hands over.
    next: usize,
    _stop: StopOnDrop,
}

impl VideoReader {
    /// Opens `path` with `decoder`, the elements between the file and the colour
    /// conversion (ANY_DECODER, or a fixed chain for files of a known kind).
    pub fn open(path: &Path, decoder: &str) -> Result<VideoReader> {
        if !path.is_file() {
            bail!("video {} not found", path.display());
        }
        crate::gst_helpers::init()?;
        let location = crate::gst_helpers::location(path);
        let desc = format!(
            "filesrc location=\"{location}\" ! {decoder} ! videoconvert ! video/x-raw,format=RGBA \
             ! appsink name=sink sync=false max-buffers=2 drop=false"
        );
        let pipeline = crate::gst_helpers::launch(&desc)?;
        let sink = pipeline.by_name("sink").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).context("appsink")?;
        let stop = StopOnDrop(pipeline.clone());
        pipeline.set_state(gst::State::Playing).with_context(|| format!("{} cannot be read as video", path.display()))?;
        Ok(VideoReader { pipeline, sink, path: path.to_path_buf(), next: 0, _stop: stop })
    }

    /// Calls `each(index, info, rgba)` with the next frame; None at the end of the file.
    pub fn next<R>(&mut self, each: impl FnOnce(usize, VideoInfo, &[u8]) -> Result<R>) -> Result<Option<R>> {
        let path = self.path.display();
        if let Some(msg) = self.pipeline.bus().and_then(|bus| bus.pop_filtered(&[gst::MessageType::Error])) {
            if let gst::MessageView::Error(e) = msg.view() {
                bail!("{path} does not decode as video ({}): use H.264, VP8 or VP9 in .mp4, .mkv, .mov or .webm", e.error());
            }
        }
        let Some(sample) = self.sink.try_pull_sample(gst::ClockTime::from_seconds(10)) else {
            if self.sink.is_eos() {
                return Ok(None);
            }
            bail!("{path}: the decoder stopped answering after frame {}", self.next);
        };
        let caps = sample.caps().context("decoded frame without caps")?;
        let vi = gst_video::VideoInfo::from_caps(caps).context("decoded frame caps")?;
        let fps = vi.fps();
        let fps = if fps.denom() > 0 && fps.numer() > 0 { fps.numer() as f64 / fps.denom() as f64 } else { 25.0 };
        let frames = self.pipeline.query_duration::<gst::ClockTime>().map(|d| (d.nseconds() as f64 / 1e9 * fps).round() as usize);
        let info = VideoInfo { width: vi.width(), height: vi.height(), fps, frames };
        let buffer = sample.buffer().context("decoded frame without data")?;
        let map = buffer.map_readable().context("decoded frame")?;
        let row = (info.width * 4) as usize;
        let stride = vi.stride()[0] as usize;
        let index = self.next;
        self.next += 1;
        let out = if stride == row {
            each(index, info, &map[..row * info.height as usize])?
        } else {
            // Rows padded by the decoder: pack them.
            let packed: Vec<u8> = (0..info.height as usize).flat_map(|y| map[y * stride..y * stride + row].iter().copied()).collect();
            each(index, info, &packed)?
        };
        Ok(Some(out))
    }

    /// The index of the frame `next` hands over.
    pub fn position(&self) -> usize {
        self.next
    }

    /// Makes frame `frame` the next one, in a file of constant rate `fps` whose
    /// timestamps start at 0 (the decoder starts at the keyframe before it and drops
    /// what lies between).
    pub fn seek(&mut self, frame: usize, fps: f64) -> Result<()> {
        // A seek needs the pipeline prerolled.
        let (done, _, _) = self.pipeline.state(gst::ClockTime::from_seconds(10));
        done.with_context(|| format!("{} cannot be read as video", self.path.display()))?;
        let at = gst::ClockTime::from_nseconds((frame as f64 * 1e9 / fps).round() as u64);
        self.pipeline
            .seek_simple(gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE, at)
            .with_context(|| format!("{}: cannot seek to frame {frame}", self.path.display()))?;
        self.next = frame;
        Ok(())
    }
}

/// Calls `each(index, info, rgba)` for every frame; `each` returns false to stop early.
/// Returns the number of frames read.
pub fn for_each_frame(path: &Path, mut each: impl FnMut(usize, VideoInfo, &[u8]) -> Result<bool>) -> Result<usize> {
    let mut reader = VideoReader::open(path, ANY_DECODER)?;
    let mut n = 0;
    while let Some(keep_going) = reader.next(&mut each)? {
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
