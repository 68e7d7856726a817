//! Reading a run's log: colour codes out, and what its lines say about the run.

/// A log line without its terminal colour codes.
pub fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // ESC [ parameters m
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The renderer kept time: a network output that blocks it would make frames seconds
/// late, while a busy 2-core CI machine may make a frame or two a few tens of ms late.
/// Reads the "N late frames (worst X ms late), M pictures repeated" that a live
/// run ends with.
pub fn assert_renderer_kept_time(log: &str) {
    let done = log.lines().find(|l| l.starts_with("done:")).unwrap_or_else(|| panic!("no done line: {log}"));
    let number_before = |suffix: &str| -> f64 {
        let head = &done[..done.find(suffix).unwrap_or_else(|| panic!("no '{suffix}' in {done}"))];
        head.rsplit(|c: char| c == ' ' || c == '(').next().unwrap().parse().unwrap()
    };
    let frames = number_before(" frames)");
    let late = number_before(" late frames");
    let worst = number_before(" ms late)");
    let repeated = number_before(" pictures repeated");
    assert!(late <= (frames / 100.0).max(3.0) && worst < 400.0 && repeated <= (frames / 100.0).max(3.0), "the renderer fell behind: {done}");
}

/// The log (ANSI colours taken out) of a run whose output `kind` (as its name in the
/// log begins: `SRT`, `WHIP`) went live, failed saying `lost` and was retried, and
/// went live again.
pub fn assert_came_back(log: &str, kind: &str, lost: &str) -> Vec<String> {
    let lines: Vec<String> = log.lines().map(strip_ansi).collect();
    let live = lines.iter().filter(|l| l.contains("output live") && l.contains(&format!("output={kind}"))).count();
    assert_eq!(live, 2, "live, lost, live again: {log}");
    assert!(lines.iter().any(|l| l.contains(lost) && l.contains("retrying in")), "no `{lost}` retried: {log}");
    lines
}
