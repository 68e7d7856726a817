//! A real-person video pack end to end: `avatar import` turns a green-screen clip
//! (made by the test) into a pack; with consent filled in, `avatarcast live` plays it
//! with the neural lip-sync on the repo's test model. On the decoded output: the idle
//! plays forth and back without a jump, the gesture from show markup shows, full- and
//! half-body framings both appear, and the drawn mouth follows the sound within a frame.

use common::clip::{self, SHIRT, SKIN};
use common::*;

/// The test model draws this colour into the mouth (scripts/lipsync/make_test_model.py).
const DRAWN_MOUTH: [u8; 3] = MOUTH_INTERIOR;

/// What one decoded frame (360x640) shows of the host.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// Pixels of the drawn mouth.
    mouth: u32,
    /// The face's skin: centre across, top and height (edges, which the drawn mouth
    /// does not touch).
    face_x: f64,
    face_y: f64,
    face_h: f64,
    /// Shirt pixels above the eyes: the raised arm.
    arm_up: u32,
}

fn look(f: &[u8]) -> Seen {
    let (w, h) = (360usize, 640usize);
    let (mut mouth, mut n, mut sy, mut y0, mut y1, mut x0, mut x1) = (0, 0f64, 0f64, h, 0, w, 0);
    for y in (h / 12)..h {
        for x in 0..w {
            let p = &f[(y * w + x) * 3..][..3];
            if near(p, DRAWN_MOUTH, 45) {
                mouth += 1;
            }
            if near(p, SKIN, 30) {
                n += 1.0;
                sy += y as f64;
                y0 = y0.min(y);
                y1 = y1.max(y);
                x0 = x0.min(x);
                x1 = x1.max(x);
            }
        }
    }
    let (face_x, face_y) = if n > 0.0 { ((x0 + x1) as f64 / 2.0, y0 as f64) } else { (f64::NAN, f64::NAN) };
    let eyes = if n > 0.0 { (sy / n) as usize } else { 0 };
    let mut arm_up = 0;
    if n > 0.0 {
        for y in (h / 12)..eyes.min(h) {
            for x in 0..w {
                if near(&f[(y * w + x) * 3..][..3], SHIRT, 40) {
                    arm_up += 1;
                }
            }
        }
    }
    Seen { mouth, face_x, face_y, face_h: if n > 0.0 { (y1 - y0) as f64 } else { 0.0 }, arm_up }
}

#[test]
fn an_imported_video_pack_plays_live_with_neural_lipsync() {
    let dir = TempDir::new("video-avatar");
    let pack = clip::import_pack(dir.path());
    let manifest = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    assert!(manifest.contains("kind = \"video\"") && manifest.contains("[gestures.wave]") && manifest.contains("[consent]"), "{manifest}");
    let faces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(pack.join("faces.json")).unwrap()).unwrap();
    assert_eq!(faces["boxes"].as_array().unwrap().len(), 200, "a face box per frame");
    assert!(faces["boxes"].as_array().unwrap().iter().all(|b| b.is_array()), "the face was tracked in every frame");
    clip::give_consent(&pack);

    let show = "\
[[segments]]
text = \"[framing half]Hello and welcome! Today I have something special for you, so please stay with me.\"

[[segments]]
text = \"[gesture wave]Hi everyone, it is great to see you. Let me show you the new collection.\"

[[segments]]
text = \"[framing full]Here is the whole outfit, from head to toe. [pause 600ms] It fits really well.\"
";
    let config = config_with_show(dir.path(), show, |c| {
        c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"\n\n[avatar.lipsync]\nmodel = \"assets/lipsync/test-wav2lip.onnx\"", pack.display()))
            .replace("background = \"assets/backgrounds/studio.svg\"", "background = \"#202020\"")
            .replace("captions = true", "captions = false")
    });
    let file = dir.path().join("live.mkv");
    let mut live = LiveRun::start(&config, &["--duration", "24s", "--output", file.to_str().unwrap()], dir.path().join("live.log"));
    wait_for(std::time::Duration::from_secs(30), "lip-sync frames", || {
        get_json(live.port, "/v1/status")["avatar"]["lipsync"]["frames"].as_u64().unwrap_or(0) > 50
    });
    let status = get_json(live.port, "/v1/status");
    assert_eq!(status["avatar"]["gestures"], serde_json::json!(["wave"]), "{status}");
    assert!(live.wait().success(), "{}", live.log_text());
    let log = live.log_text();
    assert_renderer_kept_time(&log);
    assert!(!log.contains("is not in avatar pack"), "{log}");

    let seen: Vec<Seen> = map_video_frames(&file, 360, 640, look);
    assert!(seen.len() >= 24 * 25 - 5, "{} frames decoded", seen.len());

    // The drawn mouth follows the sound within one frame.
    let open: Vec<f64> = seen.iter().map(|s| s.mouth as f64).collect();
    let (lag, r) = assert_openness_follows_speech(&open, 6.0, &file, 25.0);
    eprintln!("neural lip-sync: mouth follows the sound at lag {lag} frames, r = {r:.2}");

    // Both framings: the face at two sizes, about the ratio of the framing rectangles.
    let mut heights: Vec<f64> = seen.iter().map(|s| s.face_h).filter(|&h| h > 0.0).collect();
    heights.sort_by(f64::total_cmp);
    let (small, large) = (heights[heights.len() / 20], heights[heights.len() * 19 / 20]);
    assert!(large > small * 1.5, "one framing only: face heights {small}..{large}");

    // The gesture from markup: the arm rises above the eyes, and not before the line asks.
    let first_up = seen.iter().position(|s| s.arm_up > 200).expect("the wave never showed");
    assert!(first_up > 25 * 3, "the arm rose at frame {first_up}, before the gesture's line");

    // Forth and back: within a framing and away from the gesture (and its crossfades),
    // the face never jumps.
    let near_gesture = |i: usize| seen[i.saturating_sub(20)..(i + 20).min(seen.len())].iter().any(|s| s.arm_up > 20);
    for (i, w) in seen.windows(2).enumerate() {
        let same_framing = (w[0].face_h - w[1].face_h).abs() < 0.1 * w[0].face_h;
        let idle = !near_gesture(i);
        if same_framing && idle && w[0].face_h > 0.0 {
            let jump = (w[1].face_x - w[0].face_x).abs() + (w[1].face_y - w[0].face_y).abs();
            assert!(jump < 4.0, "the picture jumps {jump:.1} px between frames {i} and {}", i + 1);
        }
    }
}
