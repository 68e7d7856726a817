//! The show on air: director (show + live lines) -> speech lanes -> timeline ->
//! scene -> media pipeline, the same loop for `live` (paced by the pipeline clock)
//! and `render` (as fast as possible). In live mode the control API runs beside it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use crossbeam_channel::{bounded, unbounded};

use crate::config::Config;
use crate::control::Shared;
use crate::control::api::ApiServer;
use crate::control::state::NowPlaying;
use crate::media::MediaPipeline;
use crate::output::webrtc::Whep;
use crate::output::{Output, Outputs};
use crate::scene::Scene;
use crate::scene::{Overlays, SceneCommand};
use crate::show::Show;
use crate::show::file::ShowFile;
use crate::show::markup::Cue;
use crate::show::director::{Director, Origin};
use crate::show::lines::Lines;
use crate::show::moderation::Moderation;
use crate::show::transcript::Transcript;
use crate::speech::SynthLane;
use crate::speech::voices::{VoiceCatalog, Voices};
use crate::timeline::{Pacing, Timeline};

/// Commands the API may queue before the render thread takes them in.
const COMMAND_QUEUE: usize = 256;
/// On stop, the longest wait for the line on air to reach a word boundary.
const CLOSE_WAIT_SECONDS: u64 = 4;
/// Live mode: frames are made up to this many frame durations before they are due. The
/// hand-off to the encoder holds them, so a short stall of the machine (a channel
/// beside this one starting, the kernel writing back files) is absorbed without a
/// late frame; 240 ms on the way out is nothing beside an ingest's seconds. Six
/// channels on two cores: 3 frames made 53 late frames in one machine-wide stall, 6
/// made 20 in the same kind of run.
const LEAD_FRAMES: u64 = 6;
/// Live mode: a frame whose due time passed more than this many frame durations ago
/// when its turn comes is not drawn or encoded (its sound still goes out), so a
/// machine short of CPU keeps the stream on time instead of drifting behind.
const DROP_BEHIND_FRAMES: u64 = 2;

#[derive(Debug, Default)]
pub struct Report {
    pub frames: u64,
    pub media_seconds: f64,
    pub wall_seconds: f64,
    pub lines_spoken: u64,
    /// Live mode: frames handed to the encoder after their presentation time.
    pub late_frames: u64,
    /// Live mode: how late the latest of them was, in milliseconds.
    pub worst_late_ms: f64,
    /// Live mode: picture frames dropped to stay on time (their sound went out).
    pub dropped_frames: u64,
}

pub struct Broadcast {
    pub config: Config,
    pub pacing: Pacing,
    pub duration: Option<Duration>,
    pub progress: bool,
    /// Control API address (live mode); None: no API.
    pub api: Option<String>,
}

impl Broadcast {
    /// Runs until `duration` of media is out, or `stop` is set (Ctrl-C / SIGTERM).
    pub fn run(&self, stop: Arc<AtomicBool>) -> Result<Report> {
        let config = &self.config;
        let live = self.pacing == Pacing::Live;
        let targets = Output::all(config)?;
        let whep = match live && self.api.is_some() && config.output.webrtc.enabled {
            true => Some(Whep::new(config.output.webrtc.max_viewers as usize)?),
            false => None,
        };
        if targets.is_empty() && whep.is_none() {
            bail!("no outputs: add [[output.rtmp]], [[output.file]] or [[output.hls]] to the config, or pass --output");
        }
        for o in &targets {
            if let Output::Rtmp(r) = o {
                if !live {
                    bail!("render mode writes files only; {} is an RTMP target (use `avatarcast live` to stream)", r.masked());
                }
            }
        }
        // Everything that can fail on bad input fails here, before anything starts.
        let show_file = Arc::new(ShowFile::load(&config.show.file)?);
        let mut scene = Scene::new(config, show_file.clone(), live)?;
        let catalog = VoiceCatalog::new(&config.voice, &config.voices);
        let voice_names = catalog.names();
        if let Some(v) = show_file.voices().into_iter().find(|v| !voice_names.contains(v)) {
            bail!("show file {}: voice `{v}` is not one of the config's voices ({})", config.show.file.display(), voice_names.join(", "));
        }
        // One cache for both lanes: a line the show said is free when inserted, and back.
        let speech_cache = Arc::new(config.voice.cache());
        // A voice takes seconds of CPU to load: a channel starting on a machine whose
        // other channels are on air must not make them late.
        let load = || {
            crate::speech::lower_thread_priority();
            Voices::load(catalog.clone(), speech_cache.clone())
        };
        let (show_voices, live_voices) = std::thread::scope(|s| {
            let (a, b) = (s.spawn(load), s.spawn(load));
            (a.join().expect("voice loader"), b.join().expect("voice loader"))
        });
        let (show_voices, live_voices) = (show_voices?, live_voices?);
        let transcript = match config.show.transcript.as_os_str().is_empty() {
            true => None,
            false => Some(Transcript::open(&config.show.transcript)?),
        };
        let outputs = Arc::new(Outputs::start(config, targets, live, whep.clone())?);
        let media = MediaPipeline::build(config, outputs.clone())?;

        let lines = Arc::new(Lines::default());
        let (command_tx, command_rx) = bounded(COMMAND_QUEUE);
        let size = config.video.size;
        let mut shared = Shared::new(
            size.width,
            size.height,
            config.video.fps,
            outputs.health.clone(),
            whep.clone(),
            speech_cache,
            lines.clone(),
            command_tx,
            show_file.clone(),
            config.show.file.clone(),
            scene.background_names(),
            voice_names,
        );
        shared.avatar = scene.avatar.name().to_string();
        shared.gestures = scene.avatar.gesture_names();
        shared.lipsync = scene.avatar.lipsync_times();
        let shared = Arc::new(shared);
        let _watcher = ShowWatcher::spawn(shared.clone());
        let _api = match &self.api {
            Some(listen) => Some(ApiServer::start(listen, config.api.token.clone(), config.chat.llm.clone(), shared.clone())?),
            None => None,
        };

        let (done_tx, done_rx) = unbounded();
        let director = Director::new(
            Show::new(show_file, config.avatar.seed),
            SynthLane::spawn("show", show_voices, done_tx.clone(), true),
            SynthLane::spawn("live", live_voices, done_tx, false),
            done_rx,
            command_rx,
            lines,
            Moderation::new(config.moderation.clone()),
            transcript,
        );
        let mut timeline = Timeline::new(config.video.fps, director, self.pacing);
        // A video pack's lip-sync reads the audio ahead of each frame: the picture (and
        // the sound with it) goes out `lookahead` frames after the timeline makes it.
        let lookahead = scene.avatar.lookahead_frames();
        let delay_ns = timeline.clock.frame_pts_ns(lookahead);
        timeline.set_output_delay(lookahead);
        timeline.programme.output_delay = Duration::from_nanos(delay_ns);
        if lookahead > 0 {
            tracing::info!("the picture trails the timeline by {lookahead} frames for the lip-sync model's audio window");
        }
        let total_frames = self.duration.map(|d| (d.as_secs_f64() * config.video.fps as f64).round() as u64);

        media.start()?;
        let started = Instant::now();
        let mut report = Report::default();
        let frame_ns = 1_000_000_000 / config.video.fps as u64;
        let mut closing_since: Option<u64> = None;
        let mut held: VecDeque<Made> = VecDeque::new();
        // Tests only: stop the render loop at this frame (tests/health_probes.rs).
        let stall_at: Option<u64> = std::env::var("AVATARCAST_TEST_STALL_AT_FRAME").ok().and_then(|v| v.parse().ok());
        // Buffers of frames gone out, for the next ones made (no allocation per frame).
        let mut spare: Vec<FrameBuffers> = Vec::new();
        let mut made_playing = false;
        // Live overload: (first frame dropped, last frame dropped, frames dropped) since
        // the stream fell behind. An episode ends after a second with nothing dropped, so
        // a machine at its limit logs one warning and one summary, not one per frame.
        let mut dropping: Option<(u64, u64, u64)> = None;
        loop {
            if total_frames.is_some_and(|t| report.frames >= t) {
                break;
            }
            let mut making = true;
            if stop.load(Ordering::Relaxed) {
                // Ctrl-C / SIGTERM: the line on air ends at its next word boundary, then
                // the stream ends (at most a few seconds later) with what is made.
                let since = *closing_since.get_or_insert_with(|| {
                    tracing::info!("stopping: ending the line on air at a word boundary");
                    timeline.close();
                    timeline.frame()
                });
                making = !(timeline.closed() || timeline.frame() - since >= CLOSE_WAIT_SECONDS * config.video.fps as u64);
            }
            while making && held.len() as u64 <= lookahead {
                let tick = timeline.tick();
                if let Some(line) = tick.started_line {
                    let on_air = tick.video_pts_ns + delay_ns;
                    tracing::info!(at = on_air as f64 / 1e9, "on air: {line}");
                }
                let plan = scene.avatar.plan(tick.frame, tick.mouth, tick.steps, tick.speaking, tick.audio, tick.cues, config.video.fps);
                let mut buffers = spare.pop().unwrap_or_default();
                buffers.fill(tick.audio, tick.caption.map_or("", |(t, _)| t), tick.product);
                let started_line = tick.started_line.is_some();
                held.push_back(Made {
                    frame: tick.frame,
                    video_pts_ns: tick.video_pts_ns,
                    video_duration_ns: tick.video_duration_ns,
                    audio_pts_ns: tick.audio_pts_ns,
                    audio_duration_ns: tick.audio_duration_ns,
                    buffers,
                    caption_word: tick.caption.map(|(_, w)| w),
                    cues: tick.cues.to_vec(),
                    plan,
                    now_playing: None,
                    events: Vec::new(),
                });
                // What the API says is on air changes when the frame goes out.
                let made = held.back_mut().expect("just pushed");
                let playing = timeline.current_line().is_some();
                if started_line || playing != made_playing {
                    made.now_playing = Some(now_playing(&timeline));
                    made_playing = playing;
                }
                made.events = std::mem::take(&mut timeline.programme.events);
            }
            let Some(made) = held.pop_front() else { break };
            let frame = made.frame;
            if stall_at == Some(frame) {
                // Test hook: a wedged render loop, for the health probe's test.
                tracing::warn!(frame, "AVATARCAST_TEST_STALL_AT_FRAME: the render loop stops here");
                loop {
                    std::thread::park();
                }
            }
            debug_assert_eq!(frame, report.frames);
            let mut deadline = None;
            let mut drop_picture = false;
            if live {
                // The pipeline clock paces the stream: frame n is made LEAD_FRAMES before
                // it is due; a video pack's mouth may take most of a frame.
                media.wait_until(made.video_pts_ns.saturating_sub(LEAD_FRAMES * frame_ns));
                deadline = Some(Instant::now() + Duration::from_nanos(frame_ns * 3 / 4));
                let now = media.running_time_ns();
                drop_picture = now.is_some_and(|now| now > made.video_pts_ns + DROP_BEHIND_FRAMES * frame_ns);
                if drop_picture {
                    shared.dropped_frames.fetch_add(1, Ordering::Relaxed);
                    let (first, last, n) = dropping.get_or_insert((frame, frame, 0));
                    if *n == 0 {
                        tracing::warn!(frame = *first, "the stream fell behind (the machine is short of CPU): dropping picture frames to stay on time, the sound goes on");
                    }
                    (*last, *n) = (frame, *n + 1);
                } else if let Some((first, last, n)) = dropping.filter(|&(_, last, _)| frame - last >= config.video.fps as u64) {
                    dropping = None;
                    let seconds = (last + 1 - first) as f64 / config.video.fps as f64;
                    tracing::info!(frame, "back on time: {n} picture frames dropped over {seconds:.1} s");
                }
                if let Some(now) = now.filter(|_| !drop_picture) {
                    if now > made.video_pts_ns + frame_ns {
                        shared.late_frames.fetch_add(1, Ordering::Relaxed);
                        let late_us = (now - made.video_pts_ns) / 1000;
                        if late_us > shared.worst_late_us.fetch_max(late_us, Ordering::Relaxed) {
                            tracing::warn!(frame, at = made.video_pts_ns as f64 / 1e9, "frame late by {} ms (the machine is short of CPU)", late_us / 1000);
                        }
                    }
                }
            }
            for cue in &made.cues {
                let cmd = match cue {
                    Cue::Background(name) => SceneCommand::Background { name: name.clone(), crossfade_ms: None },
                    Cue::Card(visible) => SceneCommand::Card { product: None, visible: Some(*visible), sale_seconds: None },
                    Cue::Framing(framing) => SceneCommand::Framing { framing: *framing },
                    _ => continue,
                };
                apply_scene(&mut scene, &shared, &cmd, frame, "show markup");
            }
            let b = &made.buffers;
            let overlays = Overlays { frame, caption: made.caption_word.map(|w| (b.caption.as_str(), w)), product: &b.product };
            if !drop_picture {
                scene.render(&made.plan, &overlays, deadline);
                if shared.snapshot.wanted() {
                    shared.snapshot.offer(frame, scene.rgba());
                }
                media.push_frame(made.video_pts_ns, made.video_duration_ns, scene.i420())?;
            }
            media.push_audio(&b.audio, made.audio_pts_ns, made.audio_duration_ns)?;
            media.poll()?;
            for cmd in std::mem::take(&mut timeline.programme.scene_commands) {
                apply_scene(&mut scene, &shared, &cmd, frame + 1, "the API");
            }
            for event in made.events {
                shared.emit(event);
            }
            if let Some(show) = timeline.programme.new_show.take() {
                scene.set_show(show);
            }
            spare.push(made.buffers);
            report.frames += 1;
            publish(&shared, &timeline, made.now_playing, report.frames);
            if self.progress && report.frames % config.video.fps as u64 == 0 {
                draw_progress(report.frames, total_frames, config.video.fps, started.elapsed());
            }
        }
        if self.progress {
            eprintln!();
        }
        report.media_seconds = report.frames as f64 / config.video.fps as f64;
        report.lines_spoken = timeline.stats.lines_spoken;
        report.late_frames = shared.late_frames.load(Ordering::Relaxed);
        report.worst_late_ms = shared.worst_late_us.load(Ordering::Relaxed) as f64 / 1000.0;
        report.dropped_frames = shared.dropped_frames.load(Ordering::Relaxed);
        drop(timeline);
        let finished = media.finish(Duration::from_secs(15));
        if let Some(whep) = &whep {
            whep.shutdown();
        }
        finished?;
        report.wall_seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}

/// A frame the timeline made, held until it goes out (see `lookahead`).
struct Made {
    frame: u64,
    video_pts_ns: u64,
    video_duration_ns: u64,
    audio_pts_ns: u64,
    audio_duration_ns: u64,
    buffers: FrameBuffers,
    /// The caption's highlighted word (the caption is in `buffers`).
    caption_word: Option<usize>,
    cues: Vec<Cue>,
    plan: crate::avatar::Plan,
    /// The line on air, when it changed in this frame (Some(None): nothing on air now).
    now_playing: Option<Option<NowPlaying>>,
    /// Events the programme raised while making this frame, sent when it goes out.
    events: Vec<serde_json::Value>,
}

/// A held frame's audio, caption and product, reused from frame to frame.
#[derive(Default)]
struct FrameBuffers {
    audio: Vec<i16>,
    caption: String,
    product: String,
}

impl FrameBuffers {
    fn fill(&mut self, audio: &[i16], caption: &str, product: &str) {
        self.audio.clear();
        self.audio.extend_from_slice(audio);
        self.caption.clear();
        self.caption.push_str(caption);
        self.product.clear();
        self.product.push_str(product);
    }
}

/// Reloads the show file when it changes on disk (checked once a second), without
/// interrupting the stream; a file that fails its checks leaves the running show
/// as it is and says why.
struct ShowWatcher {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ShowWatcher {
    fn spawn(shared: Arc<Shared>) -> ShowWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("show-watch".into())
            .spawn(move || {
                let path = shared.show_path.clone();
                let mut rejected = String::new();
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(1));
                    let Ok(text) = std::fs::read_to_string(&path) else { continue };
                    let current = shared.show.lock().map(|s| s.source == text).unwrap_or(true);
                    if current || text == rejected {
                        continue;
                    }
                    match ShowFile::parse(&text).and_then(|show| shared.replace_show(show)) {
                        Ok(()) => tracing::info!(file = %path.display(), "show file changed: reloaded"),
                        Err(e) => {
                            let msg = format!("show file {} changed but was not loaded, the show goes on as it was: {e:#}", path.display());
                            tracing::error!("{msg}");
                            shared.emit(serde_json::json!({ "type": "error", "message": msg }));
                            rejected = text;
                        }
                    }
                }
            })
            .expect("spawn show watcher");
        ShowWatcher { stop, handle: Some(handle) }
    }
}

impl Drop for ShowWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Applies a scene change and tells WebSocket clients what happened.
fn apply_scene(scene: &mut crate::scene::Scene, shared: &Shared, cmd: &SceneCommand, frame: u64, from: &str) {
    match scene.apply(cmd, frame) {
        Ok(()) => shared.emit(serde_json::json!({ "type": "scene", "from": from, "frame": frame, "change": cmd })),
        Err(e) => {
            tracing::warn!("scene change from {from}: {e:#}");
            shared.emit(serde_json::json!({ "type": "error", "message": format!("scene change from {from}: {e:#}") }));
        }
    }
}

/// Per-frame counters for the API (atomics), and the line on air when it changes.
fn publish(shared: &Shared, timeline: &Timeline<Director>, now_playing: Option<Option<NowPlaying>>, frames_out: u64) {
    let stats = &timeline.stats;
    shared.frames.store(frames_out, Ordering::Relaxed);
    shared.beat();
    shared.lines_spoken.store(stats.lines_spoken, Ordering::Relaxed);
    shared.speech_underruns.store(stats.speech_underruns, Ordering::Relaxed);
    shared.interruptions.store(stats.interruptions, Ordering::Relaxed);
    shared.takeover.store(timeline.programme.takeover(), Ordering::Relaxed);
    if let Some(ms) = timeline.programme.stats.last_insert_latency_ms {
        shared.last_insert_latency_us.store((ms * 1000.0) as u64, Ordering::Relaxed);
    }
    let Some(now) = now_playing else { return };
    if let Some(product) = now.as_ref().map(|n| &n.product).filter(|p| !p.is_empty()) {
        if let Ok(mut p) = shared.last_product.lock() {
            p.clone_from(product);
        }
    }
    if let Ok(mut g) = shared.now_playing.lock() {
        *g = now;
    }
}

/// The line on air in the timeline now, as the API shows it.
fn now_playing(timeline: &Timeline<Director>) -> Option<NowPlaying> {
    timeline.current_line().map(|(origin, u)| NowPlaying {
        text: u.text.clone(),
        product: u.product.clone(),
        source: origin.label().into(),
        id: match origin {
            Origin::Line { id, .. } => Some(*id),
            Origin::Show { .. } => None,
        },
    })
}

fn draw_progress(frames: u64, total: Option<u64>, fps: u32, elapsed: Duration) {
    let media = frames as f64 / fps as f64;
    let speed = media / elapsed.as_secs_f64().max(1e-6);
    match total {
        Some(t) if t > 0 => crate::progress::draw(
            "",
            Some(frames as f64 / t as f64),
            &format!("{media:6.1}/{:.1} s  {speed:4.1}x real time", t as f64 / fps as f64),
        ),
        _ => crate::progress::draw("", None, &format!("{media:8.1} s  {speed:4.1}x real time")),
    }
}
