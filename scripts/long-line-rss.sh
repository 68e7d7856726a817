#!/usr/bin/env bash
# RSS of one live demo channel before, during and 45 s after a 25 s urgent line,
# with the speech cache off (so the line is synthesized): how much memory speech
# takes for a long sentence and whether it goes back.
#   scripts/long-line-rss.sh [BINARY] [API_PORT]
set -euo pipefail
bin=${1:-target/release/avatarcast}; port=${2:-18790}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|path = \"out/demo.mp4\"|path = \"$work/rec.mkv\"|" -e 's|^\[voice\]|[voice]\ncache_dir = ""\ncache_memory_mb = 0|' \
    config/demo.toml > "$work/live.toml"
NO_COLOR=1 "$bin" live --config "$work/live.toml" --api "127.0.0.1:$port" --duration 75s > "$work/live.log" 2>&1 &
pid=$!
rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"; }
sleep 20
before=$(rss)
long="Someone asked about the colour of the bottle and the shoes and the lamp and whether all of them ship today together in one parcel with the travel case we showed earlier and the answer is yes because every order placed during this live show goes out first thing tomorrow morning from our warehouse with free shipping and a little gift inside for everyone who joined us"
curl -sf -X POST -H 'Content-Type: application/json' -d "{\"text\": \"$long\", \"priority\": \"urgent\"}" "127.0.0.1:$port/v1/say" > /dev/null
peak=0
for _ in $(seq 1 100); do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2; done
sleep 25
echo "before $before MB, peak $peak MB, 45 s later $(rss) MB"
wait "$pid"
