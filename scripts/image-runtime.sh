#!/usr/bin/env bash
# Picks what a channel needs out of a stage that has every package installed, into
# OUT, which the Containerfile lays over a bare Debian base: the GStreamer plugins the
# stream and its inputs use (not the hundreds Debian's plugin packages bring, nor
# the libraries only those others need), the shared libraries of all that by ldd,
# espeak-ng's data, the fonts, CA certificates, GIO's TLS module (rtmps://, https://)
# curl (Podman runs HTTP probes as commands in the container), and Vulkan's loader
# with Mesa's lavapipe (3D hosts on the CPU; a GPU node's container toolkit brings its
# driver's own).
#
#   bash scripts/image-runtime.sh OUT BASE_FILES
#
# BASE_FILES lists the files the base already has (they are not copied again).
set -euo pipefail
OUT="$1"
BASE_FILES="$2"
ARCH=x86_64-linux-gnu
GST=/usr/lib/$ARCH/gstreamer-1.0

# By package. The stream: encode, mux, outputs. The inputs: backgrounds, clips and
# video packs in common formats (decodebin, demuxers, decoders), `verify` on files
# and URLs.
PLUGINS=(
  coreelements
  app audioconvert audioresample videoconvertscale videorate typefindfunctions playback
  opus ogg vorbis pbtypes rawparse
  isomp4 matroska flv multifile audioparsers id3demux apetag wavparse flac mpg123 soup
  x264
  videoparsersbad hls rtmp2 srt mpegtsmux mpegtsdemux
  libav
)

files=(/usr/local/bin/avatarcast /usr/bin/curl "/usr/lib/$ARCH/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner")
for p in "${PLUGINS[@]}"; do
  files+=("$GST/libgst$p.so")
done
# Loaded at run time (dlopen), so no ldd finds them: espeak-ng (speech/espeak.rs),
# libsoup (the soup plugin), GIO's TLS module, the Vulkan loader and lavapipe.
files+=(/usr/lib/$ARCH/libespeak-ng.so.1 /usr/lib/$ARCH/libsoup-3.0.so.0 /usr/lib/$ARCH/gio/modules/libgiognutls.so)
files+=(/usr/lib/$ARCH/libvulkan.so.1 /usr/lib/$ARCH/libvulkan_lvp.so)

# Copies a path as itself (links kept) and what it links to, with /lib spelled
# /usr/lib (the base's /lib is a link to it, which a copied folder would replace).
copy() {
  local path
  path="$(realpath -s "$1")"
  path="${path/#\/lib\//\/usr\/lib\/}"
  grep -qxF "$path" "$BASE_FILES" && return 0
  [ -e "$OUT$path" ] && return 0
  mkdir -p "$OUT$(dirname "$path")"
  cp -a "$path" "$OUT$path"
  if [ -L "$path" ]; then
    # One link at a time: a chain through /etc/alternatives (libblas) stays whole.
    local target
    target="$(readlink "$path")"
    [[ "$target" = /* ]] || target="$(dirname "$path")/$target"
    copy "$target"
  fi
}

libraries=()
for f in "${files[@]}"; do
  [ -e "$f" ] || { echo "image-runtime: $f is missing" >&2; exit 1; }
  copy "$f"
  while read -r lib; do
    libraries+=("$lib")
  done < <(ldd "$f" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }')
done
for lib in $(printf '%s\n' "${libraries[@]}" | sort -u); do
  copy "$lib"
done

for data in /usr/lib/$ARCH/espeak-ng-data /etc/fonts /usr/share/fonts/truetype/dejavu \
  /usr/share/fonts/truetype/wqy /etc/ssl/certs /usr/share/ca-certificates \
  /usr/share/vulkan/icd.d/lvp_icd.x86_64.json; do
  [ -e "$data" ] || { echo "image-runtime: $data is missing" >&2; exit 1; }
  mkdir -p "$OUT$(dirname "$data")"
  cp -a "$data" "$OUT$data"
done
echo "image-runtime: ${#files[@]} programs and plugins, $(find "$OUT" -type f | wc -l) files, $(du -sh "$OUT" | cut -f1)"
