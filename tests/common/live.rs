//! `avatarcast live` in the background, with its control API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::{avatarcast, free_port, get_json, try_http};

/// `avatarcast live` in the background with its control API on a free port; killed
/// by pid on drop if still running.
pub struct LiveRun {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl LiveRun {
    pub fn start(config: &Path, extra: &[&str], log: PathBuf) -> LiveRun {
        Self::start_with_token(config, "", extra, log)
    }

    /// As `start`, for an API that wants `token` (empty: none).
    pub fn start_with_token(config: &Path, token: &str, extra: &[&str], log: PathBuf) -> LiveRun {
        Self::start_with(config, token, &[], extra, log)
    }

    /// As `start_with_token`, with environment variables for the process.
    pub fn start_with(config: &Path, token: &str, env: &[(&str, &str)], extra: &[&str], log: PathBuf) -> LiveRun {
        let auth = format!("Bearer {token}");
        let headers: Vec<(&str, &str)> = if token.is_empty() { vec![] } else { vec![("Authorization", auth.as_str())] };
        let port = free_port();
        let child = avatarcast()
            .args(["live", "--config"])
            .arg(config)
            .args(["--api", &format!("127.0.0.1:{port}")])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let run = LiveRun { child, port, log };
        let started = Instant::now();
        loop {
            // Not ready yet: nothing listening, or no answer from a server still starting.
            if let Ok((status, body)) = try_http(port, "GET", "/v1/status", &headers, b"") {
                if status == 200 && serde_json::from_slice::<serde_json::Value>(&body).unwrap()["frames_rendered"].as_u64() > Some(0) {
                    return run;
                }
            }
            assert!(started.elapsed() < Duration::from_secs(60), "live did not start:\n{}", run.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stream seconds so far.
    pub fn stream_seconds(&self) -> f64 {
        get_json(self.port, "/v1/status")["stream_seconds"].as_f64().unwrap()
    }

    /// Waits for the process to end by itself (its --duration).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(120), "live did not end:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill").arg(self.child.id().to_string()).status();
            let _ = self.child.wait();
        }
    }
}
