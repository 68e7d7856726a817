//! `avatar import` on a green-screen clip the test makes: the screen's colour is
//! measured, the face is found by a face-detector model and followed through the
//! clip, the idle and the gesture's entry and return frames are where the clip says,
//! and wrong input is refused with what to do.

use common::clip::{self, FPS};
use common::*;

/// The presenter's sideways shift at clip frame `i`.
fn sway(i: usize) -> f32 {
    clip::sway(i as f32 / FPS as f32)
}

#[test]
fn import_finds_the_screen_the_face_the_idle_and_the_gesture() {
    let dir = TempDir::new("import");
    let video = dir.path().join("presenter.mp4");
    clip::write(&video);
    let pack = dir.path().join("pack");
    let out = run(avatarcast()
        .args(["avatar", "import", "--video"])
        .arg(&video)
        .arg("--out")
        .arg(&pack)
        .args(["--face-detector", "tests/fixtures/test-face-detector.onnx", "--gesture", "wave=4-6"])
        .current_dir(repo()));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("read 200 frames of 360x640"), "{said}");

    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(pack.join("avatar.toml")).unwrap()).unwrap();
    // The screen's colour as filmed (through H.264), not a preset green.
    let colour = manifest["key"]["color"].as_str().unwrap();
    let c = u32::from_str_radix(&colour[1..], 16).unwrap();
    let measured = [(c >> 16) as u8, (c >> 8) as u8, c as u8];
    assert!(near(&measured, clip::SCREEN, 12), "measured {colour}");

    // Idle: the stretch before the wave (frames 0..100 less a margin), ends at still frames.
    let (first, last) = (manifest["idle"]["first"].as_integer().unwrap() as usize, manifest["idle"]["last"].as_integer().unwrap() as usize);
    assert!(first < 20 && (70..100).contains(&last), "idle {first}..{last}");
    // The wave starts and ends at the sway of clip frame 100; entry and return are the
    // idle frames that match it best.
    let wave = &manifest["gestures"]["wave"];
    assert_eq!((wave["first"].as_integer(), wave["last"].as_integer()), (Some(100), Some(150)));
    let best = (first..=last).min_by(|&a, &b| (sway(a) - sway(100)).abs().total_cmp(&(sway(b) - sway(100)).abs())).unwrap();
    for key in ["entry", "returns_to"] {
        let f = wave[key].as_integer().unwrap() as usize;
        assert!((sway(f) - sway(100)).abs() < 0.6, "{key} = {f} (sway {:.1}), best match {best} (sway {:.1})", sway(f), sway(best));
    }
    // Framing: head to toe is taller than head to waist.
    let (full, half) = (&manifest["framing"]["full"], &manifest["framing"]["half"]);
    let number = |v: &toml::Value| v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap();
    assert!(number(&full[3]) > 1.5 * number(&half[3]), "full {full:?} half {half:?}");
    assert!(manifest["consent"]["person"].as_str() == Some("") && pack.join("consent/README.txt").is_file());

    // The face, found in every frame: centred on the head as it sways.
    let faces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(pack.join("faces.json")).unwrap()).unwrap();
    assert!(faces["source"].as_str().unwrap().contains("face detector"));
    for (i, b) in faces["boxes"].as_array().unwrap().iter().enumerate() {
        let b: Vec<f32> = b.as_array().unwrap_or_else(|| panic!("no face in frame {i}")).iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let (cx, cy) = (b[0] + b[2] / 2.0, b[1] + b[3] / 2.0);
        assert!((cx - (180.0 + sway(i))).abs() < 3.0 && (cy - 142.0).abs() < 4.0, "frame {i}: box {b:?}");
        assert!((b[2] - 60.0).abs() < 8.0 && (b[3] - 76.0).abs() < 8.0, "frame {i}: box {b:?}");
    }

    // Without a detector: the box given for the first frame, tracked through the clip.
    let tracked = dir.path().join("tracked");
    let face = clip::FACE.map(|v| v.to_string()).join(",");
    let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(&video).arg("--out").arg(&tracked).args(["--face", &face, "--gesture", "wave=4-6"]));
    assert!(out.status.success(), "{}", text(&out));
    let faces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tracked.join("faces.json")).unwrap()).unwrap();
    for (i, b) in faces["boxes"].as_array().unwrap().iter().enumerate() {
        let x = b.as_array().unwrap_or_else(|| panic!("lost in frame {i}"))[0].as_f64().unwrap() as f32;
        assert!((x - (clip::FACE[0] as f32 + sway(i))).abs() < 1.5, "frame {i}: tracked x {x}, truth {}", clip::FACE[0] as f32 + sway(i));
    }

    // Wrong input: each refused with what to do.
    let import = |extra: &[&str]| {
        let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(&video).arg("--out").arg(dir.path().join("x")).args(extra));
        assert!(!out.status.success());
        text(&out)
    };
    let e = import(&["--face", "148,100,64,80", "--key", "blue"]);
    assert!(e.contains("not a blue screen") && e.contains("--key auto"), "{e}");
    let e = import(&["--face", "340,100,64,80"]);
    assert!(e.contains("not inside the 360x640 frame"), "{e}");
    let e = import(&["--face", "148,100,64,80", "--gesture", "wave=6-4"]);
    assert!(e.contains("END after START"), "{e}");
}
