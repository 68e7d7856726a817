//! Delivery: the one encode's packets, fanned out to every output. Each output sits
//! behind its own bounded hand-off and runs its own pipeline on its own thread under
//! a supervisor (supervisor.rs): a slow or failing output drops or retries alone,
//! while the renderer and every other output go on. One file per output kind knows
//! its target, its pipeline and how to explain its failures.

pub mod file;
pub mod hls;
pub mod rtmp;
pub mod srt;
mod supervisor;
pub mod webrtc;
pub mod whip;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::{Sender, TrySendError, bounded};
use gstreamer as gst;
use serde::Serialize;

use crate::config::Config;

/// An encoded track of the one encode (pipelines/encode.gst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// Annex B access units, SPS/PPS before every keyframe.
    H264,
    /// ADTS frames.
    Aac,
    /// Opus packets, for WebRTC viewers only.
    Opus,
}

#[derive(Debug, Clone)]
pub enum Packet {
    Media(Track, gst::Buffer),
    /// The stream is over: finish cleanly (finalize files, close connections).
    End,
}

impl Packet {
    pub fn is_keyframe(track: Track, buffer: &gst::BufferRef) -> bool {
        track == Track::H264 && !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)
    }
}

/// Lets a session start (and restart after a drop) on a keyframe: video waits for
/// one, audio for the keyframe's time, so every track starts together and the
/// timestamps the server sees only go forward. Audio comes out of its encoder
/// sooner than video, so audio that arrives before the keyframe is held, not lost.
#[derive(Debug, Default)]
pub struct KeyframeGate {
    from_ns: Option<u64>,
    held: std::collections::VecDeque<(Track, gst::Buffer)>,
}

/// Audio held while waiting for a keyframe (more than a keyframe interval).
const GATE_HOLD: usize = 256;

fn pts_ns(buffer: &gst::BufferRef) -> u64 {
    buffer.pts().map(|t| t.nseconds()).unwrap_or(0)
}

impl KeyframeGate {
    pub fn reset(&mut self) {
        self.from_ns = None;
        self.held.clear();
    }

    /// Takes one packet; appends to `out` what may go out now, in order per track.
    pub fn pass(&mut self, track: Track, buffer: gst::Buffer, out: &mut Vec<(Track, gst::Buffer)>) {
        match self.from_ns {
            Some(from) => {
                if track == Track::H264 || pts_ns(&buffer) >= from {
                    out.push((track, buffer));
                }
            }
            None if Packet::is_keyframe(track, &buffer) => {
                let from = pts_ns(&buffer);
                self.from_ns = Some(from);
                out.push((track, buffer));
                out.extend(self.held.drain(..).filter(|(_, b)| pts_ns(b) >= from));
            }
            None if track != Track::H264 => {
                if self.held.len() == GATE_HOLD {
                    self.held.pop_front();
                }
                self.held.push_back((track, buffer));
            }
            None => {}
        }
    }
}

const SOURCES: &str = include_str!("../../pipelines/output-sources.gst");

/// An output's pipeline description: the shared sources (pipelines/output-sources.gst)
/// linked to `video_pad` and `audio_pad` of `sink`, the output's own part.
fn with_sources(video_pad: &str, audio_pad: &str, sink: &str) -> String {
    let sources = crate::media::fill(SOURCES, &[("video_pad", video_pad.into()), ("audio_pad", audio_pad.into())]);
    format!("{sources}\n{sink}")
}

/// One supervised delivery target: a GStreamer pipeline, or a WHIP ingest pushed with
/// webrtc-rs (WebRTC viewers are served by webrtc.rs).
#[derive(Debug, Clone)]
pub enum Output {
    Rtmp(rtmp::RtmpTarget),
    Srt(srt::SrtTarget),
    File(file::FileTarget),
    Hls(hls::HlsTarget),
    Whip(whip::WhipTarget),
}

impl Output {
    pub fn all(config: &Config) -> Result<Vec<Output>> {
        let mut v = Vec::new();
        for r in &config.output.rtmp {
            v.push(Output::Rtmp(rtmp::RtmpTarget::parse(&r.url)?));
        }
        for (i, s) in config.output.srt.iter().enumerate() {
            v.push(Output::Srt(srt::SrtTarget::new(s, &format!("output.srt[{i}]"))?));
        }
        for f in &config.output.file {
            v.push(Output::File(file::FileTarget::new(&f.path, f.split_minutes)?));
        }
        for h in &config.output.hls {
            v.push(Output::Hls(hls::HlsTarget::new(h, config.video.keyframe_seconds)?));
        }
        for (i, w) in config.output.whip.iter().enumerate() {
            v.push(Output::Whip(whip::WhipTarget::new(w, &format!("output.whip[{i}]"))?));
        }
        Ok(v)
    }

    /// Safe to log: stream keys are masked.
    pub fn describe(&self) -> String {
        match self {
            Output::Rtmp(r) => format!("RTMP {}", r.masked()),
            Output::Srt(s) => s.describe(),
            Output::File(f) => format!("file {}", f.path.display()),
            Output::Hls(h) => format!("HLS {}", h.dir.join("index.m3u8").display()),
            Output::Whip(w) => w.describe(),
        }
    }

    /// This output's pipeline for its `session`-th start (0 first); None for WHIP,
    /// which is not a GStreamer pipeline.
    pub fn pipeline_description(&self, session: u32) -> Option<String> {
        Some(match self {
            Output::Rtmp(r) => r.pipeline_description(),
            Output::Srt(s) => s.pipeline_description(),
            Output::File(f) => f.pipeline_description(session),
            Output::Hls(h) => h.pipeline_description(),
            Output::Whip(_) => return None,
        })
    }

    /// The encoded tracks this output takes: WebRTC carries Opus, the rest AAC.
    fn tracks(&self) -> &'static [Track] {
        match self {
            Output::Whip(_) => &[Track::H264, Track::Opus],
            _ => &[Track::H264, Track::Aac],
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Output::Rtmp(_) => "rtmp",
            Output::Srt(_) => "srt",
            Output::File(_) => "file",
            Output::Hls(_) => "hls",
            Output::Whip(_) => "whip",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Connecting,
    Live,
    Retrying,
    Stopped,
}

/// How one output is doing, for status, metrics and logs.
pub struct Health {
    pub name: String,
    pub kind: &'static str,
    state: Mutex<HealthState>,
    /// Packets this output lost because it fell behind (its hand-off was full).
    pub dropped: AtomicU64,
    /// Bytes it delivered (RTMP: accepted by the socket; files: written).
    pub bytes: AtomicU64,
}

struct HealthState {
    state: State,
    /// Failed attempts since it was last live.
    attempt: u32,
    next_attempt: Option<Instant>,
    last_error: Option<String>,
    reconnects: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub name: String,
    pub kind: &'static str,
    pub state: State,
    pub attempt: u32,
    pub next_attempt_in_s: Option<f64>,
    pub last_error: Option<String>,
    pub reconnects: u64,
    pub bytes: u64,
    pub dropped_packets: u64,
}

impl Health {
    pub fn new(name: String, kind: &'static str) -> Health {
        Health {
            name,
            kind,
            state: Mutex::new(HealthState {
                state: State::Connecting,
                attempt: 0,
                next_attempt: None,
                last_error: None,
                reconnects: 0,
            }),
            dropped: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn update(&self, f: impl FnOnce(&mut HealthState)) {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn set(&self, state: State) {
        self.update(|h| {
            if state == State::Live {
                h.attempt = 0;
            }
            h.state = state;
            h.next_attempt = None;
        });
    }

    /// A failure: the next attempt comes after `wait`.
    pub fn failed(&self, error: String, wait: Duration) -> u32 {
        let mut attempt = 0;
        self.update(|h| {
            if h.state == State::Live {
                h.reconnects += 1;
            }
            h.attempt += 1;
            attempt = h.attempt;
            h.state = State::Retrying;
            h.next_attempt = Some(Instant::now() + wait);
            h.last_error = Some(error);
        });
        attempt
    }

    pub fn attempt(&self) -> u32 {
        self.state.lock().map(|h| h.attempt).unwrap_or(0)
    }

    pub fn report(&self) -> HealthReport {
        let h = self.state.lock().unwrap_or_else(|p| p.into_inner());
        HealthReport {
            name: self.name.clone(),
            kind: self.kind,
            state: h.state,
            attempt: h.attempt,
            next_attempt_in_s: h.next_attempt.map(|t| t.saturating_duration_since(Instant::now()).as_secs_f64()),
            last_error: h.last_error.clone(),
            reconnects: h.reconnects,
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped_packets: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The hand-off from the encoder to one output.
struct Link {
    tx: Sender<Packet>,
    tracks: &'static [Track],
    /// Render mode: files get every packet (the encoder waits for them).
    lossless: bool,
    health: Arc<Health>,
    /// Set when packets were dropped: the output starts again on the next keyframe.
    resync: Arc<AtomicBool>,
}

/// Seconds of packets (about 75 per second: 25 video, ~47 AAC) an output may fall
/// behind before it loses some.
const HANDOFF_SECONDS_NETWORK: usize = 4;
const HANDOFF_SECONDS_FILE: usize = 30;
const PACKETS_PER_SECOND: usize = 100;

/// Every output of the stream: their hand-offs, threads and health.
pub struct Outputs {
    links: Vec<Link>,
    workers: Mutex<Vec<(String, JoinHandle<()>)>>,
    pub health: Vec<Arc<Health>>,
    whep: Option<Arc<webrtc::Whep>>,
    /// WHIP ingests configured (they take Opus all the time).
    whip: usize,
    /// The stream's AI label: the encoder puts it in every keyframe, each output
    /// session in its container's metadata.
    pub label: crate::label::Label,
}

impl Outputs {
    /// Starts one supervised thread per output; they wait for the encoder's packets.
    pub fn start(config: &Config, targets: Vec<Output>, live: bool, whep: Option<Arc<webrtc::Whep>>) -> Result<Outputs> {
        let label = crate::label::Label::for_stream(&config.label, &config.show.file);
        let mut outputs = Outputs { links: Vec::new(), workers: Mutex::default(), health: Vec::new(), whep: whep.clone(), whip: 0, label };
        let policy = supervisor::Policy {
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs_f64(config.output.retry_max_seconds),
            stall: Duration::from_secs_f64(config.output.stall_seconds),
            lossless: !live,
        };
        for target in targets {
            let seconds = match target {
                Output::Rtmp(_) | Output::Srt(_) | Output::Whip(_) => HANDOFF_SECONDS_NETWORK,
                _ => HANDOFF_SECONDS_FILE,
            };
            let (tx, rx) = bounded(seconds * PACKETS_PER_SECOND);
            let health = Arc::new(Health::new(target.describe(), target.kind()));
            let resync = Arc::new(AtomicBool::new(false));
            let tracks = target.tracks();
            outputs.whip += matches!(target, Output::Whip(_)) as usize;
            let worker = supervisor::Worker {
                output: target,
                rx,
                health: health.clone(),
                resync: resync.clone(),
                policy: policy.clone(),
                label_record: outputs.label.record.clone(),
            };
            let name = health.name.clone();
            let handle = std::thread::Builder::new().name(format!("out-{}", health.kind)).spawn(move || worker.run())?;
            outputs.workers.get_mut().expect("new").push((name, handle));
            outputs.links.push(Link { tx, tracks, lossless: !live, health: health.clone(), resync });
            outputs.health.push(health);
        }
        if let Some(whep) = whep {
            let (tx, rx) = bounded(HANDOFF_SECONDS_NETWORK * PACKETS_PER_SECOND);
            let health = whep.health.clone();
            let resync = Arc::new(AtomicBool::new(false));
            let gap = resync.clone();
            let handle = std::thread::Builder::new().name("out-webrtc".into()).spawn(move || whep.run(rx, gap))?;
            outputs.workers.get_mut().expect("new").push((health.name.clone(), handle));
            outputs.links.push(Link { tx, tracks: &[Track::H264, Track::Opus], lossless: false, health: health.clone(), resync });
            outputs.health.push(health);
        }
        Ok(outputs)
    }

    /// Whether Opus is wanted now: a WHIP ingest takes it all the time, WHEP only while
    /// a viewer watches (the encoder is paused otherwise).
    pub fn opus_wanted_now(&self) -> bool {
        self.whip > 0 || self.whep.as_ref().is_some_and(|w| w.viewer_count() > 0)
    }

    /// Whether the encoder should make Opus (someone takes it).
    pub fn wants(&self, track: Track) -> bool {
        self.links.iter().any(|l| l.tracks.contains(&track))
    }

    /// Hands one encoded packet to every output that takes its track; never blocks
    /// in live mode (a full hand-off drops the packet for that output alone).
    pub fn deliver(&self, track: Track, buffer: &gst::Buffer) {
        for link in self.links.iter().filter(|l| l.tracks.contains(&track)) {
            // Each output gets a buffer of its own (the memory is shared, not copied):
            // its elements may set flags and offsets without another output seeing them.
            let packet = Packet::Media(track, buffer.copy());
            if link.lossless {
                let _ = link.tx.send(packet);
            } else if let Err(TrySendError::Full(_)) = link.tx.try_send(packet) {
                link.health.dropped.fetch_add(1, Ordering::Relaxed);
                if !link.resync.swap(true, Ordering::Relaxed) {
                    tracing::warn!(output = %link.health.name, "output fell behind: dropping packets until it catches up");
                }
            }
        }
    }

    /// The encoder is done: every output finishes what it has (files are finalized)
    /// within `timeout`.
    pub fn finish(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        for link in &self.links {
            let _ = link.tx.send_deadline(Packet::End, deadline);
        }
        let workers = std::mem::take(&mut *self.workers.lock().unwrap_or_else(|p| p.into_inner()));
        let mut late = Vec::new();
        for (name, handle) in workers {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            } else {
                late.push(name);
            }
        }
        if !late.is_empty() {
            anyhow::bail!("outputs did not finish within {} s: {}; files may be incomplete", timeout.as_secs(), late.join(", "));
        }
        Ok(())
    }
}

/// Prometheus lines for every output.
pub fn metrics(health: &[Arc<Health>], out: &mut String) {
    use std::fmt::Write;
    let reports: Vec<_> = health.iter().map(|h| h.report()).collect();
    let mut family = |name: &str, help: &str, kind: &str, value: &dyn Fn(&HealthReport) -> f64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for r in &reports {
            let label = r.name.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{output=\"{label}\",kind=\"{}\"}} {}", r.kind, value(r));
        }
    };
    family("avatarcast_output_up", "1 while the output is live.", "gauge", &|r| (r.state == State::Live) as u8 as f64);
    family("avatarcast_output_reconnects_total", "Times a live output failed and was rebuilt.", "counter", &|r| r.reconnects as f64);
    family("avatarcast_output_retry_attempt", "Failed attempts since the output was last live.", "gauge", &|r| r.attempt as f64);
    family("avatarcast_output_bytes_total", "Bytes delivered.", "counter", &|r| r.bytes as f64);
    family("avatarcast_output_dropped_packets_total", "Packets lost because the output fell behind.", "counter", &|r| {
        r.dropped_packets as f64
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer::prelude::*;

    fn buffer(pts_ms: u64, key: bool) -> gst::Buffer {
        let mut b = gst::Buffer::new();
        let r = b.get_mut().unwrap();
        r.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        if !key {
            r.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        b
    }

    #[test]
    fn a_session_starts_on_a_keyframe_with_audio_from_its_time() {
        gst::init().unwrap();
        let mut gate = KeyframeGate::default();
        let mut out = Vec::new();
        let mut pass = |gate: &mut KeyframeGate, track, ms, key| {
            out.clear();
            gate.pass(track, buffer(ms, key), &mut out);
            out.iter().map(|(t, b)| (*t, b.pts().unwrap().mseconds())).collect::<Vec<_>>()
        };
        // Audio from before the keyframe is held; the part from the keyframe's time on
        // goes out with it.
        assert_eq!(pass(&mut gate, Track::Aac, 960, true), vec![]);
        assert_eq!(pass(&mut gate, Track::Aac, 1010, true), vec![]);
        assert_eq!(pass(&mut gate, Track::H264, 960, false), vec![]);
        assert_eq!(pass(&mut gate, Track::H264, 1000, true), vec![(Track::H264, 1000), (Track::Aac, 1010)]);
        assert_eq!(pass(&mut gate, Track::Aac, 979, true), vec![]);
        assert_eq!(pass(&mut gate, Track::Aac, 1031, true), vec![(Track::Aac, 1031)]);
        assert_eq!(pass(&mut gate, Track::H264, 1040, false), vec![(Track::H264, 1040)]);
        gate.reset();
        assert_eq!(pass(&mut gate, Track::H264, 1080, false), vec![]);
        assert_eq!(pass(&mut gate, Track::H264, 2000, true), vec![(Track::H264, 2000)]);
    }

    #[test]
    fn every_output_kind_makes_a_pipeline_fed_by_two_appsrcs() {
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("avatarcast-outputs-{}", std::process::id()));
        let hls = crate::config::HlsOutputConfig { dir: dir.join("hls"), segment_seconds: None, playlist_length: 4 };
        let outputs = [
            Output::Rtmp(rtmp::RtmpTarget::parse("rtmp://127.0.0.1:1935/live/key").unwrap()),
            Output::File(file::FileTarget::new(&dir.join("a.mp4"), None).unwrap()),
            Output::File(file::FileTarget::new(&dir.join("b.mkv"), Some(30.0)).unwrap()),
            Output::Hls(hls::HlsTarget::new(&hls, 2).unwrap()),
        ];
        for output in &outputs {
            let desc = output.pipeline_description(1).unwrap();
            let pipeline = gst::parse::launch(&desc).unwrap_or_else(|e| panic!("{}: {e}\n{desc}", output.describe()));
            let bin = pipeline.downcast::<gst::Bin>().unwrap();
            assert!(bin.by_name("video").is_some() && bin.by_name("audio").is_some(), "{desc}");
        }
        // A recording restarted after a failure goes on in a new file.
        assert!(outputs[1].pipeline_description(1).unwrap().contains("a-retry1.mp4"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn health_counts_reconnects_only_after_being_live() {
        let h = Health::new("RTMP x".into(), "rtmp");
        assert_eq!(h.failed("refused".into(), Duration::from_secs(2)), 1);
        assert_eq!(h.failed("refused".into(), Duration::from_secs(3)), 2);
        h.set(State::Live);
        let r = h.report();
        assert_eq!((r.state, r.attempt, r.reconnects), (State::Live, 0, 0));
        h.failed("closed".into(), Duration::from_secs(2));
        let r = h.report();
        assert_eq!((r.state, r.attempt, r.reconnects), (State::Retrying, 1, 1));
        assert!(r.next_attempt_in_s.unwrap() <= 2.0 && r.last_error.as_deref() == Some("closed"));
        let mut m = String::new();
        metrics(&[Arc::new(h)], &mut m);
        assert!(m.contains("avatarcast_output_reconnects_total{output=\"RTMP x\",kind=\"rtmp\"} 1"), "{m}");
    }
}
