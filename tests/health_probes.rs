//! The orchestrator's probes: /healthz says whether the render loop is advancing and
//! /readyz whether frames are going out; neither needs the API token nor depends on
//! an ingest being reachable. A render loop that stops (a test hook wedges it at a
//! frame) turns both to 503 within a few seconds, while the API still answers.

use std::time::{Duration, Instant};

use common::*;

fn probe(port: u16, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = http(port, "GET", path, &[], b"");
    (status, serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&body))))
}

#[test]
fn probes_follow_the_render_loop_not_the_ingest() {
    let dir = TempDir::new("probes");
    // The API wants a token; the RTMP ingest is a port nobody listens on.
    let config = demo_config_with(dir.path(), "c.toml", |c| c.replace("[avatar]", "[api]\ntoken = \"probe-test-token-0123\"\n\n[avatar]"));
    let ingest = format!("rtmp://127.0.0.1:{}/live/key", free_port());
    let stall_frame = 150;
    let mut live = LiveRun::start_with(
        &config,
        "probe-test-token-0123",
        &[("AVATARCAST_TEST_STALL_AT_FRAME", &stall_frame.to_string())],
        &["--duration", "60s", "--output", &ingest],
        dir.path().join("live.log"),
    );
    let port = live.port;

    // Running, with an ingest that refuses every connection: alive and ready.
    let (status, body) = probe(port, "/healthz");
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");
    let (status, body) = probe(port, "/readyz");
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "{body}");
    let (status, _) = http(port, "GET", "/v1/status", &[], b"");
    assert_eq!(status, 401, "other routes still want the token");

    // The loop stops at frame 150 (6 s of stream); within 5 s more both probes fail.
    let started = Instant::now();
    let stalled_at = loop {
        let (status, body) = probe(port, "/healthz");
        if status == 503 {
            assert_eq!(body["status"], "stalled", "{body}");
            assert!(body["error"].as_str().unwrap().contains("render loop has not advanced"), "{body}");
            break started.elapsed();
        }
        assert_eq!(status, 200, "{body}");
        assert!(started.elapsed() < Duration::from_secs(30), "/healthz never failed:\n{}", live.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    let (status, body) = probe(port, "/readyz");
    assert_eq!((status, body["status"].as_str()), (503, Some("stalled")), "{body}");
    let log = live.log_text();
    assert!(log.contains("AVATARCAST_TEST_STALL_AT_FRAME"), "the hook fired:\n{log}");
    let (_, body) = http(port, "GET", "/v1/status", &[("Authorization", "Bearer probe-test-token-0123")], b"");
    let frames = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["frames_rendered"].as_u64().unwrap();
    assert!(frames <= stall_frame, "{frames} frames out past the stall");
    eprintln!("healthz failed {:.1} s after polling began", stalled_at.as_secs_f64());
    live.child.kill().unwrap();
    live.child.wait().unwrap();
}
