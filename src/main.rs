use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use avatarcast::broadcast::Broadcast;
use avatarcast::config::Config;
use avatarcast::timeline::Pacing;
use avatarcast::authoring::import::ImportOptions;
use avatarcast::authoring::character_import::CharacterImport;
use avatarcast::{bench, check};

#[derive(Parser)]
#[command(name = "avatarcast", version, about = "A synthetic host for 24/7 shop livestreams: text in, H.264/AAC over RTMP out")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stream the show in real time to the config's outputs (or --output targets).
    Live {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        /// Stop after this much stream time (e.g. 30s, 10m, 2h). Default: run forever.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<Duration>,
        /// rtmp://… , rtmps://… or a file ending .flv/.mp4/.mkv; repeatable; replaces the config's outputs.
        #[arg(long = "output")]
        outputs: Vec<String>,
        /// Control API address (default: the config's api.listen, 127.0.0.1:8080).
        #[arg(long)]
        api: Option<String>,
    },
    /// Render the show to files (the config's, or --output) as fast as the machine allows.
    Render {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        #[arg(long, value_parser = parse_duration)]
        duration: Duration,
        /// A file ending .flv/.mp4/.mkv; repeatable; replaces the config's outputs.
        #[arg(long = "output")]
        outputs: Vec<String>,
    },
    /// Speak one line into a WAV file (48 kHz mono), optionally with its phoneme, word and mouth timings.
    Say {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        #[arg(long, required_unless_present = "lines", conflicts_with = "lines")]
        text: Option<String>,
        /// A text file: each non-empty line N is spoken into OUTPUT/NNNN.wav with its timings in OUTPUT/NNNN.json.
        #[arg(long)]
        lines: Option<PathBuf>,
        /// A voice name ([voices.NAME], or NAME.onnx in the voices folder beside voice.model), or a path to a .onnx.
        #[arg(long)]
        voice: Option<String>,
        /// The WAV file; with --lines, the folder for the WAV and JSON files.
        #[arg(long)]
        output: PathBuf,
        /// Also write phoneme, word and mouth-shape timings (seconds) as JSON here.
        #[arg(long)]
        timings: Option<PathBuf>,
    },
    /// Read a recording or stream (a file, rtmp://, srt://, http(s)://) and print the AI labels it carries; exit 1 when a keyframe lacks one
    Verify {
        /// A file or URL.
        input: String,
        /// Stop reading after this many seconds (a live stream has no end).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Report each missing piece (GStreamer elements, ONNX Runtime, voice, espeak-ng) and how to fix it.
    Check {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
    },
    /// Avatar packs: make one from footage of a person.
    Avatar {
        #[command(subcommand)]
        command: AvatarCommand,
    },
    /// Measure render, encode, end-to-end and speech speed.
    Bench {
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Seconds of show the end-to-end measurement renders.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Instead: each H.264 encoder setting on 10 s of our frames, CPU per frame and
        /// quality (PSNR, SSIM) against the uncompressed frames.
        #[arg(long)]
        encoders: bool,
        /// Instead: the config's 3D host per stage (pose, draw, read-back, blend), ms a frame.
        #[arg(long)]
        host3d: bool,
        /// Instead: how many live channels (real processes, outputs to files) this
        /// machine holds with no late or repeated frame, one more each round.
        #[arg(long)]
        channels: bool,
        /// With --channels: how long each round runs.
        #[arg(long, default_value_t = 60)]
        channel_seconds: u32,
        /// With --channels: stop after this many.
        #[arg(long, default_value_t = 12)]
        max_channels: usize,
        /// With --channels: the first round's number of channels (to check one figure without the rounds below it)
        #[arg(long, default_value_t = 1)]
        min_channels: usize,
    },
}

#[derive(Subcommand)]
enum AvatarCommand {
    /// Make a video pack from a clip of a person (green or blue screen, or any background),
    /// or a 3D host's pack from a VRM or ARKit glTF character (docs/3d-hosts.md).
    Import {
        /// The footage: .mp4, .mkv, .mov, .m4v or .webm.
        #[arg(long, required_unless_present = "model", conflicts_with = "model")]
        video: Option<PathBuf>,
        /// A 3D character: .vrm (VRM 1.0 or 0.x) or .glb with ARKit or Oculus-viseme blendshapes.
        #[arg(long)]
        model: Option<PathBuf>,
        /// With --model: a 3D scan of a real person (their consent record is then needed to go on air).
        #[arg(long)]
        real_person: bool,
        /// With --model: the folder of the default clips (idle, wave, point, nod).
        #[arg(long, default_value = "assets/clips")]
        clips: PathBuf,
        /// The pack folder to write (e.g. assets/avatars/NAME).
        #[arg(long)]
        out: PathBuf,
        /// The presenter's name in the pack (default: the folder's name).
        #[arg(long)]
        name: Option<String>,
        /// The face box in the first frame, X,Y,W,H in pixels (forehead to chin), tracked from there
        /// by template matching (default: found and followed by the face mesh in --face-models).
        #[arg(long, value_parser = parse_box)]
        face: Option<[f32; 4]>,
        /// A face-detector ONNX model (UltraFace contract, docs/avatar-packs.md) run on every frame.
        #[arg(long)]
        face_detector: Option<PathBuf>,
        /// The face detector and face mesh that find the face when no --face is given (setup converts them).
        #[arg(long, default_value = avatarcast::face::MODEL_DIR)]
        face_models: PathBuf,
        /// The config naming ONNX Runtime (for the face models).
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        /// The screen to key out: auto (measured at the frame's border), green, blue, #rrggbb, or none.
        #[arg(long, default_value = "auto")]
        key: String,
        /// The idle section, START-END in seconds (default: the quietest 8 s outside the gestures);
        /// with --model, a .vrma clip looped at rest (default: the shipped idle).
        #[arg(long)]
        idle: Option<String>,
        /// A gesture, NAME=START-END in seconds of the footage, or with --model NAME=CLIP.vrma; repeatable.
        #[arg(long = "gesture", value_parser = parse_gesture)]
        gestures: Vec<(String, String)>,
        /// The sentences the presenter reads in the footage, one a line (kept for `avatar eval`).
        #[arg(long)]
        script: Option<PathBuf>,
    },
    /// Draw a 3D host's pack at rest, neutral and with each mouth expression, as PNGs.
    Preview {
        /// The character pack.
        #[arg(long)]
        pack: PathBuf,
        /// The folder to write neutral.png and one PNG per mouth expression into.
        #[arg(long)]
        out: PathBuf,
        /// The config giving the frame size and the render device.
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
    },
    /// Make a video pack's played frames again from its footage, as its avatar.toml says
    /// now: after changing [key], alpha_video, [idle], a gesture's frames or [framing],
    /// and once for packs made before 2026-12.
    Refresh {
        #[arg(long)]
        pack: PathBuf,
    },
    /// Train the presenter's own face model from the pack's footage (with its sound);
    /// the pack then uses it. Resumes where an interrupted run stopped.
    Train {
        /// The video pack (made by `avatar import` from footage with sound).
        #[arg(long)]
        pack: PathBuf,
        /// Stop after this many minutes and write the model trained so far.
        #[arg(long)]
        max_minutes: Option<f64>,
        /// cpu, or cuda (a GPU and the CUDA build of the training toolchain: docs/face-model.md).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Passes over the footage's frames.
        #[arg(long, default_value_t = 150.0)]
        epochs: f64,
        /// Side of the model's face crop in pixels (a multiple of 32; the generated lower face is half of it tall).
        #[arg(long, default_value_t = 160)]
        size: usize,
        /// Weight of a patch critic trained beside the model (0: none): a sharper mouth by
        /// gradient energy, for PSNR and training speed (docs/face-model.md § Sharper mouths).
        #[arg(long, default_value_t = 0.0)]
        critic: f64,
        /// The config naming ONNX Runtime and the mouth model.
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
    },
    /// Measure the trained face model on the footage's held-out sentences, driven by
    /// the footage's sound and by another voice, beside two baselines.
    Eval {
        #[arg(long)]
        pack: PathBuf,
        /// The other voice (default: the config's voice).
        #[arg(long)]
        voice: Option<String>,
        /// The sentences read in the footage (default: the pack's script.txt).
        #[arg(long)]
        script: Option<PathBuf>,
        /// Where the face mesh that measures the lips is (setup converts it); without it, the pixel measure alone.
        #[arg(long, default_value = avatarcast::face::MODEL_DIR)]
        face_models: PathBuf,
        #[arg(long, default_value = "config/demo.toml")]
        config: PathBuf,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Also write a PNG of speaking held-out mouths at twice their size: real, the
        /// model with the footage's sound and with the other voice, lookup.
        #[arg(long)]
        sheet: Option<PathBuf>,
    },
}

fn parse_box(s: &str) -> Result<[f32; 4], String> {
    let v: Vec<f32> = s.split(',').map(|p| p.trim().parse::<f32>()).collect::<Result<_, _>>().map_err(|_| format!("`{s}`: write X,Y,W,H in pixels"))?;
    <[f32; 4]>::try_from(v).map_err(|_| format!("`{s}`: write four numbers X,Y,W,H"))
}

fn parse_span(s: &str) -> Result<(f64, f64), String> {
    let (a, b) = s.split_once('-').ok_or_else(|| format!("`{s}`: write START-END in seconds, e.g. 0.5-6"))?;
    let n = |x: &str| x.trim().trim_end_matches('s').parse::<f64>().map_err(|_| format!("`{s}`: write START-END in seconds, e.g. 0.5-6"));
    Ok((n(a)?, n(b)?))
}

fn parse_gesture(s: &str) -> Result<(String, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| format!("`{s}`: write NAME=START-END (footage, e.g. wave=4-6) or NAME=CLIP.vrma (3D)"))?;
    Ok((name.trim().to_string(), value.trim().to_string()))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration: write e.g. 30s, 10m or 2h"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}`; use ms, s, m or h")),
    };
    if seconds <= 0.0 {
        return Err(format!("`{s}`: the duration must be positive"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// What is logged unless RUST_LOG says otherwise. webrtc-rs warns about what a peer
/// does differently (DTLS extensions it skips, sockets closed at the end of a
/// session); our own WebRTC code logs what an operator needs.
const DEFAULT_LOG: &str = "info,webrtc=error,webrtc_ice=error,webrtc_mdns=error,dtls=error,srtp=error,sctp=error,interceptor=error";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG)),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(path: &Path, outputs: &[String]) -> Result<Config> {
    let mut config = Config::load(path)?;
    if !outputs.is_empty() {
        config.set_outputs(outputs);
    }
    Ok(config)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Live { config, duration, outputs, api } => live(&config, duration, &outputs, api),
        Command::Render { config, duration, outputs } => {
            broadcast(load_config(&config, &outputs)?, Pacing::Render, Some(duration), None)
        }
        Command::Say { config, text, lines, voice, output, timings } => say(&config, text, lines, voice, &output, timings),
        Command::Verify { input, seconds } => verify(&input, seconds),
        Command::Check { config } => check(&config),
        Command::Avatar { command: AvatarCommand::Import { model: Some(model), out, name, real_person, clips, idle, gestures, .. } } => {
            let gestures = gestures.into_iter().map(|(n, f)| (n, PathBuf::from(f))).collect();
            let opts = CharacterImport { model, out, name, real_person, default_clips: clips, idle: idle.map(PathBuf::from), gestures };
            character_import(opts)
        }
        Command::Avatar { command: AvatarCommand::Import { video: Some(video), out, name, face, face_detector, face_models, config, key, idle, gestures, script, .. } } => {
            let onnxruntime = match (&face_detector, face) {
                (None, Some(_)) => PathBuf::new(),
                _ => Config::load(&config)?.voice.onnxruntime_path(),
            };
            let idle = idle.map(|s| parse_span(&s)).transpose().map_err(|e| anyhow::anyhow!("--idle: {e}"))?;
            let gestures = gestures
                .into_iter()
                .map(|(n, span)| match parse_span(&span) {
                    Ok((a, b)) => Ok((n, a, b)),
                    Err(e) => Err(anyhow::anyhow!("--gesture {n}: {e}")),
                })
                .collect::<Result<_>>()?;
            avatar_import(ImportOptions { video, out, name, face, face_detector, onnxruntime, face_models, key, idle, gestures, script, progress: true })
        }
        Command::Avatar { command: AvatarCommand::Import { .. } } => unreachable!("clap requires --video or --model"),
        Command::Avatar { command: AvatarCommand::Refresh { pack } } => avatar_refresh(&pack),
        Command::Avatar { command: AvatarCommand::Preview { pack, out, config } } => {
            for file in avatarcast::authoring::character_preview::run(&pack, &Config::load(&config)?, &out)? {
                println!("wrote {}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Avatar { command: AvatarCommand::Train { pack, max_minutes, device, epochs, size, critic, config } } => {
            avatar_train(pack, max_minutes, device, epochs, size, critic, &config)
        }
        Command::Avatar { command: AvatarCommand::Eval { pack, voice, script, face_models, config, json, sheet } } => {
            avatar_eval(pack, voice, script, &face_models, &config, json, sheet)
        }
        Command::Bench { config, json, seconds, encoders, host3d, channels, channel_seconds, max_channels, min_channels } => {
            let rounds = channels.then_some((channel_seconds, min_channels..=max_channels));
            bench(&config, json, seconds, encoders, host3d, rounds)
        }
    }
}

fn live(config: &Path, duration: Option<Duration>, outputs: &[String], api: Option<String>) -> Result<ExitCode> {
    let mut config = load_config(config, outputs)?;
    if let Some(addr) = api {
        config.set_api_listen(&addr)?;
    }
    let listen = Some(config.api.listen.clone());
    broadcast(config, Pacing::Live, duration, listen)
}

fn say(config: &Path, text: Option<String>, lines: Option<PathBuf>, voice: Option<String>, output: &Path, timings: Option<PathBuf>) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let voice = avatarcast::speech::say::resolve_voice(&config, voice.as_deref())?;
    if let Some(lines) = lines {
        let written = avatarcast::speech::say::run_lines(&voice, &lines, output)?;
        println!("wrote {written} lines to {}", output.display());
        return Ok(ExitCode::SUCCESS);
    }
    let text = text.expect("clap requires --text without --lines");
    let doc = avatarcast::speech::say::run(&voice, &text, output, timings.as_deref())?;
    eprintln!(
        "said {:.2} s ({}) in {:.3} s: \"{}\"",
        doc["duration"].as_f64().unwrap_or(0.0),
        if doc["cached"] == true { "from the speech cache" } else { "synthesized" },
        doc["synth_seconds"].as_f64().unwrap_or(0.0),
        doc["spoken"].as_str().unwrap_or("")
    );
    println!("wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

fn verify(input: &str, seconds: u64) -> Result<ExitCode> {
    let found = avatarcast::label::verify::read(input, seconds)?;
    println!(
        "SEI user_data_unregistered {}: on {} of {} keyframes read",
        avatarcast::label::uuid_text(),
        found.labelled_keyframes,
        found.keyframes
    );
    for r in &found.records {
        println!("record   {r}");
    }
    for m in &found.metadata {
        println!("metadata {m}");
    }
    if found.labelled() {
        println!("labelled: every keyframe read carries the AI label");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("NOT LABELLED: {} of {} keyframes lack avatarcast's AI label", found.keyframes - found.labelled_keyframes, found.keyframes);
        Ok(ExitCode::FAILURE)
    }
}

fn check(config: &Path) -> Result<ExitCode> {
    let config = Config::load(config)?;
    let findings = check::run(&config);
    let mut missing = 0;
    for f in &findings {
        match &f.problem {
            None => println!("ok       {}", f.what),
            Some(p) => {
                missing += 1;
                println!("MISSING  {}: {p}", f.what);
            }
        }
    }
    if missing == 0 {
        println!("everything avatarcast needs is here");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{missing} missing; fix with the commands above");
        Ok(ExitCode::FAILURE)
    }
}

fn avatar_import(opts: ImportOptions) -> Result<ExitCode> {
    let r = avatarcast::authoring::import::run(&opts)?;
    println!("read {} frames of {}x{} at {:.2} fps", r.frames, r.size.0, r.size.1, r.fps);
    match &r.key {
        Some(c) => println!("keyed out the screen, colour {c}"),
        None => println!("no key: the footage shows with its own background"),
    }
    println!("idle: frames {}..={}, played forth and back", r.idle.first, r.idle.last);
    for (n, g) in &r.gestures {
        println!("gesture {n}: frames {}..={}, from idle frame {} back to {}", g.first, g.last, g.entry, g.returns_to);
    }
    match &r.tracking {
        Some(t) => print_tracking(t, r.frames),
        None if r.lost_faces > 0 => {
            println!("the face was lost in {} frames: their mouth will not be redrawn (give a tighter --face)", r.lost_faces)
        }
        None => {}
    }
    println!("wrote {}", r.manifest.display());
    print_played(&r.played);
    println!("before it can go on air: put the signed consent statement in the pack and fill in [consent] in avatar.toml");
    Ok(ExitCode::SUCCESS)
}

fn print_tracking(t: &avatarcast::authoring::import::TrackingReport, frames: usize) {
    let ranges = |r: &[(usize, usize)]| r.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(", ");
    println!("face tracked in {} of {frames} frames", t.tracked);
    if let (true, Some([x, y, w, h])) = (t.faces_seen > 1, t.taken) {
        println!("{} faces in view: followed the largest, at {x:.0},{y:.0} ({w:.0}x{h:.0}); give --face X,Y,W,H to choose another", t.faces_seen);
    }
    let count = |r: &[(usize, usize)]| r.iter().map(|(a, b)| b - a + 1).sum::<usize>();
    if !t.lost.is_empty() {
        println!("face lost in {} frames ({}): kept out of training and not redrawn", count(&t.lost), ranges(&t.lost));
    }
    if !t.turned_away.is_empty() {
        println!("head turned too far in {} frames ({}): kept out of training and not redrawn", count(&t.turned_away), ranges(&t.turned_away));
    }
    let [yaw, pitch, roll] = t.pose_range;
    if t.tracked > 0 {
        println!("head pose: yaw {:.0}..{:.0}, pitch {:.0}..{:.0}, roll {:.0}..{:.0} degrees", yaw.0, yaw.1, pitch.0, pitch.1, roll.0, roll.1);
    }
}

fn character_import(opts: CharacterImport) -> Result<ExitCode> {
    let pack = avatarcast::authoring::character_import::run(&opts)?;
    println!("{}", pack.describe());
    println!("wrote {}", opts.out.join("avatar.toml").display());
    if opts.real_person {
        println!("before it can go on air: put the signed consent statement in the pack and fill in [consent] in avatar.toml");
    }
    Ok(ExitCode::SUCCESS)
}

fn avatar_refresh(pack: &Path) -> Result<ExitCode> {
    let r = avatarcast::authoring::played::write(pack, true)?;
    print_played(&r);
    Ok(ExitCode::SUCCESS)
}

fn print_played(r: &avatarcast::authoring::played::PlayedReport) {
    let (w, h) = r.size;
    println!("played frames: {} of {w}x{h}, {:.1} MB, made in {:.1} s", r.frames, r.bytes as f64 / 1e6, r.seconds);
}

fn avatar_train(pack: PathBuf, max_minutes: Option<f64>, device: String, epochs: f64, size: usize, critic: f64, config: &Path) -> Result<ExitCode> {
    use avatarcast::authoring::train;
    if size % 32 != 0 || !(64..=512).contains(&size) {
        anyhow::bail!("--size {size}: use a multiple of 32 from 64 to 512 (160 is the default)");
    }
    if !(0.0..=1.0).contains(&critic) {
        anyhow::bail!("--critic {critic}: use a weight from 0 (no critic) to 1; 0.02 is what docs/face-model.md measured");
    }
    let config = Config::load(config)?;
    let opts = train::TrainOptions {
        pack,
        max_minutes,
        device,
        size,
        epochs,
        critic,
        onnxruntime: config.voice.onnxruntime_path(),
        mouth_model: config.voice.mouth_model.clone(),
        python: PathBuf::from(train::PYTHON),
        script: PathBuf::from(train::SCRIPT),
        progress: true,
    };
    let r = train::run(&opts)?;
    println!(
        "trained {} of {} steps in {} ({}); held-out lower-face PSNR {:.1} dB",
        r.steps,
        r.total_steps,
        avatarcast::progress::duration(r.train_seconds),
        r.stopped,
        r.held_out_psnr_db
    );
    println!("wrote {} and {}; the pack uses the model from now on", opts.pack.join(&r.model).display(), opts.pack.join(train::REPORT_FILE).display());
    if r.stopped != "done" {
        println!("run the same command again to train on from here");
    }
    Ok(ExitCode::SUCCESS)
}

fn avatar_eval(pack: PathBuf, voice: Option<String>, script: Option<PathBuf>, face_models: &Path, config: &Path, json: bool, sheet: Option<PathBuf>) -> Result<ExitCode> {
    use avatarcast::authoring::{eval, train};
    let config = Config::load(config)?;
    let (_, mesh) = avatarcast::face::default_models(face_models);
    if !mesh.is_file() {
        tracing::warn!("no face mesh at {}: the lips are measured by their pixels alone ({})", mesh.display(), avatarcast::face::models::SETUP_HINT);
    }
    let opts = eval::EvalOptions {
        voice: avatarcast::speech::say::resolve_voice(&config, voice.as_deref())?,
        pack,
        script,
        onnxruntime: config.voice.onnxruntime_path(),
        face_mesh: mesh.is_file().then_some(mesh),
        sheet,
    };
    let r = eval::run(&opts)?;
    eval::record(&opts.pack, &r)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} held-out frames ({} sentences), lower face:", r.frames, r.sentences);
    println!("  {:<44} {:>8} {:>7} {:>9} {:>10} {:>5} {:>10} {:>10} {:>10}", "", "PSNR dB", "SSIM", "sharpness", "opening r", "lag", "lip gap r", "gap error", "on-air dB");
    let row = |name: &str, f: &eval::Figures| {
        let (r, e) = f.lip_gap.as_ref().map_or(("-".into(), "-".into()), |g| (format!("{:.2}", g.r), format!("{:.3}", g.mean_error)));
        println!(
            "  {name:<44} {:>8.2} {:>7.3} {:>9.2} {:>10.2} {:>5} {r:>10} {e:>10} {:>10.2}",
            f.psnr_db, f.ssim, f.sharpness, f.opening_r, f.lag_frames, f.on_air_psnr_db
        )
    };
    row("model, the footage's own sound", &r.model_footage_sound);
    if let Some(f) = &r.model_other_voice {
        row(&format!("model, another voice ({})", r.other_voice), f);
    }
    row("baseline: the idle's own mouth", &r.baseline_idle_mouth);
    row("baseline: nearest training frame, same shape", &r.baseline_nearest_phoneme);
    println!("written into {}", opts.pack.join(train::REPORT_FILE).display());
    Ok(ExitCode::SUCCESS)
}

/// `bench`; `channel_rounds`: with --channels, each round's seconds and the channel counts.
fn bench(config_path: &Path, json: bool, seconds: u32, encoders: bool, host3d: bool, channel_rounds: Option<(u32, RangeInclusive<usize>)>) -> Result<ExitCode> {
    let config = Config::load(config_path)?;
    if cfg!(debug_assertions) {
        tracing::warn!("debug build: figures are not meaningful; use `cargo run --release -- bench`");
    }
    if encoders {
        let rows = bench::encoders::run(&config, 10 * config.video.fps as usize)?;
        if json {
            println!("{}", serde_json::to_string(&rows)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!("H.264 at {} kbps on 10 s of the scene, {}x{}, one thread", config.video.bitrate_kbps, config.video.size.width, config.video.size.height);
        println!("  {:<18} {:>9} {:>9} {:>8} {:>8}", "encoder", "ms/frame", "PSNR dB", "SSIM", "kbps");
        for r in &rows {
            println!("  {:<18} {:>9.2} {:>9.2} {:>8.4} {:>8.0}", r.encoder, r.ms_per_frame, r.psnr_db, r.ssim, r.kbps);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if host3d {
        let b = bench::host3d::run(&config, 10 * config.video.fps as usize)?;
        match json {
            true => println!("{}", serde_json::to_string(&b)?),
            false => println!(
                "3D host {} at {}x{} on {}: {:.2} ms a frame (pose {:.2}, draw {:.2}, read-back {:.2}, blend {:.2}; medians of {} frames; {:.0} % of the frame drawn)",
                b.pack, b.width, b.height, b.adapter, b.total_ms, b.pose_ms, b.draw_ms, b.read_back_ms, b.blend_ms, b.frames, b.covered * 100.0
            ),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut report = bench::run(&config, seconds)?;
    if let Some((channel_seconds, counts)) = channel_rounds {
        report.channels = Some(bench::channels::run(config_path, channel_seconds, counts)?);
    }
    match json {
        true => println!("{}", serde_json::to_string(&report)?),
        false => print_bench(&report),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_bench(report: &bench::BenchReport) {
    println!("avatarcast bench at {}x{} {} fps", report.width, report.height, report.fps);
    println!("  render_fps        {:8.1}  avatar + composition, one thread", report.render_fps);
    println!("  pipeline_fps      {:8.1}  render mode end to end (speech cached), encode included", report.pipeline_fps);
    println!("  encode_floor_fps  {:8.1}  x264 alone, same frames and settings", report.encode_floor_fps);
    println!("  tts_rtf           {:8.3}  synthesis time / audio time", report.tts_rtf);
    println!("  tts_first_audio_ms {:7.1}  a 10-word sentence to its first PCM", report.tts_first_audio_ms);
    match (report.reference_piper_tts_rtf, &report.reference_piper_tts) {
        (Some(rtf), Some(which)) => println!(
            "  reference rtf     {rtf:8.3}  {which}, same voice, sentences and threads ({:.2}x avatarcast's time)",
            rtf / report.tts_rtf
        ),
        _ => println!("  reference rtf          -  piper-tts not installed (scripts/setup.sh)"),
    }
    println!("  mouth_model       {:7.0}x  real time, audio to mouth shapes on one thread", report.mouth_model_x_realtime);
    for (name, l) in [("neural_lipsync_fps", &report.neural_lipsync), ("face_model_fps", &report.face_model)] {
        let enhance = l.enhance_ms.map(|e| format!(" + enhance {e:.2}")).unwrap_or_default();
        println!(
            "  {name:<18}{:7.1}  {} on {} ({}x{} face, batch {}): features {:.2} + crop {:.2} + inference {:.2} + paste {:.2}{enhance} ms/frame",
            l.fps, l.model, l.provider, l.face_size, l.face_size, l.batch, l.features_ms, l.crop_ms, l.inference_ms, l.paste_ms
        );
    }
    let Some(c) = &report.channels else { return };
    println!("  channels          {:8}  live channels held {} s with no late or repeated frame", c.channels, c.seconds);
    for r in &c.rounds {
        let cpu: f64 = r.runs.iter().map(|c| c.cpu_cores).sum::<f64>() / r.runs.len() as f64;
        let rss = r.runs.iter().map(|c| c.peak_rss_mb).fold(0.0, f64::max);
        let late: u64 = r.runs.iter().map(|c| c.late_frames).sum();
        let repeated: u64 = r.runs.iter().map(|c| c.repeated_frames).sum();
        let verdict = if r.held { "held" } else { "fell behind" };
        let first = r.runs.iter().filter_map(|c| c.start_to_first_frame_s).fold(0.0, f64::max);
        println!(
            "    {} at once: {verdict}, {cpu:.2} cores and at most {rss:.0} MB RSS each, on air at most {first:.2} s after starting, {late} late and {repeated} repeated frames",
            r.channels
        );
    }
}

fn broadcast(config: Config, pacing: Pacing, duration: Option<Duration>, api: Option<String>) -> Result<ExitCode> {
    avatarcast::gst_helpers::init()?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
        })
        .context("installing the Ctrl-C handler")?;
    }
    let progress = pacing == Pacing::Render;
    let report = Broadcast { config, pacing, duration, progress, api }.run(stop)?;
    eprintln!(
        "done: {:.1} s of stream ({} frames) in {:.1} s, {} lines spoken, {} late frames (worst {:.0} ms late), {} pictures repeated",
        report.media_seconds, report.frames, report.wall_seconds, report.lines_spoken, report.late_frames, report.worst_late_ms, report.repeated_frames
    );
    for f in &report.written {
        println!("wrote {f}");
    }
    Ok(ExitCode::SUCCESS)
}
