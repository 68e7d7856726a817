//! `avatarcast bench`: the figures that say what a channel costs, measured in one
//! run of a release build.

pub mod channels;
pub mod encoders;
pub mod host3d;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use serde::Serialize;

use crate::broadcast::Broadcast;
use crate::config::Config;
use crate::lipsync::Mouth;
use crate::media;
use crate::scene::{Overlays, Scene};
use crate::speech::Speaker;
use crate::timeline::Pacing;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Avatar + composition only, one thread, frames per second.
    pub render_fps: f64,
    /// Render mode end to end (render, encode, mux to a file), frames per second, with
    /// the show's speech in the cache as a looping show has it after its first loop
    /// (synthesis has its own figure, `tts_rtf`).
    pub pipeline_fps: f64,
    /// x264 alone on the same frames with the same settings, frames per second.
    pub encode_floor_fps: f64,
    /// Synthesis time / audio time.
    pub tts_rtf: f64,
    /// A live 10-word sentence entering the speech stage to its first PCM,
    /// milliseconds (median of several): its lead phrase synthesized alone, as live
    /// lines are (speech::text::lead_phrase).
    pub tts_first_audio_ms: f64,
    /// The reference Piper (PyPI piper-tts, run from the venv setup makes) on the same
    /// voice, sentences and thread count: synthesis time / audio time. None when that
    /// venv is missing.
    pub reference_piper_tts_rtf: Option<f64>,
    /// Which piper-tts (and ONNX Runtime) that was.
    pub reference_piper_tts: Option<String>,
    /// Seconds of speech the audio-to-mouth model handles per second on one thread.
    pub mouth_model_x_realtime: f64,
    /// The neural (Wav2Lip-contract) lip-sync path per stage, on the configured model
    /// and provider, or the repo's test model on the CPU.
    pub neural_lipsync: LipsyncBench,
    /// A presenter's own face model (`avatar train`) per stage on one CPU thread: the
    /// config's pack's model, or the same network with its initial weights (it costs
    /// the same) when the pack has none.
    pub face_model: LipsyncBench,
    /// `--channels`: live channels this machine holds (bench/channels.rs).
    pub channels: Option<channels::ChannelsReport>,
}

/// Milliseconds per frame of each stage of the neural lip-sync, and frames per second
/// of the whole path on one stream.
#[derive(Debug, Serialize)]
pub struct LipsyncBench {
    pub model: String,
    pub provider: String,
    pub batch: usize,
    pub face_size: usize,
    /// What the model hears, per frame: Wav2Lip's mel window from the audio, or the
    /// phonetic window from the mouth shapes (a trained model).
    pub features_ms: f64,
    pub crop_ms: f64,
    pub inference_ms: f64,
    pub paste_ms: f64,
    /// The face enhancer after the mouth, when `avatar.lipsync.enhancer` names one.
    pub enhance_ms: Option<f64>,
    pub fps: f64,
}

const TTS_SENTENCES: &[&str] = &[
    "Welcome back to the studio, everyone!",
    "This bottle keeps your drinks cold for twenty four hours and hot for twelve.",
    "Tap the card below to add it to your cart before the flash sale ends.",
    "It comes in four colours, and every one of them is dishwasher safe.",
];

pub fn run(config: &Config, pipeline_seconds: u32) -> Result<BenchReport> {
    crate::gst_helpers::init()?;
    let show = std::sync::Arc::new(crate::show::file::ShowFile::load(&config.show.file)?);
    let mut scene = Scene::new(config, show, false)?;
    eprintln!("bench: render …");
    let render_fps = render_fps(config, &mut scene, 250);
    eprintln!("bench: encode floor …");
    let encode_floor_fps = encode_floor_fps(config, &mut scene, 1000)?;
    eprintln!("bench: speech …");
    let (tts_rtf, tts_first_audio_ms) = tts(config)?;
    let reference = reference_piper(config)?;
    eprintln!("bench: mouth model …");
    let mouth_model_x_realtime = mouth_model_speed(config)?;
    eprintln!("bench: neural lip-sync …");
    let mut wav2lip = config.avatar.lipsync.clone();
    if wav2lip.model.as_os_str().is_empty() {
        wav2lip.model = TEST_LIPSYNC_MODEL.into();
    }
    let neural_lipsync = lipsync_stages(config, wav2lip)?;
    eprintln!("bench: face model …");
    let (face, exported) = face_model_config(config)?;
    let face_model = lipsync_stages(config, face);
    if let Some(file) = &exported {
        let _ = std::fs::remove_file(file);
    }
    let mut face_model = face_model?;
    if exported.is_some() {
        face_model.model = "the face-model network with initial weights (a trained one costs the same)".into();
    }
    eprintln!("bench: pipeline ({pipeline_seconds} s of show) …");
    let pipeline_fps = pipeline_fps(config, pipeline_seconds)?;
    Ok(BenchReport {
        width: config.video.size.width,
        height: config.video.size.height,
        fps: config.video.fps,
        render_fps,
        pipeline_fps,
        encode_floor_fps,
        tts_rtf,
        tts_first_audio_ms,
        reference_piper_tts_rtf: reference.as_ref().map(|r| r.0),
        reference_piper_tts: reference.map(|r| r.1),
        mouth_model_x_realtime,
        neural_lipsync,
        face_model,
        channels: None,
    })
}

/// The face model to time: the pack's own trained one, else the trainer's network
/// with its initial weights, exported into the system's temp folder.
fn face_model_config(config: &Config) -> Result<(crate::config::LipsyncConfig, Option<std::path::PathBuf>)> {
    use crate::authoring::train;
    let mut lc = crate::config::LipsyncConfig { threads: 1, ..config.avatar.lipsync.clone() };
    let own = crate::avatar::video::VideoAvatar::manifest(&config.avatar.pack).ok().and_then(|m| m.face_model).map(|f| config.avatar.pack.join(f));
    let exported = match own {
        Some(model) => {
            lc.model = model;
            None
        }
        None => {
            let model = std::env::temp_dir().join(format!("avatarcast-bench-face-model-{}.onnx", std::process::id()));
            let out = std::process::Command::new(train::PYTHON)
                .args([train::SCRIPT, "--initial", "--out"])
                .arg(&model)
                .output()
                .with_context(|| format!("cannot run the face-model trainer {} (run bash scripts/setup.sh)", train::PYTHON))?;
            if !out.status.success() {
                bail!("the face-model trainer could not export its network: {}", String::from_utf8_lossy(&out.stderr));
            }
            lc.model = model.clone();
            Some(model)
        }
    };
    Ok((lc, exported))
}

/// Frames with every mouth shape, a blink or two, captions and the product card.
pub(crate) fn sample_frames(config: &Config, scene: &mut Scene, count: usize, mut each: impl FnMut(&[u8])) {
    let silence = vec![0i16; (crate::audio_format::OUTPUT_RATE / config.video.fps) as usize];
    for i in 0..count {
        let mouth = Mouth::ALL[(i / 2) % Mouth::ALL.len()];
        let plan = scene.avatar.plan(i as u64, mouth, [mouth; crate::lipsync::phonetic::STEPS_PER_FRAME], mouth != Mouth::X, &silence, &[]);
        let caption = Some((CAPTION, (i / 8) % CAPTION.split_whitespace().count()));
        scene.render(&plan, &Overlays { frame: i as u64, caption, product: "" }, None);
        each(scene.i420());
    }
}

/// A caption whose highlighted word moves every 8 frames, as in speech.
const CAPTION: &str = "Tap the card below to add it to your cart before the flash sale ends.";

fn render_fps(config: &Config, scene: &mut Scene, frames: usize) -> f64 {
    sample_frames(config, scene, 10, |_| {}); // warm-up
    let t = Instant::now();
    sample_frames(config, scene, frames, |_| {});
    frames as f64 / t.elapsed().as_secs_f64()
}

fn encode_floor_fps(config: &Config, scene: &mut Scene, frames: u64) -> Result<f64> {
    let mut distinct = Vec::new();
    sample_frames(config, scene, 50, |f| distinct.push(gst::Buffer::from_slice(f.to_vec())));
    let rest = format!("{} ! fakesink sync=false", media::video_encoder_description(config));
    let seconds = time_encode(config, &rest, (0..frames as usize).map(|i| distinct[i % distinct.len()].copy()))?;
    Ok(frames as f64 / seconds)
}

/// Pushes `frames` (I420 at the config's size, stamped here from their index) through
/// `appsrc ! {rest}` and waits for the end: seconds from the first push to EOS.
pub(crate) fn time_encode(config: &Config, rest: &str, frames: impl Iterator<Item = gst::Buffer>) -> Result<f64> {
    let desc = format!("appsrc name=src format=time ! {rest}");
    let pipeline = crate::gst_helpers::launch(&desc)?;
    let src = pipeline.by_name("src").and_then(|e| e.downcast::<gst_app::AppSrc>().ok()).context("appsrc")?;
    src.set_caps(Some(&media::video_caps(config)));
    src.set_max_buffers(4);
    src.set_block(true);
    pipeline.set_state(gst::State::Playing)?;
    let frame_ns = 1_000_000_000 / config.video.fps as u64;
    let t = Instant::now();
    for (i, mut b) in frames.enumerate() {
        media::stamp(b.get_mut().expect("writable"), i as u64 * frame_ns, frame_ns);
        src.push_buffer(b).map_err(|e| anyhow::anyhow!("encode bench push: {e:?}"))?;
    }
    src.end_of_stream()?;
    let ended = crate::gst_helpers::wait_for_end(&pipeline, Duration::from_secs(300));
    let elapsed = t.elapsed().as_secs_f64();
    pipeline.set_state(gst::State::Null)?;
    ended.context("the encode benchmark")?;
    Ok(elapsed)
}

/// Ten words each.
const FIRST_AUDIO_SENTENCES: &[&str] = &[
    "Grab this bottle today and keep your drinks cold longer.",
    "These running shoes weigh almost nothing and feel soft every step.",
    "The lamp has three warm settings for reading late at night.",
    "Order in the next ten minutes and shipping is completely free.",
    "Every colour comes with a spare lid and a cleaning brush.",
];

/// (real-time factor, median time to first audio in ms), without the speech cache.
fn tts(config: &Config) -> Result<(f64, f64)> {
    let mut speaker = Speaker::load(&config.voice)?;
    speaker.speak("Warming up.", "")?;
    let (mut synth, mut audio) = (0.0, 0.0);
    for s in TTS_SENTENCES {
        let u = speaker.speak(s, "")?.context("benchmark sentence was not speakable")?;
        synth += u.synth_seconds;
        audio += u.duration_seconds();
    }
    let mut first: Vec<f64> = Vec::new();
    for s in FIRST_AUDIO_SENTENCES {
        debug_assert_eq!(s.split_whitespace().count(), 10);
        let t = Instant::now();
        let lead = crate::speech::text::lead_phrase(s).unwrap_or(s);
        speaker.speak(lead, "")?.context("benchmark sentence was not speakable")?;
        first.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    first.sort_by(f64::total_cmp);
    Ok((synth / audio, first[first.len() / 2]))
}

/// The venv scripts/setup.sh makes with PyPI piper-tts.
const REFERENCE_PIPER_PYTHON: &str = "models/piper-tts-venv/bin/python";

/// (real-time factor, version) of PyPI piper-tts on TTS_SENTENCES with [voice]'s model
/// and thread count (scripts/bench/piper_reference.py).
fn reference_piper(config: &Config) -> Result<Option<(f64, String)>> {
    use std::io::Write;
    if config.voice.engine != crate::config::VoiceEngine::Piper {
        return Ok(None);
    }
    if !std::path::Path::new(REFERENCE_PIPER_PYTHON).is_file() {
        eprintln!("bench: {REFERENCE_PIPER_PYTHON} not found, no side-by-side with piper-tts (run `bash scripts/setup.sh`)");
        return Ok(None);
    }
    eprintln!("bench: reference piper-tts …");
    let job = serde_json::json!({ "model": config.voice.model, "threads": config.voice.threads, "sentences": TTS_SENTENCES });
    let mut child = std::process::Command::new(REFERENCE_PIPER_PYTHON)
        .arg("scripts/bench/piper_reference.py")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting the reference piper-tts")?;
    child.stdin.take().expect("piped stdin").write_all(job.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("the reference piper-tts failed ({}); its messages are above", out.status);
    }
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).context("the reference piper-tts's answer")?;
    let rtf = r["synth_seconds"].as_f64().unwrap_or(f64::NAN) / r["audio_seconds"].as_f64().unwrap_or(f64::NAN);
    Ok(Some((rtf, format!("piper-tts {} on onnxruntime {}", r["version"].as_str().unwrap_or("?"), r["onnxruntime"].as_str().unwrap_or("?")))))
}

/// The test model in the repo: the bench's default when no Wav2Lip model is configured.
pub const TEST_LIPSYNC_MODEL: &str = "assets/lipsync/test-wav2lip.onnx";

/// Each stage of the neural lip-sync on frames the size of the output with a face box
/// of a half-body shot, speech as the audio: what the model hears (mel or phonetic
/// windows, per frame), crop, model
/// (in batches), paste (resize, mask, blend).
fn lipsync_stages(config: &Config, lc: crate::config::LipsyncConfig) -> Result<LipsyncBench> {
    use crate::lipsync::neural::{Conditioning, FaceEnhancer, FaceModel, Job, RedrawBuffers, StageTimes, face, redraw};
    use crate::lipsync::{MouthCue, MouthTrack, phonetic};
    let mut model = FaceModel::load(&lc, &config.voice.onnxruntime_path())?;
    let mut enhancer = match lc.enhancer.as_os_str().is_empty() {
        true => None,
        false => Some(FaceEnhancer::load(&lc, &config.voice.onnxruntime_path())?),
    };
    let size = config.video.size;
    let mut frame = resvg::tiny_skia::Pixmap::new(size.width, size.height).context("frame size")?;
    frame.fill(resvg::tiny_skia::Color::from_rgba8(205, 160, 130, 255));
    let frame = std::sync::Arc::new(frame);
    // A face in a half-body 9:16 shot, about 30 % of the width, tilted 8 degrees: the
    // eye-aligned crop and the jaw-line mask that packs with landmarks take.
    let (fw, fh) = (size.width as f32 * 0.3, size.width as f32 * 0.36);
    let outline = crate::face::Outline::ellipse([size.width as f32 / 2.0, size.height as f32 * 0.12 + fh / 2.0], [fw / 2.0, fh / 2.0], 8.0);
    let crop = face::FaceCrop::aligned(outline, [0.0, 10.0, 0.0, 0.0], size.width, size.height).context("face crop")?;
    let mut speaker = Speaker::load(&config.voice)?;
    let (mut speech, mut cues): (Vec<i16>, Vec<MouthCue>) = (Vec::new(), Vec::new());
    for s in TTS_SENTENCES {
        let u = speaker.speak(s, "")?.context("benchmark sentence was not speakable")?;
        let offset = speech.len() as u32;
        cues.extend(u.mouth.cues.iter().map(|c| MouthCue { start: c.start + offset, end: c.end + offset, mouth: c.mouth }));
        speech.extend_from_slice(u.samples());
    }
    let track = MouthTrack { cues };
    let per_frame = (crate::audio_format::OUTPUT_RATE / config.video.fps) as usize;
    let frames = (speech.len() / per_frame).min(200);
    let s = model.size;
    let batch = lc.batch.max(1);
    let (mut features_t, mut crop_t, mut infer_t, mut paste_t, mut enhance_t) = (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for pass in 0..2 {
        // Pass 0 warms up (allocations, the model's first runs); pass 1 is timed.
        let t = Instant::now();
        let windows = match model.conditioning {
            Conditioning::Mel => mel_windows(&speech, per_frame, frames, config.video.fps),
            Conditioning::Phonetic => {
                let steps: Vec<_> =
                    (0..frames as i64).map(|n| phonetic::frame_steps(&track, n * per_frame as i64, (n + 1) * per_frame as i64)).collect();
                phonetic::windows(&steps).chunks_exact(phonetic::WINDOW_LEN).map(<[f32]>::to_vec).collect()
            }
        };
        let features_time = t.elapsed();
        let count = windows.len().min(frames);
        let times = StageTimes::default();
        let mut buffers = RedrawBuffers::default();
        let mut face_image = None;
        let mut face_ns = Duration::ZERO;
        let mut windows = windows.into_iter().take(count).enumerate();
        loop {
            let jobs: Vec<Job> = windows.by_ref().take(batch).map(|(n, condition)| Job { frame: n as u64, source: frame.clone(), crop: crop.clone(), condition }).collect();
            if jobs.is_empty() {
                break;
            }
            let patches = redraw(&mut model, enhancer.as_mut(), &jobs, &mut buffers, &times)?;
            let t = Instant::now();
            for p in &patches {
                p.face_image(&frame, &mut face_image);
            }
            face_ns += t.elapsed();
        }
        let ns = |stage| Duration::from_nanos(times.per_frame_ns(stage) as u64);
        let (c, i, p) = (ns(&times.crop_ns), ns(&times.inference_ns), ns(&times.paste_ns) + face_ns / count.max(1) as u32);
        if pass == 1 {
            (features_t, crop_t, infer_t, paste_t, enhance_t) = (features_time / count.max(1) as u32, c, i, p, ns(&times.enhance_ns));
        }
    }
    let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
    let total = (features_t + crop_t + infer_t + paste_t + enhance_t).as_secs_f64();
    Ok(LipsyncBench {
        model: lc.model.display().to_string(),
        provider: format!("{:?}", lc.provider).to_lowercase(),
        batch,
        face_size: s,
        features_ms: ms(features_t),
        crop_ms: ms(crop_t),
        inference_ms: ms(infer_t),
        paste_ms: ms(paste_t),
        enhance_ms: enhancer.is_some().then(|| ms(enhance_t)),
        fps: 1.0 / total.max(1e-9),
    })
}

/// Wav2Lip's mel window of each of the first `frames` frames of `speech`, streamed as on air.
fn mel_windows(speech: &[i16], per_frame: usize, frames: usize, fps: u32) -> Vec<Vec<f32>> {
    use crate::lipsync::neural::{WINDOW_FRAMES, mel};
    let mut stream = mel::StreamingMel::new();
    let mut windows = Vec::new();
    for n in 0..frames + mel::WINDOW_COLUMNS {
        let chunk = speech.get(n * per_frame..(n + 1) * per_frame).unwrap_or(&[]);
        stream.push(if chunk.is_empty() { &[0; 1920][..per_frame.min(1920)] } else { chunk });
        if n >= WINDOW_FRAMES as usize {
            let f = (n - WINDOW_FRAMES as usize) as u64;
            if let Some(w) = stream.window(mel::first_column(f, fps)) {
                windows.push(w);
            }
        }
    }
    windows
}

fn mouth_model_speed(config: &Config) -> Result<f64> {
    let ort = config.voice.onnxruntime_path();
    let mut model = crate::lipsync::audio_model::MouthModel::load(&config.voice.mouth_model, &ort)?;
    let mut speaker = Speaker::load(&config.voice)?;
    let mut speech: Vec<i16> = Vec::new();
    for s in TTS_SENTENCES {
        speech.extend_from_slice(speaker.speak(s, "")?.context("benchmark sentence was not speakable")?.samples());
    }
    model.phonemes(&speech)?;
    let runs = 5;
    let t = Instant::now();
    for _ in 0..runs {
        model.phonemes(&speech)?;
    }
    let audio_seconds = speech.len() as f64 / crate::audio_format::OUTPUT_RATE as f64;
    Ok(audio_seconds * runs as f64 / t.elapsed().as_secs_f64())
}

/// Render mode end to end, timed from the first frame to the file's end. A first,
/// untimed pass says the show into a fresh speech cache, so the timed one renders,
/// encodes and muxes with its speech ready, as a looping show runs after its first
/// loop (and a live channel has each line ready before it is due).
fn pipeline_fps(config: &Config, seconds: u32) -> Result<f64> {
    let dir = std::env::temp_dir().join(format!("avatarcast-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut config = config.clone();
    config.set_outputs(&[dir.join("bench.mp4").to_string_lossy().into_owned()]);
    config.voice.cache_dir = dir.join("speech");
    let broadcast = Broadcast {
        config,
        pacing: Pacing::Render,
        duration: Some(Duration::from_secs(seconds as u64)),
        progress: false,
        api: None,
    };
    let report = broadcast.run(Arc::new(AtomicBool::new(false))).and_then(|_| broadcast.run(Arc::new(AtomicBool::new(false))));
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    Ok(report.frames as f64 / report.wall_seconds)
}
