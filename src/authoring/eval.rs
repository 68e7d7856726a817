//! `avatarcast avatar eval`: how well a pack's trained face model draws the mouth on
//! the sentences it never trained on (the last 15 % of the footage, train.rs).
//!
//! The model draws each held-out frame (the frame's upper face, an idle frame as the
//! reference, as on air), driven twice: by what the footage's own sound says, and by
//! the same sentences said by another voice (its exact mouth shapes, time-warped onto
//! the footage's by dynamic time warping). Both are compared with the real frames,
//! beside two baselines: the footage's own idle mouth (what a pack without lip-sync
//! shows) and the training frame with the same mouth shape whose phonetic context is
//! nearest (lip-sync by lookup). Figures on the lower half of the face crop: PSNR,
//! SSIM, and how far the mouth opens frame by frame (its correlation with the real
//! one, and the lag where that correlation peaks: the A/V offset at the mouth), and
//! the whole frame with the mouth pasted in as on air (on_air.rs). The
//! opening is measured twice: by the dark pixels of the open mouth, and, where the
//! face mesh is installed, as the inner-lip gap over the mouth's width from its points.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::train::{DataMeta, REPORT_FILE, read_npy};
use crate::avatar::video::VideoAvatar;
use crate::config::VoiceConfig;
use crate::config::LipsyncConfig;
use crate::face::mesh::MIN_PRESENCE;
use crate::face::{FaceMesh, Rgba, Window};
use crate::lipsync::neural::FaceModel;
use crate::lipsync::phonetic::{self, FrameSteps, STEPS_PER_FRAME};
use crate::lipsync::Mouth;
use crate::audio_format::OUTPUT_RATE;
use crate::speech::Speaker;

mod on_air;

pub struct EvalOptions {
    pub pack: PathBuf,
    /// The other voice (it should not be the presenter's own).
    pub voice: VoiceConfig,
    /// The sentences the presenter read, one a line (default: the pack's script.txt).
    pub script: Option<PathBuf>,
    pub onnxruntime: PathBuf,
    /// The face mesh that measures the lips (None: the pixel measure alone).
    pub face_mesh: Option<PathBuf>,
    /// Where to write a PNG of speaking held-out frames' lower faces, at twice their
    /// size: real, the model (own sound, other voice), lookup.
    pub sheet: Option<PathBuf>,
}

/// Figures of one way of drawing the held-out mouths.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub psnr_db: f64,
    pub ssim: f64,
    /// The mouth's detail against the real frames': their gradient energy over the
    /// mouth area, drawn over real (1: as crisp as the footage, below 1: softer).
    pub sharpness: f64,
    /// Pearson correlation of the mouth's opening with the real one's, frame by frame.
    pub opening_r: f64,
    /// Frames the opening lags the real one where they match best (+: late).
    pub lag_frames: i64,
    /// The whole frame with the mouth pasted in as on air, against the real frame.
    pub on_air_psnr_db: f64,
    /// The lips' opening read by the face mesh, against the real frames'.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lip_gap: Option<LipGap>,
}

/// The inner-lip gap over the mouth's width (face/landmarks.rs), drawn against real,
/// on the frames where the mesh finds the face in both.
#[derive(Debug, Clone, Serialize)]
pub struct LipGap {
    pub r: f64,
    pub mean_error: f64,
    pub frames: usize,
}

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub frames: usize,
    pub sentences: usize,
    /// The model driven by the footage's own sound.
    pub model_footage_sound: Figures,
    /// The model driven by another voice saying the same sentences (None without a script).
    pub model_other_voice: Option<Figures>,
    pub other_voice: String,
    pub baseline_idle_mouth: Figures,
    pub baseline_nearest_phoneme: Figures,
}

pub fn run(opts: &EvalOptions) -> Result<EvalReport> {
    let manifest = VideoAvatar::manifest(&opts.pack)?;
    let dir = opts.pack.join("training");
    let meta: DataMeta = serde_json::from_str(
        &std::fs::read_to_string(dir.join("meta.json")).with_context(|| format!("{} has no training data: run `avatarcast avatar train` first", opts.pack.display()))?,
    )?;
    let model_file = manifest.face_model.as_ref().map(|m| opts.pack.join(m)).context("the pack has no `face_model`: run `avatarcast avatar train` first")?;
    let mut model = FaceModel::load(&LipsyncConfig { model: model_file, ..LipsyncConfig::default() }, &opts.onnxruntime)?;
    let s = meta.size;
    if model.size != s {
        bail!("the pack's model is {} px but its training data {s} px: train again", model.size);
    }
    let crops = read_npy(&dir.join("frames.npy"))?;
    let windows = read_npy(&dir.join("phonetic.npy"))?;
    let split = read_npy(&dir.join("split.npy"))?;
    let crop = |i: usize| &crops[i * s * s * 3..(i + 1) * s * s * 3];
    let window = |i: usize| -> Vec<f32> {
        windows[i * phonetic::WINDOW_LEN * 4..(i + 1) * phonetic::WINDOW_LEN * 4].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    let held: Vec<usize> = (0..meta.frames).filter(|&i| split[i] == 1).collect();
    let train: Vec<usize> = (0..meta.frames).filter(|&i| split[i] == 0).collect();
    if held.is_empty() {
        bail!("no held-out frames in {}: train again", dir.display());
    }
    let reference = manifest.idle.first.min(meta.frames - 1);

    // The model, driven by the footage's own sound.
    let own: Vec<Vec<f32>> = held.iter().map(|&i| window(i)).collect();
    let drawn_own = draw(&mut model, &held, &own, crop, reference, s)?;

    // The model, driven by another voice saying the held-out sentences.
    let script = opts.script.clone().unwrap_or_else(|| opts.pack.join("script.txt"));
    let other = if script.is_file() {
        let steps: Vec<FrameSteps> = (0..meta.frames).map(|i| centre_steps(&window(i))).collect();
        let warped = other_voice_steps(&opts.voice, &script, &meta, &steps)?;
        let windows = phonetic::windows(&warped);
        let driven: Vec<Vec<f32>> = held.iter().map(|&i| windows[i * phonetic::WINDOW_LEN..(i + 1) * phonetic::WINDOW_LEN].to_vec()).collect();
        Some(draw(&mut model, &held, &driven, crop, reference, s)?)
    } else {
        tracing::warn!("no script ({}): the model is not driven by another voice", script.display());
        None
    };

    // Baselines.
    let idle: Vec<Vec<u8>> = held.iter().map(|_| lower_half(crop(reference), s).to_vec()).collect();
    let train_windows: Vec<(usize, Vec<f32>)> = train.iter().map(|&i| (i, window(i))).collect();
    let nearest: Vec<Vec<u8>> = own
        .iter()
        .map(|w| {
            let centre = centre_steps(w);
            let same = train_windows.iter().filter(|(_, t)| centre_steps(t)[..] == centre[..]);
            let best = same.min_by(|a, b| distance(&a.1, w).total_cmp(&distance(&b.1, w))).or_else(|| train_windows.first());
            lower_half(crop(best.map_or(reference, |b| b.0)), s).to_vec()
        })
        .collect();

    let truth: Vec<&[u8]> = held.iter().map(|&i| lower_half(crop(i), s)).collect();
    let mut mesh = match &opts.face_mesh {
        Some(m) => Some(FaceMesh::load(m, &opts.onnxruntime).context("the face mesh that measures the lips")?),
        None => None,
    };
    let truth_gaps = match &mut mesh {
        Some(mesh) => Some(lip_gaps(mesh, &held, crop, &truth, s)?),
        None => None,
    };
    if let Some(path) = &opts.sheet {
        let truth_owned: Vec<Vec<u8>> = truth.iter().map(|t| t.to_vec()).collect();
        let mut columns = vec![&truth_owned, &drawn_own];
        columns.extend(other.as_ref());
        columns.push(&nearest);
        write_sheet(path, &columns, s).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let ways: Vec<&[Vec<u8>]> = [&drawn_own, &idle, &nearest].into_iter().chain(other.as_ref()).map(|w| w.as_slice()).collect();
    let on_air = on_air::psnr(&opts.pack, &manifest, &held, crop, &ways, s)?;
    let mut figures = |k: usize| -> Result<Figures> {
        let mut f = measure(ways[k], &truth, s, &held, on_air[k]);
        if let (Some(mesh), Some(real)) = (&mut mesh, &truth_gaps) {
            f.lip_gap = compare_gaps(&lip_gaps(mesh, &held, crop, ways[k], s)?, real);
        }
        Ok(f)
    };
    Ok(EvalReport {
        frames: held.len(),
        sentences: meta.held_out_sentences,
        model_footage_sound: figures(0)?,
        model_other_voice: other.is_some().then(|| figures(3)).transpose()?,
        other_voice: voice_name(&opts.voice),
        baseline_idle_mouth: figures(1)?,
        baseline_nearest_phoneme: figures(2)?,
    })
}

/// Writes the figures into the pack's face-model.json under "eval".
pub fn record(pack: &Path, report: &EvalReport) -> Result<()> {
    let path = pack.join(REPORT_FILE);
    let mut doc: serde_json::Value = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| serde_json::json!({}));
    doc["eval"] = serde_json::to_value(report)?;
    let part = pack.join(format!("{REPORT_FILE}.part"));
    std::fs::write(&part, serde_json::to_string_pretty(&doc)? + "\n")?;
    std::fs::rename(&part, &path).with_context(|| format!("cannot write {}", path.display()))
}

fn voice_name(v: &VoiceConfig) -> String {
    match v.engine {
        crate::config::VoiceEngine::Piper => v.model.file_stem().map_or("piper".into(), |s| s.to_string_lossy().into_owned()),
        crate::config::VoiceEngine::Espeak => format!("espeak-ng {}", v.language),
        crate::config::VoiceEngine::Http => "http".into(),
    }
}

/// The model's lower halves for `frames` (BGR bytes), heard as `conditions`.
fn draw<'a>(model: &mut FaceModel, frames: &[usize], conditions: &[Vec<f32>], crop: impl Fn(usize) -> &'a [u8], reference: usize, s: usize) -> Result<Vec<Vec<u8>>> {
    let plane = s * s;
    let mut out = Vec::with_capacity(frames.len());
    for (chunk, conds) in frames.chunks(8).zip(conditions.chunks(8)) {
        let mut faces = vec![0f32; chunk.len() * 6 * plane];
        for (j, &i) in chunk.iter().enumerate() {
            let face = &mut faces[j * 6 * plane..(j + 1) * 6 * plane];
            for (p, (now, refp)) in crop(i).chunks_exact(3).zip(crop(reference).chunks_exact(3)).enumerate() {
                for c in 0..3 {
                    face[c * plane + p] = if p >= plane / 2 { 0.0 } else { now[c] as f32 / 255.0 };
                    face[(3 + c) * plane + p] = refp[c] as f32 / 255.0;
                }
            }
        }
        let flat: Vec<f32> = conds.iter().flatten().copied().collect();
        let drawn = model.infer(&flat, &faces, chunk.len())?;
        for j in 0..chunk.len() {
            let o = &drawn[j * 3 * plane..(j + 1) * 3 * plane];
            let half: Vec<u8> = (plane / 2..plane).flat_map(|p| (0..3).map(move |c| (o[c * plane + p] * 255.0).round().clamp(0.0, 255.0) as u8)).collect();
            out.push(half);
        }
    }
    Ok(out)
}

/// Six speaking frames (the real mouth open wider than its median, evenly spread) as
/// rows, one column per way of drawing them, each lower face at twice its size.
fn write_sheet(path: &Path, columns: &[&Vec<Vec<u8>>], s: usize) -> Result<()> {
    let open: Vec<f64> = columns[0].iter().map(|t| opening(t, s)).collect();
    let mut sorted = open.clone();
    sorted.sort_by(f64::total_cmp);
    let speaking: Vec<usize> = (0..open.len()).filter(|&i| open[i] > sorted[sorted.len() / 2]).collect();
    let rows: Vec<usize> = (0..6).filter_map(|k| speaking.get(k * speaking.len() / 6).copied()).collect();
    let (tile_w, tile_h, gap) = (2 * s, s, 4);
    let width = columns.len() * (tile_w + gap) - gap;
    let height = rows.len().max(1) * (tile_h + gap) - gap;
    let mut sheet = image::RgbImage::from_pixel(width as u32, height as u32, image::Rgb([255, 255, 255]));
    for (r, &i) in rows.iter().enumerate() {
        for (c, column) in columns.iter().enumerate() {
            let lower = &column[i];
            for y in 0..tile_h {
                for x in 0..tile_w {
                    let p = &lower[((y / 2) * s + x / 2) * 3..][..3];
                    sheet.put_pixel((c * (tile_w + gap) + x) as u32, (r * (tile_h + gap) + y) as u32, image::Rgb([p[2], p[1], p[0]]));
                }
            }
        }
    }
    Ok(sheet.save(path)?)
}

fn lower_half(crop: &[u8], s: usize) -> &[u8] {
    &crop[s / 2 * s * 3..]
}

/// The shapes of a window's centre frame.
fn centre_steps(window: &[f32]) -> FrameSteps {
    std::array::from_fn(|k| {
        let step = &window[(phonetic::FRAMES_BEFORE * STEPS_PER_FRAME + k) * phonetic::SHAPES..][..phonetic::SHAPES];
        Mouth::ALL[step.iter().position(|&v| v > 0.5).unwrap_or(Mouth::ALL.len() - 1)]
    })
}

fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// Frame steps for the whole footage in which each held-out sentence is said by
/// `voice` instead, warped onto the footage's timing; silence elsewhere.
fn other_voice_steps(voice: &VoiceConfig, script: &Path, meta: &DataMeta, footage: &[FrameSteps]) -> Result<Vec<FrameSteps>> {
    let text = std::fs::read_to_string(script).with_context(|| format!("cannot read the script {}", script.display()))?;
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() != meta.sentence_frames.len() {
        tracing::warn!(
            "the script has {} lines and the footage {} sentences: the last {} of each are paired",
            lines.len(),
            meta.sentence_frames.len(),
            meta.held_out_sentences
        );
    }
    let mut speaker = Speaker::load(voice)?;
    let per_frame = OUTPUT_RATE as f64 / meta.fps;
    let mut out = vec![phonetic::SILENT_FRAME; footage.len()];
    let held = meta.held_out_sentences.min(lines.len());
    for (line, &(a, b)) in lines[lines.len() - held..].iter().zip(&meta.sentence_frames[meta.sentence_frames.len() - held..]) {
        let Some(u) = speaker.speak(line, "")? else { continue };
        let frames = (u.samples().len() as f64 / per_frame).ceil() as usize;
        let said: Vec<FrameSteps> = (0..frames)
            .map(|n| phonetic::frame_steps(&u.mouth, (n as f64 * per_frame) as i64, ((n + 1) as f64 * per_frame) as i64))
            .collect();
        let said = trim_rest(&said);
        for (i, j) in warp(&footage[a..b], said).into_iter().enumerate() {
            out[a + i] = said[j];
        }
    }
    Ok(out)
}

/// The frames from the first to the last that are not all rest.
fn trim_rest(steps: &[FrameSteps]) -> &[FrameSteps] {
    let talking = |s: &FrameSteps| s.iter().any(|&m| m != Mouth::X);
    let first = steps.iter().position(talking).unwrap_or(0);
    let last = steps.iter().rposition(talking).map_or(steps.len(), |l| l + 1);
    &steps[first..last.max(first + 1).min(steps.len())]
}

/// Dynamic time warping of `to` onto `from`: for each frame of `from`, the frame of
/// `to` it matches (steps that differ cost 1 each).
fn warp(from: &[FrameSteps], to: &[FrameSteps]) -> Vec<usize> {
    let (n, m) = (from.len(), to.len());
    if n == 0 || m == 0 {
        return vec![0; n];
    }
    let cost = |i: usize, j: usize| from[i].iter().zip(&to[j]).filter(|(a, b)| a != b).count() as f32;
    let mut acc = vec![f32::INFINITY; n * m];
    for i in 0..n {
        for j in 0..m {
            let best = match (i, j) {
                (0, 0) => 0.0,
                (0, _) => acc[j - 1],
                (_, 0) => acc[(i - 1) * m],
                _ => acc[(i - 1) * m + j - 1].min(acc[(i - 1) * m + j]).min(acc[i * m + j - 1]),
            };
            acc[i * m + j] = best + cost(i, j);
        }
    }
    // Back from the end, keeping for each `from` frame the first `to` frame it met.
    let mut path = vec![0; n];
    let (mut i, mut j) = (n - 1, m - 1);
    loop {
        path[i] = j;
        if i == 0 && j == 0 {
            break;
        }
        let candidates = [(i.wrapping_sub(1), j.wrapping_sub(1)), (i.wrapping_sub(1), j), (i, j.wrapping_sub(1))];
        let (ni, nj) = candidates.into_iter().filter(|&(a, b)| a < n && b < m).min_by(|a, b| acc[a.0 * m + a.1].total_cmp(&acc[b.0 * m + b.1])).expect("a step back");
        (i, j) = (ni, nj);
    }
    path
}

/// PSNR, SSIM and the mouth's opening of `drawn` against `truth` (lower halves).
fn measure(drawn: &[Vec<u8>], truth: &[&[u8]], s: usize, frames: &[usize], on_air_psnr_db: f64) -> Figures {
    let mut se = 0f64;
    let mut count = 0usize;
    let (mut ssim_sum, mut energy_drawn, mut energy_real) = (0f64, 0f64, 0f64);
    for (d, t) in drawn.iter().zip(truth) {
        se += d.iter().zip(t.iter()).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>();
        count += d.len();
        let (ld, lt) = (luma(d), luma(t));
        ssim_sum += ssim(&ld, &lt, s, s / 2);
        energy_drawn += mouth_gradient_energy(&ld, s);
        energy_real += mouth_gradient_energy(&lt, s);
    }
    let psnr_db = 10.0 * (255f64.powi(2) / (se / count.max(1) as f64).max(1e-9)).log10();
    let open_d: Vec<f64> = drawn.iter().map(|d| opening(d, s)).collect();
    let open_t: Vec<f64> = truth.iter().map(|t| opening(t, s)).collect();
    // Correlations only within runs of consecutive frames (the held-out frames are).
    let contiguous = frames.windows(2).all(|w| w[1] == w[0] + 1);
    let (lag, _) = if contiguous { best_lag(&open_d, &open_t, 6) } else { (0, 0.0) };
    Figures {
        psnr_db: round(psnr_db, 2),
        ssim: round(ssim_sum / drawn.len().max(1) as f64, 4),
        sharpness: round(energy_drawn / energy_real.max(1e-9), 3),
        opening_r: round(pearson(&open_d, &open_t), 3),
        lag_frames: lag,
        on_air_psnr_db: round(on_air_psnr_db, 2),
        lip_gap: None,
    }
}

/// The face mesh's lip opening on each frame's crop, its upper half from `crop` and
/// its lower half from `lowers`; None where the mesh finds no face.
fn lip_gaps<'a>(mesh: &mut FaceMesh, frames: &[usize], crop: impl Fn(usize) -> &'a [u8], lowers: &[impl AsRef<[u8]>], s: usize) -> Result<Vec<Option<f64>>> {
    let mut rgba = vec![255u8; s * s * 4];
    let mut gaps = Vec::with_capacity(frames.len());
    for (&i, lower) in frames.iter().zip(lowers) {
        let upper = &crop(i)[..s * s / 2 * 3];
        for (px, bgr) in rgba.chunks_exact_mut(4).zip(upper.chunks_exact(3).chain(lower.as_ref().chunks_exact(3))) {
            px[..3].copy_from_slice(&[bgr[2], bgr[1], bgr[0]]);
        }
        let frame = Rgba { pixels: &rgba, width: s as u32, height: s as u32 };
        // The crop spans the face; the mesh wants it grown 1.5 times, then its own window.
        let first = mesh.fit(frame, Window { center: [s as f32 / 2.0; 2], size: 1.5 * s as f32, angle: 0.0 })?;
        let fit = mesh.fit(frame, first.landmarks.next_window())?;
        gaps.push((first.presence >= MIN_PRESENCE && fit.presence >= MIN_PRESENCE).then(|| fit.landmarks.lip_opening() as f64));
    }
    Ok(gaps)
}

/// Correlation and mean difference of the drawn lip openings with the real, on frames
/// the mesh read in both; None when it read fewer than half of them.
fn compare_gaps(drawn: &[Option<f64>], real: &[Option<f64>]) -> Option<LipGap> {
    let (d, r): (Vec<f64>, Vec<f64>) = drawn.iter().zip(real).filter_map(|(d, r)| Some(((*d)?, (*r)?))).unzip();
    if d.len() * 2 < real.len() {
        return None;
    }
    let mean_error = d.iter().zip(&r).map(|(a, b)| (a - b).abs()).sum::<f64>() / d.len() as f64;
    Some(LipGap { r: round(pearson(&d, &r), 3), mean_error: round(mean_error, 4), frames: d.len() })
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn luma(bgr: &[u8]) -> Vec<f64> {
    bgr.chunks_exact(3).map(|p| 0.114 * p[0] as f64 + 0.587 * p[1] as f64 + 0.299 * p[2] as f64).collect()
}

/// Mean SSIM over 8x8 windows every 4 pixels (luma, 0..255).
fn ssim(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut sum, mut n) = (0.0, 0);
    for y in (0..h.saturating_sub(7)).step_by(4) {
        for x in (0..w.saturating_sub(7)).step_by(4) {
            let (mut ma, mut mb, mut va, mut vb, mut cov) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for yy in y..y + 8 {
                for xx in x..x + 8 {
                    let (p, q) = (a[yy * w + xx], b[yy * w + xx]);
                    ma += p;
                    mb += q;
                    va += p * p;
                    vb += q * q;
                    cov += p * q;
                }
            }
            let k = 64.0;
            let (ma, mb) = (ma / k, mb / k);
            let (va, vb, cov) = (va / k - ma * ma, vb / k - mb * mb, cov / k - ma * mb);
            sum += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

/// The squared luma differences to the right and below, summed over the mouth area of
/// a lower half (the middle half across, the upper 80 % down, as `opening`): where lips
/// and teeth are soft, this falls.
fn mouth_gradient_energy(luma: &[f64], s: usize) -> f64 {
    let h = s / 2;
    let mut sum = 0.0;
    for y in 0..h * 4 / 5 {
        for x in s / 4..s * 3 / 4 {
            let p = luma[y * s + x];
            sum += (luma[y * s + x + 1] - p).powi(2) + (luma[(y + 1) * s + x] - p).powi(2);
        }
    }
    sum
}

/// How far the mouth is open in a lower half: the share of the mouth area (the
/// middle half across, the upper 80 % down) darker than 60 % of that area's median
/// brightness: the open mouth's inside.
pub fn opening(lower: &[u8], s: usize) -> f64 {
    let l = luma(lower);
    let h = s / 2;
    let area: Vec<f64> = (0..h * 4 / 5).flat_map(|y| (s / 4..s * 3 / 4).map(move |x| (y, x))).map(|(y, x)| l[y * s + x]).collect();
    let mut sorted = area.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    area.iter().filter(|&&v| v < 0.6 * median).count() as f64 / area.len() as f64
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 { 0.0 } else { cov / (va * vb).sqrt() }
}

/// The shift of `a` against `b` (within ±max frames) where they correlate best.
fn best_lag(a: &[f64], b: &[f64], max: i64) -> (i64, f64) {
    (-max..=max)
        .map(|lag| {
            let pairs: Vec<(f64, f64)> = (0..a.len() as i64).filter_map(|i| b.get((i - lag) as usize).filter(|_| i >= lag).map(|&y| (a[i as usize], y))).collect();
            let (x, y): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            (lag, pearson(&x, &y))
        })
        .max_by(|p, q| p.1.total_cmp(&q.1).then(q.0.abs().cmp(&p.0.abs())))
        .unwrap_or((0, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_warping_follows_a_slower_say() {
        use Mouth::*;
        let f = |m: Mouth| [m; STEPS_PER_FRAME];
        let from = [f(A), f(A), f(D), f(D), f(D), f(D), f(F), f(F)];
        let to = [f(A), f(D), f(D), f(F)];
        let w = warp(&from, &to);
        // Every frame meets a frame of the same shape, in order.
        assert!(w.windows(2).all(|p| p[0] <= p[1]), "{w:?}");
        assert!(from.iter().zip(&w).all(|(a, &j)| *a == to[j]), "{w:?}");
        assert_eq!((w[0], w[7]), (0, 3));
    }

    #[test]
    fn a_blurred_mouth_has_less_detail_than_the_real_one() {
        let s = 32;
        let real: Vec<u8> = (0..s * s / 2).flat_map(|p| [if (p % s / 2 + p / s) % 2 == 0 { 40 } else { 220 }; 3]).collect();
        let blurred: Vec<u8> = real.chunks_exact(3).map(|p| (p[0] as u16 + 130) / 2).flat_map(|v| [v as u8; 3]).collect();
        let f = measure(&[blurred], &[&real[..]], s, &[0], 0.0);
        assert!(f.sharpness < 0.5, "{f:?}");
        assert_eq!(measure(&[real.clone()], &[&real[..]], s, &[0], 0.0).sharpness, 1.0);
    }

    #[test]
    fn a_dark_middle_is_an_open_mouth() {
        let s = 32;
        let mut half = vec![200u8; s * s / 2 * 3];
        assert_eq!(opening(&half, s), 0.0);
        for y in 4..10 {
            for x in 12..20 {
                half[(y * s + x) * 3..][..3].fill(30);
            }
        }
        assert!(opening(&half, s) > 0.15);
    }
}
