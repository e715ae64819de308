#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang into build-fuzz/, writes their seed corpora
# and runs each fuzzer for SECONDS (default 60) on one core, one after the other:
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      TARGET: mat, idx, image, config (default: all four)
#
# Exits 1 if any fuzzer stopped on a finding (a crash, sanitizer report, unexpected exception,
# leak, timeout over 10 s or out-of-memory over 2 GB; HDF5's own leaks are suppressed, see
# fuzz/lsan.supp); the input that caused it is in build-fuzz/fuzz/artifacts/<target>/ and
# reproduces with `build-fuzz/fuzz/dcgan_<target>_fuzzer FILE`.
# The corpora grow across runs in build-fuzz/fuzz/corpus/<target>/; the seeds are rewritten each
# run into build-fuzz/fuzz/seeds/. Logs: build-fuzz/fuzz/logs/<target>.log.
# Environment: DCGAN_FUZZ_BUILD_DIR (build-fuzz), DCGAN_JOBS (build jobs, default nproc),
# CC/CXX (clang/clang++), DCGAN_FUZZ_HDF5=1 (the mat target also fuzzes v7.3 files, i.e. HDF5
# 1.10.8 itself, whose own memory errors then end the run; see fuzz/mat_fuzzer.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(mat idx image config)
build_dir="${DCGAN_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${DCGAN_JOBS:-$(nproc)}"
work="$build_dir/fuzz"

if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S . -B "$build_dir" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCGAN_FUZZ=ON -DDCGAN_BUILD_TESTS=OFF -DDCGAN_PCH=OFF
fi
build_targets=(dcgan_fuzz_seeds)
for target in "${targets[@]}"; do build_targets+=("dcgan_${target}_fuzzer"); done
cmake --build "$build_dir" -j "$jobs" --target "${build_targets[@]}"

rm -rf "$work/seeds" "$work/tmp"
mkdir -p "$work/tmp" "$work/logs"
"$build_dir/fuzz/dcgan_fuzz_seeds" "$work/seeds"
cp configs/*.yaml "$work/seeds/config/"

# UBSan findings stop the run (the code is built with -fno-sanitize-recover=undefined too).
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Leaks count as findings, except HDF5's own on corrupt v7.3 files (see fuzz/lsan.supp).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}"
export TMPDIR="$PWD/$work/tmp"  # the targets' scratch files

failed=()
summary=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  log="$work/logs/$target.log"
  mkdir -p "$corpus" "$artifacts"
  extra=()
  [ "$target" = config ] && extra+=(-dict="$work/seeds/config.dict")
  echo "== $target: ${seconds}s"
  stamp="$work/tmp/started-$target"
  touch "$stamp"
  status=0
  "$build_dir/fuzz/dcgan_${target}_fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${extra[@]}" \
    "$corpus" "$work/seeds/$target" >"$log" 2>&1 || status=$?
  # "#1234 DONE cov: 567 ft: 890 corp: 120/45Kb lim: 4096 exec/s: 20 rss: 400Mb"
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
  execs="$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}' || true)"
  rate="$(grep -E '^stat::average_exec_per_sec:' "$log" | awk '{print $2}' || true)"
  corp="$(sed -nE 's/.* corp: ([^ ]+) .*/\1/p' <<<"$done_line")"
  cov="$(sed -nE 's/.* cov: ([0-9]+) .*/\1/p' <<<"$done_line")"
  if [ "$status" -eq 0 ]; then
    result=ok
  else
    result="FOUND (exit $status): $(find "$artifacts" -type f -newer "$stamp" | tr '\n' ' ')"
    failed+=("$target")
    tail -n 60 "$log"
  fi
  summary+=("$(printf '%-8s %6ss  execs %-10s exec/s %-7s corpus %-12s cov %-6s %s' \
    "$target" "$seconds" "${execs:-?}" "${rate:-?}" "${corp:-?}" "${cov:-?}" "$result")")
done

echo "== summary ($(date -u +%Y-%m-%dT%H:%MZ))"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]} (inputs under $work/artifacts/)" >&2
  exit 1
fi
