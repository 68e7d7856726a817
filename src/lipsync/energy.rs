//! Mouth shapes from loudness, for audio without phoneme timings when no mouth model
//! is set (`voice.mouth_model = ""`, or it failed to load): silence closes the mouth,
//! and louder sound opens it wider. Coarse beside phoneme timings, but the mouth moves
//! with the sound and rests in pauses.

use crate::phoneme::PhonemeSpan;

/// Analysis window: 10 ms.
const WINDOW_MS: u32 = 10;
/// Shorter runs are merged into the run before (no flicker).
const MIN_RUN_MS: u32 = 30;

/// Pseudo-phonemes at `rate` that tile `samples`: '_' for silence, then 'n', 'e', 'a'
/// for quiet, middle and loud sound (mouth shapes B, C, D).
pub fn phonemes_from_audio(samples: &[i16], rate: u32) -> Vec<PhonemeSpan> {
    let window = (rate * WINDOW_MS / 1000).max(1) as usize;
    let levels: Vec<f32> = samples
        .chunks(window)
        .map(|w| (w.iter().map(|s| f32::from(*s).powi(2)).sum::<f32>() / w.len() as f32).sqrt())
        .collect();
    let loud = loud_level(&levels);
    let silence = silence_level(&levels);
    let shape = |l: f32| match l {
        l if l < silence => '_',
        l if l < loud * 0.35 => 'n',
        l if l < loud * 0.7 => 'e',
        _ => 'a',
    };
    let min_run = (MIN_RUN_MS / WINDOW_MS) as usize;
    let merged = super::steady_runs(levels.iter().map(|l| shape(*l)), min_run, |_| false);
    let mut spans = Vec::with_capacity(merged.len());
    let mut at = 0u32;
    for (c, n) in merged {
        let end = (at as usize + n * window).min(samples.len()) as u32;
        spans.push(PhonemeSpan { phoneme: c, start: at, end });
        at = end;
    }
    if let Some(last) = spans.last_mut() {
        last.end = samples.len() as u32;
    }
    spans
}

/// The level of loud speech in `levels` (RMS per window): its 95th percentile.
fn loud_level(levels: &[f32]) -> f32 {
    let mut sorted = levels.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted.get(sorted.len() * 95 / 100).copied().unwrap_or(0.0)
}

/// Below this RMS a window is silence: 6 % of loud speech (about -24 dB), and never
/// less than 150 (a quiet room's hiss in 16-bit samples).
pub fn silence_level(levels: &[f32]) -> f32 {
    (loud_level(levels) * 0.06).max(150.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_rests_and_sound_opens_the_mouth() {
        let rate = 48_000;
        let tone = |n: usize, amp: f32| (0..n).map(move |i| ((i as f32 * 0.05).sin() * amp) as i16);
        let samples: Vec<i16> = std::iter::repeat_n(0, 24_000).chain(tone(24_000, 12_000.0)).chain(std::iter::repeat_n(0, 24_000)).collect();
        let spans = phonemes_from_audio(&samples, rate);
        assert_eq!(spans.first().unwrap().start, 0);
        assert_eq!(spans.last().unwrap().end, samples.len() as u32);
        assert!(spans.windows(2).all(|w| w[0].end == w[1].start));
        let at = |s: u32| spans.iter().find(|p| p.start <= s && s < p.end).unwrap().phoneme;
        assert_eq!((at(10_000), at(36_000), at(60_000)), ('_', 'a', '_'));
    }
}
