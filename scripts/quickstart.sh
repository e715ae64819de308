#!/usr/bin/env bash
# Installs the dependencies, builds, and trains configs/quickstart.yaml on Fashion-MNIST.
# The run lands in runs/quickstart-<n>/; extra arguments go to `dcgan train`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
name=quickstart
n=1
while [ -e "runs/$name" ]; do n=$((n + 1)); name="quickstart-$n"; done
./build/dcgan train --config configs/quickstart.yaml --name "$name" "$@"
echo "samples: runs/$name/samples/ (newest: $(ls runs/$name/samples/step_*.png | tail -n 1))"
