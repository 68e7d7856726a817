//! A VRM's licence meta decides whether a brand may stream it: one whose author
//! allows only personal non-profit use is refused with the field and its value named;
//! one that allows corporate use loads, and the credits its meta asks for are shown.

use common::character::character_pack;
use common::*;

fn check(pack: &std::path::Path, dir: &std::path::Path, name: &str) -> (bool, String) {
    let config = demo_config_with(dir, name, |c| c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display())));
    let out = run(avatarcast().args(["check", "--config"]).arg(&config));
    let text = text(&out);
    let line = text.lines().find(|l| l.contains("avatar ")).unwrap_or_else(|| panic!("no avatar line in: {text}")).to_string();
    (out.status.success(), line)
}

#[test]
fn a_vrm_that_forbids_corporate_use_is_refused_and_credits_are_shown() {
    let dir = TempDir::new("character-licence");
    let personal = character_pack(dir.path(), "personal", "vrm1", "personalNonProfit");
    let (ok, line) = check(&personal, dir.path(), "personal.toml");
    assert!(!ok, "check passed a personal-use model: {line}");
    assert!(line.contains("commercialUsage = \"personalNonProfit\""), "the refusal names the field: {line}");

    let old = character_pack(dir.path(), "personal-0x", "vrm0", "personalNonProfit");
    let (_, line) = check(&old, dir.path(), "old.toml");
    assert!(line.contains("commercialUssageName = \"Disallow\""), "VRM 0.x's field is named as it is spelled: {line}");

    let allowed = character_pack(dir.path(), "allowed", "vrm1", "corporation");
    let (_, line) = check(&allowed, dir.path(), "allowed.toml");
    assert!(line.contains("VRM 1.0") && line.contains("credits \"avatarcast test host\" by avatarcast"), "{line}");
}
