#!/usr/bin/env bash
# Installs what dcgan builds and runs with:
#   - from Debian's archive: the compiler and build tools, the libraries (CLI11, yaml-cpp, matio,
#     stb, spdlog, fmt, GoogleTest), Chromium (the run report's browser test), Debian's
#     LibTorch 1.13 (libtorch-dev, an older LibTorch the build also supports) with the Gloo
#     headers its distributed training needs (libgloo-dev), and Fashion-MNIST;
#   - from PyPI, into .venv/ (ignored by git): PyTorch $DCGAN_TORCH_VERSION, whose LibTorch the
#     build uses by default (a CUDA build: CUDA support where the CUDA toolkit is present).
# Idempotent: what is already there is skipped, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

torch_version="${DCGAN_TORCH_VERSION:-2.15.0}"
venv=.venv  # where cmake/LibTorch.cmake and scripts/bench.sh look

packages=(
  build-essential cmake ninja-build pkg-config
  python3 python3-venv python3-dev
  libtorch-dev libopenblas0-pthread libgloo-dev
  libcli11-dev libyaml-cpp-dev libmatio-dev libstb-dev libspdlog-dev libfmt-dev
  libgtest-dev libbenchmark-dev
  chromium
  dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: Debian packages present"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

have_torch() {
  [ -x "$venv/bin/python" ] &&
    "$venv/bin/python" -c "import sys, numpy, PIL, torch; sys.exit(torch.__version__.split('+')[0] != '$torch_version')" \
      2>/dev/null
}
if have_torch; then
  echo "setup: PyTorch $torch_version present in $venv"
else
  echo "setup: installing PyTorch $torch_version into $venv (a few GB, a few minutes)"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "torch==$torch_version" numpy pillow
  have_torch || { echo "setup: PyTorch $torch_version did not install into $venv" >&2; exit 1; }
fi
