//! Headless Chromium over the DevTools protocol, and what it sees of the WHEP preview.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TempDir, WsClient, demo_config_with, free_port, http, transcript_to};

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
