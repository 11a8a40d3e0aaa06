#!/usr/bin/env bash
# `make bench`: builds the RELEASE binaries (operator and stand-in) and the
# benchmark (examples/bench/), then runs it against a fresh control plane of
# its own (tests/env/with-env.sh: etcd + kube-apiserver, audit log) and writes
# the table into BENCHMARKS.md. Not part of `make test`.
#
#   bench/run.sh [BENCH ARGS...]      e.g. bench/run.sh --jobs 1000
#
# BENCH_TIMEOUT (seconds, default 3600) bounds the whole run; with-env.sh stops
# every process the run started, also on timeout or Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CARGO=${CARGO:-cargo}

"$CARGO" build --release --workspace --bins --locked
"$CARGO" build --release --locked --example bench
exec timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT:-3600}" \
  tests/env/with-env.sh "$CARGO" run --quiet --release --locked --example bench -- \
  --output BENCHMARKS.md "$@"
