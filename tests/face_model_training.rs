//! A presenter's own face model, end to end: a synthetic presenter reads sentences
//! aloud on camera (their mouth drawn from their own voice's phonemes, so every
//! frame's truth is known), `avatar import` makes the pack, `avatar train` trains the
//! model (bounded to a few minutes here), and `avatarcast live` plays the pack with a
//! Piper voice the footage never used: on the decoded stream the drawn mouth opens
//! with the sound, rests in silence, and follows within a frame.

use common::presenter::{self, LEAD_IN};
use common::*;

/// Training for the test, bounded by passes over the data (about 1300 steps, 5 minutes
/// on an idle 2-core machine), not by time: a busy machine then takes longer but
/// trains the same model (bounded by 4 minutes, a busy CI machine once trained too
/// little to pass). The time limit only keeps a stuck run from going on; the figures
/// of a full run are in docs/face-model.md.
const TRAIN_EPOCHS: &str = "8";
const TRAIN_MINUTES_AT_MOST: &str = "20";

/// Pixels of the open mouth's dark red inside in a decoded 360x640 frame (not the
/// lips, nor the hair or the background, which are not red). The inside is drawn
/// (74, 18, 28) and the lips (184, 90, 90); a briefly trained model draws the closed
/// lips blurred and darker (red down to about 140), so red below 130 is the inside.
/// Over three runs' recordings: at most 81 such pixels in a silent frame, a median of
/// 202 to 240 in speech.
fn mouth_interior(f: &[u8]) -> f64 {
    f.chunks_exact(3).filter(|p| p[0] < 130 && p[0] as i32 - p[1] as i32 > 40 && p[2] < p[0]).count() as f64
}

#[test]
fn a_presenter_trained_from_their_footage_speaks_with_another_voice() {
    let dir = TempDir::new("face-model");
    let footage = presenter::write(dir.path(), presenter::SCRIPT);
    let pack = presenter::import_pack(dir.path(), &footage);

    // The idle is a short quiet stretch: the lead-in before the reading starts.
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(pack.join("avatar.toml")).unwrap()).unwrap();
    let idle = (manifest["idle"]["first"].as_integer().unwrap(), manifest["idle"]["last"].as_integer().unwrap());
    assert!(idle.1 < (LEAD_IN * 25.0) as i64, "idle {idle:?} is not in the quiet lead-in");

    // Interrupted (SIGTERM) after its first steps: the pack is left as it was, the
    // checkpoint is kept, and the next run resumes from it.
    let manifest_before = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    let train = || {
        let mut c = avatarcast();
        c.args(["avatar", "train", "--pack"]).arg(&pack).args(["--max-minutes", TRAIN_MINUTES_AT_MOST, "--epochs", TRAIN_EPOCHS]);
        c
    };
    let child = train().stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    wait_for(std::time::Duration::from_secs(300), "the training data", || pack.join("training/meta.json").exists());
    std::thread::sleep(std::time::Duration::from_secs(30));
    // SAFETY: signals the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert!(!out.status.success() && said.contains("interrupted at step"), "{said}");
    assert_eq!(std::fs::read_to_string(pack.join("avatar.toml")).unwrap(), manifest_before);
    assert!(!pack.join("face-model.onnx").exists() && pack.join("training/checkpoint.npz").exists());

    let out = run(&mut train());
    let said = text(&out);
    assert!(out.status.success(), "avatar train failed: {said}");
    assert!(said.contains("reusing the training data") && said.contains("resuming from the checkpoint at step"), "{said}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(pack.join("face-model.json")).unwrap()).unwrap();
    assert!(report["steps"].as_u64().unwrap() > 200, "{report}");
    assert!(report["data"]["held_out_sentences"].as_u64().unwrap() >= 3, "{report}");
    let manifest = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    assert!(manifest.contains("face_model = \"face-model.onnx\""), "{manifest}");
    assert!(!pack.join("face-model.onnx.part").exists() && !pack.join("avatar.toml.part").exists());

    // On the held-out sentences the model draws the real mouth better than the
    // footage's own idle mouth and than lookup of the nearest training frame, driven
    // by the footage's sound and by the Piper voice saying the same sentences: closer
    // to the real picture (PSNR), and opening with it far better than the idle and at
    // least as well as the lookup (which shows real mouths of the right shape, but in
    // another frame's pose).
    let out = run(avatarcast().args(["avatar", "eval", "--json", "--pack"]).arg(&pack));
    assert!(out.status.success(), "avatar eval failed: {}", text(&out));
    let eval: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!("avatar eval: {eval:#}");
    let psnr = |k: &str| eval[k]["psnr_db"].as_f64().unwrap_or_else(|| panic!("{k}: {eval}"));
    let opening = |k: &str| eval[k]["opening_r"].as_f64().unwrap();
    for model in ["model_footage_sound", "model_other_voice"] {
        // Clearly closer: over runs the model led lookup by 0.68 to 1.3 dB (where the
        // SIGTERM lands, hence the resumed run's batches, varies) and the idle by about 3.
        for baseline in ["baseline_idle_mouth", "baseline_nearest_phoneme"] {
            assert!(psnr(model) > psnr(baseline) + 0.5, "{model} vs {baseline}: {eval:#}");
        }
        assert!(opening(model) > opening("baseline_idle_mouth") + 0.5, "{model}: {eval:#}");
        // "About as well": between runs (the footage is encoded anew, and XLA's threaded
        // reductions vary) the model's r ranged 0.76 to 0.84 against lookup's 0.78.
        assert!(opening(model) > opening("baseline_nearest_phoneme") - 0.05, "{model}: {eval:#}");
        assert!(eval[model]["lag_frames"].as_i64().unwrap().abs() <= 1, "{model}: {eval:#}");
        // The face mesh reads the lips on the drawn crops as on the real ones: the gap
        // follows the real gap (r 0.65 to 0.69 over runs, the idle's -0.5 to 0), and is
        // off by about half as much as the idle's.
        let gap = |k: &str, f: &str| eval[k]["lip_gap"][f].as_f64().unwrap_or_else(|| panic!("{k}: no lip_gap: {eval:#}"));
        assert!(gap(model, "r") > 0.5 && gap(model, "r") > gap("baseline_idle_mouth", "r") + 0.4, "{model}: {eval:#}");
        assert!(gap(model, "mean_error") < 0.7 * gap("baseline_idle_mouth", "mean_error"), "{model}: {eval:#}");
        // Pasted into the whole frame as on air, the drawn mouth brings the frame closer
        // to the real one than the idle's mouth does (a 30-minute model: 4.6 dB).
        let on_air = |k: &str| eval[k]["on_air_psnr_db"].as_f64().unwrap_or_else(|| panic!("{k}: {eval}"));
        assert!(on_air(model) > on_air("baseline_idle_mouth") + 1.0, "{model}: {eval:#}");
    }

    // On air with the Piper voice, no lip-sync setting: the pack's own model draws the mouth.
    let show = "\
[[segments]]
text = \"Hello and welcome! Today I have something special for you, so please stay with me.\"

[[segments]]
text = \"This lamp gives a warm light, and it runs for nine hours on one charge.\"

[[segments]]
text = \"Order before midnight [pause 900ms] and it ships tomorrow morning.\"
";
    let config = config_with_show(dir.path(), show, |c| {
        c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display()))
            .replace("background = \"assets/backgrounds/studio.svg\"", "background = \"#202020\"")
            .replace("captions = true", "captions = false")
    });
    let file = dir.path().join("live.mkv");
    let mut live = LiveRun::start(&config, &["--duration", "20s", "--output", file.to_str().unwrap()], dir.path().join("live.log"));
    assert!(live.wait().success(), "{}", live.log_text());
    let log = live.log_text();
    assert_renderer_kept_time(&log);
    assert!(log.contains("neural lip-sync ready"), "{log}");

    let open: Vec<f64> = map_video_frames(&file, 360, 640, mouth_interior);
    let (lag, r) = assert_openness_follows_speech(&open, 110.0, &file, 25.0);
    eprintln!("trained face model on air: the mouth follows the Piper voice at lag {lag} frames, r = {r:.2}");
}
