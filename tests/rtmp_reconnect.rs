//! An ingest that dies and comes back: nginx-rtmp is killed 10 s into a live run and
//! started again 15 s later. avatarcast keeps streaming, retries with backoff (the
//! state shows in status and metrics), is back on that nginx within 10 s of its
//! restart, and meanwhile a second destination and the local recording go on
//! without a gap, without the renderer falling behind.

use std::time::{Duration, Instant};

use common::*;

fn output<'a>(status: &'a serde_json::Value, name_part: &str) -> &'a serde_json::Value {
    status["outputs"].as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().contains(name_part)).expect("output in status")
}

#[test]
fn a_dropped_ingest_comes_back_while_everything_else_goes_on() {
    let dir = TempDir::new("reconnect");
    let (mut flaky, mut steady) = (Nginx::start(), Nginx::start());
    let recording = dir.path().join("rec.mkv");
    let config = demo_config_with(dir.path(), "c.toml", transcript_to(&dir.path().join("transcript.jsonl")));
    let flaky_url = flaky.url("secretkey1");
    let mut live = LiveRun::start(
        &config,
        &["--duration", "44s", "--output", &flaky_url, "--output", &steady.url("other"), "--output", recording.to_str().unwrap()],
        dir.path().join("live.log"),
    );
    let port = live.port;
    let (flaky_port, steady_port) = (format!(":{}/", flaky.port), format!(":{}/", steady.port));

    wait_for(Duration::from_secs(20), "both ingests live", || {
        let s = get_json(port, "/v1/status");
        s["outputs"].as_array().unwrap().iter().filter(|o| o["kind"] == "rtmp").all(|o| o["state"] == "live")
    });
    wait_for(Duration::from_secs(20), "10 s of stream", || live.stream_seconds() >= 10.0);
    flaky.kill();

    // Down: the output retries with backoff, and says so.
    wait_for(Duration::from_secs(10), "the flaky output retrying", || {
        let s = get_json(port, "/v1/status");
        let o = output(&s, &flaky_port);
        o["state"] == "retrying" && o["attempt"].as_u64() >= Some(2) && o["next_attempt_in_s"].as_f64().is_some()
    });
    let s = get_json(port, "/v1/status");
    let o = output(&s, &flaky_port);
    assert!(o["last_error"].as_str().unwrap().contains("refused"), "{o}");
    assert_eq!(output(&s, &steady_port).get("state").unwrap(), "live", "{s}");
    // Stream keys never show in full.
    assert!(!s.to_string().contains("secretkey1"), "{s}");
    let (_, metrics) = http(port, "GET", "/metrics", &[], b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("avatarcast_output_up{output=\"RTMP rtmp://127.0.0.1") && !metrics.contains("secretkey1"), "{metrics}");

    std::thread::sleep(Duration::from_secs(15).saturating_sub(Duration::from_secs_f64(live.stream_seconds() - 10.0)));
    flaky.restart();
    let restarted = Instant::now();
    wait_for(Duration::from_secs(10), "the stream back on the restarted nginx", || {
        let s = get_json(port, "/v1/status");
        output(&s, &flaky_port)["state"] == "live"
            && flaky.recordings().iter().any(|r| std::fs::metadata(r).map(|m| m.len() > 200_000).unwrap_or(false))
    });
    eprintln!("back on the restarted ingest {:.1} s after its restart", restarted.elapsed().as_secs_f64());
    let s = get_json(port, "/v1/status");
    assert_eq!(output(&s, &flaky_port)["reconnects"], 1, "{s}");
    // Nothing else fell behind while that ingest was away.
    for o in s["outputs"].as_array().unwrap().iter().filter(|o| !o["name"].as_str().unwrap().contains(&flaky_port)) {
        assert_eq!(o["dropped_packets"], 0, "{o}");
    }

    assert!(live.wait().success(), "{}", live.log_text());
    let log = live.log_text();
    assert!(!log.contains("secretkey1"), "the stream key leaked into the log");
    assert_renderer_kept_time(&log);
    std::thread::sleep(Duration::from_millis(800));
    flaky.stop();
    steady.stop();

    // The second destination and the recording: the whole run, no gap, keyframes every 2 s.
    let steady_recs = steady.recordings();
    assert_eq!(steady_recs.len(), 1, "{steady_recs:?}");
    for file in [&steady_recs[0], &recording] {
        let (vp, ap) = (packets(file, "v"), packets(file, "a"));
        assert!(vp.len() >= 43 * 25, "{}: {} frames", file.display(), vp.len());
        assert_no_gaps(&vp, 0.040, &format!("{} video", file.display()));
        assert_no_gaps(&ap, 0.040, &format!("{} audio", file.display()));
        assert_keyframe_interval(&vp, 2.0);
    }
    // The restarted ingest got a clean stream: from a keyframe, no gap after it.
    let flaky_recs = flaky.recordings();
    let after = flaky_recs.last().unwrap();
    let vp = packets(after, "v");
    assert!(vp[0].key && vp.len() > 5 * 25, "{}: {} frames, first key {}", after.display(), vp.len(), vp[0].key);
    assert_no_gaps(&vp, 0.040, "video after the reconnect");
    assert_no_gaps(&packets(after, "a"), 0.040, "audio after the reconnect");
}
