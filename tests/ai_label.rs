//! The machine-readable AI label is in what every receiver gets: ffmpeg (an
//! independent reader) finds avatarcast's SEI user_data_unregistered message, with
//! its UUID and the `AIGC` record, on every keyframe of what nginx-rtmp received and
//! of the MKV and MP4 recordings; `avatarcast verify` agrees on the files and on the
//! RTMP stream while it plays, and fails on an H.264 file made without the label.

use std::path::Path;
use std::process::Command;

use common::*;

/// avatarcast's SEI UUID (src/label).
const UUID: [u8; 16] = [0x5c, 0x2e, 0x8a, 0x4f, 0x1b, 0x7d, 0x4c, 0x39, 0x9e, 0x61, 0xa7, 0x03, 0xd2, 0x58, 0xf4, 0x6b];

/// Every user_data_unregistered message in `file`'s video, as ffmpeg's trace_headers
/// bitstream filter prints them: (UUID, payload).
fn sei_messages(file: &Path) -> Vec<([u8; 16], Vec<u8>)> {
    let out = Command::new("ffmpeg")
        .args(["-v", "trace", "-nostdin", "-i"])
        .arg(file)
        .args(["-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let value = |line: &str| line.rsplit('=').next().unwrap().trim().parse::<u8>().unwrap();
    let mut messages: Vec<([u8; 16], Vec<u8>)> = Vec::new();
    for line in log.lines().filter(|l| l.starts_with("[trace_headers")) {
        if line.contains("uuid_iso_iec_11578[0]") {
            messages.push(([0; 16], Vec::new()));
        }
        let Some(m) = messages.last_mut() else { continue };
        if let Some(k) = line.split("uuid_iso_iec_11578[").nth(1) {
            m.0[k.split(']').next().unwrap().parse::<usize>().unwrap()] = value(line);
        } else if line.contains("user_data_payload_byte[") {
            m.1.push(value(line));
        }
    }
    messages
}

/// Checks `file`: our message on every keyframe, its record the one configured.
fn assert_labelled(file: &Path) -> serde_json::Value {
    let keyframes = packets(file, "v").iter().filter(|p| p.key).count();
    let ours: Vec<Vec<u8>> = sei_messages(file).into_iter().filter(|(u, _)| *u == UUID).map(|(_, p)| p).collect();
    assert!(keyframes >= 4, "{}: {keyframes} keyframes", file.display());
    assert_eq!(ours.len(), keyframes, "{}: {} labels on {keyframes} keyframes", file.display(), ours.len());
    assert!(ours.windows(2).all(|w| w[0] == w[1]), "{}: the record changed within the stream", file.display());
    let record: serde_json::Value = serde_json::from_slice(&ours[0]).unwrap();
    let aigc = &record["AIGC"];
    assert_eq!((aigc["Label"].as_str(), aigc["ContentProducer"].as_str()), (Some("1"), Some("Lamp Shop Ltd")), "{record}");
    assert!(aigc["ProduceID"].as_str().unwrap().starts_with("Lamp Shop Ltd/store-7/20"), "{record}");

    let out = run(avatarcast().arg("verify").arg(file));
    let said = text(&out);
    assert!(out.status.success() && said.contains(&format!("on {keyframes} of {keyframes} keyframes")), "verify {}: {said}", file.display());
    assert!(said.contains("\"ProduceID\":\"Lamp Shop Ltd/store-7/20"), "{said}");
    record
}

#[test]
fn every_keyframe_carries_the_ai_label_in_every_output() {
    let dir = TempDir::new("ai-label");
    let mut nginx = Nginx::start();
    let config = demo_config_with(dir.path(), "label.toml", |c| {
        format!("{c}\n[label]\nproducer = \"Lamp Shop Ltd\"\nchannel = \"store-7\"\ncontent_id = \"{{producer}}/{{channel}}/{{start}}\"\n")
    });
    let (mkv, mp4) = (dir.path().join("rec.mkv"), dir.path().join("rec.mp4"));
    let mut live = LiveRun::start(
        &config,
        &["--duration", "16s", "--output", &nginx.url("label"), "--output", mkv.to_str().unwrap(), "--output", mp4.to_str().unwrap()],
        dir.path().join("live.log"),
    );
    // The stream as a player gets it from nginx, while it plays: its onMetaData
    // (flvmux's, with the AIGC entry added; nginx passes it on with `meta copy`,
    // and records none) as ffprobe reads it, then the SEI by `verify`.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let probe = run(Command::new("ffprobe").args(["-v", "error", "-show_format", "-of", "json"]).arg(nginx.url("label")));
    let played: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap_or_default();
    let flv_entry = played["format"]["tags"]["AIGC"].as_str().map(|s| serde_json::from_str::<serde_json::Value>(s).expect("the FLV entry is the JSON record"));
    let out = run(avatarcast().args(["verify", "--seconds", "5"]).arg(nginx.url("label")));
    let said = text(&out);
    assert!(out.status.success() && said.contains("labelled: every keyframe read"), "verify over RTMP: {said}");
    assert!(live.wait().success(), "{}", live.log_text());
    std::thread::sleep(std::time::Duration::from_millis(800));
    nginx.stop();

    let recs = nginx.recordings();
    let received = recs.iter().find(|r| r.to_string_lossy().contains("label")).expect("nginx recorded the stream");
    let records: Vec<serde_json::Value> = [received.as_path(), &mkv, &mp4].into_iter().map(assert_labelled).collect();
    assert!(records.windows(2).all(|w| w[0] == w[1]), "one stream, one record: {records:?}");

    // The same record in the recordings' container metadata, as ffprobe reads it: the
    // MP4's moov/udta/meta comment and its own `AIGC` key, the MKV's segment COMMENT
    // tag (in GStreamer's escaped string form); `verify` reports the MP4's.
    let tags = |file: &Path| streams(file)["format"]["tags"].clone();
    let comment: serde_json::Value = serde_json::from_str(tags(&mp4)["comment"].as_str().expect("an MP4 comment")).expect("the MP4 comment is the JSON record");
    assert_eq!(comment, records[0], "the MP4's metadata and the SEI carry one record");
    let key: serde_json::Value = serde_json::from_str(tags(&mp4)["AIGC"].as_str().expect("an MP4 AIGC key")).expect("the MP4's AIGC key is the JSON record");
    assert_eq!(key, records[0], "the MP4's AIGC key and the SEI carry one record");
    let mkv_comment = tags(&mkv)["COMMENTS"].as_str().unwrap_or_default().replace('\\', "");
    assert!(mkv_comment.contains("\"ProduceID\":\"Lamp Shop Ltd/store-7/"), "MKV tags: {}", tags(&mkv));
    assert_eq!(flv_entry.as_ref(), Some(&records[0]), "onMetaData of the RTMP stream: {}", played["format"]);
    let out = run(avatarcast().arg("verify").arg(&mp4));
    let said = text(&out);
    assert!(said.contains("metadata comment = {\"AIGC\"") && said.contains("metadata AIGC = {\"AIGC\""), "verify on the MP4: {said}");

    // An H.264 file made without avatarcast: no label, and verify says so.
    let plain = dir.path().join("plain.mp4");
    let made = run(Command::new("ffmpeg").args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=3"]).args(["-c:v", "libx264", "-g", "25"]).arg(&plain));
    assert!(made.status.success(), "{}", text(&made));
    let out = run(avatarcast().arg("verify").arg(&plain));
    let said = text(&out);
    assert!(!out.status.success() && said.contains("NOT LABELLED: 3 of 3 keyframes lack"), "verify on an unlabelled file: {said}");
}
