//! The held-out mouths as they go on air: each drawn lower face pasted into its footage
//! frame through the pack's own crop and mask, against the frame as filmed. The crop
//! figures depend on how a pack crops (a tighter crop is a harder picture); this one
//! does not, so packs of the same footage (boxes, eye-aligned) compare on it.

use std::path::Path;

use anyhow::{Context, Result};

use crate::avatar::key::ChromaKey;
use crate::avatar::video::VideoManifest;
use crate::avatar::video::faces::{KeyedCut, PackFaces};
use crate::lipsync::neural::face::{self, Pixels};
use crate::lipsync::neural::FaceCrop;

/// Whole-frame PSNR (dB) of each way of drawing the held-out frames, pasted as the
/// stream pastes them, against the real frames. `ways[k][j]` is way k's lower half
/// (interleaved BGR, s x s/2) of frame `held[j]`; `crop(i)` is frame i's training crop,
/// whose upper half goes above every way's lower half (the mask's top rows read it).
pub fn psnr<'a>(pack: &Path, manifest: &VideoManifest, held: &[usize], crop: impl Fn(usize) -> &'a [u8], ways: &[&[Vec<u8>]], s: usize) -> Result<Vec<f64>> {
    let faces = PackFaces::read(pack, manifest)?;
    let key = manifest.key.as_ref().map(ChromaKey::new).transpose()?;
    let footage = pack.join(&manifest.video);
    let last = held.iter().copied().max().unwrap_or(0);
    let mut squared = vec![0f64; ways.len()];
    let mut samples = 0f64;
    crate::media::decode::for_each_frame(&footage, |i, info, rgba| {
        let Ok(j) = held.binary_search(&i) else { return Ok(i < last) };
        samples += info.width as f64 * info.height as f64 * 3.0;
        // A frame without a face gets no mouth on air: no error for any way.
        if let Some(c) = faces.crop(i, [0, 0], info.width, info.height) {
            let real = KeyedCut::new(rgba, info.width, &c, key.as_ref());
            for (sum, way) in squared.iter_mut().zip(ways) {
                *sum += pasted_error(real.pixels(), &c, crop(i), &way[j], s);
            }
        }
        Ok(i < last)
    })
    .with_context(|| format!("reading the footage {}", footage.display()))?;
    Ok(squared.iter().map(|&e| 10.0 * (255f64.powi(2) / (e / samples.max(1.0)).max(1e-9)).log10()).collect())
}

/// The squared error the pasted mouth adds to one frame: the crop's upper half and
/// `lower` as the model's output, laid in through the crop's mask over `real`.
fn pasted_error(real: Pixels, c: &FaceCrop, upper: &[u8], lower: &[u8], s: usize) -> f64 {
    let plane = s * s;
    let mut output = vec![0f32; 3 * plane];
    for (p, bgr) in upper[..plane / 2 * 3].chunks_exact(3).chain(lower.chunks_exact(3)).enumerate() {
        for ch in 0..3 {
            output[ch * plane + p] = bgr[ch] as f32 / 255.0;
        }
    }
    let patch = face::patch_from_output(&output, s, c);
    let (bw, b) = (patch.bounds.width() as usize, patch.bounds);
    let mut error = 0f64;
    for (o, &m) in patch.mask.iter().enumerate().filter(|(_, m)| **m > 0) {
        let (x, y) = (b.x0 as usize + o % bw - real.origin[0] as usize, b.y0 as usize + o / bw - real.origin[1] as usize);
        let frame = &real.data[(y * real.width + x) * 4..][..3];
        for (&drawn, &seen) in patch.rgb[o * 3..o * 3 + 3].iter().zip(frame) {
            error += (m as f64 / 255.0 * (drawn as f64 - seen as f64)).powi(2);
        }
    }
    error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipsync::neural::Rect;

    /// A 64x64 frame of one colour, its 32 px crop the box at (16, 16) and that
    /// crop's keyed cut (no key).
    fn flat(rgb: [u8; 3]) -> (KeyedCut, FaceCrop, Vec<u8>) {
        let frame: Vec<u8> = (0..64 * 64).flat_map(|_| [rgb[0], rgb[1], rgb[2], 255]).collect();
        let c = FaceCrop::from_rect(Rect { x0: 16, y0: 16, x1: 48, y1: 48 });
        let crop_bgr: Vec<u8> = (0..32 * 32).flat_map(|_| [rgb[2], rgb[1], rgb[0]]).collect();
        (KeyedCut::new(&frame, 64, &c, None), c, crop_bgr)
    }

    #[test]
    fn only_a_mouth_unlike_the_frame_adds_error_and_more_unlike_adds_more() {
        let (real, c, crop) = flat([200, 150, 120]);
        let lower = |d: u8| -> Vec<u8> { crop[32 * 16 * 3..].iter().map(|v| v.saturating_add(d)).collect() };
        let error = |d: u8| pasted_error(real.pixels(), &c, &crop, &lower(d), 32);
        assert!(error(0) < 1.0);
        let (small, large) = (error(10), error(30));
        assert!(small > 100.0, "{small}");
        // The error is squared: three times the difference, about nine times the error.
        assert!((large / small - 9.0).abs() < 1.0, "{small} {large}");
    }
}
