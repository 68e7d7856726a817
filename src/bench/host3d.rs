//! `avatarcast bench --host3d`: what a 3D host costs per frame on this machine, stage
//! by stage (pose: bones, morphs and skinning on the CPU; draw: upload, draw and copy
//! on the Vulkan device; read-back; blend onto the canvas), while it speaks.

use anyhow::{Result, bail};
use serde::Serialize;

use crate::avatar::Avatar;
use crate::config::Config;
use crate::lipsync::Mouth;
use crate::lipsync::phonetic::STEPS_PER_FRAME;

#[derive(Debug, Serialize)]
pub struct Host3dBench {
    pub pack: String,
    pub adapter: String,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    /// Medians, milliseconds a frame.
    pub pose_ms: f64,
    pub draw_ms: f64,
    pub read_back_ms: f64,
    pub blend_ms: f64,
    pub total_ms: f64,
    /// The host's share of the frame that is drawn and read back.
    pub covered: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Plans and draws `frames` frames of the config's 3D pack with the mouth cycling
/// through speech shapes, after a few warm-up frames.
pub fn run(config: &Config, frames: usize) -> Result<Host3dBench> {
    let mut avatar = Avatar::load(config)?;
    let Avatar::Character(host) = &mut avatar else { bail!("bench --host3d: avatar.pack {} is not a 3D (character) pack", config.avatar.pack.display()) };
    let size = config.video.size;
    let mut canvas = resvg::tiny_skia::Pixmap::new(size.width, size.height).expect("frame size");
    let shapes = [Mouth::X, Mouth::B, Mouth::D, Mouth::C, Mouth::F, Mouth::A, Mouth::E];
    let (mut pose, mut draw, mut read, mut blend, mut total, mut covered) = (vec![], vec![], vec![], vec![], vec![], 0.0);
    for n in 0..frames + 5 {
        let mouth = shapes[n / 3 % shapes.len()];
        let plan = host.plan(n as u64, &[mouth; STEPS_PER_FRAME], mouth != Mouth::X);
        host.draw(&mut canvas.as_mut(), &plan);
        if n < 5 {
            continue;
        }
        let t = host.times;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        pose.push(ms(t.pose));
        draw.push(ms(t.draw));
        read.push(ms(t.read_back));
        blend.push(ms(t.blend));
        total.push(ms(t.pose + t.draw + t.read_back + t.blend));
        covered += host.coverage(&plan);
    }
    Ok(Host3dBench {
        pack: config.avatar.pack.display().to_string(),
        adapter: host.adapter().to_string(),
        width: size.width,
        height: size.height,
        frames,
        pose_ms: median(pose),
        draw_ms: median(draw),
        read_back_ms: median(read),
        blend_ms: median(blend),
        total_ms: median(total),
        covered: covered / frames as f64,
    })
}
