//! `avatarcast verify FILE|URL`: reads a recording or a stream (anything GStreamer's
//! urisourcebin opens: files, rtmp://, srt://, http(s)://) and reports the AI labels
//! it carries: the SEI record on each keyframe, and container metadata that names
//! `AIGC`.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::{AIGC_SEI_UUID, sei};

#[derive(Debug, Default)]
pub struct Findings {
    pub keyframes: u64,
    /// Keyframes whose access unit carries our SEI record.
    pub labelled_keyframes: u64,
    /// The distinct records found in SEI.
    pub records: Vec<String>,
    /// Container tags (name = value) that mention AIGC.
    pub metadata: Vec<String>,
}

impl Findings {
    fn add_keyframe(&mut self, au: &[u8]) {
        self.keyframes += 1;
        let ours: Vec<String> = sei::find_user_data(au)
            .into_iter()
            .filter(|(uuid, _)| *uuid == AIGC_SEI_UUID)
            .map(|(_, payload)| String::from_utf8_lossy(&payload).into_owned())
            .collect();
        if !ours.is_empty() {
            self.labelled_keyframes += 1;
        }
        for r in ours {
            if !self.records.contains(&r) {
                self.records.push(r);
            }
        }
    }

    /// Every keyframe read carries the record.
    pub fn labelled(&self) -> bool {
        self.keyframes > 0 && self.labelled_keyframes == self.keyframes
    }
}

/// Reads `input` (a path or a URI) until its end or `seconds` of wall time.
pub fn read(input: &str, seconds: u64) -> Result<Findings> {
    crate::gst_helpers::init()?;
    let uri = if input.contains("://") {
        input.to_string()
    } else {
        let path = std::fs::canonicalize(input).with_context(|| format!("{input}: no such file"))?;
        gst::glib::filename_to_uri(&path, None).map_err(|e| anyhow!("{input}: {e}"))?.to_string()
    };
    let pipeline = gst::Pipeline::new();
    let source = gst::ElementFactory::make("urisourcebin").property("uri", &uri).build()?;
    let parse = gst::ElementFactory::make("parsebin").build()?;
    // One demuxer thread feeds every branch: each gets a queue, or the first sink to
    // preroll would hold the demuxer while the others wait for data.
    let queue = gst::ElementFactory::make("queue").build()?;
    let h264parse = gst::ElementFactory::make("h264parse").build()?;
    let caps = gst::Caps::builder("video/x-h264").field("stream-format", "byte-stream").field("alignment", "au").build();
    let filter = gst::ElementFactory::make("capsfilter").property("caps", &caps).build()?;
    let sink = gst_app::AppSink::builder().sync(false).build();
    pipeline.add_many([&source, &parse, &queue, &h264parse, &filter, sink.upcast_ref()])?;
    gst::Element::link_many([&queue, &h264parse, &filter, sink.upcast_ref()])?;
    let parse_weak = parse.downgrade();
    source.connect_pad_added(move |_, pad| {
        if let Some(parse) = parse_weak.upgrade() {
            if let Some(sinkpad) = parse.static_pad("sink").filter(|p| !p.is_linked()) {
                let _ = pad.link(&sinkpad);
            }
        }
    });
    let pipeline_weak = pipeline.downgrade();
    let video_in = queue.static_pad("sink").context("queue sink pad")?;
    parse.connect_pad_added(move |_, pad| {
        tracing::debug!(pad = %pad.name(), caps = ?pad.current_caps(), "verify: a stream");
        let is_h264 = pad.current_caps().or_else(|| Some(pad.query_caps(None))).is_some_and(|c| c.structure(0).is_some_and(|s| s.name() == "video/x-h264"));
        if is_h264 && !video_in.is_linked() {
            let _ = pad.link(&video_in);
        } else if let Some(pipeline) = pipeline_weak.upgrade() {
            // Audio and anything else: read and dropped.
            let (Ok(q), Ok(fake)) = (gst::ElementFactory::make("queue").build(), gst::ElementFactory::make("fakesink").property("sync", false).build()) else { return };
            if pipeline.add_many([&q, &fake]).is_ok() && q.link(&fake).is_ok() {
                let _ = fake.sync_state_with_parent();
                let _ = q.sync_state_with_parent();
                if let Some(p) = q.static_pad("sink") {
                    let _ = pad.link(&p);
                }
            }
        }
    });
    pipeline.set_state(gst::State::Playing).with_context(|| format!("{input}: cannot be opened"))?;
    let bus = pipeline.bus().context("bus")?;
    let mut found = Findings::default();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let result = loop {
        if let Err(e) = drain_bus(&bus, input, &mut found) {
            break Err(e);
        }
        if Instant::now() >= deadline {
            break Ok(());
        }
        match sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) {
            Some(sample) => {
                if let Some(buffer) = sample.buffer().filter(|b| !b.flags().contains(gst::BufferFlags::DELTA_UNIT)) {
                    let map = buffer.map_readable().context("reading a video packet")?;
                    found.add_keyframe(&map);
                }
            }
            None if sink.is_eos() => break drain_bus(&bus, input, &mut found),
            None => {}
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    // qtdemux does not pass QuickTime metadata keys on: the MP4's own `AIGC` key is read here.
    if !input.contains("://") && input.to_ascii_lowercase().ends_with(".mp4") {
        if let Ok(Some(record)) = super::mp4::read_record(std::path::Path::new(input)) {
            found.metadata.push(format!("AIGC = {record}"));
        }
    }
    if found.keyframes == 0 {
        bail!("{input}: no H.264 keyframe read within {seconds} s (is it an H.264 stream?)");
    }
    Ok(found)
}

/// Takes the bus's messages: an error ends the reading, tags naming AIGC are kept.
fn drain_bus(bus: &gst::Bus, input: &str, found: &mut Findings) -> Result<()> {
    while let Some(msg) = bus.pop() {
        match msg.view() {
            gst::MessageView::Error(e) => bail!("{input}: {}", e.error()),
            gst::MessageView::Tag(t) => {
                for (name, values) in t.tags().iter_generic() {
                    for v in values {
                        // Strings as they are; other values in GStreamer's notation.
                        let text = v.get::<String>().ok().or_else(|| v.serialize().ok().map(|s| s.to_string())).unwrap_or_default();
                        let entry = format!("{name} = {text}");
                        if text.contains("AIGC") && !found.metadata.contains(&entry) {
                            found.metadata.push(entry);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}
