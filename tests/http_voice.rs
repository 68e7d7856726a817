//! An external voice over HTTP (OpenAI-compatible `/v1/audio/speech` answering WAV):
//! an inserted line in that voice is spoken with its audio; a service that does not
//! answer within `timeout_ms` leaves the line to the default voice, and the stream
//! never goes quiet.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

/// A one-thread TTS service: a 250 ms tone per word, 100 ms apart, as 22.05 kHz WAV;
/// a line containing "slow" is answered only after 3 s.
fn tts_service() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let request: Value = serde_json::from_slice(&body).unwrap();
                let input = request["input"].as_str().unwrap_or("");
                if input.contains("slow") {
                    std::thread::sleep(Duration::from_secs(3));
                }
                let rate = 22050u32;
                let mut pcm: Vec<i16> = Vec::new();
                for _ in input.split_whitespace() {
                    pcm.extend((0..rate / 4).map(|i| ((i as f32 * 0.07).sin() * 14000.0) as i16));
                    pcm.extend(std::iter::repeat_n(0, (rate / 10) as usize));
                }
                let mut wav = Vec::new();
                let data = (pcm.len() * 2) as u32;
                wav.extend_from_slice(b"RIFF");
                wav.extend_from_slice(&(36 + data).to_le_bytes());
                wav.extend_from_slice(b"WAVEfmt ");
                for v in [16u32.to_le_bytes().to_vec(), 1u16.to_le_bytes().to_vec(), 1u16.to_le_bytes().to_vec(), rate.to_le_bytes().to_vec(), (rate * 2).to_le_bytes().to_vec(), 2u16.to_le_bytes().to_vec(), 16u16.to_le_bytes().to_vec()] {
                    wav.extend_from_slice(&v);
                }
                wav.extend_from_slice(b"data");
                wav.extend_from_slice(&data.to_le_bytes());
                pcm.iter().for_each(|s| wav.extend_from_slice(&s.to_le_bytes()));
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", wav.len());
                let _ = conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(&wav));
            });
        }
    });
    port
}

#[test]
fn an_http_voice_speaks_and_a_slow_one_falls_back() {
    let dir = TempDir::new("http-voice");
    let port = tts_service();
    let config = demo_config_with(dir.path(), "c.toml", |c| {
        transcript_to(&dir.path().join("t.jsonl"))(c)
            + &format!("\n[voices.cloned]\nengine = \"http\"\nurl = \"http://127.0.0.1:{port}/v1/audio/speech\"\ntimeout_ms = 1000\n")
    });
    let live = LiveRun::start(&config, &["--duration", "40s", "--output", dir.path().join("o.mkv").to_str().unwrap()], dir.path().join("live.log"));
    let mut ws = WsClient::connect(live.port, "/v1/events");
    let say = |text: &str| post_json(live.port, "/v1/say", &json!({"text": text, "voice": "cloned", "priority": "urgent"})).1["id"].as_u64().unwrap();
    let cloned = say("Hello there from the cloned voice.");
    let slow = say("This slow service will not answer in time.");

    let mut started: Vec<Value> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(25);
    while Instant::now() < deadline && !(started.iter().any(|e| e["id"] == cloned) && started.iter().any(|e| e["id"] == slow)) {
        let Some(text) = ws.next_text(Duration::from_secs(1)) else { continue };
        let e: Value = serde_json::from_str(&text).unwrap();
        if e["type"] == "line_started" {
            started.push(e);
        }
    }
    let of = |id: u64| started.iter().find(|e| e["id"] == id).unwrap_or_else(|| panic!("line {id} never started: {started:#?}")).clone();
    let c = of(cloned);
    assert_eq!(c["voice"], "cloned");
    // Six words, six tone bursts, each its own word for captions and cuts.
    assert_eq!(c["words"].as_array().unwrap().len(), 6, "{c}");
    assert_eq!(of(slow)["voice"], "default", "the default voice stepped in");
    assert!(live.log_text().contains("the default voice says the line"), "{}", live.log_text());
}
