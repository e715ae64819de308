#!/usr/bin/env bash
# Installs the dependencies, then builds and runs the test suite (ctest) in three builds:
#   1. against the default LibTorch, PyTorch's in .venv/ (scripts/setup.sh), with CUDA support
#      required wherever the CUDA toolkit (nvcc) is installed; the CUDA tests skip without a GPU;
#   2. against Debian's LibTorch 1.13 (libtorch-dev), into build-1.13/, where the cross-version
#      tests also resume and sample runs written by the first build, and the other way round;
#   3. against the same PyTorch with DCGAN_CUDA=off, into build-cpu/, as on a machine without
#      nvcc: the executable and the tests of the step and the precision modes.
# Debian's packages, matio included, come from setup.sh: no .mat test may skip for want of matio.
# Every build requires OpenMP (DCGAN_OPENMP=on): without it the model's own CPU loops run on one
# thread, silently.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

build="${DCGAN_BUILD_DIR:-build}"
old_build="${DCGAN_OLD_BUILD_DIR:-build-1.13}"
cpu_build="${DCGAN_CPU_BUILD_DIR:-build-cpu}"
debian_torch=/usr/lib/$(gcc -print-multiarch)/cmake/Torch

cuda=()
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="$PATH:/usr/local/cuda/bin"
fi
if command -v nvcc >/dev/null 2>&1; then
  cuda=(-DDCGAN_CUDA=on)  # the toolkit is here: a build without CUDA support is a failure
fi

# The LibTorch named outright: a build folder configured earlier may have cached another.
venv_torch=$(.venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')/Torch
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Distributed training's tests skip only where the build has no Gloo; setup.sh provides it for both.
no_skipped_ranks() {
  if grep -E 'RanksTest.*Skipped' "$log"; then
    echo "test: the distributed tests skipped in $1 (no Gloo backend)" >&2
    exit 1
  fi
}

DCGAN_BUILD_DIR="$build" scripts/build.sh -DTorch_DIR="$venv_torch" -DDCGAN_DEPS=system \
  -DDCGAN_MATIO=on -DDCGAN_OPENMP=on "${cuda[@]}"
(cd "$build" && ctest --output-on-failure -j 2 --timeout 600) | tee "$log"
no_skipped_ranks "$build"

DCGAN_BUILD_DIR="$old_build" scripts/build.sh -DTorch_DIR="$debian_torch" -DDCGAN_DEPS=system \
  -DDCGAN_MATIO=on -DDCGAN_OPENMP=on -DDCGAN_OTHER_DCGAN="$(cd "$build" && pwd)/dcgan"
(cd "$old_build" && ctest --output-on-failure -j 2 --timeout 600) | tee "$log"
no_skipped_ranks "$old_build"
# The cross-version tests skip only where no other build is named: here one always is.
if grep -E 'CrossVersionTest.*Skipped' "$log"; then
  echo "test: the cross-version tests skipped in $old_build" >&2
  exit 1
fi

DCGAN_BUILD_DIR="$cpu_build" DCGAN_BUILD_TARGETS="dcgan dcgan_cli_tests dcgan_train_tests dcgan_model_tests" \
  scripts/build.sh -DTorch_DIR="$venv_torch" -DDCGAN_DEPS=system -DDCGAN_MATIO=on -DDCGAN_OPENMP=on \
  -DDCGAN_CUDA=off
(cd "$cpu_build" && ctest --output-on-failure -j 2 --timeout 600 --no-tests=error \
   -R 'VersionTest|GanTest|PrecisionTest|EmulatedBf16Test|CliTest|ParallelTest')
