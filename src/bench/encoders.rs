//! `avatarcast bench --encoders`: each H.264 setting Debian's GStreamer offers, on our
//! own frames (the demo scene, host talking, captions and card) at the configured
//! bitrate: CPU per frame on one thread, and quality against the uncompressed frames
//! (ffmpeg's PSNR and SSIM filters). It chose `video.preset` (docs/performance.md).

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use serde::Serialize;

use crate::config::{Config, X264_PRESETS};
use crate::media;
use crate::scene::Scene;
use crate::show::file::ShowFile;

#[derive(Debug, Serialize)]
pub struct EncoderRow {
    pub encoder: String,
    /// Encoding CPU time per frame, one thread (the process's CPU time: 10 ms ticks).
    pub ms_per_frame: f64,
    /// Mean PSNR of Y, U and V against the uncompressed frames.
    pub psnr_db: f64,
    pub ssim: f64,
    /// What the stream came to.
    pub kbps: f64,
}

/// The settings measured: x264's presets up to `medium` and openh264 at its three
/// complexities (when the plugin is there).
fn settings(config: &Config) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        X264_PRESETS[..6].iter().map(|p| (format!("x264 {p}"), media::x264_description(config, p, 1))).collect();
    if gst::ElementFactory::find("openh264enc").is_some() {
        let gop = config.video.fps * config.video.keyframe_seconds;
        for c in ["low", "medium", "high"] {
            let element = format!(
                "openh264enc complexity={c} rate-control=bitrate bitrate={} gop-size={gop} multi-thread=1 ! video/x-h264,profile=main",
                config.video.bitrate_kbps * 1000
            );
            v.push((format!("openh264 {c}"), element));
        }
    }
    v
}

pub fn run(config: &Config, frames: usize) -> Result<Vec<EncoderRow>> {
    crate::gst_helpers::init()?;
    let show = Arc::new(ShowFile::load(&config.show.file)?);
    let mut scene = Scene::new(config, show, false)?;
    let dir = std::env::temp_dir().join(format!("avatarcast-encoders-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = measure(config, &mut scene, frames, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn measure(config: &Config, scene: &mut Scene, frames: usize, dir: &Path) -> Result<Vec<EncoderRow>> {
    let (w, h, fps) = (config.video.size.width, config.video.size.height, config.video.fps);
    let mut uncompressed = Vec::with_capacity(frames);
    super::sample_frames(config, scene, frames, |f| uncompressed.push(f.to_vec()));
    let reference = dir.join("reference.y4m");
    let mut y4m = std::io::BufWriter::new(std::fs::File::create(&reference)?);
    write!(y4m, "YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420mpeg2 XYSCSS=420MPEG2\n")?;
    for f in &uncompressed {
        y4m.write_all(b"FRAME\n")?;
        y4m.write_all(f)?;
    }
    y4m.flush()?;
    drop(y4m);
    let mut rows = Vec::new();
    for (name, element) in settings(config) {
        eprintln!("bench: {name} …");
        let file = dir.join(format!("{}.mkv", name.replace(' ', "-")));
        let seconds = encode(config, &element, &uncompressed, &file).with_context(|| format!("encoding with {name}"))?;
        let (psnr_db, ssim) = quality(&file, &reference)?;
        let kbps = std::fs::metadata(&file)?.len() as f64 * 8.0 / 1000.0 / (frames as f64 / fps as f64);
        rows.push(EncoderRow { encoder: name, ms_per_frame: seconds * 1000.0 / frames as f64, psnr_db, ssim, kbps });
    }
    Ok(rows)
}

/// Encodes `frames` into `file`; the process's CPU seconds meanwhile (one encoder
/// thread does nearly all of it): unlike wall time, other work on a shared machine
/// does not count.
fn encode(config: &Config, element: &str, frames: &[Vec<u8>], file: &Path) -> Result<f64> {
    let rest = format!("{element} ! h264parse ! matroskamux ! filesink location={}", file.display());
    let cpu = || crate::proc_stat::sample(std::process::id()).map_or(0, |(ticks, _)| ticks);
    let before = cpu();
    super::time_encode(config, &rest, frames.iter().map(|f| gst::Buffer::from_slice(f.clone())))?;
    Ok((cpu() - before) as f64 / crate::proc_stat::TICKS_PER_SECOND)
}

/// (PSNR dB, SSIM) of `encoded` against `reference`, by ffmpeg.
fn quality(encoded: &Path, reference: &Path) -> Result<(f64, f64)> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-i"])
        .arg(encoded)
        .arg("-i")
        .arg(reference)
        .args(["-lavfi", "[0:v][1:v]psnr;[0:v][1:v]ssim", "-f", "null", "-"])
        .output()
        .context("running ffmpeg (install it with scripts/setup.sh)")?;
    let log = String::from_utf8_lossy(&out.stderr);
    let after = |key: &str| -> Option<f64> {
        let line = log.lines().rev().find(|l| l.contains(key))?;
        line[line.find(key)? + key.len()..].split_whitespace().next()?.parse().ok()
    };
    match (after("average:"), after("All:")) {
        (Some(p), Some(s)) => Ok((p, s)),
        _ => bail!("ffmpeg gave no PSNR/SSIM for {}: {}", encoded.display(), log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")),
    }
}
