//! Bad input stops `live` before it starts, with one clear message that names the
//! field or file and what to do; text the voice cannot say is skipped.

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// Runs `live` on a config and expects a quick failure whose message contains every
/// one of `needles`.
fn refused(config: &Path, extra: &[&str], needles: &[&str]) {
    let started = Instant::now();
    let out = run(avatarcast().args(["live", "--duration", "5s", "--config"]).arg(config).args(extra));
    let msg = text(&out);
    assert!(!out.status.success(), "expected a refusal, got success:\n{msg}");
    assert!(started.elapsed() < Duration::from_secs(20), "refusal took {:?}", started.elapsed());
    let error_lines: Vec<&str> = msg.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "want exactly one error line:\n{msg}");
    for n in needles {
        assert!(error_lines[0].contains(n), "`{n}` missing from: {}", error_lines[0]);
    }
}

#[test]
fn unknown_config_key_names_its_path() {
    let dir = TempDir::new("bad-key");
    let c = demo_config_with(dir.path(), "c.toml", |s| s.replace("fps = 25", "fps = 25\ncolour = \"red\""));
    refused(&c, &[], &["`video.colour`", "unknown field `colour`", "c.toml"]);
}

#[test]
fn malformed_values_name_their_field() {
    let dir = TempDir::new("bad-values");
    let c = demo_config_with(dir.path(), "size.toml", |s| s.replace("\"720x1280\"", "\"huge\""));
    refused(&c, &[], &["`video.size`", "WIDTHxHEIGHT"]);
    let c = demo_config_with(dir.path(), "url.toml", |s| s + "\n[[output.rtmp]]\nurl = \"http://example.com/live/key\"\n");
    refused(&c, &[], &["`output.rtmp[0].url`", "rtmp://"]);
    refused(&repo().join("config/demo.toml"), &["--output", "udp://127.0.0.1:9000/live/key"], &["--output", "rtmp://"]);
    refused(&repo().join("config/demo.toml"), &["--output", "srt://127.0.0.1:9000/live/key"], &["--output", "srt://host:port", "streamid"]);
    let c = demo_config_with(dir.path(), "srt.toml", |s| s + "\n[[output.srt]]\nurl = \"srt://127.0.0.1:9000\"\npassphrase = \"short\"\n");
    refused(&c, &[], &["`output.srt[0].passphrase`", "10 to 79 characters"]);
    let c = demo_config_with(dir.path(), "whip.toml", |s| s + "\n[[output.whip]]\nurl = \"rtmp://127.0.0.1/whip\"\n");
    refused(&c, &[], &["`output.whip[0].url`", "https://host/path"]);
    let c = demo_config_with(dir.path(), "whip-token.toml", |s| {
        s + "\n[[output.whip]]\nurl = \"https://ingest.example.com/whip\"\ntoken_env = \"AVATARCAST_NO_SUCH_VARIABLE\"\n"
    });
    refused(&c, &[], &["`output.whip[0].token_env`", "AVATARCAST_NO_SUCH_VARIABLE is not set"]);
    refused(&repo().join("config/demo.toml"), &["--output", "show.avi"], &[".flv, .mp4 or .mkv"]);
    let c = demo_config_with(dir.path(), "preset.toml", |s| s.replace("fps = 25", "fps = 25\npreset = \"speedy\""));
    refused(&c, &[], &["`video.preset`", "superfast"]);
    let c = demo_config_with(dir.path(), "threads.toml", |s| s.replace("fps = 25", "fps = 25\nencoder_threads = 500"));
    refused(&c, &[], &["`video.encoder_threads`", "1 to 64"]);
}

#[test]
fn missing_model_files_name_the_file_and_the_fix() {
    let dir = TempDir::new("missing-files");
    let c = demo_config_with(dir.path(), "voice.toml", |s| s.replace("en_US-joe-medium.onnx", "nobody.onnx"));
    refused(&c, &[], &["models/voices/nobody.onnx", "scripts/setup.sh"]);
    let c = demo_config_with(dir.path(), "ort.toml", |s| s.replace("libonnxruntime.so\"", "libonnxruntime.so.0\""));
    refused(&c, &[], &["libonnxruntime.so.0", "scripts/setup.sh"]);
}

#[test]
fn unspeakable_text_is_skipped_not_fatal() {
    let dir = TempDir::new("emoji");
    let show = std::fs::read_to_string(repo().join("config/demo-show.toml")).unwrap();
    let show_path = dir.path().join("show.toml");
    let edited = show.replace("Hi everyone, and welcome back to the studio!", "🔥🔥🔥 ✨✨. Hi everyone ★ welcome back 🛍️!");
    assert_ne!(edited, show);
    std::fs::write(&show_path, edited).unwrap();
    let c = demo_config_with(dir.path(), "emoji.toml", |s| s.replace("config/demo-show.toml", show_path.to_str().unwrap()));
    let file = dir.path().join("out.flv");
    let out = run(avatarcast().args(["render", "--duration", "4s", "--config"]).arg(&c).arg("--output").arg(&file));
    let msg = text(&out);
    assert!(out.status.success(), "{msg}");
    assert!(msg.contains("on air: Hi everyone welcome back!"), "{msg}");
}

#[test]
fn a_bad_show_file_names_file_line_and_field() {
    let dir = TempDir::new("bad-show");
    let show = std::fs::read_to_string(repo().join("config/demo-show.toml")).unwrap();
    let show_path = dir.path().join("show.toml");
    std::fs::write(&show_path, show.replace("product = \"lamp\"", "product = \"lamps\"")).unwrap();
    let c = demo_config_with(dir.path(), "c.toml", |s| s.replace("config/demo-show.toml", show_path.to_str().unwrap()));
    let line = show.lines().position(|l| l == "product = \"lamp\"").unwrap() + 1;
    refused(&c, &[], &[show_path.to_str().unwrap(), &format!("line {line}"), "segments[3].product", "no product `lamps`"]);
}
