//! `avatarcast avatar import`: footage of a person becomes a video pack. One pass over
//! the video keys out the screen, follows the face (MediaPipe's face mesh by default;
//! or a box given on the command line, tracked by template matching; or the user's
//! own detector), and keeps a small thumbnail of every frame; from those it picks the
//! idle section and its turning points (where the person moves least), and for each
//! gesture the idle frames its first and last frames match best. It writes the
//! manifest, the face boxes, a consent template that must be filled in before the
//! pack loads, and the frames a channel plays (played.rs).

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::avatar::key::{ChromaKey, KeySettings, measure_screen, parse_color};
use super::face_detector::FaceDetector;
use crate::avatar::video::{FaceTrack, FrameRange, LandmarkFrame, LandmarkTrack, VideoGesture};
use crate::face::{self, BlazeFace, FaceMesh, FaceState, FaceTracker, Rgba, TrackedFace};
use crate::media::decode::VideoInfo;

pub struct ImportOptions {
    pub video: PathBuf,
    pub out: PathBuf,
    pub name: Option<String>,
    /// Face box [x, y, w, h] in the first frame (source pixels); with a detector, it
    /// may be left out.
    pub face: Option<[f32; 4]>,
    /// A face-detector model (face_detector.rs), run on every frame; the tracker
    /// fills the frames where it finds none.
    pub face_detector: Option<PathBuf>,
    /// ONNX Runtime, for the detector and the face mesh.
    pub onnxruntime: PathBuf,
    /// The folder of the face detector and mesh (used when neither --face nor
    /// --face-detector is given).
    pub face_models: PathBuf,
    /// "auto" (measure the screen), "green", "blue", "#rrggbb" or "none".
    pub key: String,
    /// Idle section in seconds; None: the longest stretch outside the gestures.
    pub idle: Option<(f64, f64)>,
    /// Gestures: name, start and end in seconds.
    pub gestures: Vec<(String, f64, f64)>,
    /// The sentences the presenter reads in the footage, one a line: kept in the pack
    /// (script.txt) for `avatar eval`.
    pub script: Option<PathBuf>,
    pub progress: bool,
}

#[derive(Debug)]
pub struct ImportReport {
    pub frames: usize,
    pub fps: f64,
    pub size: (u32, u32),
    pub key: Option<String>,
    pub idle: FrameRange,
    pub gestures: Vec<(String, VideoGesture)>,
    /// Frames where the tracker lost the face.
    pub lost_faces: usize,
    /// How the face mesh followed the face (when it did).
    pub tracking: Option<TrackingReport>,
    pub manifest: PathBuf,
    /// The frames a channel plays, written after the manifest.
    pub played: super::played::PlayedReport,
}

/// What following the face with the mesh found.
#[derive(Debug)]
pub struct TrackingReport {
    pub tracked: usize,
    /// Frames without a face (none found, or covered), as first..=last ranges.
    pub lost: Vec<(usize, usize)>,
    /// Frames with the head turned too far for a frontal mouth.
    pub turned_away: Vec<(usize, usize)>,
    /// Faces the first detection saw, and the box [x, y, w, h] of the one taken (the largest).
    pub faces_seen: usize,
    pub taken: Option<[f32; 4]>,
    /// Head pose over the tracked frames, degrees: (min, max) of yaw, pitch, roll.
    pub pose_range: [(f32, f32); 3],
}

/// Thumbnail width for frame similarity.
const THUMB_W: usize = 48;
/// The face template's width in tracking pixels.
const TRACK_FACE_W: f32 = 40.0;
/// Tracking below this match (normalized cross-correlation) counts as lost.
const LOST_SCORE: f32 = 0.5;

/// A grey image.
#[derive(Clone)]
struct Gray {
    w: usize,
    h: usize,
    px: Vec<f32>,
}

impl Gray {
    /// Box-filtered grey of premultiplied RGBA, `factor` source pixels per grey pixel.
    fn from_rgba(rgba: &[u8], width: u32, height: u32, factor: f32) -> Gray {
        let (sw, sh) = (width as usize, height as usize);
        let (w, h) = (((sw as f32 / factor) as usize).max(1), ((sh as f32 / factor) as usize).max(1));
        let mut px = vec![0f32; w * h];
        let mut count = vec![0u32; w * h];
        for y in 0..sh {
            let gy = ((y * h) / sh).min(h - 1);
            for x in 0..sw {
                let gx = ((x * w) / sw).min(w - 1);
                let p = &rgba[(y * sw + x) * 4..][..3];
                px[gy * w + gx] += 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                count[gy * w + gx] += 1;
            }
        }
        px.iter_mut().zip(&count).for_each(|(v, &c)| *v /= c.max(1) as f32);
        Gray { w, h, px }
    }

    fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Gray {
        let px = (y..y + h).flat_map(|r| self.px[r * self.w + x..r * self.w + x + w].iter().copied()).collect();
        Gray { w, h, px }
    }

    /// Normalized cross-correlation of `t` placed at (x, y).
    fn ncc(&self, t: &Gray, x: usize, y: usize) -> f32 {
        let n = (t.w * t.h) as f32;
        let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0f32, 0f32, 0f32, 0f32, 0f32);
        for r in 0..t.h {
            let row = &self.px[(y + r) * self.w + x..][..t.w];
            for (a, b) in row.iter().zip(&t.px[r * t.w..(r + 1) * t.w]) {
                sa += a;
                sb += b;
                saa += a * a;
                sbb += b * b;
                sab += a * b;
            }
        }
        let cov = sab - sa * sb / n;
        let var = ((saa - sa * sa / n) * (sbb - sb * sb / n)).max(1e-6).sqrt();
        cov / var
    }

    fn distance(&self, other: &Gray) -> f32 {
        self.px.iter().zip(&other.px).map(|(a, b)| (a - b).abs()).sum::<f32>() / self.px.len() as f32
    }
}

/// Follows the face from frame to frame: the best match near the last position,
/// against both the first frame's face and the last frame's (so it neither drifts
/// nor loses a face that turns a little).
struct Tracker {
    factor: f32,
    first: Gray,
    last: Gray,
    /// Top-left in tracking pixels.
    pos: (usize, usize),
    size: [f32; 2],
}

impl Tracker {
    /// Moves to a box found otherwise (a detection).
    fn follow(&mut self, frame: &Gray, b: [f32; 4]) {
        let x = ((b[0] / self.factor) as usize).min(frame.w.saturating_sub(self.first.w));
        let y = ((b[1] / self.factor) as usize).min(frame.h.saturating_sub(self.first.h));
        self.pos = (x, y);
        self.last = frame.crop(x, y, self.first.w, self.first.h);
    }

    fn track(&mut self, frame: &Gray) -> (Option<[f32; 4]>, f32) {
        // The first frame's face anchors the track (a template renewed every frame would
        // stick where motion is below a pixel per frame); the last frame's takes over
        // only when the face has changed too much to match it.
        let (mut at, mut best) = self.best_match(frame, &self.first);
        if best < ANCHOR_SCORE {
            let last = self.last.clone();
            let (at_last, score) = self.best_match(frame, &last);
            if score > best {
                (at, best) = (at_last, score);
            }
        }
        if best < LOST_SCORE {
            return (None, best);
        }
        // Sub-pixel: a parabola through the scores either side of the best.
        let template = if best >= ANCHOR_SCORE { &self.first } else { &self.last };
        let score = |x: i64, y: i64| {
            let ok = x >= 0 && y >= 0 && x as usize + template.w <= frame.w && y as usize + template.h <= frame.h;
            ok.then(|| frame.ncc(template, x as usize, y as usize))
        };
        let refine = |minus: Option<f32>, plus: Option<f32>| match (minus, plus) {
            (Some(m), Some(p)) if m - 2.0 * best + p < -1e-6 => ((m - p) / (2.0 * (m - 2.0 * best + p))).clamp(-0.5, 0.5),
            _ => 0.0,
        };
        let (x, y) = (at.0 as i64, at.1 as i64);
        let fx = refine(score(x - 1, y), score(x + 1, y));
        let fy = refine(score(x, y - 1), score(x, y + 1));
        self.pos = at;
        self.last = frame.crop(at.0, at.1, self.first.w, self.first.h);
        let b = [(at.0 as f32 + fx) * self.factor, (at.1 as f32 + fy) * self.factor, self.size[0], self.size[1]];
        (Some(b), best)
    }

    /// The position near the last one where `template` matches best, and its score.
    fn best_match(&self, frame: &Gray, template: &Gray) -> ((usize, usize), f32) {
        let (tw, th) = (template.w, template.h);
        let reach = (tw / 2).max(4) as i64;
        let (mut best, mut at) = (f32::MIN, self.pos);
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                let (x, y) = (self.pos.0 as i64 + dx, self.pos.1 as i64 + dy);
                if x < 0 || y < 0 || x as usize + tw > frame.w || y as usize + th > frame.h {
                    continue;
                }
                let s = frame.ncc(template, x as usize, y as usize);
                if s > best {
                    best = s;
                    at = (x as usize, y as usize);
                }
            }
        }
        (at, best)
    }
}

/// The first frame's face matching at least this well anchors the track.
const ANCHOR_SCORE: f32 = 0.8;

/// Detections are smoothed this much into the box so far (no jitter in the crops).
const DETECTION_WEIGHT: f32 = 0.4;

/// Import, phase by phase: check the options, read and track the footage, choose
/// the idle and the gestures' entries, frame the person, write the pack.
pub fn run(opts: &ImportOptions) -> Result<ImportReport> {
    let mut finder = check_options(opts)?;
    let footage = read_and_track(opts, &mut finder)?;
    let (idle, gestures) = choose_idle(opts, &footage)?;
    let framing = frame_person(&footage, idle, &gestures)?;
    write_pack(opts, footage, idle, gestures, framing)
}

/// What one pass over the footage found.
struct Footage {
    info: VideoInfo,
    /// The face box in the first frame with a face (given, or found).
    first_face: [f32; 4],
    /// The screen keyed out, and its colour.
    key: Option<(ChromaKey, String)>,
    /// Per frame: the face box (None where it was lost), a thumbnail, the opaque extent.
    faces: Vec<Option<[f32; 4]>>,
    thumbs: Vec<Gray>,
    boxes: Vec<Option<[u32; 4]>>,
    lost: usize,
    /// With the face mesh: every frame's points and pose, and the summary.
    landmarks: Option<(LandmarkTrack, TrackingReport)>,
}

/// How the face is found in each frame.
enum FaceFinder {
    /// Tracked by template matching from the box given on the command line.
    Given,
    /// The user's detector on every frame, template matching where it finds none.
    Detector(FaceDetector),
    /// MediaPipe's detector and face mesh, followed frame to frame (the default).
    Mesh(Box<FaceTracker>),
}

/// Framing rectangles [x, y, w, h]: head to toe, and head to waist.
struct Framing {
    full: [f32; 4],
    half: [f32; 4],
}

/// Refuses bad options before any work, and loads the models that find the face.
fn check_options(opts: &ImportOptions) -> Result<FaceFinder> {
    if let Some([fx, fy, fw, fh]) = opts.face {
        if fw < 16.0 || fh < 16.0 {
            bail!("--face {fx},{fy},{fw},{fh}: the face box must be at least 16x16 pixels");
        }
    }
    for (name, s, e) in &opts.gestures {
        if !(e > s) || *s < 0.0 || name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            bail!("--gesture {name}={s}-{e}: write NAME=START-END in seconds, END after START, NAME of letters, digits, - and _");
        }
    }
    if !crate::media::decode::is_video(&opts.video) {
        bail!("--video {}: give an .mp4, .mkv, .mov, .m4v or .webm file", opts.video.display());
    }
    match (&opts.face_detector, opts.face) {
        (Some(model), _) => Ok(FaceFinder::Detector(FaceDetector::load(model, &opts.onnxruntime)?)),
        (None, Some(_)) => Ok(FaceFinder::Given),
        (None, None) => {
            let (detector, mesh) = face::default_models(&opts.face_models);
            let detector = BlazeFace::load(&detector, &opts.onnxruntime).context("finding the face without --face")?;
            let mesh = FaceMesh::load(&mesh, &opts.onnxruntime).context("finding the face without --face")?;
            Ok(FaceFinder::Mesh(Box::new(FaceTracker::new(detector, mesh))))
        }
    }
}

/// One pass over the footage: keys out the screen, follows the face, keeps a
/// thumbnail and the person's extent of every frame.
fn read_and_track(opts: &ImportOptions, finder: &mut FaceFinder) -> Result<Footage> {
    let mut first: Option<(VideoInfo, Option<(ChromaKey, String)>)> = None;
    let mut first_face_box: Option<[f32; 4]> = None;
    let mut tracker: Option<Tracker> = None;
    let (mut faces, mut thumbs, mut boxes, mut lost) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let kept_points = face::landmarks::kept_points();
    let mut marks: Vec<LandmarkFrame> = Vec::new();
    let mut last_report = std::time::Instant::now();
    crate::media::decode::for_each_frame(&opts.video, |i, vi, rgba| {
        let (detected, tracked) = match finder {
            FaceFinder::Given => (None, None),
            FaceFinder::Detector(d) => (d.detect(rgba, vi.width, vi.height)?, None),
            FaceFinder::Mesh(t) => (None, Some(t.next(Rgba { pixels: rgba, width: vi.width, height: vi.height })?)),
        };
        if first.is_none() {
            if tracked.is_none() {
                first_face_box = Some(first_face(opts.face.or(detected), vi)?);
            }
            first = Some((vi, screen_key(&opts.key, rgba, vi)?));
        }
        let (_, key) = first.as_ref().expect("set at the first frame");
        let mut data = rgba.to_vec();
        if let Some((k, _)) = key {
            k.apply(&mut data, vi.width as usize);
        }
        boxes.push(opaque_box(&data, vi.width, vi.height));
        thumbs.push(Gray::from_rgba(&data, vi.width, vi.height, vi.width as f32 / THUMB_W as f32));
        let face = match tracked {
            Some(t) => {
                let b = usable_box(&t);
                first_face_box = first_face_box.or(t.landmarks.as_ref().map(|l| l.face_box()));
                marks.push(landmark_frame(t, &kept_points));
                b
            }
            None => {
                let first_face = first_face_box.expect("checked at the first frame");
                follow_face(&mut tracker, first_face, &data, vi, detected, faces.last().copied().flatten())
            }
        };
        lost += usize::from(face.is_none());
        faces.push(face);
        if opts.progress && last_report.elapsed().as_millis() >= 250 {
            last_report = std::time::Instant::now();
            progress("reading and tracking", i + 1, vi.frames);
        }
        Ok(true)
    })?;
    let (info, key) = first.context("no frames")?;
    if opts.progress {
        progress("reading and tracking", faces.len(), Some(faces.len()));
        eprintln!();
    }
    let Some(first_face) = first_face_box else {
        bail!("no face found in any frame of {}: give the face's box with --face X,Y,W,H", opts.video.display());
    };
    let landmarks = match finder {
        FaceFinder::Mesh(t) => {
            let first = t.first_find.as_ref();
            let report = tracking_report(&marks, first.map_or(0, |f| f.faces), first.map(|f| f.taken.bbox));
            let source = format!("MediaPipe face mesh ({}), detected again where lost", opts.face_models.display());
            Some((LandmarkTrack { source, points: kept_points, frames: marks }, report))
        }
        _ => None,
    };
    Ok(Footage { info, first_face, key, faces, thumbs, boxes, lost, landmarks })
}

/// The face box of a frame the face model can use: tracked, not turned away.
fn usable_box(t: &TrackedFace) -> Option<[f32; 4]> {
    t.landmarks.as_ref().filter(|_| t.state == FaceState::Tracked).map(|l| l.face_box())
}

/// What the pack keeps of a frame's mesh.
fn landmark_frame(t: TrackedFace, kept: &[usize]) -> LandmarkFrame {
    let round = |v: f32| (v * 10.0).round() / 10.0;
    LandmarkFrame {
        state: t.state,
        pose: t.pose.map(|p| [p.yaw, p.pitch, p.roll].map(round)),
        xy: t.landmarks.map(|l| kept.iter().map(|&i| l.xy(i).map(round)).collect()).unwrap_or_default(),
    }
}

/// Tracked frames, the lost and turned-away stretches, and the head's range.
fn tracking_report(marks: &[LandmarkFrame], faces_seen: usize, taken: Option<[f32; 4]>) -> TrackingReport {
    let ranges = |state: FaceState| {
        let mut out: Vec<(usize, usize)> = Vec::new();
        for (i, _) in marks.iter().enumerate().filter(|(_, m)| m.state == state) {
            match out.last_mut() {
                Some(r) if r.1 + 1 == i => r.1 = i,
                _ => out.push((i, i)),
            }
        }
        out
    };
    let mut pose_range = [(f32::MAX, f32::MIN); 3];
    for pose in marks.iter().filter(|m| m.state == FaceState::Tracked).filter_map(|m| m.pose) {
        for (r, v) in pose_range.iter_mut().zip(pose) {
            *r = (r.0.min(v), r.1.max(v));
        }
    }
    let tracked = marks.iter().filter(|m| m.state == FaceState::Tracked).count();
    TrackingReport { tracked, lost: ranges(FaceState::Lost), turned_away: ranges(FaceState::TurnedAway), faces_seen, taken, pose_range }
}

/// The face box in the first frame, checked against the frame.
fn first_face(face: Option<[f32; 4]>, vi: VideoInfo) -> Result<[f32; 4]> {
    let Some([fx, fy, fw, fh]) = face else {
        bail!("the face detector found no face in the first frame: give --face X,Y,W,H");
    };
    if fx < 0.0 || fy < 0.0 || fx + fw > vi.width as f32 || fy + fh > vi.height as f32 {
        bail!("the face box {fx},{fy},{fw},{fh} is not inside the {}x{} frame", vi.width, vi.height);
    }
    Ok([fx, fy, fw, fh])
}

/// The screen to key out (`--key`), measured at the first frame's border; a named
/// colour must match the screen as filmed, give or take the light.
fn screen_key(spec: &str, rgba: &[u8], vi: VideoInfo) -> Result<Option<(ChromaKey, String)>> {
    let spec = spec.trim();
    if spec == "none" {
        return Ok(None);
    }
    let measured = measure_screen(rgba, vi.width, vi.height);
    let hex = |c: [u8; 3]| format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2]);
    if spec != "auto" {
        let named = KeySettings { color: hex(parse_color(spec)?), tolerance: 0.2, softness: 0.1, spill: true };
        if ChromaKey::new(&named)?.alpha(measured[0], measured[1], measured[2]) > 0.0 {
            bail!("--key {spec}: the frame's border is {}, not a {spec} screen; use --key auto, another colour or none", hex(measured));
        }
    }
    let color = hex(measured);
    let settings = KeySettings { color: color.clone(), tolerance: 0.12, softness: 0.1, spill: true };
    let key = ChromaKey::new(&settings).with_context(|| format!("the screen colour measured at the frame's border, {color}"))?;
    Ok(Some((key, color)))
}

/// This frame's face box: a detection steadied by the box so far (the tracker follows
/// it), else what the tracker finds (None: lost). The first frame starts the tracker.
fn follow_face(tracker: &mut Option<Tracker>, first: [f32; 4], rgba: &[u8], vi: VideoInfo, detected: Option<[f32; 4]>, prev: Option<[f32; 4]>) -> Option<[f32; 4]> {
    let [fx, fy, fw, fh] = first;
    let factor = fw / TRACK_FACE_W;
    let gray = Gray::from_rgba(rgba, vi.width, vi.height, factor);
    let Some(t) = tracker else {
        let (x, y) = ((fx / factor) as usize, (fy / factor) as usize);
        let (w, h) = ((fw / factor) as usize, (fh / factor) as usize);
        let (w, h) = (w.min(gray.w - x), h.min(gray.h - y));
        let template = gray.crop(x, y, w, h);
        *tracker = Some(Tracker { factor, first: template.clone(), last: template, pos: (x, y), size: [fw, fh] });
        return Some(first);
    };
    match (detected, prev) {
        (Some(d), prev) => {
            let b: [f32; 4] = match prev {
                Some(p) => std::array::from_fn(|k| p[k] * (1.0 - DETECTION_WEIGHT) + d[k] * DETECTION_WEIGHT),
                None => d,
            };
            t.follow(&gray, b);
            Some(b)
        }
        (None, _) => t.track(&gray).0,
    }
}

/// The idle section (given, or the quietest calm stretch outside the gestures) with
/// its turning points, and each gesture's entry and return in the idle.
fn choose_idle(opts: &ImportOptions, footage: &Footage) -> Result<(FrameRange, Vec<(String, VideoGesture)>)> {
    let (n, fps, thumbs) = (footage.faces.len(), footage.info.fps, &footage.thumbs);
    let at = |s: f64| ((s * fps).round() as usize).min(n - 1);
    // Motion between consecutive frames, for the idle's turning points.
    let motion: Vec<f32> = (0..n).map(|i| if i == 0 { 0.0 } else { thumbs[i].distance(&thumbs[i - 1]) }).collect();
    let gesture_frames: Vec<(usize, usize)> = opts.gestures.iter().map(|(_, s, e)| (at(*s), at(*e))).collect();
    let (idle_first, idle_last) = match opts.idle {
        Some((s, e)) if e > s => (at(s), at(e)),
        Some((s, e)) => bail!("--idle {s}-{e}: the end must come after the start"),
        None => {
            // With the face mesh, frames whose face is lost or turned away stay out of
            // the idle too: the channel plays it most of the time.
            let mut avoid = gesture_frames.clone();
            if let Some((_, report)) = &footage.landmarks {
                avoid.extend(report.lost.iter().chain(&report.turned_away));
            }
            let calm = longest_calm(n, &avoid, (fps * 0.3) as usize).context(
                "no stretch of the footage lies outside the gestures (and the frames without a usable face) to idle on: give --idle START-END, or shorter gestures",
            )?;
            // A long recording idles on a short quiet part of it: the mouth at rest, and
            // a channel holds only that much footage in memory.
            let levels = crate::speech::clip::decode(&opts.video).ok().map(|audio| frame_levels(&audio, fps, n));
            quietest(calm, (MAX_IDLE_SECONDS * fps) as usize, (MIN_QUIET_IDLE_SECONDS * fps) as usize, levels.as_deref())
        }
    };
    if idle_last < idle_first + (fps as usize).max(3) {
        bail!("the idle section ({idle_first}..{idle_last}) is shorter than a second: give --idle START-END with more footage");
    }
    // Turning points: the stillest frame near each end, where reversing shows least.
    let edge = ((idle_last - idle_first) / 5).max(1);
    let stillest = |range: std::ops::Range<usize>| range.min_by(|&a, &b| motion[a].total_cmp(&motion[b])).unwrap_or(0);
    let idle = FrameRange { first: stillest(idle_first..idle_first + edge), last: stillest(idle_last + 1 - edge..idle_last + 1) };
    let nearest_idle = |frame: usize| (idle.first..=idle.last).min_by(|&a, &b| thumbs[frame].distance(&thumbs[a]).total_cmp(&thumbs[frame].distance(&thumbs[b]))).unwrap_or(idle.first);
    let gestures = opts
        .gestures
        .iter()
        .zip(&gesture_frames)
        .map(|((name, _, _), &(first, last))| {
            (name.clone(), VideoGesture { first, last, entry: nearest_idle(first), returns_to: nearest_idle(last) })
        })
        .collect();
    Ok((idle, gestures))
}

/// The person's extent over the frames the pack uses, with a margin: head to toe, and
/// head to waist (about three head heights).
fn frame_person(footage: &Footage, idle: FrameRange, gestures: &[(String, VideoGesture)]) -> Result<Framing> {
    let used = |i: usize| (idle.first..=idle.last).contains(&i) || gestures.iter().any(|(_, g)| (g.first..=g.last).contains(&i));
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for b in (0..footage.boxes.len()).filter(|&i| used(i)).filter_map(|i| footage.boxes[i]) {
        x0 = x0.min(b[0]);
        y0 = y0.min(b[1]);
        x1 = x1.max(b[0] + b[2]);
        y1 = y1.max(b[1] + b[3]);
    }
    if x1 <= x0 {
        bail!("nothing is left after keying out the screen: check --key (measured {:?})", footage.key.as_ref().map(|k| &k.1));
    }
    let (w, h) = (footage.info.width as f32, footage.info.height as f32);
    let margin = h * 0.03;
    let (bx0, by0, bx1, by1) = ((x0 as f32 - margin).max(0.0), (y0 as f32 - margin).max(0.0), (x1 as f32 + margin).min(w), (y1 as f32 + margin).min(h));
    let [_, fy, _, fh] = footage.first_face;
    let half_bottom = (fy + 3.2 * fh).min(by1).max(by0 + 2.0 * fh);
    Ok(Framing { full: [bx0, by0, bx1 - bx0, by1 - by0], half: [bx0, by0, bx1 - bx0, half_bottom - by0] })
}

/// Writes the pack: the footage, the face boxes, the script, the manifest, the
/// consent template and the played frames.
fn write_pack(opts: &ImportOptions, footage: Footage, idle: FrameRange, gestures: Vec<(String, VideoGesture)>, framing: Framing) -> Result<ImportReport> {
    std::fs::create_dir_all(opts.out.join("consent")).with_context(|| format!("cannot create {}", opts.out.display()))?;
    let ext = opts.video.extension().and_then(|e| e.to_str()).unwrap_or("mp4").to_ascii_lowercase();
    let video_file = format!("footage.{ext}");
    std::fs::copy(&opts.video, opts.out.join(&video_file)).with_context(|| format!("cannot copy the footage into {}", opts.out.display()))?;
    let [fx, fy, fw, fh] = footage.first_face;
    let (landmarks, tracking) = footage.landmarks.map_or((None, None), |(l, r)| (Some(l), Some(r)));
    let source = match (&opts.face_detector, &landmarks) {
        (Some(d), _) => format!("face detector {}, tracked where it found none", d.display()),
        (None, Some(l)) => format!("{}: the outline of each tracked frame facing the camera", l.source),
        (None, None) => format!("tracked from the box {fx},{fy},{fw},{fh} given on the command line"),
    };
    let n = footage.faces.len();
    let track = FaceTrack { source, boxes: footage.faces };
    std::fs::write(opts.out.join("faces.json"), serde_json::to_string(&track)?)?;
    if let Some(l) = &landmarks {
        std::fs::write(opts.out.join("landmarks.json"), serde_json::to_string(l)?)?;
    }
    if let Some(script) = &opts.script {
        std::fs::copy(script, opts.out.join("script.txt")).with_context(|| format!("--script {}: cannot copy it into the pack", script.display()))?;
    }
    let name = opts.name.clone().unwrap_or_else(|| opts.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or("host".into()));
    let key = footage.key.map(|k| k.1);
    let manifest = manifest_text(&name, &video_file, key.as_deref(), idle, &gestures, framing.full, framing.half);
    let manifest_path = opts.out.join("avatar.toml");
    std::fs::write(&manifest_path, manifest)?;
    std::fs::write(opts.out.join("consent/README.txt"), CONSENT_README)?;
    let played = super::played::write(&opts.out, opts.progress)?;
    let info = footage.info;
    Ok(ImportReport { frames: n, fps: info.fps, size: (info.width, info.height), key, idle, gestures, lost_faces: footage.lost, tracking, manifest: manifest_path, played })
}

/// A default idle is at most this long, and a silent stretch this long is preferred.
pub const MAX_IDLE_SECONDS: f64 = 8.0;
const MIN_QUIET_IDLE_SECONDS: f64 = 2.0;

/// RMS of each of `n` frames.
fn frame_levels(audio: &[i16], fps: f64, n: usize) -> Vec<f32> {
    let per_frame = crate::audio_format::OUTPUT_RATE as f64 / fps;
    (0..n)
        .map(|i| {
            let (a, b) = (((i as f64 * per_frame) as usize).min(audio.len()), (((i + 1) as f64 * per_frame) as usize).min(audio.len()));
            (audio[a..b].iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / (b - a).max(1) as f64).sqrt() as f32
        })
        .collect()
}

/// Where to idle within `range` (both ends included), at most `max` frames: the
/// longest silent stretch if one lasts `min_quiet` frames, else the quietest `max`
/// frames; without sound, the first `max` frames.
fn quietest(range: (usize, usize), max: usize, min_quiet: usize, levels: Option<&[f32]>) -> (usize, usize) {
    let (first, last) = range;
    let len = (last - first + 1).min(max.max(1));
    let Some(levels) = levels else { return (first, first + len - 1) };
    let silent = crate::lipsync::energy::silence_level(levels);
    let (mut best, mut run) = ((first, 0usize), (first, 0usize));
    for i in first..=last {
        run = if levels[i] < silent { (if run.1 == 0 { i } else { run.0 }, run.1 + 1) } else { (i + 1, 0) };
        if run.1 > best.1 {
            best = run;
        }
    }
    if best.1 >= min_quiet.max(1) {
        return (best.0, best.0 + best.1.min(len) - 1);
    }
    let loud = |s: usize| levels[s..s + len].iter().map(|&l| l as f64).sum::<f64>();
    let start = (first..=last + 1 - len).min_by(|&a, &b| loud(a).total_cmp(&loud(b))).unwrap_or(first);
    (start, start + len - 1)
}

/// The longest run of frames at least `margin` away from every gesture.
fn longest_calm(n: usize, gestures: &[(usize, usize)], margin: usize) -> Option<(usize, usize)> {
    let busy = |i: usize| gestures.iter().any(|&(a, b)| i + margin >= a && i <= b + margin);
    let (mut best, mut start): (Option<(usize, usize)>, Option<usize>) = (None, None);
    for i in 0..=n {
        match (i < n && !busy(i), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if best.is_none_or(|(a, b)| i - 1 - s > b - a) {
                    best = Some((s, i - 1));
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

/// Bounding box [x, y, w, h] of the pixels at least half opaque.
fn opaque_box(rgba: &[u8], width: u32, height: u32) -> Option<[u32; 4]> {
    let (w, h) = (width as usize, height as usize);
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for y in 0..h {
        for x in 0..w {
            if rgba[(y * w + x) * 4 + 3] >= 128 {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    (x1 > x0).then(|| [x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32])
}

fn progress(what: &str, done: usize, total: Option<usize>) {
    match total {
        Some(t) if t > 0 => crate::progress::draw(what, Some(done as f64 / t as f64), &format!("{done}/{t} frames")),
        _ => crate::progress::draw(what, None, &format!("{done} frames")),
    }
}

fn manifest_text(name: &str, footage: &str, key: Option<&str>, idle: FrameRange, gestures: &[(String, VideoGesture)], full: [f32; 4], half: [f32; 4]) -> String {
    let rect = |r: [f32; 4]| format!("[{:.0}, {:.0}, {:.0}, {:.0}]", r[0], r[1], r[2], r[3]);
    let mut s = format!(
        "# Video avatar pack written by `avatarcast avatar import` (format: docs/avatar-packs.md).\n\
         name = {name:?}\nkind = \"video\"\n# Footage of a real person: the pack loads only with their consent on record (below).\n\
         real_person = true\nvideo = {footage:?}\nfaces = \"faces.json\"\nface_padding = [0, 10, 0, 0]\n\n"
    );
    if let Some(color) = key {
        s += &format!("# The screen colour as filmed, measured at the frame's border.\n[key]\ncolor = \"{color}\"\ntolerance = 0.12\nsoftness = 0.1\nspill = true\n\n");
    }
    s += &format!("# Played forth and back; both ends are the stillest frames near them.\n[idle]\nfirst = {}\nlast = {}\n\n", idle.first, idle.last);
    for (name, g) in gestures {
        s += &format!(
            "# Starts when the idle passes frame {entry}, returns into it at frame {ret}.\n[gestures.{name}]\nfirst = {}\nlast = {}\nentry = {entry}\nreturns_to = {ret}\n\n",
            g.first,
            g.last,
            entry = g.entry,
            ret = g.returns_to
        );
    }
    s += &format!("# Rectangles of the footage [x, y, w, h] that fill the frame's height.\n[framing]\nfull = {}\nhalf = {}\n\n", rect(full), rect(half));
    s += "# Fill in before the pack can go on air: who, when (YYYY-MM-DD), for what use, and the\n\
          # signed statement's file inside this folder (see consent/README.txt).\n\
          [consent]\nperson = \"\"\ndate = \"\"\nuse = \"\"\nstatement = \"consent/statement.pdf\"\n";
    s
}

const CONSENT_README: &str = "\
Put the signed consent statement of the person in this footage here (for example
statement.pdf), and fill in [consent] in ../avatar.toml: person, date (YYYY-MM-DD),
use (what the likeness may be used for, in the words of the statement) and
statement (this file's path inside the pack).

avatarcast refuses to load a real person's pack without it. Deep-synthesis rules
(China's Provisions on Deep Synthesis, the EU AI Act Art. 50) require the person's
consent to the use of their likeness.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idle_is_the_longest_stretch_clear_of_gestures() {
        // 200 frames, a gesture at 100..150, 5 frames of margin: 0..=94 beats 156..=199.
        assert_eq!(longest_calm(200, &[(100, 150)], 5), Some((0, 94)));
        assert_eq!(longest_calm(200, &[(10, 50)], 5), Some((56, 199)));
        assert_eq!(longest_calm(20, &[(0, 19)], 0), None);
    }

    #[test]
    fn a_long_recording_idles_on_its_quietest_stretch() {
        // Speech everywhere but frames 300..340 (silent) and 600..700 (quieter speech).
        let level = |i: usize| match i {
            300..340 => 2.0,
            600..700 => 400.0,
            _ => 3000.0,
        };
        let levels: Vec<f32> = (0..1000).map(level).collect();
        assert_eq!(quietest((0, 999), 200, 25, Some(&levels)), (300, 339), "the silent stretch, all of it");
        assert_eq!(quietest((0, 999), 30, 25, Some(&levels)), (300, 329), "the silent stretch, cut to the most");
        let (a, b) = quietest((0, 999), 60, 50, Some(&levels));
        assert!(a >= 600 && b < 700, "no silence long enough: the quietest speech, {a}..={b}");
        assert_eq!(quietest((0, 999), 30, 25, None), (0, 29), "no sound: the first stretch");
    }

    #[test]
    fn the_tracker_follows_a_moving_face() {
        // A bright disc with a dark "mouth" moving 2 px per frame to the right.
        let frame = |cx: f32| {
            let (w, h) = (160u32, 120u32);
            let mut rgba = vec![0u8; (w * h * 4) as usize];
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = (x as f32 - cx, y as f32 - 60.0);
                    let v = if (dx * dx + dy * dy) < 400.0 { if dy > 6.0 && dx.abs() < 6.0 { 60 } else { 220 } } else { 20 };
                    let i = ((y * w + x) * 4) as usize;
                    rgba[i..i + 4].copy_from_slice(&[v, v, v, 255]);
                }
            }
            Gray::from_rgba(&rgba, w, h, 1.0)
        };
        let first = frame(50.0);
        let t = first.crop(28, 38, 44, 44);
        let mut tracker = Tracker { factor: 1.0, first: t.clone(), last: t.clone(), pos: (28, 38), size: [44.0, 44.0] };
        for i in 1..=20 {
            let (b, score) = tracker.track(&frame(50.0 + 2.0 * i as f32));
            let b = b.unwrap_or_else(|| panic!("lost at frame {i} (score {score})"));
            assert!((b[0] - (28.0 + 2.0 * i as f32)).abs() <= 1.0 && (b[1] - 38.0).abs() <= 1.0, "frame {i}: {b:?}");
        }
        // Slow drift, a third of a pixel a frame: followed, not stuck.
        let mut tracker = Tracker { factor: 1.0, first: t.clone(), last: t.clone(), pos: (28, 38), size: [44.0, 44.0] };
        for i in 1..=30 {
            let (b, _) = tracker.track(&frame(50.0 + i as f32 / 3.0));
            assert!((b.unwrap()[0] - (28.0 + i as f32 / 3.0)).abs() <= 0.7, "frame {i}: {b:?}");
        }
    }
}
