//! A green-screen clip of a synthetic presenter, made for `avatar import`: 360x640,
//! 25 fps, 8 s. The presenter sways slowly (so a loop played forwards would jump),
//! holding still to wave between 4 s and 6 s with the right arm; shirt and arms are orange, the face
//! skin-coloured with closed lips, so tests can find each in the output.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use resvg::tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

pub const WIDTH: u32 = 360;
pub const HEIGHT: u32 = 640;
pub const FPS: u32 = 25;
pub const SECONDS: f32 = 8.0;
/// The wave, in seconds of the clip.
pub const WAVE: (f32, f32) = (4.0, 6.0);
/// The face box in the first frame, X,Y,W,H: forehead to chin.
pub const FACE: [u32; 4] = [148, 100, 64, 80];
pub const SCREEN: [u8; 3] = [0x2f, 0xb3, 0x4a];
pub const SHIRT: [u8; 3] = [0xd9, 0x82, 0x2b];
pub const SKIN: [u8; 3] = [0xe0, 0xac, 0x8c];

fn paint(c: [u8; 3]) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(c[0], c[1], c[2], 255));
    p.anti_alias = true;
    p
}

fn ellipse(pixmap: &mut Pixmap, cx: f32, cy: f32, rx: f32, ry: f32, c: [u8; 3]) {
    let r = resvg::tiny_skia::Rect::from_xywh(cx - rx, cy - ry, 2.0 * rx, 2.0 * ry).unwrap();
    let path = PathBuilder::from_oval(r).unwrap();
    pixmap.fill_path(&path, &paint(c), FillRule::Winding, Transform::identity(), None);
}

fn limb(pixmap: &mut Pixmap, from: (f32, f32), to: (f32, f32), width: f32, c: [u8; 3]) {
    let mut pb = PathBuilder::new();
    pb.move_to(from.0, from.1);
    pb.line_to(to.0, to.1);
    let stroke = Stroke { width, line_cap: resvg::tiny_skia::LineCap::Round, ..Default::default() };
    pixmap.stroke_path(&pb.finish().unwrap(), &paint(c), &stroke, Transform::identity(), None);
}

/// The right arm's angle from hanging down, in degrees: up and waving during WAVE.
fn arm_angle(t: f32) -> f32 {
    let (a, b) = WAVE;
    if t <= a || t >= b {
        return 8.0;
    }
    let ease = ((t - a) / 0.5).min((b - t) / 0.5).min(1.0);
    let ease = ease * ease * (3.0 - 2.0 * ease);
    8.0 + ease * (142.0 + 14.0 * (std::f32::consts::TAU * 2.0 * (t - a)).sin())
}

/// The presenter's sideways shift at `t` seconds. The sway's clock stops while the
/// arm waves, as a presenter stands to wave.
pub fn sway(t: f32) -> f32 {
    let clock = if t < WAVE.0 { t } else if t < WAVE.1 { WAVE.0 } else { t - (WAVE.1 - WAVE.0) };
    8.0 * (std::f32::consts::TAU * clock / 9.0).sin()
}

pub fn frame(t: f32) -> Pixmap {
    let mut p = Pixmap::new(WIDTH, HEIGHT).unwrap();
    p.fill(Color::from_rgba8(SCREEN[0], SCREEN[1], SCREEN[2], 255));
    let dx = sway(t);
    let x = |v: f32| v + dx;
    let legs = [0x33, 0x3a, 0x4a];
    limb(&mut p, (x(162.0), 380.0), (x(158.0), 600.0), 30.0, legs);
    limb(&mut p, (x(198.0), 380.0), (x(202.0), 600.0), 30.0, legs);
    let torso = resvg::tiny_skia::Rect::from_xywh(x(132.0), 176.0, 96.0, 214.0).unwrap();
    p.fill_rect(torso, &paint(SHIRT), Transform::identity(), None);
    limb(&mut p, (x(136.0), 190.0), (x(124.0), 340.0), 22.0, SHIRT);
    let a = arm_angle(t).to_radians();
    let shoulder = (x(224.0), 190.0);
    limb(&mut p, shoulder, (shoulder.0 + 150.0 * a.sin(), shoulder.1 + 150.0 * a.cos()), 22.0, SHIRT);
    // Head: hair behind, face, eyes, closed lips.
    ellipse(&mut p, x(180.0), 132.0, 33.0, 36.0, [0x3a, 0x24, 0x18]);
    ellipse(&mut p, x(180.0), 142.0, 30.0, 38.0, SKIN);
    ellipse(&mut p, x(168.0), 134.0, 4.0, 3.0, [0x22, 0x22, 0x22]);
    ellipse(&mut p, x(192.0), 134.0, 4.0, 3.0, [0x22, 0x22, 0x22]);
    ellipse(&mut p, x(180.0), 163.0, 8.0, 2.0, [0xb0, 0x60, 0x5a]);
    p
}

/// Writes the clip (H.264 in MP4) with ffmpeg.
pub fn write(path: &Path) {
    encode(path, frame);
}

/// Writes the clip's matte: white where the presenter is, black where the screen is.
pub fn write_matte(path: &Path) {
    encode(path, |t| {
        let mut f = frame(t);
        for p in f.pixels_mut() {
            let on_screen = [p.red(), p.green(), p.blue()] == SCREEN;
            let v = if on_screen { 0 } else { 255 };
            *p = resvg::tiny_skia::PremultipliedColorU8::from_rgba(v, v, v, 255).unwrap();
        }
        f
    });
}

fn encode(path: &Path, frame: impl Fn(f32) -> Pixmap) {
    let mut ff = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", &format!("{WIDTH}x{HEIGHT}"), "-r", &FPS.to_string(), "-i", "-"])
        // Tagged BT.709, as cameras tag their footage, so every decoder reads the colours the same.
        .args(["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"])
        .args(["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"])
        .args(["-c:v", "libx264", "-crf", "12", "-g", "25"])
        .arg(path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    {
        let stdin = ff.stdin.as_mut().unwrap();
        for i in 0..(SECONDS * FPS as f32) as u32 {
            // Straight RGBA: every pixel is opaque, so premultiplied is the same.
            stdin.write_all(frame(i as f32 / FPS as f32).data()).unwrap();
        }
    }
    assert!(ff.wait().unwrap().success(), "ffmpeg could not write the clip");
}

/// Makes a video pack from the clip with `avatar import`; returns its folder.
pub fn import_pack(dir: &Path) -> std::path::PathBuf {
    let clip = dir.join("presenter.mp4");
    write(&clip);
    let pack = dir.join("presenter");
    let face = FACE.map(|v| v.to_string()).join(",");
    let out = crate::run(
        crate::avatarcast()
            .args(["avatar", "import", "--video"])
            .arg(&clip)
            .arg("--out")
            .arg(&pack)
            .args(["--name", "Test Presenter", "--face", &face, "--gesture", &format!("wave={}-{}", WAVE.0, WAVE.1)]),
    );
    assert!(out.status.success(), "avatar import failed: {}", crate::text(&out));
    pack
}

/// Fills in the pack's consent record and puts a statement file in place.
pub fn give_consent(pack: &Path) {
    std::fs::write(pack.join("consent/statement.pdf"), b"%PDF-1.4 signed consent statement (test)").unwrap();
    let manifest = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    let filled = manifest
        .replace("person = \"\"", "person = \"Test Presenter\"")
        .replace("date = \"\"", "date = \"2026-11-21\"")
        .replace("use = \"\"", "use = \"avatarcast integration tests\"");
    assert_ne!(filled, manifest, "the consent template was not where expected");
    std::fs::write(pack.join("avatar.toml"), filled).unwrap();
}
