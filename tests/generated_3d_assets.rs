//! The repo's generated 3D hosts and shipped clips are valid glTF by the Khronos
//! validator (npm gltf-validator, installed by setup); the clips in assets/clips and
//! the 3D demo host's model are exactly what the scripts write.

use std::process::Command;

use common::*;

#[test]
fn generated_hosts_and_clips_are_valid_and_the_shipped_clips_are_the_scripts() {
    let dir = TempDir::new("generated-3d");
    for script in ["make-3d-hosts.py", "make-vrma-clips.py"] {
        let out = run(Command::new("python3").arg(repo().join("scripts").join(script)).arg("--out").arg(dir.path()));
        assert!(out.status.success(), "{script}: {}", text(&out));
    }
    for clip in ["idle", "wave", "point", "nod"] {
        let made = std::fs::read(dir.path().join(format!("{clip}.vrma"))).unwrap();
        let shipped = std::fs::read(repo().join(format!("assets/clips/{clip}.vrma"))).unwrap();
        assert!(made == shipped, "assets/clips/{clip}.vrma is not what make-vrma-clips.py writes: run it with --out assets/clips");
    }
    let demo_host = std::fs::read(repo().join("assets/avatars/vrm-host/model.vrm")).unwrap();
    assert!(demo_host == std::fs::read(dir.path().join("host-vrm1.vrm")).unwrap(), "assets/avatars/vrm-host/model.vrm is not make-3d-hosts.py's host-vrm1.vrm");
    let files = ["host-vrm1.vrm", "host-vrm0.vrm", "host-arkit.glb", "idle.vrma", "wave.vrma", "point.vrma", "nod.vrma"];
    let out = run(Command::new("node").arg(repo().join("scripts/validate-gltf.mjs")).args(files.map(|f| dir.path().join(f))));
    let said = text(&out);
    assert!(out.status.success(), "gltf-validator: {said}");
    for f in files {
        assert!(said.contains(&format!("{f}: 0 errors")), "{f} not validated clean: {said}");
    }
}
