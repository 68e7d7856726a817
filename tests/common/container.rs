//! The container image the container tests run.

use std::process::Command;

use crate::{avatarcast_binary, repo, text};

/// Builds localhost/avatarcast:latest with scripts/image.sh around the binary cargo
/// built for these tests (IMAGE_CARGO=skip: a plain `cargo build` there would compile
/// much of the crate again, its features unified without the tests' dependencies).
pub fn build_image() -> String {
    assert_eq!(avatarcast_binary(), repo().join("target/release/avatarcast"), "run the container tests with `cargo test --release`");
    let built = Command::new("bash").arg(repo().join("scripts/image.sh")).env("IMAGE_CARGO", "skip").current_dir(repo()).output().unwrap();
    let log = text(&built);
    assert!(built.status.success(), "scripts/image.sh:\n{log}");
    log
}
