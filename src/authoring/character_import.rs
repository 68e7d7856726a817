//! `avatar import --model`: a character pack from a VRM or ARKit glTF file and its
//! clips. Everything is checked (the model, its licence, each clip against the model's
//! bones) in a staging folder before the pack appears under its name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};

use crate::avatar::character::{CharacterManifest, CharacterPack, LightSettings, check_files, read_contents};

pub struct CharacterImport {
    /// The .vrm or .glb file.
    pub model: PathBuf,
    pub out: PathBuf,
    pub name: Option<String>,
    /// A 3D scan of a real person: the pack then needs their consent record to go on air.
    pub real_person: bool,
    /// The clips every pack gets (idle.vrma, wave.vrma, point.vrma, nod.vrma), unless
    /// `idle` or `gestures` name others.
    pub default_clips: PathBuf,
    pub idle: Option<PathBuf>,
    /// Gesture name -> .vrma clip.
    pub gestures: Vec<(String, PathBuf)>,
}

pub fn run(opts: &CharacterImport) -> Result<CharacterPack> {
    ensure!(!opts.out.join("avatar.toml").exists(), "{} already holds a pack; choose another --out or remove it first", opts.out.display());
    let ext = opts.model.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    ensure!(matches!(ext.as_str(), "vrm" | "glb"), "{}: a 3D host is a .vrm or .glb file (export a .gltf as binary .glb)", opts.model.display());
    let name = match &opts.name {
        Some(n) => n.clone(),
        None => opts.out.file_name().and_then(|n| n.to_str()).context("--out names no folder")?.to_string(),
    };
    let (idle, gestures) = clips(opts)?;
    let clip_files: Vec<&Path> = idle.iter().chain(gestures.values()).map(PathBuf::as_path).collect();
    check_files(&opts.model, &clip_files)?;
    let staging = opts.out.with_extension("importing");
    if staging.exists() {
        std::fs::remove_dir_all(&staging).with_context(|| format!("removing {} left by an earlier import", staging.display()))?;
    }
    std::fs::create_dir_all(staging.join("clips")).with_context(|| format!("creating {}", staging.display()))?;
    let model = format!("model.{ext}");
    copy(&opts.model, &staging.join(&model))?;
    let mut manifest = CharacterManifest {
        name,
        kind: "character".into(),
        model,
        real_person: opts.real_person,
        consent: None,
        lights: LightSettings::default(),
        idle: None,
        gestures: BTreeMap::new(),
    };
    if let Some(file) = idle {
        manifest.idle = Some(stage_clip(&file, "idle", &staging)?);
    }
    for (gesture, file) in gestures {
        manifest.gestures.insert(gesture.clone(), stage_clip(&file, &gesture, &staging)?);
    }
    let written = toml::to_string(&manifest).context("writing avatar.toml")?;
    std::fs::write(staging.join("avatar.toml"), written).with_context(|| format!("writing {}", staging.join("avatar.toml").display()))?;
    let pack = match read_contents(&staging, manifest) {
        Ok(p) => p,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e.context(format!("{} was not made", opts.out.display())));
        }
    };
    std::fs::rename(&staging, &opts.out).with_context(|| format!("moving {} to {}", staging.display(), opts.out.display()))?;
    Ok(pack)
}

/// The idle clip and the gestures: the defaults, then what the command line names
/// (the same name replaces a default).
fn clips(opts: &CharacterImport) -> Result<(Option<PathBuf>, BTreeMap<String, PathBuf>)> {
    let dir = &opts.default_clips;
    if !dir.join("idle.vrma").is_file() {
        bail!("the default clips are not in {} (idle.vrma ...): run from the avatarcast folder or pass --clips DIR", dir.display());
    }
    let mut gestures: BTreeMap<String, PathBuf> = ["wave", "point", "nod"].iter().map(|g| (g.to_string(), dir.join(format!("{g}.vrma")))).collect();
    for (name, file) in &opts.gestures {
        ensure!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "--gesture `{name}`: a name is letters, digits, - and _");
        gestures.insert(name.clone(), file.clone());
    }
    Ok((Some(opts.idle.clone().unwrap_or_else(|| dir.join("idle.vrma"))), gestures))
}

/// Copies clip `file` into the pack as clips/NAME.vrma and returns that path.
fn stage_clip(file: &Path, name: &str, staging: &Path) -> Result<String> {
    ensure!(file.extension().is_some_and(|e| e.eq_ignore_ascii_case("vrma")), "{}: a gesture or idle is a VRM Animation clip (.vrma)", file.display());
    let inside = format!("clips/{name}.vrma");
    copy(file, &staging.join(&inside))?;
    Ok(inside)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).with_context(|| format!("cannot read {}", from.display()))?;
    Ok(())
}
