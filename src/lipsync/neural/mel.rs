//! The Wav2Lip audio front-end (docs/design.md § Wav2Lip tensor contract), computed on the stream as it is made:
//! 48 kHz -> 16 kHz, pre-emphasis 0.97, STFT (n_fft 800, hop 200, Hann 800, centred),
//! magnitude, 80 Slaney mel bands 55-7600 Hz, then clip(1.6·log10(max(1e-5, M)) + 2.4,
//! -4, 4). Column c is centred on 16 kHz sample 200·c of the stream; video frame i
//! reads columns [⌊3.2·i⌋, ⌊3.2·i⌋ + 16).

use std::collections::VecDeque;
use std::f32::consts::PI;

pub const MEL_BANDS: usize = 80;
/// Columns per video frame's window (200 ms).
pub const WINDOW_COLUMNS: usize = 16;
const N_FFT: usize = 800;
const HOP: usize = 200;
const BINS: usize = N_FFT / 2 + 1;
const RATE: f32 = 16_000.0;
const PREEMPHASIS: f32 = 0.97;
/// 48 kHz -> 16 kHz low-pass: windowed sinc, linear phase (delay compensated).
const DECIMATE: usize = 3;
const FIR_HALF: usize = 60;

/// Mel value of silence.
pub const SILENCE: f32 = -4.0;

/// The first column of video frame `frame`'s window (at 25 fps: ⌊3.2·frame⌋).
pub fn first_column(frame: u64, fps: u32) -> u64 {
    frame * 80 / fps as u64
}

/// Slaney mel scale (librosa's default, htk=False).
fn hz_to_mel(f: f64) -> f64 {
    let (f_sp, min_log_hz, logstep) = (200.0 / 3.0, 1000.0, (6.4f64).ln() / 27.0);
    if f >= min_log_hz { min_log_hz / f_sp + (f / min_log_hz).ln() / logstep } else { f / f_sp }
}

fn mel_to_hz(m: f64) -> f64 {
    let (f_sp, min_log_hz, logstep) = (200.0 / 3.0, 1000.0, (6.4f64).ln() / 27.0);
    let min_log_mel = min_log_hz / f_sp;
    if m >= min_log_mel { min_log_hz * (logstep * (m - min_log_mel)).exp() } else { m * f_sp }
}

/// librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600), Slaney-normalized.
pub fn mel_filters() -> Vec<[f32; BINS]> {
    let (fmin, fmax) = (hz_to_mel(55.0), hz_to_mel(7600.0));
    let mel_f: Vec<f64> = (0..MEL_BANDS + 2).map(|i| mel_to_hz(fmin + (fmax - fmin) * i as f64 / (MEL_BANDS + 1) as f64)).collect();
    let fft_f: Vec<f64> = (0..BINS).map(|k| k as f64 * RATE as f64 / N_FFT as f64).collect();
    (0..MEL_BANDS)
        .map(|i| {
            let mut w = [0f32; BINS];
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            for (k, &f) in fft_f.iter().enumerate() {
                let lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
                let upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
                w[k] = (lower.min(upper).max(0.0) * enorm) as f32;
            }
            w
        })
        .collect()
}

/// Mel columns of a stream, made as its audio arrives.
pub struct StreamingMel {
    fir: Vec<f32>,
    /// 48 kHz input, float, from `input_start` on.
    input: Vec<f32>,
    input_start: u64,
    /// 16 kHz output after pre-emphasis, from `pre_start` on.
    pre: Vec<f32>,
    pre_start: u64,
    last_16k: f32,
    next_16k: u64,
    window: Vec<f32>,
    cos: Vec<f32>,
    sin: Vec<f32>,
    filters: Vec<[f32; BINS]>,
    /// Finished columns, from `first_column` on.
    columns: VecDeque<[f32; MEL_BANDS]>,
    first_column: u64,
}

impl Default for StreamingMel {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamingMel {
    pub fn new() -> StreamingMel {
        // Windowed sinc (Blackman), cut-off 7.4 kHz at 48 kHz, unity gain.
        let cutoff = 7400.0 / 48_000.0;
        let mut fir: Vec<f32> = (0..=2 * FIR_HALF)
            .map(|j| {
                let x = j as f32 - FIR_HALF as f32;
                let sinc = if x == 0.0 { 2.0 * cutoff } else { (2.0 * PI * cutoff * x).sin() / (PI * x) };
                let t = j as f32 / (2 * FIR_HALF) as f32;
                sinc * (0.42 - 0.5 * (2.0 * PI * t).cos() + 0.08 * (4.0 * PI * t).cos())
            })
            .collect();
        let sum: f32 = fir.iter().sum();
        fir.iter_mut().for_each(|h| *h /= sum);
        // Periodic Hann (scipy.signal.get_window('hann', 800, fftbins=True)).
        let window: Vec<f32> = (0..N_FFT).map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos() as f32).collect();
        let mut cos = vec![0f32; BINS * N_FFT];
        let mut sin = vec![0f32; BINS * N_FFT];
        for k in 0..BINS {
            for i in 0..N_FFT {
                let a = 2.0 * std::f64::consts::PI * ((k * i) % N_FFT) as f64 / N_FFT as f64;
                cos[k * N_FFT + i] = a.cos() as f32;
                sin[k * N_FFT + i] = a.sin() as f32;
            }
        }
        StreamingMel {
            fir,
            input: Vec::new(),
            input_start: 0,
            pre: Vec::new(),
            pre_start: 0,
            last_16k: 0.0,
            next_16k: 0,
            window,
            cos,
            sin,
            filters: mel_filters(),
            columns: VecDeque::new(),
            first_column: 0,
        }
    }

    /// Adds the next 48 kHz samples of the stream and makes every column they complete.
    pub fn push(&mut self, samples: &[i16]) {
        self.input.extend(samples.iter().map(|&s| f32::from(s) / 32768.0));
        let input_end = self.input_start + self.input.len() as u64;
        // 16 kHz sample k is the filtered input around 48 kHz sample 3k.
        while DECIMATE as u64 * self.next_16k + FIR_HALF as u64 + 1 <= input_end {
            let centre = DECIMATE as i64 * self.next_16k as i64;
            let mut acc = 0f32;
            for (j, h) in self.fir.iter().enumerate() {
                let i = centre - FIR_HALF as i64 + j as i64 - self.input_start as i64;
                if i >= 0 {
                    acc += h * self.input[i as usize];
                }
            }
            self.pre.push(acc - PREEMPHASIS * self.last_16k);
            self.last_16k = acc;
            self.next_16k += 1;
        }
        // Keep only the input the filter still needs.
        let keep_from = (DECIMATE as u64 * self.next_16k).saturating_sub(FIR_HALF as u64 + 1).max(self.input_start);
        self.input.drain(..(keep_from - self.input_start) as usize);
        self.input_start = keep_from;
        // Column c needs 16 kHz samples [200c - 400, 200c + 400).
        loop {
            let c = self.first_column + self.columns.len() as u64;
            if c * HOP as u64 + (N_FFT / 2) as u64 > self.next_16k {
                break;
            }
            let column = self.column(c);
            self.columns.push_back(column);
        }
        let keep_from = ((self.first_column + self.columns.len() as u64) * HOP as u64).saturating_sub((N_FFT / 2) as u64).max(self.pre_start);
        self.pre.drain(..(keep_from - self.pre_start) as usize);
        self.pre_start = keep_from;
    }

    fn column(&self, c: u64) -> [f32; MEL_BANDS] {
        let start = c as i64 * HOP as i64 - (N_FFT / 2) as i64;
        let mut frame = [0f32; N_FFT];
        for (i, v) in frame.iter_mut().enumerate() {
            let t = start + i as i64 - self.pre_start as i64;
            if t >= 0 {
                *v = self.pre[t as usize] * self.window[i];
            }
        }
        let mut mag = [0f32; BINS];
        for (k, m) in mag.iter_mut().enumerate() {
            let (cos, sin) = (&self.cos[k * N_FFT..(k + 1) * N_FFT], &self.sin[k * N_FFT..(k + 1) * N_FFT]);
            let (mut re, mut im) = (0f32, 0f32);
            for i in 0..N_FFT {
                re += frame[i] * cos[i];
                im += frame[i] * sin[i];
            }
            *m = (re * re + im * im).sqrt();
        }
        let mut out = [0f32; MEL_BANDS];
        for (o, f) in out.iter_mut().zip(&self.filters) {
            let m: f32 = f.iter().zip(&mag).map(|(w, m)| w * m).sum();
            *o = (1.6 * m.max(1e-5).log10() + 2.4).clamp(-4.0, 4.0);
        }
        out
    }

    /// Column `c`, once made and until forgotten.
    pub fn column_at(&self, c: u64) -> Option<&[f32; MEL_BANDS]> {
        c.checked_sub(self.first_column).and_then(|i| self.columns.get(i as usize))
    }

    /// Whether column `c` is made.
    pub fn has(&self, c: u64) -> bool {
        c < self.first_column + self.columns.len() as u64
    }

    /// The window [c, c + 16) as the model wants it: [80 bands][16 columns], row-major.
    /// None until its last column is made.
    pub fn window(&self, c: u64) -> Option<Vec<f32>> {
        if !self.has(c + WINDOW_COLUMNS as u64 - 1) || c < self.first_column {
            return None;
        }
        let mut out = vec![0f32; MEL_BANDS * WINDOW_COLUMNS];
        for j in 0..WINDOW_COLUMNS {
            let col = &self.columns[(c - self.first_column) as usize + j];
            for (b, v) in col.iter().enumerate() {
                out[b * WINDOW_COLUMNS + j] = *v;
            }
        }
        Some(out)
    }

    /// Forgets columns before `c` (frames before it are done with).
    pub fn forget_before(&mut self, c: u64) {
        while self.first_column < c && !self.columns.is_empty() {
            self.columns.pop_front();
            self.first_column += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f32, amp: f32) -> Vec<i16> {
        (0..(48_000.0 * seconds) as usize).map(|i| (amp * 32767.0 * (2.0 * PI * hz * i as f32 / 48_000.0).sin()) as i16).collect()
    }

    #[test]
    fn silence_is_minus_four_and_columns_come_at_80_per_second() {
        let mut m = StreamingMel::new();
        for _ in 0..25 {
            m.push(&[0; 1920]);
        }
        // One second = 16000 samples, less the low-pass filter's reach (20 samples):
        // the columns whose window ends inside it, 0..=77.
        assert!(m.has(77) && !m.has(78));
        let w = m.window(first_column(10, 25)).unwrap();
        assert_eq!(w.len(), 80 * 16);
        assert!(w.iter().all(|&v| v == SILENCE));
    }

    #[test]
    fn a_tone_lights_the_band_around_its_pitch() {
        let mut m = StreamingMel::new();
        for chunk in tone(1000.0, 1.0, 0.5).chunks(1920) {
            m.push(chunk);
        }
        let w = m.window(40).unwrap();
        let band_level = |b: usize| w[b * 16 + 8];
        let loudest = (0..80).max_by(|&a, &b| band_level(a).total_cmp(&band_level(b))).unwrap();
        // Band centres: mel_f[i + 1]; 1 kHz falls in the band whose centre is nearest.
        let (fmin, fmax) = (hz_to_mel(55.0), hz_to_mel(7600.0));
        let centre = |i: usize| mel_to_hz(fmin + (fmax - fmin) * (i + 1) as f64 / 81.0);
        let nearest = (0..80).min_by(|&a, &b| (centre(a) - 1000.0).abs().total_cmp(&(centre(b) - 1000.0).abs())).unwrap();
        assert!(loudest.abs_diff(nearest) <= 1, "loudest band {loudest}, expected about {nearest}");
        assert!(band_level(loudest) > 2.0, "{}", band_level(loudest));
        // Above the 7.6 kHz top band, nothing; far from the tone, quiet.
        assert!(band_level(79) < band_level(loudest) - 3.0);
    }

    /// tests/fixtures/wav2lip-mel.json: Wav2Lip's audio.py recipe run with librosa
    /// (scripts/lipsync/mel_reference.py).
    fn reference() -> serde_json::Value {
        serde_json::from_str(include_str!("../../../tests/fixtures/wav2lip-mel.json")).unwrap()
    }

    #[test]
    fn slaney_filters_match_librosa() {
        let r = reference();
        let f = mel_filters();
        for b in 0..MEL_BANDS {
            let peak = (0..BINS).max_by(|&x, &y| f[b][x].total_cmp(&f[b][y])).unwrap();
            assert_eq!(peak as u64, r["filter_peaks"][b].as_u64().unwrap(), "band {b}");
            let want = r["filter_peak_values"][b].as_f64().unwrap() as f32;
            assert!((f[b][peak] - want).abs() < 1e-4 * want.max(1.0), "band {b}: {} vs {want}", f[b][peak]);
        }
    }

    #[test]
    fn the_stream_gives_wav2lips_mel_columns() {
        // The reference's sound, made at 48 kHz as the renderer does, pushed a frame at a time.
        let sound = |t: f64| {
            let pi2 = 2.0 * std::f64::consts::PI;
            let carrier = 0.3 * (pi2 * 440.0 * t).sin() + 0.2 * (pi2 * 1500.0 * t + 0.3).sin() + 0.15 * (pi2 * (200.0 * t + 2400.0 * t * t)).sin();
            carrier * (0.6 + 0.4 * (pi2 * 3.0 * t).sin())
        };
        let samples: Vec<i16> = (0..48_000).map(|i| (sound(i as f64 / 48_000.0) * 32767.0).round() as i16).collect();
        let mut m = StreamingMel::new();
        for chunk in samples.chunks(1920) {
            m.push(chunk);
        }
        let r = reference();
        let (mut worst, mut sum, mut n) = (0f32, 0f32, 0);
        for (k, c) in r["columns"].as_array().unwrap().iter().enumerate() {
            let c = c.as_u64().unwrap();
            let ours = m.column_at(c).unwrap_or_else(|| panic!("column {c} not made"));
            for (b, want) in r["mel"][k].as_array().unwrap().iter().enumerate() {
                let want = want.as_f64().unwrap() as f32;
                // Bands with sound in them; the near-empty ones differ only in the
                // resamplers' noise floors.
                if want > -3.0 {
                    let d = (ours[b] - want).abs();
                    worst = worst.max(d);
                    sum += d;
                    n += 1;
                }
            }
        }
        let mean = sum / n as f32;
        assert!(n > 250, "{n} values compared");
        eprintln!("mel against Wav2Lip/librosa: worst {worst:.4}, mean {mean:.5} over {n} values");
        assert!(worst < 0.1 && mean < 0.02, "mel differs from Wav2Lip's: worst {worst:.3}, mean {mean:.4} over {n} values");
    }
}
