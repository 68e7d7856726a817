//! `[avatar]` and `[avatar.lipsync]`: the host and the face model that redraws a video pack's mouth.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AvatarConfig {
    /// Avatar pack folder (avatar.toml and its media; docs/avatar-packs.md).
    pub pack: PathBuf,
    /// Seed for blinks and idle motion, so a render is reproducible.
    pub seed: u64,
    /// The face model that redraws a video pack's mouth.
    pub lipsync: LipsyncConfig,
    /// Which Vulkan device draws a 3D host: "auto" (a GPU if there is one, else the
    /// CPU), "cpu" (Mesa's lavapipe) or "gpu".
    pub render_device: RenderDevice,
    /// A 3D host's hair and clothes swing with its motion (the model's spring bones);
    /// false keeps them fixed to the body.
    pub spring_bones: bool,
    /// A 3D host is drawn at this share of the frame's size and scaled up onto it:
    /// below 1 the draw costs about its square (on lavapipe the draw is most of it).
    pub render_scale: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RenderDevice {
    #[default]
    Auto,
    Cpu,
    Gpu,
}

impl Default for AvatarConfig {
    fn default() -> Self {
        AvatarConfig { pack: PathBuf::from("assets/avatars/cartoon-host"), seed: 7, lipsync: Default::default(), render_device: RenderDevice::Auto, spring_bones: true, render_scale: 1.0 }
    }
}

/// `[avatar.lipsync]`: the face model that redraws a video pack's mouth.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LipsyncConfig {
    /// An ONNX model with the Wav2Lip signature, e.g. a wav2lip_gan 96x96 export (see
    /// docs/avatar-packs.md); "" for none (a video pack then shows its own mouth).
    pub model: PathBuf,
    /// "cpu", "cuda" or "tensorrt"; a GPU provider that cannot start is an error.
    pub provider: Provider,
    /// GPU number for cuda and tensorrt.
    pub device: i32,
    /// Frames per model run at most.
    pub batch: usize,
    /// CPU threads for the model (0: all cores).
    pub threads: usize,
    /// An optional face enhancer run after the mouth (enhancer.rs), "" for none: a
    /// GFPGAN-style ONNX export, for GPU machines.
    pub enhancer: PathBuf,
    /// How much of the enhanced face shows (0-1).
    pub enhancer_blend: f32,
}

impl Default for LipsyncConfig {
    fn default() -> Self {
        LipsyncConfig { model: PathBuf::new(), provider: Provider::Cpu, device: 0, batch: 4, threads: 0, enhancer: PathBuf::new(), enhancer_blend: 0.8 }
    }
}

impl AvatarConfig {
    pub fn validate(&self) -> Result<()> {
        if !(0.25..=1.0).contains(&self.render_scale) {
            bail!("`avatar.render_scale`: {} is out of range; use 0.25 to 1 (1: full size; 0.6 about triples lavapipe's speed)", self.render_scale);
        }
        self.lipsync.validate()
    }
}

impl LipsyncConfig {
    pub fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.batch) {
            bail!("`avatar.lipsync.batch`: {} is out of range; use 1 to 64 (4 suits a CPU, 8-16 a GPU)", self.batch);
        }
        if self.threads > 64 || self.device < 0 {
            bail!("`avatar.lipsync.threads` is 0 (all cores) to 64 and `avatar.lipsync.device` a GPU number from 0");
        }
        if !(self.enhancer_blend > 0.0 && self.enhancer_blend <= 1.0) {
            bail!("`avatar.lipsync.enhancer_blend`: {} is out of range; use more than 0 up to 1 (0.8 is usual)", self.enhancer_blend);
        }
        Ok(())
    }
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    #[default]
    Cpu,
    Cuda,
    Tensorrt,
}
