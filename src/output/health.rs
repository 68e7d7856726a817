//! How each output is doing, for status, metrics and logs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Connecting,
    Live,
    Retrying,
    /// A recording stopped while its disk is (nearly) full; it goes on when space returns.
    WaitingForSpace,
    Stopped,
}

/// How one output is doing, for status, metrics and logs.
pub struct Health {
    pub name: String,
    pub kind: &'static str,
    state: Mutex<HealthState>,
    /// Packets this output lost because it fell behind (its hand-off was full).
    pub dropped: AtomicU64,
    /// Bytes it delivered (RTMP: accepted by the socket; files: written).
    pub bytes: AtomicU64,
}

struct HealthState {
    state: State,
    /// Failed attempts since it was last live.
    attempt: u32,
    next_attempt: Option<Instant>,
    last_error: Option<String>,
    reconnects: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub name: String,
    pub kind: &'static str,
    pub state: State,
    pub attempt: u32,
    pub next_attempt_in_s: Option<f64>,
    pub last_error: Option<String>,
    pub reconnects: u64,
    pub bytes: u64,
    pub dropped_packets: u64,
}

impl Health {
    pub fn new(name: String, kind: &'static str) -> Health {
        Health {
            name,
            kind,
            state: Mutex::new(HealthState {
                state: State::Connecting,
                attempt: 0,
                next_attempt: None,
                last_error: None,
                reconnects: 0,
            }),
            dropped: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn update(&self, f: impl FnOnce(&mut HealthState)) {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn set(&self, state: State) {
        self.update(|h| {
            if state == State::Live {
                h.attempt = 0;
            }
            h.state = state;
            h.next_attempt = None;
        });
    }

    /// A failure: the next attempt comes after `wait`.
    pub fn failed(&self, error: String, wait: Duration) -> u32 {
        let mut attempt = 0;
        self.update(|h| {
            if h.state == State::Live {
                h.reconnects += 1;
            }
            h.attempt += 1;
            attempt = h.attempt;
            h.state = State::Retrying;
            h.next_attempt = Some(Instant::now() + wait);
            h.last_error = Some(error);
        });
        attempt
    }

    /// A recording waits for disk space; `why` says how much is free and what it waits for.
    pub fn waiting_for_space(&self, why: String) {
        self.update(|h| {
            h.state = State::WaitingForSpace;
            h.next_attempt = None;
            h.last_error = Some(why);
        });
    }

    pub fn attempt(&self) -> u32 {
        self.state.lock().map(|h| h.attempt).unwrap_or(0)
    }

    pub fn report(&self) -> HealthReport {
        let h = self.state.lock().unwrap_or_else(|p| p.into_inner());
        HealthReport {
            name: self.name.clone(),
            kind: self.kind,
            state: h.state,
            attempt: h.attempt,
            next_attempt_in_s: h.next_attempt.map(|t| t.saturating_duration_since(Instant::now()).as_secs_f64()),
            last_error: h.last_error.clone(),
            reconnects: h.reconnects,
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped_packets: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Prometheus lines for every output.
pub fn metrics(health: &[Arc<Health>], out: &mut String) {
    use std::fmt::Write;
    let reports: Vec<_> = health.iter().map(|h| h.report()).collect();
    let mut family = |name: &str, help: &str, kind: &str, value: &dyn Fn(&HealthReport) -> f64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for r in &reports {
            let label = r.name.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(out, "{name}{{output=\"{label}\",kind=\"{}\"}} {}", r.kind, value(r));
        }
    };
    family("avatarcast_output_up", "1 while the output is live.", "gauge", &|r| (r.state == State::Live) as u8 as f64);
    family("avatarcast_output_waiting_for_space", "1 while a recording waits for disk space.", "gauge", &|r| {
        (r.state == State::WaitingForSpace) as u8 as f64
    });
    family("avatarcast_output_reconnects_total", "Times a live output failed and was rebuilt.", "counter", &|r| r.reconnects as f64);
    family("avatarcast_output_retry_attempt", "Failed attempts since the output was last live.", "gauge", &|r| r.attempt as f64);
    family("avatarcast_output_bytes_total", "Bytes delivered.", "counter", &|r| r.bytes as f64);
    family("avatarcast_output_dropped_packets_total", "Packets lost because the output fell behind.", "counter", &|r| {
        r.dropped_packets as f64
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_counts_reconnects_only_after_being_live() {
        let h = Health::new("RTMP x".into(), "rtmp");
        assert_eq!(h.failed("refused".into(), Duration::from_secs(2)), 1);
        assert_eq!(h.failed("refused".into(), Duration::from_secs(3)), 2);
        h.set(State::Live);
        let r = h.report();
        assert_eq!((r.state, r.attempt, r.reconnects), (State::Live, 0, 0));
        h.failed("closed".into(), Duration::from_secs(2));
        let r = h.report();
        assert_eq!((r.state, r.attempt, r.reconnects), (State::Retrying, 1, 1));
        assert!(r.next_attempt_in_s.unwrap() <= 2.0 && r.last_error.as_deref() == Some("closed"));
        let mut m = String::new();
        metrics(&[Arc::new(h)], &mut m);
        assert!(m.contains("avatarcast_output_reconnects_total{output=\"RTMP x\",kind=\"rtmp\"} 1"), "{m}");
    }
}
