#!/usr/bin/env bash
# Creates (once) the Python venv of the Helm chart tests, outside the clone,
# keyed by the hash of requirements.txt, and prints its folder.
#
#   tests/helm/venv.sh            -> <cache>/comprehend-operator/venv-helm-<hash>
#
# Helm itself comes from PyPI's helm-python-sdk (the Helm v4 Go SDK as a C
# library driven through ctypes): no helm binary is needed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
req=$here/requirements.txt
cache=${XDG_CACHE_HOME:-$HOME/.cache}/comprehend-operator
hash=$(sha256sum "$req" | cut -c1-12)
venv=$cache/venv-helm-$hash

fail() {
  printf 'venv.sh: %s\n' "$*" >&2
  exit 1
}

if [ ! -e "$venv/.installed" ]; then
  command -v python3 >/dev/null ||
    fail "python3 is missing: install it (Debian: apt-get install -y python3 python3-venv)"
  mkdir -p "$cache"
  # One installer at a time, also when tests run in parallel.
  exec 9>"$cache/venv-helm.lock"
  flock 9
  if [ ! -e "$venv/.installed" ]; then
    printf 'venv.sh: installing %s into %s\n' "$(tr '\n' ' ' <"$req")" "$venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" ||
      fail "cannot create a venv: install python3-venv (Debian: apt-get install -y python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2 ||
      fail "cannot install $req from PyPI (no network to PyPI?)"
    "$venv/bin/python" -c 'import helm_python, pytest, yaml' ||
      fail "the venv in $venv cannot import helm_python, pytest and yaml"
    touch "$venv/.installed"
  fi
  exec 9>&-
fi
printf '%s\n' "$venv"
