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
}

impl FileTarget {
    pub fn new(path: &Path, split_minutes: Option<f64>) -> Result<FileTarget> {
        let container = Container::from_path(path)?;
        let split = split_minutes.map(|m| Duration::from_secs_f64(m * 60.0));
        Ok(FileTarget { path: path.to_path_buf(), container, split })
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
    fn next_free_index(&self) -> u32 {
        (1..).find(|i| !Path::new(&self.numbered(&format!("{i:05}"))).exists()).unwrap_or(1)
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
