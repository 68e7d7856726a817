//! The soak harness in its 5-minute form, twice at once: a live channel under the
//! scripted day of events (lines, chat, scene and card changes, show reloads, a bad
//! show, hostile requests, the ingest killed, a WebRTC viewer) passes, and the same
//! run with a planted leak (AVATARCAST_TEST_KEEP_FRAMES keeps one picture a second,
//! 1.4 MB) is caught as RSS that kept growing, and only that.

use common::*;

/// Five minutes tell a leak of hundreds of MB an hour from a channel settling, not a
/// slow one (the long soaks do that): RSS may rise 64 MB after the warm-up.
const FIVE_MINUTES: [&str; 10] =
    ["--minutes", "5", "--event-seconds", "8", "--sample-seconds", "5", "--warmup-seconds", "120", "--rss-slack-mb", "64"];

#[test]
fn the_soak_passes_a_healthy_channel_and_catches_a_planted_leak() {
    let dir = TempDir::new("soak");
    let (healthy, leaking) = (dir.path().join("healthy"), dir.path().join("leaking"));
    let mut a = start_soak(&healthy, &FIVE_MINUTES, &dir.path().join("healthy.log"));
    let leak_args: Vec<&str> = FIVE_MINUTES.iter().copied().chain(["--plant-leak"]).collect();
    let mut b = start_soak(&leaking, &leak_args, &dir.path().join("leaking.log"));
    let (a_ok, b_ok) = (a.wait().unwrap().success(), b.wait().unwrap().success());

    let v = soak_verdict(&healthy);
    assert!(a_ok && v["passed"] == true, "the healthy channel failed its soak: {v:#}");
    for event in ["line", "urgent", "comment", "scene", "card", "gesture", "show", "bad_show", "hostile", "ingest", "viewer"] {
        assert!(v["events"][event].as_u64() >= Some(1), "no {event} event: {v:#}");
    }
    assert!(v["final"]["reconnects"].as_u64() >= Some(2), "the ingest was killed but not reconnected: {v:#}");
    assert!(v["window_samples"].as_u64() >= Some(30), "{v:#}");
    assert!(v["cache_mb"]["max"].as_f64() >= Some(7.0), "the speech cache never reached its 8 MB cap: {v:#}");
    let csv = std::fs::read_to_string(healthy.join("samples.csv")).unwrap();
    assert!(csv.starts_with("t_s,rss_mb,fds,threads,cpu_s,stream_s") && csv.lines().count() > 55, "{csv}");
    assert_plot(&healthy);

    let v = soak_verdict(&leaking);
    let failures: Vec<&str> = v["failures"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(!b_ok && failures.iter().any(|f| f.starts_with("rss_mb kept growing")), "the planted leak went unnoticed: {v:#}");
    assert!(failures.iter().all(|f| f.starts_with("rss_mb")), "the leak run failed on more than memory: {failures:?}");
    assert!(v["rss_mb"]["slope_per_hour"].as_f64() > Some(2000.0), "{v:#}");
    let h = soak_verdict(&healthy);
    eprintln!("RSS after warm-up: healthy {} ({} MB an hour), leaking {} ({} MB an hour)", h["rss_mb"], h["rss_mb"]["slope_per_hour"], v["rss_mb"], v["rss_mb"]["slope_per_hour"]);
}
