//! The operator console in headless Chromium: type a line, send it, watch it go
//! through the queue (queued, speaking, done) into the transcript; the preview plays
//! the stream over WebRTC.

use std::time::{Duration, Instant};

use common::*;

#[test]
fn a_line_typed_in_the_console_goes_through_the_queue_into_the_transcript() {
    let dir = TempDir::new("console");
    let live = LiveRun::start(&repo().join("config/demo.toml"), &["--duration", "40s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let mut browser = Browser::start();
    browser.call("Page.enable", serde_json::json!({}));
    browser.call("Page.navigate", serde_json::json!({ "url": format!("http://127.0.0.1:{}/console", live.port) }));
    let started = Instant::now();
    while browser.eval("document.readyState") != "complete" || browser.eval("document.getElementById('product').options.length") == 0 {
        assert!(started.elapsed() < Duration::from_secs(15), "console did not load");
        std::thread::sleep(Duration::from_millis(100));
    }

    let line = "Hello from the console, welcome everyone.";
    browser.type_into("#say-text", line);
    browser.click("#say-send");

    // Through the queue ...
    let mut states = Vec::new();
    let started = Instant::now();
    loop {
        let text = browser.eval("document.getElementById('queue').innerText").as_str().unwrap_or("").to_string();
        if let Some(l) = text.lines().find(|l| l.contains(line)) {
            let state = l.split_whitespace().next().unwrap_or("").to_string();
            if states.last() != Some(&state) {
                states.push(state.clone());
            }
            if state == "done" {
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(20), "line stuck; states seen: {states:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(states.contains(&"speaking".to_string()), "never shown speaking: {states:?}");
    assert_eq!(states.last().map(String::as_str), Some("done"));

    // ... into the transcript.
    let started = Instant::now();
    while !browser.eval("document.getElementById('transcript').innerText").as_str().unwrap_or("").contains(line) {
        assert!(started.elapsed() < Duration::from_secs(5), "line not in the transcript");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The preview plays the stream itself, over WebRTC.
    let started = Instant::now();
    while browser.eval("document.getElementById('preview-video').videoWidth").as_u64().unwrap_or(0) != 720 {
        assert!(started.elapsed() < Duration::from_secs(15), "no WebRTC preview: {}", browser.eval("window.player && player.state"));
        std::thread::sleep(Duration::from_millis(100));
    }
    browser.screenshot(&repo().join("target/console.png"));
}
