//! Shared helpers for integration tests: the avatarcast binary, a real nginx-rtmp
//! on loopback (started and stopped by pid), and ffprobe/ffmpeg to see what arrived.
#![allow(dead_code)]

pub mod clip;
pub mod presenter;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The avatarcast binary, run from the repository root (where config/ and models/ are).
pub fn avatarcast() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_avatarcast"));
    c.current_dir(repo()).env("RUST_LOG", "info");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run command")
}

/// The demo config with `edit` applied, written to `dir`.
pub fn demo_config_with(dir: &Path, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let demo = std::fs::read_to_string(repo().join("config/demo.toml")).unwrap();
    let edited = edit(demo.clone());
    assert_ne!(edited, demo, "the edit changed nothing");
    let path = dir.join(name);
    std::fs::write(&path, edited).unwrap();
    path
}

/// The demo config playing `show` (a show file's text, written to `dir`) instead
/// of the demo show, then `edit` applied.
pub fn config_with_show(dir: &Path, show: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let show_path = dir.join("show.toml");
    std::fs::write(&show_path, show).unwrap();
    demo_config_with(dir, "c.toml", |s| edit(s.replace("config/demo-show.toml", show_path.to_str().unwrap())))
}

/// A config edit that writes the transcript to `path`.
pub fn transcript_to(path: &Path) -> impl FnOnce(String) -> String + '_ {
    move |s: String| s.replace("transcript = \"out/transcript.jsonl\"", &format!("transcript = \"{}\"", path.display()))
}

/// Builds localhost/avatarcast:latest with scripts/image.sh around the binary cargo
/// built for these tests (IMAGE_CARGO=skip: a plain `cargo build` there would compile
/// much of the crate again, its features unified without the tests' dependencies).
pub fn build_image() -> String {
    assert_eq!(PathBuf::from(env!("CARGO_BIN_EXE_avatarcast")), repo().join("target/release/avatarcast"), "run the container tests with `cargo test --release`");
    let built = Command::new("bash").arg(repo().join("scripts/image.sh")).env("IMAGE_CARGO", "skip").current_dir(repo()).output().unwrap();
    let log = text(&built);
    assert!(built.status.success(), "scripts/image.sh:\n{log}");
    log
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A log line without its terminal colour codes.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // ESC [ parameters m
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A fresh temporary directory under target/, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let p = std::env::temp_dir().join(format!("avatarcast-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A failing test leaves its files (logs, recordings) to look at; so does any
        // test run with AVATARCAST_KEEP_TEST_DIRS set.
        if std::thread::panicking() || std::env::var_os("AVATARCAST_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept for inspection: {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// nginx with the RTMP module, listening on 127.0.0.1 only.
pub struct Nginx {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = TempDir::new("nginx");
        let port = free_port();
        std::fs::create_dir_all(dir.path().join("rec")).unwrap();
        let template = std::fs::read_to_string(repo().join("tests/nginx/nginx.conf.in")).unwrap();
        let conf = template.replace("{dir}", &dir.path().display().to_string()).replace("{port}", &port.to_string());
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let mut nginx = Nginx { child: None, port, dir };
        nginx.restart();
        nginx
    }

    /// Starts the server (again) on the same port, with the same recordings folder.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "nginx is running");
        let dir = self.dir.path().display().to_string();
        let child = Command::new("nginx")
            .args(["-p", &dir, "-e", &self.dir.path().join("error.log").display().to_string()])
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx not installed: run `bash scripts/setup.sh`");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start: {}", Self::log(&self.dir));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server outright (SIGKILL, by pid): connections drop as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    fn log(dir: &TempDir) -> String {
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// FLV files nginx recorded.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "flv"))
            .collect();
        v.sort();
        v
    }

    pub fn stop(&mut self) {
        // By pid, as the test started it.
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

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

/// The mouth interior colour of the built-in host (assets/avatars/cartoon-host/mouth-*.svg).
pub const MOUTH_INTERIOR: [u8; 3] = [0x7a, 0x10, 0x30];

/// How far open the mouth is in each decoded frame: pixels of the mouth-interior colour
/// in a box around the mouth.
pub fn mouth_openness(file: &Path, width: u32, height: u32) -> Vec<u32> {
    let avatar = avatarcast::avatar::SpriteAvatar::load(&repo().join("assets/avatars/cartoon-host"), width, height, 25).unwrap();
    let (mx, my) = avatar.mouth_position();
    let scale = avatar.placement().scale;
    let (bw, bh) = ((120.0 * scale) as u32 & !1, (90.0 * scale) as u32 & !1);
    let (x, y) = ((mx - bw as f32 / 2.0) as u32, (my - bh as f32 / 2.0) as u32);
    decode_video_crop(file, x, y, bw, bh)
        .iter()
        .map(|f| {
            f.chunks_exact(3)
                .filter(|p| {
                    let d: i32 = (0..3).map(|i| (p[i] as i32 - MOUTH_INTERIOR[i] as i32).pow(2)).sum();
                    d < 45 * 45
                })
                .count() as u32
        })
        .collect()
}

/// Speech level per video frame: RMS of the audio that plays during each frame.
pub fn audio_level_per_frame(audio: &[i16], audio_start: f64, video_start: f64, fps: f64, frames: usize) -> Vec<f64> {
    (0..frames)
        .map(|i| {
            let t = video_start + i as f64 / fps - audio_start;
            let a = (t * 48000.0).round().max(0.0) as usize;
            let b = ((t + 1.0 / fps) * 48000.0).round().max(0.0) as usize;
            let w = &audio[a.min(audio.len())..b.min(audio.len())];
            if w.is_empty() {
                return 0.0;
            }
            (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
        })
        .collect()
}

pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa.sqrt() * sbb.sqrt()).max(1e-12)
}

/// The lag (in frames, -max..=max) at which mouth openness best follows the speech
/// level: positive when the mouth moves after the sound.
pub fn best_lag(openness: &[f64], level: &[f64], max: i64) -> (i64, f64) {
    let n = openness.len().min(level.len()) as i64;
    (-max..=max)
        .map(|lag| {
            let (o, l): (Vec<f64>, Vec<f64>) = (max..n - max).map(|i| (openness[(i + lag) as usize], level[i as usize])).unzip();
            (lag, pearson(&o, &l))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

/// Checks on the decoded output (not internal state) that the host's mouth moves while
/// there is speech, rests in silence, and moves in step with the sound (within one
/// frame). Returns (best lag in frames, correlation) for the test's message.
pub fn assert_mouth_follows_speech(file: &Path, width: u32, height: u32, fps: f64) -> (i64, f64) {
    let open: Vec<f64> = mouth_openness(file, width, height).into_iter().map(|c| c as f64).collect();
    assert_openness_follows_speech(&open, 12.0, file, fps)
}

/// As `assert_mouth_follows_speech`, for any measure of openness per decoded frame;
/// above `open_above` counts as open.
pub fn assert_openness_follows_speech(open: &[f64], open_above: f64, file: &Path, fps: f64) -> (i64, f64) {
    let (v, a) = (packets(file, "v"), packets(file, "a"));
    let audio = decode_audio(file);
    let level = audio_level_per_frame(&audio, a[0].pts, v[0].pts, fps, open.len());
    assert!(open.len() as f64 > fps * 5.0, "too few decoded frames: {}", open.len());

    let is_open = |o: f64| o > open_above;
    let speech: Vec<usize> = (0..open.len()).filter(|&i| level[i] > 300.0).collect();
    // Silence: the digital silence between lines (decoded AAC leaves a level of 0-3)
    // within 3 frames either side. A quiet stop consonant inside a word (level ~20) is
    // speech, with its own mouth shape.
    let silence: Vec<usize> = (3..open.len().saturating_sub(3)).filter(|&i| level[i - 3..=i + 3].iter().all(|&l| l < 8.0)).collect();
    assert!(speech.len() as f64 > fps * 2.0, "too little speech in the output ({} frames)", speech.len());
    assert!(silence.len() as f64 > fps * 0.5, "no silence between lines in the output ({} frames)", silence.len());

    let open_in_speech = speech.iter().filter(|&&i| is_open(open[i])).count() as f64 / speech.len() as f64;
    let open_in_silence = silence.iter().filter(|&&i| is_open(open[i])).count() as f64 / silence.len() as f64;
    assert!(open_in_speech > 0.5, "mouth open in only {:.0}% of speech frames", open_in_speech * 100.0);
    assert!(open_in_silence < 0.02, "mouth open in {:.0}% of silent frames", open_in_silence * 100.0);

    // Open/closed against sound/no sound, compared at shifts of up to 6 frames: the best
    // match must be within one frame.
    let open_bin: Vec<f64> = open.iter().map(|&o| f64::from(u8::from(is_open(o)))).collect();
    let sound_bin: Vec<f64> = level.iter().map(|&l| f64::from(u8::from(l > 300.0))).collect();
    let (lag, r) = best_lag(&open_bin, &sound_bin, 6);
    assert!(lag.abs() <= 1, "mouth motion is {lag} frames off the sound (r = {r:.2})");
    assert!(r > 0.4, "mouth motion hardly follows the sound (r = {r:.2} at lag {lag})");
    (lag, r)
}

/// The renderer kept time: a network output that blocks it would make frames seconds
/// late, while a busy 2-core CI machine may make a frame or two a few tens of ms late.
/// Reads the "N late frames (worst X ms late), M picture frames dropped" that a live
/// run ends with.
pub fn assert_renderer_kept_time(log: &str) {
    let done = log.lines().find(|l| l.starts_with("done:")).unwrap_or_else(|| panic!("no done line: {log}"));
    let number_before = |suffix: &str| -> f64 {
        let head = &done[..done.find(suffix).unwrap_or_else(|| panic!("no '{suffix}' in {done}"))];
        head.rsplit(|c: char| c == ' ' || c == '(').next().unwrap().parse().unwrap()
    };
    let frames = number_before(" frames)");
    let late = number_before(" late frames");
    let worst = number_before(" ms late)");
    let dropped = number_before(" picture frames dropped");
    assert!(late <= (frames / 100.0).max(3.0) && worst < 400.0 && dropped <= (frames / 100.0).max(3.0), "the renderer fell behind: {done}");
}

/// The log (ANSI colours taken out) of a run whose output `kind` (as its name in the
/// log begins: `SRT`, `WHIP`) went live, failed saying `lost` and was retried, and
/// went live again.
pub fn assert_came_back(log: &str, kind: &str, lost: &str) -> Vec<String> {
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    let live = lines.iter().filter(|l| l.contains("output live") && l.contains(&format!("output={kind}"))).count();
    assert_eq!(live, 2, "live, lost, live again: {log}");
    assert!(lines.iter().any(|l| l.contains(lost) && l.contains("retrying in")), "no `{lost}` retried: {log}");
    lines
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

/// A minimal HTTP/1.1 client over std (one request per connection): status, body.
pub fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    try_http(port, method, path, headers, body).unwrap_or_else(|raw| panic!("no HTTP response: {raw:?}"))
}

/// One request; Err(what came back) when no HTTP response did (a server still starting).
pub fn try_http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Result<(u16, Vec<u8>), Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|_| Vec::new())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let _ = s.write_all(body); // the server may answer (413) before reading it all
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return Err(raw) };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("status code");
    let mut body = raw[head_end + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
    out
}

pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let (status, body) = http(port, "GET", path, &[], b"");
    assert_eq!(status, 200, "GET {path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON body")
}

pub fn post_json(port: u16, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let (status, body) = http(port, "POST", path, &[("Content-Type", "application/json")], body.to_string().as_bytes());
    (status, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null))
}

/// `avatarcast live` in the background with its control API on a free port; killed
/// by pid on drop if still running.
pub struct LiveRun {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl LiveRun {
    pub fn start(config: &Path, extra: &[&str], log: PathBuf) -> LiveRun {
        Self::start_with_token(config, "", extra, log)
    }

    /// As `start`, for an API that wants `token` (empty: none).
    pub fn start_with_token(config: &Path, token: &str, extra: &[&str], log: PathBuf) -> LiveRun {
        Self::start_with(config, token, &[], extra, log)
    }

    /// As `start_with_token`, with environment variables for the process.
    pub fn start_with(config: &Path, token: &str, env: &[(&str, &str)], extra: &[&str], log: PathBuf) -> LiveRun {
        let auth = format!("Bearer {token}");
        let headers: Vec<(&str, &str)> = if token.is_empty() { vec![] } else { vec![("Authorization", auth.as_str())] };
        let port = free_port();
        let child = avatarcast()
            .args(["live", "--config"])
            .arg(config)
            .args(["--api", &format!("127.0.0.1:{port}")])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let run = LiveRun { child, port, log };
        let started = Instant::now();
        loop {
            // Not ready yet: nothing listening, or no answer from a server still starting.
            if let Ok((status, body)) = try_http(port, "GET", "/v1/status", &headers, b"") {
                if status == 200 && serde_json::from_slice::<serde_json::Value>(&body).unwrap()["frames_rendered"].as_u64() > Some(0) {
                    return run;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "live did not start:\n{}", run.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stream seconds so far.
    pub fn stream_seconds(&self) -> f64 {
        get_json(self.port, "/v1/status")["stream_seconds"].as_f64().unwrap()
    }

    /// Waits for the process to end by itself (its --duration).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "live did not end:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill").arg(self.child.id().to_string()).status();
            let _ = self.child.wait();
        }
    }
}

/// Transcript lines (JSON objects), in order.
pub fn transcript(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("transcript line is JSON"))
        .collect()
}

/// Polls `cond` every 50 ms up to `timeout`.
pub fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A WebSocket client over std, enough to read a server's text messages.
pub struct WsClient {
    stream: TcpStream,
}

impl WsClient {
    pub fn connect(port: u16, path: &str) -> WsClient {
        use std::io::{Read, Write};
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "no WebSocket upgrade: {head}");
        WsClient { stream }
    }

    /// Sends a text message (client frames are masked, as the protocol requires).
    pub fn send_text(&mut self, text: &str) {
        use std::io::Write;
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).unwrap();
    }

    /// The next text message, or None after `timeout`.
    pub fn next_text(&mut self, timeout: Duration) -> Option<String> {
        use std::io::Read;
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        loop {
            let mut h = [0u8; 2];
            self.stream.read_exact(&mut h).ok()?;
            let mut len = (h[1] & 0x7f) as u64;
            if len == 126 {
                let mut b = [0u8; 2];
                self.stream.read_exact(&mut b).ok()?;
                len = u16::from_be_bytes(b) as u64;
            } else if len == 127 {
                let mut b = [0u8; 8];
                self.stream.read_exact(&mut b).ok()?;
                len = u64::from_be_bytes(b);
            }
            let mut payload = vec![0u8; len as usize];
            self.stream.read_exact(&mut payload).ok()?;
            if h[0] & 0x0f == 0x1 {
                return Some(String::from_utf8(payload).unwrap());
            }
        }
    }
}

/// Headless Chromium driven over the DevTools protocol; stopped by pid on drop.
pub struct Browser {
    child: Child,
    ws: WsClient,
    next_id: u64,
    _profile: TempDir,
}

impl Browser {
    pub fn start() -> Browser {
        let profile = TempDir::new("chromium");
        let port = free_port();
        let child = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--autoplay-policy=no-user-gesture-required",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,1000",
                &format!("--remote-debugging-port={port}"),
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium not installed: run `bash scripts/setup.sh`");
        let started = Instant::now();
        let page = loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let (status, body) = http(port, "GET", "/json/list", &[], b"");
                if status == 200 {
                    let targets: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    if let Some(url) = targets.as_array().and_then(|t| t.iter().find(|t| t["type"] == "page")).and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
                        break url.to_string();
                    }
                }
            }
            assert!(started.elapsed() < Duration::from_secs(30), "chromium did not start");
            std::thread::sleep(Duration::from_millis(100));
        };
        let path = page.splitn(4, '/').nth(3).map(|p| format!("/{p}")).expect("devtools path");
        let ws = WsClient::connect(port, &path);
        Browser { child, ws, next_id: 0, _profile: profile }
    }

    /// Sends a DevTools command and returns its result.
    pub fn call(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        self.ws.send_text(&serde_json::json!({ "id": id, "method": method, "params": params }).to_string());
        loop {
            let text = self.ws.next_text(Duration::from_secs(30)).unwrap_or_else(|| panic!("no answer to {method}"));
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Evaluates JavaScript in the page and returns its value.
    pub fn eval(&mut self, js: &str) -> serde_json::Value {
        let r = self.call("Runtime.evaluate", serde_json::json!({ "expression": js, "returnByValue": true, "awaitPromise": true }));
        r["result"]["value"].clone()
    }

    /// Clicks the middle of the element `selector`, as a mouse would.
    pub fn click(&mut self, selector: &str) {
        let r = self.eval(&format!(
            "(() => {{ const b = document.querySelector({selector:?}).getBoundingClientRect(); return [b.x + b.width / 2, b.y + b.height / 2]; }})()"
        ));
        let (x, y) = (r[0].as_f64().unwrap(), r[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call("Input.dispatchMouseEvent", serde_json::json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }));
        }
    }

    /// Types into the element `selector` (focused first), as a keyboard would.
    pub fn type_into(&mut self, selector: &str, text: &str) {
        self.click(selector);
        self.call("Input.insertText", serde_json::json!({ "text": text }));
    }

    pub fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", serde_json::json!({ "format": "png" }));
        let data = r["data"].as_str().unwrap();
        std::fs::write(path, base64_decode(data)).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).map(val).collect();
    bytes
        .chunks(4)
        .flat_map(|c| {
            let n = c.iter().enumerate().fold(0u32, |n, (i, &v)| n | (v as u32) << (18 - 6 * i));
            let out = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.into_iter().take(c.len() - 1)
        })
        .collect()
}

/// The demo config drawing its latency marker (video.latency_marker), written to `dir`.
pub fn latency_marker_config(dir: &Path) -> PathBuf {
    demo_config_with(dir, "latency.toml", |c| {
        transcript_to(&dir.join("t.jsonl"))(c).replace("keyframe_seconds = 2", "keyframe_seconds = 2\nlatency_marker = true")
    })
}

/// What a headless Chromium on /player?latency saw of the WHEP stream.
#[derive(Debug, serde::Serialize)]
pub struct WhepFigures {
    pub seconds: f64,
    pub fps: f64,
    pub audio_rate: f64,
    pub audio_energy: f64,
    pub latency_samples: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

const WHEP_STATS: &str = r#"(async () => {
  const r = { video: 0, audio: 0, audioEnergy: 0 };
  (await player.pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') r.video = s.framesDecoded;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') { r.audio = s.totalSamplesReceived; r.audioEnergy = s.totalAudioEnergy; }
  });
  r.t = performance.now();
  return r;
})()"#;

impl WhepFigures {
    /// Opens the player page on a live run's API `port`, waits for playback, lets it
    /// settle and measures for `window`: decoded frames per second from the browser's
    /// own stats, audio samples, and glass-to-glass latency from the marker.
    pub fn measure(port: u16, window: Duration) -> (Browser, WhepFigures) {
        let mut browser = Browser::start();
        browser.call("Page.enable", serde_json::json!({}));
        browser.call("Page.navigate", serde_json::json!({ "url": format!("http://127.0.0.1:{port}/player?latency") }));
        let started = Instant::now();
        while browser.eval("window.player ? player.state + ' ' + player.markerFrames : ''").as_str().is_none_or(|s| !s.starts_with("playing") || s.ends_with(" 0")) {
            assert!(started.elapsed() < Duration::from_secs(20), "not playing: {}", browser.eval("window.player && player.state"));
            std::thread::sleep(Duration::from_millis(100));
        }
        std::thread::sleep(Duration::from_secs(2));
        browser.eval("player.latencies = []");
        let a = browser.eval(WHEP_STATS);
        std::thread::sleep(window);
        let b = browser.eval(WHEP_STATS);
        let delta = |k: &str| b[k].as_f64().unwrap_or(0.0) - a[k].as_f64().unwrap_or(0.0);
        let seconds = delta("t") / 1000.0;
        let mut latencies: Vec<f64> = serde_json::from_value(browser.eval("player.latencies")).unwrap_or_default();
        latencies.sort_by(f64::total_cmp);
        assert!(latencies.len() as f64 >= 20.0 * seconds * 0.9, "{} marker reads in {seconds:.1} s", latencies.len());
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        let figures = WhepFigures {
            seconds,
            fps: delta("video") / seconds,
            audio_rate: delta("audio") / seconds,
            audio_energy: delta("audioEnergy"),
            latency_samples: latencies.len(),
            median_ms: at(0.5),
            p95_ms: at(0.95),
            max_ms: at(1.0),
        };
        (browser, figures)
    }
}
