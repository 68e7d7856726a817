//! A 3D host (the repo's generated VRM 1.0 character, drawn by Vulkan on lavapipe or
//! a GPU) speaks the demo show: on the decoded output its mouth opens with the speech
//! and rests in the pauses, within a frame of the sound.

use common::character::character_pack;
use common::*;

/// The generated cartoon host's mouth in the half-body shot at 720x1280 (the camera
/// frames head to hips from the rest pose, so it is fixed for this character).
const MOUTH_BOX: (u32, u32, u32, u32) = (306, 420, 104, 52);

/// Pixels of the open mouth's dark interior and tongue: darker than the skin and lips,
/// and red.
fn openness(file: &std::path::Path) -> Vec<f64> {
    let (x, y, w, h) = MOUTH_BOX;
    decode_video_crop(file, x, y, w, h)
        .iter()
        .map(|f| f.chunks_exact(3).filter(|p| (p[0] as i32) < 215 && p[0] as i32 - p[1] as i32 > 60).count() as f64)
        .collect()
}

#[test]
fn the_3d_hosts_mouth_follows_its_speech() {
    let dir = TempDir::new("character-speaks");
    let pack = character_pack(dir.path(), "vrm-host", "vrm1", "corporation");
    let config = demo_config_with(dir.path(), "config.toml", |c| c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display())));
    let file = dir.path().join("out.mkv");
    let out = run(avatarcast().args(["render", "--duration", "16s", "--config"]).arg(&config).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3D host ready"), "the pack was not drawn as a 3D host: {}", text(&out));
    let open = openness(&file);
    let most = open.iter().cloned().fold(0.0, f64::max);
    assert!(most > 200.0, "the mouth never opened wide (at most {most} interior pixels)");
    // Closed lips show 10-30 such pixels (their line), teeth-together consonants ~80.
    let (lag, r) = assert_openness_follows_speech(&open, 100.0, &file, 25.0);
    eprintln!("3D host: mouth follows speech at lag {lag} frames, r = {r:.2}, widest {most} px");
}
