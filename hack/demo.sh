#!/usr/bin/env bash
# `make demo`: the local control plane, the CRDs, the operator, examples/ applied, and what the
# operator made of them. `hack/demo.sh down` stops the demo operator and deletes its namespace.
#
# The operator runs in the background (log: $TIDEWATER_CLUSTER_DIR/demo/operator.log) watching
# only the namespace `tidewater-demo`, so it never touches anything else in the cluster.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export TIDEWATER_CLUSTER_DIR="${TIDEWATER_CLUSTER_DIR:-$HOME/.cache/tidewater/cluster}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tidewater/target}"
export KUBECONFIG="$TIDEWATER_CLUSTER_DIR/kubeconfig"
export GOTOOLCHAIN=local
NS="${DEMO_NAMESPACE:-tidewater-demo}"
DEMO_DIR="$TIDEWATER_CLUSTER_DIR/demo"
PID_FILE="$DEMO_DIR/operator.pid"
LOG="$DEMO_DIR/operator.log"

log() { printf '\n[demo] %s\n' "$*" >&2; }

stop_operator() {
  if [[ -f "$PID_FILE" ]]; then
    local pid
    pid="$(cat "$PID_FILE")"
    # Only signal our own operator (never a recycled pid).
    if kill -0 "$pid" 2>/dev/null && grep -q "tidewater" "/proc/$pid/cmdline" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fi
    rm -f "$PID_FILE"
  fi
}

if [[ "${1:-}" == "down" ]]; then
  stop_operator
  kubectl delete namespace "$NS" --ignore-not-found --wait=false
  log "demo stopped (the cluster keeps running; stop it with: make cluster-down)"
  exit 0
fi

log "1/5 local control plane"
hack/cluster.sh up

log "2/5 CRDs (Tidewater's, plus stand-ins for TargetGroupBinding and ExternalSecret)"
kubectl apply --server-side --force-conflicts -f crds/ -f tests/fixtures/third-party-crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s -f crds/ -f tests/fixtures/third-party-crds/ >/dev/null
echo "installed: $(ls crds/*.yaml | wc -l) Tidewater CRDs"

log "3/5 the operator (tidewater run --namespace $NS)"
cargo build --release --quiet
mkdir -p "$DEMO_DIR"
stop_operator
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
nohup "$CARGO_TARGET_DIR/release/tidewater" run --namespace "$NS" \
  --leader-election-namespace "$NS" --http-addr 127.0.0.1:0 >"$LOG" 2>&1 &
echo $! >"$PID_FILE"
for _ in $(seq 1 100); do
  grep -q "caches synced" "$LOG" 2>/dev/null && break
  kill -0 "$(cat "$PID_FILE")" 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.2
done
grep -o 'addr[^ ]*' "$LOG" | head -1 | sed 's/^/operator http: /' || true

log "4/5 kubectl apply -f examples/"
kubectl apply -n "$NS" -f examples/
kubectl wait -n "$NS" --for=condition=Ready --timeout=120s services.ecs.tidewater.dev --all >/dev/null || true

log "5/5 kubectl get ecs"
kubectl get ecs -n "$NS"
log "what the operator created"
kubectl get deployments,daemonsets,services,serviceaccounts,ingresses,hpa,pdb,cronjobs,targetgroupbindings,controllerrevisions -n "$NS"
log "pods"
kubectl get pods -n "$NS" -o wide | head -30
log "service events (ECS wording), e.g. web"
kubectl get services.ecs.tidewater.dev web -n "$NS" -o jsonpath='{range .status.events[*]}{.createdAt}  {.message}{"\n"}{end}' 2>/dev/null || true
cat <<MSG

The operator keeps running in the background (pid $(cat "$PID_FILE"), log $LOG).
Try:  export KUBECONFIG=$KUBECONFIG
      kubectl describe services.ecs.tidewater.dev web -n $NS
      kubectl scale services.ecs.tidewater.dev worker -n $NS --replicas=3
Stop: make demo-down
MSG
