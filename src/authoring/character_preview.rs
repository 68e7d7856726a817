//! `avatar preview`: a 3D host's pack drawn at rest, neutral and with each mouth
//! expression, as PNGs on a transparent background (to look at a character before it
//! goes on air, and the frames the golden tests compare).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use resvg::tiny_skia::Pixmap;

use crate::avatar::CharacterAvatar;
use crate::config::Config;

/// Writes OUT/neutral.png and OUT/EXPRESSION.png for each mouth expression of `pack`,
/// at the config's frame size on its render device. Returns the files.
pub fn run(pack: &Path, config: &Config, out: &Path) -> Result<Vec<PathBuf>> {
    let mut host = CharacterAvatar::load(pack, config.video.size, config.video.fps, &config.avatar)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let size = config.video.size;
    let names: Vec<Option<&str>> = std::iter::once(None).chain(host.mouth_expressions().iter().map(|e| Some(*e))).collect();
    let mut written = Vec::new();
    for name in names {
        let mut frame = Pixmap::new(size.width, size.height).context("frame size")?;
        host.still(name, &mut frame.as_mut())?;
        let file = out.join(format!("{}.png", name.unwrap_or("neutral")));
        frame.save_png(&file).with_context(|| format!("writing {}", file.display()))?;
        written.push(file);
    }
    Ok(written)
}
