#!/usr/bin/env bash
# Creates (once) the Python venv of the Helm chart tests, outside the clone,
# keyed by requirements.txt, and prints its folder (tests/env/venv.sh does the
# work).
#
# Helm itself comes from PyPI's helm-python-sdk (the Helm v4 Go SDK as a C
# library driven through ctypes): no helm binary is needed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=$("$here/../env/venv.sh" helm -r "$here/requirements.txt")
"$venv/bin/python" -c 'import helm_python, pytest, yaml' || {
  printf 'venv.sh: the venv in %s cannot import helm_python, pytest and yaml\n' "$venv" >&2
  exit 1
}
printf '%s\n' "$venv"
