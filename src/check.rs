//! `avatarcast check`: every piece the stream needs, and the command that fixes
//! each missing one.

use crate::config::Config;
use crate::{media, onnx, raster, speech};

pub struct Finding {
    pub what: String,
    pub problem: Option<String>,
}

pub fn run(config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |what: String, problem: Option<String>| out.push(Finding { what, problem });

    match crate::gst_helpers::init() {
        Ok(()) => {
            add(format!("GStreamer {}", gstreamer::version_string()), None);
            for (element, package) in media::REQUIRED_ELEMENTS {
                let missing = media::missing_elements().iter().any(|(e, _)| e == element);
                add(
                    format!("GStreamer element {element}"),
                    missing.then(|| format!("missing: run `bash scripts/setup.sh` (or `sudo apt-get install {package}`)")),
                );
            }
        }
        Err(e) => add("GStreamer".into(), Some(format!("{e:#}"))),
    }

    let ort = config.voice.onnxruntime_path();
    let ort_error = onnx::environment(&ort).err().map(|e| format!("{e:#}"));
    let have_ort = ort_error.is_none();
    add(format!("ONNX Runtime {}", ort.display()), ort_error);

    let piper = config.voice.engine == crate::config::VoiceEngine::Piper;
    for path in [config.voice.model.clone(), config.voice.model_json()].into_iter().filter(|_| piper) {
        add(
            format!("voice file {}", path.display()),
            (!path.is_file()).then(|| {
                "missing: run `bash scripts/setup.sh` (it unpacks the default voice), or set `voice.model`".to_string()
            }),
        );
    }

    if !config.voice.mouth_model.as_os_str().is_empty() {
        // Without ONNX Runtime (said above) only the file can be checked.
        let model = &config.voice.mouth_model;
        let problem = if have_ort {
            crate::lipsync::audio_model::MouthModel::load(model, &ort).err().map(|e| format!("{e:#}"))
        } else {
            (!model.is_file()).then(|| format!("{} not found: set `voice.mouth_model`, or \"\" for mouth shapes from loudness", model.display()))
        };
        add(format!("mouth model {}", model.display()), problem);
    }

    match crate::avatar::Avatar::check(config, have_ort) {
        Ok(what) => add(format!("avatar {}: {what}", config.avatar.pack.display()), None),
        Err(e) => add(format!("avatar {}", config.avatar.pack.display()), Some(format!("{e:#}"))),
    }

    // 3D hosts draw with Vulkan: Mesa's lavapipe on the CPU, or a GPU's driver. Other
    // packs do without, so then its absence is only said.
    match (crate::avatar::character::describe_device(config.avatar.render_device), crate::avatar::needs_vulkan(&config.avatar.pack)) {
        (Ok(device), _) => add(format!("Vulkan device for 3D hosts: {device}"), None),
        (Err(e), true) => add("Vulkan device for 3D hosts".into(), Some(format!("{e:#}"))),
        (Err(_), false) => add("Vulkan device for 3D hosts: none (this pack does not need one)".into(), None),
    }

    // Parsed as a stream would (nothing is written): a bad target names its field.
    match crate::output::Output::all(config) {
        Ok(targets) => add(format!("outputs in the config: {}", targets.len()), None),
        Err(e) => add("outputs in the config".into(), Some(format!("{e:#}"))),
    }

    let language = if piper { "en-us" } else { config.voice.language.as_str() };
    let espeak = speech::espeak::available().and_then(|_| speech::espeak::phonemize(language, "check"));
    add(format!("espeak-ng ({})", speech::espeak::LIBRARY), espeak.err().map(|e| format!("{e:#}")));

    add(
        "fonts for the AI-generated label".into(),
        (!raster::have_fonts()).then(|| "none found: run `bash scripts/setup.sh` (Debian package fonts-dejavu-core)".into()),
    );
    out
}
