//! GET /v1/events is a WebSocket of what happens on air: lines starting and
//! finishing with their word timings, scene changes, errors.

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

#[test]
fn events_tell_lines_with_word_timings_and_scene_changes() {
    let dir = TempDir::new("events");
    let live = LiveRun::start(&repo().join("config/demo.toml"), &["--duration", "30s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let mut ws = WsClient::connect(live.port, "/v1/events");
    let (status, body) = post_json(live.port, "/v1/say", &json!({"text": "Welcome to everyone who just joined.", "priority": "urgent"}));
    assert_eq!(status, 202);
    let id = body["id"].as_u64().unwrap();
    let (status, _) = http(live.port, "PUT", "/v1/scene", &[("Content-Type", "application/json")], br#"{"background": "night"}"#);
    assert_eq!(status, 202);

    let mut seen: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let Some(text) = ws.next_text(Duration::from_secs(1)) else { continue };
        let e: Value = serde_json::from_str(&text).expect("events are JSON");
        let done = e["type"] == "line_finished" && e["id"] == id;
        seen.push(e);
        if done {
            break;
        }
    }
    let started = seen.iter().find(|e| e["type"] == "line_started" && e["id"] == id).unwrap_or_else(|| panic!("{seen:#?}"));
    assert_eq!(started["source"], "urgent");
    assert_eq!(started["text"], "Welcome to everyone who just joined.");
    let words = started["words"].as_array().unwrap();
    assert_eq!(words.len(), 6, "{words:?}");
    let t0 = started["start"].as_f64().unwrap();
    for w in words.windows(2) {
        assert!(w[0]["end"].as_f64() <= w[1]["start"].as_f64());
    }
    assert!(words[0]["start"].as_f64().unwrap() >= t0);
    let finished = seen.iter().find(|e| e["type"] == "line_finished" && e["id"] == id).unwrap_or_else(|| panic!("{seen:#?}"));
    assert!(finished["end"].as_f64().unwrap() >= words.last().unwrap()["end"].as_f64().unwrap());
    assert!(seen.iter().any(|e| e["type"] == "scene" && e["change"]["background"]["name"] == "night"), "{seen:#?}");
}
