//! A Mandarin show on the espeak-ng engine (`voice.engine = "espeak"`, `language =
//! "cmn"`): prices and counts normalized into Chinese words, timed by espeak-ng's own
//! phoneme events, and the host's mouth follows the sound within a frame.

use common::*;

#[test]
fn a_mandarin_line_plays_with_moving_lips() {
    let dir = TempDir::new("mandarin");
    let show = r#"[[products]]
id = "cup"
name = "保温杯"
price = "¥199"
pitches = ["欢迎来到直播间！今天特价。只要¥199！买2件打8折。保温一整天。"]

[[segments]]
product = "cup"
"#;
    let config = config_with_show(dir.path(), show, |c| {
        transcript_to(&dir.path().join("t.jsonl"))(c).replace("[voice]\n", "[voice]\nengine = \"espeak\"\nlanguage = \"cmn\"\n")
    });
    let file = dir.path().join("out.mkv");
    let out = run(avatarcast().args(["render", "--duration", "20s", "--config"]).arg(&config).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    let (lag, r) = assert_mouth_follows_speech(&file, 720, 1280, 25.0);
    eprintln!("Mandarin: mouth follows speech at lag {lag} frames, r = {r:.2}");
    let t = transcript(&dir.path().join("t.jsonl"));
    let said: Vec<&str> = t.iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert!(said.contains(&"只要¥199！"), "captions keep what was written: {said:?}");
}
