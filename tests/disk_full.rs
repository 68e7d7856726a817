//! A recording on a disk that fills up. The test mounts a 32 MB tmpfs for the
//! recording (output.file min_free_mb = 6) next to a real nginx-rtmp ingest, then
//! fills the disk with a file of its own. The recording closes cleanly while 6 MB are
//! still free (a finalized, playable MP4 up to that point), status and metrics say
//! it waits for space and why, the ingest goes on untouched, and once the filler is
//! deleted the recording goes on by itself in a new file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

/// A small tmpfs the test mounts (as root) and unmounts on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, megabytes: u32) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"]).arg(at).status().unwrap();
        assert!(ok.success(), "the disk-full test mounts a {megabytes} MB tmpfs at {}: run it as root", at.display());
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn output<'a>(status: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    status["outputs"].as_array().unwrap().iter().find(|o| o["kind"] == kind).expect("output in status")
}

fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(dir).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap().trim().parse().unwrap()
}

/// Decodes the whole file: ffmpeg reports no error, and it holds `at_least` seconds.
fn assert_playable(file: &Path, at_least: f64) -> f64 {
    let out = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(file).args(["-f", "null", "-"]).output().unwrap();
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && errors.trim().is_empty(), "{} does not decode cleanly: {errors}", file.display());
    let seconds: f64 = streams(file)["format"]["duration"].as_str().unwrap().parse().unwrap();
    assert!(seconds >= at_least, "{} holds {seconds:.1} s, expected at least {at_least}", file.display());
    seconds
}

#[test]
fn a_full_disk_closes_the_recording_cleanly_and_it_goes_on_when_space_returns() {
    let dir = TempDir::new("disk-full");
    let disk = Tmpfs::mount(&dir.path().join("disk"), 32);
    let mut nginx = Nginx::start();
    let recording = disk.0.join("show.mp4");
    let ingest = nginx.url("diskfull");
    let config = demo_config_with(dir.path(), "c.toml", |s| {
        let s = transcript_to(&dir.path().join("transcript.jsonl"))(s);
        let file = format!("path = \"{}\"\nmin_free_mb = 6", recording.display());
        s.replace("path = \"out/demo.mp4\"", &file) + &format!("\n[[output.rtmp]]\nurl = \"{ingest}\"\n")
    });
    let mut live = LiveRun::start(&config, &["--duration", "60s"], dir.path().join("live.log"));
    let port = live.port;
    wait_for(Duration::from_secs(20), "both outputs live and 8 s of stream", || {
        let s = get_json(port, "/v1/status");
        output(&s, "file")["state"] == "live" && output(&s, "rtmp")["state"] == "live" && live.stream_seconds() >= 8.0
    });

    // Another program fills the disk, leaving 9 MB: the recording eats into the rest.
    let filler = disk.0.join("filler.bin");
    let fill = free_bytes(&disk.0) - (9 << 20);
    std::fs::write(&filler, vec![0x5au8; fill as usize]).unwrap();
    wait_for(Duration::from_secs(30), "the recording waiting for space", || output(&get_json(port, "/v1/status"), "file")["state"] == "waiting_for_space");
    let paused_at = live.stream_seconds();
    let s = get_json(port, "/v1/status");
    let why = output(&s, "file")["last_error"].as_str().unwrap().to_string();
    assert!(why.contains("disk nearly full") && why.contains("min_free_mb") && why.contains(&disk.0.display().to_string()), "{why}");
    assert_eq!(output(&s, "rtmp")["state"], "live", "the ingest must not notice: {s}");
    let (_, metrics) = http(port, "GET", "/metrics", &[], b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("avatarcast_output_waiting_for_space{") && l.contains("kind=\"file\"") && l.ends_with(" 1")), "{metrics}");
    // Closed in the room kept free: finalized, playable, labelled.
    assert!(free_bytes(&disk.0) > 2 << 20, "the recording wrote into the last 2 MB");
    let first = assert_playable(&recording, 10.0);
    assert!(streams(&recording)["format"]["tags"]["AIGC"].is_string(), "the paused file lost its AI label");

    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(output(&get_json(port, "/v1/status"), "file")["state"], "waiting_for_space", "space came back by itself?");
    std::fs::remove_file(&filler).unwrap();
    wait_for(Duration::from_secs(10), "the recording going on", || output(&get_json(port, "/v1/status"), "file")["state"] == "live");
    let resumed_at = live.stream_seconds();
    assert!(live.wait().success(), "{}", live.log_text());

    // The recording went on in a new file, finalized when the stream ended.
    let next = disk.0.join("show-retry1.mp4");
    let second = assert_playable(&next, 60.0 - resumed_at - 4.0);
    let log = strip_ansi(&live.log_text());
    assert!(log.contains("disk nearly full") && log.contains("disk space is back"), "{log}");
    // The ingest got the whole stream: no hole in its video.
    nginx.stop();
    let ingested = nginx.recordings();
    assert_eq!(ingested.len(), 1, "the ingest was reconnected: {ingested:?}");
    let video = packets(&ingested[0], "v");
    assert_no_gaps(&video, 0.041, "the ingest's video");
    assert!(video.last().unwrap().pts - video[0].pts >= 59.0, "the ingest got {:.1} s", video.last().unwrap().pts);
    eprintln!(
        "recording paused at {paused_at:.1} s ({first:.1} s in {}), went on at {resumed_at:.1} s ({second:.1} s in {})",
        recording.display(),
        next.display()
    );
}
