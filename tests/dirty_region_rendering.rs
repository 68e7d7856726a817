//! A frame drawn only where something changed is the frame drawn whole: two scenes of
//! the demo config play the same 300 frames (the host talking, captions word by word,
//! the card appearing and counting down a sale, a gesture, a framing switch, a
//! background crossfade, captions off); one redraws every frame whole, the other
//! only its changed regions. Both canvases and both I420 frames must be identical in
//! every frame. And the I420 conversion that replaced GStreamer's videoconvert gives
//! the picture videoconvert gave.

use std::sync::Arc;

use avatarcast::config::Config;
use avatarcast::lipsync::Mouth;
use avatarcast::lipsync::phonetic::STEPS_PER_FRAME;
use avatarcast::cue::SceneCommand;
use avatarcast::scene::{Overlays, Scene};
use avatarcast::show::file::ShowFile;

const CAPTIONS: [&str; 2] = ["It keeps your water ice cold for a full day.", "Tap the card below to add it to your cart before the sale ends."];

fn scene(config: &Config) -> Scene {
    let show = Arc::new(ShowFile::load(&config.show.file).unwrap());
    Scene::new(config, show, false).unwrap()
}

/// The changes of frame `n`, applied to both scenes alike.
fn commands(n: u64) -> Vec<SceneCommand> {
    let card = |visible, sale_seconds| SceneCommand::Card { product: Some("bottle".into()), visible, sale_seconds };
    match n {
        40 => vec![card(Some(true), None)],
        90 => vec![SceneCommand::Gesture { name: "wave".into() }],
        130 => vec![card(None, Some(3))],
        210 => vec![SceneCommand::Framing { framing: avatarcast::cue::Framing::Full }],
        240 => vec![SceneCommand::Background { name: "night".into(), crossfade_ms: Some(400) }],
        280 => vec![SceneCommand::Captions { visible: false }],
        _ => vec![],
    }
}

#[test]
fn a_frame_drawn_by_regions_equals_the_frame_drawn_whole() {
    avatarcast::gst_helpers::init().unwrap();
    let config = Config::load(std::path::Path::new("config/demo.toml")).unwrap();
    let (mut by_regions, mut whole) = (scene(&config), scene(&config));
    let silence = vec![0i16; 1920];
    for n in 0..300u64 {
        let mouth = Mouth::ALL[(n as usize / 3) % Mouth::ALL.len()];
        let text = CAPTIONS[(n / 150) as usize];
        let caption = Some((text, (n as usize / 7) % text.split_whitespace().count()));
        let overlays = Overlays { frame: n, caption, product: "bottle" };
        for s in [&mut by_regions, &mut whole] {
            for c in commands(n) {
                s.apply(&c, n).unwrap();
            }
        }
        whole.redraw_all();
        for s in [&mut by_regions, &mut whole] {
            let plan = s.avatar.plan(n, mouth, [mouth; STEPS_PER_FRAME], mouth != Mouth::X, &silence, &[]);
            s.render(&plan, &overlays, None);
        }
        if by_regions.rgba() != whole.rgba() {
            let w = config.video.size.width as usize;
            let diff = by_regions.rgba().chunks_exact(4).zip(whole.rgba().chunks_exact(4)).position(|(a, b)| a != b).unwrap();
            panic!("frame {n}: the frame drawn by regions differs from the whole one first at ({}, {})", diff % w, diff / w);
        }
        assert!(by_regions.i420() == whole.i420(), "frame {n}: the I420 frames differ where the RGBA ones do not");
    }
}

/// One RGBA frame through GStreamer's videoconvert to I420.
fn videoconvert(rgba: &[u8], width: u32, height: u32) -> Vec<u8> {
    use gstreamer as gst;
    use gstreamer::prelude::*;
    use gstreamer_app as gst_app;
    let desc = format!(
        "appsrc name=src caps=video/x-raw,format=RGBA,width={width},height={height},framerate=25/1 ! videoconvert ! video/x-raw,format=I420 ! appsink name=sink"
    );
    let pipeline = gst::parse::launch(&desc).unwrap().downcast::<gst::Pipeline>().unwrap();
    let src = pipeline.by_name("src").unwrap().downcast::<gst_app::AppSrc>().unwrap();
    let sink = pipeline.by_name("sink").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    src.push_buffer(gst::Buffer::from_slice(rgba.to_vec())).unwrap();
    src.end_of_stream().unwrap();
    let sample = sink.pull_sample().unwrap();
    let out = sample.buffer().unwrap().map_readable().unwrap().to_vec();
    pipeline.set_state(gst::State::Null).unwrap();
    out
}

#[test]
fn the_i420_frame_is_the_one_videoconvert_made() {
    avatarcast::gst_helpers::init().unwrap();
    let config = Config::load(std::path::Path::new("config/demo.toml")).unwrap();
    let mut s = scene(&config);
    s.apply(&SceneCommand::Card { product: Some("bottle".into()), visible: Some(true), sale_seconds: None }, 0).unwrap();
    let plan = s.avatar.plan(0, Mouth::D, [Mouth::D; STEPS_PER_FRAME], true, &vec![0i16; 1920], &[]);
    s.render(&plan, &Overlays { frame: 0, caption: Some((CAPTIONS[0], 2)), product: "bottle" }, None);
    let (w, h) = (config.video.size.width, config.video.size.height);
    let reference = videoconvert(s.rgba(), w, h);
    let ours = s.i420();
    assert_eq!(reference.len(), ours.len());
    let luma = (w * h) as usize;
    let stats = |a: &[u8], b: &[u8]| {
        let diffs: Vec<u32> = a.iter().zip(b).map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs()).collect();
        (diffs.iter().sum::<u32>() as f64 / diffs.len() as f64, *diffs.iter().max().unwrap())
    };
    let (y_mean, y_max) = stats(&ours[..luma], &reference[..luma]);
    let (c_mean, c_max) = stats(&ours[luma..], &reference[luma..]);
    eprintln!("against videoconvert: luma mean {y_mean:.3} max {y_max}, chroma mean {c_mean:.3} max {c_max}");
    assert!(y_mean < 0.6 && y_max <= 2, "luma differs: mean {y_mean:.3}, max {y_max}");
    assert!(c_mean < 1.0 && c_max <= 24, "chroma differs: mean {c_mean:.3}, max {c_max}");
}
