//! Video packs: a real person's recorded footage. The idle section plays forth and
//! back (no jump cut); gesture clips start from the idle frame that matches their
//! first frame and return to the one that matches their last, with short crossfades;
//! alpha comes from a chroma key or an alpha video; the neural lip-sync redraws the
//! mouth inside each frame's face box.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use resvg::tiny_skia::{IntSize, Pixmap, PixmapMut};
use serde::{Deserialize, Serialize};

use super::consent::ConsentRecord;
use super::key::{ChromaKey, KeySettings};
use super::manifest::{FramingRects, Placement, read_manifest};
use crate::cue::Framing;
use crate::lipsync::neural::{NeuralLipSync, Patch, Rect};
use crate::lipsync::phonetic::FrameSteps;

fn yes() -> bool {
    true
}
fn default_faces() -> String {
    "faces.json".into()
}
fn default_padding() -> [f32; 4] {
    [0.0, 10.0, 0.0, 0.0]
}

/// avatar.toml of a video pack (docs/avatar-packs.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VideoManifest {
    pub name: String,
    pub kind: String,
    /// Footage of a real person needs their consent on record; set false only for
    /// rendered characters.
    #[serde(default = "yes")]
    pub real_person: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentRecord>,
    /// The footage, inside the pack.
    pub video: String,
    /// A grey matte of the same length and size (white: the person), instead of `key`.
    /// With neither, the footage is shown whole, its own background included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha_video: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<KeySettings>,
    /// Face box [x, y, w, h] of every frame (JSON, see docs).
    #[serde(default = "default_faces")]
    pub faces: String,
    /// Grows each face box [top, bottom, left, right] before the crop (Wav2Lip: 10 px below the chin).
    #[serde(default = "default_padding")]
    pub face_padding: [f32; 4],
    pub idle: FrameRange,
    #[serde(default)]
    pub gestures: BTreeMap<String, VideoGesture>,
    /// The presenter's own face model, inside the pack (written by `avatar train`);
    /// used unless the config names another in `avatar.lipsync.model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub face_model: Option<String>,
    pub framing: FramingRects,
}

/// Frames [first, last] of the footage, both included.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FrameRange {
    pub first: usize,
    pub last: usize,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VideoGesture {
    pub first: usize,
    pub last: usize,
    /// The idle frame its first frame follows best: the gesture starts when the idle
    /// passes it.
    pub entry: usize,
    /// The idle frame its last frame leads into best.
    pub returns_to: usize,
}

/// faces.json: one box per frame of the footage (null where no face was found).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaceTrack {
    /// How the boxes were found (for people reading the file).
    #[serde(default)]
    pub source: String,
    pub boxes: Vec<Option<[f32; 4]>>,
}

/// Crossfade lengths, in frames.
const FADE_FRAMES: u64 = 4;
const LONG_FADE_FRAMES: u64 = 8;
/// A gesture waits at most this long for the idle to reach its entry frame.
const MAX_WAIT_SECONDS: f32 = 1.2;
/// Idle frames this close to the entry count as reaching it.
const ENTRY_SLACK: usize = 2;

/// What a video frame shows: a footage frame, perhaps fading from another, and the
/// face the lip-sync redraws.
#[derive(Debug, Clone, Copy)]
pub struct VideoPlan {
    pub frame: usize,
    /// (footage frame fading out, its weight 0..1).
    pub fade_from: Option<(usize, f32)>,
}

#[derive(Debug, Clone)]
enum Playback {
    Idle,
    Gesture { name: String, start: u64 },
}

pub struct VideoAvatar {
    pub manifest: VideoManifest,
    /// The footage frames the pack uses (idle and gestures only), keyed and
    /// premultiplied, in footage order; `used` maps footage frames to them.
    frames: Arc<Vec<Pixmap>>,
    used: UsedFrames,
    /// Each frame's visible box [x0, y0, x1, y1): drawing reads only that.
    content: Vec<[u32; 4]>,
    faces: Vec<Option<Rect>>,
    framing: Framing,
    placements: [Placement; 2],
    /// Position in the idle's forth-and-back cycle.
    idle_phase: u64,
    playback: Playback,
    /// A gesture asked for, and the frame its wait began (set by the next `plan`).
    pending: Option<(String, Option<u64>)>,
    fade: Option<(usize, u64, u64)>,
    lipsync: Option<NeuralLipSync>,
    /// A crossfade's blend of two frames.
    scratch: Option<Pixmap>,
    /// The face box with the redrawn mouth.
    face: Option<Pixmap>,
}

impl VideoAvatar {
    /// Reads avatar.toml and checks it: ranges, key or matte, consent, files present.
    pub fn manifest(pack: &Path) -> Result<VideoManifest> {
        let manifest_path = pack.join("avatar.toml");
        let text = read_manifest(pack)?;
        let m: VideoManifest =
            crate::config::from_toml(&text).with_context(|| format!("avatar pack manifest {}", manifest_path.display()))?;
        if m.real_person {
            ConsentRecord::check(m.consent.as_ref(), pack)?;
        }
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

    pub fn load(pack: &Path, width: u32, height: u32, fps: u32) -> Result<VideoAvatar> {
        let manifest = Self::manifest(pack)?;
        let m = &manifest;
        let at = |what: &str| format!("{}: {what}", pack.join("avatar.toml").display());
        let key = m.key.as_ref().map(ChromaKey::new).transpose()?;
        let used = UsedFrames::new(m);
        let last = used.last();

        let started = Instant::now();
        let matte = match &m.alpha_video {
            Some(file) => Some(read_matte(&pack.join(file), &used, m.framing.full)?),
            None => None,
        };
        let video_path = pack.join(&m.video);
        let mut frames = Vec::with_capacity(used.len());
        // Only the full-body framing (the person's extent) is kept of each frame.
        let mut crop = [0u32; 4];
        let mut video_fps = 0.0;
        crate::media::decode::for_each_frame(&video_path, |i, info, rgba| {
            video_fps = info.fps;
            crop = keep_box(m.framing.full, info.width, info.height);
            let Some(slot) = used.slot(i) else { return Ok(i < last) };
            // Cut first, then key: nothing outside the kept box is worked on.
            let mut kept = cut(rgba, info.width, crop, 4);
            match (&key, &matte) {
                (Some(key), _) => key.apply(&mut kept),
                (None, Some(matte)) => {
                    let alpha = matte.get(slot).with_context(|| format!("alpha video is shorter than the footage (frame {i})"))?;
                    premultiply_with(&mut kept, alpha);
                }
                _ => {}
            }
            let [x0, y0, x1, y1] = crop;
            frames.push(Pixmap::from_vec(kept, IntSize::from_wh(x1 - x0, y1 - y0).context("frame size")?).context("frame")?);
            Ok(i < last)
        })
        .with_context(|| format!("avatar pack {}", pack.display()))?;
        if frames.len() < used.len() {
            bail!("{}", at(&format!("uses frames up to {last}, but {} ends sooner", video_path.display())));
        }
        if (video_fps - fps as f64).abs() > 0.5 {
            tracing::warn!("avatar pack {}: the footage is {video_fps:.2} fps and the stream {fps} fps; it plays at {:.0} % speed", pack.display(), fps as f64 / video_fps * 100.0);
        }
        let faces_path = pack.join(&m.faces);
        let track: FaceTrack = serde_json::from_str(
            &std::fs::read_to_string(&faces_path).with_context(|| format!("cannot read the face boxes {}", faces_path.display()))?,
        )
        .with_context(|| format!("face boxes {}: expected {{\"boxes\": [[x, y, w, h] or null, ...]}}", faces_path.display()))?;
        // Everything below is in the kept box's pixels.
        let [cx, cy, cx1, cy1] = crop;
        let (kw, kh) = (cx1 - cx, cy1 - cy);
        let shift = |r: [f32; 4]| [r[0] - cx as f32, r[1] - cy as f32, r[2], r[3]];
        let faces: Vec<Option<Rect>> = used
            .frames()
            .map(|i| track.boxes.get(i).copied().flatten().and_then(|b| Rect::padded(shift(b), m.face_padding, kw, kh)))
            .collect();
        let missing = faces.iter().filter(|f| f.is_none()).count();
        if missing > 0 {
            tracing::warn!("avatar pack {}: {missing} of {} frames have no face box; their mouth is not redrawn", pack.display(), faces.len());
        }
        let placements = [Placement::fit(shift(m.framing.half), width, height), Placement::fit(shift(m.framing.full), width, height)];
        let mb = frames.len() as f64 * kw as f64 * kh as f64 * 4.0 / 1e6;
        tracing::info!(
            "avatar pack {}: {} frames of {kw}x{kh} (the full-body framing) in memory ({mb:.0} MB), read in {:.1} s",
            m.name,
            frames.len(),
            started.elapsed().as_secs_f64()
        );
        let content = frames.iter().map(crate::raster::content_box).collect();
        Ok(VideoAvatar {
            manifest,
            content,
            frames: Arc::new(frames),
            used,
            faces,
            framing: Framing::Half,
            placements,
            idle_phase: 0,
            playback: Playback::Idle,
            pending: None,
            fade: None,
            lipsync: None,
            scratch: None,
            face: None,
        })
    }

    /// The pack's frames, for the lip-sync worker (indexed as `UsedFrames::slot`).
    pub fn frames(&self) -> Arc<Vec<Pixmap>> {
        self.frames.clone()
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
    /// MAX_WAIT_SECONDS after the next `plan`).
    pub fn request(&mut self, name: &str) {
        self.pending = Some((name.to_string(), None));
    }

    fn idle_frame(&self, phase: u64) -> usize {
        forth_and_back(self.manifest.idle, phase)
    }

    /// Picks the footage frame for stream frame `n` and hands its audio and face to the
    /// lip-sync; call once per frame, in order.
    pub fn plan(&mut self, n: u64, audio: &[i16], steps: FrameSteps, fps: u32) -> VideoPlan {
        let frame = self.next_frame(n, fps);
        let fade_from = match self.fade {
            Some((from, start, frames)) if n < start + frames => Some((from, 1.0 - (n - start + 1) as f32 / (frames + 1) as f32)),
            _ => {
                self.fade = None;
                None
            }
        };
        let slot = self.used.slot(frame).expect("plans only frames the pack uses");
        let face = self.faces[slot].map(|r| (slot, r));
        if let Some(l) = &mut self.lipsync {
            l.push(n, audio, steps, face);
        }
        VideoPlan { frame, fade_from }
    }

    fn next_frame(&mut self, n: u64, fps: u32) -> usize {
        if let Playback::Gesture { name, start } = &self.playback {
            let g = self.manifest.gestures[name];
            let t = (n - start) as usize;
            if g.first + t <= g.last {
                return g.first + t;
            }
            // Back into the idle at the frame the gesture's end leads into, going forwards.
            self.idle_phase = (g.returns_to - self.manifest.idle.first) as u64;
            self.fade = Some((g.last, n, FADE_FRAMES));
            self.playback = Playback::Idle;
        }
        let idle = self.idle_frame(self.idle_phase);
        if let Some((name, asked)) = &mut self.pending {
            let asked = *asked.get_or_insert(n);
            let g = self.manifest.gestures[name.as_str()];
            let waited = (n - asked) as f32 / fps as f32;
            if idle.abs_diff(g.entry) <= ENTRY_SLACK || waited >= MAX_WAIT_SECONDS {
                let fade = if idle.abs_diff(g.entry) <= ENTRY_SLACK { FADE_FRAMES } else { LONG_FADE_FRAMES };
                self.fade = Some((idle, n, fade));
                let (name, _) = self.pending.take().expect("pending");
                self.playback = Playback::Gesture { name, start: n };
                return g.first;
            }
        }
        self.idle_phase += 1;
        idle
    }

    /// Draws frame `n` as planned; waits for its mouth until `deadline` (None: as long
    /// as it takes).
    /// The pixels `draw` may touch: the pack's frame (all its frames share one size),
    /// placed.
    pub fn bounds(&self, width: u32, height: u32) -> Option<crate::raster::Region> {
        let (p, f) = (self.placement(), self.frames.first()?);
        crate::raster::Region::covering([p.dx, p.dy, f.width() as f32 * p.scale, f.height() as f32 * p.scale], 2.0, width, height)
    }

    pub fn draw(&mut self, out: &mut PixmapMut, n: u64, plan: &VideoPlan, deadline: Option<Instant>) {
        let p = self.placement();
        let patch: Option<Patch> = self.lipsync.as_mut().and_then(|l| l.take(n, deadline));
        let index = self.used.slot(plan.frame).expect("plans only frames the pack uses");
        let source = &self.frames[index];
        let mut content = self.content[index];
        let image = match plan.fade_from {
            Some((from, w)) => {
                let from = self.used.slot(from).expect("fades only between frames the pack uses");
                let c = self.content[from];
                content = [content[0].min(c[0]), content[1].min(c[1]), content[2].max(c[2]), content[3].max(c[3])];
                let scratch = self.scratch.get_or_insert_with(|| source.clone());
                let wf = (w * 256.0) as u32;
                for ((o, s), a) in scratch.data_mut().iter_mut().zip(source.data()).zip(self.frames[from].data()) {
                    *o = ((*s as u32 * (256 - wf) + *a as u32 * wf) >> 8) as u8;
                }
                &*scratch
            }
            None => source,
        };
        let width = out.width() as usize;
        crate::raster::draw_scaled(out.data_mut(), width, image, content, p.scale, p.dx, p.dy);
        // The redrawn mouth: its face box alone, drawn over at the same placement.
        if let Some(patch) = &patch {
            let t = Instant::now();
            let face = patch.face_image(image, &mut self.face);
            let (x0, y0) = (patch.rect.x0 as f32, patch.rect.y0 as f32);
            let whole = [0, 0, face.width(), face.height()];
            crate::raster::draw_scaled(out.data_mut(), width, face, whole, p.scale, p.dx + x0 * p.scale, p.dy + y0 * p.scale);
            if let Some(l) = &self.lipsync {
                l.times.paste_ns.fetch_add(t.elapsed().as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// The pixels [x0, y0, x1, y1) of a frame that a framing rectangle [x, y, w, h]
/// covers, rounded outwards and inside the frame (at least 1x1).
fn keep_box(rect: [f32; 4], width: u32, height: u32) -> [u32; 4] {
    let [x, y, w, h] = rect;
    let x0 = (x.floor().max(0.0) as u32).min(width - 1);
    let y0 = (y.floor().max(0.0) as u32).min(height - 1);
    let x1 = ((x + w).ceil().max(0.0) as u32).clamp(x0 + 1, width);
    let y1 = ((y + h).ceil().max(0.0) as u32).clamp(y0 + 1, height);
    [x0, y0, x1, y1]
}

/// Frame `phase` of a range played forth and back: first..=last, then back down,
/// the turning frames shown once.
fn forth_and_back(range: FrameRange, phase: u64) -> usize {
    let span = (range.last - range.first) as u64;
    let p = phase % (2 * span);
    range.first + if p <= span { p } else { 2 * span - p } as usize
}

/// Premultiplies straight RGBA with a separate alpha plane.
fn premultiply_with(rgba: &mut [u8], alpha: &[u8]) {
    for (p, &a) in rgba.chunks_exact_mut(4).zip(alpha) {
        for v in &mut p[..3] {
            *v = ((*v as u32 * a as u32 + 127) / 255) as u8;
        }
        p[3] = a;
    }
}

/// The pixels of `box` ([x0, y0, x1, y1)) of an image `width` pixels wide, `bytes`
/// per pixel, row after row.
pub(crate) fn cut(image: &[u8], width: u32, [x0, y0, x1, y1]: [u32; 4], bytes: usize) -> Vec<u8> {
    let row = width as usize * bytes;
    (y0 as usize..y1 as usize).flat_map(|y| &image[y * row + x0 as usize * bytes..y * row + x1 as usize * bytes]).copied().collect()
}

/// The alpha video's planes (its red channel) of the frames the pack uses, cut to the
/// box the frames are cut to.
fn read_matte(path: &Path, used: &UsedFrames, full: [f32; 4]) -> Result<Vec<Vec<u8>>> {
    let mut planes = Vec::new();
    crate::media::decode::for_each_frame(path, |i, info, rgba| {
        if used.slot(i).is_some() {
            let red: Vec<u8> = rgba.chunks_exact(4).map(|p| p[0]).collect();
            planes.push(cut(&red, info.width, keep_box(full, info.width, info.height), 1));
        }
        Ok(i < used.last())
    })
    .with_context(|| format!("alpha video {}", path.display()))?;
    Ok(planes)
}

/// The footage frames a pack plays (its idle and gesture ranges, merged), and where
/// each sits among the frames held in memory: footage between them is never held,
/// so a long recording costs only what is played.
#[derive(Debug, Clone)]
struct UsedFrames {
    /// Disjoint ranges in order: (first, last, slot of first).
    ranges: Vec<(usize, usize, usize)>,
}

impl UsedFrames {
    fn new(m: &VideoManifest) -> UsedFrames {
        let mut spans: Vec<(usize, usize)> = m.gestures.values().map(|g| (g.first, g.last)).chain([(m.idle.first, m.idle.last)]).collect();
        spans.sort();
        let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
        let mut held = 0;
        for (a, b) in spans {
            match ranges.last_mut() {
                Some(last) if a <= last.1 + 1 => {
                    held += b.saturating_sub(last.1);
                    last.1 = last.1.max(b);
                }
                _ => {
                    ranges.push((a, b, held));
                    held += b - a + 1;
                }
            }
        }
        UsedFrames { ranges }
    }

    fn slot(&self, frame: usize) -> Option<usize> {
        self.ranges.iter().find(|r| (r.0..=r.1).contains(&frame)).map(|r| r.2 + frame - r.0)
    }

    fn len(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.2 + r.1 - r.0 + 1)
    }

    fn last(&self) -> usize {
        self.ranges.last().map_or(0, |r| r.1)
    }

    fn frames(&self) -> impl Iterator<Item = usize> + '_ {
        self.ranges.iter().flat_map(|r| r.0..=r.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_played_frames_are_held() {
        let manifest: VideoManifest = toml::from_str(
            "name = \"t\"\nkind = \"video\"\nvideo = \"f.mp4\"\n[idle]\nfirst = 100\nlast = 199\n\
             [gestures.wave]\nfirst = 5000\nlast = 5049\nentry = 120\nreturns_to = 150\n\
             [gestures.nod]\nfirst = 190\nlast = 219\nentry = 120\nreturns_to = 150\n\
             [framing]\nhalf = [0, 0, 1, 1]\nfull = [0, 0, 1, 1]\n",
        )
        .unwrap();
        let used = UsedFrames::new(&manifest);
        assert_eq!(used.len(), 120 + 50, "idle and nod merged (100..=219), wave apart");
        assert_eq!((used.slot(100), used.slot(219), used.slot(5000), used.slot(5049)), (Some(0), Some(119), Some(120), Some(169)));
        assert_eq!((used.slot(99), used.slot(220), used.slot(4999)), (None, None, None));
        assert_eq!(used.frames().count(), used.len());
    }

    #[test]
    fn idle_plays_forth_and_back_without_repeating_the_turning_frames() {
        let seq: Vec<usize> = (0..9).map(|p| forth_and_back(FrameRange { first: 10, last: 13 }, p)).collect();
        assert_eq!(seq, vec![10, 11, 12, 13, 12, 11, 10, 11, 12]);
    }
}
