//! The show reloads when its file changes, without interrupting the stream; a bad
//! file leaves the running show as it was and says why. PUT /v1/show does the same
//! through the API.

use std::time::Duration;

use common::*;

const SHOW_A: &str = "[[segments]]\ntext = \"This is the first show. It talks about the weather.\"\n";
const SHOW_B: &str = "[[segments]]\ntext = \"Now the second show is on. It talks about tea.\"\n";

#[test]
fn show_file_changes_reload_and_bad_ones_are_refused() {
    let dir = TempDir::new("reload");
    let show = dir.path().join("show.toml");
    let transcript_path = dir.path().join("t.jsonl");
    std::fs::write(&show, SHOW_A).unwrap();
    let config = demo_config_with(dir.path(), "c.toml", |s| {
        s.replace("config/demo-show.toml", show.to_str().unwrap())
            .replace("transcript = \"out/transcript.jsonl\"", &format!("transcript = \"{}\"", transcript_path.display()))
    });
    let video = dir.path().join("o.flv");
    let mut live = LiveRun::start(&config, &["--duration", "24s", "--output", video.to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;
    wait_for(Duration::from_secs(20), "the first show on air", || {
        get_json(port, "/v1/status")["now_playing"]["text"].as_str().is_some_and(|t| t.contains("first show"))
    });

    std::fs::write(&show, SHOW_B).unwrap();
    wait_for(Duration::from_secs(15), "the second show on air", || {
        get_json(port, "/v1/status")["now_playing"]["text"].as_str().is_some_and(|t| t.contains("second show"))
    });
    let (_, body) = http(port, "GET", "/v1/show", &[], b"");
    assert_eq!(String::from_utf8(body).unwrap(), SHOW_B);

    // A broken file: refused, the second show goes on.
    std::fs::write(&show, "[[segments]]\ntext = \"unterminated\n").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(live.log_text().contains("was not loaded, the show goes on as it was"), "{}", live.log_text());
    let (_, body) = http(port, "GET", "/v1/show", &[], b"");
    assert_eq!(String::from_utf8(body).unwrap(), SHOW_B);

    // Through the API: a bad show is a 422 naming the line; a good one plays.
    let (status, body) = http(port, "PUT", "/v1/show", &[], b"[[segments]]\nproduct = \"nope\"\n");
    assert_eq!(status, 422);
    assert!(String::from_utf8_lossy(&body).contains("line 2"), "{}", String::from_utf8_lossy(&body));
    let (status, body) = http(port, "PUT", "/v1/show", &[], SHOW_A.as_bytes());
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(std::fs::read_to_string(&show).unwrap(), SHOW_A, "saved to the show file");

    assert!(live.wait().success(), "{}", live.log_text());
    let t = transcript(&transcript_path);
    let texts: Vec<&str> = t.iter().map(|e| e["text"].as_str().unwrap()).collect();
    let b = texts.iter().position(|x| x.contains("second show")).unwrap();
    assert!(texts[b..].iter().any(|x| x.contains("first show")), "{texts:?}");
    // The stream never stopped.
    assert_no_gaps(&packets(&video, "v"), 0.040, "video");
}
