//! 3D test characters made by the repo's own generator (scripts/make-3d-hosts.py),
//! as character packs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::repo;

/// Writes test character `which` ("vrm1", "vrm0" or "arkit") into `dir`, its meta's
/// commercial use set to `commercial_usage`, and returns the file.
pub fn generated_model(dir: &Path, which: &str, commercial_usage: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("scripts/make-3d-hosts.py"))
        .args(["--out"])
        .arg(dir)
        .args(["--only", which, "--commercial-usage", commercial_usage])
        .output()
        .expect("python3");
    assert!(out.status.success(), "make-3d-hosts.py: {}", String::from_utf8_lossy(&out.stderr));
    dir.join(if which == "arkit" { "host-arkit.glb".to_string() } else { format!("host-{which}.vrm") })
}

/// Writes a bare character pack in `dir/NAME` (a manifest and the model, no clips)
/// holding `which`, whatever its licence says (so loading it can refuse it).
pub fn character_pack(dir: &Path, name: &str, which: &str, commercial_usage: &str) -> PathBuf {
    let pack = dir.join(name);
    let model = generated_model(&pack, which, commercial_usage);
    let file = model.file_name().unwrap().to_str().unwrap();
    std::fs::write(pack.join("avatar.toml"), format!("name = \"{name}\"\nkind = \"character\"\nmodel = \"{file}\"\n")).unwrap();
    pack
}

/// A pack made by `avatarcast avatar import --model` from test character `which`
/// (with the default idle and gesture clips), in `dir/NAME`.
pub fn imported_character(dir: &Path, name: &str, which: &str) -> PathBuf {
    let model = generated_model(&dir.join(format!("{name}-model")), which, "corporation");
    let pack = dir.join(name);
    let out = crate::run(crate::avatarcast().args(["avatar", "import", "--model"]).arg(&model).arg("--out").arg(&pack));
    assert!(out.status.success(), "avatar import --model: {}", crate::text(&out));
    pack
}

/// The demo config with its host replaced by `pack`.
pub fn with_pack(pack: &Path) -> impl FnOnce(String) -> String + '_ {
    move |c: String| c.replace("pack = \"assets/avatars/cartoon-host\"", &format!("pack = \"{}\"", pack.display()))
}
