//! One attempt at an output, and the policy its supervisor retries it by.

use std::time::Duration;

use anyhow::Result;
use gstreamer as gst;

use super::health::Health;
use super::packet::Track;

#[derive(Debug, Clone)]
pub struct Policy {
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// An RTMP session whose server takes no bytes for this long is rebuilt.
    pub stall: Duration,
    /// Render mode: never drop, let the encoder wait instead.
    pub lossless: bool,
}

impl Policy {
    /// Wait before attempt `n` (1-based): 2 s x 1.5^(n-1), +-20 % jitter, capped.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let base = self.first_retry.as_secs_f64() * 1.5f64.powi(attempt.saturating_sub(1).min(40) as i32);
        Duration::from_secs_f64((base * (0.8 + 0.4 * jitter.clamp(0.0, 1.0))).min(self.max_retry.as_secs_f64()))
    }
}

/// One attempt at an output, from its start until it fails or the stream ends.
pub trait Session {
    /// Takes one packet (sessions start on a keyframe); a failure comes explained.
    fn push(&mut self, track: Track, buffer: gst::Buffer) -> Result<(), String>;
    /// Packets were lost on the way here: start again on the next keyframe.
    fn resync(&mut self);
    /// Errors, stalls, and the move to live; called every CHECK_EVERY.
    fn check(&mut self, health: &Health, policy: &Policy) -> Result<()>;
    /// The stream is over: deliver what is left and close cleanly.
    fn finish(self: Box<Self>);
    /// The session failed: let it go without holding up the next attempt.
    fn abandon(self: Box<Self>);
}
