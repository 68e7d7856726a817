#!/usr/bin/env bash
# Builds the container image localhost/avatarcast:latest with Podman on a machine with
# no container registry (this project's; docs/design.md § Containers): the Debian
# base is made from Debian packages (mmdebstrap) and imported under the base image's
# name, and the binary is the one built here (Debian 12 too), handed to the
# Containerfile's runtime stage. Elsewhere, `podman build -f Containerfile .` builds
# everything itself.
#
#   bash scripts/image.sh            # after scripts/setup.sh
#   IMAGE_ORT=gpu bash scripts/image.sh   # the CUDA variant (localhost/avatarcast:latest-gpu)
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="$PWD/deploy/podman/containers.conf"
BASE=docker.io/library/debian:bookworm-slim
ORT="${IMAGE_ORT:-cpu}"
TAG=localhost/avatarcast:latest
[ "$ORT" = gpu ] && TAG=localhost/avatarcast:latest-gpu

for tool in podman mmdebstrap; do
  command -v "$tool" >/dev/null || { echo "image: $tool is missing: run bash scripts/setup.sh" >&2; exit 1; }
done
[ -e models/onnxruntime/libonnxruntime.so ] || { echo "image: models/ is not set up: run bash scripts/setup.sh" >&2; exit 1; }

if ! podman image exists "$BASE"; then
  echo "image: making $BASE from Debian packages (mmdebstrap, minbase)"
  rootfs="$(mktemp -d)/rootfs.tar"
  # As Debian's own -slim images: no manuals, documentation or translations, in the
  # base nor in what the image installs over it (the dpkg options stay in the image).
  mmdebstrap --quiet --variant=minbase \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    bookworm "$rootfs"
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$rootfs" "$BASE" >/dev/null
  rm -rf "$(dirname "$rootfs")"
fi

# The container tests hand over the binary cargo built for them (IMAGE_CARGO=skip).
if [ "${IMAGE_CARGO:-build}" != skip ]; then
  echo "image: building the binary on the host"
  cargo build --release --locked
fi
if [ "$ORT" = gpu ]; then
  # The containers here reach no PyPI: ONNX Runtime with CUDA is laid out on the host
  # by the script the Containerfile's ort-gpu stage runs.
  bash scripts/ort-gpu.sh models/onnxruntime-gpu "python3 -m pip"
  ORT=gpu-host
fi
echo "image: building $TAG"
podman build --pull=never --network host --build-arg BINARY=host --build-arg ORT="$ORT" -t "$TAG" -f Containerfile .
size=$(podman image inspect "$TAG" --format '{{.Size}}')
echo "image: $TAG, $((size / 1000000)) MB"
