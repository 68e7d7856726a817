#!/usr/bin/env bash
# Sets this machine up (system packages, ONNX Runtime, the default voice) and runs
# every test against the release build (one build serves the demo, tests and bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# No import cycle between modules (config at the bottom, stages above it).
python3 scripts/module-cycles.py
cargo build --release --locked
cargo test --release --locked
