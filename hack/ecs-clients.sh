#!/usr/bin/env bash
# The real AWS clients of the ECS API end-to-end tests (tests/e2e/ecs_api*.rs), installed once
# and cached outside the clone (like the cluster binaries of hack/cluster.sh):
#   ~/.cache/tidewater/venv-ecs          virtualenv with the pinned AWS CLI and boto3 from PyPI
#   ~/.cache/tidewater/bin/ecs-sdk-go-*  the AWS SDK for Go v2 driver of hack/ecs-sdk-go
#
#   hack/ecs-clients.sh env     install what is missing; print TIDEWATER_ECS_VENV=... and
#                               TIDEWATER_ECS_SDK_GO=... lines (hack/e2e.sh exports them)
#   hack/ecs-clients.sh venv    only the virtualenv; prints its path
#   hack/ecs-clients.sh go      only the Go driver; prints its path
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GOTOOLCHAIN=local
CACHE_DIR="${TIDEWATER_CACHE_DIR:-$HOME/.cache/tidewater}"
BIN_DIR="${TIDEWATER_BIN_DIR:-$CACHE_DIR/bin}"
VENV="${TIDEWATER_ECS_VENV_DIR:-$CACHE_DIR/venv-ecs}"
AWSCLI_VERSION=1.46.3
BOTO3_VERSION=1.44.8
GO_DIR="$ROOT/hack/ecs-sdk-go"

log() { printf '[ecs-clients] %s\n' "$*" >&2; }
die() {
  printf '[ecs-clients] ERROR: %s\n' "$*" >&2
  exit 1
}

# The installed versions of awscli and boto3, "awscli boto3", or nothing.
venv_versions() {
  [[ -x "$VENV/bin/python" ]] || return 0
  "$VENV/bin/python" - <<'PY' 2>/dev/null || true
import importlib.metadata as m
print(m.version("awscli"), m.version("boto3"))
PY
}

resolve_venv() {
  local want="$AWSCLI_VERSION $BOTO3_VERSION"
  [[ "$(venv_versions)" == "$want" ]] && return 0
  mkdir -p "$CACHE_DIR"
  exec 8>"$CACHE_DIR/.venv-ecs.lock"
  flock 8
  if [[ "$(venv_versions)" != "$want" ]]; then
    local t0=$SECONDS
    log "installing awscli==$AWSCLI_VERSION boto3==$BOTO3_VERSION into $VENV (from PyPI, once)"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      "awscli==$AWSCLI_VERSION" "boto3==$BOTO3_VERSION" >&2 || die "pip install failed"
    [[ "$(venv_versions)" == "$want" ]] || die "after installing, $VENV has '$(venv_versions)', not '$want'"
    log "virtualenv ready in $((SECONDS - t0))s"
  fi
  flock -u 8
}

resolve_go() {
  command -v go >/dev/null || die "go is not installed (needed once to build hack/ecs-sdk-go)"
  local hash
  hash="$({ cat "$GO_DIR/go.mod" "$GO_DIR/go.sum" "$GO_DIR"/*.go; go env GOVERSION; } | sha256sum | cut -c1-12)"
  BIN_sdk_go="$BIN_DIR/ecs-sdk-go-$hash"
  [[ -x "$BIN_sdk_go" ]] && return 0
  mkdir -p "$BIN_DIR"
  exec 9>"$BIN_DIR/.build.lock"
  flock 9
  if [[ ! -x "$BIN_sdk_go" ]]; then
    local tmp t0=$SECONDS
    tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"
    log "building hack/ecs-sdk-go (AWS SDK for Go v2, once)"
    if ! (cd "$GO_DIR" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
      go build -p "${TIDEWATER_BUILD_JOBS:-2}" -trimpath -ldflags "-s -w" -o "$tmp/ecs-sdk-go" .); then
      rm -rf "$tmp"
      die "building hack/ecs-sdk-go failed"
    fi
    mv -f "$tmp/ecs-sdk-go" "$BIN_sdk_go"
    rm -rf "$tmp"
    log "ecs-sdk-go built in $((SECONDS - t0))s"
  fi
  flock -u 9
}

main() {
  case "${1:-env}" in
  env)
    resolve_venv
    resolve_go
    echo "TIDEWATER_ECS_VENV=$VENV"
    echo "TIDEWATER_ECS_SDK_GO=$BIN_sdk_go"
    ;;
  venv)
    resolve_venv
    echo "$VENV"
    ;;
  go)
    resolve_go
    echo "$BIN_sdk_go"
    ;;
  *) die "usage: $0 env|venv|go" ;;
  esac
}

main "$@"
