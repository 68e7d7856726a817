//! Nothing a client sends can crash or stall the stream: 200 malformed requests all
//! get a 4xx naming what is wrong, and the recording shows no gap. The OpenAPI
//! document lists exactly the routes the server answers.

use std::collections::BTreeSet;

use common::*;

#[test]
fn malformed_requests_get_4xx_and_the_stream_has_no_gap() {
    let dir = TempDir::new("api-bad");
    let video = dir.path().join("out.flv");
    let mut live = LiveRun::start(&repo().join("config/demo.toml"), &["--duration", "16s", "--output", video.to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;
    let json = [("Content-Type", "application/json")];
    let huge = vec![b'a'; 100 * 1024];
    let long_text = format!("{{\"text\": \"{}\"}}", "word ".repeat(130));
    let cases: Vec<(&str, &str, &[(&str, &str)], Vec<u8>, Option<&str>)> = vec![
        ("POST", "/v1/say", &json, b"{".to_vec(), None),
        ("POST", "/v1/say", &json, b"not json".to_vec(), None),
        ("POST", "/v1/say", &json, b"[]".to_vec(), None),
        ("POST", "/v1/say", &json, b"null".to_vec(), None),
        ("POST", "/v1/say", &json, b"".to_vec(), None),
        ("POST", "/v1/say", &json, vec![0xff, 0xfe, 0x00, 0x81], None),
        ("POST", "/v1/say", &json, br#"{"text": 5}"#.to_vec(), Some("text")),
        ("POST", "/v1/say", &json, br#"{"text": ["a"]}"#.to_vec(), Some("text")),
        ("POST", "/v1/say", &json, br#"{"text": null}"#.to_vec(), Some("text")),
        ("POST", "/v1/say", &json, br#"{"text": "hi", "priority": 3}"#.to_vec(), Some("priority")),
        ("POST", "/v1/say", &json, br#"{"text": "hi", "priority": "now"}"#.to_vec(), Some("priority")),
        ("POST", "/v1/say", &json, br#"{"text": "hi", "colour": "red"}"#.to_vec(), None),
        ("POST", "/v1/say", &json, br#"{"txt": "hi"}"#.to_vec(), None),
        ("POST", "/v1/say", &json, br#"{"text": "   "}"#.to_vec(), Some("text")),
        ("POST", "/v1/say", &json, long_text.into_bytes(), Some("text")),
        ("POST", "/v1/say", &json, huge.clone(), None),
        ("POST", "/v1/say", &[("Content-Type", "text/plain")], br#"{"text": "hi"}"#.to_vec(), None),
        ("GET", "/v2/say", &[], vec![], None),
        ("GET", "/v1/lines/abc", &[], vec![], Some("id")),
        ("GET", "/v1/lines/999999", &[], vec![], Some("id")),
        ("DELETE", "/v1/say", &[], vec![], None),
        ("POST", "/v1/status", &json, b"{}".to_vec(), None),
        ("GET", "/../../etc/passwd", &[], vec![], None),
        ("PUT", "/v1/scene", &json, br#"{"background": "moon"}"#.to_vec(), Some("background")),
        ("PUT", "/v1/scene", &json, br#"{"background": "night", "crossfade_ms": -1}"#.to_vec(), Some("crossfade_ms")),
        ("PUT", "/v1/overlays/card", &json, br#"{"product": "teapot"}"#.to_vec(), Some("product")),
        ("PUT", "/v1/overlays/card", &json, br#"{"visible": "yes"}"#.to_vec(), Some("visible")),
        ("PUT", "/v1/overlays/captions", &json, br#"{}"#.to_vec(), None),
        ("POST", "/v1/say", &json, br#"{"text":"hi"}}}}"#.to_vec(), None),
        ("PUT", "/v1/overlays/card", &json, br#"{}"#.to_vec(), None),
    ];
    // A valid object with more after it is no request; an update that changes nothing says so.
    let (status, resp) = http(port, "POST", "/v1/say", &json, br#"{"text":"hi"}}}}"#);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&resp));
    assert!(String::from_utf8_lossy(&resp).contains("trailing characters"), "{}", String::from_utf8_lossy(&resp));
    let (status, resp) = http(port, "PUT", "/v1/overlays/card", &json, b"{}");
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&resp));
    assert!(String::from_utf8_lossy(&resp).contains("product, visible and/or sale_seconds"), "{}", String::from_utf8_lossy(&resp));
    // An oversized body gets a readable answer naming the limit, not a reset connection.
    let (status, resp) = http(port, "POST", "/v1/say", &json, &vec![b' '; 2 << 20]);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&resp));
    assert!(String::from_utf8_lossy(&resp).contains("at most 16384 bytes"), "{}", String::from_utf8_lossy(&resp));
    let mut sent = 0;
    while sent < 200 {
        for (method, path, headers, body, field) in &cases {
            let (status, resp) = http(port, method, path, headers, body);
            assert!((400..500).contains(&status), "{method} {path} {:?}: got {status} {}", String::from_utf8_lossy(body).chars().take(60).collect::<String>(), String::from_utf8_lossy(&resp));
            if let Some(field) = field {
                let v: serde_json::Value = serde_json::from_slice(&resp).expect("JSON error body");
                assert_eq!(v["field"].as_str(), Some(*field), "{method} {path}: {v}");
            }
            sent += 1;
        }
    }
    // The stream kept going and keeps answering.
    let status = get_json(port, "/v1/status");
    assert!(status["frames_rendered"].as_u64().unwrap() > 0);
    assert!(live.wait().success(), "{}", live.log_text());
    let (vp, ap) = (packets(&video, "v"), packets(&video, "a"));
    assert_eq!(vp.len(), 400);
    assert_no_gaps(&vp, 0.040, "video");
    assert_no_gaps(&ap, 0.040, "audio");
}

#[test]
fn openapi_document_lists_exactly_the_routes() {
    let doc: serde_json::Value = serde_json::from_str(avatarcast::control::api::OPENAPI).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), path.clone())))
        .collect();
    let routed: BTreeSet<(String, String)> =
        avatarcast::control::api::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, routed);

    // And the server answers each of them (not 404/405).
    let dir = TempDir::new("api-routes");
    let live = LiveRun::start(&repo().join("config/demo.toml"), &["--duration", "30s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    for (method, path) in avatarcast::control::api::ROUTES {
        let path = path.replace("{id}", "1");
        let show = std::fs::read(repo().join("config/demo-show.toml")).unwrap();
        let body: &[u8] = match (*method, path.as_str()) {
            ("post", "/v1/comments") => br#"{"user": "ann", "text": "how much is it?"}"#,
            ("put", "/v1/show") => &show,
            ("post", "/v1/gesture") => br#"{"name": "wave"}"#,
            ("post", _) => br#"{"text": "Hello there."}"#,
            ("put", "/v1/scene") => br#"{"background": "night"}"#,
            ("put", "/v1/overlays/card") => br#"{"product": "lamp", "visible": true}"#,
            ("put", "/v1/overlays/captions") => br#"{"visible": false}"#,
            _ => b"",
        };
        let (status, resp) = http(live.port, &method.to_uppercase(), &path, &[("Content-Type", "application/json")], body);
        if path.starts_with("/v1/whep") {
            // WHEP speaks SDP (tests/whep_playback.rs plays it): here only that the route
            // itself answers, refusing JSON and an unknown session in its own words.
            let text = String::from_utf8_lossy(&resp);
            assert!((status == 415 && text.contains("SDP")) || (status == 404 && text.contains("WebRTC session")), "{method} {path}: {status} {text}");
            continue;
        }
        if path == "/v1/events" {
            // A WebSocket: without the upgrade handshake it refuses, but it is there.
            assert!(![404, 405].contains(&status), "{path}: {status}");
            continue;
        }
        assert!(status < 300, "{method} {path}: {status} {}", String::from_utf8_lossy(&resp));
    }
}

#[test]
fn a_token_guards_the_api_when_configured() {
    let dir = TempDir::new("api-token");
    let config = demo_config_with(dir.path(), "c.toml", |s| s + "\n[api]\ntoken = \"0123456789abcdef-secret\"\n");
    let live = LiveRun::start_with_token(&config, "0123456789abcdef-secret", &["--duration", "30s", "--output", dir.path().join("o.flv").to_str().unwrap()], dir.path().join("live.log"));
    let (status, _) = http(live.port, "GET", "/v1/status", &[], b"");
    assert_eq!(status, 401);
    let (status, _) = http(live.port, "GET", "/v1/status", &[("Authorization", "Bearer wrong")], b"");
    assert_eq!(status, 401);
    let (status, _) = http(live.port, "GET", "/v1/status", &[("Authorization", "Bearer 0123456789abcdef-secret")], b"");
    assert_eq!(status, 200);
}
