//! The host. A pack is a folder with avatar.toml and its media (docs/avatar-packs.md):
//! `sprite` packs are layered vector art posed every frame (sprite.rs), `video` packs a
//! real person's footage with neural lip-sync (video/), `character` packs a 3D VRM or
//! glTF character drawn by Vulkan (character/). They know named gestures, started
//! from show markup or the API; an unknown name is reported, never fatal.

pub mod character;
pub mod consent;
pub mod key;
mod manifest;
pub mod motion;
pub mod sprite;
mod sprite_layer;
pub mod video;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::PixmapMut;
use serde::Deserialize;

use crate::config::Config;
use crate::lipsync::Mouth;
use crate::config::LipsyncConfig;
use crate::lipsync::neural::{FaceEnhancer, FaceModel, NeuralLipSync, StageTimes};
use crate::lipsync::phonetic::FrameSteps;
use crate::cue::{Cue, Framing};
pub use motion::{Eyes, HeadMove, Motion, Pose};
pub use sprite::SpriteAvatar;
pub use manifest::{FramingRects, Placement};
use manifest::read_manifest;
pub use video::VideoAvatar;
pub use character::CharacterAvatar;

/// The part of avatar.toml every pack has.
#[derive(Deserialize)]
struct PackKind {
    kind: String,
}

#[derive(Clone, Copy)]
enum Kind {
    Sprite,
    Video,
    Character,
}

/// What kind of pack `pack` is, from its avatar.toml.
fn pack_kind(pack: &Path) -> Result<Kind> {
    let manifest = pack.join("avatar.toml");
    let kind: PackKind = toml::from_str(&read_manifest(pack)?).with_context(|| format!("avatar pack manifest {}", manifest.display()))?;
    match kind.kind.as_str() {
        "sprite" => Ok(Kind::Sprite),
        "video" => Ok(Kind::Video),
        "character" => Ok(Kind::Character),
        other => bail!("{}: `kind = \"{other}\"` is not a pack kind; use \"sprite\", \"video\" or \"character\"", manifest.display()),
    }
}

/// Whether `pack` is drawn by Vulkan (a character pack).
pub fn needs_vulkan(pack: &Path) -> bool {
    matches!(pack_kind(pack), Ok(Kind::Character))
}

/// The lip-sync settings for a video pack: the config's model, else the pack's own
/// trained face model.
fn lipsync_config(config: &Config, manifest: &video::VideoManifest) -> LipsyncConfig {
    let mut lipsync = config.avatar.lipsync.clone();
    if let (true, Some(own)) = (lipsync.model.as_os_str().is_empty(), &manifest.face_model) {
        lipsync.model = config.avatar.pack.join(own);
    }
    lipsync
}

/// The face enhancer `avatar.lipsync.enhancer` names, if any.
fn load_enhancer(lipsync: &LipsyncConfig, config: &Config) -> Result<Option<FaceEnhancer>> {
    if lipsync.enhancer.as_os_str().is_empty() {
        return Ok(None);
    }
    let e = FaceEnhancer::load(lipsync, &config.voice.onnxruntime_path())?;
    tracing::info!(enhancer = %lipsync.enhancer.display(), size = e.size, blend = lipsync.enhancer_blend, "face enhancer ready");
    Ok(Some(e))
}

/// The enhancer works on the faces the model redraws: alone it would never run.
fn no_enhancer_without_model(lipsync: &LipsyncConfig) -> Result<()> {
    if !lipsync.enhancer.as_os_str().is_empty() {
        bail!("`avatar.lipsync.enhancer` enhances the faces a lip-sync model redraws: set `avatar.lipsync.model` (or train the pack's own with `avatarcast avatar train`), or leave the enhancer \"\"");
    }
    Ok(())
}

/// What one frame of the host shows, decided when the timeline makes the frame
/// (drawing may come a few frames later, see `Avatar::lookahead_frames`).
#[derive(Debug, Clone)]
pub enum Plan {
    Sprite { pose: Pose, body: sprite::SpritePlan },
    Video(video::VideoPlan),
    Character(character::CharacterPlan),
}

pub enum Avatar {
    Sprite { art: SpriteAvatar, motion: Motion },
    Video(VideoAvatar),
    Character(Box<CharacterAvatar>),
}

impl Avatar {
    /// Loads `avatar.pack`; a video pack also starts its lip-sync model.
    pub fn load(config: &Config) -> Result<Avatar> {
        let pack = &config.avatar.pack;
        let size = config.video.size;
        match pack_kind(pack)? {
            Kind::Sprite => Ok(Avatar::Sprite {
                art: SpriteAvatar::load(pack, size.width, size.height, config.video.fps)?,
                motion: Motion::new(config.video.fps, config.avatar.seed),
            }),
            Kind::Video => {
                let mut v = VideoAvatar::load(pack, size.width, size.height, config.video.fps)?;
                let lipsync = &lipsync_config(config, &v.manifest);
                if lipsync.model.as_os_str().is_empty() {
                    no_enhancer_without_model(lipsync)?;
                    tracing::warn!("avatar pack {}: no `avatar.lipsync.model`, so the mouth shows the footage as recorded", pack.display());
                } else {
                    let model = FaceModel::load(lipsync, &config.voice.onnxruntime_path())?;
                    tracing::info!(model = %lipsync.model.display(), provider = ?lipsync.provider, size = model.size, "neural lip-sync ready");
                    let enhancer = load_enhancer(lipsync, config)?;
                    v.attach_lipsync(NeuralLipSync::start(model, enhancer, config.video.fps, lipsync.batch));
                }
                Ok(Avatar::Video(v))
            }
            Kind::Character => Ok(Avatar::Character(Box::new(CharacterAvatar::load(pack, size, config.video.fps, &config.avatar)?))),
        }
    }

    /// What `avatarcast check` can say about the pack without decoding its footage:
    /// its manifest, layers or files, consent, played frames, and the lip-sync model
    /// (loaded when ONNX Runtime is there, else only looked for).
    pub fn check(config: &Config, have_onnxruntime: bool) -> Result<String> {
        let pack = &config.avatar.pack;
        match pack_kind(pack)? {
            Kind::Sprite => {
                let s = SpriteAvatar::load(pack, config.video.size.width, config.video.size.height, config.video.fps)?;
                Ok(format!("sprite pack {} ({} gestures)", s.manifest.name, s.manifest.gestures.len()))
            }
            Kind::Video => {
                let (m, played) = VideoAvatar::check(pack)?;
                let lipsync = &lipsync_config(config, &m);
                let model = match lipsync.model.as_os_str().is_empty() {
                    true => {
                        no_enhancer_without_model(lipsync)?;
                        "no lip-sync model".to_string()
                    }
                    false if have_onnxruntime => {
                        let f = FaceModel::load(lipsync, &config.voice.onnxruntime_path())?;
                        let enhancer = match load_enhancer(lipsync, config)? {
                            Some(e) => format!(", face enhancer {} ({}x{})", lipsync.enhancer.display(), e.size, e.size),
                            None => String::new(),
                        };
                        format!("lip-sync model {} ({}x{}, {:?}){enhancer}", lipsync.model.display(), f.size, f.size, lipsync.provider)
                    }
                    false if lipsync.model.is_file() => format!("lip-sync model {}", lipsync.model.display()),
                    false => bail!("lip-sync model {} not found: set `avatar.lipsync.model`", lipsync.model.display()),
                };
                let (w, h) = played.size();
                Ok(format!("video pack {} ({} gestures, {} played frames of {w}x{h}), {model}", m.name, m.gestures.len(), played.frames))
            }
            Kind::Character => CharacterAvatar::check(pack),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Avatar::Sprite { art, .. } => &art.manifest.name,
            Avatar::Video(v) => &v.manifest.name,
            Avatar::Character(c) => &c.manifest.name,
        }
    }

    /// What the model's licence asks viewers to be told (a 3D host's credits).
    pub fn credits(&self) -> Option<String> {
        match self {
            Avatar::Character(c) => c.credits(),
            _ => None,
        }
    }

    /// Frames the picture trails the timeline (the lip-sync model reads ahead).
    pub fn lookahead_frames(&self) -> u64 {
        match self {
            Avatar::Sprite { .. } => 0,
            Avatar::Video(v) => v.lookahead_frames(),
            Avatar::Character(_) => 0,
        }
    }

    pub fn set_framing(&mut self, framing: Framing) {
        match self {
            Avatar::Sprite { art, .. } => art.set_framing(framing),
            Avatar::Video(v) => v.set_framing(framing),
            Avatar::Character(c) => c.set_framing(framing),
        }
    }

    pub fn placement(&self) -> Placement {
        match self {
            Avatar::Sprite { art, .. } => art.placement(),
            Avatar::Video(v) => v.placement(),
            // Drawn by its own camera at the frame's scale.
            Avatar::Character(_) => Placement { scale: 1.0, dx: 0.0, dy: 0.0 },
        }
    }

    pub fn gesture_names(&self) -> Vec<String> {
        match self {
            Avatar::Sprite { art, .. } => art.gesture_names(),
            Avatar::Video(v) => v.gesture_names(),
            Avatar::Character(c) => c.gesture_names(),
        }
    }

    /// Asks for gesture `name`: it starts at a natural point from the next frame the
    /// avatar plans (so an API request and a markup cue go by the same clock).
    pub fn gesture(&mut self, name: &str) -> Result<()> {
        if !self.gesture_names().iter().any(|g| g == name) {
            let have = self.gesture_names();
            let have = if have.is_empty() { "none".to_string() } else { have.join(", ") };
            bail!("gesture `{name}` is not in avatar pack {} (it has: {have}); skipped", self.name());
        }
        match self {
            Avatar::Sprite { art, .. } => art.request(name),
            Avatar::Video(v) => v.request(name),
            Avatar::Character(c) => c.request(name),
        }
        Ok(())
    }

    /// Decides frame `n`: markup cues reached in it, the mouth shape from timings, its
    /// audio. Call once per frame, in order.
    pub fn plan(&mut self, n: u64, mouth: Mouth, steps: FrameSteps, speaking: bool, audio: &[i16], cues: &[Cue]) -> Plan {
        for cue in cues {
            let started = match cue {
                Cue::Emphasis => {
                    match self {
                        Avatar::Sprite { motion, .. } => motion.emphasise(n),
                        Avatar::Character(c) => c.emphasise(n),
                        Avatar::Video(_) => {}
                    }
                    Ok(())
                }
                Cue::Gesture(g) => self.gesture(g),
                Cue::Emotion(e) => {
                    match self {
                        Avatar::Character(c) => c.feel(*e),
                        _ => tracing::debug!("[emotion {e:?}]: a 2D host has no expressions; skipped"),
                    }
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(e) = started {
                tracing::warn!("show markup: {e:#}");
            }
        }
        match self {
            Avatar::Sprite { art, motion } => {
                let (body, head) = art.plan(n);
                if let Some(head) = head {
                    motion.head_move(head, n);
                }
                Plan::Sprite { pose: motion.pose(n, mouth, speaking), body }
            }
            Avatar::Video(v) => Plan::Video(v.plan(n, audio, steps)),
            Avatar::Character(c) => Plan::Character(c.plan(n, &steps, speaking)),
        }
    }

    /// Draws frame `n` as planned. `deadline`: how long a video pack may wait for its
    /// mouth (live: the frame's due time; None in render mode: as long as it takes).
    /// The pixels `draw` may touch for `plan` in a width x height frame.
    pub fn bounds(&self, plan: &Plan, width: u32, height: u32) -> Option<crate::raster::Region> {
        match (self, plan) {
            (Avatar::Sprite { art, .. }, Plan::Sprite { pose, body }) => art.bounds(pose, body, width, height),
            (Avatar::Video(v), Plan::Video(_)) => v.bounds(width, height),
            (Avatar::Character(c), Plan::Character(p)) => c.bounds(p, width, height),
            _ => None,
        }
    }

    pub fn draw(&mut self, frame: &mut PixmapMut, n: u64, plan: &Plan, deadline: Option<Instant>) {
        match (self, plan) {
            (Avatar::Sprite { art, .. }, Plan::Sprite { pose, body }) => art.draw(frame, pose, body),
            (Avatar::Video(v), Plan::Video(p)) => v.draw(frame, n, p, deadline),
            (Avatar::Character(c), Plan::Character(p)) => c.draw(frame, p),
            _ => debug_assert!(false, "a plan from another pack"),
        }
    }

    /// Per-stage times of the neural lip-sync, when it runs.
    pub fn lipsync_times(&self) -> Option<std::sync::Arc<StageTimes>> {
        match self {
            Avatar::Video(v) => v.lipsync().map(|l| l.times.clone()),
            _ => None,
        }
    }
}
