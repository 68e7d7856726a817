//! Recordings: the container follows the file name; with `split_minutes` a new,
//! self-contained file starts every few minutes (NAME-00001.mp4, NAME-00002.mp4, …):
//! splitmuxsink cuts on keyframes and finalizes each file it closes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Flv,
    Mp4,
    Mkv,
}

impl Container {
    pub fn from_path(path: &Path) -> Result<Container> {
        match path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("flv") => Ok(Container::Flv),
            Some("mp4") => Ok(Container::Mp4),
            Some("mkv") => Ok(Container::Mkv),
            _ => bail!("`{}`: the file name must end in .flv, .mp4 or .mkv", path.display()),
        }
    }

    pub fn muxer(self) -> &'static str {
        match self {
            Container::Flv => "flvmux",
            Container::Mp4 => "mp4mux",
            Container::Mkv => "matroskamux",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FileTarget {
    pub path: PathBuf,
    pub container: Container,
    pub split: Option<Duration>,
    /// Bytes kept free on the disk (0: write until the disk is full).
    pub min_free: u64,
    /// Split recordings: the most bytes of parts kept (the oldest go first).
    pub keep_bytes: Option<u64>,
}

impl FileTarget {
    pub fn new(config: &crate::config::FileOutputConfig) -> Result<FileTarget> {
        let path = &config.path;
        let container = Container::from_path(path)?;
        let split = config.split_minutes.map(|m| Duration::from_secs_f64(m * 60.0));
        let min_free = config.min_free_mb << 20;
        let keep_bytes = config.keep_gb.map(|g| (g * (1u64 << 30) as f64) as u64);
        Ok(FileTarget { path: path.to_path_buf(), container, split, min_free, keep_bytes })
    }

    /// The folder the recording goes into.
    pub fn folder(&self) -> &Path {
        self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
    }

    /// Deletes the oldest parts of a split recording until the rest fit `keep_bytes`.
    /// Returns the files deleted.
    pub fn prune(&self) -> Vec<PathBuf> {
        let Some(keep) = self.keep_bytes else { return Vec::new() };
        let mut parts: Vec<(PathBuf, u64)> = self
            .parts()
            .into_iter()
            .filter_map(|(_, p)| {
                let len = std::fs::metadata(&p).ok()?.len();
                Some((p, len))
            })
            .collect();
        let mut total: u64 = parts.iter().map(|(_, len)| len).sum();
        let mut deleted = Vec::new();
        // The newest part (being written) is never deleted.
        parts.pop();
        for (path, len) in parts {
            if total <= keep {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                deleted.push(path);
            }
        }
        deleted
    }

    /// Makes the recording's folder (when the stream starts, not when the config is read).
    pub fn make_folder(&self) -> Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create folder {} for output {}: {e}", dir.display(), self.path.display()))?;
        }
        Ok(())
    }

    /// NAME-INDEX.EXT next to the configured path; `index` as text (a number or `%05d`).
    fn numbered(&self, index: &str) -> String {
        let stem = self.path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
        let ext = self.path.extension().map(|s| s.to_string_lossy()).unwrap_or_default();
        self.path.with_file_name(format!("{stem}-{index}.{ext}")).to_string_lossy().into_owned()
    }

    /// Split files never overwrite earlier ones (of this run, or of the one before).
    /// Past the newest part: parts older than it may have been pruned.
    fn next_free_index(&self) -> u32 {
        let exists = |i: u32| Path::new(&self.numbered(&format!("{i:05}"))).exists();
        let newest = self.newest_part();
        (newest + 1..).find(|&i| !exists(i)).unwrap_or(newest + 1)
    }

    /// The highest index of a part in the folder (0: none).
    fn newest_part(&self) -> u32 {
        self.parts().last().map_or(0, |(i, _)| *i)
    }

    /// This recording's numbered parts in the folder (NAME-INDEX.EXT), oldest first.
    fn parts(&self) -> Vec<(u32, PathBuf)> {
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = self.path.extension().map(|s| format!(".{}", s.to_string_lossy())).unwrap_or_default();
        let index = |name: &str| name.strip_prefix(&format!("{stem}-"))?.strip_suffix(&ext)?.parse::<u32>().ok();
        let mut parts: Vec<(u32, PathBuf)> = std::fs::read_dir(self.folder())
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let e = e.ok()?;
                Some((index(&e.file_name().to_string_lossy())?, e.path()))
            })
            .collect();
        parts.sort();
        parts
    }

    /// The file an unsplit recording's `session`-th start writes.
    pub fn location(&self, session: u32) -> String {
        match session {
            0 => self.path.to_string_lossy().into_owned(),
            n => self.numbered(&format!("retry{n}")),
        }
    }

    /// The recording's pipeline for its `session`-th start (0 first; after a failure
    /// the recording goes on in a new file rather than overwrite the last one).
    pub fn pipeline_description(&self, session: u32) -> String {
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let muxer = self.container.muxer();
        let (video_pad, audio_pad, sink) = match self.split {
            None => {
                let location = self.location(session);
                ("mux.", "mux.", format!("{muxer} name=mux ! filesink location=\"{}\" sync=false async=false", quote(&location)))
            }
            Some(every) => {
                // splitmuxsink formats the index into the name; a `%` of the user's is escaped.
                let pattern = self.numbered("%05d").replace('%', "%%").replace("%%05d", "%05d");
                // Files are finalized in the background, on a new muxer for each, except
                // FLV: splitmuxsink 1.22 cannot request flvmux's pads by the names it
                // uses for a new muxer ("Could not create the new muxer/sink", and the
                // second file stays empty), so one flvmux is reused, finalized in line
                // (a header rewrite).
                let async_finalize = self.container != Container::Flv;
                let sink = format!(
                    "splitmuxsink name=mux location=\"{}\" max-size-time={} muxer-factory={muxer} async-finalize={async_finalize} \
                     start-index={}",
                    quote(&pattern),
                    every.as_nanos(),
                    self.next_free_index(),
                );
                ("mux.video", "mux.audio_0", sink)
            }
        };
        super::sources::with_sources(video_pad, audio_pad, &sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_deletes_the_oldest_parts_and_never_the_newest() {
        let dir = std::env::temp_dir().join(format!("avatarcast-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Part 1 was pruned before; 2 to 5 hold 100 bytes each; another recording's file stays.
        for i in 2..=5 {
            std::fs::write(dir.join(format!("show-{i:05}.mkv")), [0u8; 100]).unwrap();
        }
        std::fs::write(dir.join("other-00001.mkv"), [0u8; 100]).unwrap();
        let config = crate::config::FileOutputConfig::at(dir.join("show.mkv"), Some(1.0));
        let mut target = FileTarget::new(&config).unwrap();
        assert_eq!(target.next_free_index(), 6);
        assert!(target.prune().is_empty(), "no keep_gb: keep all");
        target.keep_bytes = Some(250);
        let deleted: Vec<String> = target.prune().iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(deleted, ["show-00002.mkv", "show-00003.mkv"]);
        target.keep_bytes = Some(0);
        assert_eq!(target.prune().len(), 1, "the newest part stays");
        assert!(dir.join("show-00005.mkv").exists() && dir.join("other-00001.mkv").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
