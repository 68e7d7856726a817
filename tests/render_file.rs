//! `avatarcast render` writes a complete, playable file of the requested length, in
//! the container its name asks for, faster than real time, with the same lip-sync
//! as live.

use common::*;

#[test]
fn render_writes_playable_mp4_and_mkv() {
    let dir = TempDir::new("render");
    let (mp4, mkv) = (dir.path().join("show.mp4"), dir.path().join("show.mkv"));
    let out = run(avatarcast().args(["render", "--duration", "12s", "--output"]).arg(&mp4).arg("--output").arg(&mkv));
    assert!(out.status.success(), "render failed:\n{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("wrote {}", mp4.display())), "{}", text(&out));

    for file in [&mp4, &mkv] {
        let info = streams(file);
        let duration: f64 = info["format"]["duration"].as_str().unwrap().parse().unwrap();
        assert!((duration - 12.0).abs() < 0.15, "{}: duration {duration}", file.display());
        let v = stream_of(&info, "video");
        assert_eq!((v["codec_name"].as_str(), v["profile"].as_str()), (Some("h264"), Some("Main")));
        assert_eq!(v["avg_frame_rate"], "25/1");
        assert_eq!(stream_of(&info, "audio")["codec_name"], "aac");
        // Everything decodes.
        let check = run(std::process::Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(file).args(["-f", "null", "-"]));
        assert!(check.status.success() && check.stderr.is_empty(), "{}: {}", file.display(), text(&check));
    }
    let vp = packets(&mp4, "v");
    assert_eq!(vp.len(), 300);
    assert_keyframe_interval(&vp, 2.0);
    assert_mouth_follows_speech(&mp4, 720, 1280, 25.0);
}

#[test]
fn size_and_fps_come_from_the_config() {
    let dir = TempDir::new("render-size");
    let config = dir.path().join("landscape.toml");
    let demo = std::fs::read_to_string(repo().join("config/demo.toml")).unwrap();
    let custom = demo.replace("size = \"720x1280\"", "size = \"640x360\"").replace("fps = 25", "fps = 30");
    assert_ne!(custom, demo);
    std::fs::write(&config, custom).unwrap();
    let file = dir.path().join("wide.flv");
    let out = run(avatarcast().args(["render", "--duration", "4s", "--config"]).arg(&config).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    let info = streams(&file);
    let v = stream_of(&info, "video");
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(640), Some(360)));
    assert_eq!(packets(&file, "v").len(), 120);
    assert_keyframe_interval(&packets(&file, "v"), 2.0);
}
