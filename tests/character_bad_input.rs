//! What a brand may bring that cannot go on air is refused with the file and what to
//! do, and `avatar import --model` leaves no half-made pack behind: a truncated model,
//! a model whose licence forbids corporate use, and a clip that moves a bone the model
//! lacks (also when such a clip is named in a pack's manifest: the stream does not start).

use std::path::Path;

use common::character::{generated_model, with_pack};
use common::*;

/// `file`, a GLB, with its JSON chunk's text edited by `edit`.
fn edit_glb_json(file: &Path, out: &Path, edit: impl FnOnce(String) -> String) {
    let bytes = std::fs::read(file).unwrap();
    let json_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let mut json = edit(String::from_utf8(bytes[20..20 + json_len].to_vec()).unwrap()).into_bytes();
    while json.len() % 4 != 0 {
        json.push(b' ');
    }
    let rest = &bytes[20 + json_len..];
    let mut glb = bytes[..8].to_vec();
    glb.extend_from_slice(&((20 + json.len() + rest.len()) as u32).to_le_bytes());
    glb.extend_from_slice(&(json.len() as u32).to_le_bytes());
    glb.extend_from_slice(b"JSON");
    glb.extend_from_slice(&json);
    glb.extend_from_slice(rest);
    std::fs::write(out, glb).unwrap();
}

fn import(model: &Path, out: &Path, extra: &[&str]) -> (bool, String) {
    let o = run(avatarcast().args(["avatar", "import", "--model"]).arg(model).arg("--out").arg(out).args(extra));
    (o.status.success(), text(&o))
}

#[test]
fn models_and_clips_that_cannot_go_on_air_are_refused_by_name() {
    let dir = TempDir::new("character-bad-input");
    let model = generated_model(&dir.path().join("models"), "vrm1", "corporation");

    let truncated = dir.path().join("truncated.vrm");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let pack = dir.path().join("cut");
    let (ok, said) = import(&truncated, &pack, &[]);
    assert!(!ok && said.contains("truncated.vrm") && said.contains("truncated"), "{said}");
    assert!(!pack.exists() && !pack.with_extension("importing").exists(), "a refused import left files");

    let personal = generated_model(&dir.path().join("personal"), "vrm1", "personalNonProfit");
    let (ok, said) = import(&personal, &dir.path().join("personal-pack"), &[]);
    assert!(!ok && said.contains("commercialUsage = \"personalNonProfit\""), "{said}");
    assert!(!dir.path().join("personal-pack").exists());

    // The shipped wave, its forearm bone renamed to a finger bone the test host lacks.
    let bad_clip = dir.path().join("bow.vrma");
    edit_glb_json(&repo().join("assets/clips/wave.vrma"), &bad_clip, |j| j.replace("\"rightLowerArm\":", "\"rightIndexProximal\":"));
    let (ok, said) = import(&model, &dir.path().join("bow-pack"), &["--gesture", &format!("bow={}", bad_clip.display())]);
    assert!(!ok && said.contains("bow.vrma") && said.contains("rightIndexProximal"), "{said}");
    assert!(!dir.path().join("bow-pack").exists());

    // The same clip written into a good pack's manifest by hand: the stream does not start.
    let pack = dir.path().join("good");
    assert!(import(&model, &pack, &[]).0);
    std::fs::copy(&bad_clip, pack.join("clips/bow.vrma")).unwrap();
    let manifest = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    std::fs::write(pack.join("avatar.toml"), manifest.replace("[gestures]\n", "[gestures]\nbow = \"clips/bow.vrma\"\n")).unwrap();
    let config = demo_config_with(dir.path(), "c.toml", with_pack(&pack));
    let out = run(avatarcast().args(["render", "--duration", "2s", "--config"]).arg(&config).arg("--output").arg(dir.path().join("x.mkv")));
    assert!(!out.status.success() && text(&out).contains("clips/bow.vrma") && text(&out).contains("rightIndexProximal"), "{}", text(&out));
    assert!(!dir.path().join("x.mkv").exists(), "the stream started");
}
