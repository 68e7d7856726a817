//! The frames a video pack plays: its idle and gesture ranges, cut to the full-body
//! framing and keyed, as one short H.264 file inside the pack (played.mkv, with
//! played.json beside it), written by `avatar import` and `avatar refresh`. A channel
//! decodes from it what it shows, a group of pictures at a time, instead of reading the
//! footage from its start and holding every frame (docs/avatar-packs.md § Played frames).
//!
//! With a key or a matte, each picture is two stacked halves: the premultiplied
//! colour above, the opacity as grey below.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{IntSize, Pixmap};
use serde::{Deserialize, Serialize};

use super::manifest::VideoManifest;
use crate::media::decode::VideoReader;

pub const FILE: &str = "played.mkv";
pub const INFO_FILE: &str = "played.json";
/// A keyframe every this many frames: playing backwards decodes at most this many
/// frames ahead of the one shown, and holds them.
pub const KEYFRAME_EVERY: usize = 8;
/// The file's own frame rate (frame i at i / RATE s), whatever the footage's.
pub const RATE: u32 = 25;
/// Only H.264 in Matroska is ever written, so its decoder is named: one thread, as
/// a channel shares the machine with others.
const DECODER: &str = "matroskademux ! h264parse ! avdec_h264 max-threads=1";

/// played.json.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlayedInfo {
    /// What the frames were made from (see `made_from`): when avatar.toml or the
    /// footage says otherwise, `avatar refresh` makes them again.
    pub made_from: String,
    pub frames: usize,
    /// The footage's pixels [x0, y0, x1, y1) each frame keeps.
    #[serde(rename = "box")]
    pub kept: [u32; 4],
    /// Whether an opacity half lies below the colour.
    pub alpha: bool,
    pub keyframe_every: usize,
    pub footage_fps: f64,
}

impl PlayedInfo {
    pub fn size(&self) -> (u32, u32) {
        (self.kept[2] - self.kept[0], self.kept[3] - self.kept[1])
    }
}

/// What the played frames of `m` are made from, in words: the footage (by size),
/// the ranges, the framing, and the key or matte. Equal strings: the same frames.
pub fn made_from(pack: &Path, m: &VideoManifest) -> String {
    let bytes = |file: &str| std::fs::metadata(pack.join(file)).map_or(0, |md| md.len());
    let ranges: Vec<String> = UsedFrames::new(m).ranges.iter().map(|r| format!("{}-{}", r.0, r.1)).collect();
    let [x, y, w, h] = m.framing.full;
    let key = match &m.key {
        Some(k) => format!("key {} tolerance {} softness {}{}", k.color, k.tolerance, k.softness, if k.spill { " spill" } else { "" }),
        None => "no key".into(),
    };
    let matte = match &m.alpha_video {
        Some(f) => format!("matte {f} ({} bytes)", bytes(f)),
        None => "no matte".into(),
    };
    format!("footage {} ({} bytes); frames {}; full framing {x} {y} {w} {h}; {key}; {matte}", m.video, bytes(&m.video), ranges.join(", "))
}

/// played.json of `pack`, checked against its manifest: present, and made from what
/// avatar.toml and the footage say now.
pub fn check(pack: &Path, m: &VideoManifest) -> Result<PlayedInfo> {
    let refresh = format!("run `avatarcast avatar refresh --pack {}` (it reads the footage once)", pack.display());
    let info_path = pack.join(INFO_FILE);
    if !info_path.is_file() || !pack.join(FILE).is_file() {
        bail!("avatar pack {}: {FILE} (the frames a channel plays) is missing, as in packs made before 2026-12: {refresh}", pack.display());
    }
    let text = std::fs::read_to_string(&info_path).with_context(|| format!("cannot read {}", info_path.display()))?;
    let info: PlayedInfo = serde_json::from_str(&text).with_context(|| format!("{} is damaged: {refresh}", info_path.display()))?;
    let now = made_from(pack, m);
    if info.made_from != now {
        let (was, is) = info.made_from.split("; ").zip(now.split("; ")).find(|(a, b)| a != b).unwrap_or((&info.made_from, &now));
        bail!("avatar pack {}: {FILE} was made from {was}, but avatar.toml and the footage now say {is}: {refresh}", pack.display());
    }
    if info.frames != UsedFrames::new(m).len() || info.keyframe_every == 0 || info.kept[2] <= info.kept[0] || info.kept[3] <= info.kept[1] {
        bail!("{} is damaged: {refresh}", info_path.display());
    }
    Ok(info)
}

/// The footage frames a pack plays (its idle and gesture ranges, merged), and where
/// each sits in played.mkv (its slot): footage between them is never read.
#[derive(Debug, Clone)]
pub struct UsedFrames {
    /// Disjoint ranges in order: (first, last, slot of first).
    ranges: Vec<(usize, usize, usize)>,
}

impl UsedFrames {
    pub fn new(m: &VideoManifest) -> UsedFrames {
        let mut spans: Vec<(usize, usize)> = m.gestures.values().map(|g| (g.first, g.last)).chain([(m.idle.first, m.idle.last)]).collect();
        spans.sort();
        let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
        let mut held = 0;
        for (a, b) in spans {
            match ranges.last_mut() {
                Some(last) if a <= last.1 + 1 => {
                    held += b.saturating_sub(last.1);
                    last.1 = last.1.max(b);
                }
                _ => {
                    ranges.push((a, b, held));
                    held += b - a + 1;
                }
            }
        }
        UsedFrames { ranges }
    }

    pub fn slot(&self, frame: usize) -> Option<usize> {
        self.ranges.iter().find(|r| (r.0..=r.1).contains(&frame)).map(|r| r.2 + frame - r.0)
    }

    pub fn len(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.2 + r.1 - r.0 + 1)
    }

    pub fn last(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.1)
    }

    pub fn frames(&self) -> impl Iterator<Item = usize> + '_ {
        self.ranges.iter().flat_map(|r| r.0..=r.1)
    }
}

/// A decoded frame and its visible box [x0, y0, x1, y1) (drawing reads only that).
#[derive(Debug, Clone)]
pub struct Picture {
    pub image: Arc<Pixmap>,
    pub content: [u32; 4],
}

/// played.mkv opened for playing: any slot on request, decoded from the keyframe
/// before it. The last group of pictures decoded stays, so the idle's way back
/// decodes each group once; images come from a pool and return to it when the
/// renderer lets go of them.
pub struct FrameStore {
    reader: VideoReader,
    info: PlayedInfo,
    /// Frames decoded since the group's keyframe: (slot of the first, pictures).
    group: (usize, Vec<Picture>),
    pool: Vec<Arc<Pixmap>>,
}

impl FrameStore {
    pub fn open(pack: &Path, info: PlayedInfo) -> Result<FrameStore> {
        let reader = VideoReader::open(&pack.join(FILE), DECODER)?;
        Ok(FrameStore { reader, info, group: (0, Vec::new()), pool: Vec::new() })
    }

    pub fn get(&mut self, slot: usize) -> Result<Picture> {
        if slot >= self.info.frames {
            bail!("{FILE} has {} frames; frame {slot} was asked for", self.info.frames);
        }
        let (first, pictures) = &self.group;
        if let Some(p) = slot.checked_sub(*first).and_then(|i| pictures.get(i)) {
            return Ok(p.clone());
        }
        let (start, next) = (slot - slot % self.info.keyframe_every, self.reader.position());
        let continues = *first == start && next == first + pictures.len() && slot >= next;
        if !continues {
            if next != start {
                self.reader.seek(start, RATE as f64)?;
            }
            self.group = (start, Vec::new());
        }
        while self.reader.position() <= slot {
            let picture = self.decode_next()?;
            self.group.1.push(picture);
        }
        Ok(self.group.1.last().expect("decoded up to the slot").clone())
    }

    fn decode_next(&mut self) -> Result<Picture> {
        let (w, h) = self.info.size();
        let alpha = self.info.alpha;
        let mut image = match self.pool.iter().position(|p| Arc::strong_count(p) == 1) {
            Some(i) => self.pool.swap_remove(i),
            None => Arc::new(Pixmap::from_vec(vec![0; (w * h * 4) as usize], IntSize::from_wh(w, h).context("frame size")?).context("frame")?),
        };
        let pixels = Arc::get_mut(&mut image).expect("only the pool holds it").data_mut();
        let slot = self.reader.position();
        self.reader
            .next(|_, vi, rgba| {
                if vi.width != w || vi.height != h * (1 + alpha as u32) {
                    bail!("{FILE} holds {}x{} frames, played.json says {w}x{h}{}", vi.width, vi.height, if alpha { " over its opacity" } else { "" });
                }
                unstack(rgba, pixels, alpha);
                Ok(())
            })?
            .with_context(|| format!("{FILE} ends before frame {slot}"))?;
        self.pool.push(image.clone());
        // Without opacity every pixel shows.
        let content = if alpha { crate::raster::content_box(&image) } else { [0, 0, w, h] };
        Ok(Picture { image, content })
    }
}

/// Opacity this close to none or full is codec noise in the matte's flat parts.
const ALPHA_SNAP: u8 = 3;

/// A decoded picture into a premultiplied RGBA frame: colour as it is, or, stacked
/// over its opacity, with that opacity (the colour kept within it).
pub fn unstack(decoded: &[u8], out: &mut [u8], alpha: bool) {
    let colour = &decoded[..out.len()];
    if !alpha {
        out.copy_from_slice(colour);
        return;
    }
    let opacity = &decoded[out.len()..2 * out.len()];
    for ((o, c), a) in out.chunks_exact_mut(4).zip(colour.chunks_exact(4)).zip(opacity.chunks_exact(4)) {
        let a = match a[0] {
            v if v <= ALPHA_SNAP => 0,
            v if v >= 255 - ALPHA_SNAP => 255,
            v => v,
        };
        o[0] = c[0].min(a);
        o[1] = c[1].min(a);
        o[2] = c[2].min(a);
        o[3] = a;
    }
}

/// The premultiplied RGBA frame stacked over its opacity as grey, as played.mkv
/// stores a frame with alpha (`unstack` reverses it).
pub fn stack(rgba: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rgba.len() * 2);
    out.extend_from_slice(rgba);
    out.extend(rgba.chunks_exact(4).flat_map(|p| [p[3], p[3], p[3], 255]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_played_frames_are_held() {
        let manifest: VideoManifest = toml::from_str(
            "name = \"t\"\nkind = \"video\"\nvideo = \"f.mp4\"\n[idle]\nfirst = 100\nlast = 199\n\
             [gestures.wave]\nfirst = 5000\nlast = 5049\nentry = 120\nreturns_to = 150\n\
             [gestures.nod]\nfirst = 190\nlast = 219\nentry = 120\nreturns_to = 150\n\
             [framing]\nhalf = [0, 0, 1, 1]\nfull = [0, 0, 1, 1]\n",
        )
        .unwrap();
        let used = UsedFrames::new(&manifest);
        assert_eq!(used.len(), 120 + 50, "idle and nod merged (100..=219), wave apart");
        assert_eq!((used.slot(100), used.slot(219), used.slot(5000), used.slot(5049)), (Some(0), Some(119), Some(120), Some(169)));
        assert_eq!((used.slot(99), used.slot(220), used.slot(4999)), (None, None, None));
        assert_eq!(used.frames().count(), used.len());
        let from = made_from(Path::new("/nonexistent"), &manifest);
        assert!(from.contains("frames 100-219, 5000-5049") && from.contains("no key; no matte"), "{from}");
    }

    #[test]
    fn stacked_opacity_comes_back_with_the_colour_kept_within_it() {
        let rgba = [200, 100, 50, 255, 0, 0, 0, 0, 60, 30, 10, 128];
        let mut decoded = stack(&rgba);
        // What a lossy codec may do: noise in the flat parts, colour above opacity.
        decoded[12 + 4] = 2;
        decoded[8] = 70;
        let mut out = [0u8; 12];
        unstack(&decoded, &mut out, true);
        assert_eq!(out, [200, 100, 50, 255, 0, 0, 0, 0, 70, 30, 10, 128]);
        decoded[12 + 8] = 50;
        unstack(&decoded, &mut out, true);
        assert_eq!(&out[8..], [50, 30, 10, 50], "colour kept within the opacity");
    }
}
