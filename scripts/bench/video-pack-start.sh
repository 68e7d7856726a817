#!/usr/bin/env bash
# How fast a video-pack channel goes on air, and how much memory it peaks at, with
# a pack made from long footage whose idle lies near its end (the case that used to
# decode the whole recording before the first frame).
#
#   bash scripts/bench/video-pack-start.sh [BINARY] [RUNS]
#
# Makes (once, kept in $WORK) MINUTES of SIZE footage at 5 Mbit/s with sound, imports
# it with the idle and a gesture in its last 15 s, fills in consent, then starts
# `BINARY live` RUNS times (warm disk cache) and reports, for each run, the seconds
# from spawning the process to its first frame (polled on /v1/status) and its peak
# RSS (VmHWM). The same method works for any avatarcast binary, old or new.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/avatarcast}
RUNS=${2:-3}
MINUTES=${MINUTES:-10}
SIZE=${SIZE:-720x1280}
WORK=${WORK:-/tmp/avatarcast-long-footage}
PORT=${PORT:-18931}
mkdir -p "$WORK"
seconds=$((MINUTES * 60))
footage="$WORK/footage-${MINUTES}min-$SIZE.mp4"
if [ ! -s "$footage" ]; then
  echo "making $MINUTES min of $SIZE footage ($footage) …" >&2
  # Moving test picture with camera-like grain: hard enough for the codec that
  # decoding it costs what a phone recording costs.
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=s=$SIZE:r=25:d=$seconds,noise=alls=10:allf=t" \
    -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=$seconds" \
    -c:v libx264 -preset veryfast -b:v 5M -maxrate 6M -bufsize 10M -pix_fmt yuv420p \
    -c:a aac -b:a 96k "$footage.part.mp4"
  mv "$footage.part.mp4" "$footage"
fi
pack=${PACK:-$WORK/pack-${MINUTES}min-$SIZE}
if [ "${REIMPORT:-0}" = 1 ] || [ ! -s "$pack/avatar.toml" ]; then
  rm -rf "$pack"
  w=${SIZE%x*}; h=${SIZE#*x}
  face="$((w * 2 / 5)),$((h / 4)),$((w / 5)),$((h / 6))"
  "$BIN" avatar import --video "$footage" --out "$pack" --face "$face" --key none \
    --idle "$((seconds - 9))-$((seconds - 2))" --gesture "wave=$((seconds - 14))-$((seconds - 11))" >&2
  echo "signed (benchmark)" > "$pack/consent/statement.pdf"
  sed -i 's/^person = ""/person = "Bench Presenter"/; s/^date = ""/date = "2026-12-02"/; s/^use = ""/use = "benchmarks"/' "$pack/avatar.toml"
fi
config="$WORK/config.toml"
sed -e "s#^pack = \"assets/avatars/cartoon-host\"#pack = \"$pack\"\n\n[avatar.lipsync]\nmodel = \"$PWD/assets/lipsync/test-wav2lip.onnx\"#" \
    -e "s#\"\\(assets/\|models/\|config/\)#\"$PWD/\\1#g" config/demo.toml > "$config"
echo "binary $BIN; pack $pack ($(du -sh "$pack" | cut -f1)); $RUNS runs" >&2
for run in $(seq "$RUNS"); do
  log="$WORK/run$run.log"
  start=$(date +%s.%N)
  "$BIN" live --config "$config" --duration 20s --api "127.0.0.1:$PORT" --output "$WORK/run$run.mkv" >/dev/null 2>"$log" &
  pid=$!
  first=""
  hwm=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ -z "$first" ] && curl -s -m 1 "http://127.0.0.1:$PORT/v1/status" 2>/dev/null | grep -q '"frames_rendered":[1-9]'; then
      first=$(echo "$(date +%s.%N) - $start" | bc)
    fi
    h=$(awk '/VmHWM/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    sleep 0.05
  done
  wait "$pid" || { echo "run $run failed:" >&2; tail -5 "$log" >&2; exit 1; }
  printf '{"run": %d, "start_to_first_frame_s": %.2f, "peak_rss_mb": %.0f}\n' "$run" "${first:-nan}" "$(echo "$hwm / 1024" | bc -l)"
done
