# ONNX Runtime's versions, pinned here and nowhere else; sourced by scripts/setup.sh,
# scripts/ort-gpu.sh, scripts/mouth-model/train.sh. Both are PyPI wheels whose shared
# library is unpacked as models/onnxruntime/libonnxruntime.so.VERSION, with the
# unversioned name libonnxruntime.so (what the config names) pointing at it.
# The ort crate (Cargo.toml, api-31) takes any runtime from 1.31 on.
ORT_VERSION=1.32.0       # onnxruntime, the CPU build: a voice loads in 0.7 s (1.31.1: 2.8 s)
ORT_GPU_VERSION=1.31.1   # onnxruntime-gpu, with CUDA and TensorRT: the newest on PyPI (2026-12-02)
