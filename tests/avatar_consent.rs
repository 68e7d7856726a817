//! A real person's pack without their consent on record does not go on air: the
//! error names what is missing and where to put it.

use common::*;

#[test]
fn a_real_person_pack_without_consent_is_refused() {
    let dir = TempDir::new("consent");
    let pack = clip::import_pack(dir.path());
    let config = demo_config_with(dir.path(), "c.toml", |c| c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display())));
    let render = |name: &str| run(avatarcast().args(["render", "--duration", "2s", "--config"]).arg(&config).arg("--output").arg(dir.path().join(name)));

    // As imported: the template is empty.
    let out = render("a.mkv");
    let msg = text(&out);
    assert!(!out.status.success(), "{msg}");
    assert!(msg.contains("real person") && msg.contains("consent"), "{msg}");
    assert!(msg.contains("`person` is empty") && msg.contains("statement.pdf is not there"), "{msg}");
    assert!(!dir.path().join("a.mkv").exists(), "nothing was written");

    // No [consent] section at all.
    let manifest = std::fs::read_to_string(pack.join("avatar.toml")).unwrap();
    let without = &manifest[..manifest.find("[consent]").unwrap()];
    std::fs::write(pack.join("avatar.toml"), without).unwrap();
    let msg = text(&render("b.mkv"));
    assert!(msg.contains("has no consent record") && msg.contains("add a [consent] section"), "{msg}");

    // Filled in: it loads and renders.
    std::fs::write(pack.join("avatar.toml"), &manifest).unwrap();
    clip::give_consent(&pack);
    let out = render("c.mkv");
    assert!(out.status.success(), "{}", text(&out));
}
