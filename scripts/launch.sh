#!/usr/bin/env bash
# Starts N local ranks of a dcgan command, as `torchrun --nproc-per-node N --no-python` does, for
# a machine without PyTorch's Python:
#   scripts/launch.sh N [--port P] -- build/dcgan train --config configs/svhn.yaml
# Each process gets RANK, LOCAL_RANK (0..N-1), WORLD_SIZE and LOCAL_WORLD_SIZE (N), MASTER_ADDR
# (127.0.0.1) and MASTER_PORT (P, else $MASTER_PORT, else 29500); rank 0 hosts the store. Their
# output is prefixed with "[rank R] ". Ctrl-C (or SIGTERM) reaches every rank: they finish the
# step, rank 0 writes a checkpoint, and all stop. The exit status is the first failing rank's
# (0 when all succeed); a rank that fails ends the others within run.dist_timeout.
set -euo pipefail

usage() {
  echo "usage: $0 N [--port P] -- COMMAND [ARGS...]" >&2
  exit 2
}
[ $# -ge 1 ] || usage
procs="$1"
shift
[[ "$procs" =~ ^[1-9][0-9]*$ ]] || { echo "launch: N must be a positive integer, got '$procs'" >&2; exit 2; }
port="${MASTER_PORT:-29500}"
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[ "${1:-}" = "--" ] || usage
shift
[ $# -ge 1 ] || usage

pids=()
forward() {
  for pid in "${pids[@]}"; do kill -s "$1" "$pid" 2>/dev/null || true; done
}
trap 'forward INT' INT
trap 'forward TERM' TERM

for ((rank = 0; rank < procs; rank++)); do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=$procs LOCAL_WORLD_SIZE=$procs \
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    "$@" > >(sed -u "s/^/[rank $rank] /") 2>&1 &
  pids+=($!)
done

status=0
for pid in "${pids[@]}"; do
  code=0
  # A signal interrupts `wait` (status > 128) while the rank goes on: wait again.
  while true; do
    wait "$pid" && code=0 || code=$?
    kill -0 "$pid" 2>/dev/null || break
  done
  if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then status=$code; fi
done
exit "$status"
