#!/usr/bin/env bash
# End-to-end tests against the local control plane (what `make test-e2e` runs).
#
# 1. starts the cluster with hack/cluster.sh up unless one is already running (and then stops it
#    again on exit, but only if this script started it),
# 2. installs the CRDs from crds/ (server-side apply) and waits until they are Established,
# 3. runs `cargo test --features e2e --test e2e` with KUBECONFIG pointing at the cluster.
# Extra arguments are passed to the test binary (e.g. hack/e2e.sh smoke::job).
# On failure it prints the tail of every component log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CLUSTER="$ROOT/hack/cluster.sh"
export TIDEWATER_CLUSTER_DIR="${TIDEWATER_CLUSTER_DIR:-$HOME/.cache/tidewater/cluster}"
export KUBECONFIG="$TIDEWATER_CLUSTER_DIR/kubeconfig"
export GOTOOLCHAIN=local

log() { printf '[e2e] %s\n' "$*" >&2; }

started_cluster=0
t0=$SECONDS

on_exit() {
  local rc=$?
  if [[ $rc != 0 ]]; then
    log "FAILED (exit $rc); tail of the control plane logs:"
    TAIL_LINES=60 "$CLUSTER" logs >&2 || true
  fi
  if [[ $started_cluster == 1 ]]; then
    log "stopping the cluster this run started"
    "$CLUSTER" down || rc=1
  else
    log "leaving the already running cluster up"
  fi
  log "done in $((SECONDS - t0))s"
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

if "$CLUSTER" status >/dev/null 2>&1; then
  log "reusing the running cluster ($KUBECONFIG)"
else
  log "starting the cluster"
  started_cluster=1
  "$CLUSTER" up
fi

if [[ -d crds ]] && compgen -G 'crds/*.yaml' >/dev/null; then
  log "installing CRDs from crds/"
  kubectl apply --server-side --force-conflicts -f crds/
  # Stand-ins for the CRDs of other projects whose objects render emits (see the README there).
  kubectl apply --server-side --force-conflicts -f tests/fixtures/third-party-crds/
  kubectl wait --for=condition=Established --timeout=60s -f tests/fixtures/third-party-crds/
  mapfile -t crd_names < <(kubectl get -f crds/ -o name)
  kubectl wait --for=condition=Established --timeout=60s "${crd_names[@]}"
  # The API must also be served (discovery) before the tests use it.
  for crd in "${crd_names[@]}"; do
    group="$(kubectl get "$crd" -o jsonpath='{.spec.group}')"
    deadline=$((SECONDS + 60))
    until kubectl api-resources --api-group="$group" -o name 2>/dev/null | grep -q .; do
      ((SECONDS < deadline)) || {
        log "API group $group of $crd is not served after 60s"
        exit 1
      }
      sleep 0.5
    done
  done
elif [[ -n "${CI:-}" ]]; then
  log "ERROR: no CRD YAML files in crds/ (required in CI)"
  exit 1
else
  log "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  log "!!! WARNING: crds/ is missing or empty: CRDs NOT installed; the CRD tests will fail. !!!"
  log "!!! (Tolerated only because CI is unset; with CI set this is an error.)              !!!"
  log "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi

log "running cargo test --features e2e --test e2e (CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-<default>})"
cargo test --features e2e --test e2e -- "$@"
