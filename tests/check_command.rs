//! `avatarcast check` passes on a set-up machine and names what is missing, with the
//! fix, when it is not.

use common::*;

#[test]
fn check_passes_when_everything_is_installed() {
    let out = run(avatarcast().args(["check"]));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for piece in ["x264enc", "rtmp2sink", "ONNX Runtime", "voice file", "espeak-ng"] {
        assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains(piece)), "{piece} not reported ok:\n{stdout}");
    }
}

#[test]
fn check_names_missing_pieces_and_their_fix() {
    let dir = TempDir::new("check");
    let c = demo_config_with(dir.path(), "c.toml", |s| {
        s.replace("en_US-joe-medium.onnx", "gone.onnx").replace("libonnxruntime.so\"", "libonnxruntime.so.9\"")
    });
    let out = run(avatarcast().args(["check", "--config"]).arg(&c));
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> = stdout.lines().filter(|l| l.starts_with("MISSING")).collect();
    assert_eq!(missing.len(), 3, "{stdout}");
    assert!(missing.iter().any(|l| l.contains("gone.onnx") && l.contains("scripts/setup.sh")), "{stdout}");
    assert!(missing.iter().any(|l| l.contains("gone.onnx.json")), "{stdout}");
    assert!(missing.iter().any(|l| l.contains("libonnxruntime.so.9") && l.contains("scripts/setup.sh")), "{stdout}");
}
