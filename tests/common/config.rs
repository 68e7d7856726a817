//! Configs and shows for a run, written to a test's folder, and the transcript a run
//! writes.

use std::path::{Path, PathBuf};

use crate::repo;

/// The demo config with `edit` applied, written to `dir`.
pub fn demo_config_with(dir: &Path, name: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let demo = std::fs::read_to_string(repo().join("config/demo.toml")).unwrap();
    let edited = edit(demo.clone());
    assert_ne!(edited, demo, "the edit changed nothing");
    let path = dir.join(name);
    std::fs::write(&path, edited).unwrap();
    path
}

/// The demo config playing `show` (a show file's text, written to `dir`) instead
/// of the demo show, then `edit` applied.
pub fn config_with_show(dir: &Path, show: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let show_path = dir.join("show.toml");
    std::fs::write(&show_path, show).unwrap();
    demo_config_with(dir, "c.toml", |s| edit(s.replace("config/demo-show.toml", show_path.to_str().unwrap())))
}

/// A config edit that writes the transcript to `path`.
pub fn transcript_to(path: &Path) -> impl FnOnce(String) -> String + '_ {
    move |s: String| s.replace("transcript = \"out/transcript.jsonl\"", &format!("transcript = \"{}\"", path.display()))
}

/// Transcript lines (JSON objects), in order.
pub fn transcript(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("transcript line is JSON"))
        .collect()
}
