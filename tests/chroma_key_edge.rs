//! A chroma key's edge on 4:2:0 footage, as cameras and phones record it: the decoder
//! repeats each chroma sample over its 2x2 block, and the key interpolates it between
//! blocks, so the keyed edge follows the picture pixel by pixel instead of stepping
//! block by block (stair steps, twice as large on a stream that scales the footage up).

use avatarcast::avatar::key::{ChromaKey, KeySettings};
use avatarcast::media::decode::for_each_frame;
use common::TempDir;

const SCREEN: &str = "#2fb34a";

/// Opacity of each pixel of the clip's first frame, and the frame's width.
fn keyed_first_frame(clip: &std::path::Path) -> (Vec<f32>, usize) {
    let key = ChromaKey::new(&KeySettings { color: SCREEN.into(), tolerance: 0.12, softness: 0.1, spill: true }).unwrap();
    let (mut alpha, mut width) = (Vec::new(), 0);
    for_each_frame(clip, |_, info, rgba| {
        width = info.width as usize;
        let mut keyed = rgba.to_vec();
        key.apply(&mut keyed, width);
        alpha = keyed.chunks_exact(4).map(|p| p[3] as f32 / 255.0).collect();
        Ok(false)
    })
    .unwrap();
    (alpha, width)
}

#[test]
fn a_keyed_edge_steps_by_pixels_not_by_chroma_blocks() {
    let dir = TempDir::new("key-edge");
    let clip = dir.path().join("disc.mp4");
    // A skin-coloured disc on the green screen, off the pixel grid, in 4:2:0 H.264
    // (lossless, so what is measured is the decoding alone).
    let inside = "lt(hypot(X-64.3,Y-63.6),41.5)";
    let filter = format!("format=rgb24,geq=r='if({inside},224,47)':g='if({inside},172,179)':b='if({inside},140,74)'");
    common::ffmpeg(&[
        "-f", "lavfi", "-i", "color=c=black:s=128x128:d=0.2", "-vf", &filter, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-qp", "0",
        clip.to_str().unwrap(),
    ]);
    let (alpha, width) = keyed_first_frame(&clip);
    // The 2x2 blocks the disc's edge crosses (a pixel partly keyed): all four pixels of
    // such a block share one chroma sample; keyed from it alone they would share one
    // opacity.
    let (mut edge, mut graded) = (0, 0);
    for by in (0..alpha.len() / width).step_by(2) {
        for bx in (0..width).step_by(2) {
            let block = [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| alpha[(by + dy) * width + bx + dx]);
            if block.iter().any(|&a| a > 0.02 && a < 0.98) {
                edge += 1;
                let (lo, hi) = block.iter().fold((1f32, 0f32), |(lo, hi), &a| (lo.min(a), hi.max(a)));
                graded += (hi - lo > 0.1) as usize;
            }
        }
    }
    eprintln!("{graded} of the {edge} blocks on the disc's edge are graded within");
    assert!(graded * 3 > edge * 2, "only {graded} of {edge} blocks on the edge are graded within: the key steps by chroma blocks");
    assert!(edge > 30, "the disc's edge crosses {edge} blocks");
}
