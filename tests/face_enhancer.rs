//! The optional face enhancer (`avatar.lipsync.enhancer`): each face the lip-sync
//! model redraws is aligned to the FFHQ template, run through the enhancer and pasted
//! back. The test enhancer draws a blue disc on the template's nose
//! (scripts/lipsync/make_test_model.py): on the decoded output it must sit on the
//! face, centred across it, between the top of the face and the drawn mouth, and only
//! in frames the model redrew. A model that is no enhancer stops the render before it
//! starts, naming the setting.

use common::clip::{self, SKIN};
use common::*;

const MARK: [u8; 3] = [0, 0, 255];

/// Centroid and count of the pixels of `colour` in a 360x640 frame, and the skin's
/// extent: (mark x, mark y, mark pixels, mouth y, mouth pixels, skin x0..x1, skin y0).
#[derive(Debug, Clone, Copy)]
struct Seen {
    mark: (f64, f64, u32),
    mouth: (f64, u32),
    skin_x: (usize, usize),
    skin_top: usize,
}

fn look(f: &[u8]) -> Seen {
    let (w, h) = (360usize, 640usize);
    let (mut mark, mut mouth) = ((0.0, 0.0, 0u32), (0.0, 0u32));
    let (mut x0, mut x1, mut top) = (w, 0, h);
    for y in 0..h {
        for x in 0..w {
            let p = &f[(y * w + x) * 3..][..3];
            if near(p, MARK, 60) {
                mark = (mark.0 + x as f64, mark.1 + y as f64, mark.2 + 1);
            } else if near(p, MOUTH_INTERIOR, 45) {
                mouth = (mouth.0 + y as f64, mouth.1 + 1);
            } else if near(p, SKIN, 30) {
                (x0, x1, top) = (x0.min(x), x1.max(x), top.min(y));
            }
        }
    }
    let n = mark.2.max(1) as f64;
    Seen { mark: (mark.0 / n, mark.1 / n, mark.2), mouth: (mouth.0 / mouth.1.max(1) as f64, mouth.1), skin_x: (x0, x1), skin_top: top }
}

#[test]
fn the_face_enhancer_redraws_the_aligned_face_and_a_wrong_model_is_refused() {
    let dir = TempDir::new("face-enhancer");
    let pack = clip::import_pack(dir.path());
    clip::give_consent(&pack);
    let show = "[[segments]]\ntext = \"Hello and welcome! Today I have something special for you. [pause 1500ms] So please stay with me.\"\n";
    let config = |enhancer: &str| {
        config_with_show(dir.path(), show, |c| {
            c.replace(
                "pack = \"assets/avatars/cartoon-host\"",
                &format!("pack = \"{}\"\n\n[avatar.lipsync]\nmodel = \"assets/lipsync/test-wav2lip.onnx\"\nenhancer = \"{enhancer}\"", pack.display()),
            )
            .replace("background = \"assets/backgrounds/studio.svg\"", "background = \"#202020\"")
            .replace("captions = true", "captions = false")
        })
    };

    // The Wav2Lip test model is no enhancer: refused before a frame is made.
    let bad = config("assets/lipsync/test-wav2lip.onnx");
    let out = run(avatarcast().args(["render", "--duration", "2s", "--config"]).arg(&bad).arg("--output").arg(dir.path().join("bad.mkv")));
    assert!(!out.status.success(), "a render with a Wav2Lip model as enhancer ran");
    assert!(text(&out).contains("avatar.lipsync.enhancer"), "the error does not name the setting: {}", text(&out));
    assert!(!dir.path().join("bad.mkv").exists() || std::fs::metadata(dir.path().join("bad.mkv")).unwrap().len() == 0);

    let good = config("tests/fixtures/test-face-enhancer.onnx");
    let file = dir.path().join("enhanced.mkv");
    let out = run(avatarcast().args(["render", "--duration", "8s", "--config"]).arg(&good).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("face enhancer ready"), "{}", text(&out));

    let seen: Vec<Seen> = map_video_frames(&file, 360, 640, look);
    assert!(seen.len() >= 8 * 25 - 5, "{} frames decoded", seen.len());
    let marked: Vec<&Seen> = seen.iter().filter(|s| s.mark.2 >= 8).collect();
    eprintln!("face enhancer: {} of {} frames enhanced", marked.len(), seen.len());
    // The test model redraws speech only; the pause and the lead-in show the footage.
    assert!(marked.len() > seen.len() / 3, "only {} of {} frames show the enhancer's mark", marked.len(), seen.len());
    assert!(marked.len() < seen.len() - 10, "the mark shows in silent frames too: {} of {}", marked.len(), seen.len());
    for (i, s) in marked.iter().enumerate() {
        let centre = (s.skin_x.0 + s.skin_x.1) as f64 / 2.0;
        assert!((s.mark.0 - centre).abs() < 3.0, "frame {i}: the mark is at x {:.1}, the face's centre at {centre}", s.mark.0);
        assert!(s.mark.1 > s.skin_top as f64 + 5.0, "frame {i}: the mark at y {:.1} is above the face (top {})", s.mark.1, s.skin_top);
        if s.mouth.1 > 20 {
            assert!(s.mark.1 < s.mouth.0, "frame {i}: the mark at y {:.1} is not above the drawn mouth at {:.1}", s.mark.1, s.mouth.0);
        }
    }
    let with_mouth = marked.iter().filter(|s| s.mouth.1 > 20).count();
    assert!(with_mouth > marked.len() / 3, "the enhanced faces lost the drawn mouth ({with_mouth} of {})", marked.len());
}
