#!/usr/bin/env bash
# Local Kubernetes control plane for Tidewater's tests and demos:
# etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok (fake nodes),
# all built from pinned Go modules (hack/cluster/go/*) and run as local processes on 127.0.0.1.
#
#   hack/cluster.sh up       build (or reuse cached) binaries, start everything, wait until ready
#   hack/cluster.sh down     stop every component, verify nothing is left
#   hack/cluster.sh status   health of each component
#   hack/cluster.sh env      print `export KUBECONFIG=...`
#   hack/cluster.sh build    only build/cache the binaries
#   hack/cluster.sh logs [component]   tail the component logs
#
# See docs/local-cluster.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HACK="$ROOT/hack/cluster"
# shellcheck source=cluster/versions.env
source "$HACK/versions.env"

export GOTOOLCHAIN=local
CACHE_DIR="${TIDEWATER_CACHE_DIR:-$HOME/.cache/tidewater}"
BIN_DIR="${TIDEWATER_BIN_DIR:-$CACHE_DIR/bin}"
STATE="${TIDEWATER_CLUSTER_DIR:-$CACHE_DIR/cluster}"
BUILD_JOBS="${TIDEWATER_BUILD_JOBS:-2}"
# Bump when the build flags below change, so cached binaries are rebuilt.
BUILD_REV=1

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
  printf '[cluster] ERROR: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------

# Cache key: pinned version + wrapper go.mod/go.sum + build revision + Go version.
module_hash() {
  local dir="$HACK/go/$1"
  { cat "$dir/go.mod" "$dir/go.sum"; echo "rev=$BUILD_REV go=$(go env GOVERSION)"; } | sha256sum | cut -c1-12
}

k8s_ldflags() {
  local v="$KUBERNETES_VERSION" minor
  minor="$(echo "$v" | cut -d. -f2)"
  local flags="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=0000000000000000000000000000000000000000"
    flags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# Sets BIN_<name> for every component, building whatever is missing from the cache.
resolve_binaries() {
  command -v go >/dev/null || die "go is not installed (needed once to build the control plane)"
  local k8s_hash etcd_hash kwok_hash
  k8s_hash="$(module_hash kubernetes)"
  etcd_hash="$(module_hash etcd)"
  kwok_hash="$(module_hash kwok)"
  BIN_etcd="$BIN_DIR/etcd-$ETCD_VERSION-$etcd_hash"
  BIN_kube_apiserver="$BIN_DIR/kube-apiserver-$KUBERNETES_VERSION-$k8s_hash"
  BIN_kube_controller_manager="$BIN_DIR/kube-controller-manager-$KUBERNETES_VERSION-$k8s_hash"
  BIN_kube_scheduler="$BIN_DIR/kube-scheduler-$KUBERNETES_VERSION-$k8s_hash"
  BIN_kwok="$BIN_DIR/kwok-$KWOK_VERSION-$kwok_hash"

  if [[ -x "$BIN_etcd" && -x "$BIN_kube_apiserver" && -x "$BIN_kube_controller_manager" &&
    -x "$BIN_kube_scheduler" && -x "$BIN_kwok" ]]; then
    return 0
  fi
  mkdir -p "$BIN_DIR"
  # One builder at a time (two `up`s racing, or a test runner and a developer).
  exec 9>"$BIN_DIR/.build.lock"
  flock 9
  local common=(-p "$BUILD_JOBS" -trimpath)
  local tmp
  tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

  if [[ ! -x "$BIN_etcd" ]]; then
    log "building etcd $ETCD_VERSION (cold build, a few minutes)..."
    (cd "$HACK/go/etcd" && go build "${common[@]}" -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
    mv -f "$tmp/etcd" "$BIN_etcd"
  fi
  if [[ ! -x "$BIN_kwok" ]]; then
    log "building kwok $KWOK_VERSION (cold build, a few minutes)..."
    (cd "$HACK/go/kwok" && go build "${common[@]}" -ldflags "-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)
    mv -f "$tmp/kwok" "$BIN_kwok"
  fi
  if [[ ! -x "$BIN_kube_apiserver" || ! -x "$BIN_kube_controller_manager" || ! -x "$BIN_kube_scheduler" ]]; then
    log "building kube-apiserver, kube-controller-manager, kube-scheduler $KUBERNETES_VERSION (cold build, 10-25 minutes on 2 cores)..."
    (cd "$HACK/go/kubernetes" && go build "${common[@]}" -tags selinux,notest,grpcnotrace \
      -ldflags "$(k8s_ldflags)" -o "$tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler)
    mv -f "$tmp/kube-apiserver" "$BIN_kube_apiserver"
    mv -f "$tmp/kube-controller-manager" "$BIN_kube_controller_manager"
    mv -f "$tmp/kube-scheduler" "$BIN_kube_scheduler"
  fi
  flock -u 9
  log "binaries cached in $BIN_DIR"
}

case "${1:-}" in
build)
  resolve_binaries
  ;;
*)
  die "usage: $0 up|down|status|env|build|logs"
  ;;
esac
