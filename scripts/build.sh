#!/usr/bin/env bash
# Configures and builds dcgan (Release) into build/. Extra arguments go to CMake's configure step,
# e.g. scripts/build.sh -DTorch_DIR=/path/to/libtorch/share/cmake/Torch for another LibTorch
# (CMAKE_PREFIX_PATH works too, for a build folder configured for the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${DCGAN_BUILD_DIR:-build}"
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@"
elif [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" "$@"
fi
# DCGAN_BUILD_TARGETS: only these targets (space-separated); default everything.
targets=()
for t in ${DCGAN_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}"
