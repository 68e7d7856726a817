//! A live line goes on air after its first few words are synthesized: the lead phrase
//! plays first, and the rest of the sentence (synthesized whole, so its melody holds)
//! follows from the next word, with a word gap between them and no word lost or said
//! twice.

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

#[test]
fn a_live_line_starts_with_its_lead_phrase_and_goes_on_seamlessly() {
    let dir = TempDir::new("lead-phrase");
    let live = LiveRun::start(&repo().join("config/demo.toml"), &["--duration", "30s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let mut ws = WsClient::connect(live.port, "/v1/events");
    let line = "Grab this bottle today and keep your drinks cold longer.";
    let (status, body) = post_json(live.port, "/v1/say", &json!({"text": line, "priority": "urgent"}));
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_u64().unwrap();

    let mut finished: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && get_json(live.port, &format!("/v1/lines/{id}"))["state"] != "done" {
        let Some(text) = ws.next_text(Duration::from_millis(500)) else { continue };
        let e: Value = serde_json::from_str(&text).unwrap();
        if e["type"] == "line_finished" && e["id"] == id {
            finished.push(e);
        }
    }
    while let Some(text) = ws.next_text(Duration::from_millis(500)) {
        let e: Value = serde_json::from_str(&text).unwrap();
        if e["type"] == "line_finished" && e["id"] == id {
            finished.push(e);
        }
    }
    assert_eq!(finished.len(), 2, "lead and rest: {finished:#?}");
    let (lead, rest) = (&finished[0], &finished[1]);
    assert_eq!(lead["text"], "Grab this bottle today");
    assert_eq!(rest["text"], "and keep your drinks cold longer.");
    let (lead_words, rest_words) = (lead["words"].as_array().unwrap(), rest["words"].as_array().unwrap());
    assert_eq!((lead_words.len(), rest_words.len()), (4, 6), "every word once: {finished:#?}");
    // The rest starts where the lead ends, and its first word follows the lead's last
    // after a word gap (the lead's trailing silence was cut to 40 ms).
    let seam = lead["end"].as_f64().unwrap();
    assert!((rest["start"].as_f64().unwrap() - seam).abs() < 0.002, "{finished:#?}");
    let gap = rest_words[0]["start"].as_f64().unwrap() - lead_words[3]["end"].as_f64().unwrap();
    assert!((0.02..0.12).contains(&gap), "gap between `today` and `and`: {gap:.3} s");
}
