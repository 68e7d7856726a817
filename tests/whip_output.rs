//! WHIP out to an independent WebRTC stack (aiortc, tests/common/whip_endpoint.py) as
//! the ingest: the push arrives and is recorded at 25 fps with its audio, the bearer
//! token goes to the endpoint and never into the log, the endpoint's ICE servers are
//! taken up; the endpoint killed and started again, the push comes back by itself,
//! and the recording beside it never notices.

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use common::*;

const TOKEN: &str = "whip-test-token-5b2f9c";

/// The aiortc endpoint with the test's token and an ICE server that answers nothing
/// (taking it up must not stop the next connection).
fn endpoint(port: u16, record: &Path, log: &Path) -> Child {
    whip_endpoint(WhipPeer::Aiortc, port, record, log, &["--token", TOKEN, "--link", "<stun:127.0.0.1:9>; rel=\"ice-server\""])
}

#[test]
fn a_whip_push_arrives_and_comes_back_after_the_endpoint_restarts() {
    let dir = TempDir::new("whip");
    let port = free_port();
    let (first, second, rec) = (dir.path().join("first.mkv"), dir.path().join("second.mkv"), dir.path().join("rec.mkv"));
    let config = demo_config_with(dir.path(), "c.toml", |s| {
        let s = s.replace("path = \"out/demo.mp4\"", &format!("path = \"{}\"", rec.display()));
        format!("{s}\n[[output.whip]]\nurl = \"http://127.0.0.1:{port}/whip\"\ntoken_env = \"AVATARCAST_TEST_WHIP_TOKEN\"\n")
    });
    let one = endpoint(port, &first, &dir.path().join("endpoint1.log"));
    let mut live = LiveRun::start_with(&config, "", &[("AVATARCAST_TEST_WHIP_TOKEN", TOKEN)], &["--duration", "50s"], dir.path().join("live.log"));
    wait_for(Duration::from_secs(15), "the WHIP output to go live", || whip_output(live.port)["state"] == "live");
    std::thread::sleep(Duration::from_secs(21));
    stop_whip_endpoint(one);
    let two = endpoint(port, &second, &dir.path().join("endpoint2.log"));
    wait_for(Duration::from_secs(25), "the WHIP output to come back", || {
        let o = whip_output(live.port);
        o["state"] == "live" && o["reconnects"] == 1
    });
    assert!(live.wait().success(), "{}", live.log_text());
    std::thread::sleep(Duration::from_secs(1));
    stop_whip_endpoint(two);

    let log = live.log_text();
    let lines = assert_came_back(&log, "WHIP", "the connection to the endpoint was lost");
    assert!(lines.iter().any(|l| l.contains("the endpoint names 1 ICE server(s)")), "{log}");
    assert!(!log.contains(TOKEN), "the token is in the log");
    assert_recorded(&first, 19.0);
    assert_recorded(&second, 5.0);
    // The stream's end ended the endpoint's session (DELETE on its Location).
    let endpoint2 = std::fs::read_to_string(dir.path().join("endpoint2.log")).unwrap();
    assert!(endpoint2.contains("ended session /whip/session/1"), "{endpoint2}");
    // The recording beside it: the whole 50 s, untouched by the WHIP output's failure.
    let v = packets(&rec, "v");
    assert_eq!(v.len(), 1250, "recording frames");
    assert_no_gaps(&v, 0.040, "recording video");
    assert_renderer_kept_time(&log);
}

#[test]
fn a_refused_token_is_reported_by_name_and_retried() {
    let dir = TempDir::new("whip-token");
    let port = free_port();
    let config = demo_config_with(dir.path(), "c.toml", |s| {
        let s = s.replace("path = \"out/demo.mp4\"", &format!("path = \"{}\"", dir.path().join("rec.mkv").display()));
        format!("{s}\n[[output.whip]]\nurl = \"http://127.0.0.1:{port}/whip\"\ntoken_env = \"AVATARCAST_TEST_WHIP_TOKEN\"\n")
    });
    let one = endpoint(port, &dir.path().join("never.mkv"), &dir.path().join("endpoint.log"));
    let live = LiveRun::start_with(&config, "", &[("AVATARCAST_TEST_WHIP_TOKEN", "not-the-token")], &["--duration", "30s"], dir.path().join("live.log"));
    wait_for(Duration::from_secs(15), "a second attempt", || whip_output(live.port)["attempt"].as_u64() >= Some(2));
    let o = whip_output(live.port);
    assert_eq!(o["state"], "retrying", "{o}");
    let error = o["last_error"].as_str().unwrap();
    assert!(error.contains("refused the token (HTTP 401)") && error.contains("token_env"), "{error}");
    drop(live);
    stop_whip_endpoint(one);
}
