//! 3D test characters made by the repo's own generator (scripts/make-3d-hosts.py),
//! as character packs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::repo;

/// Writes a character pack in `dir/NAME` holding `which` ("vrm1", "vrm0" or "arkit")
/// with the meta's commercial use set to `commercial_usage`.
pub fn character_pack(dir: &Path, name: &str, which: &str, commercial_usage: &str) -> PathBuf {
    let pack = dir.join(name);
    std::fs::create_dir_all(&pack).unwrap();
    let out = Command::new("python3")
        .arg(repo().join("scripts/make-3d-hosts.py"))
        .args(["--out"])
        .arg(&pack)
        .args(["--only", which, "--commercial-usage", commercial_usage])
        .output()
        .expect("python3");
    assert!(out.status.success(), "make-3d-hosts.py: {}", String::from_utf8_lossy(&out.stderr));
    let model = if which == "arkit" { "host-arkit.glb".to_string() } else { format!("host-{which}.vrm") };
    std::fs::write(pack.join("avatar.toml"), format!("name = \"{name}\"\nkind = \"character\"\nmodel = \"{model}\"\n")).unwrap();
    pack
}
