//! An ingest that takes the TCP connection and then never answers (a hung server):
//! the output gives up on that session after `output.stall_seconds`, says why, and
//! retries, while the stream and the recording go on without the renderer falling behind.

use std::net::TcpListener;
use std::time::Duration;

use common::*;

#[test]
fn a_hung_ingest_is_retried_without_touching_the_stream() {
    let dir = TempDir::new("stall");
    // Accepts connections and holds them open without reading a byte.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let recording = dir.path().join("rec.mkv");
    let config = demo_config_with(dir.path(), "c.toml", |c| {
        transcript_to(&dir.path().join("t.jsonl"))(c) + "\n[output]\nstall_seconds = 3\n"
    });
    let url = format!("rtmp://127.0.0.1:{port}/live/hungkey");
    let mut live = LiveRun::start(&config, &["--duration", "16s", "--output", &url, "--output", recording.to_str().unwrap()], dir.path().join("live.log"));
    wait_for(Duration::from_secs(14), "the hung session given up and retried", || {
        let s = get_json(live.port, "/v1/status");
        let o = s["outputs"].as_array().unwrap().iter().find(|o| o["kind"] == "rtmp").cloned().unwrap();
        o["state"] == "retrying" && o["last_error"].as_str().is_some_and(|e| e.contains(&format!("port {port}")))
    });
    assert!(live.wait().success(), "{}", live.log_text());
    let log = live.log_text();
    assert_renderer_kept_time(&log);
    let vp = packets(&recording, "v");
    assert_eq!(vp.len(), 400);
    assert_no_gaps(&vp, 0.040, "video");
    assert_no_gaps(&packets(&recording, "a"), 0.040, "audio");
}
