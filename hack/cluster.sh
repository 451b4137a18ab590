#!/usr/bin/env bash
# Local Kubernetes control plane for Tidewater's tests and demos:
# etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok (fake nodes)
# + metrics-server (metrics from kwok's simulated resource usage),
# all built from pinned Go modules (hack/cluster/go/*) and run as local processes on 127.0.0.1.
#
#   hack/cluster.sh up       build (or reuse cached) binaries, start everything, wait until ready
#   hack/cluster.sh down     stop every component, verify nothing is left
#   hack/cluster.sh status   health of each component
#   hack/cluster.sh env      print `export KUBECONFIG=...`
#   hack/cluster.sh build    only build/cache the binaries (helm included)
#   hack/cluster.sh helm     only build/cache helm (for the chart tests); prints its path
#   hack/cluster.sh logs [component]   tail the component logs
#   hack/cluster.sh kill COMPONENT [--term]   stop one component (SIGKILL; SIGTERM with --term),
#                                             keeping its state (fault tests)
#   hack/cluster.sh start COMPONENT  start a stopped component again, as `up` started it, and
#                                    wait until it is healthy (fault tests)
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

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok metrics-server)

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
  BIN_metrics_server="$BIN_DIR/metrics-server-$METRICS_SERVER_VERSION-$(module_hash metrics-server)"

  if [[ -x "$BIN_etcd" && -x "$BIN_kube_apiserver" && -x "$BIN_kube_controller_manager" &&
    -x "$BIN_kube_scheduler" && -x "$BIN_kwok" && -x "$BIN_metrics_server" ]]; then
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
  if [[ ! -x "$BIN_metrics_server" ]]; then
    log "building metrics-server $METRICS_SERVER_VERSION (cold build, a few minutes)..."
    (cd "$HACK/go/metrics-server" && go build "${common[@]}" -ldflags "-s -w" -o "$tmp/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server)
    mv -f "$tmp/metrics-server" "$BIN_metrics_server"
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

# helm (not part of the cluster: the chart tests use it). Built from the wrapper module
# hack/cluster/go/helm like the components above, cached as helm-<version>-<hash>, and linked
# as $BIN_DIR/helm (the stable path the tests and `make helm` users look for). Sets BIN_helm.
helm_ldflags() {
  # Upstream's Makefile stamps the version and the Kubernetes version that `helm template`
  # and `helm lint` assume by default (1.<minor of its client-go>).
  local client_go minor flags="-s -w"
  client_go="$(grep -m1 -E '^\s+k8s\.io/client-go v' "$HACK/go/helm/go.mod" | awk '{print $2}')"
  minor="$(echo "$client_go" | cut -d. -f2)"
  flags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local pkg
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  echo "$flags"
}

resolve_helm() {
  command -v go >/dev/null || die "go is not installed (needed once to build helm)"
  BIN_helm="$BIN_DIR/helm-$HELM_VERSION-$(module_hash helm)"
  if [[ ! -x "$BIN_helm" ]]; then
    mkdir -p "$BIN_DIR"
    exec 9>"$BIN_DIR/.build.lock"
    flock 9
    if [[ ! -x "$BIN_helm" ]]; then
      local tmp t0=$SECONDS
      tmp="$(mktemp -d "$BIN_DIR/.build.XXXXXX")"
      log "building helm $HELM_VERSION (cold build, 1.5-2.5 minutes on 2 cores)..."
      if ! (cd "$HACK/go/helm" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
        go build -p "$BUILD_JOBS" -trimpath -ldflags "$(helm_ldflags)" -o "$tmp/helm" helm.sh/helm/v3/cmd/helm); then
        rm -rf "$tmp"
        die "building helm $HELM_VERSION failed"
      fi
      mv -f "$tmp/helm" "$BIN_helm"
      rm -rf "$tmp"
      log "helm $HELM_VERSION built in $((SECONDS - t0))s"
    fi
    flock -u 9
  fi
  # Atomically point $BIN_DIR/helm at this version (a concurrent reader never sees it missing).
  if [[ "$(readlink "$BIN_DIR/helm" 2>/dev/null)" != "$(basename "$BIN_helm")" ]]; then
    ln -sfn "$(basename "$BIN_helm")" "$BIN_DIR/.helm.link.$$"
    mv -Tf "$BIN_DIR/.helm.link.$$" "$BIN_DIR/helm"
  fi
}


# ---------------------------------------------------------------------------------------------
# Ports, certificates, kubeconfigs
# ---------------------------------------------------------------------------------------------

# Fixed defaults (override with the environment); `up` refuses to start if one is busy and says
# which process holds it. The ports in use are written to $STATE/ports.env for the other verbs.
load_ports() {
  if [[ -f "$STATE/ports.env" && "${1:-}" != fresh ]]; then
    # shellcheck disable=SC1091
    source "$STATE/ports.env"
  fi
  ETCD_PORT="${TIDEWATER_ETCD_PORT:-${ETCD_PORT:-52379}}"
  ETCD_PEER_PORT="${TIDEWATER_ETCD_PEER_PORT:-${ETCD_PEER_PORT:-52380}}"
  APISERVER_PORT="${TIDEWATER_APISERVER_PORT:-${APISERVER_PORT:-56443}}"
  KCM_PORT="${TIDEWATER_KCM_PORT:-${KCM_PORT:-50257}}"
  SCHEDULER_PORT="${TIDEWATER_SCHEDULER_PORT:-${SCHEDULER_PORT:-50259}}"
  KWOK_PORT="${TIDEWATER_KWOK_PORT:-${KWOK_PORT:-50247}}"
  METRICS_PORT="${TIDEWATER_METRICS_PORT:-${METRICS_PORT:-50443}}"
}

write_ports() {
  cat >"$STATE/ports.env" <<EOF
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KCM_PORT=$KCM_PORT
SCHEDULER_PORT=$SCHEDULER_PORT
KWOK_PORT=$KWOK_PORT
METRICS_PORT=$METRICS_PORT
EOF
}

port_busy() {
  # bash's /dev/tcp: a successful connect means something listens there.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_ports_free() {
  local name port busy=0
  for name in ETCD_PORT ETCD_PEER_PORT APISERVER_PORT KCM_PORT SCHEDULER_PORT KWOK_PORT METRICS_PORT; do
    port="${!name}"
    if port_busy "$port"; then
      busy=1
      printf '[cluster] ERROR: port %s (%s) on 127.0.0.1 is already in use' "$port" "$name" >&2
      if command -v ss >/dev/null; then
        printf ' by:\n' >&2
        ss -ltnpH "sport = :$port" >&2 || true
      else
        printf '\n' >&2
      fi
      printf '[cluster]   stop that process or choose another port: TIDEWATER_%s=<port> %s up\n' "$name" "$0" >&2
    fi
  done
  [[ $busy == 0 ]] || exit 1
}

PKI=""
gen_pki() {
  PKI="$STATE/pki"
  if [[ -f "$PKI/.complete-v3" ]]; then return 0; fi
  command -v openssl >/dev/null || die "openssl is required"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 \
      -subj "/CN=tidewater-local-ca" 2>/dev/null
    # name CN O extra-SANs
    issue() {
      local name="$1" cn="$2" o="$3" san="${4:-}"
      local subj="/CN=$cn"
      [[ -n "$o" ]] && subj="/O=$o/CN=$cn"
      openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
      {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        if [[ -n "$san" ]]; then
          echo "extendedKeyUsage=serverAuth,clientAuth"
          echo "subjectAltName=$san"
        else
          echo "extendedKeyUsage=clientAuth"
        fi
      } >"$name.ext"
      openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" \
        -days 3650 -extfile "$name.ext" 2>/dev/null
      rm -f "$name.csr" "$name.ext"
    }
    issue apiserver kube-apiserver "" \
      "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    issue admin tidewater-admin system:masters
    issue kube-controller-manager system:kube-controller-manager ""
    issue kube-scheduler system:kube-scheduler ""
    issue kwok tidewater-kwok system:masters
    issue metrics-server tidewater-metrics-server system:masters
    # Front proxy (aggregation layer): its own CA, as upstream recommends.
    openssl req -x509 -newkey rsa:2048 -nodes -keyout front-proxy-ca.key -out front-proxy-ca.crt \
      -days 3650 -subj "/CN=tidewater-front-proxy-ca" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout front-proxy-client.key -out front-proxy-client.csr \
      -subj "/CN=front-proxy-client" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >fp.ext
    openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key \
      -CAcreateserial -out front-proxy-client.crt -days 3650 -extfile fp.ext 2>/dev/null
    rm -f front-proxy-client.csr fp.ext
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
  touch "$PKI/.complete-v3"
}

write_kubeconfig() { # file user cert
  local file="$1" user="$2" cert="$3"
  rm -f "$file"
  KUBECONFIG="$file" kubectl config set-cluster tidewater --server="https://127.0.0.1:$APISERVER_PORT" \
    --certificate-authority="$PKI/ca.crt" --embed-certs=true >/dev/null
  KUBECONFIG="$file" kubectl config set-credentials "$user" --client-certificate="$PKI/$cert.crt" \
    --client-key="$PKI/$cert.key" --embed-certs=true >/dev/null
  KUBECONFIG="$file" kubectl config set-context tidewater --cluster=tidewater --user="$user" >/dev/null
  KUBECONFIG="$file" kubectl config use-context tidewater >/dev/null
  chmod 600 "$file"
}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

# A pid from a pid file counts only while that process still runs from this state dir (a
# recycled pid must never be signalled).
is_ours() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$STATE/"; }

pid_of() {
  local pid
  pid="$(cat "$STATE/pids/$1.pid" 2>/dev/null || true)"
  if [[ -n "$pid" ]] && is_ours "$pid"; then echo "$pid"; fi
}

alive() { # component
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

start_component() { # name binary args...
  local name="$1" bin="$2"
  shift 2
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/cmds"
  {
    echo "==== $(date -u +%FT%TZ) starting $name: $bin $*"
  } >>"$STATE/logs/$name.log"
  # The command (and HOME, which kwok reads) is kept so `start COMPONENT` can run it again.
  printf '%s\0' "$HOME" "$bin" "$@" >"$STATE/cmds/$name"
  # setsid: every component leads its own process group, so `down` can signal the whole group.
  # Not a process-group leader here (no job control in scripts), so setsid execs in place and
  # $! is the component's own pid.
  # (The lock descriptors 8 and 9 are closed so a long-running component never holds a lock.)
  setsid "$bin" "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  local pid="$!" tries=0
  echo "$pid" >"$STATE/pids/$name.pid"
  # Until the forked shell has exec'd the component, its command line is this script's, and
  # `alive` would take a starting component for a dead one (seen on a loaded machine): wait
  # for the exec (or the exit), at most 10 s.
  while ! is_ours "$pid" && kill -0 "$pid" 2>/dev/null && ((tries++ < 200)); do
    sleep 0.05
  done
}

# Processes whose command line mentions this state directory, in case a pid file got lost.
stray_pids() {
  local pid
  for pid in $(pgrep -f -- "$STATE/" 2>/dev/null || true); do
    [[ "$pid" == "$$" ]] && continue
    # only our component binaries, never a shell or editor that happens to mention the path
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
    etcd* | kube-apiserver* | kube-controller* | kube-scheduler* | kwok* | metrics-server*) echo "$pid" ;;
    esac
  done
}

stop_all() {
  local name pid pids=() deadline
  for name in metrics-server kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
    pid="$(pid_of "$name")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in $(stray_pids); do
    [[ " ${pids[*]} " == *" $pid "* ]] && continue
    log "stopping stray component process $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
  done
  deadline=$((SECONDS + 20))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      log "process $pid did not stop on SIGTERM, sending SIGKILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  done
  rm -rf "$STATE/pids"
  local left
  left="$(stray_pids)"
  [[ -z "$left" ]] || die "processes still running after stop: $left"
}

# wait_for description timeout-seconds command...
wait_for() {
  local what="$1" timeout="$2"
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what; the logs are in $STATE/logs/ (hack/cluster.sh logs)"
      cmd_logs >&2 || true
      stop_all || true
      exit 1
    fi
    check_alive_or_fail
    sleep 0.5
  done
}

check_alive_or_fail() {
  local name
  [[ -d "$STATE/pids" ]] || return 0
  for name in "${COMPONENTS[@]}"; do
    if [[ -f "$STATE/pids/$name.pid" ]] && ! alive "$name"; then
      log "$name exited unexpectedly; last lines of $STATE/logs/$name.log:"
      tail -n 30 "$STATE/logs/$name.log" >&2 || true
      stop_all || true
      exit 1
    fi
  done
}

curl_api() { # path
  curl -fsS --max-time 5 --cacert "$STATE/pki/ca.crt" --cert "$STATE/pki/admin.crt" \
    --key "$STATE/pki/admin.key" "https://127.0.0.1:$APISERVER_PORT$1"
}
etcd_healthy() { curl -fsS --max-time 5 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
apiserver_ready() { [[ "$(curl_api /readyz)" == ok ]]; }
kcm_healthy() { [[ "$(curl -fsSk --max-time 5 "https://127.0.0.1:$KCM_PORT/healthz")" == ok ]]; }
scheduler_healthy() { [[ "$(curl -fsSk --max-time 5 "https://127.0.0.1:$SCHEDULER_PORT/healthz")" == ok ]]; }
kwok_healthy() { [[ "$(curl -fsSk --max-time 5 "https://127.0.0.1:$KWOK_PORT/healthz")" == ok ]]; }
metrics_server_healthy() { [[ "$(curl -fsSk --max-time 5 "https://127.0.0.1:$METRICS_PORT/livez")" == ok ]]; }
k() { kubectl --kubeconfig "$STATE/kubeconfig" "$@"; }
default_sa_exists() { k -n default get serviceaccount default; }
nodes_ready() {
  local want have
  want="$(grep -c '^kind: Node' "$HACK/nodes.yaml")"
  have="$(k get nodes -l tidewater.dev/fake-node=true \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$')"
  [[ "$have" -ge "$want" ]]
}

all_healthy() {
  local name
  for name in "${COMPONENTS[@]}"; do alive "$name" || return 1; done
  etcd_healthy && apiserver_ready && kcm_healthy && scheduler_healthy && kwok_healthy && metrics_server_healthy
}

# ---------------------------------------------------------------------------------------------
# Verbs
# ---------------------------------------------------------------------------------------------

# Serialise up/down on one state dir (two terminals, or a test runner and a developer).
lock_state() {
  mkdir -p "$STATE"
  exec 8>"$STATE/.lock"
  if ! flock -w 300 8; then die "another hack/cluster.sh holds $STATE/.lock"; fi
}

cmd_up() {
  local t0=$SECONDS
  lock_state
  load_ports
  # Started or claimed by hand: hack/e2e.sh must not stop it when its tests end.
  [[ -n "${TIDEWATER_E2E:-}" ]] || rm -f "$STATE/e2e-owned"
  if [[ -d "$STATE/pids" ]] && all_healthy 2>/dev/null; then
    log "cluster already running and healthy; reusing it (KUBECONFIG=$STATE/kubeconfig)"
    return 0
  fi
  if [[ -d "$STATE/pids" ]] || [[ -n "$(stray_pids)" ]]; then
    log "found a partial or unhealthy cluster; stopping it first"
    stop_all
  fi
  load_ports fresh
  resolve_binaries
  check_ports_free
  write_ports
  gen_pki
  write_kubeconfig "$STATE/kubeconfig" tidewater-admin admin
  write_kubeconfig "$STATE/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
  write_kubeconfig "$STATE/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  write_kubeconfig "$STATE/kwok.kubeconfig" tidewater-kwok kwok
  write_kubeconfig "$STATE/metrics-server.kubeconfig" tidewater-metrics-server metrics-server
  # A fresh store on every start: tests get a clean, deterministic cluster.
  rm -rf "$STATE/etcd" "$STATE/kwok-home" "$STATE/certs"
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/kwok-home" "$STATE/certs" "$STATE/bin"
  # Run the cached binaries through links named like the components: `pgrep -a kube-apiserver`
  # finds them, and their command lines name the state dir (see stray_pids).
  ln -sfn "$BIN_etcd" "$STATE/bin/etcd"
  ln -sfn "$BIN_kube_apiserver" "$STATE/bin/kube-apiserver"
  ln -sfn "$BIN_kube_controller_manager" "$STATE/bin/kube-controller-manager"
  ln -sfn "$BIN_kube_scheduler" "$STATE/bin/kube-scheduler"
  ln -sfn "$BIN_kwok" "$STATE/bin/kwok"
  ln -sfn "$BIN_metrics_server" "$STATE/bin/metrics-server"
  local name
  for name in "${COMPONENTS[@]}"; do
    [[ -f "$STATE/logs/$name.log" ]] && mv -f "$STATE/logs/$name.log" "$STATE/logs/$name.previous.log"
  done

  log "starting etcd $ETCD_VERSION on 127.0.0.1:$ETCD_PORT"
  start_component etcd "$STATE/bin/etcd" \
    --name=tidewater \
    --data-dir="$STATE/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="tidewater=http://127.0.0.1:$ETCD_PEER_PORT" \
    --unsafe-no-fsync=true \
    --experimental-watch-progress-notify-interval=5s \
    --quota-backend-bytes=4294967296 \
    --log-level=warn
  wait_for "etcd /health" 60 etcd_healthy

  log "starting kube-apiserver $KUBERNETES_VERSION on https://127.0.0.1:$APISERVER_PORT"
  start_component kube-apiserver "$STATE/bin/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --secure-port="$APISERVER_PORT" \
    --cert-dir="$STATE/certs/kube-apiserver" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --authorization-mode=RBAC \
    --anonymous-auth=true \
    --allow-privileged=true \
    --service-cluster-ip-range=10.96.0.0/16 \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --profiling="${TIDEWATER_APISERVER_PROFILING:-false}" \
    --event-ttl=1h \
    --endpoint-reconciler-type=none \
    --v=1
  wait_for "kube-apiserver /readyz" 120 apiserver_ready

  log "starting kube-controller-manager and kube-scheduler"
  start_component kube-controller-manager "$STATE/bin/kube-controller-manager" \
    --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$KCM_PORT" \
    --cert-dir="$STATE/certs/kube-controller-manager" \
    --leader-elect=false \
    --controllers='*' \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" \
    --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" \
    --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --allocate-node-cidrs=false \
    --horizontal-pod-autoscaler-sync-period=5s \
    --profiling=false \
    --v=1
  start_component kube-scheduler "$STATE/bin/kube-scheduler" \
    --kubeconfig="$STATE/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$SCHEDULER_PORT" \
    --cert-dir="$STATE/certs/kube-scheduler" \
    --leader-elect=false \
    --profiling=false \
    --v=1

  log "starting kwok $KWOK_VERSION"
  # kwok always also loads ~/.kwok/kwok.yaml when it exists: give it a HOME of its own.
  HOME="$STATE/kwok-home" start_component kwok "$STATE/bin/kwok" \
    --kubeconfig="$STATE/kwok.kubeconfig" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 \
    --cidr=10.244.0.1/16 \
    --node-ip=127.0.0.1 \
    --node-port="$KWOK_PORT" \
    --server-address="127.0.0.1:$KWOK_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --config="$HACK/kwok.yaml"

  log "starting metrics-server $METRICS_SERVER_VERSION"
  # metrics-server scrapes kwok's simulated kubelet metrics (every node reports 127.0.0.1 and
  # kwok's port; the node annotation metrics.k8s.io/resource-metrics-path selects the node).
  start_component metrics-server "$STATE/bin/metrics-server" \
    --kubeconfig="$STATE/metrics-server.kubeconfig" \
    --authentication-kubeconfig="$STATE/metrics-server.kubeconfig" \
    --authorization-kubeconfig="$STATE/metrics-server.kubeconfig" \
    --bind-address=127.0.0.1 \
    --secure-port="$METRICS_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" \
    --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-insecure-tls \
    --kubelet-use-node-status-port \
    --kubelet-preferred-address-types=InternalIP \
    --metric-resolution=10s \
    --kubelet-request-timeout=5s \
    --v=1

  wait_for "kube-controller-manager /healthz" 60 kcm_healthy
  wait_for "kube-scheduler /healthz" 60 scheduler_healthy
  wait_for "kwok /healthz" 60 kwok_healthy
  wait_for "metrics-server /livez" 60 metrics_server_healthy

  log "creating fake EKS-like nodes"
  k apply -f "$HACK/nodes.yaml" >/dev/null
  # metrics.k8s.io is served by metrics-server on 127.0.0.1 through the aggregation layer.
  sed "s/@METRICS_PORT@/$METRICS_PORT/" "$HACK/metrics-apiservice.yaml" | k apply -f - >/dev/null
  wait_for "all fake nodes Ready" 120 nodes_ready
  wait_for "ServiceAccount default/default" 60 default_sa_exists
  log "cluster ready in $((SECONDS - t0))s. Use it with:  export KUBECONFIG=$STATE/kubeconfig"
}

cmd_down() {
  lock_state
  load_ports
  if [[ ! -d "$STATE/pids" && -z "$(stray_pids)" ]]; then
    log "cluster is not running"
    return 0
  fi
  stop_all
  rm -f "$STATE/e2e-owned"
  log "cluster stopped (state and logs kept in $STATE)"
}

cmd_status() {
  load_ports
  local name rc=0 state
  printf '%-26s %-8s %-8s %s\n' COMPONENT PID PROCESS HEALTH
  for name in "${COMPONENTS[@]}"; do
    local pid health=-
    pid="$(pid_of "$name")"
    if alive "$name"; then state=running; else state=stopped; rc=1; fi
    case "$name" in
    etcd) etcd_healthy 2>/dev/null && health="ok (127.0.0.1:$ETCD_PORT)" || health="FAIL" ;;
    kube-apiserver) apiserver_ready 2>/dev/null && health="ok (https://127.0.0.1:$APISERVER_PORT)" || health="FAIL" ;;
    kube-controller-manager) kcm_healthy 2>/dev/null && health="ok (:$KCM_PORT)" || health="FAIL" ;;
    kube-scheduler) scheduler_healthy 2>/dev/null && health="ok (:$SCHEDULER_PORT)" || health="FAIL" ;;
    kwok) kwok_healthy 2>/dev/null && health="ok (:$KWOK_PORT)" || health="FAIL" ;;
    metrics-server) metrics_server_healthy 2>/dev/null && health="ok (:$METRICS_PORT)" || health="FAIL" ;;
    esac
    [[ "$state" == stopped ]] && health="-"
    [[ "$health" == FAIL ]] && rc=1
    printf '%-26s %-8s %-8s %s\n' "$name" "${pid:--}" "$state" "$health"
  done
  if [[ $rc == 0 ]]; then
    echo
    k get nodes -L topology.kubernetes.io/zone,kubernetes.io/arch,eks.amazonaws.com/capacityType,eks.amazonaws.com/compute-type 2>&1 || rc=1
    echo
    echo "KUBECONFIG=$STATE/kubeconfig   logs: $STATE/logs/"
  fi
  return $rc
}

cmd_logs() {
  local name
  for name in "${@:-${COMPONENTS[@]}}"; do
    echo "===== $name ($STATE/logs/$name.log)"
    tail -n "${TAIL_LINES:-40}" "$STATE/logs/$name.log" 2>/dev/null || echo "(no log)"
  done
}

component_healthy() { # component
  case "$1" in
  etcd) etcd_healthy ;;
  kube-apiserver) apiserver_ready ;;
  kube-controller-manager) kcm_healthy ;;
  kube-scheduler) scheduler_healthy ;;
  kwok) kwok_healthy ;;
  metrics-server) metrics_server_healthy ;;
  *) return 1 ;;
  esac
}

known_component() {
  [[ " ${COMPONENTS[*]} " == *" $1 "* ]] || die "unknown component '$1' (one of: ${COMPONENTS[*]})"
}

# Stop one component and keep its state; the others keep running.
cmd_kill() { # component [--term]
  local name="$1" signal=KILL pid
  known_component "$name"
  [[ "${2:-}" == --term ]] && signal=TERM
  load_ports
  pid="$(pid_of "$name")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || die "$name is not running"
  kill "-$signal" -- "-$pid" 2>/dev/null || kill "-$signal" "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  log "$name stopped (SIG$signal)"
}

# Start a component stopped by `kill` again, with the command `up` used.
cmd_start() { # component
  local name="$1" args=()
  known_component "$name"
  load_ports
  alive "$name" && die "$name is already running"
  [[ -f "$STATE/cmds/$name" ]] || die "no saved command for $name: was the cluster started by 'up'?"
  mapfile -d '' args <"$STATE/cmds/$name"
  HOME="${args[0]}" start_component "$name" "${args[@]:1}"
  local deadline=$((SECONDS + 120))
  until component_healthy "$name" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$name is not healthy 120s after starting; see $STATE/logs/$name.log"
    alive "$name" || die "$name exited; see $STATE/logs/$name.log"
    sleep 0.2
  done
  log "$name started and healthy"
}

main() {
  case "${1:-}" in
  kill)
    shift
    cmd_kill "$@"
    ;;
  start)
    shift
    cmd_start "$@"
    ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) echo "export KUBECONFIG=$STATE/kubeconfig" ;;
  logs)
    shift
    cmd_logs "$@"
    ;;
  build)
    resolve_binaries
    resolve_helm
    ;;
  helm)
    # Builds helm when it is not cached yet; prints its path.
    resolve_helm
    echo "$BIN_DIR/helm"
    ;;
  *)
    die "usage: $0 up|down|status|env|build|helm|logs|kill COMPONENT|start COMPONENT"
    ;;
  esac
}

# One line: bash has read all of it before running main, so editing this file meanwhile is safe.
main "$@"; exit $?
