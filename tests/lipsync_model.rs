//! Loading lip-sync models on the Wav2Lip contract: names are read from the model
//! (two exports with different names both work), the output follows the audio, a
//! model of another shape and a GPU provider this ONNX Runtime lacks are refused with
//! the file and the fix.

use avatarcast::lipsync::neural::mel::{MEL_BANDS, SILENCE, WINDOW_COLUMNS};
use avatarcast::config::{LipsyncConfig, Provider};
use avatarcast::lipsync::neural::FaceModel;
use common::*;

fn config(model: &str) -> LipsyncConfig {
    LipsyncConfig { model: repo().join(model), threads: 1, ..LipsyncConfig::default() }
}

fn onnxruntime() -> std::path::PathBuf {
    avatarcast::config::Config::load(&repo().join("config/demo.toml")).unwrap().voice.onnxruntime_path()
}

/// Mean of the model's output over the mouth region, for silence and for speech.
fn mouth_darkness(model: &mut FaceModel) -> (f32, f32) {
    let s = model.size;
    let face = vec![0.8f32; 2 * 6 * s * s];
    let mut mels = vec![SILENCE; MEL_BANDS * WINDOW_COLUMNS];
    mels.extend(std::iter::repeat_n(0.5, MEL_BANDS * WINDOW_COLUMNS));
    let out = model.infer(&mels, &face, 2).unwrap();
    let mean = |b: usize| {
        let (r0, r1, c0, c1) = (s * 70 / 96, s * 76 / 96, s * 44 / 96, s * 52 / 96);
        let mut sum = 0.0;
        for y in r0..r1 {
            for x in c0..c1 {
                sum += out[b * 3 * s * s + y * s + x];
            }
        }
        sum / ((r1 - r0) * (c1 - c0)) as f32
    };
    (mean(0), mean(1))
}

#[test]
fn models_load_by_shape_and_follow_the_audio() {
    for file in ["assets/lipsync/test-wav2lip.onnx", "tests/fixtures/wav2lip-renamed.onnx"] {
        let mut model = FaceModel::load(&config(file), &onnxruntime()).unwrap_or_else(|e| panic!("{file}: {e:#}"));
        assert_eq!(model.size, 96);
        let (silent, speaking) = mouth_darkness(&mut model);
        // Silence: the reference face as it is; speech: the drawn mouth.
        assert!((silent - 0.8).abs() < 0.01, "{file}: silence changed the face ({silent})");
        assert!(speaking < 0.5, "{file}: speech drew no mouth ({speaking})");
    }
}

#[test]
fn wrong_models_and_missing_providers_are_refused() {
    let err = |c: LipsyncConfig| format!("{:#}", FaceModel::load(&c, &onnxruntime()).err().expect("should be refused"));
    let e = err(config("assets/lipsync/mouth-from-audio.onnx"));
    assert!(e.contains("mouth-from-audio.onnx") && e.contains("a face model needs a face input") && e.contains("Wav2Lip") && e.contains("audio"), "{e}");
    let e = err(config("assets/lipsync/nowhere.onnx"));
    assert!(e.contains("nowhere.onnx not found") && e.contains("avatar.lipsync.model"), "{e}");
    // The ONNX Runtime setup unpacks is the CPU build: asking for CUDA is an error, not a quiet CPU run.
    let e = err(LipsyncConfig { provider: Provider::Cuda, ..config("assets/lipsync/test-wav2lip.onnx") });
    assert!(e.contains("provider = \"cuda\"") && e.contains("onnxruntime-gpu"), "{e}");
}
