//! The 3D host's hair swings after a head turn: the generated VRM 1.0 host shakes its
//! head in a pause, once with its spring bones and once with `avatar.spring_bones =
//! false`. Where the side locks hang, the two renders differ a little at rest (the
//! hair hangs under gravity) and that difference churns while the head turns and the
//! hair trails and settles.

use common::character::{imported_character, with_pack};
use common::*;

const SHOW: &str = r#"
sentence_pause_ms = 450

[[segments]]
text = "Hello there, and welcome to the show. [pause 2000ms] [gesture shake]No. [pause 3000ms]"
"#;

/// Below the cheeks, across both side locks, in the 720x1280 half-body shot.
const LOCKS: (u32, u32, u32, u32) = (140, 380, 480, 200);

/// Per frame, each pixel's channel sum in LOCKS.
fn locks(dir: &std::path::Path, name: &str, springs: bool, transcript_path: &std::path::Path, pack: &std::path::Path) -> Vec<Vec<i32>> {
    let config = config_with_show(dir, SHOW, |c| {
        let c = transcript_to(transcript_path)(with_pack(pack)(c));
        if springs { c } else { c.replace("[avatar]\n", "[avatar]\nspring_bones = false\n") }
    });
    let file = dir.join(format!("{name}.mkv"));
    let out = run(avatarcast().args(["render", "--duration", "8s", "--config"]).arg(&config).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    let (x, y, w, h) = LOCKS;
    decode_video_crop(&file, x, y, w, h).iter().map(|f| f.chunks_exact(3).map(|p| p.iter().map(|&c| c as i32).sum()).collect()).collect()
}

#[test]
fn spring_hair_trails_a_head_turn() {
    let dir = TempDir::new("character-springs");
    let pack = imported_character(dir.path(), "host", "vrm1");
    let transcript_path = dir.path().join("transcript.jsonl");
    let with = locks(dir.path(), "springs", true, &transcript_path, &pack);
    let without = locks(dir.path(), "fixed", false, &transcript_path, &pack);
    let turn_at = transcript(&transcript_path).iter().find(|l| l["text"] == "No.").expect("the shake's line")["start"].as_f64().unwrap();
    let turn = (turn_at * 25.0).round() as usize;

    // How much the springs' difference changes over 4 frames, on average.
    let churn = |frames: std::ops::Range<usize>| -> f64 {
        let per_frame: Vec<f64> = frames
            .map(|n| {
                let d = |k: usize| with[k].iter().zip(&without[k]).map(|(a, b)| a - b);
                d(n).zip(d(n - 4)).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / with[n].len() as f64
            })
            .collect();
        per_frame.iter().sum::<f64>() / per_frame.len() as f64
    };
    let turning = churn(turn..turn + 30);
    let before = churn(turn - 40..turn - 5);
    eprintln!("springs' difference churns {turning:.1} a frame while the head turns, {before:.1} before");
    assert!(turning > 10.0 && turning > 2.0 * before, "the hair does not trail the head turn: churn {turning:.1} turning, {before:.1} before");
}
