#!/usr/bin/env bash
# Sets this machine up, builds avatarcast and broadcasts the demo show in real time
# for DURATION (default 30s) to out/demo.mp4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
./target/release/avatarcast live --config config/demo.toml --duration "${DURATION:-30s}" --output out/demo.mp4
echo "demo broadcast saved: $(pwd)/out/demo.mp4 (play it with ffplay, VLC or a browser)"
