#!/usr/bin/env bash
# Lays out ONNX Runtime with CUDA for the GPU image, from PyPI only: onnxruntime-gpu
# and the nvidia-* wheels its `cuda` and `cudnn` extras name (CUDA 13, cuDNN 9).
# Used by the Containerfile's ort-gpu stage and, on a machine whose containers cannot
# reach PyPI, by scripts/image.sh on the host (IMAGE_ORT=gpu).
#
#   bash scripts/ort-gpu.sh OUT [PIP]
#
# OUT gets libonnxruntime.so.$ORT_GPU_VERSION (and libonnxruntime.so pointing at it)
# with its CUDA and TensorRT providers, and
# OUT/cuda the CUDA, cuBLAS, cuFFT, cuRAND, NVRTC and cuDNN libraries (the image puts
# that folder on LD_LIBRARY_PATH). The NVIDIA driver comes from the node. Idempotent:
# an OUT already complete is left as it is.
set -euo pipefail
OUT="$1"
PIP="${2:-pip}"  # a command: "python3 -m pip" is split into words below
source "$(dirname "$0")/onnxruntime-version.sh"
ORT_VERSION="$ORT_GPU_VERSION"

if [ -e "$OUT/libonnxruntime.so.$ORT_VERSION" ] && [ -e "$OUT/libonnxruntime_providers_cuda.so" ] && [ -e "$OUT/cuda/.complete" ]; then
  ln -sfn "libonnxruntime.so.$ORT_VERSION" "$OUT/libonnxruntime.so"
  echo "ort-gpu: $OUT is complete"
  exit 0
fi
site="$(mktemp -d)"
trap 'rm -rf "$site"' EXIT
echo "ort-gpu: installing onnxruntime-gpu==$ORT_VERSION with CUDA and cuDNN from PyPI (about 1.5 GB)"
# Linux x86-64 wheels whatever Python runs pip: only the shared libraries are used.
$PIP install --quiet --no-deps --only-binary=:all: --target "$site" \
  --python-version 3.11 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 \
  --platform manylinux_2_5_x86_64 \
  "onnxruntime-gpu==$ORT_VERSION" "nvidia-cuda-runtime~=13.0" "nvidia-cuda-nvrtc~=13.0" \
  "nvidia-cublas~=13.0" "nvidia-cufft~=12.0" "nvidia-curand~=10.0" "nvidia-nvjitlink~=13.0" \
  "nvidia-cudnn-cu13~=9.0"
rm -rf "$OUT"
mkdir -p "$OUT/cuda"
cp -a "$site"/onnxruntime/capi/libonnxruntime.so.* "$site"/onnxruntime/capi/libonnxruntime_providers_*.so "$OUT/"
# nvidia-* wheels keep their libraries under nvidia/<part>/lib (CUDA 13: nvidia/cu13/lib).
find "$site/nvidia" -path '*/lib/*.so*' -exec cp -a {} "$OUT/cuda/" \;
test -e "$OUT/libonnxruntime.so.$ORT_VERSION"
ln -sfn "libonnxruntime.so.$ORT_VERSION" "$OUT/libonnxruntime.so"
test -e "$OUT/libonnxruntime_providers_cuda.so"
ls "$OUT"/cuda/libcudnn.so.9 "$OUT"/cuda/libcublas.so.* "$OUT"/cuda/libcudart.so.* >/dev/null
touch "$OUT/cuda/.complete"
echo "ort-gpu: $OUT: $(du -sh "$OUT" | cut -f1)"
