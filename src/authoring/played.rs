//! Writes a video pack's played frames (played.mkv and played.json; the format is in
//! src/avatar/video/played.rs): one pass over the footage up to the last frame the
//! pack plays, each played frame cut to the full-body framing, keyed (or given the
//! matte's opacity) and encoded. Run by `avatar import`, and by `avatar refresh`
//! after avatar.toml or the footage changed.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::avatar::key::ChromaKey;
use crate::avatar::video::VideoAvatar;
use crate::avatar::video::played::{self, PlayedInfo, UsedFrames};
use crate::media::decode::{ANY_DECODER, VideoReader, for_each_frame};

const PIPELINE: &str = include_str!("../../pipelines/played-frames.gst");

#[derive(Debug)]
pub struct PlayedReport {
    pub frames: usize,
    pub size: (u32, u32),
    pub bytes: u64,
    pub seconds: f64,
}

/// Makes `pack`'s played frames from its footage, as its avatar.toml says now.
pub fn write(pack: &Path, progress: bool) -> Result<PlayedReport> {
    let started = Instant::now();
    let m = VideoAvatar::manifest_without_consent(pack)?;
    let used = UsedFrames::new(&m);
    let key = m.key.as_ref().map(ChromaKey::new).transpose()?;
    let mut matte = m.alpha_video.as_ref().map(|f| VideoReader::open(&pack.join(f), ANY_DECODER)).transpose()?;
    let alpha = key.is_some() || matte.is_some();
    let part = pack.join(format!("{}.part", played::FILE));
    let (mut encoder, mut kept, mut footage_fps, mut written) = (None::<Encoder>, [0u32; 4], 0.0, 0);
    let (last, total) = (used.last(), used.len());
    let footage = pack.join(&m.video);
    for_each_frame(&footage, |i, info, rgba| {
        if progress && i % 25 == 0 {
            let detail = format!("footage frame {i} of {last}, {written} of {total} played frames");
            crate::progress::draw("played frames", Some(i as f64 / last.max(1) as f64), &detail);
        }
        // The matte goes frame for frame with the footage.
        let opacity = match (&mut matte, &m.alpha_video) {
            (Some(reader), Some(file)) => reader
                .next(|_, mi, rgba| Ok(used.slot(i).map(|_| red_of(&crate::raster::cut(rgba, mi.width, even_box(m.framing.full, mi.width, mi.height), 4)))))?
                .with_context(|| format!("alpha video {file} is shorter than the footage (frame {i})"))?,
            _ => None,
        };
        let Some(slot) = used.slot(i) else { return Ok(i < last) };
        footage_fps = info.fps;
        kept = even_box(m.framing.full, info.width, info.height);
        let frame = played_frame(rgba, info.width, kept, key.as_ref(), opacity.as_deref());
        let (w, h) = (kept[2] - kept[0], kept[3] - kept[1]);
        let encoder = match &mut encoder {
            Some(e) => e,
            None => encoder.insert(Encoder::start(&part, w, h * (1 + alpha as u32))?),
        };
        encoder.push(slot, frame)?;
        written += 1;
        Ok(i < last)
    })
    .with_context(|| format!("avatar pack {}: making {}", pack.display(), played::FILE))?;
    if progress {
        crate::progress::done();
    }
    if written < total {
        bail!("avatar pack {}: it plays frames up to {last}, but {} ends sooner", pack.display(), footage.display());
    }
    encoder.context("no frames")?.finish()?;
    let info = PlayedInfo { made_from: played::made_from(pack, &m), frames: total, kept, alpha, keyframe_every: played::KEYFRAME_EVERY, footage_fps };
    std::fs::rename(&part, pack.join(played::FILE)).with_context(|| format!("cannot write {}", pack.join(played::FILE).display()))?;
    std::fs::write(pack.join(played::INFO_FILE), serde_json::to_string_pretty(&info)?)?;
    let bytes = std::fs::metadata(pack.join(played::FILE)).map_or(0, |md| md.len());
    Ok(PlayedReport { frames: total, size: info.size(), bytes, seconds: started.elapsed().as_secs_f64() })
}

/// A footage frame as played.mkv stores it: cut to `kept`, then keyed or given the
/// matte's `opacity` (premultiplied) and stacked over that opacity; without either,
/// only cut.
fn played_frame(rgba: &[u8], width: u32, kept: [u32; 4], key: Option<&ChromaKey>, opacity: Option<&[u8]>) -> Vec<u8> {
    // Cut first, then key: nothing outside the kept box is worked on.
    let mut frame = crate::raster::cut(rgba, width, kept, 4);
    match (key, opacity) {
        (Some(key), _) => key.apply(&mut frame, (kept[2] - kept[0]) as usize),
        (None, Some(a)) => premultiply_with(&mut frame, a),
        (None, None) => return frame,
    }
    played::stack(&frame)
}

/// The pixels a framing rectangle [x, y, w, h] covers, rounded outwards to even
/// edges (the encoder halves colour resolution) and inside the frame:
/// [x0, y0, x1, y1).
fn even_box(rect: [f32; 4], width: u32, height: u32) -> [u32; 4] {
    let [x, y, w, h] = rect;
    let span = |start: f32, len: f32, limit: u32| {
        let limit = limit & !1;
        let a = ((start.floor().max(0.0) as u32) & !1).min(limit.saturating_sub(2));
        let b = ((((start + len).ceil().max(0.0) as u32) + 1) & !1).clamp(a + 2, limit);
        (a, b)
    };
    let ((x0, x1), (y0, y1)) = (span(x, w, width), span(y, h, height));
    [x0, y0, x1, y1]
}

/// The red channel of an RGBA frame (a grey matte's opacity).
fn red_of(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4).map(|p| p[0]).collect()
}

/// Premultiplies straight RGBA with a separate alpha plane.
fn premultiply_with(rgba: &mut [u8], alpha: &[u8]) {
    for (p, &a) in rgba.chunks_exact_mut(4).zip(alpha) {
        for v in &mut p[..3] {
            *v = ((*v as u32 * a as u32 + 127) / 255) as u8;
        }
        p[3] = a;
    }
}

/// The encoding pipeline, fed a frame at a time.
struct Encoder {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
}

impl Encoder {
    fn start(location: &Path, width: u32, height: u32) -> Result<Encoder> {
        crate::gst_helpers::init()?;
        let location = crate::gst_helpers::location(location);
        let desc = crate::gst_helpers::fill(
            PIPELINE,
            &[
                ("width", width.to_string()),
                ("height", height.to_string()),
                ("rate", played::RATE.to_string()),
                ("keyframe_every", played::KEYFRAME_EVERY.to_string()),
                ("location", location),
            ],
        );
        let pipeline = crate::gst_helpers::launch(&desc)?;
        let src = pipeline.by_name("frames").and_then(|e| e.downcast::<gst_app::AppSrc>().ok()).context("appsrc")?;
        pipeline.set_state(gst::State::Playing).context("starting the played frames' encoder")?;
        Ok(Encoder { pipeline, src })
    }

    fn push(&self, slot: usize, frame: Vec<u8>) -> Result<()> {
        let mut buffer = gst::Buffer::from_mut_slice(frame);
        let frame_ns = 1_000_000_000 / played::RATE as u64;
        crate::media::stamp(buffer.get_mut().expect("new buffer"), slot as u64 * frame_ns, frame_ns);
        self.src.push_buffer(buffer).map_err(|e| anyhow::anyhow!("the played frames' encoder stopped ({e:?}): {}", self.error()))?;
        Ok(())
    }

    fn error(&self) -> String {
        let bus = self.pipeline.bus().expect("pipeline bus");
        match bus.pop_filtered(&[gst::MessageType::Error]).as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Error(e)) => e.error().to_string(),
            _ => "no error reported".into(),
        }
    }

    /// Ends the file and waits until it is written.
    fn finish(self) -> Result<()> {
        self.src.end_of_stream().context("ending the played frames")?;
        let ended = crate::gst_helpers::wait_for_end(&self.pipeline, std::time::Duration::from_secs(120));
        let _ = self.pipeline.set_state(gst::State::Null);
        ended.context("encoding the played frames")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_box_has_even_edges_inside_the_frame() {
        assert_eq!(even_box([21.5, 0.0, 676.2, 1280.0], 720, 1280), [20, 0, 698, 1280]);
        assert_eq!(even_box([-5.0, -3.0, 900.0, 2000.0], 721, 1281), [0, 0, 720, 1280]);
        assert_eq!(even_box([719.0, 10.0, 0.5, 0.5], 720, 1280), [718, 10, 720, 12]);
    }
}
