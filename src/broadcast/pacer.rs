//! Live pacing: when a frame is made, and what happens to one whose turn comes late.
//! Clock-free: the caller passes the pipeline clock's `now`.

use std::time::Duration;

/// Frames are made up to this many frame durations before they are due. The hand-off
/// to the encoder holds them, so a short stall of the machine (a channel beside this
/// one starting, the kernel writing back files) is absorbed without a late frame;
/// 240 ms on the way out is nothing beside an ingest's seconds. Six channels on two
/// cores: 3 frames made 53 late frames in one machine-wide stall, 6 made 20.
pub const LEAD_FRAMES: u64 = 6;
/// A frame whose due time passed more than this many frame durations ago when its
/// turn comes is not drawn: the last picture goes out again in its place (x264 codes
/// a repeat for almost nothing) and its sound goes out, so a machine short of CPU
/// keeps the stream on time, on a constant frame grid, instead of drifting behind.
pub const REPEAT_BEHIND_FRAMES: u64 = 2;

/// What to do with the frame whose turn it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    OnTime,
    /// Drawn and sent, but after its presentation time.
    Late { by_ns: u64 },
    /// Too far behind: the last picture is repeated in its place, its sound goes out.
    Repeat,
}

/// A change worth one log line: an overload episode starts or ends. An episode ends
/// after a second with nothing repeated, so a machine at its limit logs one warning
/// and one summary, not one line per frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Episode {
    FellBehind { frame: u64 },
    BackOnTime { frame: u64, repeated: u64, seconds: f64 },
}

pub struct Pacer {
    frame_ns: u64,
    fps: u64,
    /// Since the stream fell behind: first and last frame repeated, frames repeated.
    behind: Option<(u64, u64, u64)>,
}

impl Pacer {
    pub fn new(fps: u32) -> Pacer {
        Pacer { frame_ns: 1_000_000_000 / fps as u64, fps: fps as u64, behind: None }
    }

    /// When the frame due at `pts_ns` may be made (pipeline running time).
    pub fn make_at(&self, pts_ns: u64) -> u64 {
        pts_ns.saturating_sub(LEAD_FRAMES * self.frame_ns)
    }

    /// How long drawing may take before the renderer cuts corners (a video pack's
    /// mouth may take most of a frame).
    pub fn render_budget(&self) -> Duration {
        Duration::from_nanos(self.frame_ns * 3 / 4)
    }

    /// Judges `frame`, due at `pts_ns`, whose turn comes at `now_ns` (None: the
    /// pipeline clock is not running yet, so nothing is late).
    pub fn judge(&mut self, frame: u64, pts_ns: u64, now_ns: Option<u64>) -> (Verdict, Option<Episode>) {
        if now_ns.is_some_and(|now| now > pts_ns + REPEAT_BEHIND_FRAMES * self.frame_ns) {
            let (first, last, repeated) = self.behind.get_or_insert((frame, frame, 0));
            let episode = (*repeated == 0).then_some(Episode::FellBehind { frame: *first });
            (*last, *repeated) = (frame, *repeated + 1);
            return (Verdict::Repeat, episode);
        }
        let episode = self.behind.take_if(|&mut (_, last, _)| frame - last >= self.fps).map(|(first, last, repeated)| {
            Episode::BackOnTime { frame, repeated, seconds: (last + 1 - first) as f64 / self.fps as f64 }
        });
        let verdict = match now_ns {
            Some(now) if now > pts_ns + self.frame_ns => Verdict::Late { by_ns: now - pts_ns },
            _ => Verdict::OnTime,
        };
        (verdict, episode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    /// Frame n of a 25 fps stream is due at n * 40 ms.
    fn due(n: u64) -> u64 {
        n * 40 * MS
    }

    #[test]
    fn frames_are_made_ahead_and_on_time_before_their_due_time() {
        let mut p = Pacer::new(25);
        assert_eq!(p.make_at(due(100)), due(100 - LEAD_FRAMES));
        assert_eq!(p.make_at(due(2)), 0);
        assert_eq!(p.render_budget(), Duration::from_millis(30));
        assert_eq!(p.judge(100, due(100), Some(due(94))), (Verdict::OnTime, None));
        // Within one frame duration of its time a frame still counts as on time.
        assert_eq!(p.judge(101, due(101), Some(due(101) + 40 * MS)), (Verdict::OnTime, None));
        assert_eq!(p.judge(0, 0, None), (Verdict::OnTime, None));
    }

    #[test]
    fn a_frame_more_than_a_frame_behind_is_late() {
        let mut p = Pacer::new(25);
        assert_eq!(p.judge(10, due(10), Some(due(10) + 41 * MS)), (Verdict::Late { by_ns: 41 * MS }, None));
        // Up to REPEAT_BEHIND_FRAMES behind it is still drawn.
        assert_eq!(p.judge(11, due(11), Some(due(13))), (Verdict::Late { by_ns: 80 * MS }, None));
    }

    #[test]
    fn frames_too_far_behind_are_repeated_with_one_warning_per_episode() {
        let mut p = Pacer::new(25);
        assert_eq!(p.judge(20, due(20), Some(due(23))), (Verdict::Repeat, Some(Episode::FellBehind { frame: 20 })));
        assert_eq!(p.judge(21, due(21), Some(due(24))), (Verdict::Repeat, None));
        assert_eq!(p.judge(22, due(22), Some(due(25))), (Verdict::Repeat, None));
    }

    #[test]
    fn an_episode_ends_after_a_second_with_nothing_repeated() {
        let mut p = Pacer::new(25);
        for n in 20..30 {
            p.judge(n, due(n), Some(due(n + 3)));
        }
        // Caught up, but less than a second since the last repeat: no summary yet.
        assert_eq!(p.judge(30, due(30), Some(due(25))), (Verdict::OnTime, None));
        assert_eq!(p.judge(53, due(53), Some(due(50))), (Verdict::OnTime, None));
        let back = Episode::BackOnTime { frame: 54, repeated: 10, seconds: 0.4 };
        assert_eq!(p.judge(54, due(54), Some(due(50))), (Verdict::OnTime, Some(back)));
        // The next repeat starts a new episode with its own warning.
        assert_eq!(p.judge(60, due(60), Some(due(63))), (Verdict::Repeat, Some(Episode::FellBehind { frame: 60 })));
    }
}
