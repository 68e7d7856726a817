//! The control plane: an HTTP + JSON API on tokio, next to the render thread. It
//! only ever talks to the stream through a command channel and shared counters, so
//! nothing a client does can stall a frame.

pub mod api;
pub mod llm;
pub mod state;

pub use state::Shared;
