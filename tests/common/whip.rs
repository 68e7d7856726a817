//! WHIP endpoints on two independent WebRTC stacks as they ship: aiortc from PyPI
//! (tests/common/whip_endpoint.py, in models/whip-peer-venv) and GStreamer's webrtcbin
//! from Debian (tests/common/whip_webrtcbin.py, on Debian's python3 with gi); what they
//! recorded; the WHIP output's state.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{get_json, packets, repo, stream_of, streams, wait_for};

#[derive(Debug, Clone, Copy)]
pub enum WhipPeer {
    Aiortc,
    Webrtcbin,
}

/// The endpoint on 127.0.0.1:`port`, recording into `record`; `extra`: its options.
pub fn whip_endpoint(peer: WhipPeer, port: u16, record: &Path, log: &Path, extra: &[&str]) -> Child {
    let (python, script, needs) = match peer {
        WhipPeer::Aiortc => (repo().join("models/whip-peer-venv/bin/python"), "whip_endpoint.py", "setup installs models/whip-peer-venv"),
        WhipPeer::Webrtcbin => ("/usr/bin/python3".into(), "whip_webrtcbin.py", "setup installs python3-gi and gir1.2-gst-plugins-bad-1.0"),
    };
    let child = Command::new(python)
        .arg(repo().join("tests/common").join(script))
        .args(["--port", &port.to_string(), "--record"])
        .arg(record)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("the {peer:?} WHIP endpoint ({needs}): {e}"));
    wait_for(Duration::from_secs(20), "the WHIP endpoint to listen", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    child
}

/// SIGTERM: the endpoint finishes its recording and vanishes without a goodbye.
pub fn stop_whip_endpoint(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

pub fn whip_output(port: u16) -> serde_json::Value {
    let s = get_json(port, "/v1/status");
    s["outputs"].as_array().unwrap().iter().find(|o| o["kind"] == "whip").cloned().unwrap_or_else(|| panic!("no WHIP output: {s}"))
}

/// Seconds of 25 fps video with audio beside it in what the endpoint recorded.
pub fn assert_recorded(file: &Path, at_least: f64) -> f64 {
    let info = streams(file);
    let video = stream_of(&info, "video");
    assert_eq!((video["codec_name"].as_str(), video["width"].as_u64(), video["height"].as_u64()), (Some("h264"), Some(720), Some(1280)), "{info}");
    assert_eq!(stream_of(&info, "audio")["sample_rate"], "48000", "{info}");
    let (v, a) = (packets(file, "v"), packets(file, "a"));
    let seconds = v.last().unwrap().pts - v[0].pts;
    assert!(seconds >= at_least, "{}: {seconds:.1} s of video", file.display());
    // The frames' own timestamps (RTP's clock): 40 ms apart, and nearly all there.
    let mut steps: Vec<f64> = v.windows(2).map(|w| w[1].pts - w[0].pts).collect();
    steps.sort_by(f64::total_cmp);
    assert!((steps[steps.len() / 2] - 0.040).abs() < 0.002, "{}: median frame step {:.3} s", file.display(), steps[steps.len() / 2]);
    assert!(v.len() as f64 >= seconds * 25.0 * 0.97, "{}: {} frames in {seconds:.1} s", file.display(), v.len());
    let audio = a.last().unwrap().pts - a[0].pts;
    assert!(audio >= seconds - 1.0, "{}: {audio:.1} s of audio beside {seconds:.1} s of video", file.display());
    seconds
}
