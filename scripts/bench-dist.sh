#!/usr/bin/env bash
# Data-parallel scaling on this machine, alternating in one run: `dcgan bench` as 1 process with
# every core against N ranks (scripts/launch.sh, Gloo) with an equal share of the cores each, at
# the same global batch, the ranks averaging their gradients in buckets during backward (as
# training does) and, to measure what that overlap gains, after each backward pass
# (--no-overlap). Prints each round's images/s, the medians and the ratios to 1 process, and the
# ranks' phases (communication: the part of the exchange not hidden behind backward).
#   scripts/bench-dist.sh [ROUNDS] [RANKS] [BATCH] [STEPS]    (defaults: 3 2 128 10)
# Environment: BUILD_DIR (default build), EXTRA (more `dcgan bench` arguments, e.g. "--sync-bn").
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
ranks="${2:-2}"
batch="${3:-128}"
steps="${4:-10}"
dcgan="${BUILD_DIR:-build}/dcgan"
cores=$(nproc)
per_rank=$(( cores / ranks > 0 ? cores / ranks : 1 ))
[ -x "$dcgan" ] || { echo "bench-dist: $dcgan not built" >&2; exit 2; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "bench-dist: $("$dcgan" --version | head -n 1); $cores cores; batch $batch (global), $steps steps"
one=() overlap=() after=()
ranks_bench() {
  scripts/launch.sh "$ranks" --port "$1" -- "$dcgan" bench --device cpu --threads "$per_rank" \
    --batch-size "$batch" --steps "$steps" ${EXTRA:-} "${@:2}"
}
rate() { awk -F= '/images_per_sec=/ {print $2}' <<<"$1"; }
for ((round = 1; round <= rounds; round++)); do
  out=$("$dcgan" bench --device cpu --threads "$cores" --batch-size "$batch" --steps "$steps" ${EXTRA:-})
  one+=("$(rate "$out")")
  out=$(ranks_bench $((29700 + 2 * round)))
  overlap+=("$(rate "$out")")
  phases=$(grep -E "per rank:|phases" <<<"$out" | sed 's/^\[rank 0\] /    /')
  out=$(ranks_bench $((29701 + 2 * round)) --no-overlap)
  after+=("$(rate "$out")")
  echo "round $round: 1 process x $cores threads ${one[-1]} images/s; $ranks ranks x $per_rank threads:" \
       "overlapped ${overlap[-1]}, after backward ${after[-1]} images/s"
  echo "  overlapped:"
  echo "$phases"
  echo "  after backward:"
  grep -E "per rank:|phases" <<<"$out" | sed 's/^\[rank 0\] /    /'
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
m1=$(median "${one[@]}")
mo=$(median "${overlap[@]}")
ma=$(median "${after[@]}")
echo "median: 1 process $m1 images/s; $ranks ranks overlapped $mo ($(ratio "$mo" "$m1")x)," \
     "after backward $ma ($(ratio "$ma" "$m1")x)"
