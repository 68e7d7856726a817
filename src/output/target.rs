//! The delivery targets: what each configured output is, parsed and checked once.

use anyhow::{Context, Result};

use super::packet::Track;
use super::{file, hls, rtmp, srt, whip};
use crate::config::Config;

/// One supervised delivery target: a GStreamer pipeline, or a WHIP ingest pushed with
/// webrtc-rs (WebRTC viewers are served by webrtc.rs).
#[derive(Debug, Clone)]
pub enum Output {
    Rtmp(rtmp::RtmpTarget),
    Srt(srt::SrtTarget),
    File(file::FileTarget),
    Hls(hls::HlsTarget),
    Whip(whip::WhipTarget),
}

impl Output {
    /// Every output the config names, parsed and checked: the one place targets are
    /// made, so a bad one stops startup with the field (or `--output`) it came from.
    /// Nothing is written here (folders are made by `prepare`), so `check` can call it.
    pub fn all(config: &Config) -> Result<Vec<Output>> {
        let o = &config.output;
        // A target from the command line is named as it was given, not as a field.
        let at = |field: String, given: &str| if o.from_command_line { format!("--output {given}") } else { field };
        let mut v = Vec::new();
        for (i, r) in o.rtmp.iter().enumerate() {
            let target = rtmp::RtmpTarget::parse(&r.url).with_context(|| at(format!("`output.rtmp[{i}].url`"), &r.url))?;
            v.push(Output::Rtmp(target));
        }
        for (i, s) in o.srt.iter().enumerate() {
            v.push(Output::Srt(srt::SrtTarget::new(s, &at(format!("output.srt[{i}]"), &s.url))?));
        }
        for (i, f) in o.file.iter().enumerate() {
            let given = f.path.display().to_string();
            let target = file::FileTarget::new(f).with_context(|| at(format!("`output.file[{i}].path`"), &given))?;
            v.push(Output::File(target));
        }
        for h in &o.hls {
            v.push(Output::Hls(hls::HlsTarget::new(h, config.video.keyframe_seconds)));
        }
        for (i, w) in o.whip.iter().enumerate() {
            let mut target = whip::WhipTarget::new(w, &format!("output.whip[{i}]"))?;
            target.profile = super::profile::h264_profile(config);
            v.push(Output::Whip(target));
        }
        Ok(v)
    }

    /// Makes the folder a recording or playlist goes into.
    pub fn prepare(&self) -> Result<()> {
        match self {
            Output::File(f) => f.make_folder(),
            Output::Hls(h) => h.make_folder(),
            Output::Rtmp(_) | Output::Srt(_) | Output::Whip(_) => Ok(()),
        }
    }

    /// Safe to log: stream keys are masked.
    pub fn describe(&self) -> String {
        match self {
            Output::Rtmp(r) => format!("RTMP {}", r.masked()),
            Output::Srt(s) => s.describe(),
            Output::File(f) => format!("file {}", f.path.display()),
            Output::Hls(h) => format!("HLS {}", h.dir.join("index.m3u8").display()),
            Output::Whip(w) => w.describe(),
        }
    }

    /// This output's pipeline for its `session`-th start (0 first); None for WHIP,
    /// which is not a GStreamer pipeline.
    pub fn pipeline_description(&self, session: u32) -> Option<String> {
        Some(match self {
            Output::Rtmp(r) => r.pipeline_description(),
            Output::Srt(s) => s.pipeline_description(),
            Output::File(f) => f.pipeline_description(session),
            Output::Hls(h) => h.pipeline_description(),
            Output::Whip(_) => return None,
        })
    }

    /// The encoded tracks this output takes: WebRTC carries Opus, the rest AAC.
    pub fn tracks(&self) -> &'static [Track] {
        match self {
            Output::Whip(_) => &[Track::H264, Track::Opus],
            _ => &[Track::H264, Track::Aac],
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Output::Rtmp(_) => "rtmp",
            Output::Srt(_) => "srt",
            Output::File(_) => "file",
            Output::Hls(_) => "hls",
            Output::Whip(_) => "whip",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer as gst;
    use gstreamer::prelude::*;

    #[test]
    fn every_output_kind_makes_a_pipeline_fed_by_two_appsrcs() {
        gst::init().unwrap();
        let dir = std::env::temp_dir().join(format!("avatarcast-outputs-{}", std::process::id()));
        let hls = crate::config::HlsOutputConfig { dir: dir.join("hls"), segment_seconds: None, playlist_length: 4 };
        let outputs = [
            Output::Rtmp(rtmp::RtmpTarget::parse("rtmp://127.0.0.1:1935/live/key").unwrap()),
            Output::File(file::FileTarget::new(&crate::config::FileOutputConfig::at(dir.join("a.mp4"), None)).unwrap()),
            Output::File(file::FileTarget::new(&crate::config::FileOutputConfig::at(dir.join("b.mkv"), Some(30.0))).unwrap()),
            Output::Hls(hls::HlsTarget::new(&hls, 2)),
        ];
        for output in &outputs {
            let desc = output.pipeline_description(1).unwrap();
            let pipeline = gst::parse::launch(&desc).unwrap_or_else(|e| panic!("{}: {e}\n{desc}", output.describe()));
            let bin = pipeline.downcast::<gst::Bin>().unwrap();
            assert!(bin.by_name("video").is_some() && bin.by_name("audio").is_some(), "{desc}");
        }
        // A recording restarted after a failure goes on in a new file.
        assert!(outputs[1].pipeline_description(1).unwrap().contains("a-retry1.mp4"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_targets_name_their_field_or_the_command_line() {
        let mut c = Config::parse("[show]\nfile = \"show.toml\"\n[[output.rtmp]]\nurl = \"http://example.com/live\"\n").unwrap();
        let msg = format!("{:#}", Output::all(&c).unwrap_err());
        assert!(msg.contains("`output.rtmp[0].url`") && msg.contains("rtmp://"), "{msg}");
        c.set_outputs(&["b.avi".into()]);
        let msg = format!("{:#}", Output::all(&c).unwrap_err());
        assert!(msg.contains("--output b.avi") && msg.contains(".flv, .mp4 or .mkv"), "{msg}");
        c.set_outputs(&["udp://127.0.0.1:9000/live/key".into()]);
        let msg = format!("{:#}", Output::all(&c).unwrap_err());
        assert!(msg.contains("--output udp://") && msg.contains("rtmp://"), "{msg}");
    }
}
