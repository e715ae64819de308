#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd "${DCGAN_BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 600
