//! Where the encoded stream goes. One file per output kind; each kind knows how to
//! validate its target, describe its GStreamer branch and explain its failures.

pub mod file;
pub mod rtmp;

use crate::config::Config;

/// One delivery target, as the media pipeline needs it.
#[derive(Debug, Clone)]
pub enum Output {
    Rtmp(rtmp::RtmpTarget),
    File(file::FileTarget),
}

impl Output {
    pub fn all(config: &Config) -> anyhow::Result<Vec<Output>> {
        let mut v = Vec::new();
        for r in &config.output.rtmp {
            v.push(Output::Rtmp(rtmp::RtmpTarget::parse(&r.url)?));
        }
        for f in &config.output.file {
            v.push(Output::File(file::FileTarget::new(&f.path)?));
        }
        Ok(v)
    }

    /// Safe to log: stream keys are masked.
    pub fn describe(&self) -> String {
        match self {
            Output::Rtmp(r) => format!("RTMP {}", r.masked()),
            Output::File(f) => format!("file {}", f.path.display()),
        }
    }
}
