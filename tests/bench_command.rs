//! `avatarcast bench --json` prints one JSON object with its figures, the reference
//! piper-tts's synthesis speed beside avatarcast's and the neural lip-sync's stages
//! among them.

mod common;

use common::*;

#[test]
fn bench_json_reports_the_figures() {
    let out = run(avatarcast().args(["bench", "--json", "--seconds", "3"]));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "one line of JSON on stdout: {stdout}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("valid JSON");
    for key in ["render_fps", "pipeline_fps", "encode_floor_fps", "tts_rtf", "tts_first_audio_ms", "reference_piper_tts_rtf", "mouth_model_x_realtime"] {
        let x = v[key].as_f64().unwrap_or_else(|| panic!("{key} missing: {v}"));
        assert!(x.is_finite() && x > 0.0, "{key} = {x}");
    }
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(720), Some(1280)));
    assert!(v["reference_piper_tts"].as_str().unwrap().starts_with("piper-tts 1.8.0"), "{v}");

    // The neural lip-sync path per stage, on the test model (no model configured).
    let l = &v["neural_lipsync"];
    assert_eq!(l["model"], "assets/lipsync/test-wav2lip.onnx", "{l}");
    assert_eq!((l["provider"].as_str(), l["face_size"].as_u64()), (Some("cpu"), Some(96)), "{l}");
    let stages: f64 = ["features_ms", "crop_ms", "inference_ms", "paste_ms"]
        .iter()
        .map(|k| l[*k].as_f64().filter(|x| *x > 0.0).unwrap_or_else(|| panic!("{k}: {l}")))
        .sum();
    let fps = l["fps"].as_f64().unwrap();
    assert!((fps * stages / 1000.0 - 1.0).abs() < 0.05, "fps {fps} is not the stages' total {stages} ms: {l}");
}
