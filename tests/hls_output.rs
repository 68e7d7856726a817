//! HLS for a web player: 2 s segments that start on keyframes, a rolling playlist of
//! the configured length, old segments deleted, and the playlist plays.

use std::process::Command;

use common::*;

#[test]
fn hls_segments_roll_and_play() {
    let dir = TempDir::new("hls");
    let hls = dir.path().join("hls");
    let hls_str = hls.to_str().unwrap().to_string();
    let config = demo_config_with(dir.path(), "c.toml", |c| {
        transcript_to(&dir.path().join("t.jsonl"))(c).replace(
            "[[output.file]]\npath = \"out/demo.mp4\"",
            &format!("[[output.hls]]\ndir = \"{hls_str}\"\nplaylist_length = 3"),
        )
    });
    let out = run(avatarcast().args(["render", "--duration", "20s", "--config"]).arg(&config));
    assert!(out.status.success(), "{}", text(&out));

    let playlist = std::fs::read_to_string(hls.join("index.m3u8")).unwrap();
    let listed: Vec<&str> = playlist.lines().filter(|l| l.ends_with(".ts")).collect();
    assert_eq!(listed.len(), 3, "{playlist}");
    assert!(playlist.contains("#EXT-X-TARGETDURATION:2"), "{playlist}");
    for l in playlist.lines().filter(|l| l.starts_with("#EXTINF:")) {
        let d: f64 = l["#EXTINF:".len()..].trim_end_matches(',').parse().unwrap();
        assert!((d - 2.0).abs() < 0.05, "segment of {d} s: {playlist}");
    }
    // Old segments are gone: the playlist's, plus the two a player may still be fetching.
    let on_disk = std::fs::read_dir(&hls).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|e| e == "ts")).count();
    assert!(on_disk <= 5, "{on_disk} segments on disk");
    for seg in &listed {
        let vp = packets(&hls.join(seg), "v");
        assert!(vp[0].key && vp.len() == 50, "{seg}: {} frames, first key {}", vp.len(), vp[0].key);
    }
    let play = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(hls.join("index.m3u8")).args(["-f", "null", "-"]).output().unwrap();
    assert!(play.status.success() && play.stderr.is_empty(), "{}", String::from_utf8_lossy(&play.stderr));
}
