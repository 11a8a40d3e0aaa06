#!/usr/bin/env bash
# The Helm chart's tests: lint, render, schema, CRD copy, a real Helm install
# into the test API server and its RBAC checked with `kubectl auth can-i`.
#
#   tests/env/with-env.sh tests/helm/run.sh [PYTEST ARGS...]   (make test does)
#
# Needs KUBECONFIG of a test API server (tests/env/with-env.sh exports it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ -z "${KUBECONFIG:-}" ] || [ ! -e "$KUBECONFIG" ]; then
  echo "run.sh: KUBECONFIG is not set: the Helm tests need the test API server." \
    "Run \`make test\` (or \`tests/env/with-env.sh tests/helm/run.sh\`)." >&2
  exit 1
fi
command -v kubectl >/dev/null || {
  echo "run.sh: kubectl is not on PATH" >&2
  exit 1
}

venv=$("$here/venv.sh")
# No __pycache__ folders in the clone either.
export PYTHONDONTWRITEBYTECODE=1
cd "$root"
# No cache folder in the clone; every test is run, none skipped.
exec "$venv/bin/python" -m pytest -p no:cacheprovider -ra --strict-markers \
  --durations=0 "$here" "$@"
