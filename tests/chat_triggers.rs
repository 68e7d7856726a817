//! POST /v1/comments: a comment that matches a rule of the show file gets an answer
//! about the product on air, with cooldowns per rule and per user.

use std::time::Duration;

use common::*;
use serde_json::json;

#[test]
fn matching_comments_are_answered_with_cooldowns() {
    let dir = TempDir::new("chat");
    let config = config_with_show(dir.path(), r#"[[products]]
id = "mug"
name = "Cosy Mug"
price = "$12"
pitches = ["This mug keeps your tea warm. It holds a generous half litre."]

[[segments]]
product = "mug"

[[rules]]
match = "price|how much"
say = "The {name} is only {price}."
cooldown_s = 0
user_cooldown_s = 120
"#, |s| s);
    let live = LiveRun::start(&config, &["--duration", "40s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;
    wait_for(Duration::from_secs(20), "the mug pitch on air", || get_json(port, "/v1/status")["now_playing"]["product"] == "mug");

    let comment = |user: &str, text: &str| {
        let (status, body) = post_json(port, "/v1/comments", &json!({"user": user, "text": text}));
        assert_eq!(status, 202, "{body}");
        body
    };
    let first = comment("ann", "How MUCH is this one?");
    assert_eq!(first["answered"], true, "{first}");
    assert_eq!(first["text"], "The Cosy Mug is only $12.");
    assert_eq!(comment("ann", "what's the price again")["reason"], "user cooling down");
    assert_eq!(comment("bob", "price?")["answered"], true);
    assert_eq!(comment("cat", "lovely colour")["reason"], "no rule matches");

    let id = first["id"].as_u64().unwrap();
    wait_for(Duration::from_secs(20), "the answer spoken", || get_json(port, &format!("/v1/lines/{id}"))["state"] == "done");
    let (status, _) = post_json(port, "/v1/comments", &json!({"user": "ann"}));
    assert_eq!(status, 422);
}
