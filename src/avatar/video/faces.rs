//! A pack's face crops: where the face model reads each frame's face, the same for
//! training and on air. Packs imported without --face keep the face mesh's points
//! (landmarks.json): their crop is turned upright by the eyes and pasted back inside
//! the jaw line. Packs with boxes alone (faces.json) crop the upright box.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::manifest::{FaceTrack, LandmarkTrack, VideoManifest};
use crate::avatar::key::ChromaKey;
use crate::face::Outline;
use crate::lipsync::neural::face::Pixels;
use crate::lipsync::neural::{FaceCrop, Rect};

/// The per-frame points of packs imported without --face.
pub const LANDMARKS_FILE: &str = "landmarks.json";

pub struct PackFaces {
    track: FaceTrack,
    landmarks: Option<LandmarkTrack>,
    padding: [f32; 4],
}

impl PackFaces {
    /// Reads faces.json and, where the pack has it, landmarks.json.
    pub fn read(pack: &Path, m: &VideoManifest) -> Result<PackFaces> {
        let faces_path = pack.join(&m.faces);
        let track: FaceTrack = serde_json::from_str(
            &std::fs::read_to_string(&faces_path).with_context(|| format!("cannot read the face boxes {}", faces_path.display()))?,
        )
        .with_context(|| format!("face boxes {}: expected {{\"boxes\": [[x, y, w, h] or null, ...]}}", faces_path.display()))?;
        let landmarks_path = pack.join(LANDMARKS_FILE);
        let landmarks = match std::fs::read_to_string(&landmarks_path) {
            Ok(text) => Some(serde_json::from_str(&text).with_context(|| {
                format!("{}: not the landmarks `avatar import` writes; import the footage again", landmarks_path.display())
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", landmarks_path.display())),
        };
        Ok(PackFaces { track, landmarks, padding: m.face_padding })
    }

    /// The files the crops come from (what training data is made of).
    pub fn files(pack: &Path, m: &VideoManifest) -> Vec<PathBuf> {
        let landmarks = pack.join(LANDMARKS_FILE);
        std::iter::once(pack.join(&m.faces)).chain(landmarks.is_file().then_some(landmarks)).collect()
    }

    /// "eye-aligned" or "box": how this pack's faces are cropped.
    pub fn kind(&self) -> &'static str {
        if self.landmarks.is_some() { "eye-aligned" } else { "box" }
    }

    /// Frame `i`'s crop in a part of the footage that starts at `origin` and is
    /// `width` x `height`; None where the frame has no face (or it leaves the part).
    pub fn crop(&self, i: usize, origin: [u32; 2], width: u32, height: u32) -> Option<FaceCrop> {
        let b = self.track.boxes.get(i).copied().flatten()?;
        let shift = [-(origin[0] as f32), -(origin[1] as f32)];
        match &self.landmarks {
            Some(l) => {
                let outline = Outline::from_kept(&l.points, &l.frames.get(i)?.xy)?;
                FaceCrop::aligned(outline.shifted(shift), self.padding, width, height)
            }
            None => Rect::padded([b[0] + shift[0], b[1] + shift[1], b[2], b[3]], self.padding, width, height).map(FaceCrop::from_rect),
        }
    }
}

/// The part of a decoded frame that a crop reads, keyed as the stream keys it.
pub struct KeyedCut {
    data: Vec<u8>,
    width: usize,
    origin: [u32; 2],
}

impl KeyedCut {
    /// The bounds of `crop` in a decoded frame (RGBA, `width` wide), from even
    /// coordinates, where the footage's chroma blocks start, so the key sees whole blocks.
    pub fn new(rgba: &[u8], width: u32, crop: &FaceCrop, key: Option<&ChromaKey>) -> KeyedCut {
        let b = crop.bounds;
        let origin = [b.x0 & !1, b.y0 & !1];
        let mut data = crate::raster::cut(rgba, width, [origin[0], origin[1], b.x1, b.y1], 4);
        let width = (b.x1 - origin[0]) as usize;
        if let Some(k) = key {
            k.apply(&mut data, width);
        }
        KeyedCut { data, width, origin }
    }

    pub fn pixels(&self) -> Pixels<'_> {
        Pixels { data: &self.data, width: self.width, origin: self.origin }
    }
}
