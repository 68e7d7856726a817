//! The H.264 profile of the one encode, settled from `video.profile` and the outputs.

use crate::config::{Config, H264Profile};

/// The profile the one encode is made in (`video.profile`, with `auto` settled by the
/// outputs: WHIP ingests negotiate Constrained Baseline most widely, see
/// docs/reliability.md § WHIP).
pub fn h264_profile(config: &Config) -> H264Profile {
    match config.video.profile {
        H264Profile::Auto if config.output.whip.is_empty() => H264Profile::Main,
        H264Profile::Auto => H264Profile::ConstrainedBaseline,
        chosen => chosen,
    }
}

/// The encoder's caps name for `profile` (pipelines/video-encoder.gst).
pub fn caps_name(profile: H264Profile) -> &'static str {
    match profile {
        H264Profile::ConstrainedBaseline => "constrained-baseline",
        _ => "main",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_main_until_a_whip_ingest_asks_for_constrained_baseline() {
        let show = "[show]\nfile = \"config/demo-show.toml\"\n";
        let whip = "[[output.whip]]\nurl = \"http://127.0.0.1:1/whip\"\n";
        let profile = |text: &str| h264_profile(&Config::parse(text).unwrap());
        assert_eq!(profile(show), H264Profile::Main);
        assert_eq!(profile(&format!("{show}{whip}")), H264Profile::ConstrainedBaseline);
        assert_eq!(profile(&format!("[video]\nprofile = \"main\"\n{show}{whip}")), H264Profile::Main);
        assert_eq!(caps_name(H264Profile::ConstrainedBaseline), "constrained-baseline");
    }
}
