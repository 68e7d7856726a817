//! Latency marker: the wall-clock time at render (milliseconds, low 32 bits) drawn as
//! 2 rows of 16 black/white blocks in the top-right corner. A player reads it back
//! from the decoded picture and compares it with its own clock: glass-to-glass
//! latency (the player page does this with `?latency`, benches/webrtc_latency.rs
//! reports it). Off unless `video.latency_marker = true`.

/// Block edge in pixels: large enough to survive H.264 at streaming bitrates.
pub const BLOCK: u32 = 12;
pub const COLUMNS: u32 = 16;

pub fn now_ms() -> u32 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_millis() as u32
}

/// Top-left corner of the marker in a frame `width` wide.
pub fn origin(width: u32) -> (u32, u32) {
    (width.saturating_sub(COLUMNS * BLOCK), 0)
}

/// Draws `value` into an RGBA frame; bit 0 is the top-left block.
pub fn draw(rgba: &mut [u8], width: u32, value: u32) {
    let (x0, y0) = origin(width);
    for bit in 0..32 {
        let level = if value >> bit & 1 == 1 { 255 } else { 0 };
        let (bx, by) = (x0 + (bit % COLUMNS) * BLOCK, y0 + (bit / COLUMNS) * BLOCK);
        for y in by..by + BLOCK {
            let row = ((y * width + bx) * 4) as usize;
            for px in rgba[row..row + (BLOCK * 4) as usize].chunks_exact_mut(4) {
                px.copy_from_slice(&[level, level, level, 255]);
            }
        }
    }
}

/// Reads the value back from the block centres (the player does the same in JS).
pub fn read(rgba: &[u8], width: u32) -> u32 {
    let (x0, y0) = origin(width);
    (0..32).fold(0u32, |v, bit| {
        let (x, y) = (x0 + (bit % COLUMNS) * BLOCK + BLOCK / 2, y0 + (bit / COLUMNS) * BLOCK + BLOCK / 2);
        let g = rgba[((y * width + x) * 4 + 1) as usize];
        v | (u32::from(g > 127) << bit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drawn_time_reads_back() {
        let width = 320;
        let mut frame = vec![90u8; (width * 40 * 4) as usize];
        for value in [0, 1, 0xdead_beef, u32::MAX, now_ms()] {
            draw(&mut frame, width, value);
            assert_eq!(read(&frame, width), value);
        }
    }
}
