#!/usr/bin/env bash
# Times the reference configuration end to end: `dcgan train --config configs/svhn.yaml` for its
# 25 epochs on a synthetic SVHN-size set (73,257 32x32 RGB images with labels, written as one
# CIFAR-10-format .bin file), quality measurement off, with its sample grids, checkpoints and
# report. Prints the wall time from start to exit and the last metrics row of each run.
#
#   scripts/time-epochs.sh [RUN...]        RUN: GRAPHS/AMP, e.g. true/none (default: false/none)
#
# Each RUN sets run.cuda_graphs and run.amp. Environment: DCGAN (default build/dcgan), DEVICE
# (default cuda), IMAGES (default 73257), EPOCHS (default 25), LIMIT (seconds a run may take,
# default 600), PYTHON (a Python with numpy; default .venv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
dcgan="${DCGAN:-build/dcgan}"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  python=python3
  [ -x .venv/bin/python ] && python=.venv/bin/python
fi
die() { echo "time-epochs: $*" >&2; exit 2; }
[ -x "$dcgan" ] || die "$dcgan is not built (set DCGAN)"
"$python" -c 'import numpy' 2>/dev/null || die "$python has no numpy (set PYTHON)"
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(false/none)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Ten classes, each a pattern of its own, with noise: a set the GAN can learn, of SVHN's size.
"$python" - "$work/svhn.bin" "${IMAGES:-73257}" <<'PY'
import sys
import numpy as np
path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
labels = rng.integers(0, 10, n, dtype=np.uint8)
yy, xx = np.mgrid[0:32, 0:32]
base = np.stack([(yy * (3 + c) + xx * (2 + k)) % 256 for k in range(10) for c in range(3)])
base = base.reshape(10, 3, 32, 32)
noise = rng.integers(-20, 21, (n, 3, 32, 32))
images = (base[labels].astype(np.int16) + noise).clip(0, 255).astype(np.uint8)
np.concatenate([labels[:, None], images.reshape(n, 3072)], axis=1).tofile(path)
PY

for run in "${runs[@]}"; do
  graphs=${run%/*}
  amp=${run#*/}
  log="$work/$graphs-$amp.log"
  start=$(date +%s.%N)
  rc=0
  timeout "${LIMIT:-600}" "$dcgan" train --config configs/svhn.yaml --data "$work/svhn.bin" \
    --set data.format=cifar10 --set data.test= --set eval.every=0 --device "${DEVICE:-cuda}" \
    --set train.epochs="${EPOCHS:-25}" --set run.cuda_graphs="$graphs" --set run.amp="$amp" \
    --out "$work/runs" --name "$graphs-$amp" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  seconds=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", b - a}')
  last=$(tail -n 1 "$work/runs/$graphs-$amp/metrics.csv" 2>/dev/null || true)
  case "$last" in step,* | "") last="none logged" ;; esac
  if [ "$rc" = 0 ]; then
    echo "time-epochs: cuda_graphs $graphs, amp $amp: ${EPOCHS:-25} epochs in $seconds s (last row: $last)"
  else
    echo "time-epochs: cuda_graphs $graphs, amp $amp: exit $rc after $seconds s (last row: $last)"
    tail -n 3 "$log"
  fi
done
