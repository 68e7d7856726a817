//! GStreamer: one encode (H.264 + AAC, and Opus for WebRTC) whose packets src/output
//! hands to every output. The pipeline descriptions live in pipelines/; this module
//! fills them in, pushes frames and samples with timestamps from the media clock,
//! and turns bus errors into sentences.

pub mod decode;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use crate::config::Config;
use crate::gst_helpers::{fill, rewritten};
use crate::output::{Outputs, Track, profile};

const ENCODE: &str = include_str!("../../pipelines/encode.gst");
const VIDEO_ENCODER: &str = include_str!("../../pipelines/video-encoder.gst");
const ENCODE_OPUS: &str = include_str!("../../pipelines/encode-opus.gst");

/// Elements the pipelines use, with the Debian package that provides each.
pub const REQUIRED_ELEMENTS: &[(&str, &str)] = &[
    ("appsrc", "gstreamer1.0-plugins-base"),
    ("videoconvert", "gstreamer1.0-plugins-base"),
    ("audioconvert", "gstreamer1.0-plugins-base"),
    ("queue", "libgstreamer1.0-0"),
    ("tee", "libgstreamer1.0-0"),
    ("valve", "libgstreamer1.0-0"),
    ("appsink", "gstreamer1.0-plugins-base"),
    ("opusenc", "gstreamer1.0-plugins-base"),
    ("x264enc", "gstreamer1.0-plugins-ugly"),
    ("h264parse", "gstreamer1.0-plugins-bad"),
    ("avenc_aac", "gstreamer1.0-libav"),
    ("aacparse", "gstreamer1.0-plugins-good"),
    ("flvmux", "gstreamer1.0-plugins-good"),
    ("mp4mux", "gstreamer1.0-plugins-good"),
    ("matroskamux", "gstreamer1.0-plugins-good"),
    ("splitmuxsink", "gstreamer1.0-plugins-good"),
    ("hlssink2", "gstreamer1.0-plugins-bad"),
    ("rtmp2sink", "gstreamer1.0-plugins-bad"),
    ("srtsink", "gstreamer1.0-plugins-bad"),
    ("mpegtsmux", "gstreamer1.0-plugins-bad"),
    ("filesink", "libgstreamer1.0-0"),
];

/// Required elements that this machine lacks, with their packages.
pub fn missing_elements() -> Vec<(&'static str, &'static str)> {
    REQUIRED_ELEMENTS.iter().copied().filter(|(e, _)| gst::ElementFactory::find(e).is_none()).collect()
}

/// The H.264 encoder chain, shared by the stream and the encode-floor benchmark.
pub fn video_encoder_description(config: &Config) -> String {
    x264_description(config, &config.video.preset, config.video.encoder_threads)
}

/// The encoder at `preset` with `threads` (0: x264 picks by the cores).
pub fn x264_description(config: &Config, preset: &str, threads: u32) -> String {
    fill(
        VIDEO_ENCODER,
        &[
            ("video_kbps", config.video.bitrate_kbps.to_string()),
            ("gop", (config.video.fps * config.video.keyframe_seconds).to_string()),
            ("preset", preset.to_string()),
            ("threads", threads.to_string()),
            ("profile", profile::caps_name(profile::h264_profile(config)).to_string()),
        ],
    )
}

pub fn video_caps(config: &Config) -> gst::Caps {
    gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, config.video.size.width, config.video.size.height)
        .fps(gst::Fraction::new(config.video.fps as i32, 1))
        .par(gst::Fraction::new(1, 1))
        .build()
        .expect("valid video info")
        .to_caps()
        .expect("caps")
}

/// A pool of frame buffers, so the render loop doesn't allocate per frame.
pub fn frame_pool(caps: &gst::Caps, frame_bytes: usize) -> Result<gst::BufferPool> {
    let pool = gst::BufferPool::new();
    let mut cfg = pool.config();
    cfg.set_params(Some(caps), frame_bytes as u32, 4, 0);
    pool.set_config(cfg).context("frame buffer pool config")?;
    pool.set_active(true).context("frame buffer pool")?;
    Ok(pool)
}

/// Timestamps from the media clock (src/timeline).
pub fn stamp(b: &mut gst::BufferRef, pts_ns: u64, duration_ns: u64) {
    b.set_pts(gst::ClockTime::from_nseconds(pts_ns));
    b.set_duration(gst::ClockTime::from_nseconds(duration_ns));
}

/// The sample's buffer with timestamps in running time: the stream's own clock from
/// frame 0. The encoder shifts its timestamps (x264enc by 1000 hours, so that DTS
/// never goes negative) and says so in its segment; outputs get no segment, only
/// these timestamps.
fn running_time_buffer(sample: &gst::Sample) -> Option<gst::Buffer> {
    let mut buffer = sample.buffer_owned()?;
    let segment = sample.segment().and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned())?;
    let b = buffer.make_mut();
    let pts = b.pts().and_then(|t| segment.to_running_time(t));
    let dts = b.dts().and_then(|t| segment.to_running_time(t));
    b.set_pts(pts);
    b.set_dts(dts);
    Some(buffer)
}

/// A keyframe's access unit with the label's SEI before its first slice, so every
/// output carries it (src/label).
fn labelled(buffer: gst::Buffer, sei: &[u8]) -> gst::Buffer {
    let Ok(map) = buffer.map_readable() else { return buffer };
    let Some(au) = crate::label::sei::insert_before_first_slice(&map, sei) else { return buffer.clone() };
    drop(map);
    rewritten(au, &buffer)
}

pub struct MediaPipeline {
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    pool: gst::BufferPool,
    outputs: Arc<Outputs>,
    /// The valve before the Opus encoder, and whether it is open (a WebRTC peer takes it).
    opus_gate: Option<(gst::Element, std::sync::atomic::AtomicBool)>,
}

impl MediaPipeline {
    /// The one encode; its packets go to `outputs` (src/output), each behind its own
    /// hand-off.
    pub fn build(config: &Config, outputs: Arc<Outputs>) -> Result<MediaPipeline> {
        let missing = missing_elements();
        if let Some((element, package)) = missing.first() {
            bail!("GStreamer element `{element}` is missing: run `bash scripts/setup.sh` (Debian package {package})");
        }
        let size = config.video.size;
        let mut desc = fill(
            ENCODE,
            &[
                ("width", size.width.to_string()),
                ("height", size.height.to_string()),
                ("fps", config.video.fps.to_string()),
                ("video_encoder", video_encoder_description(config)),
                ("audio_bps", (config.audio.bitrate_kbps * 1000).to_string()),
            ],
        );
        if outputs.wants(Track::Opus) {
            desc.push('\n');
            desc.push_str(&fill(ENCODE_OPUS, &[]));
        }
        tracing::debug!(pipeline = %desc.replace('\n', " "), "media pipeline");
        let pipeline = crate::gst_helpers::launch(&desc).context("building the media pipeline")?;
        let appsrc = |name: &str| -> gst_app::AppSrc {
            let src = pipeline.by_name(name).and_then(|e| e.downcast::<gst_app::AppSrc>().ok()).expect("appsrc in encode.gst");
            // Bounded hand-off: the producer runs at most a few frames ahead.
            src.set_max_buffers(3);
            src
        };
        let (video, audio) = (appsrc("video"), appsrc("audio"));
        let label = outputs.label.clone();
        tracing::info!(uuid = %crate::label::uuid_text(), "AI label on every keyframe: {}", label.record);
        for (name, track) in [("h264", Track::H264), ("aac", Track::Aac), ("opus", Track::Opus)] {
            let Some(sink) = pipeline.by_name(name).and_then(|e| e.downcast::<gst_app::AppSink>().ok()) else { continue };
            let outputs = outputs.clone();
            let label = label.clone();
            sink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |sink| {
                        let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        if let Some(mut buffer) = running_time_buffer(&sample) {
                            if track == Track::H264 && !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                                buffer = labelled(buffer, &label.sei);
                            }
                            outputs.deliver(track, &buffer);
                        }
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
        }
        let pool = frame_pool(&video_caps(config), size.i420_len())?;
        let opus_gate = pipeline.by_name("opus_gate").map(|g| (g, std::sync::atomic::AtomicBool::new(false)));
        Ok(MediaPipeline { pipeline, video, audio, pool, outputs, opus_gate })
    }

    pub fn start(&self) -> Result<()> {
        if self.pipeline.set_state(gst::State::Playing).is_err() {
            self.poll()?;
            bail!("the media pipeline failed to start");
        }
        Ok(())
    }

    /// Copies an I420 frame into a pooled buffer and queues it.
    pub fn push_frame(&self, pts_ns: u64, duration_ns: u64, i420: &[u8]) -> Result<()> {
        let mut buffer = self.pool.acquire_buffer(None).map_err(|e| anyhow::anyhow!("frame buffer pool: {e:?}"))?;
        {
            let b = buffer.get_mut().expect("fresh pooled buffer is writable");
            stamp(b, pts_ns, duration_ns);
            let mut map = b.map_writable().context("map frame buffer")?;
            map.as_mut_slice().copy_from_slice(i420);
        }
        self.push(&self.video, buffer)
    }

    /// Queues one frame's samples, written straight into the buffer's memory.
    pub fn push_audio(&self, samples: &[i16], pts_ns: u64, duration_ns: u64) -> Result<()> {
        if let Some((gate, open)) = &self.opus_gate {
            let watched = self.outputs.opus_wanted_now();
            if open.swap(watched, std::sync::atomic::Ordering::Relaxed) != watched {
                gate.set_property("drop", !watched);
            }
        }
        let mut buffer = gst::Buffer::with_size(samples.len() * 2).context("audio buffer")?;
        {
            let b = buffer.get_mut().expect("new buffer is writable");
            stamp(b, pts_ns, duration_ns);
            let mut map = b.map_writable().context("map audio buffer")?;
            for (out, s) in map.as_mut_slice().chunks_exact_mut(2).zip(samples) {
                out.copy_from_slice(&s.to_le_bytes());
            }
        }
        self.push(&self.audio, buffer)
    }

    fn push(&self, src: &gst_app::AppSrc, buffer: gst::Buffer) -> Result<()> {
        if let Err(flow) = src.push_buffer(buffer) {
            self.poll()?;
            bail!("the media pipeline stopped accepting data ({flow:?})");
        }
        Ok(())
    }

    /// Running time of the pipeline clock, for counting late frames in live mode.
    pub fn running_time_ns(&self) -> Option<u64> {
        // Not before the pipeline is playing: it selects its clock before it sets the
        // base time, and in between the running time would read as days, so a frame
        // made then would count as late and be dropped. Until then no frame is late.
        if self.pipeline.current_state() != gst::State::Playing {
            return None;
        }
        let clock = self.pipeline.clock()?;
        let base = self.pipeline.base_time()?;
        clock.time().checked_sub(base).map(|t| t.nseconds())
    }

    /// Live pacing: waits on the pipeline clock until running time `at_ns`. Returns at
    /// once when that time has passed (the frame is late).
    pub fn wait_until(&self, at_ns: u64) {
        if self.pipeline.current_state() != gst::State::Playing {
            return;
        }
        let (Some(clock), Some(base)) = (self.pipeline.clock(), self.pipeline.base_time()) else { return };
        let id = clock.new_single_shot_id(base + gst::ClockTime::from_nseconds(at_ns));
        let _ = id.wait();
    }

    /// Returns the first error on the bus, in words; warnings are logged.
    pub fn poll(&self) -> Result<()> {
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Warning]) {
            match msg.view() {
                gst::MessageView::Error(e) => bail!(self.explain(msg.src(), &e.error().to_string())),
                gst::MessageView::Warning(w) => {
                    tracing::warn!("{}", self.explain(msg.src(), &w.error().to_string()))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn explain(&self, src: Option<&gst::Object>, error: &str) -> String {
        let name = src.map(|s| s.name().to_string()).unwrap_or_default();
        format!("the encoder ({name}) failed: {error}")
    }

    /// Ends the stream: EOS into both sources, wait until the encoder has handed out
    /// its last packets, then every output finishes (an .mp4 is finalized).
    pub fn finish(self, timeout: Duration) -> Result<()> {
        let _ = self.video.end_of_stream();
        let _ = self.audio.end_of_stream();
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        let result = match bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => match msg.view() {
                gst::MessageView::Error(e) => Err(anyhow::anyhow!(self.explain(msg.src(), &e.error().to_string()))),
                _ => Ok(()),
            },
            None => Err(anyhow::anyhow!("the encoder did not finish within {} s", timeout.as_secs())),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        let _ = self.pool.set_active(false);
        result.and(self.outputs.finish(timeout))
    }
}

impl Drop for MediaPipeline {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_drop_comments() {
        let s = fill("# note\na {x} ! b {y}\n", &[("x", "1".into()), ("y", "two".into())]);
        assert_eq!(s, "a 1 ! b two");
        let config = Config::parse("[show]\nfile = \"show.toml\"\n").unwrap();
        let enc = video_encoder_description(&config);
        assert!(enc.contains("key-int-max=50") && enc.contains("bitrate=2500") && !enc.contains('{'));
    }
}
