//! Voices by name: a show speaks in its voice, a segment in its own, an inserted line
//! in the one it asks for ([voices.NAME] of any engine, with its own pitch); a voice
//! nobody has is refused, in the show file at start and in the API.

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const SHOW: &str = r#"[[products]]
id = "mug"
name = "Cosy Mug"
price = "$12"
pitches = ["This mug keeps your tea warm."]

[[segments]]
product = "mug"

[[segments]]
text = "I am the robot voice."
voice = "robot"
"#;

fn config(dir: &std::path::Path, show: &str) -> std::path::PathBuf {
    config_with_show(dir, show, |c| {
        transcript_to(&dir.join("t.jsonl"))(c) + "\n[voices.robot]\nengine = \"espeak\"\nlanguage = \"en-us\"\npitch = 30\n"
    })
}

#[test]
fn shows_segments_and_lines_speak_in_their_voices() {
    let dir = TempDir::new("voices");
    let live = LiveRun::start(&config(dir.path(), SHOW), &["--duration", "40s", "--output", dir.path().join("o.mkv").to_str().unwrap()], dir.path().join("live.log"));
    let mut ws = WsClient::connect(live.port, "/v1/events");
    let (status, body) = post_json(live.port, "/v1/say", &json!({"text": "Hello from the robot.", "voice": "robot"}));
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_u64().unwrap();
    let (status, body) = post_json(live.port, "/v1/say", &json!({"text": "Hi.", "voice": "nobody"}));
    assert_eq!((status, body["field"].as_str()), (422, Some("voice")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("robot"), "{body}");

    let mut started: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(text) = ws.next_text(Duration::from_secs(1)) else { continue };
        let e: Value = serde_json::from_str(&text).unwrap();
        if e["type"] == "line_started" {
            started.push(e);
        }
        let voice_of = |needle: &str| started.iter().find(|e| e["text"].as_str().unwrap().contains(needle)).map(|e| e["voice"].clone());
        if voice_of("robot voice").is_some() && voice_of("tea warm").is_some() && started.iter().any(|e| e["id"] == id) {
            assert_eq!(voice_of("robot voice").unwrap(), "robot", "{started:#?}");
            assert_eq!(voice_of("tea warm").unwrap(), "default", "{started:#?}");
            assert_eq!(started.iter().find(|e| e["id"] == id).unwrap()["voice"], "robot");
            return;
        }
    }
    panic!("not every voice was heard: {started:#?}");
}

#[test]
fn a_voice_nobody_has_is_refused_at_start() {
    let dir = TempDir::new("voices-bad");
    let show = SHOW.replace("voice = \"robot\"", "voice = \"nobody\"");
    let out = run(avatarcast().args(["live", "--duration", "5s", "--config"]).arg(config(dir.path(), &show)).arg("--output").arg(dir.path().join("o.mkv")));
    let msg = text(&out);
    assert!(!out.status.success() && msg.contains("voice `nobody`") && msg.contains("robot") && msg.contains("show.toml"), "{msg}");
}
