//! Small GStreamer helpers every stage that builds a pipeline or rewrites a buffer
//! shares: starting GStreamer, filling a pipeline template, building a pipeline from
//! its description, waiting for its end, replacing a buffer's bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use gstreamer::prelude::*;

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

/// A file's path as a property value inside a quoted pipeline description
/// (`location="{}"`): quotes and backslashes escaped.
pub fn location(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "\\\\").replace('"', "\\\"")
}

/// The pipeline a description makes.
pub fn launch(desc: &str) -> Result<gst::Pipeline> {
    gst::parse::launch(desc)?.downcast::<gst::Pipeline>().map_err(|_| anyhow::anyhow!("the description did not make a pipeline"))
}

/// Waits up to `timeout` for the pipeline's end of stream, after an EOS went in;
/// its error, or the wait running out, is the error.
pub fn wait_for_end(pipeline: &gst::Pipeline, timeout: std::time::Duration) -> Result<()> {
    let bus = pipeline.bus().context("pipeline without a bus")?;
    let types = [gst::MessageType::Eos, gst::MessageType::Error];
    match bus.timed_pop_filtered(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64), &types).as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(()),
        Some(gst::MessageView::Error(e)) => bail!("{}", e.error()),
        _ => bail!("it did not finish within {} s", timeout.as_secs()),
    }
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
