#!/usr/bin/env bash
# Runs Lua 5.1 (the language of Argo CD's health scripts, which run on
# gopher-lua), installing Debian's `lua5.1` first if it is missing.
#
#   tests/install/lua-health.sh [LUA ARGS...]    e.g. tests/install/lua-health.sh - < prog.lua
set -euo pipefail

fail() {
  printf 'lua-health.sh: %s\n' "$*" >&2
  exit 1
}

if ! command -v lua5.1 >/dev/null; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null ||
      fail "lua5.1 is missing and this is not root: install it with 'apt-get install -y lua5.1'"
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null ||
    fail "lua5.1 is missing and there is no apt-get: install Lua 5.1 as 'lua5.1' on PATH"
  lock=${XDG_CACHE_HOME:-$HOME/.cache}/comprehend-operator
  mkdir -p "$lock"
  exec 9>"$lock/apt.lock"
  flock 9
  if ! command -v lua5.1 >/dev/null; then
    printf 'lua-health.sh: installing lua5.1 with apt-get\n' >&2
    export DEBIAN_FRONTEND=noninteractive
    apt_get=("${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300)
    "${apt_get[@]}" install -y --no-install-recommends lua5.1 >&2 ||
      { "${apt_get[@]}" update >&2 && "${apt_get[@]}" install -y --no-install-recommends lua5.1 >&2; } ||
      fail "apt-get could not install lua5.1"
  fi
  exec 9>&-
fi
exec lua5.1 "$@"
