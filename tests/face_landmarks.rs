//! The face detector and face mesh (MediaPipe's, converted at setup) on a real face,
//! and the face model's crop they give: NASA's astronaut portrait, upright and turned
//! 30 degrees.

use std::path::{Path, PathBuf};

use avatarcast::face::{self, BlazeFace, FaceMesh, Landmarks, Rgba};
use avatarcast::lipsync::neural::face::{FaceCrop, Pixels, Rect, crop_bgr};
use common::{TempDir, repo};

/// Measured by hand on the 512x512 portrait at 8x zoom: the subject's right eye's
/// outer and inner corner, the left eye's inner and outer corner, the right and left
/// mouth corner.
const BY_HAND: [(&str, usize, [f32; 2]); 6] = [
    ("right eye, outer corner", 33, [192.5, 100.6]),
    ("right eye, inner corner", 133, [211.9, 103.1]),
    ("left eye, inner corner", 362, [235.6, 103.8]),
    ("left eye, outer corner", 263, [258.1, 103.1]),
    ("right mouth corner", 61, [203.1, 140.0]),
    ("left mouth corner", 291, [244.4, 140.6]),
];
/// Pixels: about 3 % of this face's width (eye corner to eye corner, 66 px).
const TOLERANCE: f32 = 4.0;

fn onnxruntime() -> PathBuf {
    avatarcast::config::Config::load(&repo().join("config/demo.toml")).unwrap().voice.onnxruntime_path()
}

fn models() -> (BlazeFace, FaceMesh) {
    let (detector, mesh) = face::default_models(&repo().join(face::MODEL_DIR));
    (BlazeFace::load(&detector, &onnxruntime()).unwrap(), FaceMesh::load(&mesh, &onnxruntime()).unwrap())
}

fn portrait() -> PathBuf {
    repo().join("models/test-media/astronaut.png")
}

fn rgba(path: &Path) -> image::RgbaImage {
    image::open(path).unwrap_or_else(|e| panic!("{}: {e} (run scripts/setup.sh)", path.display())).to_rgba8()
}

fn fit(image: &image::RgbaImage) -> Landmarks {
    let (mut detector, mut mesh) = models();
    let frame = Rgba { pixels: image.as_raw(), width: image.width(), height: image.height() };
    let found = detector.detect(frame).unwrap();
    assert_eq!(found.len(), 1, "one face in the portrait: {found:?}");
    face::fit_still(&mut detector, &mut mesh, frame).unwrap().expect("the mesh finds the face").landmarks
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[test]
fn landmarks_land_on_the_eye_and_mouth_corners_measured_by_hand() {
    let marks = fit(&rgba(&portrait()));
    for (name, point, hand) in BY_HAND {
        let found = marks.xy(point);
        assert!(distance(found, hand) <= TOLERANCE, "{name}: the mesh says {found:?}, measured by hand {hand:?}");
    }
    let pose = marks.head_pose();
    assert!(pose.yaw.abs() < 15.0 && pose.pitch.abs() < 20.0 && pose.roll.abs() < 6.0, "she faces the camera: {pose:?}");
    // She smiles with her teeth showing: the lips are apart, not wide open.
    let opening = marks.lip_opening();
    assert!((0.03..0.3).contains(&opening), "lip opening {opening}");
}

#[test]
fn a_portrait_turned_30_degrees_is_read_upright() {
    let dir = TempDir::new("face-turned");
    let marks = fit(&turned(&dir, 30));
    let (s, c) = 30f32.to_radians().sin_cos();
    for (name, point, [x, y]) in BY_HAND {
        let (dx, dy) = (x - 256.0, y - 256.0);
        let hand = [256.0 + dx * c - dy * s, 256.0 + dx * s + dy * c];
        let found = marks.xy(point);
        assert!(distance(found, hand) <= TOLERANCE + 1.0, "{name}: the mesh says {found:?}, the turned hand mark is {hand:?}");
    }
    let roll = marks.head_pose().roll;
    assert!((roll - 30.0).abs() < 5.0, "the head's roll reads {roll}, not about 30");
    // The window the mesh looks through next is turned with the head: in it the eyes
    // are level, so the face it crops is upright.
    let window = marks.next_window();
    let [r, l] = marks.eye_centers().map(|p| window.from_frame(p, 192));
    assert!((r[1] - l[1]).abs() < 3.0 && l[0] > r[0] + 40.0, "eyes in the window: right {r:?}, left {l:?}");
}

/// The portrait turned clockwise by `degrees` about its centre (ffmpeg fills the corners black).
fn turned(dir: &TempDir, degrees: u32) -> image::RgbaImage {
    let out = dir.path().join(format!("turned-{degrees}.png"));
    let filter = format!("rotate={degrees}*PI/180:fillcolor=black");
    common::ffmpeg(&["-i", portrait().to_str().unwrap(), "-vf", &filter, "-frames:v", "1", out.to_str().unwrap()]);
    rgba(&out)
}

/// The face model's 96 px crop of `image` (BGR bytes) and where the five points fall in it.
fn crop_of(image: &image::RgbaImage, crop: &FaceCrop) -> Vec<u8> {
    let mut out = vec![0u8; 96 * 96 * 3];
    crop_bgr(Pixels { data: image.as_raw(), width: image.width() as usize, origin: [0, 0] }, crop, 96, &mut out);
    out
}

fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.len() as f64
}

#[test]
fn the_crop_of_a_turned_portrait_is_upright() {
    let dir = TempDir::new("face-crop");
    let pad = [0.0, 10.0, 0.0, 0.0];
    let upright_image = rgba(&portrait());
    let upright = FaceCrop::aligned(fit(&upright_image).outline(), pad, 512, 512).unwrap();
    let turned_image = turned(&dir, 30);
    let marks = fit(&turned_image);
    let aligned = FaceCrop::aligned(marks.outline(), pad, 512, 512).unwrap();
    assert!((aligned.angle.to_degrees() - upright.angle.to_degrees() - 30.0).abs() < 3.0, "turned by {} degrees", aligned.angle.to_degrees());
    // In the crop the eyes are level and the mouth's corners too (within 2 % of its side).
    let five = aligned.five_points().map(|p| aligned.from_frame(p, 96));
    assert!((five[0][1] - five[1][1]).abs() < 2.0 && (five[3][1] - five[4][1]).abs() < 2.0, "five points in the crop: {five:?}");
    // And it shows what the upright portrait's crop shows; the upright box around the
    // turned face does not.
    let (want, got) = (crop_of(&upright_image, &upright), crop_of(&turned_image, &aligned));
    let boxed = FaceCrop::from_rect(Rect::padded(marks.face_box(), pad, 512, 512).unwrap());
    let (aligned_diff, box_diff) = (mean_difference(&want, &got), mean_difference(&want, &crop_of(&turned_image, &boxed)));
    assert!(aligned_diff < 12.0 && aligned_diff * 2.5 < box_diff, "mean difference from the upright crop: aligned {aligned_diff:.1}, box {box_diff:.1}");
    eprintln!("mean difference from the upright crop: aligned {aligned_diff:.1}, upright box {box_diff:.1}");
    if let Ok(keep) = std::env::var("AVATARCAST_KEEP_CROPS") {
        for (name, crop) in [("upright", &want), ("turned-aligned", &got)] {
            let rgb: Vec<u8> = crop.chunks_exact(3).flat_map(|p| [p[2], p[1], p[0]]).collect();
            image::RgbImage::from_raw(96, 96, rgb).unwrap().save(Path::new(&keep).join(format!("{name}.png"))).unwrap();
        }
    }
}

#[test]
fn both_detector_layouts_find_the_face() {
    let image = rgba(&portrait());
    let frame = Rgba { pixels: image.as_raw(), width: image.width(), height: image.height() };
    for file in ["face_detection_short_range.onnx", "face_detection_full_range.onnx"] {
        let mut detector = BlazeFace::load(&repo().join(face::MODEL_DIR).join(file), &onnxruntime()).unwrap();
        let found = detector.detect(frame).unwrap();
        assert_eq!(found.len(), 1, "{file}: {found:?}");
        let [x, y, w, h] = found[0].bbox;
        let nose = found[0].keypoints[2];
        assert!((w - 100.0).abs() < 25.0 && (h - 100.0).abs() < 25.0, "{file}: box {:?}", found[0].bbox);
        assert!(nose[0] > x && nose[0] < x + w && nose[1] > y && nose[1] < y + h, "{file}: the nose {nose:?} inside the box");
        assert!(distance(nose, [223.8, 130.1]) < 8.0, "{file}: nose tip at {nose:?}");
    }
}

#[test]
fn model_files_off_their_contract_are_refused_by_name() {
    let dir = repo().join(face::MODEL_DIR);
    let (detector, mesh) = face::default_models(&dir);
    let e = format!("{:#}", BlazeFace::load(&mesh, &onnxruntime()).err().expect("the mesh is no detector"));
    assert!(e.contains("face detector") && e.contains("face_landmark.onnx") && e.contains("BlazeFace"), "{e}");
    let e = format!("{:#}", FaceMesh::load(&detector, &onnxruntime()).err().expect("the detector is no mesh"));
    assert!(e.contains("face mesh") && e.contains(face::DETECTOR_FILE) && e.contains("192"), "{e}");
    let e = format!("{:#}", FaceMesh::load(&dir.join("missing.onnx"), &onnxruntime()).err().unwrap());
    assert!(e.contains("missing.onnx") && e.contains("not found") && e.contains("scripts/setup.sh"), "{e}");
    let scratch = TempDir::new("face-junk");
    let junk = scratch.path().join("junk.onnx");
    std::fs::write(&junk, b"not a model").unwrap();
    let e = format!("{:#}", BlazeFace::load(&junk, &onnxruntime()).err().unwrap());
    assert!(e.contains("junk.onnx") && e.contains("not a valid ONNX model"), "{e}");
}

