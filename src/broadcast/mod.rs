//! The show on air: director (show + live lines) -> speech lanes -> timeline ->
//! scene -> media pipeline, the same loop for `live` (paced by the pipeline clock,
//! pacer.rs) and `render` (as fast as possible). In live mode the control API runs
//! beside it. `Broadcast::run` reads as build, then one `step` per frame, then finish.

mod pacer;
mod show_watcher;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use crossbeam_channel::{bounded, unbounded};

use crate::config::Config;
use crate::control::Shared;
use crate::control::api::ApiServer;
use crate::control::state::{Names, NowPlaying, ShowInputs, StreamInfo};
use crate::cue::{Cue, SceneCommand};
use crate::media::MediaPipeline;
use crate::output::webrtc::Whep;
use crate::output::{Output, Outputs};
use crate::scene::{Overlays, Scene};
use crate::show::Show;
use crate::show::director::Director;
use crate::show::lines::Origin;
use crate::show::file::ShowFile;
use crate::show::lines::Lines;
use crate::show::moderation::Moderation;
use crate::show::transcript::Transcript;
use crate::speech::lane::SynthLane;
use crate::speech::cache::SpeechCache;
use crate::speech::voices::{VoiceCatalog, Voices};
use crate::timeline::{Pacing, Timeline};
use pacer::{Episode, Pacer, Verdict};
use show_watcher::ShowWatcher;

/// Commands the API may queue before the render thread takes them in.
const COMMAND_QUEUE: usize = 256;
/// On stop, the longest wait for the line on air to reach a word boundary.
const CLOSE_WAIT_SECONDS: u64 = 4;

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
    /// Live mode: frames that repeated the last picture to stay on time (their sound
    /// went out; the frame grid has no hole).
    pub repeated_frames: u64,
    /// The files and playlists written, for the closing lines.
    pub written: Vec<String>,
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
        let mut on_air = OnAir::build(self)?;
        on_air.start()?;
        while on_air.total_frames.is_none_or(|t| on_air.frames < t) {
            if on_air.keep_making(&stop) {
                on_air.make_ahead();
            }
            let Some(made) = on_air.held.pop_front() else { break };
            on_air.step(made)?;
        }
        on_air.finish()
    }
}

/// A running broadcast: what `build` made, and where the frame loop stands.
struct OnAir {
    live: bool,
    fps: u32,
    progress: bool,
    total_frames: Option<u64>,
    written: Vec<String>,
    scene: Scene,
    timeline: Timeline<Director>,
    media: MediaPipeline,
    shared: Arc<Shared>,
    whep: Option<Arc<Whep>>,
    /// Frames the picture trails the timeline by (a video pack's lip-sync window).
    lookahead: u64,
    delay_ns: u64,
    /// Frames made and not yet out, and the buffers of frames gone out for reuse (no
    /// allocation per frame).
    held: VecDeque<Made>,
    spare: Vec<FrameBuffers>,
    /// Whether the frame last made had a line on air (the API's now-playing changes).
    made_playing: bool,
    pacer: Pacer,
    test_stall: TestStall,
    test_leak: TestLeak,
    closing_since: Option<u64>,
    frames: u64,
    started: Instant,
    _watcher: ShowWatcher,
    _api: Option<ApiServer>,
}

impl OnAir {
    /// Everything that can fail on bad input fails here, before anything starts.
    fn build(b: &Broadcast) -> Result<OnAir> {
        let config = &b.config;
        let live = b.pacing == Pacing::Live;
        let (targets, whep) = outputs(config, live, b.api.is_some())?;
        let written = targets.iter().filter_map(written_by).collect();
        let show_file = Arc::new(ShowFile::load(&config.show.file)?);
        let catalog = VoiceCatalog::new(&config.voice, &config.voices);
        let voice_names = catalog.names();
        if let Some(v) = show_file.voices().into_iter().find(|v| !voice_names.contains(v)) {
            bail!("show file {}: voice `{v}` is not one of the config's voices ({})", config.show.file.display(), voice_names.join(", "));
        }
        // One cache for both lanes: a line the show said is free when inserted, and back.
        let speech_cache = Arc::new(SpeechCache::for_voice(&config.voice));
        let (show_voices, live_voices) = load_voices(&catalog, &speech_cache)?;
        // After the voices: what a voice's load holds for a moment is given back
        // before the host's frames fill up (the process's peak of memory).
        let scene = Scene::new(config, show_file.clone(), live)?;
        let transcript = match config.show.transcript.as_os_str().is_empty() {
            true => None,
            false => Some(Transcript::open(&config.show.transcript)?),
        };
        let outputs = Arc::new(Outputs::start(config, targets, live, whep.clone(), scene.avatar.credits())?);
        let media = MediaPipeline::build(config, outputs.clone())?;

        let lines = Arc::new(Lines::default());
        let (command_tx, command_rx) = bounded(COMMAND_QUEUE);
        let stream = StreamInfo { size: config.video.size, fps: config.video.fps, outputs: outputs.health.clone(), whep: whep.clone(), lipsync: scene.avatar.lipsync_times() };
        let show = ShowInputs { file: show_file.clone(), path: config.show.file.clone(), lines: lines.clone(), commands: command_tx, speech_cache };
        let names = Names {
            backgrounds: scene.background_names(),
            voices: voice_names,
            avatar: scene.avatar.name().to_string(),
            gestures: scene.avatar.gesture_names(),
            credits: scene.avatar.credits(),
        };
        let shared = Arc::new(Shared::new(stream, show, names));
        let _watcher = ShowWatcher::spawn(shared.clone());
        let _api = match &b.api {
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
        let mut timeline = Timeline::new(config.video.fps, director, b.pacing);
        // A video pack's lip-sync reads the audio ahead of each frame: the picture (and
        // the sound with it) goes out `lookahead` frames after the timeline makes it.
        let lookahead = scene.avatar.lookahead_frames();
        let delay_ns = timeline.clock.frame_pts_ns(lookahead);
        timeline.set_output_delay(lookahead);
        timeline.programme.output_delay = Duration::from_nanos(delay_ns);
        if lookahead > 0 {
            tracing::info!("the picture trails the timeline by {lookahead} frames for the lip-sync model's audio window");
        }
        Ok(OnAir {
            live,
            fps: config.video.fps,
            progress: b.progress,
            total_frames: b.duration.map(|d| (d.as_secs_f64() * config.video.fps as f64).round() as u64),
            written,
            scene,
            timeline,
            media,
            shared,
            whep,
            lookahead,
            delay_ns,
            held: VecDeque::new(),
            spare: Vec::new(),
            made_playing: false,
            pacer: Pacer::new(config.video.fps),
            test_stall: TestStall::from_env(),
            test_leak: TestLeak::from_env(),
            closing_since: None,
            frames: 0,
            started: Instant::now(),
            _watcher,
            _api,
        })
    }

    /// Starts the encoder; the stream's wall time counts from here.
    fn start(&mut self) -> Result<()> {
        self.media.start()?;
        self.started = Instant::now();
        Ok(())
    }

    /// Whether to make frames: on Ctrl-C / SIGTERM the line on air ends at its next
    /// word boundary, then the stream ends (at most a few seconds later) with what is made.
    fn keep_making(&mut self, stop: &AtomicBool) -> bool {
        if !stop.load(Ordering::Relaxed) {
            return true;
        }
        let timeline = &mut self.timeline;
        let since = *self.closing_since.get_or_insert_with(|| {
            tracing::info!("stopping: ending the line on air at a word boundary");
            timeline.close();
            timeline.frame()
        });
        !(timeline.closed() || timeline.frame() - since >= CLOSE_WAIT_SECONDS * self.fps as u64)
    }

    /// Makes frames until `lookahead` + 1 are held: the timeline's tick, the host's plan.
    fn make_ahead(&mut self) {
        while self.held.len() as u64 <= self.lookahead {
            let tick = self.timeline.tick();
            if let Some(line) = tick.started_line {
                let on_air = tick.video_pts_ns + self.delay_ns;
                tracing::info!(at = on_air as f64 / 1e9, "on air: {line}");
            }
            let plan = self.scene.avatar.plan(tick.frame, tick.mouth, tick.steps, tick.speaking, tick.audio, tick.cues);
            let mut buffers = self.spare.pop().unwrap_or_default();
            buffers.fill(tick.audio, tick.caption.map_or("", |(t, _)| t), tick.product);
            let mut made = Made {
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
            };
            // What the API says is on air changes when the frame goes out.
            let started_line = tick.started_line.is_some();
            let playing = self.timeline.current_line().is_some();
            if started_line || playing != self.made_playing {
                made.now_playing = Some(now_playing(&self.timeline));
                self.made_playing = playing;
            }
            made.events = std::mem::take(&mut self.timeline.programme.events);
            self.held.push_back(made);
        }
    }

    /// One frame out: paced (live), its cues applied, drawn, encoded, published.
    fn step(&mut self, made: Made) -> Result<()> {
        let frame = made.frame;
        self.test_stall.at(frame);
        debug_assert_eq!(frame, self.frames);
        let (deadline, draw) = if self.live { self.pace(&made) } else { (None, true) };
        for cmd in made.cues.iter().filter_map(cue_command) {
            apply_scene(&mut self.scene, &self.shared, &cmd, frame, "show markup");
        }
        let b = &made.buffers;
        let overlays = Overlays { frame, caption: made.caption_word.map(|w| (b.caption.as_str(), w)), product: &b.product };
        if draw {
            self.scene.render(&made.plan, &overlays, deadline);
            if self.shared.snapshot.wanted() {
                self.shared.snapshot.offer(frame, self.scene.rgba());
            }
        }
        // Every frame of the grid goes out: a repeat is the last picture again.
        self.media.push_frame(made.video_pts_ns, made.video_duration_ns, self.scene.i420())?;
        self.media.push_audio(&b.audio, made.audio_pts_ns, made.audio_duration_ns)?;
        self.media.poll()?;
        let sound_end = (made.audio_pts_ns + made.audio_duration_ns) as i64;
        let picture_end = (made.video_pts_ns + made.video_duration_ns) as i64;
        self.shared.av_offset_us.store((sound_end - picture_end) / 1000, Ordering::Relaxed);
        self.test_leak.keep(frame, self.fps, self.scene.i420());
        for cmd in std::mem::take(&mut self.timeline.programme.scene_commands) {
            apply_scene(&mut self.scene, &self.shared, &cmd, frame + 1, "the API");
        }
        for event in made.events {
            self.shared.emit(event);
        }
        if let Some(show) = self.timeline.programme.new_show.take() {
            self.scene.set_show(show);
        }
        self.spare.push(made.buffers);
        self.frames += 1;
        if self.frames == 1 {
            // What a restart costs on air (`bench --channels` reads it).
            let age = crate::proc_stat::age_seconds().map_or("?".into(), |s| format!("{s:.2}"));
            tracing::info!("first frame out {age} s after the process started");
        }
        publish(&self.shared, &self.timeline, made.now_playing, self.frames);
        if self.progress && self.frames % self.fps as u64 == 0 {
            draw_progress(self.frames, self.total_frames, self.fps, self.started.elapsed());
        }
        Ok(())
    }

    /// Live mode: waits for the frame's turn on the pipeline clock and judges it.
    /// Returns the render deadline and whether the picture is drawn at all.
    fn pace(&mut self, made: &Made) -> (Option<Instant>, bool) {
        self.media.wait_until(self.pacer.make_at(made.video_pts_ns));
        let deadline = Instant::now() + self.pacer.render_budget();
        let (verdict, episode) = self.pacer.judge(made.frame, made.video_pts_ns, self.media.running_time_ns());
        match episode {
            Some(Episode::FellBehind { frame }) => tracing::warn!(
                frame,
                "the stream fell behind (the machine is short of CPU): repeating the last picture to stay on time, the sound goes on"
            ),
            Some(Episode::BackOnTime { frame, repeated, seconds }) => {
                tracing::info!(frame, "back on time: {repeated} pictures repeated over {seconds:.1} s")
            }
            None => {}
        }
        let shared = &self.shared;
        match verdict {
            Verdict::OnTime => {}
            Verdict::Repeat => {
                shared.repeated_frames.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Late { by_ns } => {
                shared.late_frames.fetch_add(1, Ordering::Relaxed);
                let late_us = by_ns / 1000;
                if late_us > shared.worst_late_us.fetch_max(late_us, Ordering::Relaxed) {
                    let at = made.video_pts_ns as f64 / 1e9;
                    tracing::warn!(frame = made.frame, at, "frame late by {} ms (the machine is short of CPU)", late_us / 1000);
                }
            }
        }
        (Some(deadline), verdict != Verdict::Repeat)
    }

    /// Ends the stream: the encoder drains, every output finishes (files finalized).
    fn finish(self) -> Result<Report> {
        if self.progress {
            eprintln!();
        }
        let lines_spoken = self.timeline.stats.lines_spoken;
        // The synthesis lanes stop with the timeline, before the encoder drains.
        drop(self.timeline);
        let finished = self.media.finish(Duration::from_secs(15));
        if let Some(whep) = &self.whep {
            whep.shutdown();
        }
        finished?;
        let shared = &self.shared;
        Ok(Report {
            frames: self.frames,
            media_seconds: self.frames as f64 / self.fps as f64,
            wall_seconds: self.started.elapsed().as_secs_f64(),
            lines_spoken,
            late_frames: shared.late_frames.load(Ordering::Relaxed),
            worst_late_ms: shared.worst_late_us.load(Ordering::Relaxed) as f64 / 1000.0,
            repeated_frames: shared.repeated_frames.load(Ordering::Relaxed),
            written: self.written,
        })
    }
}

/// The config's outputs, checked, and the WebRTC preview when it is on; render mode
/// writes files only.
fn outputs(config: &Config, live: bool, with_api: bool) -> Result<(Vec<Output>, Option<Arc<Whep>>)> {
    let targets = Output::all(config)?;
    let whep = match live && with_api && config.output.webrtc.enabled {
        true => Some(Whep::new(config.output.webrtc.max_viewers as usize, crate::output::profile::h264_profile(config))?),
        false => None,
    };
    if targets.is_empty() && whep.is_none() {
        bail!("no outputs: add [[output.rtmp]], [[output.file]] or [[output.hls]] to the config, or pass --output");
    }
    let rtmp = targets.iter().find_map(|o| match o {
        Output::Rtmp(r) => Some(r),
        _ => None,
    });
    if let Some(r) = rtmp.filter(|_| !live) {
        bail!("render mode writes files only; {} is an RTMP target (use `avatarcast live` to stream)", r.masked());
    }
    Ok((targets, whep))
}

/// What an output leaves on disk, as the closing lines name it.
fn written_by(output: &Output) -> Option<String> {
    match output {
        Output::File(f) if f.split.is_some() => Some(format!("{} (split: NAME-00001, NAME-00002, …)", f.path.display())),
        Output::File(f) => Some(f.path.display().to_string()),
        Output::Hls(h) => Some(h.dir.join("index.m3u8").display().to_string()),
        Output::Rtmp(_) | Output::Srt(_) | Output::Whip(_) => None,
    }
}

/// The show's voices and the live lines' voices, loaded side by side. A voice takes
/// seconds of CPU to load: a channel starting on a machine whose other channels are
/// on air must not make them late, so the loaders run at a lower priority.
fn load_voices(catalog: &VoiceCatalog, cache: &Arc<SpeechCache>) -> Result<(Voices, Voices)> {
    let load = || {
        crate::speech::lower_thread_priority();
        Voices::load(catalog.clone(), cache.clone())
    };
    let (show_voices, live_voices) = std::thread::scope(|s| {
        let (a, b) = (s.spawn(load), s.spawn(load));
        (a.join().expect("voice loader"), b.join().expect("voice loader"))
    });
    Ok((show_voices?, live_voices?))
}

/// The scene change a show-markup cue asks for (gestures and emphasis go to the host).
fn cue_command(cue: &Cue) -> Option<SceneCommand> {
    match cue {
        Cue::Background(name) => Some(SceneCommand::Background { name: name.clone(), crossfade_ms: None }),
        Cue::Card(visible) => Some(SceneCommand::Card { product: None, visible: Some(*visible), sale_seconds: None }),
        Cue::Framing(framing) => Some(SceneCommand::Framing { framing: *framing }),
        Cue::Gesture(_) | Cue::Emphasis | Cue::Emotion(_) => None,
    }
}

/// Tests only: `AVATARCAST_TEST_STALL_AT_FRAME` wedges the render loop at a frame, for
/// the health probe's test (tests/health_probes.rs).
struct TestStall(Option<u64>);

impl TestStall {
    fn from_env() -> TestStall {
        TestStall(std::env::var("AVATARCAST_TEST_STALL_AT_FRAME").ok().and_then(|v| v.parse().ok()))
    }

    fn at(&self, frame: u64) {
        if self.0 == Some(frame) {
            tracing::warn!(frame, "AVATARCAST_TEST_STALL_AT_FRAME: the render loop stops here");
            loop {
                std::thread::park();
            }
        }
    }
}

/// Tests only: `AVATARCAST_TEST_KEEP_FRAMES=1` keeps a copy of one picture a second
/// and never lets go, a leak planted for the soak harness to find (scripts/soak.py).
struct TestLeak(Option<Vec<Vec<u8>>>);

impl TestLeak {
    fn from_env() -> TestLeak {
        TestLeak(std::env::var("AVATARCAST_TEST_KEEP_FRAMES").is_ok_and(|v| v == "1").then(Vec::new))
    }

    fn keep(&mut self, frame: u64, fps: u32, picture: &[u8]) {
        if let Some(kept) = &mut self.0
            && frame % fps as u64 == 0
        {
            kept.push(picture.to_vec());
        }
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
