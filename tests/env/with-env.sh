#!/usr/bin/env bash
# Runs a command against a fresh test control plane of its own: installs (once)
# and starts etcd + kube-apiserver on free loopback ports, exports KUBECONFIG,
# runs the command, and stops everything it started, also when the command
# fails or on Ctrl-C / SIGTERM. Exits with the command's exit code.
#
#   tests/env/with-env.sh CMD [ARGS...]
#
# The command sees KUBECONFIG (admin token, system:masters), TEST_ENV_DIR (the
# control plane's folder: logs, audit.log) and TEST_LOG_DIR (default
# TEST_ENV_DIR/logs). KEEP_TEST_ENV_LOGS=1 keeps that folder afterwards.
# shellcheck disable=SC2317 # shellcheck 0.9 takes code run only from traps as unreachable
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ctl="$here/kube-apiserver.sh"

log() { printf '[env] %s\n' "$*" >&2; }

child=""
dir=""

# Prints the pid of every process below pid $1 (read from /proc).
descendants() {
  local stat line rest ppid pid
  local -A kids=()
  for stat in /proc/[0-9]*/stat; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    pid=${line%% *}
    rest=${line##*) } # after "(comm) ": "STATE PPID ..."
    ppid=${rest#* }
    ppid=${ppid%% *}
    kids[$ppid]+="$pid "
  done
  local queue=("$1") p
  while [ ${#queue[@]} -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    for pid in ${kids[$p]:-}; do
      echo "$pid"
      queue+=("$pid")
    done
  done
}

# Stops the running child and everything it started: TERM, then KILL after 10 s.
stop_child() {
  [ -n "$child" ] || return 0
  local pids p i alive stat
  # shellcheck disable=SC2207
  pids=("$child" $(descendants "$child"))
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for i in $(seq 1 100); do
    alive=()
    for p in "${pids[@]}"; do
      # Still there and not a zombie ("PID (COMM) STATE ...").
      stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
      stat=${stat##*) }
      [ "${stat%% *}" = Z ] || alive+=("$p")
    done
    [ ${#alive[@]} -eq 0 ] && break
    if [ "$i" -eq 100 ]; then
      log "killing what did not stop after 10 s: ${alive[*]}"
      kill -KILL "${alive[@]}" 2>/dev/null || true
    fi
    sleep 0.1
  done
  wait "$child" 2>/dev/null || true
  child=""
}

cleanup() {
  local rc=$?
  # Finish the clean-up even if another signal comes.
  trap '' INT TERM
  stop_child
  if [ -n "$dir" ]; then
    bash "$ctl" down "$dir" || log "warning: stopping the control plane in $dir failed"
    if [ -n "${KEEP_TEST_ENV_LOGS:-}" ]; then
      log "logs kept in $dir"
    else
      rm -rf "$dir"
    fi
  fi
  exit "$rc"
}

on_signal() {
  log "got SIG$1: stopping everything this run started"
  exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# Runs "$@" as a child (so a signal is handled at once, not after the command
# ends) with this script's stdin and default Ctrl-C handling, and waits for it.
run_child() {
  (
    trap - INT QUIT
    exec "$@"
  ) <&0 &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

run_child bash "$ctl" install
dir=$(mktemp -d -t comprehend-env.XXXXXX)
run_child bash "$ctl" up "$dir"

export KUBECONFIG="$dir/kubeconfig"
export TEST_ENV_DIR="$dir"
export TEST_LOG_DIR="${TEST_LOG_DIR:-$dir/logs}"

status=0
run_child "$@" || status=$?
exit "$status"
