//! What the encoder hands the outputs: packets of its tracks, and the gate that
//! starts an output's session on a keyframe.

use gstreamer as gst;

/// An encoded track of the one encode (pipelines/encode.gst).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// Annex B access units, SPS/PPS before every keyframe.
    H264,
    /// ADTS frames.
    Aac,
    /// Opus packets, for WebRTC viewers only.
    Opus,
}

#[derive(Debug, Clone)]
pub enum Packet {
    Media(Track, gst::Buffer),
    /// The stream is over: finish cleanly (finalize files, close connections).
    End,
}

impl Packet {
    pub fn is_keyframe(track: Track, buffer: &gst::BufferRef) -> bool {
        track == Track::H264 && !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT)
    }
}

/// Lets a session start (and restart after a drop) on a keyframe: video waits for
/// one, audio for the keyframe's time, so every track starts together and the
/// timestamps the server sees only go forward. Audio comes out of its encoder
/// sooner than video, so audio that arrives before the keyframe is held, not lost.
#[derive(Debug, Default)]
pub struct KeyframeGate {
    from_ns: Option<u64>,
    held: std::collections::VecDeque<(Track, gst::Buffer)>,
}

/// Audio held while waiting for a keyframe (more than a keyframe interval).
const GATE_HOLD: usize = 256;

fn pts_ns(buffer: &gst::BufferRef) -> u64 {
    buffer.pts().map(|t| t.nseconds()).unwrap_or(0)
}

impl KeyframeGate {
    pub fn reset(&mut self) {
        self.from_ns = None;
        self.held.clear();
    }

    /// Takes one packet; appends to `out` what may go out now, in order per track.
    pub fn pass(&mut self, track: Track, buffer: gst::Buffer, out: &mut Vec<(Track, gst::Buffer)>) {
        match self.from_ns {
            Some(from) => {
                if track == Track::H264 || pts_ns(&buffer) >= from {
                    out.push((track, buffer));
                }
            }
            None if Packet::is_keyframe(track, &buffer) => {
                let from = pts_ns(&buffer);
                self.from_ns = Some(from);
                out.push((track, buffer));
                out.extend(self.held.drain(..).filter(|(_, b)| pts_ns(b) >= from));
            }
            None if track != Track::H264 => {
                if self.held.len() == GATE_HOLD {
                    self.held.pop_front();
                }
                self.held.push_back((track, buffer));
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(pts_ms: u64, key: bool) -> gst::Buffer {
        let mut b = gst::Buffer::new();
        let r = b.get_mut().unwrap();
        r.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        if !key {
            r.set_flags(gst::BufferFlags::DELTA_UNIT);
        }
        b
    }

    #[test]
    fn a_session_starts_on_a_keyframe_with_audio_from_its_time() {
        gst::init().unwrap();
        let mut gate = KeyframeGate::default();
        let mut out = Vec::new();
        let mut pass = |gate: &mut KeyframeGate, track, ms, key| {
            out.clear();
            gate.pass(track, buffer(ms, key), &mut out);
            out.iter().map(|(t, b)| (*t, b.pts().unwrap().mseconds())).collect::<Vec<_>>()
        };
        // Audio from before the keyframe is held; the part from the keyframe's time on
        // goes out with it.
        assert_eq!(pass(&mut gate, Track::Aac, 960, true), vec![]);
        assert_eq!(pass(&mut gate, Track::Aac, 1010, true), vec![]);
        assert_eq!(pass(&mut gate, Track::H264, 960, false), vec![]);
        assert_eq!(pass(&mut gate, Track::H264, 1000, true), vec![(Track::H264, 1000), (Track::Aac, 1010)]);
        assert_eq!(pass(&mut gate, Track::Aac, 979, true), vec![]);
        assert_eq!(pass(&mut gate, Track::Aac, 1031, true), vec![(Track::Aac, 1031)]);
        assert_eq!(pass(&mut gate, Track::H264, 1040, false), vec![(Track::H264, 1040)]);
        gate.reset();
        assert_eq!(pass(&mut gate, Track::H264, 1080, false), vec![]);
        assert_eq!(pass(&mut gate, Track::H264, 2000, true), vec![(Track::H264, 2000)]);
    }
}
