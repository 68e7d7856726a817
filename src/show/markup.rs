//! Inline markup in show lines: `[pause 500ms]`, `[gesture NAME]`, `[background
//! NAME]`, `[card show]`, `[card hide]`, and `*emphasis*`. A line becomes sentences
//! (units of speech) with cues pinned to the word they precede, and pauses between.

use anyhow::{Result, bail};

use crate::cue::{Cue, Framing};

/// A sentence and the cues pinned to its words (index of the word they precede).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sentence {
    pub text: String,
    pub cues: Vec<(usize, Cue)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Sentence(Sentence),
    Pause { ms: u32 },
}

/// Parses a line of show text. Errors name the offending markup.
pub fn parse(line: &str) -> Result<Vec<Piece>> {
    let mut pieces = Vec::new();
    let mut cur = Sentence::default();
    let mut rest = line;
    // Index of the word a cue placed now precedes.
    let words = |cur: &Sentence| cur.text.split_whitespace().count();
    let flush = |cur: &mut Sentence, pieces: &mut Vec<Piece>| {
        let text = cur.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().any(|c| c.is_alphanumeric()) {
            pieces.push(Piece::Sentence(Sentence { text, cues: std::mem::take(&mut cur.cues) }));
        } else if !cur.cues.is_empty() {
            // Cues with no words after them fire with the next sentence.
            let carried = std::mem::take(&mut cur.cues);
            *cur = Sentence::default();
            cur.cues = carried.into_iter().map(|(_, c)| (0, c)).collect();
            return;
        }
        *cur = Sentence::default();
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else { bail!("unclosed `[` in markup: `{}`", clip(rest)) };
            let tag = after[..end].trim();
            rest = &after[end + 1..];
            let (name, arg) = tag.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((tag, ""));
            match (name, arg) {
                ("pause", ms) => {
                    let ms = parse_ms(ms).ok_or_else(|| anyhow::anyhow!("`[{tag}]`: write a pause as [pause 500ms] or [pause 1.5s]"))?;
                    flush(&mut cur, &mut pieces);
                    pieces.push(Piece::Pause { ms });
                }
                ("gesture", n) if !n.is_empty() => cur.cues.push((words(&cur), Cue::Gesture(n.to_string()))),
                ("background", n) if !n.is_empty() => cur.cues.push((words(&cur), Cue::Background(n.to_string()))),
                ("card", "show") => cur.cues.push((words(&cur), Cue::Card(true))),
                ("card", "hide") => cur.cues.push((words(&cur), Cue::Card(false))),
                ("framing", "full") => cur.cues.push((words(&cur), Cue::Framing(Framing::Full))),
                ("framing", "half") => cur.cues.push((words(&cur), Cue::Framing(Framing::Half))),
                ("emotion", e) => {
                    let emotion = serde_json::from_value(serde_json::Value::String(e.into()))
                        .map_err(|_| anyhow::anyhow!("`[{tag}]`: an emotion is one of happy, surprised, sad, angry, relaxed or neutral"))?;
                    cur.cues.push((words(&cur), Cue::Emotion(emotion)));
                }
                _ => bail!(
                    "unknown markup `[{tag}]`: use [pause 500ms], [gesture NAME], [background NAME], [card show], [card hide], [framing full], [framing half] or [emotion happy]"
                ),
            }
            continue;
        }
        let c = rest.chars().next().expect("non-empty");
        rest = &rest[c.len_utf8()..];
        match c {
            '*' => {
                // *word*: the opening star marks the next word.
                if !cur.text.ends_with(char::is_alphanumeric) {
                    cur.cues.push((words(&cur), Cue::Emphasis));
                }
            }
            c if c.is_whitespace() => cur.text.push(' '),
            c => {
                cur.text.push(c);
                let sentence_end = matches!(c, '。' | '！' | '？')
                    || (matches!(c, '.' | '!' | '?') && rest.chars().next().is_none_or(|n| n.is_whitespace() || n == '['));
                if sentence_end {
                    // Keep runs like "?!" together.
                    while let Some(n) = rest.chars().next().filter(|n| matches!(n, '.' | '!' | '?' | '"' | '\'' | ')' | '”')) {
                        cur.text.push(n);
                        rest = &rest[n.len_utf8()..];
                    }
                    flush(&mut cur, &mut pieces);
                }
            }
        }
    }
    flush(&mut cur, &mut pieces);
    Ok(pieces)
}

fn clip(s: &str) -> String {
    s.chars().take(30).collect()
}

fn parse_ms(s: &str) -> Option<u32> {
    let s = s.trim();
    let v = if let Some(ms) = s.strip_suffix("ms") {
        ms.trim().parse::<f64>().ok()?
    } else if let Some(sec) = s.strip_suffix('s') {
        sec.trim().parse::<f64>().ok()? * 1000.0
    } else {
        return None;
    };
    (0.0..=60_000.0).contains(&v).then_some(v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(text: &str, cues: Vec<(usize, Cue)>) -> Piece {
        Piece::Sentence(Sentence { text: text.into(), cues })
    }

    #[test]
    fn sentences_pauses_and_cues() {
        let p = parse("[card show]Only $19.99 today! [pause 800ms] Grab it [gesture point]now. Really *great* value.").unwrap();
        assert_eq!(
            p,
            vec![
                sentence("Only $19.99 today!", vec![(0, Cue::Card(true))]),
                Piece::Pause { ms: 800 },
                sentence("Grab it now.", vec![(2, Cue::Gesture("point".into()))]),
                sentence("Really great value.", vec![(1, Cue::Emphasis)]),
            ]
        );
    }

    #[test]
    fn cues_at_the_end_carry_to_the_next_sentence() {
        let p = parse("Hello there. [background night] [card hide]").unwrap();
        assert_eq!(p, vec![sentence("Hello there.", vec![])]);
        let p = parse("Hi. [background night] Bye.").unwrap();
        assert_eq!(p, vec![sentence("Hi.", vec![]), sentence("Bye.", vec![(0, Cue::Background("night".into()))])]);
    }

    #[test]
    fn bad_markup_is_named() {
        let e = parse("Hello [wave] there").unwrap_err().to_string();
        assert!(e.contains("`[wave]`") && e.contains("[gesture NAME]"), "{e}");
        assert!(parse("Hello [pause soon]").unwrap_err().to_string().contains("[pause 500ms]"));
        assert!(parse("Hello [card show").is_err());
        assert_eq!(parse("你好。[pause 1.5s]今天特价！").unwrap()[1], Piece::Pause { ms: 1500 });
    }
}
