//! scripts/module-cycles.py (run by the test command) finds an import cycle wherever
//! it hides, and finds none in avatarcast's own src/.

use std::path::Path;
use std::process::Command;

use common::*;

fn check(src: &Path) -> (bool, String) {
    let out = Command::new("python3").arg(repo().join("scripts/module-cycles.py")).arg("--src").arg(src).output().expect("python3");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

#[test]
fn avatarcast_has_no_import_cycle() {
    let (ok, out) = check(&repo().join("src"));
    assert!(ok && out.contains(" 0 cycles"), "{out}");
}

#[test]
fn cycles_are_found_through_crate_super_and_child_paths() {
    let dir = TempDir::new("module-cycles");
    // a -> b through crate::, b -> a through super:: inside a use tree.
    tree(&dir.path().join("one"), &[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "use crate::b::Thing;\npub struct Other;\n"),
        ("b.rs", "use super::{a::Other, x};\npub struct Thing;\n"),
    ]);
    let (ok, out) = check(&dir.path().join("one"));
    assert!(!ok && out.contains("cycle of 2 modules: a, b"), "{out}");
    // A room's mod.rs naming its child by a bare path, the child reaching back.
    tree(&dir.path().join("two"), &[
        ("lib.rs", "pub mod room;\n"),
        ("room/mod.rs", "pub mod child;\npub struct Shared;\nfn f(_: child::Kid) {}\n"),
        ("room/child.rs", "pub struct Kid(super::Shared);\n"),
    ]);
    let (ok, out) = check(&dir.path().join("two"));
    assert!(!ok && out.contains("room, room::child"), "{out}");
    // `super::` inside an inline test module names the file itself: no cycle.
    tree(&dir.path().join("three"), &[
        ("lib.rs", "pub mod room;\n"),
        ("room/mod.rs", "pub mod child;\nfn f(_: child::Kid) {}\n"),
        ("room/child.rs", "pub struct Kid;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"),
    ]);
    let (ok, out) = check(&dir.path().join("three"));
    assert!(ok && out.contains(" 0 cycles"), "{out}");
}
