//! Recorded lines in the show (`[[segments]] audio = "clip.wav"`): played as recorded,
//! captioned with the segment's `text`, and the host's mouth follows the recording's
//! sound within a frame (checked on the decoded output). A missing file is refused
//! with its line.

use common::*;

#[test]
fn a_recorded_line_plays_with_the_mouth_following_it() {
    let dir = TempDir::new("recorded");
    // The recording: speech made by `avatarcast say`, as MP3 to go through a decoder.
    let wav = dir.path().join("clip.wav");
    let out = run(avatarcast().args(["say", "--text", "Hello from a recording. This line was made earlier, and it still sounds fine."]).arg("--output").arg(&wav));
    assert!(out.status.success(), "{}", text(&out));
    let mp3 = dir.path().join("clip.mp3");
    let ff = std::process::Command::new("ffmpeg").args(["-v", "error", "-y", "-i"]).arg(&wav).arg(&mp3).status().unwrap();
    assert!(ff.success());
    let show = format!(
        "[[segments]]\naudio = \"{}\"\ntext = \"Hello from a recording.\"\n\n[[segments]]\naudio = \"{}\"\n",
        mp3.display(),
        wav.display()
    );
    let transcript_path = dir.path().join("t.jsonl");
    let config = config_with_show(dir.path(), &show, transcript_to(&transcript_path));
    let file = dir.path().join("out.mkv");
    let out = run(avatarcast().args(["render", "--duration", "16s", "--config"]).arg(&config).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    let (lag, r) = assert_mouth_follows_speech(&file, 720, 1280, 25.0);
    eprintln!("recorded line: mouth follows the sound at lag {lag} frames, r = {r:.2}");
    let t = transcript(&transcript_path);
    assert_eq!(t[0]["text"], "Hello from a recording.", "{t:?}");
    assert!(t.len() >= 2 && t[1]["text"] == "", "both recordings played, the second without a caption: {t:?}");

    // A recording that is not there: refused at start, with the line.
    let missing = config_with_show(dir.path(), "[[segments]]\naudio = \"nowhere/clip.wav\"\n", |c| c);
    let out = run(avatarcast().args(["render", "--duration", "2s", "--config"]).arg(&missing).arg("--output").arg(dir.path().join("x.mkv")));
    assert!(!out.status.success() && text(&out).contains("segments[0].audio") && text(&out).contains("not found"), "{}", text(&out));
}
