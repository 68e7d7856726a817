//! The show: segments from the show file that loop forever (product pitches in
//! rotating variants, fixed texts), cut into sentences with pauses between them.
//! Each sentence is one unit of speech, carrying the markup cues of its words.

pub mod director;
pub mod file;
pub mod lines;
pub mod markup;
pub mod moderation;
pub mod transcript;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use file::{Order, ShowFile};
use crate::cue::Cue;
use markup::Piece;

#[derive(Debug, Clone, PartialEq)]
pub enum ShowItem {
    /// A sentence; `product` is the product id ("" outside product segments); cues
    /// are pinned to word indices.
    /// `audio`: a recorded line played instead (`text` is its caption).
    Say { text: String, product: String, cues: Vec<(usize, Cue)>, voice: Option<String>, audio: Option<std::path::PathBuf> },
    Pause { ms: u32 },
}

/// Small xorshift generator for shuffling and variant choice.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// An endless walk through the show file.
pub struct Show {
    pub file: Arc<ShowFile>,
    round: Vec<usize>,
    pos: usize,
    last_segment: Option<usize>,
    last_variant: HashMap<String, usize>,
    pending: VecDeque<ShowItem>,
    rng: Rng,
    pub loops_completed: u64,
}

impl Show {
    pub fn new(file: Arc<ShowFile>, seed: u64) -> Show {
        Show {
            file,
            round: Vec::new(),
            pos: 0,
            last_segment: None,
            last_variant: HashMap::new(),
            pending: VecDeque::new(),
            rng: Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1),
            loops_completed: 0,
        }
    }

    fn next_segment(&mut self) -> usize {
        if self.pos >= self.round.len() {
            if !self.round.is_empty() {
                self.loops_completed += 1;
            }
            self.round = (0..self.file.segments.len()).collect();
            if self.file.order == Order::Shuffle {
                for i in (1..self.round.len()).rev() {
                    let j = self.rng.below(i + 1);
                    self.round.swap(i, j);
                }
                // Never the same segment twice in a row across rounds.
                if self.round.len() > 1 && self.round.first() == self.last_segment.as_ref() {
                    self.round.swap(0, 1);
                }
            }
            self.pos = 0;
        }
        let seg = self.round[self.pos];
        self.pos += 1;
        self.last_segment = Some(seg);
        seg
    }

    /// Expands a segment into sentences and pauses.
    fn expand(&mut self, seg: usize) {
        let def = &self.file.segments[seg];
        let voice = def.voice.clone().or_else(|| self.file.voice.clone());
        if let Some(audio) = &def.audio {
            let caption = def.text.clone().unwrap_or_default();
            self.pending.push_back(ShowItem::Say { text: caption, product: String::new(), cues: Vec::new(), voice, audio: Some(audio.clone()) });
            self.pending.push_back(ShowItem::Pause { ms: self.file.segment_pause_ms });
            return;
        }
        let (text, product) = match (&def.product, &def.text) {
            (Some(id), _) => {
                let p = self.file.product(id).expect("validated product id");
                let n = p.pitches.len();
                let last = self.last_variant.get(id).copied();
                // A different variant than last time, when there is one.
                let mut v = self.rng.below(n);
                if n > 1 && Some(v) == last {
                    v = (v + 1 + self.rng.below(n - 1)) % n;
                }
                self.last_variant.insert(id.clone(), v);
                (p.pitches[v].clone(), id.clone())
            }
            (None, Some(t)) => (t.clone(), String::new()),
            (None, None) => return,
        };
        let pieces = markup::parse(&text).unwrap_or_default();
        for piece in pieces {
            match piece {
                Piece::Sentence(s) => {
                    self.pending.push_back(ShowItem::Say { text: s.text, product: product.clone(), cues: s.cues, voice: voice.clone(), audio: None });
                    self.pending.push_back(ShowItem::Pause { ms: self.file.sentence_pause_ms });
                }
                Piece::Pause { ms } => {
                    // An explicit pause replaces the sentence pause before it.
                    if let Some(ShowItem::Pause { ms: last }) = self.pending.back_mut() {
                        *last = ms;
                    } else {
                        self.pending.push_back(ShowItem::Pause { ms });
                    }
                }
            }
        }
        // The segment pause replaces the last sentence pause.
        match self.pending.back_mut() {
            Some(ShowItem::Pause { ms }) => *ms = (*ms).max(self.file.segment_pause_ms),
            _ => self.pending.push_back(ShowItem::Pause { ms: self.file.segment_pause_ms }),
        }
    }
}

impl Iterator for Show {
    type Item = ShowItem;
    fn next(&mut self) -> Option<ShowItem> {
        while self.pending.is_empty() {
            let seg = self.next_segment();
            self.expand(seg);
        }
        self.pending.pop_front()
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

    #[test]
    fn sentences_keep_prices_whole() {
        assert_eq!(
            split_sentences("Only $19.99 today!  Grab it now. Really?! Yes"),
            vec!["Only $19.99 today!", "Grab it now.", "Really?!", "Yes"]
        );
        assert_eq!(split_sentences("好的。今天特价！"), vec!["好的。", "今天特价！"]);
    }

    fn file(order: &str) -> Arc<ShowFile> {
        Arc::new(
            ShowFile::parse(&format!(
                r#"order = "{order}"
sentence_pause_ms = 400
segment_pause_ms = 1500
[[products]]
id = "a"
name = "A"
pitches = ["One. [card show]Two.", "Uno. Dos.", "Eins. Zwei."]
[[segments]]
text = "Hello."
[[segments]]
product = "a"
[[segments]]
text = "Bye. [pause 2s]"
"#
            ))
            .unwrap(),
        )
    }

    #[test]
    fn show_loops_forever_with_pauses_and_cues() {
        let mut show = Show::new(file("sequential"), 1);
        let first: Vec<_> = show.by_ref().take(2).collect();
        assert_eq!(first[0], ShowItem::Say { text: "Hello.".into(), product: String::new(), cues: vec![], voice: None, audio: None });
        assert_eq!(first[1], ShowItem::Pause { ms: 1500 });
        let pitch: Vec<_> = show.by_ref().take(4).collect();
        assert!(matches!(&pitch[0], ShowItem::Say { product, .. } if product == "a"));
        assert_eq!(pitch[1], ShowItem::Pause { ms: 400 });
        assert_eq!(pitch[3], ShowItem::Pause { ms: 1500 });
        let bye: Vec<_> = show.by_ref().take(2).collect();
        assert_eq!(bye[1], ShowItem::Pause { ms: 2000 });
        assert_eq!(show.next(), Some(ShowItem::Say { text: "Hello.".into(), product: String::new(), cues: vec![], voice: None, audio: None }));
        assert_eq!(show.loops_completed, 1);
    }

    #[test]
    fn variants_never_repeat_back_to_back() {
        let mut show = Show::new(file("shuffle"), 9);
        let mut firsts = Vec::new();
        for item in show.by_ref().take(400) {
            if let ShowItem::Say { text, .. } = item {
                if ["One.", "Uno.", "Eins."].contains(&text.as_str()) {
                    firsts.push(text.clone());
                }
            }
        }
        assert!(firsts.len() > 10);
        assert!(firsts.windows(2).all(|w| w[0] != w[1]), "{firsts:?}");
        assert!(firsts.iter().any(|f| f == "Uno.") && firsts.iter().any(|f| f == "Eins."));
    }
}
