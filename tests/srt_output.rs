//! SRT out to an independent listener (ffmpeg): the push arrives as MPEG-TS with H.264
//! and AAC, no gaps, the AI label on its keyframes; the listener killed and started
//! again, the push comes back by itself, and the recording beside it never notices.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

/// An ffmpeg SRT listener on 127.0.0.1:`port` recording what arrives into `file`.
fn listener(port: u16, file: &Path) -> Child {
    Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-i", &format!("srt://127.0.0.1:{port}?mode=listener")])
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg")
}

fn stop(mut child: Child) {
    // SAFETY: signals a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

/// Seconds of gap-free video and audio in `file`.
fn assert_clean(file: &Path, at_least: f64) -> f64 {
    let info = streams(file);
    assert_eq!(stream_of(&info, "video")["codec_name"], "h264", "{}", file.display());
    assert_eq!(stream_of(&info, "audio")["codec_name"], "aac", "{}", file.display());
    let (v, a) = (packets(file, "v"), packets(file, "a"));
    assert!(v[0].key, "{}: starts on a keyframe", file.display());
    assert_no_gaps(&v, 0.040, "video");
    assert_no_gaps(&a, 0.040, "audio");
    let seconds = v.last().unwrap().pts - v[0].pts;
    assert!(seconds >= at_least, "{}: {seconds:.1} s of video", file.display());
    let out = run(avatarcast().arg("verify").arg(file));
    assert!(out.status.success(), "verify {}: {}", file.display(), text(&out));
    seconds
}

#[test]
fn an_srt_push_arrives_and_comes_back_after_the_listener_restarts() {
    let dir = TempDir::new("srt");
    let port = free_port();
    let (first, second, rec) = (dir.path().join("first.ts"), dir.path().join("second.ts"), dir.path().join("rec.mkv"));
    let one = listener(port, &first);
    std::thread::sleep(Duration::from_millis(500));
    let url = format!("srt://127.0.0.1:{port}");
    let mut live = LiveRun::start(
        &repo().join("config/demo.toml"),
        &["--duration", "26s", "--output", &url, "--output", rec.to_str().unwrap()],
        dir.path().join("live.log"),
    );
    std::thread::sleep(Duration::from_secs(9));
    stop(one);
    std::thread::sleep(Duration::from_secs(2));
    let two = listener(port, &second);
    assert!(live.wait().success(), "{}", live.log_text());
    std::thread::sleep(Duration::from_secs(1));
    stop(two);

    let log = live.log_text();
    assert_came_back(&log, "SRT", "the connection to the listener was lost [");
    assert_clean(&first, 7.0);
    assert_clean(&second, 5.0);
    // The recording beside it: the whole 26 s, untouched by the SRT output's failure.
    let v = packets(&rec, "v");
    assert_eq!(v.len(), 650, "recording frames");
    assert_no_gaps(&v, 0.040, "recording video");
    assert_renderer_kept_time(&log);
}
