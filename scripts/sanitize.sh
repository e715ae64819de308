#!/usr/bin/env bash
# Builds dcgan and its tests with AddressSanitizer + UndefinedBehaviorSanitizer
# (DCGAN_SANITIZE=ON, Debug) into build-asan/ and runs the whole suite through ctest. Any
# sanitizer report fails its test: UBSan is built with -fno-sanitize-recover=undefined and
# both halt on the first error. The command-line tests run the sanitized dcgan executable,
# which inherits the options below. Extra arguments go to ctest, e.g.
#   scripts/sanitize.sh -R 'Svhn|Idx'
# Environment: DCGAN_ASAN_BUILD_DIR (build-asan), DCGAN_ASAN_BUILD_TYPE (Debug), DCGAN_JOBS
# (build and ctest jobs, default nproc); ASAN_OPTIONS / UBSAN_OPTIONS replace the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${DCGAN_ASAN_BUILD_DIR:-build-asan}"
jobs="${DCGAN_JOBS:-$(nproc)}"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  generator=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE="${DCGAN_ASAN_BUILD_TYPE:-Debug}" \
    -DDCGAN_SANITIZE=ON
fi
cmake --build "$build_dir" -j "$jobs"

# LibTorch is not instrumented, and with GCC's libstdc++ (no container annotations by default)
# neither its allocations nor its containers gave false reports: leak detection and
# container-overflow checks stay on. The extra checks are ASan's stricter optional ones.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
echo "ASAN_OPTIONS=$ASAN_OPTIONS"
echo "UBSAN_OPTIONS=$UBSAN_OPTIONS"
cd "$build_dir"
ctest -j "$jobs" --output-on-failure --timeout 900 "$@"
