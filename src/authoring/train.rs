//! `avatarcast avatar train`: a presenter's own face model, trained from the pack's
//! footage and nothing else (no pretrained weights of anyone's).
//!
//! avatarcast does the data work: it decodes the footage's sound and finds what is
//! said in every frame as mouth shapes (the mouth model, lipsync::audio_model, which
//! hears shapes in any voice), turns them into the speaker-independent windows the
//! model will hear on air (lipsync::phonetic), and crops every frame's face box the
//! way the stream crops it (lipsync::neural::face). The last 15 % of the footage's
//! sentences are held out. Then scripts/face-model/train.py (JAX, pinned, in the venv
//! that setup makes) trains the network and exports ONNX; avatarcast checks the file
//! against the contract, puts it into the pack and makes the pack use it.
//!
//! Everything in progress lives in PACK/training/ (data, checkpoint): an interrupted
//! run resumes from there, and nothing in the pack changes until a model is whole.

use std::io::{BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::avatar::key::ChromaKey;
use crate::avatar::video::faces::{KeyedCut, PackFaces};
use crate::avatar::video::{VideoAvatar, VideoManifest};
use crate::lipsync::neural::face;
use crate::config::LipsyncConfig;
use crate::lipsync::neural::{Conditioning, FaceModel};
use crate::lipsync::phonetic::{self, FrameSteps};
use crate::lipsync::{Mouth, MouthTrack, audio_model::MouthModel};
use crate::audio_format::OUTPUT_RATE;

/// The least speech worth training on.
pub const MIN_SPEECH_SECONDS: f64 = 60.0;
/// Share of the sentences (the last ones) held out of training.
pub const HELD_OUT_SHARE: f64 = 0.15;
/// A pause at least this long ends a sentence.
const SENTENCE_PAUSE_SECONDS: f64 = 0.45;
/// The model file and its report, inside the pack.
pub const MODEL_FILE: &str = "face-model.onnx";
pub const REPORT_FILE: &str = "face-model.json";
/// The training toolchain setup installs, and the trainer.
pub const PYTHON: &str = "models/face-model-venv/bin/python";
pub const SCRIPT: &str = "scripts/face-model/train.py";
/// Bump when the data written to training/ changes meaning.
const DATA_VERSION: u32 = 3;

pub struct TrainOptions {
    pub pack: PathBuf,
    /// Stop training after this many minutes (the data work included) and write
    /// the model as it is.
    pub max_minutes: Option<f64>,
    /// "cpu" or "cuda".
    pub device: String,
    /// Side of the model's square face crop.
    pub size: usize,
    /// Passes over the training frames.
    pub epochs: f64,
    /// Weight of the patch critic trained beside the model (0: none).
    pub critic: f64,
    pub onnxruntime: PathBuf,
    pub mouth_model: PathBuf,
    /// The Python of the training venv and the training script.
    pub python: PathBuf,
    pub script: PathBuf,
    pub progress: bool,
}

/// What training/meta.json records of the data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DataMeta {
    version: u32,
    /// Footage file size and modification time, faces.json's too, and the crop size:
    /// the data is reused while these hold.
    fingerprint: String,
    pub frames: usize,
    pub size: usize,
    pub fps: f64,
    pub speech_seconds: f64,
    /// Frames [first, end) of each sentence.
    pub sentence_frames: Vec<(usize, usize)>,
    pub held_out_sentences: usize,
    /// The first held-out frame.
    pub held_out_from: usize,
    pub train_frames: usize,
    pub held_out_frames: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TrainReport {
    pub data: DataMeta,
    pub steps: u64,
    pub total_steps: u64,
    /// "done" or "time limit".
    pub stopped: String,
    pub train_seconds: f64,
    pub device: String,
    /// Lower half of the face crop on held-out frames (the trainer's own figure).
    pub held_out_psnr_db: f64,
    pub model: String,
}

pub fn run(opts: &TrainOptions) -> Result<TrainReport> {
    let started = Instant::now();
    let manifest = VideoAvatar::manifest(&opts.pack)?;
    if manifest.alpha_video.is_some() {
        bail!(
            "{}: training reads keyed or unkeyed footage; a pack cut out by `alpha_video` cannot be trained yet (import the \
             footage with --key instead)",
            opts.pack.join("avatar.toml").display()
        );
    }
    if !["cpu", "cuda"].contains(&opts.device.as_str()) {
        bail!("--device {}: use cpu or cuda", opts.device);
    }
    if !opts.python.is_file() || !opts.script.is_file() {
        bail!(
            "the training toolchain is missing ({} and {}): run `bash scripts/setup.sh`, which installs it from PyPI",
            opts.python.display(),
            opts.script.display()
        );
    }
    let dir = opts.pack.join("training");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let meta = prepare(opts, &manifest, &dir)?;
    tracing::info!(
        "training data: {} frames ({} to train on, {} held out: the last {} of {} sentences), {:.0} s of speech",
        meta.frames,
        meta.train_frames,
        meta.held_out_frames,
        meta.held_out_sentences,
        meta.sentence_frames.len(),
        meta.speech_seconds
    );

    let model_part = dir.join("model.onnx");
    let _ = std::fs::remove_file(&model_part);
    let mut cmd = Command::new(&opts.python);
    cmd.arg(&opts.script)
        .arg("--data")
        .arg(&dir)
        .arg("--out")
        .arg(&model_part)
        .args(["--epochs", &opts.epochs.to_string(), "--device", &opts.device, "--critic", &opts.critic.to_string()]);
    let mut deadline = None;
    if let Some(m) = opts.max_minutes {
        let left = (m - started.elapsed().as_secs_f64() / 60.0).max(0.05);
        cmd.args(["--max-minutes", &format!("{left:.3}")]);
        deadline = Some(Instant::now() + std::time::Duration::from_secs_f64(left * 60.0));
    }
    let finished = run_trainer(cmd, opts.progress, deadline)?;
    // The exported file must meet the contract the stream loads, before the pack uses it.
    let lipsync = LipsyncConfig { model: model_part.clone(), threads: 1, ..LipsyncConfig::default() };
    let loaded = FaceModel::load(&lipsync, &opts.onnxruntime).context("the trained model does not load")?;
    if loaded.conditioning != Conditioning::Phonetic || loaded.size != meta.size {
        bail!("the trainer wrote a model of the wrong kind ({:?}, {} px)", loaded.conditioning, loaded.size);
    }
    let report = TrainReport {
        data: meta,
        steps: finished["step"].as_u64().unwrap_or(0),
        total_steps: finished["steps"].as_u64().unwrap_or(0),
        stopped: finished["stopped"].as_str().unwrap_or("done").to_string(),
        train_seconds: finished["seconds"].as_f64().unwrap_or(0.0),
        device: opts.device.clone(),
        held_out_psnr_db: finished["psnr_db"].as_f64().unwrap_or(f64::NAN),
        model: MODEL_FILE.into(),
    };
    install(&opts.pack, &model_part, &report)?;
    Ok(report)
}

/// Runs the trainer, drawing its progress (to the end of its steps or to `deadline`,
/// whichever comes first); returns its `finished` line.
fn run_trainer(mut cmd: Command, show: bool, deadline: Option<Instant>) -> Result<serde_json::Value> {
    let began = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("cannot start the trainer {:?}", cmd.get_program()))?;
    // Ctrl-C or SIGTERM: the trainer saves its checkpoint and stops; we wait for it.
    let pid = child.id() as libc::pid_t;
    let _ = ctrlc::set_handler(move || {
        // SAFETY: signals our own child process by its pid.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    });
    let stdout = child.stdout.take().context("trainer stdout")?;
    let mut finished = None;
    let mut error = None;
    let (mut held, mut first) = (String::new(), None::<(u64, f64)>);
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading the trainer's output")?;
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            eprintln!("{line}");
            continue;
        };
        match event["event"].as_str().unwrap_or("") {
            "start" => {
                tracing::info!(
                    "training on {} (from step {} of {}; {} frames, {} held out, {} px)",
                    event["backend"].as_str().unwrap_or("?"),
                    event["step"],
                    event["steps"],
                    event["frames"],
                    event["held_out"],
                    event["size"]
                );
            }
            "resumed" => tracing::info!("resuming from the checkpoint at step {} of {}", event["step"], event["steps"]),
            "restart" => tracing::info!("starting afresh: {}", event["reason"].as_str().unwrap_or("")),
            "progress" => {
                let (step, steps, seconds) = (event["step"].as_u64().unwrap_or(0), event["steps"].as_u64().unwrap_or(1), event["seconds"].as_f64().unwrap_or(0.0));
                // ETA from this run's own pace (a resumed run starts later than step 0).
                let (s0, t0) = *first.get_or_insert((step, seconds));
                let mut eta = if step > s0 { (steps - step) as f64 * (seconds - t0) / (step - s0) as f64 } else { f64::NAN };
                let mut done = step as f64 / steps.max(1) as f64;
                if let Some(d) = deadline {
                    let left = d.saturating_duration_since(Instant::now()).as_secs_f64();
                    eta = if eta.is_finite() { eta.min(left) } else { left };
                    done = done.max(began.elapsed().as_secs_f64() / (began.elapsed().as_secs_f64() + left).max(1e-9));
                }
                if show {
                    let eta = if eta.is_finite() { crate::progress::duration(eta) } else { "…".into() };
                    crate::progress::draw(
                        "training",
                        Some(done),
                        &format!("step {step}/{steps}  loss {:.4}{held}  {} in, ETA {eta}", event["loss"].as_f64().unwrap_or(f64::NAN), crate::progress::duration(seconds)),
                    );
                }
            }
            "heldout" => {
                held = format!("  held-out PSNR {:.1} dB", event["psnr_db"].as_f64().unwrap_or(f64::NAN));
                tracing::debug!("held out at step {}: {event}", event["step"]);
            }
            "finished" => finished = Some(event),
            "interrupted" => {
                error = Some(format!("interrupted at step {}; the checkpoint is saved: run the same command again to resume", event["step"]));
            }
            "error" => error = Some(event["message"].as_str().unwrap_or("").to_string()),
            _ => {}
        }
    }
    if show {
        crate::progress::done();
    }
    let status = child.wait().context("waiting for the trainer")?;
    if let Some(e) = error {
        bail!("training failed: {e}");
    }
    match finished {
        Some(f) if status.success() => Ok(f),
        _ => bail!("the trainer stopped ({status}) before writing a model; run the same command again to resume from its checkpoint"),
    }
}

/// Puts the model and its report into the pack and makes avatar.toml name it; each
/// file replaced whole (written beside it, then renamed).
fn install(pack: &Path, model: &Path, report: &TrainReport) -> Result<()> {
    let replace = |to: &str, write: &dyn Fn(&Path) -> Result<()>| -> Result<()> {
        let dest = pack.join(to);
        let part = pack.join(format!("{to}.part"));
        write(&part)?;
        std::fs::rename(&part, &dest).with_context(|| format!("cannot write {}", dest.display()))
    };
    replace(MODEL_FILE, &|p| std::fs::copy(model, p).map(|_| ()).with_context(|| format!("cannot copy the model into {}", pack.display())))?;
    replace(REPORT_FILE, &|p| Ok(std::fs::write(p, serde_json::to_string_pretty(report)? + "\n")?))?;
    let manifest = std::fs::read_to_string(pack.join("avatar.toml"))?;
    let updated = with_face_model(&manifest, MODEL_FILE);
    replace("avatar.toml", &|p| Ok(std::fs::write(p, &updated)?))
}

/// avatar.toml with `face_model = FILE` among its top-level keys (replacing one there).
fn with_face_model(manifest: &str, file: &str) -> String {
    let line = format!("face_model = {file:?}");
    let mut out: Vec<String> = Vec::new();
    let mut placed = false;
    for l in manifest.lines() {
        if l.trim_start().starts_with("face_model") && l.contains('=') {
            out.push(line.clone());
            placed = true;
        } else {
            out.push(l.to_string());
        }
    }
    if !placed {
        // Top-level keys come before the first [table].
        let at = out.iter().position(|l| l.trim_start().starts_with('[')).unwrap_or(out.len());
        out.insert(at, format!("# The presenter's own face model, written by `avatarcast avatar train`.\n{line}\n"));
    }
    out.join("\n") + "\n"
}

// ------------------------------------------------------------------ the data

/// What the footage's sound says: the mouth shapes of every frame, the sentences.
pub struct Speech {
    pub steps: Vec<FrameSteps>,
    pub speech_seconds: f64,
    /// Frame ranges [first, end) of each sentence.
    pub sentences: Vec<(usize, usize)>,
}

/// Hears the footage: decodes its sound and finds the mouth shapes in it.
pub fn hear(footage: &Path, frames: usize, fps: f64, mouth_model: &Path, onnxruntime: &Path) -> Result<Speech> {
    let audio = crate::speech::clip::decode(footage)
        .with_context(|| format!("the footage {} has no sound to train on: record the presenter reading aloud, with sound", footage.display()))?;
    let mut model = MouthModel::load(mouth_model, onnxruntime)?;
    let phonemes = model.phonemes(&audio).with_context(|| format!("the mouth model on {}", footage.display()))?;
    let track = MouthTrack::from_phonemes(&phonemes, OUTPUT_RATE);
    let per_frame = OUTPUT_RATE as f64 / fps;
    let steps: Vec<FrameSteps> = (0..frames)
        .map(|i| phonetic::frame_steps(&track, (i as f64 * per_frame).round() as i64, ((i + 1) as f64 * per_frame).round() as i64))
        .collect();
    let speech_samples: u64 = track.cues.iter().filter(|c| c.mouth != Mouth::X).map(|c| (c.end - c.start) as u64).sum();
    Ok(Speech { sentences: sentences(&steps, fps), speech_seconds: speech_samples as f64 / OUTPUT_RATE as f64, steps })
}

/// Frame ranges of the stretches of speech between pauses of SENTENCE_PAUSE_SECONDS.
fn sentences(steps: &[FrameSteps], fps: f64) -> Vec<(usize, usize)> {
    let pause = (SENTENCE_PAUSE_SECONDS * fps).ceil() as usize;
    let talking: Vec<bool> = steps.iter().map(|s| s.iter().any(|&m| m != Mouth::X)).collect();
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < talking.len() {
        if !talking[i] {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut quiet = 0;
        while i < talking.len() && quiet < pause {
            if talking[i] {
                end = i + 1;
                quiet = 0;
            } else {
                quiet += 1;
            }
            i += 1;
        }
        out.push((start, end));
    }
    out
}

/// The first frame of the held-out sentences (the last HELD_OUT_SHARE of them), and
/// how many sentences that is.
pub fn held_out_from(sentences: &[(usize, usize)], frames: usize) -> (usize, usize) {
    let n = sentences.len();
    if n < 2 {
        return (frames, 0);
    }
    let held = ((n as f64 * HELD_OUT_SHARE).round() as usize).clamp(1, n - 1);
    let first = n - held;
    // Between the last trained sentence and the first held-out one.
    ((sentences[first - 1].1 + sentences[first].0) / 2, held)
}

fn fingerprint(paths: &[&Path], size: usize) -> Result<String> {
    let mut parts = vec![format!("v{DATA_VERSION}"), format!("{size}px")];
    for p in paths {
        let m = std::fs::metadata(p).with_context(|| format!("{} not found", p.display()))?;
        let modified = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs());
        parts.push(format!("{}:{}", m.len(), modified));
    }
    Ok(parts.join("/"))
}

/// Writes training/{frames,phonetic,split}.npy and meta.json, unless the data there
/// was made from the same footage, faces and crop size.
fn prepare(opts: &TrainOptions, manifest: &VideoManifest, dir: &Path) -> Result<DataMeta> {
    let footage = opts.pack.join(&manifest.video);
    let faces_path = opts.pack.join(&manifest.faces);
    let face_files = PackFaces::files(&opts.pack, manifest);
    let fingerprint = fingerprint(&std::iter::once(&footage).chain(&face_files).map(|p| p.as_path()).collect::<Vec<_>>(), opts.size)?;
    let meta_path = dir.join("meta.json");
    if let Some(meta) = std::fs::read_to_string(&meta_path).ok().and_then(|t| serde_json::from_str::<DataMeta>(&t).ok()) {
        if meta.fingerprint == fingerprint && ["frames.npy", "phonetic.npy", "split.npy"].iter().all(|f| dir.join(f).is_file()) {
            tracing::info!("reusing the training data in {}", dir.display());
            return Ok(meta);
        }
    }
    let _ = std::fs::remove_file(&meta_path);
    let _ = std::fs::remove_file(dir.join("checkpoint.npz"));

    let faces = PackFaces::read(&opts.pack, manifest)?;
    tracing::info!("cropping the faces ({} crops)", faces.kind());
    let key = manifest.key.as_ref().map(ChromaKey::new).transpose()?;
    let size = opts.size;

    // One pass over the pictures: key, crop, write.
    let mut crops = NpyWriter::create(&dir.join("frames.npy"), "|u1", &[size, size, 3])?;
    let mut has_face = Vec::new();
    let mut crop = vec![0u8; size * size * 3];
    let mut fps = 25.0;
    let mut last_report = Instant::now();
    crate::media::decode::for_each_frame(&footage, |i, info, rgba| {
        fps = info.fps;
        let face_crop = faces.crop(i, [0, 0], info.width, info.height);
        match &face_crop {
            Some(c) => {
                let cut = KeyedCut::new(rgba, info.width, c, key.as_ref());
                face::crop_bgr(cut.pixels(), c, size, &mut crop);
            }
            None => crop.fill(0),
        }
        has_face.push(face_crop.is_some());
        crops.push(&crop)?;
        if opts.progress && last_report.elapsed().as_millis() >= 250 {
            last_report = Instant::now();
            let detail = format!("{}/{} frames", i + 1, info.frames.map_or("?".into(), |n| n.to_string()));
            crate::progress::draw("cropping faces", info.frames.map(|n| (i + 1) as f64 / n.max(1) as f64), &detail);
        }
        Ok(true)
    })
    .with_context(|| format!("reading the footage {}", footage.display()))?;
    crops.finish()?;
    if opts.progress {
        crate::progress::done();
    }
    let frames = has_face.len();
    let with_face = has_face.iter().filter(|&&f| f).count();
    if with_face < frames / 2 {
        bail!(
            "{}: only {with_face} of {frames} frames have a face box; import the footage again with a --face box (or \
             --face-detector) that finds the presenter's face",
            faces_path.display()
        );
    }

    if opts.progress {
        eprintln!("hearing what is said in the footage …");
    }
    let speech = hear(&footage, frames, fps, &opts.mouth_model, &opts.onnxruntime)?;
    if speech.speech_seconds < MIN_SPEECH_SECONDS {
        bail!(
            "the footage {} has {:.0} s of speech; training needs at least {MIN_SPEECH_SECONDS:.0} s (3 minutes or more is \
             better): record the presenter reading sentences aloud",
            footage.display(),
            speech.speech_seconds
        );
    }
    let (held_from, held_sentences) = held_out_from(&speech.sentences, frames);
    let split: Vec<u8> = (0..frames).map(|i| if !has_face[i] { 2 } else if i >= held_from { 1 } else { 0 }).collect();
    let windows = phonetic::windows(&speech.steps);
    let mut ph = NpyWriter::create(&dir.join("phonetic.npy"), "<f4", &[phonetic::WINDOW_STEPS, phonetic::SHAPES])?;
    for w in windows.chunks_exact(phonetic::WINDOW_LEN) {
        ph.push(&w.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())?;
    }
    ph.finish()?;
    let mut sp = NpyWriter::create(&dir.join("split.npy"), "|u1", &[])?;
    for s in &split {
        sp.push(&[*s])?;
    }
    sp.finish()?;
    let meta = DataMeta {
        version: DATA_VERSION,
        fingerprint,
        frames,
        size,
        fps,
        speech_seconds: speech.speech_seconds,
        sentence_frames: speech.sentences.clone(),
        held_out_sentences: held_sentences,
        held_out_from: held_from,
        train_frames: split.iter().filter(|&&s| s == 0).count(),
        held_out_frames: split.iter().filter(|&&s| s == 1).count(),
    };
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta)?)?;
    Ok(meta)
}

/// A .npy file (format 1.0) written row by row; the row count goes into the header
/// at the end (the header is padded to a fixed length for that).
struct NpyWriter {
    file: std::io::BufWriter<std::fs::File>,
    descr: &'static str,
    row_shape: Vec<usize>,
    row_bytes: usize,
    rows: usize,
    path: PathBuf,
}

const NPY_HEADER: usize = 128;

impl NpyWriter {
    fn create(path: &Path, descr: &'static str, row_shape: &[usize]) -> Result<NpyWriter> {
        let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        let item = if descr.ends_with('4') { 4 } else { 1 };
        let mut w = NpyWriter {
            file: std::io::BufWriter::new(file),
            descr,
            row_shape: row_shape.to_vec(),
            row_bytes: item * row_shape.iter().product::<usize>(),
            rows: 0,
            path: path.to_path_buf(),
        };
        w.header()?;
        Ok(w)
    }

    fn header(&mut self) -> Result<()> {
        let shape: Vec<String> = std::iter::once(self.rows).chain(self.row_shape.iter().copied()).map(|d| d.to_string()).collect();
        let shape = if shape.len() == 1 { format!("({},)", shape[0]) } else { format!("({})", shape.join(", ")) };
        let mut dict = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", self.descr);
        let pad = NPY_HEADER - 10 - dict.len() - 1;
        dict += &" ".repeat(pad);
        dict.push('\n');
        self.file.write_all(b"\x93NUMPY\x01\x00")?;
        self.file.write_all(&((NPY_HEADER - 10) as u16).to_le_bytes())?;
        self.file.write_all(dict.as_bytes())?;
        Ok(())
    }

    fn push(&mut self, row: &[u8]) -> Result<()> {
        debug_assert_eq!(row.len(), self.row_bytes);
        self.file.write_all(row).with_context(|| format!("cannot write {}", self.path.display()))?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.file.flush()?;
        self.file.seek(std::io::SeekFrom::Start(0))?;
        self.header()?;
        self.file.flush()?;
        Ok(())
    }
}

/// The data of a .npy file `NpyWriter` wrote (little-endian, C order), after its header.
pub(super) fn read_npy(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(path).with_context(|| format!("cannot read {}: run `avatarcast avatar train` again", path.display()))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("{} is not a .npy file: run `avatarcast avatar train` again", path.display());
    }
    let header = (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize).min(bytes.len());
    bytes.drain(..header);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_files_read_back_as_written() {
        let path = std::env::temp_dir().join(format!("avatarcast-npy-{}.npy", std::process::id()));
        let mut w = NpyWriter::create(&path, "|u1", &[2, 3]).unwrap();
        w.push(&[1, 2, 3, 4, 5, 6]).unwrap();
        w.push(&[7, 8, 9, 10, 11, 12]).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()[..NPY_HEADER]).into_owned();
        assert!(text.contains("'shape': (2, 2, 3)"), "{text}");
        assert_eq!(read_npy(&path).unwrap(), (1..=12).collect::<Vec<u8>>());
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_last_sentences_are_held_out_at_a_pause() {
        let s: Vec<(usize, usize)> = (0..20).map(|i| (i * 100, i * 100 + 80)).collect();
        let (from, n) = held_out_from(&s, 2000);
        assert_eq!(n, 3);
        assert_eq!(from, (1680 + 1700) / 2);
    }

    #[test]
    fn sentences_are_split_at_long_pauses_only() {
        let talk = [Mouth::D; 4];
        let quiet = phonetic::SILENT_FRAME;
        // 10 talking, 3 quiet (0.12 s: a word gap), 10 talking, 20 quiet, 5 talking.
        let steps: Vec<FrameSteps> = [(talk, 10), (quiet, 3), (talk, 10), (quiet, 20), (talk, 5)]
            .iter()
            .flat_map(|&(s, n)| std::iter::repeat_n(s, n))
            .collect();
        assert_eq!(sentences(&steps, 25.0), vec![(0, 23), (43, 48)]);
    }

    #[test]
    fn the_face_model_line_goes_among_the_top_level_keys() {
        let m = "name = \"A\"\nkind = \"video\"\n\n[idle]\nfirst = 0\nlast = 9\n";
        let once = with_face_model(m, "face-model.onnx");
        let parsed: toml::Value = toml::from_str(&once).unwrap();
        assert_eq!(parsed["face_model"].as_str(), Some("face-model.onnx"));
        assert!(parsed["idle"].get("face_model").is_none());
        let twice = with_face_model(&once, "face-model.onnx");
        assert_eq!(twice.matches("face_model =").count(), 1, "{twice}");
    }
}
