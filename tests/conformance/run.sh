#!/usr/bin/env bash
# Conformance: the CRDs (crds/) and the stand-in's model extract
# (standin/model/comprehend.json) against the Comprehend service model the AWS
# SDKs are generated from (botocore's, pinned in requirements.txt), so that
# the API server refuses what Comprehend refuses and nothing more.
#
#   tests/conformance/run.sh [PYTEST ARGS...]   (make conformance does)
#
# Needs no API server and no AWS account: the model ships in the botocore
# wheel. The venv is created once, outside the clone (tests/env/venv.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

# A relative requirements path keeps the venv's key the same for every clone.
venv=$(tests/env/venv.sh conformance -r tests/conformance/requirements.txt)
"$venv/bin/python" -c 'import botocore, pytest, yaml' || {
  printf 'run.sh: the venv in %s cannot import botocore, pytest and yaml\n' "$venv" >&2
  exit 1
}

# No __pycache__ folders in the clone either.
export PYTHONDONTWRITEBYTECODE=1
# No cache folder in the clone; -ra lists every failure at the end.
exec "$venv/bin/python" -m pytest -p no:cacheprovider -ra --strict-markers \
  "$here" "$@"
