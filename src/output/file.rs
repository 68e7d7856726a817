//! Local files: the container follows the file name.

use std::path::{Path, PathBuf};

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
}

impl FileTarget {
    pub fn new(path: &Path) -> Result<FileTarget> {
        let container = Container::from_path(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create folder {} for output {}: {e}", dir.display(), path.display()))?;
        }
        Ok(FileTarget { path: path.to_path_buf(), container })
    }

    pub fn sink_description(&self, name: &str) -> String {
        let location = self.path.to_string_lossy().replace('"', "\\\"");
        format!("filesink name={name} location=\"{location}\" sync=false async=false")
    }
}
