//! WebRTC playback over WHEP in headless Chromium: the player page decodes at least
//! 20 frames per second with audio, glass-to-glass latency on loopback (the stream's
//! clock drawn into the picture, read back by the page) is under 500 ms, and the
//! session ends with DELETE on its Location.

use std::time::Duration;

use common::*;

#[test]
fn a_browser_plays_the_stream_over_whep_with_low_latency() {
    let dir = TempDir::new("whep");
    let config = latency_marker_config(dir.path());
    let live = LiveRun::start(&config, &["--duration", "60s", "--output", dir.path().join("o.mkv").to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;

    // The protocol's edges, before a browser comes.
    let (status, _) = http(port, "POST", "/v1/whep", &[("Content-Type", "application/json")], b"{}");
    assert_eq!(status, 415);
    let (status, body) = http(port, "POST", "/v1/whep", &[("Content-Type", "application/sdp")], b"v=0 nonsense");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    let (status, _) = http(port, "DELETE", "/v1/whep/nobody", &[], b"");
    assert_eq!(status, 404);

    let (mut browser, figures) = WhepFigures::measure(port, Duration::from_secs(8));
    let WhepFigures { fps, audio_rate, audio_energy, median_ms, p95_ms, .. } = figures;
    eprintln!("WHEP in Chromium: {fps:.1} frames/s decoded, audio {audio_rate:.0} samples/s, latency median {median_ms:.0} ms, p95 {p95_ms:.0} ms");
    assert!(fps >= 20.0, "decoded {fps:.1} frames/s");
    assert!(audio_rate > 40_000.0 && audio_energy > 0.0, "audio: {audio_rate:.0} samples/s, energy {audio_energy}");
    assert!(median_ms < 500.0, "glass-to-glass latency median {median_ms:.0} ms");

    // Leaving: the page DELETEs its session.
    browser.eval("player.stop()");
    wait_for(Duration::from_secs(5), "the viewer gone", || get_json(port, "/v1/status")["webrtc_viewers"] == 0);
}
