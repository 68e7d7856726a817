//! Small GStreamer helpers every stage that builds a pipeline or rewrites a buffer
//! shares: starting GStreamer, filling a pipeline template, replacing a buffer's bytes.

use anyhow::{Context, Result};
use gstreamer as gst;

pub fn init() -> Result<()> {
    gst::init().context("GStreamer failed to initialize: run `bash scripts/setup.sh`")
}

/// Fills `{key}` placeholders and drops comment lines.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut s: String = template.lines().filter(|l| !l.trim_start().starts_with('#')).collect::<Vec<_>>().join("\n");
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// A buffer of `bytes` in place of `like`: its timestamps, duration and flags.
pub fn rewritten(bytes: Vec<u8>, like: &gst::BufferRef) -> gst::Buffer {
    let mut out = gst::Buffer::from_mut_slice(bytes);
    {
        let b = out.get_mut().expect("new buffer is writable");
        b.set_pts(like.pts());
        b.set_dts(like.dts());
        b.set_duration(like.duration());
        b.set_flags(like.flags());
    }
    out
}
