//! Whether the host's mouth follows the speech, measured on the decoded output.

use std::path::Path;

use crate::{decode_audio, decode_video_crop, packets, repo};

/// The mouth interior colour of the built-in host (assets/avatars/cartoon-host/mouth-*.svg).
pub const MOUTH_INTERIOR: [u8; 3] = [0x7a, 0x10, 0x30];

/// How far open the mouth is in each decoded frame: pixels of the mouth-interior colour
/// in the box around the mouth.
pub fn mouth_openness(file: &Path, width: u32, height: u32) -> Vec<u32> {
    let avatar = avatarcast::avatar::SpriteAvatar::load(&repo().join("assets/avatars/cartoon-host"), width, height, 25).unwrap();
    let (mx, my) = avatar.mouth_position();
    let scale = avatar.placement().scale;
    let (bw, bh) = ((120.0 * scale) as u32 & !1, (90.0 * scale) as u32 & !1);
    let (x, y) = ((mx - bw as f32 / 2.0) as u32, (my - bh as f32 / 2.0) as u32);
    decode_video_crop(file, x, y, bw, bh)
        .iter()
        .map(|f| {
            f.chunks_exact(3)
                .filter(|p| {
                    let d: i32 = (0..3).map(|i| (p[i] as i32 - MOUTH_INTERIOR[i] as i32).pow(2)).sum();
                    d < 45 * 45
                })
                .count() as u32
        })
        .collect()
}

/// Speech level per video frame: RMS of the audio that plays during each frame.
pub fn audio_level_per_frame(audio: &[i16], audio_start: f64, video_start: f64, fps: f64, frames: usize) -> Vec<f64> {
    (0..frames)
        .map(|i| {
            let t = video_start + i as f64 / fps - audio_start;
            let a = (t * 48000.0).round().max(0.0) as usize;
            let b = ((t + 1.0 / fps) * 48000.0).round().max(0.0) as usize;
            let w = &audio[a.min(audio.len())..b.min(audio.len())];
            if w.is_empty() {
                return 0.0;
            }
            (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
        })
        .collect()
}

pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa.sqrt() * sbb.sqrt()).max(1e-12)
}

/// The lag (in frames, -max..=max) at which mouth openness best follows the speech
/// level: positive when the mouth moves after the sound.
pub fn best_lag(openness: &[f64], level: &[f64], max: i64) -> (i64, f64) {
    let n = openness.len().min(level.len()) as i64;
    (-max..=max)
        .map(|lag| {
            let (o, l): (Vec<f64>, Vec<f64>) = (max..n - max).map(|i| (openness[(i + lag) as usize], level[i as usize])).unzip();
            (lag, pearson(&o, &l))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

/// Checks on the decoded output (not internal state) that the host's mouth moves while
/// there is speech, rests in silence, and moves in step with the sound (within one
/// frame). Returns (best lag in frames, correlation) for the test's message.
pub fn assert_mouth_follows_speech(file: &Path, width: u32, height: u32, fps: f64) -> (i64, f64) {
    let open: Vec<f64> = mouth_openness(file, width, height).into_iter().map(|c| c as f64).collect();
    assert_openness_follows_speech(&open, 12.0, file, fps)
}

/// As `assert_mouth_follows_speech`, for any measure of openness per decoded frame;
/// above `open_above` counts as open.
pub fn assert_openness_follows_speech(open: &[f64], open_above: f64, file: &Path, fps: f64) -> (i64, f64) {
    let (v, a) = (packets(file, "v"), packets(file, "a"));
    let audio = decode_audio(file);
    let level = audio_level_per_frame(&audio, a[0].pts, v[0].pts, fps, open.len());
    assert!(open.len() as f64 > fps * 5.0, "too few decoded frames: {}", open.len());

    let is_open = |o: f64| o > open_above;
    let speech: Vec<usize> = (0..open.len()).filter(|&i| level[i] > 300.0).collect();
    // Silence: the digital silence between lines (decoded AAC leaves a level of 0-3)
    // within 3 frames either side. A quiet stop consonant inside a word (level ~20) is
    // speech, with its own mouth shape.
    let silence: Vec<usize> = (3..open.len().saturating_sub(3)).filter(|&i| level[i - 3..=i + 3].iter().all(|&l| l < 8.0)).collect();
    assert!(speech.len() as f64 > fps * 2.0, "too little speech in the output ({} frames)", speech.len());
    assert!(silence.len() as f64 > fps * 0.5, "no silence between lines in the output ({} frames)", silence.len());

    let open_in_speech = speech.iter().filter(|&&i| is_open(open[i])).count() as f64 / speech.len() as f64;
    let open_in_silence = silence.iter().filter(|&&i| is_open(open[i])).count() as f64 / silence.len() as f64;
    assert!(open_in_speech > 0.5, "mouth open in only {:.0}% of speech frames", open_in_speech * 100.0);
    assert!(open_in_silence < 0.02, "mouth open in {:.0}% of silent frames", open_in_silence * 100.0);

    // Open/closed against sound/no sound, compared at shifts of up to 6 frames: the best
    // match must be within one frame.
    let open_bin: Vec<f64> = open.iter().map(|&o| f64::from(u8::from(is_open(o)))).collect();
    let sound_bin: Vec<f64> = level.iter().map(|&l| f64::from(u8::from(l > 300.0))).collect();
    let (lag, r) = best_lag(&open_bin, &sound_bin, 6);
    assert!(lag.abs() <= 1, "mouth motion is {lag} frames off the sound (r = {r:.2})");
    assert!(r > 0.4, "mouth motion hardly follows the sound (r = {r:.2} at lag {lag})");
    (lag, r)
}
