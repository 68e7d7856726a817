//! The avatarcast binary and the processes, folders, ports and waits a test needs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The repository root (where config/, assets/ and models/ are).
pub fn repo() -> PathBuf {
    // This crate is tests/common in the repository.
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// The avatarcast binary cargo built for the test or bench that is running. Cargo
/// names it in CARGO_BIN_EXE_avatarcast to the test as it runs (cargo 1.94 on); the
/// test executable itself lies below the folder the binary is in (target/release/deps).
pub fn avatarcast_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CARGO_BIN_EXE_avatarcast") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .skip(1)
        .map(|dir| dir.join("avatarcast"))
        .find(|bin| bin.is_file())
        .unwrap_or_else(|| panic!("no avatarcast binary above {}: run the tests with `cargo test`", exe.display()))
}

/// The avatarcast binary, run from the repository root (where config/ and models/ are).
pub fn avatarcast() -> Command {
    let mut c = Command::new(avatarcast_binary());
    c.current_dir(repo()).env("RUST_LOG", "info");
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run command")
}

pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// A fresh temporary directory under target/, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let p = std::env::temp_dir().join(format!("avatarcast-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A failing test leaves its files (logs, recordings) to look at; so does any
        // test run with AVATARCAST_KEEP_TEST_DIRS set.
        if std::thread::panicking() || std::env::var_os("AVATARCAST_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept for inspection: {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `cond` every 50 ms up to `timeout`.
pub fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
