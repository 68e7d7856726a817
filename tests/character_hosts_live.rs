//! Each of the three generated 3D hosts (VRM 1.0, VRM 0.x, ARKit/viseme glTF), made
//! by `avatar import --model`, goes live to a real nginx-rtmp. On the decoded stream:
//! the mouth opens with the speech within a frame of the sound, the eyes blink, and
//! the wave cued in the show raises the arm when its sentence starts. The licence's
//! credits are in /v1/status and in the stream's metadata.

use std::path::Path;
use std::time::Duration;

use common::character::{imported_character, with_pack};
use common::*;

const SHOW: &str = r#"
sentence_pause_ms = 450

[[segments]]
text = "Hello everyone, and welcome back to the studio. [pause 1500ms] I have three favourites to show you today. [gesture wave]Let me show you the Aurora bottle. [pause 1000ms] It keeps your water ice cold for a full day."
"#;

/// A crop of the 720x1280 frame: x, y, w, h.
type Area = (u32, u32, u32, u32);

struct Host {
    which: &'static str,
    /// Around the mouth in the half-body shot (the camera frames the rest pose, so it
    /// is fixed per character), and what counts as the open mouth's inside.
    mouth: Area,
    mouth_inside: fn(&[u8]) -> bool,
    /// Around each eye, and what counts as the iris (hidden by a closed lid).
    eyes: [Area; 2],
    iris: fn(&[u8]) -> bool,
    /// Beside the head and above the shoulder on the screen's left, where the raised
    /// right hand waves.
    arm: Area,
}

/// Darker than the skin and lips, and red: the toon mouth's inside and tongue.
fn toon_inside(p: &[u8]) -> bool {
    (p[0] as i32) < 215 && p[0] as i32 - p[1] as i32 > 60
}

fn dark(p: &[u8]) -> bool {
    p.iter().map(|&c| c as u32).sum::<u32>() < 200
}

/// The realistic host's brown iris (its hair is near black, its skin light).
fn brown(p: &[u8]) -> bool {
    p[0] as i32 - p[2] as i32 > 35 && p.iter().map(|&c| c as u32).sum::<u32>() < 400
}

const TOON: Host = Host { which: "vrm1", mouth: (306, 420, 104, 52), mouth_inside: toon_inside, eyes: [(230, 300, 95, 82), (372, 296, 94, 82)], iris: dark, arm: (0, 300, 110, 400) };

const HOSTS: [Host; 3] = [
    TOON,
    Host { which: "vrm0", ..TOON },
    Host { which: "arkit", mouth: (300, 385, 120, 60), mouth_inside: dark, eyes: [(255, 285, 80, 50), (365, 281, 80, 50)], iris: brown, arm: (0, 240, 100, 300) },
];

/// Per decoded frame, how many pixels of `area` pass `test`.
fn count(file: &Path, (x, y, w, h): Area, test: fn(&[u8]) -> bool) -> Vec<f64> {
    decode_video_crop(file, x, y, w, h).iter().map(|f| f.chunks_exact(3).filter(|p| test(p)).count() as f64).collect()
}

/// Blinks: runs of 1-8 frames in which the irises mostly disappear, against the
/// median of the half second around (the head's slow moves shift the eyes in their
/// boxes; a blink is quick).
fn blinks(iris: &[f64]) -> usize {
    let local_median = |i: usize| {
        let mut near = iris[i.saturating_sub(12)..(i + 13).min(iris.len())].to_vec();
        near.sort_by(f64::total_cmp);
        near[near.len() / 2]
    };
    let shut: Vec<bool> = (0..iris.len()).map(|i| iris[i] < 0.7 * local_median(i)).collect();
    let mut runs = Vec::new();
    let mut run = 0;
    for s in shut.iter().chain([&false]) {
        if *s {
            run += 1;
        } else if run > 0 {
            runs.push(run);
            run = 0;
        }
    }
    assert!(runs.iter().all(|&r| r <= 8), "the eyes stayed shut longer than a blink: runs {runs:?}");
    runs.len()
}

/// Frames showing the raised arm in `area`: pixels unlike the area's usual (median)
/// picture.
fn arm_frames(file: &Path, (x, y, w, h): Area) -> Vec<bool> {
    let frames = decode_video_crop(file, x, y, w, h);
    let n = frames.len();
    let mut usual = vec![0u8; frames[0].len()];
    for (i, u) in usual.iter_mut().enumerate() {
        let mut v: Vec<u8> = frames.iter().step_by(5).map(|f| f[i]).collect();
        v.sort();
        *u = v[v.len() / 2];
    }
    let changed = |f: &Vec<u8>| f.chunks_exact(3).zip(usual.chunks_exact(3)).filter(|(p, u)| (0..3).map(|k| (p[k] as i32 - u[k] as i32).abs()).sum::<i32>() > 30).count();
    // The pale hand on the pale wall differs little: 2 % of the area is an arm.
    (0..n).map(|i| changed(&frames[i]) as f64 > 0.02 * (w * h) as f64).collect()
}

#[test]
fn the_three_3d_hosts_speak_blink_and_wave_live() {
    for host in HOSTS {
        let dir = TempDir::new(&format!("character-live-{}", host.which));
        let pack = imported_character(dir.path(), host.which, host.which);
        let transcript_path = dir.path().join("transcript.jsonl");
        let config = config_with_show(dir.path(), SHOW, |c| transcript_to(&transcript_path)(with_pack(&pack)(c)));
        let mut nginx = Nginx::start();
        let mut live = LiveRun::start(&config, &["--duration", "16s", "--output", &nginx.url("host")], dir.path().join("live.log"));
        let status = get_json(live.port, "/v1/status");
        let credits = status["avatar"]["credits"].as_str().unwrap_or_default().to_string();
        // The stream as a player gets it from nginx, while it plays (nginx passes the
        // publisher's onMetaData on and records none).
        std::thread::sleep(Duration::from_secs(2));
        let played = format_tags(&nginx.url("host"));
        assert!(live.wait().success(), "{}: live failed:\n{}", host.which, live.log_text());
        assert!(live.log_text().contains("3D host ready"), "{}: not drawn as a 3D host", host.which);
        std::thread::sleep(Duration::from_millis(800));
        nginx.stop();
        let file = nginx.recordings().pop().expect("a recording");

        // The VRMs' meta asks for credit; plain glTF has no licence meta.
        if host.which != "arkit" {
            assert!(credits.contains("avatarcast test host"), "{}: /v1/status credits: {credits:?}", host.which);
            assert_eq!(played["credits"].as_str(), Some(credits.as_str()), "{}: the stream's metadata: {played}", host.which);
        }

        let open = count(&file, host.mouth, host.mouth_inside);
        let (lag, r) = assert_openness_follows_speech(&open, 100.0, &file, 25.0);

        let iris: Vec<f64> = count(&file, host.eyes[0], host.iris).iter().zip(count(&file, host.eyes[1], host.iris)).map(|(a, b)| a + b).collect();
        let blinked = blinks(&iris);
        assert!((2..=10).contains(&blinked), "{}: {blinked} blinks in 16 s", host.which);

        // The wave starts with its sentence: the hand shows within a second, for
        // more than 0.6 s (it swings in and out of view), and not before.
        let wave_at = transcript(&transcript_path).iter().find(|l| l["text"].as_str().is_some_and(|t| t.starts_with("Let me show"))).expect("the wave's sentence")["start"].as_f64().unwrap();
        let pts: Vec<f64> = packets(&file, "v").iter().map(|p| p.pts).collect();
        let arm = arm_frames(&file, host.arm);
        let shown: Vec<f64> = arm.iter().zip(&pts).filter(|(a, _)| **a).map(|(_, t)| *t - pts[0]).collect();
        assert!(shown.len() > 15, "{}: the wave showed in {} frames", host.which, shown.len());
        assert!(shown[0] >= wave_at - 0.1 && shown[0] <= wave_at + 1.0, "{}: the hand first showed at {:.2} s, the wave's sentence starts at {wave_at:.2} s", host.which, shown[0]);
        eprintln!("{}: mouth lag {lag} frames r = {r:.2}; {blinked} blinks; wave from {:.2} s ({} frames)", host.which, shown[0], shown.len());
    }
}

/// The format tags of `url` (FLV: onMetaData's string entries).
fn format_tags(url: &str) -> serde_json::Value {
    let out = run(std::process::Command::new("ffprobe").args(["-v", "error", "-show_format", "-of", "json", url]));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()["format"]["tags"].clone()
}
