//! A VRM's licence meta and what it allows a brand: a company streaming the character
//! for profit, with its face and body moved by our expressions. A model whose meta
//! forbids that is refused, naming the field and its value; credits it asks for are
//! shown on air (status, console, stream metadata).

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The meta fields a host's use depends on, as the file spells them.
#[derive(Debug, Clone, PartialEq)]
pub struct Meta {
    pub name: String,
    pub authors: Vec<String>,
    pub copyrights: String,
    pub licence_url: String,
    /// Whether the meta asks for credit on air.
    pub credit_required: bool,
    /// (field, value) pairs that decide the use, in the file's own spelling.
    permissions: Vec<(&'static str, String)>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

impl Meta {
    /// VRM 1.0 meta. Missing permission fields take the spec's defaults, which are the
    /// restrictive ones.
    pub fn from_vrm1(m: &Value) -> Result<Meta> {
        let or = |key: &'static str, default: &str| (key, m.get(key).and_then(Value::as_str).unwrap_or(default).to_string());
        Ok(Meta {
            name: text(m, "name"),
            authors: serde_json::from_value(m.get("authors").cloned().context("meta has no authors")?).context("meta.authors is not a list of names")?,
            copyrights: text(m, "copyrightInformation"),
            licence_url: text(m, "licenseUrl"),
            credit_required: m.get("creditNotation").and_then(Value::as_str).unwrap_or("required") == "required",
            permissions: vec![or("avatarPermission", "onlyAuthor"), or("commercialUsage", "personalNonProfit"), or("modification", "prohibited")],
        })
    }

    /// VRM 0.x meta (its field names are spelled as the format spells them).
    pub fn from_vrm0(m: &Value) -> Result<Meta> {
        let or = |key: &'static str, default: &str| (key, m.get(key).and_then(Value::as_str).unwrap_or(default).to_string());
        let licence = or("licenseName", "Redistribution_Prohibited");
        Ok(Meta {
            name: text(m, "title"),
            authors: vec![text(m, "author")].into_iter().filter(|a| !a.is_empty()).collect(),
            copyrights: text(m, "reference"),
            licence_url: text(m, "otherLicenseUrl"),
            // 0.x licences are mostly Creative Commons ones, which ask for attribution.
            credit_required: licence.1.starts_with("CC_BY") || licence.1 == "Other",
            permissions: vec![or("allowedUserName", "OnlyAuthor"), or("commercialUssageName", "Disallow"), licence],
        })
    }

    /// Whether a company may stream this character commercially with its expressions
    /// driven; the error names the field, its value and the way out.
    pub fn check_corporate_use(&self) -> Result<()> {
        for (field, value) in &self.permissions {
            let refused = match *field {
                "avatarPermission" => value != "everyone",
                "commercialUsage" => value != "corporation",
                "modification" => value == "prohibited",
                "allowedUserName" => value != "Everyone",
                "commercialUssageName" => value != "Allow",
                // Non-commercial or no-derivatives Creative Commons licences; the
                // others (and "Redistribution_Prohibited", about the file) allow a stream.
                "licenseName" => value.contains("_NC") || value.contains("_ND"),
                _ => false,
            };
            if refused {
                bail!(
                    "its licence meta says {field} = \"{value}\", which does not allow a company to stream it commercially; \
                     use a model whose author allows corporate use (VRM 1.0: avatarPermission \"everyone\", commercialUsage \"corporation\"; \
                     VRM 0.x: allowedUserName \"Everyone\", commercialUssageName \"Allow\"), or ask its author for one"
                );
            }
        }
        Ok(())
    }

    /// The line shown on air when the meta asks for credit, else None.
    pub fn credits(&self) -> Option<String> {
        if !self.credit_required {
            return None;
        }
        let by = if self.authors.is_empty() { String::new() } else { format!(" by {}", self.authors.join(", ")) };
        let rights = if self.copyrights.is_empty() { String::new() } else { format!(" ({})", self.copyrights) };
        Some(format!("\"{}\"{by}{rights}", self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vrm1(commercial: &str) -> Meta {
        Meta::from_vrm1(&json!({"name": "Host", "authors": ["Ann"], "avatarPermission": "everyone", "commercialUsage": commercial, "modification": "allowModification", "creditNotation": "required"})).unwrap()
    }

    #[test]
    fn corporate_use_is_allowed_only_when_the_meta_says_corporation() {
        assert!(vrm1("corporation").check_corporate_use().is_ok());
        let e = vrm1("personalProfit").check_corporate_use().unwrap_err().to_string();
        assert!(e.contains("commercialUsage = \"personalProfit\""), "{e}");
    }

    #[test]
    fn missing_fields_are_read_as_the_restrictive_defaults() {
        let m = Meta::from_vrm1(&json!({"name": "Host", "authors": ["Ann"]})).unwrap();
        let e = m.check_corporate_use().unwrap_err().to_string();
        assert!(e.contains("avatarPermission = \"onlyAuthor\""), "{e}");
    }

    #[test]
    fn vrm0_fields_are_checked_in_their_own_spelling() {
        let ok = json!({"title": "Old", "author": "Bo", "allowedUserName": "Everyone", "commercialUssageName": "Allow", "licenseName": "CC_BY"});
        let m = Meta::from_vrm0(&ok).unwrap();
        assert!(m.check_corporate_use().is_ok());
        assert_eq!(m.credits().as_deref(), Some("\"Old\" by Bo"));
        let mut nc = ok.clone();
        nc["licenseName"] = json!("CC_BY_NC");
        assert!(Meta::from_vrm0(&nc).unwrap().check_corporate_use().unwrap_err().to_string().contains("licenseName = \"CC_BY_NC\""));
        let mut no = ok;
        no["commercialUssageName"] = json!("Disallow");
        assert!(Meta::from_vrm0(&no).unwrap().check_corporate_use().is_err());
    }

    #[test]
    fn credits_name_the_work_and_its_authors() {
        assert_eq!(vrm1("corporation").credits().as_deref(), Some("\"Host\" by Ann"));
    }
}
