//! Shared helpers for the integration tests and benches: the avatarcast binary, a
//! real nginx-rtmp on loopback (started and stopped by pid), ffprobe/ffmpeg to see
//! what arrived, the control API over HTTP and WebSocket, headless Chromium, the soak harness, WHIP endpoints on aiortc and webrtcbin, and
//! synthetic presenters to import. A crate of its own (a dev-dependency), so it is
//! compiled once for all test binaries; each test takes what it needs with
//! `use common::*;`.

mod browser;
mod config;
mod container;
mod http;
mod lipsync;
mod live;
mod logs;
mod media;
mod nginx;
mod process;
mod soak;
mod whip;
mod ws;

pub mod character;
pub mod clip;
pub mod presenter;

pub use browser::*;
pub use config::*;
pub use container::*;
pub use http::*;
pub use lipsync::*;
pub use live::*;
pub use logs::*;
pub use media::*;
pub use nginx::*;
pub use process::*;
pub use soak::*;
pub use whip::*;
pub use ws::*;
