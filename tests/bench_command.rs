//! `avatarcast bench --json` prints one JSON object with its figures, the reference
//! piper-tts's synthesis speed beside avatarcast's and the neural lip-sync's stages
//! among them; with `--channels`, rounds of real live channels, one more each round,
//! and the most that held.

use common::*;

#[test]
fn bench_json_reports_the_figures() {
    let out = run(avatarcast().args(["bench", "--json", "--seconds", "3", "--channels", "--channel-seconds", "6", "--max-channels", "2"]));
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

    // Rounds of live channels: each channel's CPU, memory and time to its first
    // frame; the figure is the last round of an unbroken run of rounds that held.
    let c = &v["channels"];
    let rounds = c["rounds"].as_array().unwrap_or_else(|| panic!("no channel rounds: {v}"));
    assert!(!rounds.is_empty() && rounds.len() <= 2, "{c}");
    for (i, r) in rounds.iter().enumerate() {
        let runs = r["runs"].as_array().unwrap();
        assert_eq!(runs.len(), i + 1, "round {i} runs {} channels: {c}", runs.len());
        for ch in runs {
            assert!(ch["cpu_cores"].as_f64().unwrap() > 0.05, "{ch}");
            assert!(ch["peak_rss_mb"].as_f64().unwrap() > 50.0, "{ch}");
            let first = ch["start_to_first_frame_s"].as_f64().unwrap_or_else(|| panic!("no time to the first frame: {ch}"));
            assert!(first > 0.0 && first < 6.0 * 3.0, "{ch}");
            let clean = ch["late_frames"].as_u64() == Some(0) && ch["repeated_frames"].as_u64() == Some(0);
            if r["held"].as_bool().unwrap() {
                assert!(clean, "a round that held had a late or repeated frame: {r}");
            }
        }
    }
    let held = rounds.iter().take_while(|r| r["held"].as_bool().unwrap()).count();
    assert_eq!(c["channels"].as_u64(), Some(held as u64), "{c}");
}
