//! WebRTC playback over WHEP in headless Chromium: the player page decodes at least
//! 20 frames per second with audio, glass-to-glass latency on loopback (the stream's
//! clock drawn into the picture, read back by the page) is under 500 ms, and the
//! session ends with DELETE on its Location.

mod common;

use std::time::{Duration, Instant};

use common::*;

const STATS: &str = r#"(async () => {
  const r = { video: 0, audio: 0, audioEnergy: 0 };
  (await player.pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') r.video = s.framesDecoded;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') { r.audio = s.totalSamplesReceived; r.audioEnergy = s.totalAudioEnergy; }
  });
  r.t = performance.now();
  return r;
})()"#;

#[test]
fn a_browser_plays_the_stream_over_whep_with_low_latency() {
    let dir = TempDir::new("whep");
    let config = demo_config_with(dir.path(), "c.toml", |c| {
        transcript_to(&dir.path().join("t.jsonl"))(c).replace("keyframe_seconds = 2", "keyframe_seconds = 2\nlatency_marker = true")
    });
    let live = LiveRun::start(&config, &["--duration", "60s", "--output", dir.path().join("o.mkv").to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;

    // The protocol's edges, before a browser comes.
    let (status, _) = http(port, "POST", "/v1/whep", &[("Content-Type", "application/json")], b"{}");
    assert_eq!(status, 415);
    let (status, body) = http(port, "POST", "/v1/whep", &[("Content-Type", "application/sdp")], b"v=0 nonsense");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, _) = http(port, "DELETE", "/v1/whep/nobody", &[], b"");
    assert_eq!(status, 404);

    let mut browser = Browser::start();
    browser.call("Page.enable", serde_json::json!({}));
    browser.call("Page.navigate", serde_json::json!({ "url": format!("http://127.0.0.1:{port}/player?latency") }));
    let started = Instant::now();
    while browser.eval("window.player ? player.state + ' ' + player.markerFrames : ''").as_str().is_none_or(|s| !s.starts_with("playing") || s.ends_with(" 0")) {
        assert!(started.elapsed() < Duration::from_secs(20), "not playing: {}\n{}", browser.eval("window.player && player.state"), live.log_text());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(get_json(port, "/v1/status")["webrtc_viewers"], 1);

    // Let playback settle, then measure over 8 s.
    std::thread::sleep(Duration::from_secs(2));
    browser.eval("player.latencies = []");
    let a = browser.eval(STATS);
    std::thread::sleep(Duration::from_secs(8));
    let b = browser.eval(STATS);
    let seconds = (b["t"].as_f64().unwrap() - a["t"].as_f64().unwrap()) / 1000.0;
    let fps = (b["video"].as_f64().unwrap() - a["video"].as_f64().unwrap()) / seconds;
    let audio_rate = (b["audio"].as_f64().unwrap() - a["audio"].as_f64().unwrap()) / seconds;
    let energy = b["audioEnergy"].as_f64().unwrap() - a["audioEnergy"].as_f64().unwrap();
    let mut latencies: Vec<f64> = serde_json::from_value(browser.eval("player.latencies")).unwrap();
    latencies.sort_by(f64::total_cmp);
    assert!(latencies.len() as f64 >= 20.0 * seconds * 0.9, "{} marker reads in {seconds:.1} s", latencies.len());
    let (median, p95) = (latencies[latencies.len() / 2], latencies[latencies.len() * 95 / 100]);
    eprintln!("WHEP in Chromium: {fps:.1} frames/s decoded, audio {audio_rate:.0} samples/s, latency median {median:.0} ms, p95 {p95:.0} ms");
    assert!(fps >= 20.0, "decoded {fps:.1} frames/s");
    assert!(audio_rate > 40_000.0 && energy > 0.0, "audio: {audio_rate:.0} samples/s, energy {energy}");
    assert!(median < 500.0, "glass-to-glass latency median {median:.0} ms");

    // Leaving: the page DELETEs its session.
    browser.eval("player.stop()");
    wait_for(Duration::from_secs(5), "the viewer gone", || get_json(port, "/v1/status")["webrtc_viewers"] == 0);
}
