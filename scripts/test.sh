#!/usr/bin/env bash
# Sets this machine up (system packages, ONNX Runtime, the default voice) and runs
# every test against the release build (one build serves the demo, tests and bench).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
cargo test --release --locked
