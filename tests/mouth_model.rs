//! The audio-to-mouth model (assets/lipsync/mouth-from-audio.onnx) finds, in the sound
//! alone, the mouth shapes that exact phoneme timings give: on sentences it never
//! heard, in the voice it was trained on and in one left out of its training. A model
//! file that is missing or broken is refused with its name and what to do.

use avatarcast::config::{VoiceConfig, VoiceEngine};
use avatarcast::lipsync::audio_model::MouthModel;
use avatarcast::lipsync::{Mouth, MouthTrack};
use avatarcast::speech::{OUTPUT_RATE, Speaker};
use common::TempDir;

const SENTENCES: &[&str] = &[
    "Our bamboo cutting board arrived this morning, and the grain is beautiful.",
    "Would anybody like to see the matching spoons before we move on?",
    "Paula from Lisbon says her order came in two days, wonderful news.",
    "Keep the lid closed while the kettle boils, then pour slowly.",
];

/// Per video frame (25 fps): the share where model and timings show the same shape,
/// and the share where they agree on open versus closed lips.
fn agreement(truth: &MouthTrack, heard: &MouthTrack, samples: usize) -> (f64, f64) {
    let frame = (OUTPUT_RATE / 25) as i64;
    let (mut same, mut open, mut n) = (0, 0, 0);
    for f in 0..samples as i64 / frame {
        let (a, b) = (truth.mouth_for_window(f * frame, (f + 1) * frame), heard.mouth_for_window(f * frame, (f + 1) * frame));
        same += usize::from(a == b);
        open += usize::from(a.is_open() == b.is_open());
        n += 1;
    }
    (same as f64 / n as f64, open as f64 / n as f64)
}

fn check_voice(voice: &VoiceConfig, what: &str, min_same: f64) {
    let mut speaker = Speaker::load(voice).expect("voice loads (run scripts/setup.sh)");
    let mut model = MouthModel::load(&voice.mouth_model, &voice.onnxruntime_path()).expect("the mouth model loads");
    let (mut same, mut open) = (0.0, 0.0);
    for s in SENTENCES {
        let u = speaker.speak(s, "").unwrap().unwrap();
        let phonemes = model.phonemes(u.samples()).unwrap();
        assert_eq!(phonemes.first().unwrap().start, 0);
        assert!(phonemes.windows(2).all(|w| w[0].end == w[1].start), "{phonemes:?}");
        assert_eq!(phonemes.last().unwrap().end as usize, u.samples().len());
        let heard = MouthTrack::from_phonemes(&phonemes, OUTPUT_RATE);
        let shapes: std::collections::HashSet<Mouth> = heard.cues.iter().map(|c| c.mouth).collect();
        assert!(shapes.len() >= 5, "{what}: the model uses only {shapes:?} for `{s}`");
        let (a, b) = agreement(&u.mouth, &heard, u.samples().len());
        same += a / SENTENCES.len() as f64;
        open += b / SENTENCES.len() as f64;
    }
    eprintln!("{what}: same shape in {:.0} % of video frames, open/closed right in {:.0} %", same * 100.0, open * 100.0);
    assert!(same >= min_same, "{what}: the model shows the timings' shape in only {:.0} % of frames", same * 100.0);
    assert!(open >= 0.85, "{what}: open/closed lips right in only {:.0} % of frames", open * 100.0);
}

#[test]
fn the_model_hears_the_shapes_that_timings_give() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    check_voice(&VoiceConfig::default(), "trained voice (Piper joe), new sentences", 0.65);
    let left_out = VoiceConfig { engine: VoiceEngine::Espeak, language: "en-us+f3".into(), pitch: Some(55), ..VoiceConfig::default() };
    check_voice(&left_out, "voice left out of training (espeak-ng en-us+f3)", 0.65);
}

#[test]
fn a_missing_or_broken_model_is_named() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let ort = VoiceConfig::default().onnxruntime_path();
    let dir = TempDir::new("mouth-model");
    let missing = dir.path().join("nowhere.onnx");
    let e = format!("{:#}", MouthModel::load(&missing, &ort).err().unwrap());
    assert!(e.contains("nowhere.onnx") && e.contains("not found") && e.contains("mouth-model/train.sh"), "{e}");
    let broken = dir.path().join("broken.onnx");
    std::fs::write(&broken, b"this is not a model").unwrap();
    let e = format!("{:#}", MouthModel::load(&broken, &ort).err().unwrap());
    assert!(e.contains("broken.onnx") && e.contains("not a valid ONNX model"), "{e}");
    // Another ONNX model (a voice) without the contract's input and output.
    let voice = VoiceConfig::default().model;
    let e = format!("{:#}", MouthModel::load(&voice, &ort).err().unwrap());
    assert!(e.contains("needs an input `audio` and an output `mouth`"), "{e}");
}
