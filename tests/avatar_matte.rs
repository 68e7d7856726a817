//! A video pack whose alpha comes from a matte video instead of a chroma key: the
//! footage's screen disappears and the scene's background shows through once
//! `avatar refresh` has made the played frames with it.

use common::clip::{self, SCREEN, SHIRT};
use common::*;

/// Pixels near `colour` in the middle frame of a render.
fn count(file: &std::path::Path, colour: [u8; 3]) -> usize {
    let frames = map_video_frames(file, 180, 320, |f| f.chunks_exact(3).filter(|p| near(p, colour, 30)).count());
    frames[frames.len() / 2]
}

#[test]
fn a_matte_video_cuts_the_presenter_out() {
    let dir = TempDir::new("matte");
    let video = dir.path().join("presenter.mp4");
    clip::write(&video);
    let pack = dir.path().join("pack");
    let face = clip::FACE.map(|v| v.to_string()).join(",");
    let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(&video).arg("--out").arg(&pack).args(["--face", &face, "--key", "none"]));
    assert!(out.status.success() && text(&out).contains("no key"), "{}", text(&out));
    clip::give_consent(&pack);
    let config = demo_config_with(dir.path(), "c.toml", |c| {
        c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display()))
            .replace("background = \"assets/backgrounds/studio.svg\"", "background = \"#202020\"")
    });
    let render = |name: &str| {
        let file = dir.path().join(name);
        let out = run(avatarcast().args(["render", "--duration", "2s", "--config"]).arg(&config).arg("--output").arg(&file));
        assert!(out.status.success(), "{}", text(&out));
        file
    };

    // No key and no matte: the footage shows whole, green screen and all.
    let whole = render("whole.mkv");
    assert!(count(&whole, SCREEN) > 5000, "the screen should show without a key or matte");

    // With the matte: the screen is gone, the presenter stays.
    clip::write_matte(&pack.join("matte.mp4"));
    let manifest = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    std::fs::write(pack.join("avatar.toml"), manifest.replace("faces = \"faces.json\"", "faces = \"faces.json\"\nalpha_video = \"matte.mp4\"")).unwrap();
    // The played frames were made without it: the pack says so until refreshed.
    let stale = run(avatarcast().args(["render", "--duration", "1s", "--config"]).arg(&config).arg("--output").arg(dir.path().join("stale.mkv")));
    assert!(!stale.status.success() && text(&stale).contains("avatarcast avatar refresh --pack"), "{}", text(&stale));
    let refresh = run(avatarcast().args(["avatar", "refresh", "--pack"]).arg(&pack));
    assert!(refresh.status.success() && text(&refresh).contains("played frames: "), "{}", text(&refresh));
    let cut = render("cut.mkv");
    let (screen, shirt, background) = (count(&cut, SCREEN), count(&cut, SHIRT), count(&cut, [0x20, 0x20, 0x20]));
    assert!(screen < 50, "{screen} screen pixels left");
    assert!(shirt > 3000 && background > 10_000, "shirt {shirt}, background {background}");
}
