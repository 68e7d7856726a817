//! WHIP offers that ingests take as they ship. With a WHIP output the one encode is
//! H.264 Constrained Baseline, offered as Constrained Baseline (42e01f) and as Main
//! (4d001f): GStreamer's webrtcbin from Debian answers, and what it receives decodes
//! there (the push to an unpatched aiortc is tests/whip_output.rs). A stream forced
//! to Main (`video.profile = "main"`) is refused by aiortc, which takes Constrained
//! Baseline only, and the output says why in words while the recording goes on.

use std::time::Duration;

use common::*;

fn whip_config(dir: &std::path::Path, port: u16, profile: Option<&str>) -> std::path::PathBuf {
    demo_config_with(dir, "c.toml", |s| {
        let s = s.replace("path = \"out/demo.mp4\"", &format!("path = \"{}\"", dir.join("rec.mkv").display()));
        let s = match profile {
            Some(p) => s.replace("keyframe_seconds = 2", &format!("keyframe_seconds = 2\nprofile = \"{p}\"")),
            None => s,
        };
        format!("{s}\n[[output.whip]]\nurl = \"http://127.0.0.1:{port}/whip\"\n")
    })
}

#[test]
fn a_whip_push_is_answered_by_webrtcbin_and_decodes_there() {
    let dir = TempDir::new("whip-webrtcbin");
    let port = free_port();
    let received = dir.path().join("webrtcbin.mkv");
    let peer = whip_endpoint(WhipPeer::Webrtcbin, port, &received, &dir.path().join("endpoint.log"), &[]);
    let config = whip_config(dir.path(), port, None);
    let mut live = LiveRun::start(&config, &["--duration", "16s"], dir.path().join("live.log"));
    wait_for(Duration::from_secs(15), "the WHIP output to go live", || whip_output(live.port)["state"] == "live");
    assert!(live.wait().success(), "{}", live.log_text());
    stop_whip_endpoint(peer);
    let endpoint = std::fs::read_to_string(dir.path().join("endpoint.log")).unwrap();
    assert!(endpoint.contains("receiving video") && endpoint.contains("encoding-name=(string)H264"), "{endpoint}");
    let seconds = assert_recorded(&received, 10.0);
    // What was sent: the recording beside it is the same encode.
    let local = streams(&dir.path().join("rec.mkv"));
    assert_eq!(stream_of(&local, "video")["profile"], "Constrained Baseline", "{local}");
    eprintln!("webrtcbin recorded {seconds:.1} s");
}

#[test]
fn a_main_only_offer_refused_by_aiortc_is_explained_and_the_recording_goes_on() {
    let dir = TempDir::new("whip-main");
    let port = free_port();
    let peer = whip_endpoint(WhipPeer::Aiortc, port, &dir.path().join("never.mkv"), &dir.path().join("endpoint.log"), &[]);
    let config = whip_config(dir.path(), port, Some("main"));
    let mut live = LiveRun::start(&config, &["--duration", "12s"], dir.path().join("live.log"));
    wait_for(Duration::from_secs(15), "a refused offer", || whip_output(live.port)["attempt"].as_u64() >= Some(1));
    let o = whip_output(live.port);
    let error = o["last_error"].as_str().unwrap();
    assert!(error.contains("HTTP 500") && error.contains("H.264 Main (4d001f)") && error.contains("video.profile = \"auto\""), "{error}");
    assert!(live.wait().success(), "{}", live.log_text());
    stop_whip_endpoint(peer);
    let v = packets(&dir.path().join("rec.mkv"), "v");
    assert_eq!(v.len(), 300, "the recording beside the refused push");
    let local = streams(&dir.path().join("rec.mkv"));
    assert_eq!(stream_of(&local, "video")["profile"], "Main", "{local}");
}
