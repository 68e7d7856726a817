//! Gestures of a sprite pack: `POST /v1/gesture` raises the built-in host's arm to wave
//! (seen on the decoded stream, blended in and back out), an unknown name is refused
//! with the pack's list, and an unknown name in show markup is logged while the stream
//! goes on.

use std::time::Duration;

use common::*;
use serde_json::json;

/// The raised arm's sleeve (assets/avatars/cartoon-host/body-wave.svg).
const SLEEVE: [u8; 3] = [0x2c, 0x57, 0x91];

#[test]
fn a_wave_from_the_api_shows_and_unknown_names_are_reported() {
    let dir = TempDir::new("sprite-gestures");
    let show = "[[segments]]\ntext = \"Hello there. [gesture moonwalk]I keep talking while you watch, and nothing stops the show.\"\n";
    let config = config_with_show(dir.path(), show, |c| c.replace("captions = true", "captions = false"));
    let video = dir.path().join("out.mkv");
    let mut live = LiveRun::start(&config, &["--duration", "10s", "--output", video.to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;
    let status = get_json(port, "/v1/status");
    assert_eq!(status["avatar"]["gestures"], json!(["nod", "point", "shake", "tilt", "wave"]), "{status}");
    wait_for(Duration::from_secs(20), "3 s of stream", || live.stream_seconds() > 3.0);

    let post = |body: serde_json::Value| {
        let (status, resp) = http(port, "POST", "/v1/gesture", &[("Content-Type", "application/json")], body.to_string().as_bytes());
        (status, String::from_utf8_lossy(&resp).into_owned())
    };
    let (code, body) = post(json!({"name": "moonwalk"}));
    assert!(code == 422 && body.contains("it has: nod, point, shake, tilt, wave") && body.contains("\"field\":\"name\""), "{code} {body}");
    let asked_at = live.stream_seconds();
    let (code, body) = post(json!({"name": "wave"}));
    assert_eq!(code, 202, "{body}");
    assert!(live.wait().success(), "{}", live.log_text());
    let log = live.log_text();
    assert!(log.contains("gesture `moonwalk` is not in avatar pack Mia"), "{log}");

    // Beside the head, where the raised arm goes (half-body framing: canvas = frame).
    let arm: Vec<usize> = decode_video_crop(&video, 664, 760, 32, 140)
        .iter()
        .map(|f| f.chunks_exact(3).filter(|p| near(p, SLEEVE, 40)).count())
        .collect();
    let up: Vec<usize> = (0..arm.len()).filter(|&i| arm[i] > 32 * 140 / 2).collect();
    assert!(!up.is_empty(), "the arm never rose");
    let (from, to) = (up[0], *up.last().unwrap());
    assert_eq!(up.len(), to - from + 1, "the arm flickered");
    let asked = (asked_at * 25.0) as usize;
    assert!(from + 2 >= asked && from <= asked + 15, "the arm rose at frame {from}, asked near frame {asked}");
    // Held about 2 s (seconds = 2.0, blends included), then gone.
    let held = (to - from + 1) as f64 / 25.0;
    assert!((1.5..=2.1).contains(&held), "held {held:.2} s");
    assert!(arm[to + 10] == 0 && arm[from.saturating_sub(10)] == 0, "the arm stays up outside the gesture");
}
