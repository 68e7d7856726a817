//! A looping show synthesizes each sentence once: the second time round every
//! sentence comes from the speech cache (hits in metrics, no new misses).

use std::time::Duration;

use common::*;

fn metric(port: u16, name: &str) -> f64 {
    let (_, body) = http(port, "GET", "/metrics", &[], b"");
    let text = String::from_utf8(body).unwrap();
    text.lines().find_map(|l| l.strip_prefix(&format!("{name} "))).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("{name} missing:\n{text}"))
}

#[test]
fn the_second_time_round_nothing_is_synthesized() {
    let dir = TempDir::new("speech-cache");
    let cache = dir.path().join("cache");
    let show = r#"[[products]]
id = "mug"
name = "Cosy Mug"
price = "$12"
pitches = ["This mug keeps your tea warm for $12. It holds 500ml."]

[[segments]]
product = "mug"
"#;
    let config = config_with_show(dir.path(), show, |c| {
        transcript_to(&dir.path().join("t.jsonl"))(c).replace("threads = 1", &format!("threads = 1\ncache_dir = \"{}\"", cache.display()))
    });
    let live = LiveRun::start(&config, &["--duration", "40s", "--output", dir.path().join("o.mkv").to_str().unwrap()], dir.path().join("live.log"));
    // Two sentences a round; wait for three rounds on air.
    wait_for(Duration::from_secs(35), "three rounds of the show", || get_json(live.port, "/v1/status")["lines_spoken"].as_u64() >= Some(6));
    let (hits, misses) = (metric(live.port, "avatarcast_speech_cache_hits_total"), metric(live.port, "avatarcast_speech_cache_misses_total"));
    assert_eq!(misses, 2.0, "each sentence synthesized once (hits {hits})");
    assert!(hits >= 4.0, "later rounds come from the cache: hits {hits}");
    let status = get_json(live.port, "/v1/status");
    assert!(status["speech_cache"]["disk_bytes"].as_u64() > Some(100_000), "{status}");
}
