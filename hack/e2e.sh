#!/usr/bin/env bash
# End-to-end tests against the local control plane (what `make test-e2e` runs).
#
# 1. starts the cluster with hack/cluster.sh up unless one is already running, and stops it
#    again on exit if an e2e run started it and no other e2e run is still using it,
# 2. installs the CRDs from crds/ (server-side apply) and waits until they are Established,
# 3. runs `cargo test --features e2e --test e2e` with KUBECONFIG pointing at the cluster.
# Before all that it makes sure the pinned helm of the chart tests is built (hack/cluster.sh
# helm; cached after the first time) and exports its path as TIDEWATER_HELM.
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

main() {
  t0=$SECONDS

  # The chart tests (tests/e2e/helm.rs) need helm: build it (once; cached in the same bin dir as
  # the cluster binaries) or fail here, loudly. They never skip. TIDEWATER_HELM overrides.
  if [[ -z "${TIDEWATER_HELM:-}" ]]; then
    TIDEWATER_HELM="$("$CLUSTER" helm)" || {
      log "ERROR: could not build helm (hack/cluster.sh helm); the chart tests need it"
      exit 1
    }
  fi
  [[ -x "$TIDEWATER_HELM" ]] || {
    log "ERROR: TIDEWATER_HELM=$TIDEWATER_HELM is not an executable"
    exit 1
  }
  export TIDEWATER_HELM
  log "helm: $TIDEWATER_HELM ($("$TIDEWATER_HELM" version --short 2>/dev/null || echo '?'))"

  # The real AWS clients of the ECS API tests: pinned AWS CLI and boto3 in a cached virtualenv,
  # and the AWS SDK for Go v2 driver (hack/ecs-clients.sh; cached after the first time).
  local ecs_clients
  ecs_clients="$(hack/ecs-clients.sh env)" || { log "ERROR: hack/ecs-clients.sh failed"; exit 1; }
  while IFS='=' read -r k v; do export "$k=$v"; done <<<"$ecs_clients"

  have_crds() { [[ -d crds ]] && compgen -G 'crds/*.yaml' >/dev/null; }
  if [[ -n "${CI:-}" ]] && ! have_crds; then
    log "ERROR: no CRD YAML files in crds/ (required in CI)"
    exit 1
  fi

  # Several e2e runs may share one cluster (two terminals, or a developer and an agent). A run
  # that had to start the cluster marks it "e2e-owned"; every run registers itself in e2e-users/
  # while it runs; the last run to leave stops an e2e-owned cluster. A cluster someone started
  # with `make cluster` is never stopped here.
  USERS_DIR="$TIDEWATER_CLUSTER_DIR/e2e-users"
  OWNED="$TIDEWATER_CLUSTER_DIR/e2e-owned"
  mkdir -p "$USERS_DIR"
  exec 7>"$TIDEWATER_CLUSTER_DIR/.e2e.lock"

  prune_users() {
    local f
    for f in "$USERS_DIR"/*; do
      [[ -e "$f" ]] || continue
      kill -0 "$(basename "$f")" 2>/dev/null || rm -f "$f"
    done
  }

  # Figures the tests measured (fault timings, counts), printed at the end (support::report).
  export TIDEWATER_E2E_REPORT="${TIDEWATER_E2E_REPORT:-$(mktemp -t tidewater-e2e-report.XXXXXX)}"

  on_exit() {
    local rc=$?
    trap - EXIT
    if [[ -s "$TIDEWATER_E2E_REPORT" ]]; then
      log "figures measured by the tests:"
      sed 's/^/[e2e]   /' "$TIDEWATER_E2E_REPORT" >&2
    fi
    rm -f "$TIDEWATER_E2E_REPORT"
    if [[ $rc != 0 ]]; then
      log "FAILED (exit $rc); tail of the control plane logs:"
      TAIL_LINES=60 "$CLUSTER" logs >&2 || true
    fi
    flock 7
    rm -f "$USERS_DIR/$$"
    prune_users
    if [[ -e "$OWNED" ]] && [[ -z "$(ls -A "$USERS_DIR")" ]]; then
      log "stopping the cluster an e2e run started"
      "$CLUSTER" down 7>&- || rc=1
      rm -f "$OWNED"
    elif [[ -e "$OWNED" ]]; then
      log "leaving the cluster up for the other e2e runs still using it: $(ls "$USERS_DIR" | tr '\n' ' ')"
    else
      log "leaving the already running cluster up"
    fi
    flock -u 7
    log "done in $((SECONDS - t0))s"
    exit $rc
  }
  trap on_exit EXIT
  trap 'exit 130' INT TERM

  flock 7
  prune_users
  touch "$USERS_DIR/$$"
  if "$CLUSTER" status >/dev/null 2>&1; then
    log "reusing the running cluster ($KUBECONFIG)"
  else
    log "starting the cluster"
    TIDEWATER_E2E=1 "$CLUSTER" up 7>&-
    touch "$OWNED"
  fi
  flock -u 7

  if have_crds; then
    log "installing CRDs from crds/"
    kubectl apply --server-side --force-conflicts -f crds/
    # Stand-ins for the CRDs of other projects whose objects render emits (see the README there).
    kubectl apply --server-side --force-conflicts -R -f tests/fixtures/third-party-crds/
    kubectl wait --for=condition=Established --timeout=60s -R -f tests/fixtures/third-party-crds/
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
}

# One line: bash has read all of it before running main, so editing this file meanwhile is safe.
main "$@"; exit $?
