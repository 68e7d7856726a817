//! ONNX Runtime, loaded once per process from the shared library that setup unpacks
//! (no download at build or run time). Speech and lip-sync models share it.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Result, bail};
use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::SessionBuilder;

static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();

/// The process-wide ONNX Runtime environment; the first call loads `library`.
pub fn environment(library: &Path) -> Result<&'static Environment> {
    ENV.get_or_init(|| load(library).map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))
}

fn load(library: &Path) -> Result<Environment> {
    if !library.is_file() {
        bail!(
            "ONNX Runtime library {} not found: run `bash scripts/setup.sh` (it unpacks it from the onnxruntime \
             wheel), or point `voice.onnxruntime` / ORT_DYLIB_PATH at a libonnxruntime.so",
            library.display()
        );
    }
    let builder = ort::init_from(library)
        .map_err(|e| anyhow::anyhow!("cannot load ONNX Runtime from {}: {e}", library.display()))?;
    builder
        .with_name("avatarcast")
        .build()
        .map_err(|e| anyhow::anyhow!("ONNX Runtime from {} failed to start: {e}", library.display()))
}

/// Opens the ONNX model `model` on `threads` intra-op threads, after `configure` (an
/// execution provider, say). `what` names it in errors; `hint` says what to do.
pub fn open_session(
    model: &Path,
    what: &str,
    hint: &str,
    onnxruntime: &Path,
    threads: usize,
    configure: impl FnOnce(SessionBuilder) -> Result<SessionBuilder>,
) -> Result<Session> {
    if !model.is_file() {
        bail!("{what} {} not found: {hint}", model.display());
    }
    let env = environment(onnxruntime)?;
    let builder = Session::builder(env).map_err(err)?.with_intra_threads(threads.max(1)).map_err(err)?;
    configure(builder)?
        .commit_from_file(model)
        .map_err(|e| anyhow::anyhow!("{what} {} is not a valid ONNX model ({e}): {hint}", model.display()))
}

/// All the machine's cores.
pub fn all_cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// ort's errors carry a recovery value that is not Send; keep the message.
pub fn err<R>(e: ort::Error<R>) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// A model input's or output's declared shape (-1 for a free axis; empty when it is
/// not a tensor).
pub fn shape(o: &ort::value::Outlet) -> Vec<i64> {
    o.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default()
}
