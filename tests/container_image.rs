//! The container image (Containerfile, built by scripts/image.sh from Debian packages
//! only, with Podman): `avatarcast check` passes inside it, for the 2D and the 3D demo
//! (lavapipe draws there), and `IMAGE live --output
//! rtmp://…` with no other argument streams the demo show to nginx-rtmp on the host;
//! `podman stop` (SIGTERM to avatarcast as PID 1) drains it: the stream ends cleanly
//! within the grace period and nginx's recording is whole.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const IMAGE: &str = "localhost/avatarcast:latest";

fn podman() -> Command {
    let mut c = Command::new("podman");
    c.env("CONTAINERS_CONF", repo().join("deploy/podman/containers.conf"));
    c
}

#[test]
fn the_image_checks_and_streams_the_demo() {
    let log = build_image();
    eprintln!("{}", log.lines().last().unwrap_or_default());

    let check = podman().args(["run", "--rm", IMAGE, "check"]).output().unwrap();
    assert!(check.status.success() && text(&check).contains("everything avatarcast needs is here"), "check in the image:\n{}", text(&check));
    // A 3D host's pack loads and lavapipe is there to draw it.
    let check = podman().args(["run", "--rm", IMAGE, "check", "--config", "config/demo-3d.toml"]).output().unwrap();
    let said = text(&check);
    assert!(check.status.success() && said.contains("3D pack vrm-host") && said.contains("Vulkan device for 3D hosts: llvmpipe"), "3D check in the image:\n{said}");

    let mut nginx = Nginx::start();
    let name = format!("avatarcast-test-{}", std::process::id());
    let api = format!("127.0.0.1:{}", free_port());
    let live = podman()
        .args(["run", "--rm", "--name", &name, "--network", "host", IMAGE, "live", "--api", &api, "--output", &nginx.url("pod")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it stream, then stop it as an orchestrator does.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok((200, body)) = try_http(api.rsplit(':').next().unwrap().parse().unwrap(), "GET", "/v1/status", &[], b"") {
            let s: serde_json::Value = serde_json::from_slice(&body).unwrap();
            if s["stream_seconds"].as_f64().unwrap_or(0.0) >= 12.0 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let stop = Instant::now();
    let stopped = podman().args(["stop", "-t", "25", &name]).output().unwrap();
    assert!(stopped.status.success(), "podman stop: {}", text(&stopped));
    let out = live.wait_with_output().unwrap();
    let drain = stop.elapsed();
    let log = text(&out);
    assert!(drain < Duration::from_secs(20), "drain took {drain:?}:\n{log}");
    assert!(log.contains("stopping: ending the line on air at a word boundary") && log.contains("done:"), "no clean drain:\n{log}");
    std::thread::sleep(Duration::from_millis(800));
    nginx.stop();

    let recs = nginx.recordings();
    assert_eq!(recs.len(), 1, "{recs:?}");
    let info = streams(&recs[0]);
    assert_eq!(stream_of(&info, "video")["codec_name"], "h264");
    assert_eq!(stream_of(&info, "audio")["codec_name"], "aac");
    let (vp, ap) = (packets(&recs[0], "v"), packets(&recs[0], "a"));
    let seconds = vp.last().unwrap().pts - vp[0].pts;
    assert!(seconds > 11.0, "{seconds:.1} s arrived");
    assert_no_gaps(&vp, 0.040, "video");
    assert_no_gaps(&ap, 0.040, "audio");
    assert!((ap[0].pts - vp[0].pts).abs() <= 0.040);
    // The slim image keeps what reading a stream takes (typefind, demuxers, parsers):
    // `verify` inside it finds the AI label on every keyframe of what nginx recorded.
    let dir = recs[0].parent().unwrap().display().to_string();
    let file = recs[0].file_name().unwrap().to_string_lossy().into_owned();
    let verify = podman().args(["run", "--rm", "-v", &format!("{dir}:/recordings:ro"), IMAGE, "verify", &format!("/recordings/{file}")]).output().unwrap();
    assert!(verify.status.success() && text(&verify).contains("labelled: every keyframe"), "verify in the image:\n{}", text(&verify));
    eprintln!("container: {seconds:.1} s streamed, drained in {:.1} s", drain.as_secs_f64());
}
