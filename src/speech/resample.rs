//! Fixed-ratio windowed-sinc resampler (polyphase): Piper voices speak at 22050 Hz,
//! the stream carries 48 kHz. Runs once per utterance, off the render path.

use std::f64::consts::PI;

pub struct Resampler {
    up: usize,   // L: output rate / gcd
    down: usize, // M: input rate / gcd
    half_taps: usize,
    /// `up` phases of `2 * half_taps` coefficients each.
    table: Vec<f32>,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn sinc(x: f64) -> f64 {
    if x.abs() < 1e-12 { 1.0 } else { (PI * x).sin() / (PI * x) }
}

impl Resampler {
    pub fn new(input_rate: u32, output_rate: u32) -> Resampler {
        let g = gcd(input_rate as usize, output_rate as usize);
        let (up, down) = (output_rate as usize / g, input_rate as usize / g);
        let half_taps = 16;
        // Cut-off just below the lower of the two Nyquist frequencies, in input cycles/sample.
        let cutoff = 0.5 * 0.94 * (output_rate as f64 / input_rate as f64).min(1.0);
        let mut table = Vec::with_capacity(up * 2 * half_taps);
        for phase in 0..up {
            let frac = phase as f64 / up as f64;
            let start = table.len();
            for k in 0..2 * half_taps {
                // Distance from the output instant to input sample (base - half_taps + 1 + k).
                let u = k as f64 - (half_taps as f64 - 1.0) - frac;
                let w = u / half_taps as f64; // -1..1
                let blackman = 0.42 + 0.5 * (PI * w).cos() + 0.08 * (2.0 * PI * w).cos();
                table.push((2.0 * cutoff * sinc(2.0 * cutoff * u) * blackman) as f32);
            }
            // Unity gain at DC for every phase.
            let sum: f32 = table[start..].iter().sum();
            table[start..].iter_mut().for_each(|c| *c /= sum);
        }
        Resampler { up, down, half_taps, table }
    }

    pub fn output_len(&self, input_len: usize) -> usize {
        (input_len * self.up).div_ceil(self.down)
    }

    pub fn process(&self, input: &[f32]) -> Vec<f32> {
        let n_out = self.output_len(input.len());
        let taps = 2 * self.half_taps;
        // Zeros on both sides: every output is one straight dot product, no bounds
        // checks, which the compiler vectorizes (8 lanes at a time).
        let mut padded = vec![0.0f32; input.len() + 2 * taps];
        padded[taps..taps + input.len()].copy_from_slice(input);
        let mut out = Vec::with_capacity(n_out);
        for n in 0..n_out {
            let pos = n * self.down;
            let phase = pos % self.up;
            let coeffs = &self.table[phase * taps..(phase + 1) * taps];
            // Input sample (pos / up - half_taps + 1 + k) sits at padded index + taps.
            let first = pos / self.up + taps + 1 - self.half_taps;
            let window = &padded[first..first + taps];
            let mut lanes = [0.0f32; 8];
            for (c, x) in coeffs.chunks_exact(8).zip(window.chunks_exact(8)) {
                for j in 0..8 {
                    lanes[j] += c[j] * x[j];
                }
            }
            out.push(lanes.iter().sum());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_keeps_frequency_and_level() {
        let (fin, fout, tone) = (22050.0f64, 48000.0f64, 1000.0f64);
        let input: Vec<f32> = (0..22050).map(|i| (2.0 * PI * tone * i as f64 / fin).sin() as f32 * 0.5).collect();
        let r = Resampler::new(22050, 48000);
        let out = r.process(&input);
        assert_eq!(out.len(), 48000);
        // Compare against the ideal sine away from the edges.
        let mut max_err = 0.0f64;
        for n in 1000..47000 {
            let ideal = (2.0 * PI * tone * n as f64 / fout).sin() * 0.5;
            max_err = max_err.max((out[n] as f64 - ideal).abs());
        }
        assert!(max_err < 0.005, "max error {max_err}");
    }

    #[test]
    fn content_above_output_nyquist_is_removed_when_downsampling() {
        let input: Vec<f32> = (0..48000).map(|i| (2.0 * PI * 15000.0 * i as f64 / 48000.0).sin() as f32).collect();
        let out = Resampler::new(48000, 16000).process(&input);
        let rms = (out[200..15800].iter().map(|v| (v * v) as f64).sum::<f64>() / 15600.0).sqrt();
        assert!(rms < 0.02, "alias rms {rms}");
    }
}
