#!/usr/bin/env bash
# Two ONNX Runtimes side by side, interleaved in one run (the machine is shared and
# noisy): the voice's load, `avatarcast say` for one uncached line against PyPI
# piper-tts's CLI on the same runtime, and a live channel's start (to its first frame
# out, and to its first spoken line with an empty speech cache). Release build.
#
#   bash scripts/bench/onnxruntime-compare.sh NAME_A LIB_A VENV_A NAME_B LIB_B VENV_B [RUNS]
#
# LIB: a libonnxruntime.so; VENV: a venv with piper-tts on that runtime's Python
# wheel (scripts/setup.sh makes models/piper-tts-venv for the pinned one).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${7:-3}
BIN=target/release/avatarcast
TEXT="Welcome back to the studio: today this soft cotton hoodie is thirty percent off, and it comes in four colours for everyone."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The demo config with the speech cache in a folder of its own (emptied for each run).
model=$(sed -n 's/^model = "\(.*\.onnx\)"/\1/p' config/demo.toml | head -1)
sed "s#^model = \"$model\"#&\ncache_dir = \"$work/cache\"#" config/demo.toml > "$work/demo.toml"
grep -q "cache_dir = \"$work/cache\"" "$work/demo.toml" || { echo "compare: no [voice] model line in config/demo.toml to add the cache to" >&2; exit 1; }

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$@"; }
# ISO timestamp of the first log line matching $2 in file $1, as epoch seconds.
log_at() {
  python3 - "$1" "$2" <<'PY'
import re, sys, datetime
for line in open(sys.argv[1], errors="replace"):
    line = re.sub(r"\x1b\[[0-9;]*m", "", line)
    if sys.argv[2] in line:
        t = line.split()[0].rstrip("Z")
        print(datetime.datetime.fromisoformat(t[:26]).replace(tzinfo=datetime.timezone.utc).timestamp()); break
PY
}

measure() {  # name lib venv
  local name=$1 lib=$2 venv=$3
  local load say piper start live line
  load=$("$venv/bin/python" -c "
import time, onnxruntime as o
t = time.time(); o.InferenceSession('$model', providers=['CPUExecutionProvider']); print(f'{time.time() - t:.2f}')")
  rm -rf "$work/cache"
  start=$(date +%s.%N)
  ORT_DYLIB_PATH=$lib "$BIN" say --config "$work/demo.toml" --text "$TEXT" --output "$work/a.wav" 2>/dev/null >/dev/null
  say=$(seconds "$start" "$(date +%s.%N)")
  start=$(date +%s.%N)
  echo "$TEXT" | "$venv/bin/python" -m piper -m "$model" -f "$work/p.wav" 2>/dev/null
  piper=$(seconds "$start" "$(date +%s.%N)")
  rm -rf "$work/cache"
  start=$(date +%s.%N)
  ORT_DYLIB_PATH=$lib "$BIN" live --config "$work/demo.toml" --duration 12s --api 127.0.0.1:0 --output "$work/live.mkv" 2>"$work/live.log" >/dev/null
  live=$(seconds "$start" "$(log_at "$work/live.log" "output live")")
  line=$(seconds "$start" "$(log_at "$work/live.log" "on air:")")
  echo "$name  voice load (python) ${load} s  say ${say} s  piper-tts ${piper} s  live: first frame out ${live} s, first line ${line} s"
}

for i in $(seq "$RUNS"); do
  measure "$1" "$2" "$3"
  measure "$4" "$5" "$6"
done
