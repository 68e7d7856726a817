//! The part of every output pipeline that takes the encoder's packets.

const SOURCES: &str = include_str!("../../pipelines/output-sources.gst");

/// An output's pipeline description: the shared sources (pipelines/output-sources.gst)
/// linked to `video_pad` and `audio_pad` of `sink`, the output's own part.
pub fn with_sources(video_pad: &str, audio_pad: &str, sink: &str) -> String {
    let sources = crate::gst_helpers::fill(SOURCES, &[("video_pad", video_pad.into()), ("audio_pad", audio_pad.into())]);
    format!("{sources}\n{sink}")
}
