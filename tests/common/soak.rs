//! The soak harness (scripts/soak.py) run on the test's avatarcast binary.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::{avatarcast_binary, repo};

/// Starts the harness writing into `out`, with `args` (its mode and lengths).
pub fn start_soak(out: &Path, args: &[&str], log: &Path) -> Child {
    Command::new("python3")
        .arg(repo().join("scripts/soak.py"))
        .arg("--out")
        .arg(out)
        .arg("--bin")
        .arg(avatarcast_binary())
        .args(args)
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3")
}

/// The verdict the harness wrote.
pub fn soak_verdict(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("verdict.json")).unwrap_or_else(|e| panic!("no verdict in {}: {e}", out.display()));
    serde_json::from_str(&text).unwrap()
}

/// The plot is a PNG of a real size.
pub fn assert_plot(out: &Path) {
    let png = std::fs::read(out.join("soak.png")).expect("soak.png");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "soak.png is {} bytes", png.len());
}
