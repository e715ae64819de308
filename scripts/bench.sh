#!/usr/bin/env bash
# Side-by-side throughput: the reference DCGAN (PyTorch Python, ../shared/bench/ref_dcgan.py or
# $REF_DCGAN) and `dcgan bench`, alternating for a few rounds on the same machine, same batch,
# same threads. Prints each round, the medians and their ratio.
#
#   scripts/bench.sh [ROUNDS] [STEPS]      (defaults 3 rounds of 10 timed steps)
#
# Needs python3-torch (Debian) for the reference: `apt-get install python3-torch`.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
steps="${2:-10}"
batch="${BATCH:-128}"
threads="${THREADS:-$(nproc)}"
ref="${REF_DCGAN:-../shared/bench/ref_dcgan.py}"
python="${PYTHON:-/usr/bin/python3}"
dcgan="${DCGAN:-./build/dcgan}"
[ -f "$ref" ] || { echo "bench: reference script $ref not found (set REF_DCGAN)" >&2; exit 2; }
[ -x "$dcgan" ] || { echo "bench: $dcgan not built (scripts/build.sh)" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null || { echo "bench: $python has no torch (apt-get install python3-torch)" >&2; exit 2; }

ref_rates=()
dcgan_rates=()
for round in $(seq 1 "$rounds"); do
  r=$("$python" "$ref" --steps "$steps" --warmup 2 --batch "$batch" --threads "$threads" | awk '/images\/s/ {print $3}')
  d=$("$dcgan" bench --steps "$steps" --warmup 2 --batch-size "$batch" --threads "$threads" | awk -F= '/^images_per_sec=/ {print $2}')
  echo "round $round: reference $r images/s, dcgan $d images/s"
  ref_rates+=("$r")
  dcgan_rates+=("$d")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
rm=$(median "${ref_rates[@]}")
dm=$(median "${dcgan_rates[@]}")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "batch $batch, threads $threads, $steps timed steps after 2 warm-up, $rounds rounds"
echo "median: reference $rm images/s, dcgan $dm images/s, ratio $(awk -v a="$dm" -v b="$rm" 'BEGIN {printf "%.2f", a / b}')x"
