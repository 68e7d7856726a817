//! A record of everything said on air, one JSON object per line, with its on-air
//! start and end: stream seconds, and wall-clock time (Unix seconds).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Serialize;

use super::lines::Origin;

pub struct Transcript {
    file: File,
    /// Wall-clock time of stream time zero.
    epoch: f64,
}

#[derive(Serialize)]
struct Entry<'a> {
    start: f64,
    end: f64,
    wall_start: f64,
    wall_end: f64,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    text: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    product: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cut: bool,
}

impl Transcript {
    pub fn open(path: &Path) -> Result<Transcript> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create folder for transcript {}", path.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open transcript {} for writing; check `show.transcript`", path.display()))?;
        let epoch = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        Ok(Transcript { file, epoch })
    }

    pub fn record(&mut self, start: f64, end: f64, origin: &Origin, text: &str, product: &str) {
        self.write(start, end, origin, text, product, false);
    }

    /// A line cut short (it will be said again).
    pub fn record_cut(&mut self, start: f64, end: f64, origin: &Origin, text: &str, product: &str) {
        self.write(start, end, origin, text, product, true);
    }

    fn write(&mut self, start: f64, end: f64, origin: &Origin, text: &str, product: &str, cut: bool) {
        let id = match origin {
            Origin::Line { id, .. } => Some(*id),
            Origin::Show { .. } => None,
        };
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        let entry = Entry {
            start: round(start),
            end: round(end),
            wall_start: round(self.epoch + start),
            wall_end: round(self.epoch + end),
            source: origin.label(),
            id,
            text,
            product,
            cut,
        };
        let mut line = serde_json::to_string(&entry).unwrap_or_default();
        line.push('\n');
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            tracing::error!("transcript write failed: {e}");
        }
    }
}
