//! The show file, reloaded when it changes on disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::control::Shared;
use crate::show::file::ShowFile;

/// Reloads the show file when it changes on disk (checked once a second), without
/// interrupting the stream; a file that fails its checks leaves the running show
/// as it is and says why.
pub struct ShowWatcher {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ShowWatcher {
    pub fn spawn(shared: Arc<Shared>) -> ShowWatcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("show-watch".into())
            .spawn(move || {
                let path = shared.show_path.clone();
                let mut rejected = String::new();
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_secs(1));
                    let Ok(text) = std::fs::read_to_string(&path) else { continue };
                    let current = shared.show.lock().map(|s| s.source == text).unwrap_or(true);
                    if current || text == rejected {
                        continue;
                    }
                    match ShowFile::parse(&text).and_then(|show| shared.replace_show(show)) {
                        Ok(()) => tracing::info!(file = %path.display(), "show file changed: reloaded"),
                        Err(e) => {
                            let msg = format!("show file {} changed but was not loaded, the show goes on as it was: {e:#}", path.display());
                            tracing::error!("{msg}");
                            shared.emit(serde_json::json!({ "type": "error", "message": msg }));
                            rejected = text;
                        }
                    }
                }
            })
            .expect("spawn show watcher");
        ShowWatcher { stop, handle: Some(handle) }
    }
}

impl Drop for ShowWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
