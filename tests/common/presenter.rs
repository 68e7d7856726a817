//! A synthetic presenter reading sentences aloud, for training a face model: a
//! green-screen recording with sound whose mouth is drawn, frame by frame, from the
//! mouth shapes of its own voice's exact phoneme timings, so the truth of every frame
//! is known. The voice is espeak-ng `en-us+f3`, which the mouth model never heard in
//! training; the stream later speaks with the Piper voice, which the footage never
//! used. The recording opens with a few quiet seconds (where `avatar import` finds
//! its idle) and has a pause between sentences.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use resvg::tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Transform};

pub const WIDTH: u32 = 360;
pub const HEIGHT: u32 = 640;
pub const FPS: u32 = 25;
const RATE: u32 = 48_000;
const PER_FRAME: usize = (RATE / FPS) as usize;
/// Quiet at the start, and between sentences, in seconds.
pub const LEAD_IN: f64 = 4.0;
const GAP: f64 = 0.6;
pub const SCREEN: [u8; 3] = [0x2f, 0xb3, 0x4a];
pub const SKIN: [u8; 3] = [0xe0, 0xac, 0x8c];
const LIPS: [u8; 3] = [0xb8, 0x5a, 0x5a];
const INSIDE: [u8; 3] = [0x4a, 0x12, 0x1c];
const TEETH: [u8; 3] = [0xf4, 0xf1, 0xea];
const TONGUE: [u8; 3] = [0xd8, 0x6a, 0x78];

/// Sentences a presenter reads for the camera (as platforms ask), shop talk and
/// everyday speech.
pub const SCRIPT: &[&str] = &[
    "Hello everyone, and welcome back to the morning show.",
    "Today I want to show you three things that make a kitchen feel brand new.",
    "First, this steel bottle keeps water cold for a whole day.",
    "The lid locks with one twist, so nothing spills in your bag.",
    "It comes in blue, white, and a deep forest green.",
    "Next, look at this lamp with a soft and warm light.",
    "You can dim it with one finger, from bright to barely there.",
    "My favourite part is the little clock in the base.",
    "Now let me tell you about the running shoes on my table.",
    "They weigh almost nothing, but they hold your foot firmly.",
    "The sole is made from recycled rubber and it grips well on wet roads.",
    "Please remember that every order ships within two days.",
    "If it does not fit, you can return it for free.",
    "Many of you asked about sizes, so here is the full chart.",
    "Small fits most people under five foot six.",
    "Medium is the one I wear, and it feels just right.",
    "Large gives a little more room at the shoulders.",
    "Let me read a few of your comments before we go on.",
    "Maria says the bottle kept her coffee hot on a long hike.",
    "John wants to know whether the lamp works without a cable.",
    "Yes, John, it runs for nine hours on one charge.",
    "Thank you all for being here with me this morning.",
    "We will open the flash sale in a few minutes, so stay close.",
    "Before that, I want to show you how the bottle cleans up.",
    "Just fill it with warm water, add a drop of soap, and shake.",
    "Rinse it out, and it is ready for another day.",
    "Now back to the lamp, because I have a small surprise.",
    "The first fifty buyers get a second lamp at half price.",
    "Tap the yellow card below the video to join in.",
    "I will be right here to answer every question you have.",
    "See you in the next part of the show, and thanks for watching.",
];

/// How far the mouth opens (0: closed) and how wide, for the truth checks.
pub fn opening(shape: char) -> f32 {
    mouth_geometry(shape).1
}

/// (half width, half height of the opening, teeth, tongue) of each shape.
fn mouth_geometry(shape: char) -> (f32, f32, bool, bool) {
    match shape {
        'A' => (13.0, 0.0, false, false),
        'B' => (12.0, 3.0, true, false),
        'C' => (13.0, 7.0, true, false),
        'D' => (14.0, 11.0, true, false),
        'E' => (10.0, 7.0, false, false),
        'F' => (6.0, 5.0, false, false),
        'G' => (12.0, 3.0, true, false),
        'H' => (12.0, 7.0, true, true),
        _ => (12.0, 0.0, false, false),
    }
}

fn paint(c: [u8; 3]) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(c[0], c[1], c[2], 255));
    p.anti_alias = true;
    p
}

fn ellipse(pixmap: &mut Pixmap, cx: f32, cy: f32, rx: f32, ry: f32, c: [u8; 3]) {
    if rx <= 0.0 || ry <= 0.0 {
        return;
    }
    let r = resvg::tiny_skia::Rect::from_xywh(cx - rx, cy - ry, 2.0 * rx, 2.0 * ry).unwrap();
    pixmap.fill_path(&PathBuilder::from_oval(r).unwrap(), &paint(c), FillRule::Winding, Transform::identity(), None);
}

fn rect(pixmap: &mut Pixmap, x: f32, y: f32, w: f32, h: f32, c: [u8; 3]) {
    if let Some(r) = resvg::tiny_skia::Rect::from_xywh(x, y, w, h) {
        pixmap.fill_rect(r, &paint(c), Transform::identity(), None);
    }
}

/// The presenter's offset at `t` seconds: a slow sway and a slight bob.
pub fn offset(t: f32) -> (f32, f32) {
    (6.0 * (std::f32::consts::TAU * t / 7.0).sin(), 2.0 * (std::f32::consts::TAU * t / 5.0).sin())
}

/// One frame: the presenter at time `t` with mouth shape `shape`.
pub fn frame(t: f32, shape: char) -> Pixmap {
    let mut p = Pixmap::new(WIDTH, HEIGHT).unwrap();
    p.fill(Color::from_rgba8(SCREEN[0], SCREEN[1], SCREEN[2], 255));
    let (dx, dy) = offset(t);
    rect(&mut p, 110.0 + dx, 250.0 + dy, 140.0, 390.0, [0x2c, 0x4f, 0x8f]);
    rect(&mut p, 160.0 + dx, 220.0 + dy, 40.0, 40.0, SKIN);
    // Hair, face, eyes, brows, nose.
    ellipse(&mut p, 180.0 + dx, 150.0 + dy, 64.0, 74.0, [0x3a, 0x24, 0x18]);
    ellipse(&mut p, 180.0 + dx, 166.0 + dy, 58.0, 72.0, SKIN);
    for ex in [158.0, 202.0] {
        ellipse(&mut p, ex + dx, 146.0 + dy, 8.0, 5.0, [0xfa, 0xfa, 0xfa]);
        ellipse(&mut p, ex + dx, 146.0 + dy, 4.0, 4.0, [0x30, 0x22, 0x18]);
        rect(&mut p, ex - 10.0 + dx, 133.0 + dy, 20.0, 3.0, [0x3a, 0x24, 0x18]);
    }
    ellipse(&mut p, 180.0 + dx, 178.0 + dy, 5.0, 9.0, [0xcf, 0x96, 0x78]);
    // The mouth: lips around an opening whose size is the shape's.
    let (mx, my) = (180.0 + dx, 206.0 + dy);
    let (w, h, teeth, tongue) = mouth_geometry(shape);
    ellipse(&mut p, mx, my, w + 4.0, h + 4.0, LIPS);
    if h > 0.0 {
        ellipse(&mut p, mx, my, w, h, INSIDE);
        if teeth {
            rect(&mut p, mx - w * 0.7, my - h, w * 1.4, (h * 0.45).max(2.0), TEETH);
        }
        if tongue {
            ellipse(&mut p, mx, my + h * 0.45, w * 0.6, h * 0.45, TONGUE);
        }
    } else {
        rect(&mut p, mx - w, my - 0.6, 2.0 * w, 1.2, [0x70, 0x30, 0x30]);
    }
    p
}

/// The recording and what it is known to show.
pub struct Footage {
    pub video: PathBuf,
    /// The shape drawn in each frame.
    pub shapes: Vec<char>,
    /// The frame where each sentence's sound starts.
    pub sentence_starts: Vec<usize>,
}

/// Speaks `script` in the footage voice and writes the recording (H.264 + AAC in
/// MP4) into `dir`.
pub fn write(dir: &Path, script_lines: &[&str]) -> Footage {
    let said = dir.join("said");
    let script = dir.join("script.txt");
    std::fs::write(&script, script_lines.join("\n") + "\n").unwrap();
    let config = crate::demo_config_with(dir, "footage-voice.toml", |c| {
        c + "\n[voices.footage]\nengine = \"espeak\"\nlanguage = \"en-us+f3\"\npitch = 55\n"
    });
    let out = crate::run(crate::avatarcast().args(["say", "--config"]).arg(&config).args(["--voice", "footage", "--lines"]).arg(&script).arg("--output").arg(&said));
    assert!(out.status.success(), "say --lines: {}", crate::text(&out));

    // The sound: a quiet lead-in, then each sentence after a pause.
    let mut audio: Vec<i16> = vec![0; (LEAD_IN * RATE as f64) as usize];
    let mut cues: Vec<(usize, usize, char)> = Vec::new();
    let mut sentence_starts = Vec::new();
    for i in 1..=script_lines.len() {
        let wav = std::fs::read(said.join(format!("{i:04}.wav"))).unwrap();
        let timings: serde_json::Value = serde_json::from_slice(&std::fs::read(said.join(format!("{i:04}.json"))).unwrap()).unwrap();
        let start = audio.len();
        sentence_starts.push(start / PER_FRAME);
        for c in timings["mouth"].as_array().unwrap() {
            let at = |k: &str| start + (c[k].as_f64().unwrap() * RATE as f64).round() as usize;
            cues.push((at("start"), at("end"), c["shape"].as_str().unwrap().chars().next().unwrap()));
        }
        audio.extend(wav[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
        audio.extend(std::iter::repeat_n(0, (GAP * RATE as f64) as usize));
    }
    let frames = audio.len().div_ceil(PER_FRAME);
    audio.resize(frames * PER_FRAME, 0);
    // Each frame shows the shape covering most of its sound, as the cartoon host does.
    let shapes: Vec<char> = (0..frames)
        .map(|n| {
            let (a, b) = (n * PER_FRAME, (n + 1) * PER_FRAME);
            cues.iter()
                .map(|&(s, e, m)| (e.min(b).saturating_sub(s.max(a)), m))
                .filter(|&(o, _)| o > 0)
                .max_by_key(|&(o, _)| o)
                .map_or('X', |(_, m)| m)
        })
        .collect();
    let wav = dir.join("footage.wav");
    let mut bytes = Vec::with_capacity(44 + audio.len() * 2);
    let len = (audio.len() * 2) as u32;
    for part in [&b"RIFF"[..], &(36 + len).to_le_bytes(), b"WAVEfmt ", &16u32.to_le_bytes(), &1u16.to_le_bytes(), &1u16.to_le_bytes()] {
        bytes.extend_from_slice(part);
    }
    for part in [&RATE.to_le_bytes()[..], &(RATE * 2).to_le_bytes(), &2u16.to_le_bytes(), &16u16.to_le_bytes(), b"data", &len.to_le_bytes()] {
        bytes.extend_from_slice(part);
    }
    bytes.extend(audio.iter().flat_map(|s| s.to_le_bytes()));
    std::fs::write(&wav, bytes).unwrap();

    let video = dir.join("presenter-reading.mp4");
    let mut ff = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", &format!("{WIDTH}x{HEIGHT}"), "-r", &FPS.to_string(), "-i", "-"])
        .arg("-i")
        .arg(&wav)
        .args(["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"])
        .args(["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"])
        .args(["-c:v", "libx264", "-preset", "veryfast", "-crf", "14", "-g", "50", "-c:a", "aac", "-b:a", "128k", "-shortest"])
        .arg(&video)
        .stdin(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    {
        let stdin = ff.stdin.as_mut().unwrap();
        for (n, &shape) in shapes.iter().enumerate() {
            stdin.write_all(frame(n as f32 / FPS as f32, shape).data()).unwrap();
        }
    }
    assert!(ff.wait().unwrap().success(), "ffmpeg could not write the presenter's recording");
    Footage { video, shapes, sentence_starts }
}

/// `avatar import` of the recording; returns the pack, consent filled in.
pub fn import_pack(dir: &Path, footage: &Footage) -> PathBuf {
    let pack = dir.join("reader");
    // No face box: the face mesh finds the face, as for a brand's own footage.
    let out = crate::run(
        crate::avatarcast()
            .args(["avatar", "import", "--video"])
            .arg(&footage.video)
            .arg("--out")
            .arg(&pack)
            .args(["--name", "Reader", "--script"])
            .arg(footage.video.with_file_name("script.txt")),
    );
    let said = crate::text(&out);
    assert!(out.status.success(), "avatar import failed: {said}");
    assert!(said.contains("face tracked in") && pack.join("landmarks.json").is_file(), "{said}");
    crate::clip::give_consent(&pack);
    pack
}
