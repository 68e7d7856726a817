//! The show on air: speech thread -> timeline -> scene -> media pipeline, the same
//! loop for `live` (paced by the pipeline clock) and `render` (as fast as possible).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use resvg::tiny_skia::PixmapMut;

use crate::config::Config;
use crate::media::MediaPipeline;
use crate::output::Output;
use crate::scene::Scene;
use crate::show::Show;
use crate::speech::{Speaker, SpeechWorker};
use crate::timeline::{Pacing, Timeline};

/// Segments the speech thread keeps ready ahead of playback.
const SPEECH_AHEAD: usize = 4;

#[derive(Debug, Default)]
pub struct Report {
    pub frames: u64,
    pub media_seconds: f64,
    pub wall_seconds: f64,
    pub lines_spoken: u64,
    /// Live mode: frames handed to the encoder after their presentation time.
    pub late_frames: u64,
}

pub struct Broadcast {
    pub config: Config,
    pub pacing: Pacing,
    pub duration: Option<Duration>,
    pub progress: bool,
}

impl Broadcast {
    /// Runs until `duration` of media is out, or `stop` is set (Ctrl-C / SIGTERM).
    pub fn run(&self, stop: Arc<AtomicBool>) -> Result<Report> {
        let config = &self.config;
        let live = self.pacing == Pacing::Live;
        let outputs = Output::all(config)?;
        if outputs.is_empty() {
            bail!("no outputs: add [[output.rtmp]] or [[output.file]] to the config, or pass --output");
        }
        for o in &outputs {
            if let Output::Rtmp(r) = o {
                if !live {
                    bail!("render mode writes files only; {} is an RTMP target (use `avatarcast live` to stream)", r.masked());
                }
                r.probe()?;
            }
        }
        // Everything that can fail on bad input fails here, before anything starts.
        let scene = Scene::new(config)?;
        let speaker = Speaker::load(&config.voice)?;
        let media = MediaPipeline::build(config, &outputs, live)?;

        let worker = SpeechWorker::spawn(speaker, Show::new(&config.show), SPEECH_AHEAD);
        let mut timeline = Timeline::new(config.video.fps, worker.segments.clone(), self.pacing, config.avatar.seed);
        let total_frames = self.duration.map(|d| (d.as_secs_f64() * config.video.fps as f64).round() as u64);
        let size = config.video.size;

        media.start()?;
        for o in &outputs {
            tracing::info!(output = %o.describe(), "output started");
        }
        let started = Instant::now();
        let mut report = Report::default();
        let frame_ns = 1_000_000_000 / config.video.fps as u64;
        loop {
            if stop.load(Ordering::Relaxed) || total_frames.is_some_and(|t| timeline.frame() >= t) {
                break;
            }
            let tick = timeline.tick();
            if let Some(line) = tick.started_line {
                tracing::info!(at = tick.video_pts_ns as f64 / 1e9, "on air: {line}");
            }
            if live {
                if let Some(now) = media.running_time_ns() {
                    if now > tick.video_pts_ns + frame_ns {
                        report.late_frames += 1;
                    }
                }
            }
            let pose = tick.pose;
            media.push_frame(tick.video_pts_ns, tick.video_duration_ns, |data| {
                let mut pixmap = PixmapMut::from_bytes(data, size.width, size.height).expect("frame buffer has the frame size");
                scene.render(&mut pixmap, &pose);
            })?;
            media.push_audio(tick.audio, tick.audio_pts_ns, tick.audio_duration_ns)?;
            media.poll()?;
            report.frames += 1;
            if self.progress && report.frames % config.video.fps as u64 == 0 {
                draw_progress(report.frames, total_frames, config.video.fps, started.elapsed());
            }
        }
        if self.progress {
            eprintln!();
        }
        report.media_seconds = report.frames as f64 / config.video.fps as f64;
        report.lines_spoken = timeline.stats.lines_spoken;
        drop(timeline);
        drop(worker);
        media.finish(Duration::from_secs(15))?;
        report.wall_seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}

fn draw_progress(frames: u64, total: Option<u64>, fps: u32, elapsed: Duration) {
    let media = frames as f64 / fps as f64;
    let speed = media / elapsed.as_secs_f64().max(1e-6);
    let mut err = std::io::stderr().lock();
    match total {
        Some(t) if t > 0 => {
            let width = 30;
            let done = ((frames as f64 / t as f64) * width as f64) as usize;
            let _ = write!(
                err,
                "\r[{}{}] {media:6.1}/{:.1} s  {speed:4.1}x real time",
                "#".repeat(done.min(width)),
                ".".repeat(width - done.min(width)),
                t as f64 / fps as f64
            );
        }
        _ => {
            let _ = write!(err, "\r{media:8.1} s  {speed:4.1}x real time");
        }
    }
    let _ = err.flush();
}
