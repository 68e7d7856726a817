//! The show file (TOML): products with pitch variants, the segments that loop, and
//! the pauses between them. Documented in docs/show-file.md; config/demo-show.toml
//! is a full example. Errors name the file, the line and the field.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::markup::{self, Piece};
use crate::cue::Cue;
use crate::config::line_at;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Segments in file order, forever.
    #[default]
    Sequential,
    /// A fresh random order each round (no segment twice in a row across rounds).
    Shuffle,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowFile {
    /// The voice the show speaks in (a name from the config's voices); default: [voice].
    #[serde(default)]
    pub voice: Option<String>,
    #[serde(default)]
    pub order: Order,
    #[serde(default = "default_sentence_pause")]
    pub sentence_pause_ms: u32,
    #[serde(default = "default_segment_pause")]
    pub segment_pause_ms: u32,
    #[serde(default)]
    pub products: Vec<Product>,
    pub segments: Vec<SegmentDef>,
    /// Chat triggers: comments that match get an answer line.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Lines said on a schedule (a flash sale every N minutes, a greeting at 20:00).
    #[serde(default)]
    pub events: Vec<TimedEvent>,
    /// The file's text, as loaded (GET /v1/show returns it).
    #[serde(skip)]
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedEvent {
    /// Every this many minutes of stream (first after one interval).
    pub every_minutes: Option<f64>,
    /// Daily at this local time, "HH:MM".
    pub at: Option<String>,
    /// What the host says; {name}, {price}, {original_price} from `product`.
    pub say: String,
    #[serde(default = "default_rule_priority")]
    pub priority: super::lines::Priority,
    /// The product the event is about: its card shows.
    pub product: Option<String>,
    /// A sale of this many minutes: the card shows a countdown and leaves at zero.
    pub sale_minutes: Option<f64>,
}

impl TimedEvent {
    /// Seconds after local midnight for `at`.
    pub fn at_seconds(&self) -> Option<u32> {
        let (h, m) = self.at.as_deref()?.split_once(':')?;
        let (h, m): (u32, u32) = (h.trim().parse().ok()?, m.trim().parse().ok()?);
        (h < 24 && m < 60).then_some(h * 3600 + m * 60)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Alternatives separated by `|`, matched case-insensitively anywhere in a comment.
    #[serde(rename = "match")]
    pub pattern: String,
    /// The answer; {name}, {price}, {original_price} fill in from the product on air.
    pub say: String,
    #[serde(default = "default_rule_cooldown")]
    pub cooldown_s: u32,
    #[serde(default = "default_user_cooldown")]
    pub user_cooldown_s: u32,
    #[serde(default = "default_rule_priority")]
    pub priority: super::lines::Priority,
}

fn default_rule_cooldown() -> u32 {
    20
}
fn default_user_cooldown() -> u32 {
    120
}
fn default_rule_priority() -> super::lines::Priority {
    super::lines::Priority::Normal
}

impl Rule {
    pub fn matches(&self, comment: &str) -> bool {
        let c = comment.to_lowercase();
        self.pattern.split('|').map(|a| a.trim().to_lowercase()).any(|a| !a.is_empty() && c.contains(&a))
    }

    /// The answer for `product` (the one on air); None when it needs a product field
    /// the product lacks.
    pub fn answer(&self, product: Option<&Product>) -> Option<String> {
        fill_product(&self.say, product)
    }
}

/// Fills {name}, {price}, {original_price} from `product`; None when the text needs a
/// field the product lacks.
pub fn fill_product(template: &str, product: Option<&Product>) -> Option<String> {
    let mut out = template.to_string();
    for (key, value) in [
        ("{name}", product.map(|p| p.name.clone())),
        ("{price}", product.and_then(|p| p.price.clone())),
        ("{original_price}", product.and_then(|p| p.original_price.clone())),
    ] {
        if out.contains(key) {
            out = out.replace(key, &value?);
        }
    }
    Some(out)
}

fn default_sentence_pause() -> u32 {
    450
}
fn default_segment_pause() -> u32 {
    1500
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub original_price: Option<String>,
    /// Product picture for the card: .svg, .png or .jpg.
    #[serde(default)]
    pub image: Option<PathBuf>,
    /// Pitch variants; the show never uses the same one twice in a row.
    pub pitches: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentDef {
    /// Pitch a product (one of its variants each time round) …
    #[serde(default)]
    pub product: Option<String>,
    /// … or say fixed text.
    #[serde(default)]
    pub text: Option<String>,
    /// This segment's voice, instead of the show's.
    #[serde(default)]
    pub voice: Option<String>,
    /// … or play a recorded line (WAV, MP3, FLAC, Ogg, M4A); `text` is then its caption.
    #[serde(default)]
    pub audio: Option<PathBuf>,
}

/// Line of the first `needle` after the `nth` occurrence of `table` (e.g. "[[segments]]").
fn line_of(text: &str, table: &str, nth: usize, needle: &str) -> usize {
    let start = text.match_indices(table).nth(nth).map_or(0, |(i, _)| i);
    let at = text[start..].find(needle).map_or(start, |i| start + i);
    line_at(text, at)
}

impl ShowFile {
    pub fn load(path: &Path) -> Result<ShowFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read show file {}: check `show.file` in the config", path.display()))?;
        Self::parse(&text).with_context(|| format!("show file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ShowFile> {
        let mut show: ShowFile = crate::config::from_toml(text)?;
        show.validate(text)?;
        show.source = text.to_string();
        Ok(show)
    }

    fn validate(&self, text: &str) -> Result<()> {
        let mut ids = HashSet::new();
        for (i, p) in self.products.iter().enumerate() {
            let line = line_of(text, "[[products]]", i, "id");
            if p.id.trim().is_empty() || !ids.insert(p.id.as_str()) {
                bail!("line {line}: `products[{i}].id`: `{}` is empty or used twice; give each product its own id", p.id);
            }
            if p.pitches.is_empty() {
                bail!("line {line}: `products[{i}].pitches`: product `{}` needs at least one pitch", p.id);
            }
            for (v, pitch) in p.pitches.iter().enumerate() {
                check_markup(pitch).map_err(|e| {
                    anyhow::anyhow!("line {}: `products[{i}].pitches[{v}]`: {e}", line_of(text, "[[products]]", i, "pitches"))
                })?;
            }
            if let Some(img) = &p.image {
                if !img.is_file() {
                    bail!("line {line}: `products[{i}].image`: {} not found", img.display());
                }
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            let line = line_of(text, "[[events]]", i, "=");
            match (e.every_minutes, &e.at) {
                (Some(m), None) if m > 0.0 && m.is_finite() => {}
                (None, Some(_)) if e.at_seconds().is_some() => {}
                (None, Some(at)) => bail!("line {line}: `events[{i}].at`: `{at}` is not a time; write \"HH:MM\" (24 h, local)"),
                _ => bail!("line {line}: `events[{i}]`: give either `every_minutes` (more than 0) or `at = \"HH:MM\"`"),
            }
            if let Some(p) = &e.product {
                if !ids.contains(p.as_str()) {
                    bail!("line {line}: `events[{i}].product`: no product `{p}`");
                }
            }
            if e.sale_minutes.is_some_and(|m| !(0.0..=1440.0).contains(&m)) {
                bail!("line {line}: `events[{i}].sale_minutes`: use 0 to 1440");
            }
            if e.say.trim().is_empty() {
                bail!("line {line}: `events[{i}].say`: the line is empty");
            }
        }
        for (i, r) in self.rules.iter().enumerate() {
            let line = line_of(text, "[[rules]]", i, "match");
            if r.pattern.split('|').all(|a| a.trim().is_empty()) {
                bail!("line {line}: `rules[{i}].match`: give words to match, e.g. \"price|how much\"");
            }
            if r.say.trim().is_empty() {
                bail!("line {line}: `rules[{i}].say`: the answer is empty");
            }
        }
        if self.segments.is_empty() {
            bail!("`segments`: the show needs at least one [[segments]] (product = \"ID\" or text = \"…\")");
        }
        for (i, s) in self.segments.iter().enumerate() {
            let line = line_of(text, "[[segments]]", i, "=");
            if let Some(audio) = &s.audio {
                let ext = audio.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
                if !crate::speech::clip::EXTENSIONS.contains(&ext.as_str()) {
                    bail!("line {line}: `segments[{i}].audio`: {} is not one of {}", audio.display(), crate::speech::clip::EXTENSIONS.join(", "));
                }
                if !audio.is_file() {
                    bail!("line {line}: `segments[{i}].audio`: {} not found", audio.display());
                }
                if s.product.is_some() {
                    bail!("line {line}: `segments[{i}]`: give `audio` (with an optional `text` caption) or `product`, not both");
                }
                continue;
            }
            match (&s.product, &s.text) {
                (Some(id), None) => {
                    if !ids.contains(id.as_str()) {
                        let known: Vec<&str> = self.products.iter().map(|p| p.id.as_str()).collect();
                        bail!("line {line}: `segments[{i}].product`: no product `{id}` (products: {})", known.join(", "));
                    }
                }
                (None, Some(t)) => check_markup(t).map_err(|e| anyhow::anyhow!("line {line}: `segments[{i}].text`: {e}"))?,
                _ => bail!("line {line}: `segments[{i}]`: give `product`, `text` or `audio`"),
            }
        }
        Ok(())
    }

    /// Voice names the show uses (the running stream checks they exist).
    pub fn voices(&self) -> Vec<String> {
        let mut v: Vec<String> = self.voice.iter().chain(self.segments.iter().filter_map(|s| s.voice.as_ref())).cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    /// Background names used in markup, for checking against the scene's.
    pub fn backgrounds(&self) -> Vec<String> {
        let texts = self.products.iter().flat_map(|p| p.pitches.iter()).chain(self.segments.iter().filter_map(|s| s.text.as_ref()));
        let mut out = Vec::new();
        for t in texts {
            for piece in markup::parse(t).unwrap_or_default() {
                if let Piece::Sentence(s) = piece {
                    for (_, cue) in s.cues {
                        if let Cue::Background(b) = cue {
                            out.push(b);
                        }
                    }
                }
            }
        }
        out
    }

    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }
}

fn check_markup(text: &str) -> Result<()> {
    let pieces = markup::parse(text)?;
    if !pieces.iter().any(|p| matches!(p, Piece::Sentence(_))) {
        bail!("nothing to say in this text");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOW: &str = r#"
order = "shuffle"

[[products]]
id = "mug"
name = "Mug"
price = "$9"
pitches = ["A fine mug.", "[card show]Still a fine mug."]

[[segments]]
text = "Welcome!"

[[segments]]
product = "mug"
"#;

    #[test]
    fn parses_products_segments_and_order() {
        let s = ShowFile::parse(SHOW).unwrap();
        assert_eq!(s.order, Order::Shuffle);
        assert_eq!(s.products[0].pitches.len(), 2);
        assert_eq!(s.segment_pause_ms, 1500);
    }

    #[test]
    fn rules_match_alternatives_and_fill_in_the_product() {
        let text = format!("{SHOW}\n[[rules]]\nmatch = \"price|How much\"\nsay = \"The {{name}} is {{price}} today.\"\n");
        let s = ShowFile::parse(&text).unwrap();
        let r = &s.rules[0];
        assert!(r.matches("how MUCH is it??") && r.matches("price pls") && !r.matches("hello"));
        assert_eq!(r.answer(s.product("mug")).as_deref(), Some("The Mug is $9 today."));
        assert_eq!(r.answer(None), None);
        assert_eq!(s.source, text);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = format!("{:#}", ShowFile::parse(&SHOW.replace("product = \"mug\"", "product = \"cup\"")).unwrap_err());
        assert!(e.contains("line 14") && e.contains("segments[1].product") && e.contains("no product `cup`"), "{e}");
        let e = format!("{:#}", ShowFile::parse(&SHOW.replace("price = \"$9\"", "price = \"$9\"\ncolour = 1")).unwrap_err());
        assert!(e.contains("line 8") && e.contains("unknown field `colour`"), "{e}");
        let e = format!("{:#}", ShowFile::parse(&SHOW.replace("Still a fine", "[wave] Still a fine")).unwrap_err());
        assert!(e.contains("line 8") && e.contains("products[0].pitches[1]") && e.contains("`[wave]`"), "{e}");
        let e = format!("{:#}", ShowFile::parse(&SHOW.replace("name = \"Mug\"", "name = \"Mug")).unwrap_err());
        assert!(e.contains("line 6") && e.contains("not valid TOML"), "{e}");
    }
}
