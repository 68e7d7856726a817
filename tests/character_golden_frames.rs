//! The generated VRM 1.0 host drawn at rest by `avatar preview`, neutral and with each
//! mouth expression, matches its golden frame within a tolerance (lavapipe and GPU
//! drivers are not bit-exact), and each expression differs from the neutral face.
//! After an intended change of the look: AVATARCAST_BLESS=1 rewrites the goldens
//! (tests/fixtures/golden-3d/); view them at full size before committing.

use resvg::tiny_skia::{IntRect, Pixmap};

use common::character::imported_character;
use common::*;

const EXPRESSIONS: [&str; 6] = ["neutral", "aa", "ih", "ou", "ee", "oh"];
/// The face in the 720x1280 half-body shot.
const FACE: (i32, i32, u32, u32) = (240, 300, 240, 200);

/// Mean absolute difference per channel, and the share of pixels whose largest
/// channel difference exceeds 40.
fn difference(a: &Pixmap, b: &Pixmap) -> (f64, f64) {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let (mut sum, mut far) = (0u64, 0usize);
    for (p, q) in a.data().chunks_exact(4).zip(b.data().chunks_exact(4)) {
        let d: Vec<u64> = (0..4).map(|k| (p[k] as i32 - q[k] as i32).unsigned_abs() as u64).collect();
        sum += d.iter().sum::<u64>();
        far += (d.iter().max() > Some(&40)) as usize;
    }
    let pixels = (a.width() * a.height()) as f64;
    (sum as f64 / (pixels * 4.0), far as f64 / pixels)
}

#[test]
fn the_3d_hosts_face_matches_its_golden_frames() {
    let dir = TempDir::new("character-golden");
    let pack = imported_character(dir.path(), "golden", "vrm1");
    let out = dir.path().join("preview");
    let ran = run(avatarcast().args(["avatar", "preview", "--pack"]).arg(&pack).arg("--out").arg(&out));
    assert!(ran.status.success(), "avatar preview: {}", text(&ran));
    let golden_dir = repo().join("tests/fixtures/golden-3d");
    let bless = std::env::var_os("AVATARCAST_BLESS").is_some();
    let (x, y, w, h) = FACE;
    let mut faces = Vec::new();
    for name in EXPRESSIONS {
        let frame = Pixmap::load_png(out.join(format!("{name}.png"))).unwrap();
        let face = frame.clone_rect(IntRect::from_xywh(x, y, w, h).unwrap()).unwrap();
        let golden = golden_dir.join(format!("{name}.png"));
        if bless {
            face.save_png(&golden).unwrap();
        }
        let expected = Pixmap::load_png(&golden).unwrap_or_else(|e| panic!("{}: {e} (AVATARCAST_BLESS=1 writes it)", golden.display()));
        let (mean, far) = difference(&face, &expected);
        assert!(mean < 2.0 && far < 0.01, "{name}: {mean:.2} mean difference, {:.2}% of pixels far off its golden frame", far * 100.0);
        faces.push(face);
    }
    // Drawn at 0.6 of the frame and scaled up (avatar.render_scale), the face is in
    // the same place: softer, not moved.
    let config = demo_config_with(dir.path(), "scaled.toml", |c| c.replace("[avatar]\n", "[avatar]\nrender_scale = 0.6\n"));
    let scaled_out = dir.path().join("scaled");
    let ran = run(avatarcast().args(["avatar", "preview", "--pack"]).arg(&pack).arg("--out").arg(&scaled_out).arg("--config").arg(&config));
    assert!(ran.status.success(), "avatar preview at 0.6: {}", text(&ran));
    let scaled = Pixmap::load_png(scaled_out.join("aa.png")).unwrap().clone_rect(IntRect::from_xywh(x, y, w, h).unwrap()).unwrap();
    let (mean, far) = difference(&scaled, &faces[1]);
    eprintln!("drawn at 0.6: {mean:.2} mean difference, {:.2}% of pixels far off", far * 100.0);
    assert!(mean < 6.0 && far < 0.08, "drawn at 0.6 the face moved: {mean:.2} mean difference, {:.2}% of pixels far off", far * 100.0);
    for (name, face) in EXPRESSIONS.iter().zip(&faces).skip(1) {
        let (_, changed) = difference(face, &faces[0]);
        assert!(changed > 0.004, "{name} hardly differs from the neutral face ({:.2}% of pixels)", changed * 100.0);
    }
}
