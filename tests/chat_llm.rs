//! Comments no rule matches go to the configured OpenAI-compatible chat endpoint;
//! its draft is spoken, and when it fails or is too slow the fallback line is.
//! (A language model cannot run here: a loopback server speaks the endpoint's
//! protocol in its place.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;

/// Answers chat-completion requests: the first at once, later ones after 3 s.
fn chat_endpoint() -> (u16, Arc<Mutex<Vec<serde_json::Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().take(4).enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut len, mut auth) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("authorization:") {
                    auth = line.trim().to_string();
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let mut req: serde_json::Value = serde_json::from_slice(&body).unwrap();
            req["authorization"] = json!(auth);
            log.lock().unwrap().push(req);
            if n > 0 {
                std::thread::sleep(Duration::from_secs(3));
            }
            let answer = json!({"choices": [{"message": {"role": "assistant", "content": "Yes, it comes in blue and in green. Tap the card to see both!"}}]}).to_string();
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}", answer.len());
        }
    });
    (port, seen)
}

#[test]
fn unmatched_comments_get_a_drafted_answer_or_the_fallback() {
    let (llm_port, seen) = chat_endpoint();
    let dir = TempDir::new("llm");
    let config = demo_config_with(dir.path(), "c.toml", |s| {
        s + &format!(
            "\n[chat.llm]\nurl = \"http://127.0.0.1:{llm_port}/v1/chat/completions\"\nkey = \"test-key\"\ntimeout_ms = 1000\nfallback = \"Thanks for asking, I will check that for you.\"\n"
        )
    });
    let live = LiveRun::start(&config, &["--duration", "40s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;

    let (status, body) = post_json(port, "/v1/comments", &json!({"user": "ann", "text": "does it come in other colours?"}));
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["drafting"], true, "{body}");
    let id = body["id"].as_u64().unwrap();
    wait_for(Duration::from_secs(20), "the drafted answer spoken", || get_json(port, &format!("/v1/lines/{id}"))["state"] == "done");
    assert_eq!(get_json(port, &format!("/v1/lines/{id}"))["text"], "Yes, it comes in blue and in green. Tap the card to see both!");
    {
        let reqs = seen.lock().unwrap();
        assert_eq!(reqs[0]["authorization"], "Authorization: Bearer test-key");
        let user_msg = reqs[0]["messages"][1]["content"].as_str().unwrap();
        assert!(user_msg.contains("ann") && user_msg.contains("other colours"), "{user_msg}");
    }

    // Too slow: the fallback is said instead.
    let (_, body) = post_json(port, "/v1/comments", &json!({"user": "bob", "text": "is it heavy?"}));
    let id = body["id"].as_u64().unwrap();
    wait_for(Duration::from_secs(20), "the fallback spoken", || get_json(port, &format!("/v1/lines/{id}"))["state"] == "done");
    assert_eq!(get_json(port, &format!("/v1/lines/{id}"))["text"], "Thanks for asking, I will check that for you.");
}
