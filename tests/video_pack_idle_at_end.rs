//! A video pack made from 720x1280 footage whose idle lies at its very end (as when a
//! brand records a long take and picks a quiet stretch near its close): on air, the
//! idle shows the footage's own frames, played forth and back, equal to the
//! footage's pixels within the codec's tolerance. Each footage frame carries its
//! number as a barcode, so the test knows which frame it sees.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::clip::give_consent;
use common::*;

const W: u32 = 720;
const H: u32 = 1280;
const SECONDS: u32 = 24;
/// The barcode: BITS white-or-black blocks in a row, the frame number's bits.
const BITS: u32 = 10;
const BAR_Y: u32 = 1100;
const BAR_H: u32 = 80;
const BIT_W: u32 = 72;
/// Rows the AI label may cover (it is drawn over the host).
const LABEL_ROWS: usize = 100;

/// Test picture with moving parts, the frame number as a barcode, and a tone; its
/// colours marked BT.601, as converted (untagged, decoders guess differently).
fn write_footage(path: &Path) {
    let bits: Vec<String> = (0..BITS)
        .map(|k| format!("drawbox=x={}:y={BAR_Y}:w={BIT_W}:h={BAR_H}:color=white:t=fill:enable='mod(floor(n/{}),2)'", k * BIT_W, 1 << k))
        .collect();
    let filter = format!("drawbox=x=0:y={BAR_Y}:w={W}:h={BAR_H}:color=black:t=fill,{}", bits.join(","));
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", &format!("testsrc2=s={W}x{H}:r=25:d={SECONDS}")])
        .args(["-f", "lavfi", "-i", &format!("sine=frequency=220:sample_rate=48000:duration={SECONDS}")])
        .args(["-vf", &filter, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"])
        .args(["-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m", "-c:a", "aac"])
        .arg(path)
        .output()
        .expect("ffmpeg");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The frame number a W x H RGB frame's barcode reads.
fn barcode(rgb: &[u8]) -> usize {
    (0..BITS)
        .map(|k| {
            let (x0, y0) = (k * BIT_W + BIT_W / 4, BAR_Y + BAR_H / 4);
            let mut sum = 0u32;
            for y in y0..y0 + BAR_H / 2 {
                for x in x0..x0 + BIT_W / 2 {
                    sum += rgb[((y * W + x) * 3 + 1) as usize] as u32;
                }
            }
            ((sum / (BAR_H / 2 * BIT_W / 2) > 128) as usize) << k
        })
        .sum()
}

/// PSNR (dB) of two W x H RGB frames below the label's rows.
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let from = LABEL_ROWS * W as usize * 3;
    let se: f64 = a[from..].iter().zip(&b[from..]).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum();
    let mse = se / (a.len() - from) as f64;
    10.0 * (255.0f64.powi(2) / mse.max(1e-9)).log10()
}

#[test]
fn the_idle_at_the_footages_end_plays_its_own_frames() {
    let dir = TempDir::new("idle-at-end");
    let footage = dir.path().join("presenter.mp4");
    write_footage(&footage);
    let pack = dir.path().join("pack");
    let idle_seconds = format!("{}-{}", SECONDS - 4, SECONDS as f32 - 0.2);
    let out = run(avatarcast().args(["avatar", "import", "--video"]).arg(&footage).arg("--out").arg(&pack).args([
        "--face",
        "280,300,160,200",
        "--key",
        "none",
        "--idle",
        &idle_seconds,
    ]));
    assert!(out.status.success() && text(&out).contains("played frames: "), "{}", text(&out));
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(pack.join("avatar.toml")).unwrap()).unwrap();
    let (first, last) = (manifest["idle"]["first"].as_integer().unwrap() as usize, manifest["idle"]["last"].as_integer().unwrap() as usize);
    assert!(first >= (SECONDS as usize - 5) * 25 && last < SECONDS as usize * 25, "the idle {first}..={last} lies at the footage's end");
    give_consent(&pack);

    let show = "[[segments]]\ntext = \"Hello and welcome, everyone. Today I have something special for you, so please stay with me.\"\n";
    let config = config_with_show(dir.path(), show, |c| {
        c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display()))
            .replace("background = \"assets/backgrounds/studio.svg\"", "background = \"#202020\"\nframing = \"full\"")
            .replace("captions = true", "captions = false")
            // The stream's own encode loses least at a high rate, so the comparison
            // sees what the pack's path does to the picture.
            .replace("bitrate_kbps = 2500", "bitrate_kbps = 12000")
    });
    let file = dir.path().join("on-air.mkv");
    let out = run(avatarcast().args(["render", "--duration", "6s", "--config"]).arg(&config).arg("--output").arg(&file));
    assert!(out.status.success(), "{}", text(&out));

    // The footage's idle frames, as the pack was made from them.
    let mut source: BTreeMap<usize, Vec<u8>> = BTreeMap::new();
    map_video_frames(&footage, W, H, |f| {
        let n = barcode(f);
        if (first..=last).contains(&n) {
            source.insert(n, f.to_vec());
        }
    });
    assert_eq!(source.len(), last - first + 1, "the footage's barcodes read");

    // On air: every frame is an idle frame, forth and back, with the footage's pixels.
    let on_air: Vec<(usize, f64)> = map_video_frames(&file, W, H, |f| {
        let n = barcode(f);
        (n, source.get(&n).map_or(0.0, |s| psnr(f, s)))
    });
    assert!(on_air.len() >= 145, "{} frames on air", on_air.len());
    let shown: Vec<usize> = on_air.iter().map(|s| s.0).collect();
    assert_eq!(shown[0], first, "the idle starts at its first frame");
    assert!(shown.iter().all(|n| (first..=last).contains(n)), "a frame from outside the idle: {shown:?}");
    assert!(shown.windows(2).all(|w| w[0].abs_diff(w[1]) == 1), "not forth and back: {shown:?}");
    assert!(shown.contains(&last) && shown.windows(3).any(|w| w[0] == w[2]), "the idle never turned: {shown:?}");
    let worst = on_air.iter().map(|s| s.1).fold(f64::INFINITY, f64::min);
    let mean = on_air.iter().map(|s| s.1).sum::<f64>() / on_air.len() as f64;
    eprintln!("on air against the footage: PSNR mean {mean:.1} dB, worst {worst:.1} dB over {} frames", on_air.len());
    assert!(worst > 31.0, "a frame on air differs from its footage frame: worst PSNR {worst:.1} dB");
}
