//! avatarcast: a synthetic host for 24/7 shop livestreams.
//!
//! Data flow, one module per stage: show -> speech -> lipsync -> avatar -> scene ->
//! timeline (the one media clock) -> media (encode once) -> output (RTMP, files).

pub mod avatar;
pub mod bench;
pub mod broadcast;
pub mod check;
pub mod config;
pub mod label;
pub mod control;
pub mod lipsync;
pub mod media;
pub mod onnx;
pub mod output;
pub mod progress;
pub mod raster;
pub mod scene;
pub mod show;
pub mod speech;
pub mod timeline;
