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
}
