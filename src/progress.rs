//! One progress bar on stderr for the long offline commands (render, avatar import,
//! avatar train), redrawn in place.

use std::io::Write;

const WIDTH: usize = 30;

/// Draws `prefix [#####.....] detail`; without a known fraction, `prefix detail`.
pub fn draw(prefix: &str, fraction: Option<f64>, detail: &str) {
    let mut err = std::io::stderr().lock();
    let sep = if prefix.is_empty() { "" } else { " " };
    let _ = match fraction {
        Some(f) => {
            let filled = ((f.clamp(0.0, 1.0) * WIDTH as f64) as usize).min(WIDTH);
            write!(err, "\r{prefix}{sep}[{}{}] {detail}  ", "#".repeat(filled), ".".repeat(WIDTH - filled))
        }
        None => write!(err, "\r{prefix}{sep}{detail}  "),
    };
    let _ = err.flush();
}

/// Ends the bar's line.
pub fn done() {
    eprintln!();
}

/// "1 h 05 min", "4 min 10 s", "12 s".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}
