//! Simulcast with one destination unreachable from the start: the stream starts
//! anyway, the dead destination is retried (reported in plain words, stream key
//! masked), and the other receives a clean stream: no gaps, a keyframe every 2 s.

use std::time::Duration;

use common::*;

#[test]
fn one_dead_destination_does_not_touch_the_other() {
    let dir = TempDir::new("simulcast");
    let mut nginx = Nginx::start();
    let dead_port = free_port(); // bound and released: nothing listens there
    let dead = format!("rtmp://127.0.0.1:{dead_port}/live/secretkey123");
    let config = demo_config_with(dir.path(), "c.toml", transcript_to(&dir.path().join("transcript.jsonl")));
    let mut live = LiveRun::start(&config, &["--duration", "16s", "--output", &dead, "--output", &nginx.url("good")], dir.path().join("live.log"));

    wait_for(Duration::from_secs(12), "the dead destination retried twice", || {
        let s = get_json(live.port, "/v1/status");
        let dead = s["outputs"].as_array().unwrap().iter().find(|o| o["name"].as_str().unwrap().contains(&format!(":{dead_port}/"))).cloned();
        dead.is_some_and(|o| o["state"] == "retrying" && o["attempt"].as_u64() >= Some(2))
    });
    assert!(live.wait().success(), "{}", live.log_text());
    let log = live.log_text();
    assert!(log.contains(&format!("host 127.0.0.1 port {dead_port}")) && log.contains("refused") && log.contains("retrying in"), "{log}");
    assert!(!log.contains("secretkey123"), "the stream key leaked into the log");
    std::thread::sleep(Duration::from_millis(800));
    nginx.stop();

    let recs = nginx.recordings();
    assert_eq!(recs.len(), 1, "{recs:?}");
    let (vp, ap) = (packets(&recs[0], "v"), packets(&recs[0], "a"));
    assert_eq!(vp.len(), 400, "frames");
    assert!((ap[0].pts - vp[0].pts).abs() <= 0.040, "first audio {:.3} s, first video {:.3} s", ap[0].pts, vp[0].pts);
    assert_no_gaps(&vp, 0.040, "video");
    assert_no_gaps(&ap, 0.040, "audio");
    assert_keyframe_interval(&vp, 2.0);
}
