//! A 20 s live stream pushed to a real nginx-rtmp arrives intact: H.264 720x1280
//! 25 fps + AAC, the right length, tracks starting together, no gaps, a keyframe
//! every 2 s, and a host whose mouth moves with the speech.

use common::*;

#[test]
fn live_stream_arrives_at_nginx_intact() {
    let mut nginx = Nginx::start();
    let api = format!("127.0.0.1:{}", free_port());
    let out = run(avatarcast().args(["live", "--config", "config/demo.toml", "--duration", "20s", "--api", &api, "--output", &nginx.url("test")]));
    assert!(out.status.success(), "avatarcast live failed:\n{}", text(&out));
    // nginx closes the recording when the publisher disconnects.
    std::thread::sleep(std::time::Duration::from_millis(800));
    nginx.stop();

    let recs = nginx.recordings();
    assert_eq!(recs.len(), 1, "expected one recording, got {recs:?}");
    let file = &recs[0];

    let info = streams(file);
    let v = stream_of(&info, "video");
    assert_eq!((v["codec_name"].as_str(), v["width"].as_u64(), v["height"].as_u64()), (Some("h264"), Some(720), Some(1280)));
    // FLV carries millisecond timestamps; the frame rate is what the packets say.
    assert_eq!(v["avg_frame_rate"], "25/1", "{v}");
    let a = stream_of(&info, "audio");
    assert_eq!((a["codec_name"].as_str(), a["sample_rate"].as_str()), (Some("aac"), Some("48000")));

    let (vp, ap) = (packets(file, "v"), packets(file, "a"));
    let video_seconds = vp.last().unwrap().pts - vp[0].pts + 0.04;
    assert!((video_seconds - 20.0).abs() < 0.2, "video lasts {video_seconds:.2} s");
    assert_eq!(vp.len(), 500, "frame count");
    assert!((ap[0].pts - vp[0].pts).abs() <= 0.040, "first audio {:.3} s vs first video {:.3} s", ap[0].pts, vp[0].pts);
    assert_no_gaps(&vp, 0.040, "video");
    assert_no_gaps(&ap, 0.040, "audio");
    assert_keyframe_interval(&vp, 2.0);

    let (lag, r) = assert_mouth_follows_speech(file, 720, 1280, 25.0);
    eprintln!("mouth follows speech: lag {lag} frames, r = {r:.2}");
}
