#!/usr/bin/env bash
# Trains the audio-to-mouth-shape model from scratch and writes
# assets/lipsync/mouth-from-audio.onnx with its accuracy report beside it
# (assets/lipsync/mouth-from-audio.json). About 30 minutes on 2 cores.
# Needs what scripts/setup.sh installs (the voice, ONNX Runtime, espeak-ng, python3-venv);
# the Python packages go into a venv under target/ from PyPI, pinned.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/onnxruntime-version.sh
VENV=target/mouth-model/venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q numpy==2.4.6 onnx==1.23.2 protobuf==7.36.2 ml_dtypes==0.6.0 "onnxruntime==$ORT_VERSION"
cargo build --release --bin avatarcast
exec "$VENV/bin/python" scripts/mouth-model/train.py "$@"
