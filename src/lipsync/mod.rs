//! Lip-sync from exact phoneme timings: IPA phonemes -> mouth shapes (the Preston
//! Blair / Rhubarb set, docs/design.md § Mouth shapes) -> the shape each video frame shows.

pub mod audio_model;
pub mod energy;
pub mod neural;
pub mod phonetic;
pub mod visemes;

pub use visemes::Mouth;

use crate::phoneme::PhonemeSpan;

/// Runs of equal values, a run shorter than `min_run` joined to the run before it (no
/// flicker) unless `keep` says it must stand.
pub(crate) fn steady_runs<T: Copy + PartialEq>(values: impl IntoIterator<Item = T>, min_run: usize, keep: impl Fn(T) -> bool) -> Vec<(T, usize)> {
    let mut runs: Vec<(T, usize)> = Vec::new();
    for v in values {
        match runs.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => runs.push((v, 1)),
        }
    }
    let mut merged: Vec<(T, usize)> = Vec::new();
    for (v, n) in runs {
        match merged.last_mut() {
            Some((_, m)) if n < min_run && !keep(v) => *m += n,
            Some((last, m)) if *last == v => *m += n,
            _ => merged.push((v, n)),
        }
    }
    merged
}

/// A mouth shape held over [start, end) samples of an utterance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MouthCue {
    pub start: u32,
    pub end: u32,
    pub mouth: Mouth,
}

/// The mouth shapes of one utterance, in its own sample positions.
#[derive(Debug, Clone, Default)]
pub struct MouthTrack {
    pub cues: Vec<MouthCue>,
}

/// Pauses shorter than this keep the previous shape (the mouth doesn't snap shut
/// between words).
const KEEP_SHAPE_SECONDS: f64 = 0.12;

impl MouthTrack {
    pub fn from_phonemes(phonemes: &[PhonemeSpan], rate: u32) -> MouthTrack {
        let keep = (KEEP_SHAPE_SECONDS * rate as f64) as u32;
        let shapes: Vec<visemes::Shape> = phonemes.iter().map(|p| visemes::mouth_for(p.phoneme)).collect();
        // A run of pauses (", " is two) counts as one pause; one touching the start or
        // end of the utterance is never "inside" speech.
        let mut pause_run: Vec<(u32, bool)> = vec![(0, false); phonemes.len()];
        let mut i = 0;
        while i < phonemes.len() {
            if !matches!(shapes[i], visemes::Shape::Pause) {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < phonemes.len() && matches!(shapes[j + 1], visemes::Shape::Pause) {
                j += 1;
            }
            let run = (phonemes[j].end - phonemes[i].start, i > 0 && j + 1 < phonemes.len());
            pause_run[i..=j].fill(run);
            i = j + 1;
        }
        let mut cues: Vec<MouthCue> = Vec::new();
        for (i, p) in phonemes.iter().enumerate() {
            if p.end <= p.start {
                continue;
            }
            let mouth = match shapes[i] {
                visemes::Shape::Mouth(m) => m,
                // espeak writes stress just before the vowel, and the voice already
                // sounds the vowel during it: it takes the next sound's shape.
                visemes::Shape::Stress => match phonemes.get(i + 1).map(|n| visemes::mouth_for(n.phoneme)) {
                    Some(visemes::Shape::Mouth(next)) => next,
                    _ => Mouth::X,
                },
                visemes::Shape::Modifier => match cues.last_mut() {
                    Some(last) if last.end == p.start => {
                        last.end = p.end;
                        continue;
                    }
                    _ => Mouth::X,
                },
                visemes::Shape::Pause => {
                    // A short pause inside speech keeps the shape; a long one rests.
                    let (run, inside) = pause_run[i];
                    match cues.last_mut() {
                        Some(last) if inside && run < keep && last.end == p.start => {
                            last.end = p.end;
                            continue;
                        }
                        _ => Mouth::X,
                    }
                }
            };
            match cues.last_mut() {
                Some(last) if last.mouth == mouth && last.end == p.start => last.end = p.end,
                _ => cues.push(MouthCue { start: p.start, end: p.end, mouth }),
            }
        }
        MouthTrack { cues }
    }

    /// The shape to show for the sample window [start, end): the one that covers most of
    /// it, so a shape shorter than a frame still shows when it dominates that frame.
    pub fn mouth_for_window(&self, start: i64, end: i64) -> Mouth {
        let first = self.cues.partition_point(|c| (c.end as i64) <= start);
        let mut best = (0i64, Mouth::X);
        for c in &self.cues[first..] {
            if c.start as i64 >= end {
                break;
            }
            let overlap = (c.end as i64).min(end) - (c.start as i64).max(start);
            if overlap > best.0 {
                best = (overlap, c.mouth);
            }
        }
        best.1
    }

    pub fn end(&self) -> u32 {
        self.cues.last().map_or(0, |c| c.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(phoneme: char, start: u32, end: u32) -> PhonemeSpan {
        PhonemeSpan { phoneme, start, end }
    }

    #[test]
    fn shapes_follow_phonemes_and_rest_in_silence() {
        // "mama" at 48 kHz: ^ m a m a $
        let ph = [
            span('^', 0, 4800),
            span('m', 4800, 7200),
            span('ɑ', 7200, 10000),
            span('ː', 10000, 12000),
            span('m', 12000, 14400),
            span('ˈ', 14400, 16000),
            span('ɑ', 16000, 19200),
            span('$', 19200, 38400),
        ];
        let t = MouthTrack::from_phonemes(&ph, 48000);
        let shapes: Vec<Mouth> = t.cues.iter().map(|c| c.mouth).collect();
        assert_eq!(shapes, vec![Mouth::X, Mouth::A, Mouth::D, Mouth::A, Mouth::D, Mouth::X]);
        assert_eq!(t.mouth_for_window(0, 1920), Mouth::X);
        assert_eq!(t.mouth_for_window(7680, 9600), Mouth::D);
        // A window straddling m|ɑ takes the shape that covers most of it.
        assert_eq!(t.mouth_for_window(6000, 7920), Mouth::A);
        assert_eq!(t.mouth_for_window(30000, 31920), Mouth::X);
    }

    #[test]
    fn stress_takes_the_next_vowel_and_length_the_previous() {
        let ph = [span('^', 0, 960), span('d', 960, 2880), span('ˈ', 2880, 5760), span('ɑ', 5760, 7680), span('ː', 7680, 9600), span('$', 9600, 12000)];
        let t = MouthTrack::from_phonemes(&ph, 48000);
        let shapes: Vec<(u32, u32, Mouth)> = t.cues.iter().map(|c| (c.start, c.end, c.mouth)).collect();
        assert_eq!(shapes, vec![(0, 960, Mouth::X), (960, 2880, Mouth::B), (2880, 9600, Mouth::D), (9600, 12000, Mouth::X)]);
    }

    #[test]
    fn short_pause_between_words_keeps_the_shape() {
        let ph = [
            span('^', 0, 960),
            span('ɑ', 960, 4800),
            span(' ', 4800, 5760), // 20 ms
            span('ɑ', 5760, 9600),
            span(',', 9600, 14400),  // 100 ms
            span(' ', 14400, 19200), // + 100 ms: one 200 ms pause
            span('ɑ', 19200, 28800),
            span('$', 28800, 30000),
        ];
        let t = MouthTrack::from_phonemes(&ph, 48000);
        assert_eq!(t.mouth_for_window(4800, 5760), Mouth::D);
        assert_eq!(t.mouth_for_window(14000, 16000), Mouth::X);
    }
}
