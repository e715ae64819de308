#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU and a CUDA build of PyTorch, and no package
# registry: besides PyTorch it needs CMake, the CUDA toolkit's nvcc (which a CUDA LibTorch's CMake
# package needs) and a C++ compiler (C++20 for LibTorch 2.13 and later), nothing else (the other
# libraries build from third_party/; .mat support only where matio happens to be installed).
#   1. builds dcgan against PyTorch's own LibTorch (torch.utils.cmake_prefix_path) into build-gpu/;
#   2. runs the test suite, and fails if the CUDA tests skipped;
#   3. trains, resumes and samples with the dcgan executable on CUDA (and samples on the CPU);
#   4. times `dcgan bench` on CUDA in fp32 and under bf16 autocast, alternating with the reference
#      (--device cuda) for ROUNDS rounds, and prints the medians and the ratios.
#
#   scripts/gpu-check.sh [--cpu] [ROUNDS] [STEPS]      (defaults: 3 rounds of 50 timed steps)
#
# --cpu does the same on the CPU (fp32 only), to try the script where there is no GPU.
# Environment: PYTHON (default python3), REF_DCGAN (default ../shared/bench/ref_dcgan.py),
# BUILD_DIR (default build-gpu), JOBS (parallel tests, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda
if [ "${1:-}" = "--cpu" ]; then
  device=cpu
  shift
fi
rounds="${1:-3}"
steps="${2:-50}"
python="${PYTHON:-python3}"
ref="${REF_DCGAN:-../shared/bench/ref_dcgan.py}"
build_dir="${BUILD_DIR:-build-gpu}"
jobs="${JOBS:-$(nproc)}"
say() { echo "gpu-check: $*"; }
die() { echo "gpu-check: $*" >&2; exit 2; }

[ -f "$ref" ] || die "reference script $ref not found (set REF_DCGAN)"
"$python" -c 'import torch' 2>/dev/null || die "$python cannot import torch (set PYTHON)"
prefix=$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')
say "PyTorch $("$python" -c 'import torch; print(torch.__version__)'), LibTorch from $prefix"
if [ "$device" = cuda ]; then
  "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    die "PyTorch sees no CUDA device (scripts/gpu-check.sh --cpu tries the rest without one)"
  "$python" -c 'import torch; print("gpu-check:", torch.cuda.get_device_name(0))'
  # A CUDA LibTorch's CMake package looks for the CUDA toolkit: nvcc must be on the PATH.
  if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH="/usr/local/cuda/bin:$PATH"
  fi
fi

# 1. Build. DCGAN_DEPS=bundled: nothing from the system but LibTorch (and matio where found).
#    On a GPU, CUDA support is required (DCGAN_CUDA=on): configuring fails without nvcc.
cuda_flag=()
[ "$device" = cuda ] && cuda_flag=(-DDCGAN_CUDA=on)
DCGAN_BUILD_DIR="$build_dir" scripts/build.sh -DCMAKE_PREFIX_PATH="$prefix" -DDCGAN_DEPS=bundled \
  -DDCGAN_MATIO=auto "${cuda_flag[@]}"
"$build_dir/dcgan" --version

# 2. Tests. A CUDA test that skips on a CUDA machine is a failure here.
(cd "$build_dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
if [ "$device" = cuda ]; then
  cuda_tests=$(cd "$build_dir" && ctest -R Cuda --output-on-failure)
  echo "$cuda_tests" | grep -E 'Test +#|tests passed' || true
  if echo "$cuda_tests" | grep -q 'Skipped'; then die "CUDA tests skipped on a CUDA machine"; fi
  echo "$cuda_tests" | grep -qE 'Test +#' || die "no CUDA tests found"
fi

# 3. The trainer end to end on the device: train, interrupt by step limit, resume, then sample
#    from the generator on the CPU (a file written from CUDA tensors must load anywhere). The data
#    is an IDX file of patterned images, written here: it needs no matio.
smoke=$(mktemp -d)
trap 'rm -rf "$smoke"' EXIT
"$python" - "$smoke/images.idx" <<'PY'
import struct, sys
n = 512
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack(">IIII", 0x00000803, n, 28, 28))
    f.write(bytes((3 * r + 5 * c + 7 * i) % 256 for i in range(n) for r in range(28) for c in range(28)))
PY
train=("$build_dir/dcgan" train --data "$smoke/images.idx" --set data.format=idx --device "$device"
       --out "$smoke/runs" --set train.print_every=10 --set train.show_every=20)
"${train[@]}" --name smoke --max-steps 10
"$build_dir/dcgan" train --resume "$smoke/runs/smoke" --set train.max_steps=20
[ "$(tail -n 1 "$smoke/runs/smoke/metrics.csv" | cut -d, -f1)" = 20 ] ||
  die "the resumed run did not reach step 20: $(tail -n 1 "$smoke/runs/smoke/metrics.csv")"
"$build_dir/dcgan" sample --ckpt "$smoke/runs/smoke/generator.pt" --device cpu --grid 2x3 \
  --out "$smoke/grid.png"
[ -s "$smoke/grid.png" ] || die "dcgan sample wrote no grid"
say "train, resume and sample on $device: ok"

# 4. Throughput, side by side, alternating.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
bench() { "$build_dir/dcgan" bench --device "$device" --steps "$steps" --warmup 10 "$@" |
            awk -F= '/^images_per_sec=/ {print $2}'; }
precisions=(none)
[ "$device" = cuda ] && precisions+=(bf16)
ref_rates=()
declare -A rates
for round in $(seq 1 "$rounds"); do
  r=$("$python" "$ref" --device "$device" --steps "$steps" --warmup 10 | awk '/images\/s/ {print $3}')
  ref_rates+=("$r")
  line="round $round: reference $r"
  for amp in "${precisions[@]}"; do
    d=$(bench --amp "$amp")
    rates[$amp]="${rates[$amp]:-} $d"
    line+=", dcgan (amp $amp) $d"
  done
  say "$line images/s"
done
rm=$(median "${ref_rates[@]}")
say "batch 128, $steps timed steps after 10 warm-up, $rounds rounds, device $device"
for amp in "${precisions[@]}"; do
  # shellcheck disable=SC2086 # the rates are a space-separated list
  dm=$(median ${rates[$amp]})
  say "median: reference $rm images/s, dcgan (amp $amp) $dm images/s, ratio $(ratio "$dm" "$rm")x"
done
