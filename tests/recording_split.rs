//! Recordings split every N minutes into self-contained files, and SIGTERM in the
//! middle of one: the line on air is cut at a word boundary, avatarcast exits
//! cleanly, and every file plays to its end and carries the AI label in its metadata.

use std::process::Command;
use std::time::Duration;

use common::*;

fn duration(file: &std::path::Path) -> f64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0.0)
}

#[test]
fn sigterm_leaves_every_split_file_playable() {
    let dir = TempDir::new("split");
    let transcript_path = dir.path().join("transcript.jsonl");
    let rec = dir.path().join("rec.mp4");
    let rec_str = rec.to_str().unwrap().to_string();
    let config = demo_config_with(dir.path(), "c.toml", |c| {
        // 0.1 minutes: a new file every 6 s.
        transcript_to(&transcript_path)(c).replace(
            "[[output.file]]\npath = \"out/demo.mp4\"",
            &format!("[[output.file]]\npath = \"{rec_str}\"\nsplit_minutes = 0.1\n\n[[output.file]]\npath = \"{}\"\nsplit_minutes = 0.1", rec_str.replace(".mp4", ".flv")),
        )
    });
    let mut live = LiveRun::start(&config, &[], dir.path().join("live.log"));
    wait_for(Duration::from_secs(30), "15 s of stream with a line on air", || {
        let s = get_json(live.port, "/v1/status");
        s["stream_seconds"].as_f64() > Some(15.0) && !s["now_playing"].is_null()
    });
    Command::new("kill").args(["-TERM", &live.child.id().to_string()]).status().unwrap();
    let status = live.wait();
    assert!(status.success(), "exit {status:?}:\n{}", live.log_text());

    // The line on air was cut at a word boundary, and said so in the transcript.
    let t = transcript(&transcript_path);
    let last = t.last().unwrap();
    assert_eq!(last["cut"], true, "{t:#?}");

    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("rec-") && p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    files.sort();
    let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.len() >= 3 && names[0] == "rec-00001.mp4" && names[1] == "rec-00002.mp4", "{names:?}");
    let mut total = 0.0;
    for f in &files {
        let d = duration(f);
        let vp = packets(f, "v");
        // Self-contained: starts on a keyframe; plays to its end: the last frame is
        // where the container says the file ends, and it decodes without an error.
        assert!(vp[0].key, "{} starts on a keyframe", f.display());
        assert!(d > 1.0 && (vp.last().unwrap().pts + 0.04 - d).abs() < 0.1, "{}: duration {d:.2}, last frame {:.2}", f.display(), vp.last().unwrap().pts);
        let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(f).args(["-f", "null", "-"]).output().unwrap();
        assert!(decode.status.success() && decode.stderr.is_empty(), "{}: {}", f.display(), String::from_utf8_lossy(&decode.stderr));
        // Each file, the last one too, has the AI label's own key.
        let tags = streams(f)["format"]["tags"].clone();
        assert!(tags["AIGC"].as_str().is_some_and(|r| r.starts_with("{\"AIGC\"")), "{}: {tags}", f.display());
        total += d;
    }
    // Every file but the last is one split long (cut on the keyframe after 6 s).
    for f in &files[..files.len() - 1] {
        assert!((duration(f) - 6.0).abs() < 0.1, "{}: {:.2} s", f.display(), duration(f));
    }
    // The FLV files beside them, as many: each starts on a keyframe, decodes without an
    // error and has the AI label in its onMetaData.
    let flv: Vec<_> = (1..=files.len()).map(|i| dir.path().join(format!("rec-{i:05}.flv"))).collect();
    for f in &flv {
        assert!(packets(f, "v")[0].key, "{} starts on a keyframe", f.display());
        let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(f).args(["-f", "null", "-"]).output().unwrap();
        assert!(decode.status.success() && decode.stderr.is_empty(), "{}: {}", f.display(), String::from_utf8_lossy(&decode.stderr));
        let tags = streams(f)["format"]["tags"].clone();
        assert!(tags["AIGC"].as_str().is_some_and(|r| r.starts_with("{\"AIGC\"")), "{}: {tags}", f.display());
    }
    let ended = last["end"].as_f64().unwrap();
    assert!(total >= ended && total < ended + 1.0, "files hold {total:.2} s; the cut line ended at {ended:.2} s");
}
