//! Delivery: the one encode's packets, fanned out to every output. Each output sits
//! behind its own bounded hand-off and runs its own pipeline on its own thread under
//! a supervisor (supervisor.rs): a slow or failing output drops or retries alone,
//! while the renderer and every other output go on. One file per output kind knows
//! its target, its pipeline and how to explain its failures.

mod disk_space;
pub mod file;
pub mod profile;
mod health;
pub mod hls;
mod packet;
pub mod rtmp;
mod session;
mod sources;
pub mod srt;
mod supervisor;
mod target;
pub mod webrtc;
pub mod whip;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Result;
use crossbeam_channel::{Sender, TrySendError, bounded};
use gstreamer as gst;

use crate::config::Config;
pub use health::{Health, HealthReport, State, metrics};
pub use packet::{KeyframeGate, Packet, Track};
pub use target::Output;

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
    /// `credits`: what the host model's licence asks viewers to be told, carried in
    /// each container's metadata beside the label.
    pub fn start(config: &Config, targets: Vec<Output>, live: bool, whep: Option<Arc<webrtc::Whep>>, credits: Option<String>) -> Result<Outputs> {
        let mut label = crate::label::Label::for_stream(&config.label, &config.show.file);
        label.credits = credits;
        let mut outputs = Outputs { links: Vec::new(), workers: Mutex::default(), health: Vec::new(), whep: whep.clone(), whip: 0, label };
        let policy = session::Policy {
            first_retry: Duration::from_secs_f64(config.output.retry_first_seconds),
            max_retry: Duration::from_secs_f64(config.output.retry_max_seconds),
            stall: Duration::from_secs_f64(config.output.stall_seconds),
            lossless: !live,
        };
        for target in &targets {
            target.prepare()?;
        }
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
                label: outputs.label.clone(),
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

