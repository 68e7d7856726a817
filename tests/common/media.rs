//! What a file holds, seen with ffprobe and ffmpeg: streams, packets and their
//! timestamps, decoded sound and pictures.

use std::path::Path;
use std::process::{Command, Stdio};

/// One packet as ffprobe lists it: presentation time in seconds, keyframe or not.
#[derive(Debug, Clone)]
pub struct Packet {
    pub pts: f64,
    pub key: bool,
}

/// Packets of the first stream of `kind` ("v" or "a"), in presentation order.
pub fn packets(file: &Path, kind: &str) -> Vec<Packet> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &format!("{kind}:0"), "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe not installed: run `bash scripts/setup.sh`");
    let mut v: Vec<Packet> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split(',');
            let pts = parts.next()?.parse().ok()?;
            Some(Packet { pts, key: parts.next().unwrap_or("").contains('K') })
        })
        .collect();
    v.sort_by(|a, b| a.pts.total_cmp(&b.pts));
    v
}

/// `ffprobe -show_streams` as JSON.
pub fn streams(file: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-show_format", "-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe");
    serde_json::from_slice(&out.stdout).expect("ffprobe json")
}

pub fn stream_of<'a>(info: &'a serde_json::Value, codec_type: &str) -> &'a serde_json::Value {
    info["streams"].as_array().unwrap().iter().find(|s| s["codec_type"] == codec_type).unwrap_or_else(|| panic!("no {codec_type} stream: {info}"))
}

/// Decoded audio, mono 48 kHz.
pub fn decode_audio(file: &Path) -> Vec<i16> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-vn", "-ac", "1", "-ar", "48000", "-f", "s16le", "-"])
        .output()
        .expect("ffmpeg");
    out.stdout.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// Each decoded frame, scaled to `w` x `h` RGB, through `each` (frames are not kept).
pub fn map_video_frames<T>(file: &Path, w: u32, h: u32, mut each: impl FnMut(&[u8]) -> T) -> Vec<T> {
    use std::io::Read;
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-an", "-vf", &format!("scale={w}:{h}"), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; (w * h * 3) as usize];
    let mut results = Vec::new();
    while out.read_exact(&mut buf).is_ok() {
        results.push(each(&buf));
    }
    assert!(child.wait().unwrap().success(), "ffmpeg could not decode {}", file.display());
    results
}

/// Whether an RGB pixel is within `tolerance` (per-channel distance) of `colour`.
pub fn near(p: &[u8], colour: [u8; 3], tolerance: i32) -> bool {
    (0..3).map(|i| (p[i] as i32 - colour[i] as i32).pow(2)).sum::<i32>() < tolerance * tolerance
}

/// Decoded video frames cropped to a rectangle, RGB.
pub fn decode_video_crop(file: &Path, x: u32, y: u32, w: u32, h: u32) -> Vec<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-an", "-vf", &format!("crop={w}:{h}:{x}:{y}"), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg");
    out.stdout.chunks_exact((w * h * 3) as usize).map(|c| c.to_vec()).collect()
}

/// Timestamps of one track: no gap over `max_gap` seconds between packets.
pub fn assert_no_gaps(p: &[Packet], max_gap: f64, what: &str) {
    for (i, w) in p.windows(2).enumerate() {
        let gap = w[1].pts - w[0].pts;
        // The timestamps around it tell a lost packet from a shifted one.
        let around = || p[i.saturating_sub(3)..(i + 5).min(p.len())].iter().map(|q| format!("{:.3}", q.pts)).collect::<Vec<_>>().join(" ");
        assert!(gap <= max_gap + 1e-3, "{what}: gap of {:.0} ms at {:.3} s (timestamps {}; {} packets)", gap * 1000.0, w[0].pts, around(), p.len());
        assert!(gap >= 0.0, "{what}: timestamps go back at {:.3} s (timestamps {})", w[0].pts, around());
    }
}

/// Keyframes exactly every `interval` seconds.
pub fn assert_keyframe_interval(p: &[Packet], interval: f64) {
    let keys: Vec<f64> = p.iter().filter(|p| p.key).map(|p| p.pts).collect();
    assert!(keys.len() >= 2, "fewer than two keyframes: {keys:?}");
    for w in keys.windows(2) {
        assert!((w[1] - w[0] - interval).abs() < 0.05, "keyframes {:.3} s apart (at {:.3} s): {keys:?}", w[1] - w[0], w[0]);
    }
}

/// Runs ffmpeg quietly (`-v error -y` and then `args`), failing the test if it fails.
pub fn ffmpeg(args: &[&str]) {
    let out = std::process::Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().expect("run ffmpeg");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}
