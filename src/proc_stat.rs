//! A process's figures from Linux's /proc: CPU ticks, peak memory, age.

/// CPU ticks of /proc's stat per second (USER_HZ on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// The fields of /proc/PID/stat after the command name (which may hold spaces, in
/// parentheses): field 3 of the man page is the first.
fn stat_fields(pid: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat[stat.rfind(')')? + 2..].split_whitespace().map(str::to_string).collect())
}

/// (user + system CPU ticks, peak resident kB) of a running process.
pub fn sample(pid: u32) -> Option<(u64, u64)> {
    let fields = stat_fields(&pid.to_string())?;
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let peak = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((ticks, peak))
}

/// Seconds since this process started: its start time (ticks since boot) against
/// the uptime.
pub fn age_seconds() -> Option<f64> {
    let start_ticks: f64 = stat_fields("self")?.get(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime").ok()?.split_whitespace().next()?.parse().ok()?;
    Some(uptime - start_ticks / TICKS_PER_SECOND)
}
