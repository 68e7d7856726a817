//! The show: product pitches that loop forever, cut into sentences with pauses
//! between them. Each sentence is one unit of speech.

pub mod director;
pub mod lines;
pub mod moderation;
pub mod transcript;

use crate::config::ShowConfig;

#[derive(Debug, Clone, PartialEq)]
pub enum ShowItem {
    Say { text: String, product: String },
    Pause { ms: u32 },
}

/// An endless walk through the show script.
pub struct Show {
    items: Vec<ShowItem>,
    next: usize,
    pub loops_completed: u64,
}

impl Show {
    pub fn new(config: &ShowConfig) -> Show {
        let mut items = Vec::new();
        for pitch in &config.pitches {
            for sentence in split_sentences(&pitch.text) {
                items.push(ShowItem::Say { text: sentence, product: pitch.product.clone() });
                items.push(ShowItem::Pause { ms: config.sentence_pause_ms });
            }
            // The pitch pause replaces the last sentence pause.
            if let Some(ShowItem::Pause { ms }) = items.last_mut() {
                *ms = config.pitch_pause_ms;
            }
        }
        Show { items, next: 0, loops_completed: 0 }
    }
}

impl Iterator for Show {
    type Item = ShowItem;
    fn next(&mut self) -> Option<ShowItem> {
        let item = self.items[self.next].clone();
        self.next += 1;
        if self.next == self.items.len() {
            self.next = 0;
            self.loops_completed += 1;
        }
        Some(item)
    }
}

/// Splits text at sentence ends (. ! ? and their CJK forms) followed by a space or the
/// end, so "$19.99" and "e.g.5" stay whole.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        current.push(c);
        let cjk_end = matches!(c, '。' | '！' | '？');
        let end = cjk_end || (matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()));
        if end {
            // Keep runs like "?!" and "..." together.
            while let Some(&n) = chars.peek() {
                if matches!(n, '.' | '!' | '?' | '"' | '\'' | ')' | '”') {
                    current.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            push_trimmed(&mut out, &mut current);
        }
    }
    push_trimmed(&mut out, &mut current);
    out
}

fn push_trimmed(out: &mut Vec<String>, current: &mut String) {
    let s = current.split_whitespace().collect::<Vec<_>>().join(" ");
    if !s.is_empty() {
        out.push(s);
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PitchConfig;

    #[test]
    fn sentences_keep_prices_whole() {
        assert_eq!(
            split_sentences("Only $19.99 today!  Grab it now. Really?! Yes"),
            vec!["Only $19.99 today!", "Grab it now.", "Really?!", "Yes"]
        );
        assert_eq!(split_sentences("好的。今天特价！"), vec!["好的。", "今天特价！"]);
    }

    #[test]
    fn show_loops_forever_with_pauses() {
        let config = ShowConfig {
            sentence_pause_ms: 400,
            pitch_pause_ms: 1500,
            transcript: Default::default(),
            pitches: vec![
                PitchConfig { product: "A".into(), text: "One. Two.".into() },
                PitchConfig { product: "B".into(), text: "Three.".into() },
            ],
        };
        let mut show = Show::new(&config);
        let first: Vec<_> = show.by_ref().take(6).collect();
        assert_eq!(first[0], ShowItem::Say { text: "One.".into(), product: "A".into() });
        assert_eq!(first[1], ShowItem::Pause { ms: 400 });
        assert_eq!(first[3], ShowItem::Pause { ms: 1500 });
        assert_eq!(first[5], ShowItem::Pause { ms: 1500 });
        assert_eq!(show.loops_completed, 1);
        assert_eq!(show.next(), Some(ShowItem::Say { text: "One.".into(), product: "A".into() }));
    }
}
