//! Word-synced captions: the sentence on air, two lines at most, the word being
//! spoken highlighted. Redrawn only when the word changes.

use anyhow::Result;

use super::card::xml_escape;
use crate::frame::FrameSize;
use crate::raster::{self, Placed};

/// Breaks `text` into lines of at most `max_chars`, keeping each word's index.
/// Text without spaces (Chinese) breaks anywhere.
pub fn wrap(text: &str, max_chars: usize) -> Vec<Vec<(usize, String)>> {
    let mut lines: Vec<Vec<(usize, String)>> = vec![Vec::new()];
    let mut len = 0;
    for (i, word) in text.split_whitespace().enumerate() {
        let chunks: Vec<String> = if word.chars().count() > max_chars {
            word.chars().collect::<Vec<_>>().chunks(max_chars).map(|c| c.iter().collect()).collect()
        } else {
            vec![word.to_string()]
        };
        for chunk in chunks {
            let n = chunk.chars().count();
            if len > 0 && len + 1 + n > max_chars {
                lines.push(Vec::new());
                len = 0;
            }
            len += n + usize::from(len > 0);
            lines.last_mut().expect("a line").push((i, chunk));
        }
    }
    lines
}

pub fn render(size: FrameSize, text: &str, word: usize, y_center: f32) -> Result<Placed> {
    let s = (size.width as f32 / 720.0).min(size.height as f32 / 1280.0);
    let font = 34.0 * s;
    let box_w = size.width as f32 * 0.9;
    let cjk = text.chars().any(|c| ('\u{3000}'..='\u{9fff}').contains(&c));
    let max_chars = ((box_w - 40.0 * s) / (font * if cjk { 1.0 } else { 0.56 })) as usize;
    let lines = wrap(text, max_chars.max(8));
    // Two lines: the one with the current word and the next.
    let at = lines.iter().position(|l| l.iter().any(|(i, _)| *i >= word)).unwrap_or(0);
    let shown = &lines[at..lines.len().min(at + 2)];
    let line_h = font * 1.35;
    let box_h = line_h * shown.len() as f32 + 24.0 * s;
    let mut body = String::new();
    for (li, line) in shown.iter().enumerate() {
        let y = 12.0 * s + line_h * (li as f32 + 1.0) - font * 0.3;
        body.push_str(&format!(
            r##"<text x="{}" y="{y}" text-anchor="middle" font-family="DejaVu Sans, WenQuanYi Micro Hei, sans-serif" font-size="{font}" fill="#ffffff">"##,
            box_w / 2.0
        ));
        for (k, (i, w)) in line.iter().enumerate() {
            let sep = if k > 0 && !cjk { " " } else { "" };
            let fill = if *i == word { "#ffd43b" } else { "#ffffff" };
            body.push_str(&format!(r##"<tspan fill="{fill}">{sep}{}</tspan>"##, xml_escape(w)));
        }
        body.push_str("</text>");
    }
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{box_w}" height="{box_h}"><rect width="{box_w}" height="{box_h}" rx="{}" fill="#000000" fill-opacity="0.55"/>{body}</svg>"##,
        14.0 * s
    );
    let tree = raster::parse_svg(svg.as_bytes(), "captions")?;
    let pixmap = raster::render_svg(&tree, box_w.ceil() as u32, box_h.ceil() as u32, 1.0, 0.0, 0.0)?;
    Ok(Placed { x: ((size.width as f32 - box_w) / 2.0) as i32, y: (y_center - box_h / 2.0) as i32, pixmap })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_word_indices() {
        let lines = wrap("one two three four five", 9);
        let idx: Vec<Vec<usize>> = lines.iter().map(|l| l.iter().map(|(i, _)| *i).collect()).collect();
        assert_eq!(idx, vec![vec![0, 1], vec![2], vec![3, 4]]);
        let zh = wrap("今天特价大家快来买", 4);
        assert_eq!(zh.len(), 3);
    }
}
