#!/usr/bin/env bash
# Sets this machine up, builds avatarcast and broadcasts the demo show in real time
# for DURATION (default 30s) to out/demo.mp4. CONFIG=config/demo-3d.toml broadcasts
# the 3D host instead, to out/demo-3d.mp4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
CONFIG=${CONFIG:-config/demo.toml}
OUT=out/$(basename "$CONFIG" .toml).mp4
./target/release/avatarcast live --config "$CONFIG" --duration "${DURATION:-30s}" --output "$OUT"
echo "demo broadcast saved: $(pwd)/$OUT (play it with ffplay, VLC or a browser)"
