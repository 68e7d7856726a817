//! Every line, scripted or inserted, passes here before speech. Shop platforms
//! enforce advertising law: absolute claims ("best", "No. 1", "100% guaranteed",
//! 最好, 第一) get a stream warned or cut.

use crate::config::{Action, ModerationConfig};

#[derive(Debug, PartialEq)]
pub enum Verdict {
    Clean(String),
    Replaced { text: String, terms: Vec<String> },
    Blocked { terms: Vec<String> },
}

pub struct Moderation {
    config: ModerationConfig,
    /// Longest first, so "the best" wins over "best".
    terms: Vec<(String, String)>,
}

impl Moderation {
    pub fn new(config: ModerationConfig) -> Moderation {
        let mut terms: Vec<(String, String)> =
            config.banned.iter().filter(|t| !t.trim().is_empty()).map(|t| (t.clone(), t.to_lowercase())).collect();
        terms.sort_by_key(|(_, l)| std::cmp::Reverse(l.chars().count()));
        Moderation { config, terms }
    }

    pub fn check(&self, text: &str) -> Verdict {
        let mut found = Vec::new();
        let mut out = text.to_string();
        for (term, lower) in &self.terms {
            let mut replaced = false;
            while let Some((start, end)) = find_term(&out, lower) {
                let replacement = if lower.chars().all(|c| c.is_ascii() || !c.is_alphabetic()) {
                    self.config.replacement.as_str()
                } else {
                    self.config.replacement_cjk.as_str()
                };
                out.replace_range(start..end, replacement);
                replaced = true;
            }
            if replaced {
                found.push(term.clone());
            }
        }
        if found.is_empty() {
            return Verdict::Clean(out);
        }
        match self.config.action {
            Action::Block => Verdict::Blocked { terms: found },
            Action::Replace => Verdict::Replaced { text: out.split_whitespace().collect::<Vec<_>>().join(" "), terms: found },
        }
    }
}

/// Byte range of `lower` in `text`, case-insensitive; Latin terms only as whole words.
fn find_term(text: &str, lower: &str) -> Option<(usize, usize)> {
    let hay = text.to_lowercase();
    // to_lowercase can change byte lengths for some scripts; only trust equal lengths.
    if hay.len() != text.len() {
        return text.find(lower).map(|s| (s, s + lower.len()));
    }
    let wordy = lower.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let mut from = 0;
    while let Some(pos) = hay[from..].find(lower) {
        let (s, e) = (from + pos, from + pos + lower.len());
        let before_ok = !wordy || hay[..s].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after_ok = hay[e..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before_ok && (after_ok || !lower.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())) {
            return Some((s, e));
        }
        from = s + 1;
        while !hay.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_claims_are_replaced_in_english_and_chinese() {
        let m = Moderation::new(ModerationConfig::default());
        assert_eq!(m.check("A bestseller at a fair price."), Verdict::Clean("A bestseller at a fair price.".into()));
        match m.check("The BEST bottle, 100% guaranteed!") {
            Verdict::Replaced { text, terms } => {
                assert_eq!(text, "great bottle, great!");
                assert!(terms.contains(&"the best".to_string()) && terms.contains(&"100% guaranteed".to_string()));
            }
            v => panic!("{v:?}"),
        }
        match m.check("这是最好的水杯，销量第一！") {
            Verdict::Replaced { text, .. } => assert_eq!(text, "这是很好的水杯，销量很好！"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn block_drops_the_line() {
        let m = Moderation::new(ModerationConfig { action: Action::Block, ..Default::default() });
        assert!(matches!(m.check("We are No. 1 in town"), Verdict::Blocked { .. }));
        assert!(matches!(m.check("A lovely lamp"), Verdict::Clean(_)));
    }
}
