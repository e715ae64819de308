#!/usr/bin/env bash
# Side-by-side throughput of the training step: the reference DCGAN in PyTorch Python
# (../shared/bench/ref_dcgan.py or $REF_DCGAN), eager and under torch.compile, and `dcgan bench`,
# on the same machine, same batch, with the same PyTorch (by default the one in .venv/, whose
# LibTorch dcgan is built against). Every configuration runs once per round, the rounds
# alternate (and the order of the sides within a round reverses from one round to the next, so
# that neither side always runs first), and each side is reported at its best thread count: the
# ratio of the medians, and the ratio within each round, whose spread shows how far a noisy
# machine's drift reaches.
#
#   scripts/bench.sh [ROUNDS] [STEPS]      (defaults: 3 rounds of 5 timed steps, 2 warm-up)
#
# Environment:
#   AMP="none bf16"     precisions to measure (bf16: autocast on both sides)
#   THREADS="1 2"       thread counts to try (default: 1 up to every core)
#   COMPILE=1           also the reference under torch.compile (0: not measured)
#   UPCONV=auto         dcgan's model.upconv forms to measure, each as its own side
#                       ("native winograd": both at every thread count; auto is reported as dcgan,
#                       each round's line naming the form it ran)
#   BATCH=128, WARMUP=2, PYTHON=.venv/bin/python, DCGAN=./build/dcgan
#   BENCH_LOG=FILE      where torch.compile's messages go (default: stderr)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
steps="${2:-5}"
batch="${BATCH:-128}"
warmup="${WARMUP:-2}"
amps="${AMP:-none bf16}"
threads_list="${THREADS:-$(seq -s ' ' 1 "$(nproc)")}"
compile="${COMPILE:-1}"
ref="${REF_DCGAN:-../shared/bench/ref_dcgan.py}"
python="${PYTHON:-.venv/bin/python}"
dcgan="${DCGAN:-./build/dcgan}"
upconvs="${UPCONV:-auto}"
[ -f "$ref" ] || { echo "bench: reference script $ref not found (set REF_DCGAN)" >&2; exit 2; }
[ -x "$dcgan" ] || { echo "bench: $dcgan not built (scripts/build.sh)" >&2; exit 2; }
"$python" -c 'import torch' 2>/dev/null ||
  { echo "bench: $python has no torch (scripts/setup.sh installs it into .venv/)" >&2; exit 2; }

dcgan_sides=()
for u in $upconvs; do
  case "$u" in
    auto) dcgan_sides+=(dcgan) ;;
    native | phase | winograd | gemm) dcgan_sides+=("dcgan-$u") ;;
    *) echo "bench: UPCONV has '$u'; expected auto, native, phase, winograd or gemm" >&2; exit 2 ;;
  esac
done
[ "${#dcgan_sides[@]}" -gt 0 ] || { echo "bench: UPCONV is empty; expected auto, native, phase, winograd or gemm" >&2; exit 2; }

declare -A rates
reference_sides=(reference)
[ "$compile" = 1 ] && reference_sides=(reference reference-compile)
sides=("${reference_sides[@]}" "${dcgan_sides[@]}")
measure() {  # side amp threads -> images/s, and for dcgan the form it ran
  local side=$1 amp=$2 threads=$3
  case "$side" in
    reference) "$python" "$ref" --steps "$steps" --warmup "$warmup" --batch "$batch" \
                 --threads "$threads" --amp "$amp" | awk '/images\/s/ {print $3}' ;;
    reference-compile) "$python" "$ref" --steps "$steps" --warmup "$warmup" --batch "$batch" \
                 --threads "$threads" --amp "$amp" --compile 2>>"${BENCH_LOG:-/dev/stderr}" |
                 awk '/images\/s/ {print $3}' ;;
    dcgan*) local upconv=auto
            [ "$side" = dcgan ] || upconv=${side#dcgan-}
            "$dcgan" bench --device cpu --steps "$steps" --warmup "$warmup" --batch-size "$batch" \
              --threads "$threads" --amp "$amp" --upconv "$upconv" |
              awk '/^dcgan bench:/ && match($0, /upconv [a-z]+/) { form = substr($0, RSTART + 7, RLENGTH - 7) }
                   sub(/^images_per_sec=/, "") { rate = $0 }
                   END { if (rate != "") print rate, form }' ;;
  esac
}
for round in $(seq 1 "$rounds"); do
  for amp in $amps; do
    for threads in $threads_list; do
      line="round $round, amp $amp, $threads threads:"
      order=("${sides[@]}")
      if [ $((round % 2)) = 0 ]; then
        order=()
        for ((i = ${#sides[@]} - 1; i >= 0; i--)); do order+=("${sides[$i]}"); done
      fi
      for side in "${order[@]}"; do
        out=$(measure "$side" "$amp" "$threads") || out=
        read -r r form <<< "$out" || true
        [ -n "${r:-}" ] || { echo "bench: $side (amp $amp, $threads threads) printed no rate" >&2; exit 1; }
        rates["$side $amp $threads"]="${rates["$side $amp $threads"]:-} $r"
        line+=" $side $r${form:+ ($form)}"  # the form dcgan ran, which auto may have timed
      done
      echo "$line images/s"
    done
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "$("$python" -c 'import torch; print("PyTorch", torch.__version__)'); $("$dcgan" --version | tail -n 1)"
echo "batch $batch, $steps timed steps after $warmup warm-up, $rounds rounds; images/s, median of rounds"
for amp in $amps; do
  declare -A best=()
  declare -A best_threads=()
  for side in "${sides[@]}"; do
    summary="amp $amp, $side:"
    for threads in $threads_list; do
      # shellcheck disable=SC2086 # the rates are a space-separated list
      m=$(median ${rates["$side $amp $threads"]})
      summary+=" $threads threads $m ($(echo ${rates["$side $amp $threads"]} | tr ' ' ',')),"
      if [ -z "${best[$side]:-}" ] || awk -v a="$m" -v b="${best[$side]}" 'BEGIN {exit !(a > b)}'; then
        best[$side]=$m
        best_threads[$side]=$threads
      fi
    done
    echo "${summary%,}"
  done
  for d in "${dcgan_sides[@]}"; do
    for side in "${reference_sides[@]}"; do
      # Round by round at those thread counts: each pair ran minutes apart at most.
      per_round=$(awk -v a="${rates["$d $amp ${best_threads[$d]}"]}" \
                      -v b="${rates["$side $amp ${best_threads[$side]}"]}" 'BEGIN {
        n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= n; i++) { r[i] = x[i] / y[i]; line = line sprintf(" %.2fx", r[i]) }
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
        m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
        printf "%s (median %.2fx, lowest %.2fx)", line, m, r[1] }')
      echo "amp $amp, best of each: $d ${best[$d]} (${best_threads[$d]} threads) / $side" \
           "${best[$side]} (${best_threads[$side]} threads) = $(awk -v a="${best[$d]}" -v b="${best[$side]}" 'BEGIN {printf "%.2f", a / b}')x;" \
           "round by round$per_round"
    done
  done
  unset best best_threads
done
