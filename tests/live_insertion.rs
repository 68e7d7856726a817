//! Lines inserted through the API while live: an urgent line is on air within a
//! second of the request, cutting the show at a word boundary; the show resumes with
//! the sentence it cut; a normal line waits for the end of the sentence; every line
//! lands in the transcript with its on-air times.

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn urgent_cuts_in_within_a_second_and_the_show_resumes() {
    let dir = TempDir::new("insert");
    let transcript_path = dir.path().join("transcript.jsonl");
    let config = demo_config_with(dir.path(), "c.toml", transcript_to(&transcript_path));
    let video = dir.path().join("out.flv");
    let mut live = LiveRun::start(&config, &["--duration", "24s", "--output", video.to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;

    // Wait until the show is mid-sentence, then cut in.
    wait_for(Duration::from_secs(20), "a show line on air", || {
        let s = get_json(port, "/v1/status");
        s["now_playing"]["source"] == "show" && live.stream_seconds() > 4.0
    });
    let (status, body) = post_json(port, "/v1/say", &json!({"text": "Flash sale! Twenty percent off for the next ten minutes.", "priority": "urgent"}));
    assert_eq!(status, 202, "{body}");
    let urgent = body["id"].as_u64().unwrap();
    let (status, body) = post_json(port, "/v1/say", &json!({"text": "Thanks for joining us today."}));
    assert_eq!(status, 202, "{body}");
    let normal = body["id"].as_u64().unwrap();

    wait_for(Duration::from_secs(15), "both lines done", || {
        get_json(port, &format!("/v1/lines/{normal}"))["state"] == "done"
    });
    let line = get_json(port, &format!("/v1/lines/{urgent}"));
    assert_eq!(line["state"], "done", "{line}");
    let latency = line["on_air_latency_ms"].as_f64().unwrap();
    assert!(latency < 1000.0, "urgent line took {latency:.0} ms to go on air");
    // The delay shows in status and metrics.
    assert!(get_json(port, "/v1/status")["last_insert_latency_ms"].as_f64().is_some());
    let (_, metrics) = http(port, "GET", "/metrics", &[], b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("avatarcast_insert_on_air_latency_seconds "), "{metrics}");
    assert!(metrics.contains("avatarcast_interruptions_total 1"), "{metrics}");

    assert!(live.wait().success(), "{}", live.log_text());
    let t = transcript(&transcript_path);
    // The urgent line is said sentence by sentence, right where the show line was cut.
    let u = t.iter().position(|e| e["id"] == urgent).expect("urgent line in transcript");
    let u_end = t.iter().rposition(|e| e["id"] == urgent).unwrap();
    assert!(u > 0 && u_end > u, "{t:#?}");
    let cut = &t[u - 1];
    assert_eq!((cut["source"].as_str(), cut["cut"].as_bool()), (Some("show"), Some(true)), "the show line before the urgent one was cut: {t:#?}");
    assert!((t[u]["start"].as_f64().unwrap() - cut["end"].as_f64().unwrap()).abs() < 0.001, "urgent starts where the cut ends");
    assert!(t[u..=u_end].iter().all(|e| e["source"] == "urgent"));
    // The cut sentence comes back whole after the urgent line; the normal line waits
    // for the end of that sentence.
    assert_eq!(t[u_end + 1]["text"], cut["text"], "{t:#?}");
    assert_eq!(t[u_end + 1]["source"], "show");
    assert_eq!(t[u_end + 2]["id"], normal, "{t:#?}");
    // No gap in what was recorded.
    assert_no_gaps(&packets(&video, "v"), 0.040, "video");
    assert_no_gaps(&packets(&video, "a"), 0.040, "audio");
}
