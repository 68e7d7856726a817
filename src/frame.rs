//! The video frame's size, as the config gives it and every stage draws to.

use std::fmt;

use serde::Deserialize;

/// Width and height in pixels, both even (I420 halves them for chroma).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSize {
    pub width: u32,
    pub height: u32,
}

impl FrameSize {
    /// Bytes of an I420 frame of this size: luma, then two quarter-size chroma planes.
    pub fn i420_len(self) -> usize {
        let luma = (self.width * self.height) as usize;
        luma + luma / 2
    }
}

impl<'de> Deserialize<'de> for FrameSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for FrameSize {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not a size: write WIDTHxHEIGHT with even numbers from 64 to 4096, e.g. \"720x1280\"");
        let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
        let (width, height): (u32, u32) = (w.trim().parse().map_err(|_| bad())?, h.trim().parse().map_err(|_| bad())?);
        let ok = |v: u32| (64..=4096).contains(&v) && v % 2 == 0;
        if !ok(width) || !ok(height) {
            return Err(bad());
        }
        Ok(FrameSize { width, height })
    }
}

impl fmt::Display for FrameSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_even_and_in_range() {
        assert!("721x1280".parse::<FrameSize>().is_err());
        assert!("big".parse::<FrameSize>().is_err());
        assert_eq!("1280x720".parse::<FrameSize>().unwrap(), FrameSize { width: 1280, height: 720 });
        assert_eq!(FrameSize { width: 720, height: 1280 }.i420_len(), 720 * 1280 * 3 / 2);
    }
}
