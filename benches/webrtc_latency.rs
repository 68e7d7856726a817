//! `cargo bench --bench webrtc_latency`: glass-to-glass latency of the WebRTC (WHEP)
//! path. A live run draws its clock into each frame (video.latency_marker); headless
//! Chromium plays /player?latency, reads the clock back from every decoded frame
//! and compares it with its own at display time. Prints one JSON object.

use std::time::Duration;

fn main() {
    let dir = common::TempDir::new("latency-bench");
    let config = common::latency_marker_config(dir.path());
    let out = dir.path().join("o.mkv");
    let live = common::LiveRun::start(&config, &["--duration", "60s", "--output", out.to_str().unwrap()], dir.path().join("live.log"));
    let (_browser, figures) = common::WhepFigures::measure(live.port, Duration::from_secs(20));
    let status = common::get_json(live.port, "/v1/status");
    let report = serde_json::json!({
        "webrtc_glass_to_glass_ms": { "median": figures.median_ms, "p95": figures.p95_ms, "max": figures.max_ms },
        "webrtc_decoded_fps": figures.fps,
        "webrtc_audio_samples_per_s": figures.audio_rate,
        "samples": figures.latency_samples,
        "late_frames": status["late_frames"],
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
}
