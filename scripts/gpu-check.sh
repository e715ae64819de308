#!/usr/bin/env bash
# GPU check: builds dcgan against PyTorch's own (CUDA) LibTorch, runs the test suite (the GPU
# cases run where CUDA is present), `dcgan bench` on CUDA in fp32 and bf16, and the reference
# with --device cuda, for the ratio.
#
#   scripts/gpu-check.sh [STEPS]
#
# Needs an NVIDIA GPU, python3 with a CUDA build of torch, CMake and a C++17 compiler, and the
# other build dependencies (CLI11, yaml-cpp, matio, spdlog, stb, GoogleTest) installed as
# scripts/setup.sh installs them on Debian.
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-50}"
python="${PYTHON:-python3}"
prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
"$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
  || { echo "gpu-check: torch sees no CUDA device" >&2; exit 2; }
# PyTorch's wheels choose the C++ ABI; our code and its other dependencies must match it.
abi=$("$python" -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))')
export DCGAN_BUILD_DIR=build-gpu
scripts/build.sh -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="-D_GLIBCXX_USE_CXX11_ABI=$abi"
(cd build-gpu && ctest --output-on-failure -j 4)
./build-gpu/dcgan bench --device cuda --steps "$steps" --warmup 10
./build-gpu/dcgan bench --device cuda --steps "$steps" --warmup 10 --amp bf16
"$python" ../shared/bench/ref_dcgan.py --device cuda --steps "$steps" --warmup 10
