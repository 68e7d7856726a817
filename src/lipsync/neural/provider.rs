//! Where the face model and the enhancer run: the CPU, or a GPU through ONNX
//! Runtime's CUDA or TensorRT provider.

use std::path::Path;

use anyhow::{Result, bail};

use crate::config::{LipsyncConfig, Provider};

/// Adds the configured execution provider; one that cannot start is an error, never a
/// quiet fall-back to the CPU.
pub fn register_provider(builder: ort::session::builder::SessionBuilder, config: &LipsyncConfig, onnxruntime: &Path) -> Result<ort::session::builder::SessionBuilder> {
    use ort::ep::{self, ExecutionProvider};
    let (name, available, dispatch) = match config.provider {
        Provider::Cpu => return Ok(builder),
        Provider::Cuda => ("cuda", ep::CUDA::is_available(), ep::CUDA::default().with_device_id(config.device).build()),
        Provider::Tensorrt => ("tensorrt", ep::TensorRT::is_available(), ep::TensorRT::default().with_device_id(config.device).build()),
    };
    let fix = format!(
        "point `voice.onnxruntime` (or ORT_DYLIB_PATH) at the libonnxruntime.so of an onnxruntime-gpu build with CUDA \
         and cuDNN installed, or set `avatar.lipsync.provider = \"cpu\"`"
    );
    if !available.unwrap_or(false) {
        bail!("`avatar.lipsync.provider = \"{name}\"`: the ONNX Runtime at {} has no {name} execution provider: {fix}", onnxruntime.display());
    }
    builder.with_execution_providers([dispatch.error_on_failure()]).map_err(|e| {
        // The driver's library comes from the machine, never from ONNX Runtime's wheels.
        let fix = match e.to_string().contains("libcuda.so.1") {
            true => "the NVIDIA driver (libcuda.so.1) is not here: run on a machine with an NVIDIA GPU and its driver \
                     (a container: with the NVIDIA container toolkit, e.g. `--device nvidia.com/gpu=all`)"
                .to_string(),
            false => fix,
        };
        anyhow::anyhow!("`avatar.lipsync.provider = \"{name}\"` (device {}) cannot start: {e}: {fix}", config.device)
    })
}
