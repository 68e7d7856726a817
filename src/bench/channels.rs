//! `avatarcast bench --channels`: how many live channels this machine holds. Real
//! `avatarcast live` processes (the same binary and config, each writing its own
//! file), started a few seconds apart, one more each round, until a round has a
//! channel that makes a frame late or drops one; the figure is the last round that
//! held, with the CPU and memory each channel took and how long each took from its
//! start to its first frame.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// One channel of a round.
#[derive(Debug, Serialize)]
pub struct ChannelRun {
    pub late_frames: u64,
    pub repeated_frames: u64,
    /// Share of one core over the run.
    pub cpu_cores: f64,
    /// The most resident memory the process had (VmHWM).
    pub peak_rss_mb: f64,
    /// From the process's start to its first frame out (its log says).
    pub start_to_first_frame_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Round {
    pub channels: usize,
    pub held: bool,
    pub runs: Vec<ChannelRun>,
}

#[derive(Debug, Serialize)]
pub struct ChannelsReport {
    /// The most channels that ran together with no late or repeated frame.
    pub channels: usize,
    pub seconds: u32,
    pub rounds: Vec<Round>,
}

/// Seconds between channel starts (a fleet never starts all at once either).
const STAGGER: Duration = Duration::from_secs(3);

pub fn run(config: &Path, seconds: u32, counts: std::ops::RangeInclusive<usize>) -> Result<ChannelsReport> {
    let exe = std::env::current_exe().context("finding the avatarcast binary")?;
    let dir = std::env::temp_dir().join(format!("avatarcast-channels-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut report = ChannelsReport { channels: 0, seconds, rounds: Vec::new() };
    if *counts.start() == 0 || counts.is_empty() {
        anyhow::bail!("--min-channels must be at least 1 and at most --max-channels");
    }
    for n in counts {
        eprintln!("bench: {n} channel(s) for {seconds} s …");
        let round = run_round(&exe, config, &dir, n, seconds);
        let round = match round {
            Ok(r) => r,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let held = round.held;
        report.rounds.push(round);
        if !held {
            break;
        }
        report.channels = n;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

struct Channel {
    child: Child,
    log: PathBuf,
    /// CPU ticks and peak RSS (kB, VmHWM) seen in /proc.
    ticks: u64,
    peak_rss_kb: u64,
    started: Instant,
    ended: Option<Instant>,
}

fn run_round(exe: &Path, config: &Path, dir: &Path, n: usize, seconds: u32) -> Result<Round> {
    let mut channels: Vec<Channel> = Vec::new();
    for i in 0..n {
        if i > 0 {
            std::thread::sleep(STAGGER);
        }
        let log = dir.join(format!("channel{i}.log"));
        let child = Command::new(exe)
            .args(["live", "--config"])
            .arg(config)
            .args(["--duration", &format!("{seconds}s"), "--api", "127.0.0.1:0", "--output"])
            .arg(dir.join(format!("channel{i}.mkv")))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting a channel")?;
        channels.push(Channel { child, log, ticks: 0, peak_rss_kb: 0, started: Instant::now(), ended: None });
    }
    let deadline = Instant::now() + Duration::from_secs(seconds as u64 * 3 + 120);
    while channels.iter().any(|c| c.ended.is_none()) {
        for c in channels.iter_mut().filter(|c| c.ended.is_none()) {
            if let Some((ticks, rss)) = crate::proc_stat::sample(c.child.id()) {
                c.ticks = ticks;
                c.peak_rss_kb = c.peak_rss_kb.max(rss);
            }
            if c.child.try_wait()?.is_some() {
                c.ended = Some(Instant::now());
            }
        }
        if Instant::now() > deadline {
            for c in &mut channels {
                let _ = c.child.kill();
            }
            bail!("channels did not finish within {} s", seconds as u64 * 3 + 120);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut runs = Vec::new();
    for c in &channels {
        let log = std::fs::read_to_string(&c.log).unwrap_or_default();
        let Some(done) = log.lines().find(|l| l.starts_with("done:")) else {
            bail!("a channel ended without its summary: {}", log.lines().rev().take(5).collect::<Vec<_>>().join(" | "));
        };
        let number_before = |suffix: &str| -> u64 {
            done.find(suffix).and_then(|i| done[..i].rsplit([' ', '(']).next()?.parse().ok()).unwrap_or(u64::MAX)
        };
        let wall = c.ended.unwrap_or_else(Instant::now).duration_since(c.started).as_secs_f64();
        runs.push(ChannelRun {
            late_frames: number_before(" late frames"),
            repeated_frames: number_before(" pictures repeated"),
            cpu_cores: c.ticks as f64 / crate::proc_stat::TICKS_PER_SECOND / wall.max(1e-3),
            peak_rss_mb: c.peak_rss_kb as f64 / 1024.0,
            start_to_first_frame_s: first_frame_seconds(&log),
        });
    }
    let held = runs.iter().all(|r| r.late_frames == 0 && r.repeated_frames == 0);
    Ok(Round { channels: n, held, runs })
}

/// "first frame out 1.23 s after the process started" in a channel's log.
fn first_frame_seconds(log: &str) -> Option<f64> {
    let line = log.lines().find(|l| l.contains("first frame out "))?;
    line.split("first frame out ").nth(1)?.split_whitespace().next()?.parse().ok()
}
