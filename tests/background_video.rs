//! A looping background video: the stream shows its frames in order and starts
//! over at its end.

use std::process::Command;

use common::*;

#[test]
fn background_video_plays_and_loops() {
    let dir = TempDir::new("bg-video");
    // One second red, one second blue, at the output's aspect ratio.
    let clip = dir.path().join("bg.mp4");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-filter_complex"])
        .arg("color=c=red:s=360x640:r=25:d=1[a];color=c=blue:s=360x640:r=25:d=1[b];[a][b]concat=n=2:v=1:a=0")
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&clip)
        .status()
        .unwrap();
    assert!(made.success());
    let config = demo_config_with(dir.path(), "c.toml", |s| {
        s.replace("background = \"assets/backgrounds/studio.svg\"", &format!("background = \"{}\"", clip.display()))
    });
    let video = dir.path().join("out.mp4");
    let out = run(avatarcast().args(["render", "--duration", "5s", "--config"]).arg(&config).arg("--output").arg(&video));
    assert!(out.status.success(), "{}", text(&out));

    // A patch of background beside the host: red or blue in each frame.
    let frames = decode_video_crop(&video, 620, 200, 60, 60);
    let colour: String = frames
        .iter()
        .map(|f| {
            let (r, b) = f.chunks_exact(3).fold((0u64, 0u64), |(r, b), p| (r + p[0] as u64, b + p[2] as u64));
            if r > b * 2 { 'R' } else if b > r * 2 { 'B' } else { '?' }
        })
        .collect();
    assert_eq!(colour.len(), 125);
    // Runs of ~25 frames each, alternating, starting red: R B R B R.
    let mut runs: Vec<(char, usize)> = Vec::new();
    for c in colour.chars() {
        match runs.last_mut() {
            Some((last, n)) if *last == c => *n += 1,
            _ => runs.push((c, 1)),
        }
    }
    let kinds: String = runs.iter().map(|(c, _)| *c).collect();
    assert_eq!(kinds, "RBRBR", "{colour}");
    for (c, n) in &runs {
        assert!((24..=26).contains(n), "a {c} run of {n} frames: {colour}");
    }
}
