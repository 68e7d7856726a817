//! What the render thread shares with the API: counters (atomics, updated per
//! frame), the line on air, line records, the command channel and snapshots.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
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
    /// Milliseconds after `started` when the render loop last put out a frame
    /// (GET /healthz: a loop that stops advancing is a wedged process).
    pub heartbeat_ms: AtomicU64,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub frames: AtomicU64,
    pub late_frames: AtomicU64,
    /// Frames that repeated the last picture to stay on time (broadcast/pacer.rs,
    /// REPEAT_BEHIND_FRAMES).
    pub repeated_frames: AtomicU64,
    /// Where the sound's end stands against the picture's end in what went to the
    /// encoder (sample counter against frame counter), in microseconds.
    pub av_offset_us: AtomicI64,
    /// The latest a frame has been, in microseconds.
    pub worst_late_us: AtomicU64,
    pub lines_spoken: AtomicU64,
    pub speech_underruns: AtomicU64,
    pub interruptions: AtomicU64,
    pub takeover: AtomicBool,
    /// Microseconds from the last inserted line's request to its first sample at the encoder.
    pub last_insert_latency_us: AtomicU64,
    pub now_playing: Mutex<Option<NowPlaying>>,
    /// Each output's state (connecting, live, retrying …), for status and metrics.
    pub outputs: Vec<Arc<crate::output::Health>>,
    /// WebRTC playback (live mode with the API, unless turned off).
    pub whep: Option<Arc<crate::output::webrtc::Whep>>,
    pub speech_cache: Arc<crate::speech::cache::SpeechCache>,
    pub lines: Arc<Lines>,
    pub commands: Sender<Command>,
    pub snapshot: Snapshot,
    pub show: Mutex<Arc<ShowFile>>,
    /// Background names the scene knows, for validating PUT /v1/scene.
    pub backgrounds: Vec<String>,
    /// Voice names lines and shows may use.
    pub voice_names: Vec<String>,
    /// The avatar pack's name and gestures, for POST /v1/gesture and status.
    pub avatar: String,
    pub gestures: Vec<String>,
    /// Credits the avatar's model licence asks for, shown in status and the console.
    pub credits: Option<String>,
    /// The neural lip-sync's per-stage counters, when a video pack runs it.
    pub lipsync: Option<Arc<crate::lipsync::neural::StageTimes>>,
    /// Events for WebSocket clients (JSON text); sending never blocks the render thread.
    pub events: tokio::sync::broadcast::Sender<String>,
    /// Where the show file lives (PUT /v1/show writes it there).
    pub show_path: std::path::PathBuf,
    /// The product most recently pitched, for chat answers.
    pub last_product: Mutex<String>,
    /// When each chat rule last fired, overall and per user.
    pub chat: Mutex<ChatCooldowns>,
}

/// What the stream is made of, for status and metrics.
pub struct StreamInfo {
    pub size: crate::frame::FrameSize,
    pub fps: u32,
    pub outputs: Vec<Arc<crate::output::Health>>,
    pub whep: Option<Arc<crate::output::webrtc::Whep>>,
    /// The neural lip-sync's per-stage counters, when a video pack runs it.
    pub lipsync: Option<Arc<crate::lipsync::neural::StageTimes>>,
}

/// The show and what the API changes it through.
pub struct ShowInputs {
    pub file: Arc<ShowFile>,
    /// Where the show file lives (PUT /v1/show writes it there).
    pub path: std::path::PathBuf,
    pub lines: Arc<Lines>,
    pub commands: Sender<Command>,
    pub speech_cache: Arc<crate::speech::cache::SpeechCache>,
}

/// The names requests are checked against.
pub struct Names {
    pub backgrounds: Vec<String>,
    pub voices: Vec<String>,
    /// The avatar pack's name, its gestures and the credits its licence asks for.
    pub avatar: String,
    pub gestures: Vec<String>,
    pub credits: Option<String>,
}

#[derive(Default)]
pub struct ChatCooldowns {
    pub rule: std::collections::HashMap<usize, Instant>,
    pub user: std::collections::HashMap<(usize, String), Instant>,
}

/// How long the render loop may stand still before /healthz says the process is wedged.
pub const STALL_MS: u64 = 5000;

/// What /healthz and /readyz answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No frame out yet: the process is starting (the orchestrator's startup probe waits).
    Starting,
    /// Frames are going out.
    Running,
    /// The render loop has not advanced for this many milliseconds.
    Stalled(u64),
}

impl Shared {
    /// The render loop put out a frame.
    pub fn beat(&self) {
        self.heartbeat_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub fn health(&self) -> Health {
        if self.frames.load(Ordering::Relaxed) == 0 {
            return Health::Starting;
        }
        let age = (self.started.elapsed().as_millis() as u64).saturating_sub(self.heartbeat_ms.load(Ordering::Relaxed));
        if age > STALL_MS { Health::Stalled(age) } else { Health::Running }
    }

    pub fn new(stream: StreamInfo, show: ShowInputs, names: Names) -> Shared {
        Shared {
            started: Instant::now(),
            heartbeat_ms: AtomicU64::new(0),
            width: stream.size.width,
            height: stream.size.height,
            fps: stream.fps,
            frames: AtomicU64::new(0),
            late_frames: AtomicU64::new(0),
            repeated_frames: AtomicU64::new(0),
            av_offset_us: AtomicI64::new(0),
            worst_late_us: AtomicU64::new(0),
            lines_spoken: AtomicU64::new(0),
            speech_underruns: AtomicU64::new(0),
            interruptions: AtomicU64::new(0),
            takeover: AtomicBool::new(false),
            last_insert_latency_us: AtomicU64::new(u64::MAX),
            now_playing: Mutex::new(None),
            outputs: stream.outputs,
            whep: stream.whep,
            speech_cache: show.speech_cache,
            lines: show.lines,
            commands: show.commands,
            snapshot: Snapshot::default(),
            show: Mutex::new(show.file),
            backgrounds: names.backgrounds,
            voice_names: names.voices,
            avatar: names.avatar,
            gestures: names.gestures,
            credits: names.credits,
            lipsync: stream.lipsync,
            events: tokio::sync::broadcast::channel(1024).0,
            show_path: show.path,
            last_product: Mutex::new(String::new()),
            chat: Mutex::new(ChatCooldowns::default()),
        }
    }

    /// Checks a show file against what the running stream has (backgrounds) and makes
    /// it current: the director switches at the next sentence, the API serves it.
    pub fn replace_show(&self, show: ShowFile) -> anyhow::Result<()> {
        for b in show.backgrounds() {
            if !self.backgrounds.contains(&b) {
                anyhow::bail!("[background {b}] is not one of the config's backgrounds ({})", self.backgrounds.join(", "));
            }
        }
        for v in show.voices() {
            if !self.voice_names.contains(&v) {
                anyhow::bail!("voice `{v}` is not one of the stream's voices ({})", self.voice_names.join(", "));
            }
        }
        let show = Arc::new(show);
        self.commands.try_send(Command::ReplaceShow(show.clone())).map_err(|_| anyhow::anyhow!("command queue full; try again"))?;
        *self.show.lock().unwrap_or_else(|p| p.into_inner()) = show;
        Ok(())
    }

    /// Publishes an event to every connected WebSocket client (none: dropped).
    pub fn emit(&self, event: serde_json::Value) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event.to_string());
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
