//! Video packs: a real person's recorded footage. The idle section plays forth and
//! back (no jump cut); gesture clips start from the idle frame that matches their
//! first frame and return to the one that matches their last, with short crossfades
//! (playback.rs); the frames come keyed from the pack's played frames (played.rs),
//! decoded a few ahead by the player thread (player.rs); the neural lip-sync redraws
//! the mouth inside each frame's face box.

pub mod faces;
mod manifest;
mod playback;
pub mod played;
mod player;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{Pixmap, PixmapMut};

use super::consent::ConsentRecord;
use super::key::ChromaKey;
use super::manifest::{Placement, read_manifest};
use crate::cue::Framing;
use crate::lipsync::neural::{FaceCrop, NeuralLipSync, Patch};
use crate::lipsync::phonetic::FrameSteps;
pub use manifest::{FaceTrack, FrameRange, LandmarkFrame, LandmarkTrack, VideoGesture, VideoManifest};
use playback::Playback;
use played::{FrameStore, PlayedInfo, UsedFrames};
use player::{Player, Shown};

/// What a video frame shows: a footage frame and its picture, perhaps fading from
/// another.
#[derive(Debug, Clone)]
pub struct VideoPlan {
    shown: Shown,
}

pub struct VideoAvatar {
    pub manifest: VideoManifest,
    /// The played frames' size: the footage's full-body framing box.
    size: (u32, u32),
    /// Face crops by footage frame, in the played frames' pixels.
    faces: BTreeMap<usize, FaceCrop>,
    framing: Framing,
    placements: [Placement; 2],
    player: Player,
    lipsync: Option<NeuralLipSync>,
    /// A crossfade's blend of two frames.
    scratch: Option<Pixmap>,
    /// The face's bounds with the redrawn mouth.
    face: Option<Pixmap>,
}

impl VideoAvatar {
    /// Reads avatar.toml and checks it: ranges, key or matte, files present (not consent).
    pub fn manifest_without_consent(pack: &Path) -> Result<VideoManifest> {
        let manifest_path = pack.join("avatar.toml");
        let text = read_manifest(pack)?;
        let m: VideoManifest =
            crate::config::from_toml(&text).with_context(|| format!("avatar pack manifest {}", manifest_path.display()))?;
        let at = |what: &str| format!("{}: {what}", manifest_path.display());
        if m.idle.last < m.idle.first + 2 {
            bail!("{}", at("`idle` needs at least 3 frames (last > first + 1)"));
        }
        for (name, g) in &m.gestures {
            if g.last <= g.first {
                bail!("{}", at(&format!("gesture `{name}`: `last` must come after `first`")));
            }
            for (field, v) in [("entry", g.entry), ("returns_to", g.returns_to)] {
                if !(m.idle.first..=m.idle.last).contains(&v) {
                    bail!("{}", at(&format!("gesture `{name}`: `{field}` = {v} is not an idle frame ({}..={})", m.idle.first, m.idle.last)));
                }
            }
        }
        if m.key.is_some() && m.alpha_video.is_some() {
            bail!("{}", at("give [key] (green or blue screen) or `alpha_video` (a matte), not both"));
        }
        if let Some(k) = &m.key {
            ChromaKey::new(k).with_context(|| at("[key]"))?;
        }
        for (field, file) in
            [("video", Some(&m.video)), ("alpha_video", m.alpha_video.as_ref()), ("faces", Some(&m.faces)), ("face_model", m.face_model.as_ref())]
        {
            if let Some(file) = file.filter(|f| !pack.join(f).is_file()) {
                bail!("{}", at(&format!("`{field}` = \"{file}\": {} not found", pack.join(file).display())));
            }
        }
        Ok(m)
    }

    /// `manifest_without_consent`, and a real person's consent on record.
    pub fn manifest(pack: &Path) -> Result<VideoManifest> {
        let m = Self::manifest_without_consent(pack)?;
        if m.real_person {
            ConsentRecord::check(m.consent.as_ref(), pack)?;
        }
        Ok(m)
    }

    /// The manifest with its consent, and its played frames made from what it says now.
    pub fn check(pack: &Path) -> Result<(VideoManifest, PlayedInfo)> {
        let m = Self::manifest(pack)?;
        let info = played::check(pack, &m)?;
        Ok((m, info))
    }

    pub fn load(pack: &Path, width: u32, height: u32, fps: u32) -> Result<VideoAvatar> {
        let started = Instant::now();
        let (manifest, info) = Self::check(pack)?;
        let m = &manifest;
        if (info.footage_fps - fps as f64).abs() > 0.5 {
            tracing::warn!("avatar pack {}: the footage is {:.2} fps and the stream {fps} fps; it plays at {:.0} % speed", pack.display(), info.footage_fps, fps as f64 / info.footage_fps * 100.0);
        }
        let used = UsedFrames::new(m);
        let faces = face_crops(pack, m, &used, &info)?;
        let store = FrameStore::open(pack, info.clone()).with_context(|| format!("avatar pack {}", pack.display()))?;
        let player = Player::start(store, used.clone(), Playback::new(m.idle, m.gestures.clone(), fps))
            .with_context(|| format!("avatar pack {}: {}", pack.display(), played::FILE))?;
        // Everything below is in the kept box's pixels.
        let [cx, cy, ..] = info.kept;
        let shift = |r: [f32; 4]| [r[0] - cx as f32, r[1] - cy as f32, r[2], r[3]];
        let placements = [Placement::fit(shift(m.framing.half), width, height), Placement::fit(shift(m.framing.full), width, height)];
        let (w, h) = info.size();
        tracing::info!(
            "avatar pack {}: {} frames of {w}x{h} (the full-body framing), decoded from {} as they play; ready in {:.2} s",
            m.name,
            info.frames,
            played::FILE,
            started.elapsed().as_secs_f64()
        );
        Ok(VideoAvatar {
            manifest,
            size: (w, h),
            faces,
            framing: Framing::Half,
            placements,
            player,
            lipsync: None,
            scratch: None,
            face: None,
        })
    }

    pub fn attach_lipsync(&mut self, lipsync: NeuralLipSync) {
        self.lipsync = Some(lipsync);
    }

    pub fn lipsync(&self) -> Option<&NeuralLipSync> {
        self.lipsync.as_ref()
    }

    pub fn lookahead_frames(&self) -> u64 {
        self.lipsync.as_ref().map_or(0, |l| l.lookahead_frames())
    }

    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
    }

    pub fn placement(&self) -> Placement {
        self.placements[match self.framing {
            Framing::Half => 0,
            Framing::Full => 1,
        }]
    }

    pub fn gesture_names(&self) -> Vec<String> {
        self.manifest.gestures.keys().cloned().collect()
    }

    /// Asks for a gesture: it starts when the idle passes its entry frame (at most
    /// 1.2 s after the player's next frame).
    pub fn request(&mut self, name: &str) {
        self.player.request(name);
    }

    /// Takes the footage frame for stream frame `n` from the player and hands its
    /// audio and face to the lip-sync; call once per frame, in order.
    pub fn plan(&mut self, n: u64, audio: &[i16], steps: FrameSteps) -> VideoPlan {
        let shown = self.player.next();
        let face = self.faces.get(&shown.frame).map(|c| (shown.picture.image.clone(), c.clone()));
        if let Some(l) = &mut self.lipsync {
            l.push(n, audio, steps, face);
        }
        VideoPlan { shown }
    }

    /// The pixels `draw` may touch: the pack's frame (all its frames share one size),
    /// placed.
    pub fn bounds(&self, width: u32, height: u32) -> Option<crate::raster::Region> {
        let (p, (w, h)) = (self.placement(), self.size);
        crate::raster::Region::covering([p.dx, p.dy, w as f32 * p.scale, h as f32 * p.scale], 2.0, width, height)
    }

    /// Draws frame `n` as planned; waits for its mouth until `deadline` (None: as long
    /// as it takes).
    pub fn draw(&mut self, out: &mut PixmapMut, n: u64, plan: &VideoPlan, deadline: Option<Instant>) {
        let p = self.placement();
        let patch: Option<Patch> = self.lipsync.as_mut().and_then(|l| l.take(n, deadline));
        let shown = &plan.shown;
        let source = &*shown.picture.image;
        let mut content = shown.picture.content;
        let image = match &shown.fade_from {
            Some((_, from, w)) => {
                let c = from.content;
                content = [content[0].min(c[0]), content[1].min(c[1]), content[2].max(c[2]), content[3].max(c[3])];
                let scratch = self.scratch.get_or_insert_with(|| source.clone());
                let wf = (w * 256.0) as u32;
                for ((o, s), a) in scratch.data_mut().iter_mut().zip(source.data()).zip(from.image.data()) {
                    *o = ((*s as u32 * (256 - wf) + *a as u32 * wf) >> 8) as u8;
                }
                &*scratch
            }
            None => source,
        };
        let width = out.width() as usize;
        crate::raster::draw_scaled(out.data_mut(), width, image, content, p.scale, p.dx, p.dy);
        // The redrawn mouth: the face's bounds alone, drawn over at the same placement.
        if let Some(patch) = &patch {
            let t = Instant::now();
            let face = patch.face_image(image, &mut self.face);
            let (x0, y0) = (patch.bounds.x0 as f32, patch.bounds.y0 as f32);
            let whole = [0, 0, face.width(), face.height()];
            crate::raster::draw_scaled(out.data_mut(), width, face, whole, p.scale, p.dx + x0 * p.scale, p.dy + y0 * p.scale);
            if let Some(l) = &self.lipsync {
                l.times.paste_ns.fetch_add(t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// The played frames' face crops, in the kept box's pixels.
fn face_crops(pack: &Path, m: &VideoManifest, used: &UsedFrames, info: &PlayedInfo) -> Result<BTreeMap<usize, FaceCrop>> {
    let faces = faces::PackFaces::read(pack, m)?;
    let [cx, cy, ..] = info.kept;
    let (kw, kh) = info.size();
    let crops: BTreeMap<usize, FaceCrop> = used.frames().filter_map(|i| Some((i, faces.crop(i, [cx, cy], kw, kh)?))).collect();
    let missing = used.len() - crops.len();
    if missing > 0 {
        tracing::warn!("avatar pack {}: {missing} of {} frames have no face; their mouth is not redrawn", pack.display(), used.len());
    }
    Ok(crops)
}
