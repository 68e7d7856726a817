//! The consent record a real person's avatar pack must carry (docs/design.md § Consent and labels): who gave
//! consent, when, for what use, and the signed statement itself. A pack without a
//! complete one does not load.

use std::path::Path;

use anyhow::{Result, bail};
use serde::Deserialize;

/// `[consent]` in avatar.toml.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentRecord {
    /// The person whose likeness and voice the pack carries.
    pub person: String,
    /// When they signed, YYYY-MM-DD.
    pub date: String,
    /// What the likeness may be used for, in their words (e.g. "livestreams of the
    /// Lumi shop on Douyin and Taobao until 2027-12-31").
    #[serde(rename = "use")]
    pub purpose: String,
    /// The signed statement (PDF, image or text), a path inside the pack.
    pub statement: String,
}

impl ConsentRecord {
    /// Checks the record is complete and its statement file is in the pack; the error
    /// lists everything that is missing at once.
    pub fn check(record: Option<&ConsentRecord>, pack: &Path) -> Result<()> {
        let manifest = pack.join("avatar.toml");
        let Some(c) = record else {
            bail!(
                "avatar pack {} shows a real person and has no consent record: add a [consent] section to {} with \
                 person (who), date (when they signed, YYYY-MM-DD), use (what the likeness may be used for) and \
                 statement (the signed statement file, inside the pack). avatarcast does not put a real person on \
                 air without their recorded consent",
                pack.display(),
                manifest.display()
            );
        };
        let mut missing = Vec::new();
        if c.person.trim().is_empty() {
            missing.push("`person` is empty (who consented)".to_string());
        }
        if !valid_date(c.date.trim()) {
            missing.push(format!("`date` = \"{}\" is not a date written YYYY-MM-DD (when they signed)", c.date));
        }
        if c.purpose.trim().is_empty() {
            missing.push("`use` is empty (what the likeness may be used for)".to_string());
        }
        if c.statement.trim().is_empty() {
            missing.push("`statement` is empty (the signed statement file)".to_string());
        } else {
            let file = pack.join(&c.statement);
            let inside = !Path::new(&c.statement).is_absolute() && !c.statement.split(['/', '\\']).any(|p| p == "..");
            match std::fs::metadata(&file) {
                _ if !inside => missing.push(format!("`statement` = \"{}\" must be a path inside the pack", c.statement)),
                Ok(m) if m.is_file() && m.len() > 0 => {}
                Ok(_) => missing.push(format!("the signed statement {} is empty", file.display())),
                Err(_) => missing.push(format!("the signed statement {} is not there", file.display())),
            }
        }
        if !missing.is_empty() {
            bail!(
                "avatar pack {} shows a real person and its consent record in {} is incomplete: {}. avatarcast does \
                 not put a real person on air without their recorded consent",
                pack.display(),
                manifest.display(),
                missing.join("; ")
            );
        }
        Ok(())
    }
}

fn valid_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split('-').collect();
    let num = |s: &str, len: usize, lo: u32, hi: u32| s.len() == len && s.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v));
    parts.len() == 3 && num(parts[0], 4, 1900, 2999) && num(parts[1], 2, 1, 12) && num(parts[2], 2, 1, 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_missing_piece_is_named() {
        let dir = std::env::temp_dir().join(format!("avatarcast-consent-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("consent")).unwrap();
        let none = ConsentRecord::check(None, &dir).unwrap_err().to_string();
        assert!(none.contains("no consent record") && none.contains("[consent]"), "{none}");

        let mut c = ConsentRecord { person: "Jane Doe".into(), date: "21/11/2026".into(), purpose: String::new(), statement: "consent/signed.pdf".into() };
        let e = ConsentRecord::check(Some(&c), &dir).unwrap_err().to_string();
        assert!(e.contains("`date`") && e.contains("`use`") && e.contains("signed.pdf is not there"), "{e}");
        assert!(!e.contains("`person`"), "{e}");

        c.date = "2026-11-21".into();
        c.purpose = "Lumi shop livestreams".into();
        std::fs::write(dir.join("consent/signed.pdf"), b"%PDF-1.4 signed").unwrap();
        ConsentRecord::check(Some(&c), &dir).unwrap();

        c.statement = "../elsewhere.pdf".into();
        let e = ConsentRecord::check(Some(&c), &dir).unwrap_err().to_string();
        assert!(e.contains("inside the pack"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
