//! The stream's audio: 48 kHz mono, 16-bit. Every stage that counts samples counts
//! them at this rate (the media clock stamps audio by its sample counter).

/// The stream's audio rate; sample timings after speech are in samples of it.
pub const OUTPUT_RATE: u32 = 48_000;
