//! A real nginx-rtmp on loopback, started and stopped by pid.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TempDir, free_port, repo};

/// nginx with the RTMP module, listening on 127.0.0.1 only.
pub struct Nginx {
    child: Option<Child>,
    pub port: u16,
    pub dir: TempDir,
}

impl Nginx {
    pub fn start() -> Nginx {
        let dir = TempDir::new("nginx");
        let port = free_port();
        std::fs::create_dir_all(dir.path().join("rec")).unwrap();
        let template = std::fs::read_to_string(repo().join("tests/nginx/nginx.conf.in")).unwrap();
        let conf = template.replace("{dir}", &dir.path().display().to_string()).replace("{port}", &port.to_string());
        std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
        let mut nginx = Nginx { child: None, port, dir };
        nginx.restart();
        nginx
    }

    /// Starts the server (again) on the same port, with the same recordings folder.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "nginx is running");
        let dir = self.dir.path().display().to_string();
        let child = Command::new("nginx")
            .args(["-p", &dir, "-e", &self.dir.path().join("error.log").display().to_string()])
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx not installed: run `bash scripts/setup.sh`");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start: {}", Self::log(&self.dir));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server outright (SIGKILL, by pid): connections drop as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    fn log(dir: &TempDir) -> String {
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    }

    pub fn url(&self, key: &str) -> String {
        format!("rtmp://127.0.0.1:{}/live/{key}", self.port)
    }

    /// FLV files nginx recorded.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("rec"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "flv"))
            .collect();
        v.sort();
        v
    }

    pub fn stop(&mut self) {
        // By pid, as the test started it.
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}
