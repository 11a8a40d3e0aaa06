#!/usr/bin/env bash
# A real Kubernetes control plane for the tests: etcd 3.4 (Debian's
# etcd-server) and kube-apiserver 1.20.2, built once from Debian's `kubernetes`
# source package with Debian's Go and cached outside the clone.
#
#   kube-apiserver.sh install     install what is missing, build and cache
#                                 kube-apiserver (once; later runs are instant)
#   kube-apiserver.sh up DIR      start etcd + kube-apiserver on free loopback
#                                 ports; writes DIR/kubeconfig, DIR/env,
#                                 DIR/{etcd,kube-apiserver}.{pid,log}
#   kube-apiserver.sh down DIR    stop exactly what `up DIR` started, remove its data
#
# Environment: XDG_CACHE_HOME (cache root, default ~/.cache),
# KUBE_APISERVER_READY_TIMEOUT (seconds `up` waits for /readyz, default 90).
set -euo pipefail

VERSION=1.20.2
DEB_VERSION=1.20.5+really1.20.2-1.1+deb12u1
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/comprehend-operator"
BIN_DIR="$CACHE/kube-apiserver-$VERSION"
APISERVER="$BIN_DIR/kube-apiserver"
RUN_PACKAGES=(etcd-server openssl curl)
BUILD_PACKAGES=(golang-go rsync make golang-github-modern-go-reflect2-dev)
READY_TIMEOUT="${KUBE_APISERVER_READY_TIMEOUT:-90}"

log() { printf '[env] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Installs the Debian packages among "$@" that are not installed yet.
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing+=("$p")
  done
  command -v python3 >/dev/null || missing+=(python3)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# ---------------------------------------------------------------- install

BUILD_PID=""
WORK=""

install_cleanup() {
  if [ -n "$BUILD_PID" ] && kill -0 "$BUILD_PID" 2>/dev/null; then
    # The build runs in its own process group (setsid): stop all of it.
    kill -TERM -- "-$BUILD_PID" 2>/dev/null || true
    wait "$BUILD_PID" 2>/dev/null || true
  fi
  if [ -n "$WORK" ]; then
    rm -rf "$WORK"
  fi
}

install() {
  # Fast path: everything already there, no apt, no lock.
  if [ -x "$APISERVER" ] && command -v etcd >/dev/null && command -v openssl >/dev/null &&
    command -v curl >/dev/null && command -v python3 >/dev/null; then
    return 0
  fi
  need_packages "${RUN_PACKAGES[@]}"
  [ -x "$APISERVER" ] && return 0

  mkdir -p "$CACHE"
  # One build at a time, also across parallel `make test` runs.
  exec 9>"$CACHE/install.lock"
  if ! flock -n 9; then
    log "another install is building kube-apiserver $VERSION; waiting for it"
    flock 9
  fi
  [ -x "$APISERVER" ] && return 0
  # Build folders left by an install that was killed long ago.
  find "$CACHE" -mindepth 1 -maxdepth 1 -name 'build.*' -mmin +120 -exec rm -rf {} +

  need_packages "${BUILD_PACKAGES[@]}"
  local started=$SECONDS
  log "building kube-apiserver $VERSION from Debian's kubernetes source package (5-10 minutes on 2 cores, once)"
  WORK=$(mktemp -d "$CACHE/build.XXXXXX")
  trap install_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # A private deb-src list made from the machine's own apt sources, so that no
  # mirror is named here and the system's package lists are left alone.
  local parts list f found=0
  eval "$(apt-config shell parts Dir::Etc::sourceparts/d list Dir::Etc::sourcelist/f)"
  mkdir -p "$WORK/sources" "$WORK/lists/partial"
  for f in "$parts"*.sources; do
    [ -f "$f" ] || continue
    sed -E 's/^Types:.*/Types: deb-src/' "$f" >"$WORK/sources/$(basename "$f")"
    found=1
  done
  for f in "$list" "$parts"*.list; do
    [ -f "$f" ] || continue
    if grep -Eq '^[[:space:]]*deb[[:space:]]' "$f"; then
      sed -nE 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >"$WORK/sources/src-$(basename "$f")"
      found=1
    fi
  done
  [ "$found" = 1 ] || die "no apt sources found (in $parts or $list) to derive a deb-src list from"
  # (Private lists, no shared package cache files: the system's apt state is
  # neither read nor written, so no apt lock is needed either.)
  local apt_opts=(-o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$WORK/sources"
    -o "Dir::State::Lists=$WORK/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
    -o Debug::NoLocking=1)
  # A repository without sources only warns; the download below is what counts.
  as_root apt-get "${apt_opts[@]}" update -qq >"$WORK/apt.log" 2>&1 ||
    log "warning: apt-get update of the deb-src list reported errors (see below if the download fails)"
  (cd "$WORK" && as_root apt-get "${apt_opts[@]}" source --download-only -qq \
    "kubernetes=$DEB_VERSION" >>"$WORK/apt.log" 2>&1) || {
    tail -20 "$WORK/apt.log" >&2
    die "could not download the source package kubernetes=$DEB_VERSION"
  }
  log "unpacking the source"
  (cd "$WORK" && tar xzf kubernetes_*.orig.tar.gz)
  local src="$WORK/kubernetes-$VERSION"
  [ -d "$src" ] || die "unexpected source layout: no kubernetes-$VERSION/ in the orig tarball"

  # The vendored reflect2 1.0.1 crashes the API server under Go >= 1.18
  # (`fatal error: fault` in mapiternext) as soon as watches run: use
  # Debian's reflect2 1.0.2 instead.
  local reflect2
  reflect2=$(dpkg -L golang-github-modern-go-reflect2-dev | grep -m1 '/github\.com/modern-go/reflect2$') ||
    die "golang-github-modern-go-reflect2-dev ships no reflect2 source folder"
  rm -rf "$src/vendor/github.com/modern-go/reflect2"
  cp -rL "$reflect2" "$src/vendor/github.com/modern-go/reflect2"

  # Debian's Go first in PATH, whatever other Go the machine has.
  local debian_go
  debian_go=$(dpkg -L golang-go | grep -m1 '/bin/go$') || die "golang-go ships no go binary"
  debian_go=$(dirname "$(readlink -f "$debian_go")")
  log "compiling with $("$debian_go/go" version | cut -d' ' -f3) (log: $WORK/build.log)"
  # The Go build cache lives in the build folder and goes with it; vendored
  # code only, never a module download.
  (cd "$src" && PATH="$debian_go:$PATH" GOCACHE="$WORK/gocache" GOPROXY=off \
    GOTOOLCHAIN=local GOFLAGS="" exec setsid make WHAT=cmd/kube-apiserver GOFLAGS= \
    >"$WORK/build.log" 2>&1 </dev/null) &
  BUILD_PID=$!
  local rc=0
  wait "$BUILD_PID" || rc=$?
  BUILD_PID=""
  if [ "$rc" -ne 0 ]; then
    tail -40 "$WORK/build.log" >&2
    die "kube-apiserver build failed (exit $rc)"
  fi
  "$src/_output/bin/kube-apiserver" --version >/dev/null || die "the built kube-apiserver does not run"
  mkdir -p "$BIN_DIR"
  cp "$src/_output/bin/kube-apiserver" "$APISERVER.tmp.$$"
  mv "$APISERVER.tmp.$$" "$APISERVER"
  log "cached $APISERVER ($("$APISERVER" --version)) after $((SECONDS - started)) s"
}

# --------------------------------------------------------------------- up

# Prints N distinct free loopback TCP ports (all bound at once, then freed).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# True while process PID runs and is still the program NAME (not a zombie,
# not another program that got the pid later).
running() {
  local pid=$1 name=$2 stat comm state
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  comm=${stat#*(}
  comm=${comm%)*}
  state=${stat##*) }
  state=${state%% *}
  [ "$state" != Z ] && [ "$comm" = "${name:0:15}" ]
}

# True while the pid written in FILE runs and is the program NAME.
pid_alive() {
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  [ -n "$pid" ] && running "$pid" "$name"
}

# Waits until pid $1 runs program $2. A command started with `&` runs as a
# copy of this shell until it execs, and on a busy machine that can outlast
# the first check: taken for an exit, it left the control plane half started
# and the program running unseen. False if the process ends or has not
# exec'd within 10 s.
started_as() {
  local pid=$1 name=$2 i
  for ((i = 0; i < 100; i++)); do
    running "$pid" "$name" && return 0
    [ -e "/proc/$pid" ] || return 1
    sleep 0.1
  done
  return 1
}

# Starts etcd and kube-apiserver once; sets PORT_TAKEN=1 and returns when a
# port was taken by someone else between choosing and binding it.
PORT_TAKEN=0
start_once() {
  local dir=$1 etcd_port peer_port api_port token
  read -r etcd_port peer_port api_port < <(free_ports 3)
  token=$(tr -dc 'a-zA-Z0-9' </dev/urandom | head -c 40 || true)
  [ ${#token} -eq 40 ] || die "could not make a random token"
  printf '%s,admin,admin,system:masters\n' "$token" >"$dir/tokens.csv"
  chmod 600 "$dir/tokens.csv"
  rm -rf "$dir/etcd" && mkdir -p "$dir/etcd"

  etcd --name test --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "test=http://127.0.0.1:$peer_port" \
    --logger zap --log-outputs stderr \
    >"$dir/etcd.log" 2>&1 </dev/null &
  echo $! >"$dir/etcd.pid"
  started_as $! etcd || true

  local deadline=$((SECONDS + 30))
  while true; do
    if pid_alive "$dir/etcd.pid" etcd; then
      curl -sf --max-time 2 "http://127.0.0.1:$etcd_port/health" 2>/dev/null |
        grep -q '"health":"true"' && break
    else
      if grep -q 'address already in use' "$dir/etcd.log"; then
        PORT_TAKEN=1
        return 0
      fi
      tail -20 "$dir/etcd.log" >&2
      die "etcd exited at start (log: $dir/etcd.log)"
    fi
    [ $SECONDS -lt $deadline ] || {
      tail -20 "$dir/etcd.log" >&2
      die "etcd was not healthy after 30 s (log: $dir/etcd.log)"
    }
    sleep 0.2
  done

  # With no default route the API server cannot pick the address it publishes
  # in the `kubernetes` Endpoints (loopback is refused there): give it one from
  # the documentation range, which nothing ever connects to.
  local advertise=()
  if ! awk 'NR > 1 && $2 == "00000000" { found = 1 } END { exit !found }' /proc/net/route 2>/dev/null; then
    advertise=(--advertise-address=192.0.2.1)
  fi

  "$APISERVER" "${advertise[@]}" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --bind-address=127.0.0.1 --secure-port="$api_port" \
    --insecure-port=0 --cert-dir="$dir/certs" \
    --authorization-mode=RBAC --token-auth-file="$dir/tokens.csv" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$dir/sa.pub" \
    --service-account-signing-key-file="$dir/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --disable-admission-plugins=ServiceAccount \
    --audit-log-path="$dir/audit.log" --audit-policy-file="$dir/audit-policy.yaml" \
    --audit-log-maxsize=1000000 \
    >"$dir/kube-apiserver.log" 2>&1 </dev/null &
  echo $! >"$dir/kube-apiserver.pid"
  started_as $! kube-apiserver || true

  local kubeconfig="$dir/kubeconfig"
  cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: test
  context:
    cluster: test
    user: admin
    namespace: default
current-context: test
EOF
  chmod 600 "$kubeconfig"
  printf 'export KUBECONFIG=%q\n' "$kubeconfig" >"$dir/env"

  # Ready = /readyz ok and the default namespace made by the bootstrap controller.
  # (The pid is checked first: a port taken meanwhile may be answered by
  # another server, and curl is bounded in time for the same reason.)
  local url="https://127.0.0.1:$api_port"
  local curl=(curl -ksf --max-time 3 -H "Authorization: Bearer $token")
  deadline=$((SECONDS + READY_TIMEOUT))
  while true; do
    if pid_alive "$dir/kube-apiserver.pid" kube-apiserver; then
      if [ "$("${curl[@]}" "$url/readyz" 2>/dev/null)" = ok ] &&
        "${curl[@]}" -o /dev/null "$url/api/v1/namespaces/default" 2>/dev/null; then
        break
      fi
    else
      if grep -q 'address already in use' "$dir/kube-apiserver.log"; then
        PORT_TAKEN=1
        return 0
      fi
      tail -40 "$dir/kube-apiserver.log" >&2
      die "kube-apiserver exited at start (log: $dir/kube-apiserver.log)"
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "kube-apiserver log tail:"
      tail -40 "$dir/kube-apiserver.log" >&2
      die "kube-apiserver was not ready after $READY_TIMEOUT s (logs: $dir/kube-apiserver.log, $dir/etcd.log)"
    fi
    sleep 0.3
  done
  log "kube-apiserver $VERSION ready at $url after $((SECONDS - UP_STARTED)) s (etcd at http://127.0.0.1:$etcd_port; KUBECONFIG=$kubeconfig)"
}

up() {
  [ -n "${1:-}" ] || die "usage: $0 up DIR"
  mkdir -p "$1"
  local dir
  dir=$(cd "$1" && pwd)
  [ -x "$APISERVER" ] || die "kube-apiserver $VERSION is not built: run '$0 install' (or make env-install)"
  command -v etcd >/dev/null || die "etcd is missing: run '$0 install' (or make env-install)"
  if pid_alive "$dir/etcd.pid" etcd || pid_alive "$dir/kube-apiserver.pid" kube-apiserver; then
    die "$dir already has a running control plane: run '$0 down $dir' first"
  fi
  UP_STARTED=$SECONDS
  # Whatever goes wrong (or a signal), stop what was started so far.
  trap 'down "$dir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  mkdir -p "$dir/certs"
  openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  # Writes are audited (metadata only, one line each when the response is
  # complete), so a test or a benchmark can count them. The log is never
  # rotated (--audit-log-maxsize in MB; the default rotates at 100 MB and a
  # 10,000-job benchmark writes more).
  cat >"$dir/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
- level: None
EOF

  local attempt
  for attempt in 1 2 3; do
    PORT_TAKEN=0
    start_once "$dir"
    [ "$PORT_TAKEN" = 0 ] && break
    log "a port was taken meanwhile (attempt $attempt): retrying on other ports"
    stop_all "$dir"
  done
  [ "$PORT_TAKEN" = 0 ] || die "could not find free ports in 3 attempts"
  trap - EXIT INT TERM
}

# ------------------------------------------------------------------- down

# Stops the process whose pid is in FILE, if it is still the program NAME:
# SIGTERM, then SIGKILL after 15 s; returns once it has exited.
stop_pid() {
  local file=$1 name=$2 pid i
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if pid_alive "$file" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
      running "$pid" "$name" || break
      if [ "$i" -eq 150 ]; then
        log "$name (pid $pid) did not stop after 15 s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
        while running "$pid" "$name"; do sleep 0.1; done
      fi
      sleep 0.1
    done
    # Reap it when it is a child of this shell (`up` cleaning up after itself).
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

stop_all() {
  stop_pid "$1/kube-apiserver.pid" kube-apiserver
  stop_pid "$1/etcd.pid" etcd
}

down() {
  [ -n "${1:-}" ] || die "usage: $0 down DIR"
  local dir=$1
  [ -d "$dir" ] || return 0
  stop_all "$dir"
  # The data and the secrets go; logs, audit log and kubeconfig stay.
  rm -rf "$dir/etcd" "$dir/certs" "$dir/sa.key" "$dir/sa.pub" "$dir/tokens.csv"
}

case "${1:-}" in
  install) install ;;
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  *)
    echo "usage: $0 install | up DIR | down DIR" >&2
    exit 2
    ;;
esac
