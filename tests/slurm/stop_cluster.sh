#!/usr/bin/env bash
# Stop the one-node SLURM cluster of start_cluster.sh (slurmd, slurmctld, munged, by their pid files). Idempotent.
set -uo pipefail
STATE=${RMEVAL_SLURM_STATE:-/tmp/rmeval-slurm}
stop() {  # stop <pidfile>: TERM the process it names, wait for it to end
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$1"
}
stop "$STATE/slurmd.pid"
stop "$STATE/slurmctld.pid"
stop /run/munge/munged.pid
echo "slurm stopped"
