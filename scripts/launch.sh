#!/usr/bin/env bash
# Starts N local ranks of a dcgan command, as `torchrun --nproc-per-node N --no-python` does, for
# a machine without PyTorch's Python:
#   scripts/launch.sh N [--port P] -- build/dcgan train --config configs/svhn.yaml
# Each process gets RANK, LOCAL_RANK (0..N-1), WORLD_SIZE and LOCAL_WORLD_SIZE (N), MASTER_ADDR
# (127.0.0.1) and MASTER_PORT (P, else $MASTER_PORT, else 29500); rank 0 hosts the store. Their
# output is prefixed with "[rank R] ". Ctrl-C (or SIGTERM) reaches every rank: they finish the
# step, rank 0 writes a checkpoint, and all stop. The exit status is the first failing rank's
# (0 when all succeed). A rank that fails ends the others within seconds; any still running
# $LAUNCH_GRACE seconds (default 30) later are stopped.
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

# Each rank in a session of its own, so that a Ctrl-C at the terminal reaches this script only and
# is passed on once (a second signal makes dcgan leave without its checkpoint).
for ((rank = 0; rank < procs; rank++)); do
  RANK=$rank LOCAL_RANK=$rank WORLD_SIZE=$procs LOCAL_WORLD_SIZE=$procs \
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$port \
    setsid "$@" > >(trap '' INT TERM; exec sed -u "s/^/[rank $rank] /") 2>&1 &
  pids+=($!)
done

# When a rank fails, the others normally stop by themselves within seconds (their exchanges with
# it fail); one still waiting for a rank that never joined would wait run.dist_timeout. After a
# grace period they are stopped as torchrun stops them: SIGTERM, and a second one, which makes
# dcgan leave at once.
grace="${LAUNCH_GRACE:-30}"
status=0
watchdog=""
declare -A live
for pid in "${pids[@]}"; do live[$pid]=1; done
while [ ${#live[@]} -gt 0 ]; do
  for pid in "${!live[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    code=0
    wait "$pid" || code=$?
    unset "live[$pid]"
    if [ "$code" -ne 0 ] && [ "$status" -eq 0 ]; then
      status=$code
      if [ ${#live[@]} -gt 0 ]; then
        (sleep "$grace"; for p in "${!live[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
         sleep 1; for p in "${!live[@]}"; do kill -TERM "$p" 2>/dev/null || true; done) &
        watchdog=$!
      fi
    fi
  done
  sleep 0.2 || true  # a Ctrl-C ends the sleep too: keep waiting for the ranks
done
[ -z "$watchdog" ] || kill "$watchdog" 2>/dev/null || true
exit "$status"
