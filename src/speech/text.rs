//! Cleans a line before phonemization: what the voice cannot say (emoji, dingbats,
//! stray symbols) is dropped, never fatal.

/// Returns the speakable text, with whitespace folded; empty when nothing is left.
pub fn speakable(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() || is_kept_symbol(c) { c } else { ' ' })
        .collect();
    let folded = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    // A dropped symbol must not leave "back !" behind.
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if matches!(c, '.' | ',' | '!' | '?' | ';' | ':') && out.ends_with(' ') {
            out.pop();
        }
        out.push(c);
    }
    // Nothing but punctuation left means nothing to say.
    if out.chars().any(|c| c.is_alphanumeric()) { out } else { String::new() }
}

fn is_kept_symbol(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '!' | '?' | ';' | ':' | '\'' | '"' | '-' | '(' | ')' | '$' | '€' | '£' | '¥' | '%' | '&' | '@' | '+' | '/'
            | '。' | '，' | '！' | '？' | '；' | '：' | '、' | '’' | '“' | '”'
    )
}

/// Words a phrase may start with: a sentence cut before one keeps its melody best.
const PHRASE_STARTS: &[&str] = &[
    "and", "but", "so", "or", "with", "for", "because", "when", "while", "if", "that", "which", "until", "before", "after",
    "then", "plus", "in", "on", "at", "from", "to",
];
/// Words a phrase never ends on: a lead cut after one sounds broken off.
const WEAK_ENDINGS: &[&str] = &[
    "a", "an", "the", "this", "that", "these", "those", "my", "your", "our", "its", "their", "his", "her", "of", "on", "in",
    "at", "to", "for", "with", "from", "by", "and", "or", "but", "is", "are", "very", "so", "just",
];
/// Sentences shorter than this are quick enough whole.
const LEAD_MIN_SENTENCE_WORDS: usize = 7;

/// The lead phrase of a live line's first sentence: its first 3 to 5 words, ending
/// at a comma or before a word that starts a phrase where there is one, else the
/// first 4 (or 5, or 3) not ending on a word like "the" or "on". A Piper voice makes a sentence in one pass, so its first sample waits for
/// the last; synthesizing the lead alone puts the line on air after a few words'
/// work, and the rest of the sentence (synthesized whole, its melody intact) follows
/// from the next word. None for short sentences and for text without spaces between
/// words (Chinese).
pub fn lead_phrase(sentence: &str) -> Option<&str> {
    let words: Vec<(usize, &str)> = sentence.split_whitespace().map(|w| (w.as_ptr() as usize - sentence.as_ptr() as usize, w)).collect();
    if words.len() < LEAD_MIN_SENTENCE_WORDS {
        return None;
    }
    let ends_clause = |w: &str| w.ends_with([',', ';', ':']);
    let starts_phrase = |w: &str| PHRASE_STARTS.contains(&w.to_lowercase().trim_matches(|c: char| !c.is_alphanumeric()));
    let ends_weak = |w: &str| WEAK_ENDINGS.contains(&w.to_lowercase().as_str());
    let len = (3..=5)
        .find(|&n| ends_clause(words[n - 1].1) || (starts_phrase(words[n].1) && !ends_weak(words[n - 1].1)))
        .or_else(|| [4, 5, 3].into_iter().find(|&n| !ends_weak(words[n - 1].1)))?;
    let (at, last) = words[len - 1];
    Some(&sentence[..at + last.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_and_stray_symbols_are_dropped() {
        assert_eq!(speakable("Flash sale 🔥🔥 now ★★★ only $9.99!! ✨"), "Flash sale now only $9.99!!");
        assert_eq!(speakable("🎉🎉"), "");
        assert_eq!(speakable("🔥🔥 ✨."), "");
        assert_eq!(speakable("welcome back 🛍️!"), "welcome back!");
        assert_eq!(speakable("今天特价！"), "今天特价！");
    }

    #[test]
    fn lead_phrases_end_at_a_comma_or_before_a_joining_word() {
        let cases = [
            ("Grab this bottle today and keep your drinks cold longer.", Some("Grab this bottle today")),
            ("Only $19.99 today, twenty percent off everything in the shop!", Some("Only $19.99 today,")),
            ("Every colour comes with a spare lid and a cleaning brush.", Some("Every colour comes")),
            ("These running shoes weigh almost nothing and feel soft.", Some("These running shoes weigh")),
            ("Thanks Maria, see you soon!", None),
            ("Flash sale on the Lumi Desk Lamp, only $39!", Some("Flash sale on the Lumi")),
            ("Check out the new limited edition bottle right now.", Some("Check out the new")),
            ("Get a free gift with every order over fifty dollars.", Some("Get a free gift")),
            ("今天全场八折，快来抢购吧，数量有限。", None),
        ];
        for (sentence, lead) in cases {
            assert_eq!(lead_phrase(sentence), lead, "{sentence}");
        }
    }
}
