//! avatarcast: a synthetic host for 24/7 shop livestreams.
//!
//! Data flow, one module per stage: show -> speech -> lipsync -> avatar -> scene ->
//! timeline (the one media clock) -> media (encode once) -> output (RTMP, files).
//! broadcast runs them as one loop; control (the API) and label sit beside it.
//! Below every stage: config (plain data) and the shared vocabulary in small leaf
//! modules. No module imports one that imports it back (scripts/module-cycles.py).

// Shared vocabulary: leaves that import no stage.
pub mod audio_format;
pub mod cue;
pub mod frame;
pub mod gst_helpers;
pub mod phoneme;
pub mod proc_stat;
pub mod progress;
pub mod raster;

// Plain data at the bottom of every stage.
pub mod config;

// The stages, in the order the data flows.
pub mod show;
pub mod speech;
pub mod lipsync;
pub mod avatar;
pub mod scene;
pub mod timeline;
pub mod media;
pub mod output;
pub mod label;
pub mod onnx;

// Faces in a presenter's footage: found, followed and measured (import, eval).
pub mod face;

// What runs them.
pub mod authoring;
pub mod bench;
pub mod broadcast;
pub mod check;
pub mod control;
