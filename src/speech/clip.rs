//! Recorded lines (WAV, MP3, FLAC, Ogg, M4A) played in the show: decoded to the
//! stream's 48 kHz mono by GStreamer, mouth shapes from the sound itself
//! (lipsync::audio_model), the segment's `text` as its caption.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::cache::CachedSpeech;
use super::{Utterance, words_from_phonemes};
use crate::audio_format::OUTPUT_RATE;
use crate::lipsync::MouthTrack;
use crate::lipsync::audio_model::{SharedMouthModel, phonemes_from_sound};

/// File types a show may name for `audio`.
pub const EXTENSIONS: &[&str] = &["wav", "mp3", "flac", "ogg", "opus", "m4a"];

/// The whole file as 48 kHz mono samples (a video file's sound too). A file with no
/// sound is an error, not a wait.
pub fn decode(path: &Path) -> Result<Vec<i16>> {
    let location = crate::gst_helpers::location(path);
    let desc = format!(
        "filesrc location=\"{location}\" ! decodebin name=dec ! audioconvert name=conv ! audioresample \
         ! audio/x-raw,format=S16LE,rate={OUTPUT_RATE},channels=1,layout=interleaved ! appsink name=sink sync=false"
    );
    let pipeline = crate::gst_helpers::launch(&desc)?;
    let sink = pipeline.by_name("sink").and_then(|e| e.downcast::<gst_app::AppSink>().ok()).context("appsink")?;
    let converter_input = pipeline.by_name("conv").and_then(|c| c.static_pad("sink")).context("audioconvert")?;
    // Once decodebin has shown all its streams, an unlinked converter means no sound.
    let all_pads = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(dec) = pipeline.by_name("dec") {
        let flag = all_pads.clone();
        dec.connect("no-more-pads", false, move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            None
        });
    }
    pipeline.set_state(gst::State::Playing).map_err(|_| anyhow!("cannot open {}", path.display()))?;
    let bus = pipeline.bus().expect("pipeline has a bus");
    let mut samples = Vec::new();
    let result = loop {
        if let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_mseconds(200)) {
            let Some(buffer) = sample.buffer() else { continue };
            let map = buffer.map_readable().context("map audio")?;
            samples.extend(map.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
            continue;
        }
        if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                break Err(anyhow!("{}", e.error()));
            }
        }
        if sink.is_eos() {
            break Ok(());
        }
        if all_pads.load(std::sync::atomic::Ordering::SeqCst) && !converter_input.is_linked() {
            break Err(anyhow!("it has no sound"));
        }
    };
    let _ = pipeline.set_state(gst::State::Null);
    result.with_context(|| format!("cannot decode the sound of {}", path.display()))?;
    if samples.is_empty() {
        bail!("{} has no sound", path.display());
    }
    Ok(samples)
}

/// A recorded line, ready to play.
pub fn load(path: &Path, caption: &str, product: &str, mouth_model: Option<&SharedMouthModel>) -> Result<Utterance> {
    let started = std::time::Instant::now();
    let samples = decode(path)?;
    let phonemes = phonemes_from_sound(&samples, mouth_model);
    Ok(Utterance {
        text: caption.to_string(),
        spoken: caption.to_string(),
        voice: "recording".into(),
        product: product.to_string(),
        mouth: MouthTrack::from_phonemes(&phonemes, OUTPUT_RATE),
        words: words_from_phonemes(&phonemes),
        speech: std::sync::Arc::new(CachedSpeech { samples, phonemes }),
        synth_seconds: started.elapsed().as_secs_f64(),
    })
}
