//! What the render thread shares with the API: counters (atomics, updated per
//! frame), the line on air, line records, the command channel and snapshots.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use serde::Serialize;

use crate::show::director::Command;
use crate::show::file::ShowFile;
use crate::show::lines::Lines;

#[derive(Debug, Clone, Default, Serialize)]
pub struct NowPlaying {
    pub text: String,
    pub product: String,
    pub source: String,
    pub id: Option<u64>,
}

pub struct Shared {
    pub started: Instant,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: AtomicU64,
    pub late_frames: AtomicU64,
    pub lines_spoken: AtomicU64,
    pub speech_underruns: AtomicU64,
    pub interruptions: AtomicU64,
    pub takeover: AtomicBool,
    /// Microseconds from the last inserted line's request to its first sample at the encoder.
    pub last_insert_latency_us: AtomicU64,
    pub now_playing: Mutex<Option<NowPlaying>>,
    pub outputs: Vec<String>,
    pub lines: Arc<Lines>,
    pub commands: Sender<Command>,
    pub snapshot: Snapshot,
    pub show: Mutex<Arc<ShowFile>>,
    /// Background names the scene knows, for validating PUT /v1/scene.
    pub backgrounds: Vec<String>,
}

impl Shared {
    pub fn new(
        width: u32,
        height: u32,
        fps: u32,
        outputs: Vec<String>,
        lines: Arc<Lines>,
        commands: Sender<Command>,
        show: Arc<ShowFile>,
        backgrounds: Vec<String>,
    ) -> Shared {
        Shared {
            started: Instant::now(),
            width,
            height,
            fps,
            frames: AtomicU64::new(0),
            late_frames: AtomicU64::new(0),
            lines_spoken: AtomicU64::new(0),
            speech_underruns: AtomicU64::new(0),
            interruptions: AtomicU64::new(0),
            takeover: AtomicBool::new(false),
            last_insert_latency_us: AtomicU64::new(u64::MAX),
            now_playing: Mutex::new(None),
            outputs,
            lines,
            commands,
            snapshot: Snapshot::default(),
            show: Mutex::new(show),
            backgrounds,
        }
    }

    pub fn last_insert_latency_ms(&self) -> Option<f64> {
        match self.last_insert_latency_us.load(Ordering::Relaxed) {
            u64::MAX => None,
            us => Some(us as f64 / 1000.0),
        }
    }
}

/// The current frame on request: the API asks, the render thread copies the next
/// frame it draws (only then), the API encodes it.
#[derive(Default)]
pub struct Snapshot {
    wanted: AtomicBool,
    frame: Mutex<Option<(u64, Vec<u8>)>>,
    ready: Condvar,
}

impl Snapshot {
    /// Render thread: whether to copy this frame.
    pub fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed)
    }

    /// Render thread: hand over a copy of the frame (premultiplied RGBA).
    pub fn offer(&self, frame: u64, rgba: &[u8]) {
        let mut g = self.frame.lock().unwrap_or_else(|p| p.into_inner());
        let buf = g.get_or_insert_with(|| (0, Vec::new()));
        buf.0 = frame;
        buf.1.clear();
        buf.1.extend_from_slice(rgba);
        self.wanted.store(false, Ordering::Relaxed);
        self.ready.notify_all();
    }

    /// API (blocking): the next rendered frame, or None after `timeout`.
    pub fn take(&self, timeout: Duration) -> Option<Vec<u8>> {
        let mut g = self.frame.lock().unwrap_or_else(|p| p.into_inner());
        let before = g.as_ref().map(|f| f.0);
        self.wanted.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + timeout;
        while g.as_ref().map(|f| f.0) == before {
            let left = deadline.checked_duration_since(Instant::now())?;
            g = self.ready.wait_timeout(g, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        g.as_ref().map(|f| f.1.clone())
    }
}
