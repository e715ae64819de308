#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU and a CUDA build of PyTorch, and no package
# registry: besides PyTorch it needs CMake, the CUDA toolkit's nvcc (which a CUDA LibTorch's CMake
# package needs) and a C++ compiler (C++20 for LibTorch 2.13 and later), nothing else (the other
# libraries build from third_party/; .mat support only where matio happens to be installed).
#   1. builds dcgan against PyTorch's own LibTorch (torch.utils.cmake_prefix_path) into build-gpu/
#      (SKIP_BUILD=1: use the dcgan already built there, against the same LibTorch version);
#   2. runs the test suite (TESTS, TESTS_EXCLUDE: ctest -R and -E patterns, default all), and
#      fails if a CUDA test skipped;
#   3. trains, resumes and samples with the dcgan executable on CUDA, eagerly and with CUDA graphs
#      (and samples on the CPU); the two runs must agree; trains as one rank of a distributed run
#      over NCCL (scripts/launch.sh 1, model.sync_bn, run.dist_verify);
#   4. times `dcgan bench` on CUDA in fp32 and under bf16 autocast, eagerly and with CUDA graphs,
#      at each batch size of BATCHES (default "128 512"), alternating with the reference
#      (--device cuda) eagerly and, at the batch sizes of COMPILE_BATCHES (default "128"; empty:
#      none), under torch.compile(mode="reduce-overhead"), for ROUNDS rounds; prints the medians
#      and the ratios, and the time 25 SVHN-size epochs take at the measured rates;
#   5. times the training step on the machine's CPU at every core, side by side with the
#      reference (scripts/bench.sh; CPU_BENCH=0 skips it, CPU_THREADS sets the thread counts).
#
#   scripts/gpu-check.sh [--cpu] [ROUNDS] [STEPS]      (defaults: 3 rounds of 50 timed steps)
#
# --cpu does the same on the CPU (fp32, eager, batch 128 only), to try the script where there is
# no GPU.
# Environment: PYTHON (default python3), REF_DCGAN (default ../shared/bench/ref_dcgan.py),
# BUILD_DIR (default build-gpu), JOBS (parallel tests, default nproc), SKIP_BUILD, TESTS,
# TESTS_EXCLUDE, BATCHES, COMPILE_BATCHES, CPU_BENCH, CPU_THREADS.
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
if [ "${SKIP_BUILD:-0}" = 1 ]; then
  [ -x "$build_dir/dcgan" ] || die "SKIP_BUILD=1 but $build_dir/dcgan does not exist"
  # Built elsewhere: LibTorch is this machine's.
  export LD_LIBRARY_PATH="$prefix/../../lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  cuda_flag=()
  [ "$device" = cuda ] && cuda_flag=(-DDCGAN_CUDA=on)
  # DCGAN_PYTHON: the PyTorch beside the build, for the export and torchrun tests.
  DCGAN_BUILD_DIR="$build_dir" scripts/build.sh -DCMAKE_PREFIX_PATH="$prefix" -DDCGAN_DEPS=bundled \
    -DDCGAN_MATIO=auto -DDCGAN_PYTHON="$(command -v "$python")" "${cuda_flag[@]}"
fi
"$build_dir/dcgan" --version

# 2. Tests. A CUDA test that skips on a CUDA machine is a failure here. A failing test fails the
#    check at the end: the steps below still run, and say what else works.
failures=()
test_log="$build_dir/gpu-check-tests.log"
# Each test process gets its share of the cores: JOBS processes of nproc OpenMP threads each
# spin against each other, and two CPU training tests that take 3 s alone timed out at 300 s
# this way on a 16-core machine.
threads_per_test=$(( $(nproc) / jobs > 0 ? $(nproc) / jobs : 1 ))
(cd "$build_dir" && OMP_NUM_THREADS="${OMP_NUM_THREADS:-$threads_per_test}" \
  ctest --output-on-failure -j "$jobs" --timeout 600 ${TESTS:+-R "$TESTS"} \
  ${TESTS_EXCLUDE:+-E "$TESTS_EXCLUDE"}) 2>&1 | tee "$test_log" || failures+=("the test suite")
if [ "$device" = cuda ]; then
  cuda_tests=$(grep -E 'Test +#.*Cuda' "$test_log" || true)
  [ -n "$cuda_tests" ] || die "no CUDA tests ran (TESTS, TESTS_EXCLUDE?)"
  if echo "$cuda_tests" | grep -q 'Skipped'; then die "CUDA tests skipped on a CUDA machine"; fi
  say "$(echo "$cuda_tests" | grep -c Passed) of $(echo "$cuda_tests" | wc -l) CUDA tests passed"
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
if [ "$device" = cuda ]; then
  # The same run with CUDA graphs (captured after 3 eager steps, captured again on resume): the
  # losses of each logged step must be near the eager run's. Only near: two eager runs differ
  # too (TF32 convolutions, cuDNN's choice of algorithm made anew by each process, atomic
  # additions), by up to 7 % in g_loss at step 20 on an H100; the GAN amplifies it. The exact
  # comparison is the test GanCudaGraphTest (TF32 off, one process, 1e-5). This one catches a
  # graph that trains something else (stale inputs, a frozen optimizer step).
  "${train[@]}" --name graphs --max-steps 10 --set run.cuda_graphs=true
  "$build_dir/dcgan" train --resume "$smoke/runs/graphs" --set train.max_steps=20
  "$python" - "$smoke/runs/smoke/metrics.csv" "$smoke/runs/graphs/metrics.csv" <<'PY' ||
import csv, sys
eager, graphs = ([r for r in csv.DictReader(open(p))] for p in sys.argv[1:])
assert [r["step"] for r in eager] == [r["step"] for r in graphs] and eager, "different steps logged"
for e, g in zip(eager, graphs):
    for key in ("d_loss", "g_loss"):
        if abs(float(e[key]) - float(g[key])) > 0.25 * max(1.0, abs(float(e[key]))):
            sys.exit(f"step {e['step']}: {key} {g[key]} with graphs, {e[key]} eagerly")
print("gpu-check: CUDA graphs: the run and its resumption are near the eager run's losses")
PY
    failures+=("the CUDA-graph run differs from the eager run")
  # Distributed training over NCCL with one rank (WORLD_SIZE 1): the store, the NCCL group,
  # the averaged gradients and sync batch norm on a GPU, launched as torchrun would.
  nccl_log="$smoke/nccl.log"
  if scripts/launch.sh 1 --port "${NCCL_PORT:-29533}" -- "${train[@]}" --name nccl --max-steps 10 \
       --set run.dist_backend=nccl --set model.sync_bn=true --set run.dist_verify=true \
       --set run.dist_timeout=120 2>&1 | tee "$nccl_log" &&
     grep -q '1 ranks over nccl' "$nccl_log" &&
     grep -q 'held identical weights after each of 10 steps' "$nccl_log" &&
     [ "$(tail -n 1 "$smoke/runs/nccl/metrics.csv" | cut -d, -f1)" = 10 ]; then
    say "distributed training over NCCL (1 rank): ok"
  else
    failures+=("distributed training over NCCL")
  fi
fi

# 4. Throughput, side by side, alternating.
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }
bench() { timeout 300 "$build_dir/dcgan" bench --device "$device" --steps "$steps" --warmup 10 "$@" |
            awk -F= '/^images_per_sec=/ {print $2}'; }
# A failed reference run (torch.compile may refuse a configuration) counts as 0 and is said.
reference() { timeout 300 "$python" "$@" --device "$device" --steps "$steps" --warmup 10 |
                awk '/images\/s/ {print $3}' || true; }
# The reference under torch.compile(mode="reduce-overhead") (CUDA graphs through torch.compile).
# Each training step starts with torch.compiler.cudagraph_mark_step_begin(), as PyTorch asks of
# training loops under that mode: without it PyTorch 2.11 stopped at the first steps with
# "accessing tensor output of CUDAGraphs that has been overwritten by a subsequent run" (with it,
# not yet run on a GPU).
ref_graphs="$smoke/ref_dcgan_reduce_overhead.py"
sed -e 's/torch\.compile(g), torch\.compile(d)/torch.compile(g, mode="reduce-overhead"), torch.compile(d, mode="reduce-overhead")/' \
    -e 's/^\( *\)def step():$/&\n\1    torch.compiler.cudagraph_mark_step_begin()/' \
  "$ref" >"$ref_graphs"
if ! grep -q 'mode="reduce-overhead"' "$ref_graphs" || ! grep -q 'cudagraph_mark_step_begin' "$ref_graphs"; then
  die "cannot set torch.compile's mode in $ref"
fi
precisions=(none)
kinds=(eager)
read -r -a batches <<<"${BATCHES-128 512}"
compile_batches=" ${COMPILE_BATCHES-128} "
if [ "$device" = cuda ]; then
  precisions+=(bf16)
  kinds+=(graphs)
else
  batches=(128)
  compile_batches=" "
fi
declare -A rates
bench_failed=0
for batch in "${batches[@]}"; do
  for round in $(seq 1 "$rounds"); do
    for amp in "${precisions[@]}"; do
      line="batch $batch, amp $amp, round $round:"
      r=$(reference "$ref" --batch "$batch" --amp "$amp")
      rates[$batch/$amp/reference]+=" ${r:-0}"
      line+=" reference ${r:-failed}"
      for kind in "${kinds[@]}"; do
        flags=()
        [ "$kind" = graphs ] && flags=(--cuda-graphs)
        d=$(bench --batch-size "$batch" --amp "$amp" "${flags[@]}") || { d=0; bench_failed=1; }
        rates[$batch/$amp/dcgan-$kind]+=" $d"
        line+=", dcgan $kind $d"
      done
      say "$line images/s"
    done
  done
done
# torch.compile last: its compilation takes the longest.
for batch in "${batches[@]}"; do
  [[ "$compile_batches" == *" $batch "* ]] || continue
  for round in $(seq 1 "$rounds"); do
    for amp in "${precisions[@]}"; do
      r=$(reference "$ref_graphs" --compile --batch "$batch" --amp "$amp")
      rates[$batch/$amp/reduce-overhead]+=" ${r:-0}"
      say "batch $batch, amp $amp, round $round: reference reduce-overhead ${r:-failed} images/s"
    done
  done
done
say "medians of $rounds rounds, $steps timed steps after 10 warm-up, device $device (images/s):"
for batch in "${batches[@]}"; do
  for amp in "${precisions[@]}"; do
    # shellcheck disable=SC2086 # the rates are space-separated lists
    rm=$(median ${rates[$batch/$amp/reference]})
    line="batch $batch amp $amp: reference $rm"
    ro=""
    if [ -n "${rates[$batch/$amp/reduce-overhead]:-}" ]; then
      # shellcheck disable=SC2086
      ro=$(median ${rates[$batch/$amp/reduce-overhead]})
      line+=", reference reduce-overhead $ro"
    fi
    for kind in "${kinds[@]}"; do
      # shellcheck disable=SC2086
      dm=$(median ${rates[$batch/$amp/dcgan-$kind]})
      line+=", dcgan $kind $dm ($(ratio "$dm" "$rm")x eager"
      [ -n "$ro" ] && line+=", $(ratio "$dm" "$ro")x reduce-overhead"
      line+="; 25 SVHN epochs $(awk -v r="$dm" 'BEGIN {printf "%.0f", (r > 0) ? 25 * 73257 / r : 0}') s)"
    done
    say "$line"
  done
done
[ "$bench_failed" = 0 ] || failures+=("a dcgan bench run (its rate counted as 0 above)")

# 5. The machine's CPU at every core (CPU_THREADS; CPU_BENCH=0: skipped): dcgan with each layer
#    form against the reference eager, fp32 and bf16, 2 alternating rounds of 10 steps
#    (scripts/bench.sh; about two minutes at 16 cores). The project's own machines have 2 cores:
#    this is where the forms' scaling over many threads is measured (docs/PERFORMANCE.md).
if [ "${CPU_BENCH:-1}" = 1 ]; then
  say "the CPU, $(nproc) cores: scripts/bench.sh at ${CPU_THREADS:-$(nproc)} threads"
  if ! PYTHON="$python" DCGAN="$build_dir/dcgan" REF_DCGAN="$ref" THREADS="${CPU_THREADS:-$(nproc)}" \
       AMP="none bf16" COMPILE=0 UPCONV="native winograd gemm" timeout 600 scripts/bench.sh 2 10; then
    failures+=("the CPU side by side (scripts/bench.sh)")
  fi
fi
[ ${#failures[@]} = 0 ] || die "failed: $(IFS=';'; echo "${failures[*]}")"
say "all passed"
