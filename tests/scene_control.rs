//! Scene changes through the API show in the stream: a background switch starts at
//! once and blends over the configured crossfade; a product card with a sale
//! countdown appears, counts down and leaves when it reaches zero; the host's
//! framing switches from half to full body.

use std::time::Duration;

use common::*;
use serde_json::json;

const FPS: f64 = 25.0;

/// Mean brightness of a patch in each decoded frame.
fn brightness(file: &std::path::Path, x: u32, y: u32, w: u32, h: u32) -> Vec<f64> {
    decode_video_crop(file, x, y, w, h).iter().map(|f| f.iter().map(|&b| b as f64).sum::<f64>() / f.len() as f64).collect()
}

#[test]
fn background_crossfades_and_the_sale_card_leaves_at_zero() {
    let dir = TempDir::new("scene");
    let config = config_with_show(dir.path(), r#"[[products]]
id = "lamp"
name = "Lumi Desk Lamp"
price = "$39"
original_price = "$59"
pitches = ["A lamp."]

[[segments]]
text = "Welcome to the test show. Today we talk about nothing in particular, and we take our time."
"#, |s| {
        s.replace("night = \"assets/backgrounds/night.svg\"", "night = \"#102040\"")
    });
    let video = dir.path().join("out.mkv");
    let mut live = LiveRun::start(&config, &["--duration", "14s", "--output", video.to_str().unwrap()], dir.path().join("live.log"));
    let port = live.port;
    wait_for(Duration::from_secs(20), "3 s of stream", || live.stream_seconds() > 3.0);

    let put = |path: &str, body: serde_json::Value| {
        let (status, resp) = http(port, "PUT", path, &[("Content-Type", "application/json")], body.to_string().as_bytes());
        assert_eq!(status, 202, "{path}: {}", String::from_utf8_lossy(&resp));
        live.stream_seconds()
    };
    let switched_at = put("/v1/scene", json!({"background": "night", "crossfade_ms": 400}));
    std::thread::sleep(Duration::from_secs(2));
    let card_at = put("/v1/overlays/card", json!({"product": "lamp", "sale_seconds": 3}));
    std::thread::sleep(Duration::from_secs(4));
    let framed_at = put("/v1/scene", json!({"framing": "full"}));
    assert!(live.wait().success(), "{}", live.log_text());

    // A patch of wall above the host's head, right of the label.
    let wall = brightness(&video, 560, 60, 100, 60);
    let (studio, night) = (wall[10], *wall.last().unwrap());
    assert!(studio > 180.0 && night < 60.0, "studio {studio:.0}, night {night:.0}");
    let first = wall.iter().position(|&b| b < studio - 5.0).expect("the background changes");
    let done = wall.iter().position(|&b| b < night + 5.0).expect("the background arrives");
    let request_frame = (switched_at * FPS) as usize;
    assert!(first + 3 >= request_frame && first <= request_frame + 6, "switch began at frame {first}, requested near {request_frame}");
    let fade = done - first + 1;
    assert!((8..=12).contains(&fade), "crossfade took {fade} frames, want ~10 (400 ms)");
    // Monotonic in between: a blend, not a cut.
    assert!(wall[first..=done].windows(2).all(|w| w[1] <= w[0] + 1.0), "{:?}", &wall[first..=done]);

    // The card: white, at the bottom right of the frame.
    let card = brightness(&video, 560, 1165, 100, 40);
    let shown: Vec<usize> = card.iter().enumerate().filter(|(_, b)| **b > 235.0).map(|(i, _)| i).collect();
    assert!(!shown.is_empty(), "card never shown");
    let (from, to) = (shown[0], *shown.last().unwrap());
    assert_eq!(shown.len(), to - from + 1, "card flickered");
    let on_screen = (to - from + 1) as f64 / FPS;
    assert!((on_screen - 3.0).abs() <= 0.12, "card on screen {on_screen:.2} s, want 3 s");
    assert!(((from as f64 / FPS) - card_at).abs() < 0.3, "card appeared at {:.2} s, requested at {card_at:.2} s", from as f64 / FPS);

    // Full-body framing: where the hair was (half body), the smaller host's neck and
    // blouse are now.
    let spot = brightness(&video, 350, 290, 20, 20);
    let k = (framed_at * FPS) as usize;
    assert!(spot[k - 10] < 90.0, "hair expected before the switch: {:.0}", spot[k - 10]);
    assert!(spot[k + 10] > 120.0, "full-body framing expected after the switch: {:.0}", spot[k + 10]);
}
