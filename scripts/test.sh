#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Debian's packages, matio included, are installed above: nothing may come from elsewhere, and no
# .mat test may skip for want of matio.
scripts/build.sh -DDCGAN_DEPS=system -DDCGAN_MATIO=on
cd "${DCGAN_BUILD_DIR:-build}"
ctest --output-on-failure -j 2 --timeout 600
