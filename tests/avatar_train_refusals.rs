//! `avatar train` refuses what it cannot train on, before any training, saying what
//! is missing: no consent on record, footage without sound, too little speech, no
//! face found; and a pack whose face model does not meet the contract does not load.

use common::*;

fn train(pack: &std::path::Path) -> (bool, String) {
    let out = run(avatarcast().args(["avatar", "train", "--pack"]).arg(pack).args(["--max-minutes", "1"]));
    (out.status.success(), text(&out))
}

#[test]
fn training_needs_consent_sound_speech_and_a_face() {
    let dir = TempDir::new("train-refusals");

    // The silent green-screen clip: no consent yet, then no sound.
    let silent = common::clip::import_pack(dir.path());
    let (ok, said) = train(&silent);
    assert!(!ok && said.contains("consent"), "{said}");
    common::clip::give_consent(&silent);
    let (ok, said) = train(&silent);
    assert!(!ok && said.contains("has no sound to train on"), "{said}");
    assert!(!silent.join("face-model.onnx").exists());

    // A presenter reading three sentences: sound, but far too little speech.
    let short_dir = dir.path().join("short");
    std::fs::create_dir_all(&short_dir).unwrap();
    let footage = common::presenter::write(&short_dir, &common::presenter::SCRIPT[..3]);
    let short = common::presenter::import_pack(&short_dir, &footage);
    let manifest_before = std::fs::read_to_string(short.join("avatar.toml")).unwrap();
    let (ok, said) = train(&short);
    assert!(!ok && said.contains("s of speech; training needs at least 60 s"), "{said}");

    // No face in the frames.
    let faces = short.join("faces.json");
    let mut track: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&faces).unwrap()).unwrap();
    for b in track["boxes"].as_array_mut().unwrap() {
        *b = serde_json::Value::Null;
    }
    std::fs::write(&faces, track.to_string()).unwrap();
    let (ok, said) = train(&short);
    assert!(!ok && said.contains("frames have a face box"), "{said}");
    assert_eq!(std::fs::read_to_string(short.join("avatar.toml")).unwrap(), manifest_before, "a refused run leaves the pack as it was");
    assert!(!short.join("face-model.onnx").exists());

    // A face model that is not one: the pack does not load, with the reason.
    std::fs::copy(repo().join("tests/fixtures/test-face-detector.onnx"), short.join("face-model.onnx")).unwrap();
    std::fs::write(short.join("avatar.toml"), manifest_before.replace("kind = \"video\"", "kind = \"video\"\nface_model = \"face-model.onnx\"")).unwrap();
    let config = demo_config_with(dir.path(), "c.toml", |c| c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", short.display())));
    let out = run(avatarcast().args(["check", "--config"]).arg(&config));
    let said = text(&out);
    assert!(!out.status.success() && said.contains("a face model needs a face input"), "{said}");
}
