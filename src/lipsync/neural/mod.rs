//! Neural lip-sync for video packs: a face model redraws the mouth inside each
//! frame's face box. Two kinds of model, told apart by their inputs:
//!
//! - the Wav2Lip tensor contract (docs/design.md § Wav2Lip tensor contract): the stream's own audio becomes mel
//!   windows (mel.rs); it reads 200 ms of audio from each frame on. No inference runs
//!   in silence: the idle video shows its own mouth.
//! - a presenter's own model trained by `avatar train` (src/authoring/train.rs): it hears
//!   the mouth shapes being said (phonetic.rs), whoever's voice says them, and draws
//!   every frame, silence included (a resting mouth).
//!
//! Each frame's face box becomes a masked crop and a reference (face.rs), a worker
//! thread runs the model through ONNX Runtime in batches, and the mouth goes back into
//! the frame through a feathered mask. The picture is made a few frames behind the
//! sound the model needs: the renderer holds its output back by `lookahead_frames()`
//! (audio with it, so A/V stays exact).

pub mod enhancer;
pub mod face;
pub mod mel;
mod provider;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use crossbeam_channel::{Receiver, Sender, unbounded};
use ort::session::Session;
use ort::value::Tensor;
use resvg::tiny_skia::Pixmap;

pub use enhancer::FaceEnhancer;
pub use face::{FaceCrop, Patch, Rect};
use mel::{MEL_BANDS, StreamingMel, WINDOW_COLUMNS};

use super::phonetic::{self, FrameSteps, WindowQueue};
use crate::config::LipsyncConfig;
use provider::register_provider;
use crate::onnx;

/// A frame's audio window is complete this many frames after the frame itself
/// (16 columns of 12.5 ms, the STFT's half window and the resampler's delay).
pub const WINDOW_FRAMES: u64 = 6;
/// Windows quieter than this everywhere (mel mean per column) are silence.
const AUDIBLE_LEVEL: f32 = -3.2;

/// What a face model hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conditioning {
    /// The stream's audio as Wav2Lip's mel window, [80][16] a frame.
    Mel,
    /// The mouth shapes being said, [phonetic::WINDOW_STEPS][phonetic::SHAPES] a frame.
    Phonetic,
}

impl Conditioning {
    /// Floats per frame.
    pub fn frame_len(self) -> usize {
        match self {
            Conditioning::Mel => MEL_BANDS * WINDOW_COLUMNS,
            Conditioning::Phonetic => phonetic::WINDOW_LEN,
        }
    }

    fn shape(self, batch: usize) -> Vec<usize> {
        match self {
            Conditioning::Mel => vec![batch, 1, MEL_BANDS, WINDOW_COLUMNS],
            Conditioning::Phonetic => vec![batch, phonetic::WINDOW_STEPS, phonetic::SHAPES],
        }
    }

    /// A frame of silence.
    fn silence(self) -> Vec<f32> {
        match self {
            Conditioning::Mel => vec![mel::SILENCE; self.frame_len()],
            Conditioning::Phonetic => phonetic::windows(&[phonetic::SILENT_FRAME]),
        }
    }
}

/// The model and what its inputs are called.
pub struct FaceModel {
    session: Session,
    condition_input: String,
    face_input: String,
    output: String,
    pub conditioning: Conditioning,
    /// Side of the square face crop (96 for Wav2Lip, 160 for avatarcast's own).
    pub size: usize,
}

impl FaceModel {
    pub fn load(config: &LipsyncConfig, onnxruntime: &Path) -> Result<FaceModel> {
        let model = &config.model;
        let hint = "give `avatar.lipsync.model` a model trained by `avatarcast avatar train` or an ONNX export with the \
                    Wav2Lip signature (docs/avatar-packs.md)";
        let threads = match config.threads {
            0 => onnx::all_cores(),
            n => n,
        };
        let session = onnx::open_session(model, "lip-sync model", hint, onnxruntime, threads, |b| register_provider(b, config, onnxruntime))?;
        // Input names differ between exports: tell them apart by shape.
        let (mut condition, mut face_input, mut size) = (None, None, 96usize);
        const STEPS: i64 = phonetic::WINDOW_STEPS as i64;
        const SHAPES: i64 = phonetic::SHAPES as i64;
        for input in session.inputs() {
            let shape: Vec<i64> = input.dtype().tensor_shape().map(|s| s.iter().copied().collect()).unwrap_or_default();
            match shape.as_slice() {
                [_, 1, 80, 16] => condition = Some((input.name().to_string(), Conditioning::Mel)),
                [_, STEPS, SHAPES] => condition = Some((input.name().to_string(), Conditioning::Phonetic)),
                [_, 6, h, w] => {
                    face_input = Some(input.name().to_string());
                    if *h > 0 && h == w {
                        size = *h as usize;
                    }
                }
                _ => {}
            }
        }
        let described = session
            .inputs()
            .iter()
            .map(|i| format!("{} {:?}", i.name(), i.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ");
        let (Some((condition_input, conditioning)), Some(face_input)) = (condition, face_input) else {
            bail!(
                "lip-sync model {} has inputs {described}; a face model needs a face input (B,6,S,S) and either a mel input \
                 (B,1,80,16) (Wav2Lip) or a phonetic input (B,{STEPS},{SHAPES}) (avatarcast's own): {hint}",
                model.display()
            );
        };
        let Some(output) = session.outputs().first().map(|o| o.name().to_string()) else {
            bail!("lip-sync model {} has no output: {hint}", model.display());
        };
        let mut loaded = FaceModel { session, condition_input, face_input, output, conditioning, size };
        // One silent frame through it: a wrong output shape fails here, not on air.
        let s = loaded.size;
        loaded
            .infer(&conditioning.silence(), &vec![0.5; 6 * s * s], 1)
            .with_context(|| format!("lip-sync model {}", model.display()))?;
        Ok(loaded)
    }

    /// Runs `batch` frames: what it hears ([B][Conditioning::frame_len()]) and faces
    /// [B][6][S][S] -> [B][3][S][S] in 0..1.
    pub fn infer(&mut self, conditions: &[f32], faces: &[f32], batch: usize) -> Result<Vec<f32>> {
        let s = self.size;
        let condition = Tensor::from_array((self.conditioning.shape(batch), conditions.to_vec()))?;
        let face = Tensor::from_array(([batch, 6, s, s], faces.to_vec()))?;
        let outputs = self.session.run(ort::inputs![self.condition_input.as_str() => condition, self.face_input.as_str() => face])?;
        let (shape, values) = outputs[self.output.as_str()].try_extract_tensor::<f32>()?;
        if shape.to_vec() != [batch as i64, 3, s as i64, s as i64] {
            bail!("output `{}` has shape {:?}; a face model gives ({batch}, 3, {s}, {s})", self.output, shape.to_vec());
        }
        Ok(values.to_vec())
    }
}

/// Time spent per stage, for the benchmark and /metrics.
#[derive(Debug, Default)]
pub struct StageTimes {
    pub features_ns: AtomicU64,
    pub crop_ns: AtomicU64,
    pub inference_ns: AtomicU64,
    pub paste_ns: AtomicU64,
    pub enhance_ns: AtomicU64,
    /// Frames the model redrew.
    pub frames: AtomicU64,
    pub batches: AtomicU64,
    /// Frames whose mouth was not ready in time (live) and showed the idle mouth.
    pub late: AtomicU64,
    /// Frames without a face box, or in silence (Wav2Lip): no inference.
    pub skipped: AtomicU64,
    pub errors: AtomicU64,
}

impl StageTimes {
    /// Nanoseconds per redrawn frame of a stage.
    pub fn per_frame_ns(&self, stage: &AtomicU64) -> f64 {
        stage.load(Ordering::Relaxed) as f64 / self.frames.load(Ordering::Relaxed).max(1) as f64
    }

    /// Counts and milliseconds per redrawn frame, per stage.
    pub fn report(&self) -> serde_json::Value {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let frames = n(&self.frames).max(1) as f64;
        let per_frame = |c: &AtomicU64| (n(c) as f64 / 1e6 / frames * 1000.0).round() / 1000.0;
        serde_json::json!({
            "frames": n(&self.frames),
            "batches": n(&self.batches),
            "late": n(&self.late),
            "skipped": n(&self.skipped),
            "errors": n(&self.errors),
            "ms_per_frame": {
                "features": per_frame(&self.features_ns),
                "crop": per_frame(&self.crop_ns),
                "inference": per_frame(&self.inference_ns),
                "paste": per_frame(&self.paste_ns),
                "enhance": per_frame(&self.enhance_ns),
            },
        })
    }

    fn add(counter: &AtomicU64, since: Instant) {
        counter.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

/// One frame to redraw.
pub struct Job {
    pub frame: u64,
    /// The pack's frame the face is in.
    pub source: Arc<Pixmap>,
    pub crop: FaceCrop,
    /// What the model hears for it (Conditioning::frame_len() floats).
    pub condition: Vec<f32>,
}

/// Scratch for `redraw`, kept between batches.
#[derive(Default)]
pub struct RedrawBuffers {
    conditions: Vec<f32>,
    faces: Vec<f32>,
}

/// One model run over `jobs`: crop, inference, the mouths resized into their boxes and,
/// with an enhancer, each face enhanced; each stage timed into `times`. The worker's
/// batch, and the benchmark's.
pub fn redraw(
    model: &mut FaceModel,
    enhancer: Option<&mut FaceEnhancer>,
    jobs: &[Job],
    buffers: &mut RedrawBuffers,
    times: &StageTimes,
) -> Result<Vec<Patch>> {
    let s = model.size;
    let t = Instant::now();
    let RedrawBuffers { conditions, faces } = buffers;
    conditions.clear();
    faces.clear();
    faces.resize(jobs.len() * 6 * s * s, 0.0);
    for (j, job) in jobs.iter().enumerate() {
        conditions.extend_from_slice(&job.condition);
        face::crop_input(&job.source, &job.crop, s, &mut faces[j * 6 * s * s..(j + 1) * 6 * s * s]);
    }
    StageTimes::add(&times.crop_ns, t);
    let t = Instant::now();
    let out = model.infer(conditions, faces, jobs.len());
    StageTimes::add(&times.inference_ns, t);
    times.batches.fetch_add(1, Ordering::Relaxed);
    let out = out?;
    let t = Instant::now();
    let mut patches: Vec<Patch> =
        jobs.iter().enumerate().map(|(j, job)| face::patch_from_output(&out[j * 3 * s * s..(j + 1) * 3 * s * s], s, &job.crop)).collect();
    StageTimes::add(&times.paste_ns, t);
    if let Some(enhancer) = enhancer {
        let t = Instant::now();
        for (job, patch) in jobs.iter().zip(&mut patches) {
            enhancer.enhance_or_keep(&job.source, &job.crop, patch);
        }
        StageTimes::add(&times.enhance_ns, t);
    }
    times.frames.fetch_add(jobs.len() as u64, Ordering::Relaxed);
    Ok(patches)
}

struct Done {
    frame: u64,
    patch: Option<Patch>,
}

/// The renderer's side: feeds audio and faces in frame order, takes mouths out.
pub struct NeuralLipSync {
    fps: u32,
    conditioning: Conditioning,
    mel: StreamingMel,
    phonetic: WindowQueue,
    /// Frames planned whose audio window is not complete yet: (frame, face).
    waiting: VecDeque<(u64, Option<(Arc<Pixmap>, FaceCrop)>)>,
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    in_flight: HashSet<u64>,
    ready: HashMap<u64, Option<Patch>>,
    batch: usize,
    pub times: Arc<StageTimes>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl NeuralLipSync {
    /// Starts the worker.
    pub fn start(model: FaceModel, enhancer: Option<FaceEnhancer>, fps: u32, batch: usize) -> NeuralLipSync {
        let (job_tx, job_rx) = unbounded::<Job>();
        let (done_tx, done_rx) = unbounded();
        let times = Arc::new(StageTimes::default());
        let batch = batch.clamp(1, 64);
        let conditioning = model.conditioning;
        let worker_times = times.clone();
        let worker = std::thread::Builder::new()
            .name("lipsync".into())
            .spawn(move || run_worker(model, enhancer, batch, job_rx, done_tx, worker_times))
            .expect("spawn lip-sync worker");
        NeuralLipSync {
            fps,
            conditioning,
            mel: StreamingMel::new(),
            phonetic: WindowQueue::default(),
            waiting: VecDeque::new(),
            jobs: Some(job_tx),
            done: done_rx,
            in_flight: HashSet::new(),
            ready: HashMap::new(),
            batch,
            times,
            worker: Some(worker),
        }
    }

    /// How many frames the output must trail the timeline: what the model hears after
    /// the frame, one frame per batch slot, and one to spare.
    pub fn lookahead_frames(&self) -> u64 {
        let hears_ahead = match self.conditioning {
            Conditioning::Mel => WINDOW_FRAMES,
            Conditioning::Phonetic => phonetic::FRAMES_AFTER as u64,
        };
        hears_ahead + self.batch as u64 + 1
    }

    /// Frame `frame`'s audio (48 kHz), its mouth shapes and the face to redraw in it
    /// (pack frame, box); call once per frame, in order.
    pub fn push(&mut self, frame: u64, audio: &[i16], steps: FrameSteps, face: Option<(Arc<Pixmap>, FaceCrop)>) {
        match self.conditioning {
            Conditioning::Mel => self.push_mel(frame, audio, face),
            Conditioning::Phonetic => self.push_phonetic(frame, steps, face),
        }
    }

    fn send(&mut self, frame: u64, face: Option<(Arc<Pixmap>, FaceCrop)>, condition: Vec<f32>) {
        match (face, &self.jobs) {
            (Some((source, crop)), Some(jobs)) => {
                if jobs.send(Job { frame, source, crop, condition }).is_ok() {
                    self.in_flight.insert(frame);
                }
            }
            _ => {
                self.times.skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn push_phonetic(&mut self, frame: u64, steps: FrameSteps, face: Option<(Arc<Pixmap>, FaceCrop)>) {
        let t = Instant::now();
        self.waiting.push_back((frame, face));
        self.phonetic.push(frame, steps);
        let mut window = vec![0f32; phonetic::WINDOW_LEN];
        let ready = self.phonetic.ready(&mut window);
        StageTimes::add(&self.times.features_ns, t);
        let Some(centre) = ready else { return };
        while self.waiting.front().is_some_and(|(f, _)| *f <= centre) {
            let (f, face) = self.waiting.pop_front().expect("front");
            if f == centre {
                self.send(f, face, window);
                return;
            }
        }
    }

    fn push_mel(&mut self, frame: u64, audio: &[i16], face: Option<(Arc<Pixmap>, FaceCrop)>) {
        let t = Instant::now();
        self.mel.push(audio);
        StageTimes::add(&self.times.features_ns, t);
        self.waiting.push_back((frame, face));
        while let Some(&(f, _)) = self.waiting.front() {
            let c = mel::first_column(f, self.fps);
            let Some(window) = self.mel.window(c) else { break };
            let (_, face) = self.waiting.pop_front().expect("front");
            self.mel.forget_before(c);
            let audible = window.chunks_exact(WINDOW_COLUMNS).fold([0f32; WINDOW_COLUMNS], |mut acc, band| {
                acc.iter_mut().zip(band).for_each(|(a, v)| *a += v / MEL_BANDS as f32);
                acc
            });
            let audible = audible.iter().any(|&level| level > AUDIBLE_LEVEL);
            self.send(f, face.filter(|_| audible), window);
        }
    }

    /// The mouth for `frame`, if the model drew one. Waits for it until `deadline`
    /// (live: the frame's due time; render: None waits as long as it takes).
    pub fn take(&mut self, frame: u64, deadline: Option<Instant>) -> Option<Patch> {
        self.ready.retain(|&f, _| f >= frame);
        if !self.in_flight.contains(&frame) {
            return self.ready.remove(&frame).flatten();
        }
        loop {
            if let Some(p) = self.ready.remove(&frame) {
                self.in_flight.remove(&frame);
                return p;
            }
            let got = match deadline {
                Some(d) => self.done.recv_deadline(d).ok(),
                None => self.done.recv_timeout(Duration::from_secs(60)).ok(),
            };
            match got {
                Some(d) => {
                    if d.frame >= frame {
                        self.ready.insert(d.frame, d.patch);
                    } else {
                        self.in_flight.remove(&d.frame);
                    }
                }
                None => {
                    // Not in time: this frame shows the video's own mouth.
                    self.in_flight.remove(&frame);
                    self.times.late.fetch_add(1, Ordering::Relaxed);
                    return None;
                }
            }
        }
    }
}

impl Drop for NeuralLipSync {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn run_worker(
    mut model: FaceModel,
    mut enhancer: Option<FaceEnhancer>,
    batch: usize,
    jobs: Receiver<Job>,
    done: Sender<Done>,
    times: Arc<StageTimes>,
) {
    let mut buffers = RedrawBuffers::default();
    let mut warned = false;
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < batch {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        match redraw(&mut model, enhancer.as_mut(), &group, &mut buffers, &times) {
            Ok(patches) => {
                for (job, patch) in group.iter().zip(patches) {
                    let _ = done.send(Done { frame: job.frame, patch: Some(patch) });
                }
            }
            Err(e) => {
                // The stream goes on with the video's own mouth.
                times.errors.fetch_add(group.len() as u64, Ordering::Relaxed);
                if !std::mem::replace(&mut warned, true) {
                    tracing::error!("lip-sync model failed ({e:#}); these frames show the video's own mouth");
                }
                for job in &group {
                    let _ = done.send(Done { frame: job.frame, patch: None });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frames_window_is_complete_within_window_frames() {
        let mut m = StreamingMel::new();
        for n in 0..200u64 {
            m.push(&[0; 1920]);
            // After pushing frame n, frame n - WINDOW_FRAMES has its whole window.
            if n >= WINDOW_FRAMES {
                let f = n - WINDOW_FRAMES;
                assert!(m.window(mel::first_column(f, 25)).is_some(), "frame {f} after {n}");
            }
        }
    }
}
