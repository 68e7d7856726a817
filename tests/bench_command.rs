//! `avatarcast bench --json` prints one JSON object with its figures, the reference
//! piper-tts's synthesis speed beside avatarcast's among them.

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
}
