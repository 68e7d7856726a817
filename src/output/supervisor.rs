//! One output's life: build its pipeline, feed it the encoder's packets from a
//! keyframe on, watch it, and when it fails or stalls tear it down and build it
//! again after a backoff (2 s, then x1.5 with jitter, capped), for as long as the
//! stream runs. Nothing here can block the encoder: packets wait in this output's
//! own bounded hand-off.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::disk_space::DiskWatch;
use super::health::{Health, State};
use super::packet::{KeyframeGate, Packet, Track};
use super::session::{Policy, Session};
use super::target::Output;

/// RTMP bytes sent before media flows (handshake, connect, publish); past this, the
/// output counts as live.
const RTMP_LIVE_BYTES: u64 = 16 * 1024;
/// How often a session's health is looked at.
const CHECK_EVERY: Duration = Duration::from_millis(200);
/// How often a recording waiting for disk space looks again.
const SPACE_LOOK_EVERY: Duration = Duration::from_secs(1);
/// Time an ending session gets to write its last packets and finalize.
const FINISH_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Worker {
    pub output: Output,
    pub rx: Receiver<Packet>,
    pub health: Arc<Health>,
    pub resync: Arc<AtomicBool>,
    pub policy: Policy,
    /// The AI label (and the model's credits), for the container's metadata.
    pub label: crate::label::Label,
}

enum Outcome {
    /// The stream ended and this output finished cleanly.
    Ended,
    /// A recording's disk is nearly full: finish the file, wait for space.
    OutOfSpace,
    Failed(String),
}

impl Worker {
    pub fn run(self) {
        let mut session_index = 0u32;
        let mut jitter = Jitter::new(self.health.name.len() as u64);
        let mut disk = match &self.output {
            Output::File(f) => DiskWatch::new(f.folder(), f.min_free),
            _ => None,
        };
        loop {
            if let Some(disk) = &mut disk
                && !self.wait_for_space(disk)
            {
                return;
            }
            self.health.set(State::Connecting);
            let started: Result<Box<dyn Session>> = match &self.output {
                Output::Whip(w) => super::whip::WhipSession::start(w).map(|s| Box::new(s) as Box<dyn Session>),
                other => PipelineSession::start(other, session_index, &self.policy, &self.label).map(|s| Box::new(s) as Box<dyn Session>),
            };
            let outcome = match started {
                Ok(mut session) => {
                    tracing::info!(output = %self.health.name, "output starting");
                    let outcome = self.feed(&mut session, disk.as_mut());
                    match outcome {
                        // Out of space: the file is finalized in the room kept free.
                        Outcome::Ended | Outcome::OutOfSpace => session.finish(),
                        Outcome::Failed(_) => session.abandon(),
                    }
                    outcome
                }
                Err(e) => Outcome::Failed(format!("{e:#}")),
            };
            session_index += 1;
            let error = match outcome {
                Outcome::Ended => {
                    self.health.set(State::Stopped);
                    tracing::info!(output = %self.health.name, "output finished");
                    return;
                }
                Outcome::OutOfSpace => continue,
                Outcome::Failed(error) => error,
            };
            let wait = self.policy.backoff(self.health.attempt() + 1, jitter.next());
            let attempt = self.health.failed(error.clone(), wait);
            // A dead destination retries all day: say so loudly at first, then now and then.
            if attempt <= 3 || attempt % 20 == 0 {
                tracing::error!(output = %self.health.name, attempt, "{error}; retrying in {:.1} s", wait.as_secs_f64());
            } else {
                tracing::debug!(output = %self.health.name, attempt, "{error}; retrying in {:.1} s", wait.as_secs_f64());
            }
            if !self.let_go_until(Instant::now() + wait) {
                return;
            }
        }
    }

    /// Packets keep coming while an output waits; they are let go (the next session
    /// starts on a fresh keyframe), and the stream's end still gets through: false
    /// when it came.
    fn let_go_until(&self, until: Instant) -> bool {
        loop {
            match self.rx.recv_deadline(until) {
                Ok(Packet::End) | Err(RecvTimeoutError::Disconnected) => {
                    self.health.set(State::Stopped);
                    return false;
                }
                Ok(Packet::Media(..)) => {}
                Err(RecvTimeoutError::Timeout) => return true,
            }
        }
    }

    /// A recording waits here while its disk is short of space, looking once a
    /// second; false when the stream ended meanwhile.
    fn wait_for_space(&self, disk: &mut DiskWatch) -> bool {
        let Some(why) = disk.short() else { return true };
        tracing::warn!(output = %self.health.name, "{why}");
        self.health.waiting_for_space(why);
        loop {
            if !self.let_go_until(Instant::now() + SPACE_LOOK_EVERY) {
                return false;
            }
            if disk.short().is_none() {
                tracing::info!(output = %self.health.name, "disk space is back: recording goes on in a new file");
                return true;
            }
        }
    }

    fn feed(&self, session: &mut Box<dyn Session>, mut disk: Option<&mut DiskWatch>) -> Outcome {
        let mut next_check = Instant::now() + CHECK_EVERY;
        loop {
            match self.rx.recv_deadline(next_check) {
                Ok(Packet::End) | Err(RecvTimeoutError::Disconnected) => return Outcome::Ended,
                Ok(Packet::Media(track, buffer)) => {
                    if self.resync.swap(false, Ordering::Relaxed) {
                        session.resync();
                    }
                    if let Err(e) = session.push(track, buffer) {
                        return Outcome::Failed(e);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= next_check {
                next_check = Instant::now() + CHECK_EVERY;
                if let Err(e) = session.check(&self.health, &self.policy) {
                    return Outcome::Failed(format!("{e:#}"));
                }
                if disk.as_mut().is_some_and(|d| d.short().is_some()) {
                    return Outcome::OutOfSpace;
                }
            }
        }
    }
}

/// One build of an output's GStreamer pipeline.
struct PipelineSession {
    output: Output,
    pipeline: gst::Pipeline,
    video: gst_app::AppSrc,
    audio: gst_app::AppSrc,
    gate: KeyframeGate,
    /// Packets the gate let through, to push now.
    ready: Vec<(Track, gst::Buffer)>,
    /// rtmp2sink, whose byte counter shows whether the server takes data.
    rtmp_sink: Option<gst::Element>,
    sent: u64,
    last_progress: Instant,
    live: bool,
    /// MP4 recordings get the AI label's own key when each file is finalized.
    mp4_record: Option<String>,
    /// The file an unsplit recording writes.
    location: Option<String>,
}

/// Adds the AI label's record (and the credits) to every `onMetaData` flvmux writes
/// (src/label/flv.rs): in its buffers, and in its caps' stream headers, which
/// rtmp2sink sends instead.
fn label_flv_metadata(mux: &gst::Element, label: &crate::label::Label) {
    use crate::label::flv;
    let Some(pad) = mux.static_pad("src") else { return };
    let (record, credits) = (label.record.clone(), label.credits.clone());
    let relabel = move |buffer: &gst::Buffer| -> Option<gst::Buffer> {
        let map = buffer.map_readable().ok()?;
        let mut tag = flv::with_record(&map, &record)?;
        if let Some(credited) = credits.as_ref().and_then(|c| flv::with_entry(&tag, "credits", c)) {
            tag = credited;
        }
        Some(crate::gst_helpers::rewritten(tag, buffer))
    };
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Buffer(buffer)) => {
                if let Some(labelled) = relabel(buffer) {
                    *buffer = labelled;
                }
            }
            Some(gst::PadProbeData::Event(event)) => {
                if let gst::EventView::Caps(c) = event.view() {
                    let mut caps = c.caps().to_owned();
                    let headers = caps.structure(0).and_then(|s| s.get::<gst::Array>("streamheader").ok());
                    if let Some(headers) = headers {
                        let relabelled: Vec<gst::glib::SendValue> = headers
                            .iter()
                            .map(|v| match v.get::<gst::Buffer>().ok().and_then(|b| relabel(&b)) {
                                Some(b) => b.to_send_value(),
                                None => v.clone(),
                            })
                            .collect();
                        if let Some(s) = caps.make_mut().structure_mut(0) {
                            s.set("streamheader", gst::Array::from_values(relabelled));
                        }
                        *event = gst::event::Caps::new(&caps);
                    }
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

impl PipelineSession {
    fn start(output: &Output, index: u32, policy: &Policy, label: &crate::label::Label) -> Result<PipelineSession> {
        if let Output::Rtmp(r) = output {
            // A refused or unresolvable ingest is reported in plain words, quickly.
            r.probe()?;
        }
        let desc = output.pipeline_description(index).ok_or_else(|| anyhow!("{} has no GStreamer pipeline", output.describe()))?;
        let pipeline = crate::gst_helpers::launch(&desc).with_context(|| format!("building the pipeline of {}", output.describe()))?;
        let appsrc = |name: &str| -> Result<gst_app::AppSrc> {
            let src = pipeline
                .by_name(name)
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                .ok_or_else(|| anyhow!("output pipeline has no appsrc `{name}`"))?;
            if policy.lossless {
                src.set_block(true);
                src.set_max_bytes(8 << 20);
            } else {
                // Never block this thread: a stalled sink shows up as no progress.
                src.set_block(false);
                src.set_max_bytes(0);
            }
            Ok(src)
        };
        let (video, audio) = (appsrc("video")?, appsrc("audio")?);
        // The AI label in the container's own metadata too: a global comment tag, which
        // mp4mux writes to moov/udta/meta (ilst ©cmt) and matroskamux to the segment's
        // tags (COMMENT). It goes ahead of the first packet.
        let mut tags = gst::TagList::new();
        {
            let tags = tags.get_mut().expect("new tag list");
            tags.add::<gst::tags::Comment>(&label.record.as_str(), gst::TagMergeMode::Replace);
            if let Some(credits) = &label.credits {
                tags.add::<gst::tags::Copyright>(&credits.as_str(), gst::TagMergeMode::Replace);
            }
            tags.set_scope(gst::TagScope::Global);
        }
        video.send_event(gst::event::Tag::new(tags));
        // flvmux is the pipeline's own, or (split recordings) the one splitmuxsink made
        // when its pads were linked and reuses for every file (src/output/file.rs).
        let is_flvmux = |e: &gst::Element| e.factory().is_some_and(|f| f.name() == "flvmux");
        for mux in pipeline.iterate_recurse().into_iter().flatten().filter(is_flvmux) {
            label_flv_metadata(&mux, label);
        }
        let rtmp_sink = pipeline.by_name("sink").filter(|_| matches!(output, Output::Rtmp(_)));
        let (mp4_record, location) = match output {
            Output::File(f) => (
                (f.container == super::file::Container::Mp4).then(|| label.record.clone()),
                f.split.is_none().then(|| f.location(index)),
            ),
            _ => (None, None),
        };
        let session = PipelineSession {
            output: output.clone(),
            pipeline,
            video,
            audio,
            gate: KeyframeGate::default(),
            ready: Vec::new(),
            rtmp_sink,
            sent: 0,
            last_progress: Instant::now(),
            live: false,
            mp4_record,
            location,
        };
        if session.pipeline.set_state(gst::State::Playing).is_err() {
            session.check_bus()?;
            bail!("{} failed to start", output.describe());
        }
        Ok(session)
    }

    fn push_gated(&mut self, track: Track, buffer: gst::Buffer) -> Result<()> {
        self.gate.pass(track, buffer, &mut self.ready);
        for (track, buffer) in self.ready.drain(..) {
            self.sent += buffer.size() as u64;
            let src = if track == Track::H264 { &self.video } else { &self.audio };
            src.push_buffer(buffer).map_err(|flow| anyhow!("the output stopped taking data ({flow:?})"))?;
        }
        Ok(())
    }

    /// Bus errors, stalls, and the move to live.
    fn check_health(&mut self, health: &Health, policy: &Policy) -> Result<()> {
        self.check_bus()?;
        let bytes = match &self.rtmp_sink {
            Some(sink) => {
                let stats = sink.property::<gst::Structure>("stats");
                stats.get::<u64>("out-bytes-total").unwrap_or(0)
            }
            None => self.sent,
        };
        if bytes != health.bytes.swap(bytes, Ordering::Relaxed) || !matches!(self.output, Output::Rtmp(_)) {
            self.last_progress = Instant::now();
        }
        let live_now = match self.output {
            Output::Rtmp(_) => bytes >= RTMP_LIVE_BYTES,
            _ => bytes > 0,
        };
        if live_now && !self.live {
            self.live = true;
            health.set(State::Live);
            tracing::info!(output = %health.name, "output live");
        }
        let idle = self.last_progress.elapsed();
        if idle >= policy.stall {
            match (&self.output, self.live) {
                (Output::Rtmp(r), true) => bail!(r.explain(&format!("stalled: the server took no data for {:.0} s", idle.as_secs_f64()))),
                (Output::Rtmp(r), false) => bail!(r.explain(&format!("timed out: no session within {:.0} s", idle.as_secs_f64()))),
                _ => {}
            }
        }
        Ok(())
    }

    /// The first error on the bus, in words; new recording files are logged.
    fn check_bus(&self) -> Result<()> {
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Warning, gst::MessageType::Element]) {
            match msg.view() {
                gst::MessageView::Error(e) => {
                    let detail = e.debug().map(|d| d.to_string()).unwrap_or_default();
                    bail!(self.explain(&format!("{} {detail}", e.error())));
                }
                gst::MessageView::Warning(w) => tracing::warn!(output = %self.output.describe(), "{}", w.error()),
                gst::MessageView::Element(el) => self.on_fragment(el.structure()),
                _ => {}
            }
        }
        Ok(())
    }

    /// splitmuxsink opened or finalized a file.
    fn on_fragment(&self, s: Option<&gst::StructureRef>) {
        let Some((name, location)) = s.and_then(|s| Some((s.name(), s.get::<String>("location").ok()?))) else { return };
        if name == "splitmuxsink-fragment-opened" {
            tracing::info!(output = %self.output.describe(), "recording into {location}");
        } else if name == "splitmuxsink-fragment-closed" {
            self.label_mp4(&location);
            if let Output::File(f) = &self.output {
                for part in f.prune() {
                    tracing::info!(output = %self.output.describe(), "deleted the oldest part {} (output.file[].keep_gb)", part.display());
                }
            }
        }
    }

    /// The AI label's own key in a finalized MP4 (src/label/mp4.rs).
    fn label_mp4(&self, location: &str) {
        let Some(record) = &self.mp4_record else { return };
        if let Err(e) = crate::label::mp4::add_record(Path::new(location), record) {
            tracing::warn!(output = %self.output.describe(), "{e:#}: the file carries the AI label in its comment and its video only");
        }
    }

    fn explain(&self, message: &str) -> String {
        match &self.output {
            Output::Rtmp(r) => r.explain(message),
            Output::Srt(s) => s.explain(message),
            o => format!("{}: {message}", o.describe()),
        }
    }

    fn explain_failure(&self, e: anyhow::Error) -> String {
        // The bus usually knows why the pipeline stopped taking data.
        match self.check_bus() {
            Err(bus) => format!("{bus:#}"),
            Ok(()) => self.explain(&format!("{e:#}")),
        }
    }

    /// The stream is over: end both tracks and wait for the files to be finalized.
    fn finish_pipeline(self) {
        let _ = self.video.end_of_stream();
        let _ = self.audio.end_of_stream();
        let bus = self.pipeline.bus().expect("pipeline has a bus");
        let deadline = Instant::now() + FINISH_TIMEOUT;
        loop {
            let left = gst::ClockTime::from_nseconds(deadline.saturating_duration_since(Instant::now()).as_nanos() as u64);
            let types = [gst::MessageType::Eos, gst::MessageType::Error, gst::MessageType::Element];
            let Some(msg) = bus.timed_pop_filtered(left, &types) else {
                tracing::error!(output = %self.output.describe(), "did not finish within {} s", FINISH_TIMEOUT.as_secs());
                break;
            };
            match msg.view() {
                gst::MessageView::Error(e) => {
                    tracing::error!("{}", self.explain(&e.error().to_string()));
                    break;
                }
                // A split recording's last file is closed on the way to the end.
                gst::MessageView::Element(el) => self.on_fragment(el.structure()),
                _ => break,
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(location) = &self.location {
            self.label_mp4(location);
        }
    }
}

impl Session for PipelineSession {
    fn push(&mut self, track: Track, buffer: gst::Buffer) -> Result<(), String> {
        self.push_gated(track, buffer).map_err(|e| self.explain_failure(e))
    }

    fn resync(&mut self) {
        self.gate.reset();
    }

    fn check(&mut self, health: &Health, policy: &Policy) -> Result<()> {
        self.check_health(health, policy)
    }

    fn finish(self: Box<Self>) {
        self.finish_pipeline();
    }

    /// A failed session is torn down on a thread of its own: a hung network sink can
    /// block its state change, and that must not hold up the next attempt.
    fn abandon(self: Box<Self>) {
        let pipeline = self.pipeline;
        let _ = std::thread::Builder::new().name("out-teardown".into()).spawn(move || {
            let _ = pipeline.set_state(gst::State::Null);
        });
    }
}

/// A small xorshift generator: jitter need not be strong, only differ per output.
struct Jitter(u64);

impl Jitter {
    fn new(seed: u64) -> Jitter {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(7);
        Jitter((seed ^ u64::from(t)) | 1)
    }

    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_half_with_jitter_and_is_capped() {
        let p = Policy {
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(6),
            stall: Duration::from_secs(10),
            lossless: false,
        };
        assert_eq!(p.backoff(1, 0.5), Duration::from_secs(2));
        assert_eq!(p.backoff(2, 0.5), Duration::from_secs(3));
        assert_eq!(p.backoff(3, 0.5), Duration::from_secs_f64(4.5));
        assert_eq!(p.backoff(4, 0.5), Duration::from_secs(6));
        assert_eq!(p.backoff(1000, 1.0), Duration::from_secs(6));
        assert!(p.backoff(1, 0.0) >= Duration::from_secs_f64(1.6) && p.backoff(1, 1.0) <= Duration::from_secs_f64(2.4));
        let mut j = Jitter::new(3);
        let v: Vec<f64> = (0..100).map(|_| j.next()).collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)) && v.windows(2).any(|w| w[0] != w[1]));
    }
}
