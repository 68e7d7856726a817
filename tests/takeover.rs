//! A takeover line replaces the show until it is released: the host says it, then
//! idles in silence (no show lines) until DELETE /v1/takeover, when the show resumes.

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn takeover_holds_the_show_until_released() {
    let dir = TempDir::new("takeover");
    let transcript_path = dir.path().join("transcript.jsonl");
    let config = demo_config_with(dir.path(), "c.toml", transcript_to(&transcript_path));
    let mut live = LiveRun::start(&config, &["--duration", "26s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;
    wait_for(Duration::from_secs(20), "the show on air", || get_json(port, "/v1/status")["now_playing"]["source"] == "show");

    let (status, body) = post_json(port, "/v1/say", &json!({"text": "We interrupt the show for a special announcement.", "priority": "takeover"}));
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_u64().unwrap();
    wait_for(Duration::from_secs(10), "the takeover line done", || get_json(port, &format!("/v1/lines/{id}"))["state"] == "done");

    // The show stays off the air.
    std::thread::sleep(Duration::from_secs(3));
    let status = get_json(port, "/v1/status");
    assert_eq!(status["takeover"], true, "{status}");
    assert!(status["now_playing"].is_null(), "{status}");

    let (code, _) = http(port, "DELETE", "/v1/takeover", &[], b"");
    assert_eq!(code, 204);
    let released_at = live.stream_seconds();
    wait_for(Duration::from_secs(10), "the show back on air", || get_json(port, "/v1/status")["now_playing"]["source"] == "show");
    assert_eq!(get_json(port, "/v1/status")["takeover"], false);
    assert!(live.wait().success(), "{}", live.log_text());

    let t = transcript(&transcript_path);
    // The line's last piece (a live line's lead phrase plays on its own first).
    let k = t.iter().rposition(|e| e["id"] == id).expect("takeover line in transcript");
    assert_eq!(t[k]["source"], "takeover");
    let next = &t[k + 1];
    assert_eq!(next["source"], "show", "{t:#?}");
    let gap = next["start"].as_f64().unwrap() - t[k]["end"].as_f64().unwrap();
    assert!(gap >= 3.0, "the show came back {gap:.1} s after the takeover line, before it was released");
    assert!(next["start"].as_f64().unwrap() >= released_at - 0.5, "show resumed at {} before the release at {released_at}", next["start"]);
}
