#!/usr/bin/env python3
"""Operator benchmark on the local control plane (`make bench-operator`; never part of `make test`).

For each N (default 100 1000 3000) it creates N Services of one shape — a TaskDefinition and a
Service with a target group and target-tracking autoscaling, desiredCount 1 — and measures, in one
run:

  (a) floor      the objects `tidewater render` produces for them, written directly to the
                 apiserver by 8 parallel `kubectl create` clients;
  (b) children   the operator, from the first create of a custom resource until every child
                 object (the same kinds and counts as the floor) exists;
  (c) running    until every Service reports runningCount = desiredCount;
  (d) RSS        of the operator: peak (VmHWM) and settled (VmRSS after convergence);
  (e) requests   the operator's own API requests by verb and its reconciles by kind;
  (f) resync     write requests made by the operator over one forced resync after convergence
                 (must be 0),

then prints them with the ratios. With --profile DIR it also records the operator's CPU profile
over the convergence (`perf record`, flat, into DIR/perf-N.data, top symbols printed) and
estimates what its caches hold: objects and JSON bytes (without managedFields) per watched kind. Needs the local control plane (hack/cluster.sh up) with the
CRDs installed (hack/e2e.sh does it; so does `make bench-operator`) and a release build of
tidewater. Python 3 standard library only. Every namespace it makes is deleted at the end
(unless --keep).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 8
WRITE_VERBS = ("create", "patch", "patch_status", "replace", "delete", "event")
# More arguments for `tidewater run` (experiments: `--max-requests-in-flight 8`).
OPERATOR_ARGS = os.environ.get("BENCH_OPERATOR_ARGS", "").split()
# A directory for CPU profiles of the API server during each phase (diagnostics; the cluster must
# run with TIDEWATER_APISERVER_PROFILING=true).
APISERVER_PROFILE = Path(os.environ["BENCH_APISERVER_PROFILE"]) if os.environ.get("BENCH_APISERVER_PROFILE") else None


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def kubectl(*args: str, stdin: str | None = None, check: bool = True) -> str:
    p = subprocess.run(["kubectl", *args], input=stdin, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def manifests(n: int) -> list[dict]:
    """N task definitions and N services of the benchmark shape."""
    out = []
    for i in range(n):
        name = f"svc-{i:05d}"
        out.append({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": name},
            "spec": {
                "family": name,
                "networkMode": "awsvpc",
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512",
                "containerDefinitions": [{
                    "name": "app",
                    "image": "public.ecr.aws/nginx/nginx:1.27",
                    "essential": True,
                    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                }],
            },
        })
        out.append({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {
                "serviceName": name,
                "taskDefinition": name,
                "desiredCount": 1,
                "loadBalancers": [{
                    "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                                      f"targetgroup/{name}/0123456789abcdef",
                    "containerName": "app",
                    "containerPort": 8080,
                }],
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
                "autoScaling": {
                    "scalableTarget": {"MinCapacity": 1, "MaxCapacity": 4},
                    "scalingPolicies": [{
                        "PolicyName": "cpu",
                        "PolicyType": "TargetTrackingScaling",
                        "TargetTrackingScalingPolicyConfiguration": {
                            "TargetValue": 60,
                            "PredefinedMetricSpecification": {
                                "PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
                        },
                    }],
                },
            },
        })
    return out


def chunks(items: list, k: int) -> list[list]:
    return [items[i::k] for i in range(k) if items[i::k]]


def create_parallel(items: list[dict], ns: str, tmp: Path, tag: str) -> float:
    """`kubectl create` of the items by CLIENTS parallel clients; returns the wall time."""
    files = []
    for i, part in enumerate(chunks(items, CLIENTS)):
        f = tmp / f"{tag}-{i}.json"
        f.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": part}))
        files.append(f)
    t0 = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for r in pool.map(lambda f: kubectl("create", "-n", ns, "-f", str(f), "-o", "name"), files):
            pass
    return time.monotonic() - t0


def render(binary: str, src: Path, ns: str) -> list[dict]:
    p = subprocess.run([binary, "render", "-f", str(src), "-o", "json", "-n", ns],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"render failed: {p.stderr[-2000:]}")
    return json.loads(p.stdout)["items"]


PLURALS = {"Service": "services", "Deployment": "deployments", "ServiceAccount": "serviceaccounts",
           "HorizontalPodAutoscaler": "horizontalpodautoscalers",
           "TargetGroupBinding": "targetgroupbindings", "PodDisruptionBudget": "poddisruptionbudgets",
           "ScaledObject": "scaledobjects", "ExternalSecret": "externalsecrets",
           "Ingress": "ingresses", "PodTemplate": "podtemplates"}


def resource_name(kind: str, api_version: str) -> str:
    group = api_version.split("/")[0] if "/" in api_version else ""
    plural = PLURALS.get(kind, kind.lower() + "s")
    return f"{plural}.{group}" if group else plural


class Api:
    """The measurements' client of the API server (kubeconfig credentials, one kept-alive
    connection per thread). Every poll is a LIST served from the API server's watch cache
    (`resourceVersion=0`), metadata only where counts suffice: polling with `kubectl get`
    (a process per kind per poll, each a quorum read of whole objects from etcd) cost about a
    core on this 2-core machine while the operator's phase was measured, and nothing while the
    floor's was."""

    def __init__(self, tmp: Path):
        cfg = json.loads(kubectl("config", "view", "--raw", "--minify", "-o", "json"))
        cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
        url = urllib.parse.urlparse(cluster["server"])
        self.host, self.port = url.hostname, url.port or 443
        ca = cluster.get("certificate-authority-data")
        self.ctx = ssl.create_default_context(
            cadata=base64.b64decode(ca).decode() if ca else None,
            cafile=cluster.get("certificate-authority"))
        self.headers = {}
        if "client-certificate-data" in user:
            cert, key = tmp / "client.crt", tmp / "client.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            key.chmod(0o600)
            self.ctx.load_cert_chain(str(cert), str(key))
        elif "client-certificate" in user:
            self.ctx.load_cert_chain(user["client-certificate"], user["client-key"])
        if "token" in user:
            self.headers["Authorization"] = f"Bearer {user['token']}"
        self.local = threading.local()

    def list(self, path: str, selector: str | None = None, metadata_only: bool = False) -> list[dict]:
        query = {"resourceVersion": "0"}
        if selector:
            query["labelSelector"] = selector
        headers = dict(self.headers)
        if metadata_only:
            headers["Accept"] = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
        return json.loads(self.get(f"{path}?{urllib.parse.urlencode(query)}", headers)).get("items") or []

    def get(self, path: str, headers: dict | None = None) -> bytes:
        headers = headers or dict(self.headers)
        for attempt in range(3):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPSConnection(
                    self.host, self.port, context=self.ctx, timeout=60)
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status != 200:
                raise RuntimeError(f"GET {path}: {resp.status} {body[:300]!r}")
            return body
        return b""

    def request_seconds(self) -> dict[str, float]:
        """The API server's request time so far (sum of durations, with queueing and storage)
        by verb and resource, without long-running verbs."""
        out: dict[str, float] = {}
        for line in self.get("/metrics").decode().splitlines():
            if not line.startswith("apiserver_request_duration_seconds_sum{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
            if labels.get("verb") in ("WATCH", "CONNECT") or not labels.get("resource"):
                continue
            sub = f"/{labels['subresource']}" if labels.get("subresource") else ""
            group = f".{labels['group']}" if labels.get("group") else ""
            key = f"{labels['verb']} {labels['resource']}{group}{sub}"
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        return out


def apiserver_profile(api: Api, path: Path | None, seconds: int) -> threading.Thread | None:
    """A CPU profile of the API server over the next `seconds` (needs the cluster started with
    TIDEWATER_APISERVER_PROFILING=true), written to `path` in the background."""
    if path is None:
        return None

    def run():
        try:
            path.write_bytes(api.get(f"/debug/pprof/profile?seconds={seconds}"))
        except Exception as e:  # noqa: BLE001 - a diagnostic only
            log(f"no API server profile: {e}")
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def seconds_since(api: Api, before: dict[str, float]) -> dict[str, float]:
    after = api.request_seconds()
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0.05}


def resource_path(api_version: str, kind: str, ns: str) -> str:
    base = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    return f"{base}/namespaces/{ns}/{PLURALS.get(kind, kind.lower() + 's')}"


def count_children(api: Api, ns: str, expected: Counter, kinds: dict[str, tuple[str, str]]) -> Counter:
    have = Counter()
    for res in expected:
        api_version, kind = kinds[res]
        items = api.list(resource_path(api_version, kind, ns),
                         "app.kubernetes.io/managed-by=tidewater", metadata_only=True)
        have[res] = len(items)
    return have


def field(obj: dict, dotted: str):
    for part in dotted.strip(".").split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def counts_equal(api: Api, path: str, have: str, want: str) -> tuple[int, int]:
    """Objects at `path` whose field `have` equals `want` (dotted fields), and all."""
    items = api.list(path)
    ok = sum(1 for o in items if field(o, have) is not None and field(o, have) == field(o, want))
    return ok, len(items)


def services_running(api: Api, ns: str) -> tuple[int, int]:
    return counts_equal(api, f"/apis/ecs.tidewater.dev/v1alpha1/namespaces/{ns}/services",
                        ".status.runningCount", ".spec.desiredCount")


def services_ready(api: Api, ns: str) -> tuple[int, int]:
    """Services whose Ready condition is True (steady state: the deployment COMPLETED)."""
    items = api.list(f"/apis/ecs.tidewater.dev/v1alpha1/namespaces/{ns}/services")
    ready = sum(1 for o in items
                if any(c.get("type") == "Ready" and c.get("status") == "True"
                       for c in (o.get("status") or {}).get("conditions") or []))
    return ready, len(items)


def deployments_available(api: Api, ns: str) -> tuple[int, int]:
    return counts_equal(api, f"/apis/apps/v1/namespaces/{ns}/deployments",
                        ".status.availableReplicas", ".spec.replicas")


class Operator:
    def __init__(self, binary: str, ns: str, resync: int, tmp: Path):
        self.log = tmp / f"operator-{ns}.log"
        self.proc = subprocess.Popen(
            [binary, "run", "--namespace", ns, "--http-addr", "127.0.0.1:0",
             "--leader-election-namespace", ns, "--log-format", "json",
             "--resync-seconds", str(resync), *OPERATOR_ARGS],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
            env={**os.environ, "RUST_LOG": "info"})
        self.addr = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.addr is None:
            m = re.search(r"(127\.0\.0\.1:\d+)", self.log.read_text())
            if m:
                self.addr = m.group(1)
            time.sleep(0.2)
        if self.addr is None:
            raise RuntimeError(f"operator did not log its address: {self.log}")
        self.peak_sampled = 0
        self._stop = False
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        while not self._stop:
            self.peak_sampled = max(self.peak_sampled, self.rss_kib("VmRSS"))
            time.sleep(0.5)

    def rss_kib(self, field: str) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def cpu_s(self) -> float:
        """User and system CPU seconds the operator has used."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"http://{self.addr}/metrics", timeout=10).read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.rpartition(" ")
            try:
                out[key] = float(value)
            except ValueError:
                pass
        return out

    def wait_leading(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"http://{self.addr}/readyz", timeout=5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("operator never became ready")

    def stop(self) -> None:
        self._stop = True
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# The kinds the operator caches for the benchmark shape (label selector as in controller/mod.rs).
CACHED = {
    "taskdefinitions.ecs.tidewater.dev": None,
    "services.ecs.tidewater.dev": None,
    "controllerrevisions.apps": "ecs.tidewater.dev/task-definition",
    "pods": "app.kubernetes.io/managed-by=tidewater",
    "deployments.apps": "app.kubernetes.io/managed-by=tidewater",
    "services": "app.kubernetes.io/managed-by=tidewater",
    "serviceaccounts": "app.kubernetes.io/managed-by=tidewater",
    "horizontalpodautoscalers.autoscaling": "app.kubernetes.io/managed-by=tidewater",
    "poddisruptionbudgets.policy": "app.kubernetes.io/managed-by=tidewater",
    "targetgroupbindings.elbv2.k8s.aws": "app.kubernetes.io/managed-by=tidewater",
}


def cache_estimate(ns: str) -> dict[str, tuple[int, int]]:
    """Objects and JSON bytes (managedFields and last-applied dropped) per cached kind."""
    out = {}
    for res, selector in CACHED.items():
        args = ["get", res, "-n", ns, "-o", "json"] + (["-l", selector] if selector else [])
        items = json.loads(kubectl(*args, check=False) or '{"items": []}')["items"]
        size = 0
        for o in items:
            o["metadata"].pop("managedFields", None)
            (o["metadata"].get("annotations") or {}).pop(
                "kubectl.kubernetes.io/last-applied-configuration", None)
            size += len(json.dumps(o, separators=(",", ":")))
        out[res] = (len(items), size)
    return out


class Profiler:
    """`perf record` of a running process (flat profile: release builds have no frame pointers)."""

    def __init__(self, pid: int, path: Path):
        self.path = path
        self.proc = subprocess.Popen(["perf", "record", "-F", "499", "-p", str(pid), "-o", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, top: int = 40) -> str:
        self.proc.send_signal(2)
        self.proc.wait(30)
        p = subprocess.run(["perf", "report", "-i", str(self.path), "--stdio", "--no-children",
                            "--sort", "symbol", "--percent-limit", "0.7"],
                           capture_output=True, text=True)
        lines = [l for l in p.stdout.splitlines() if l.strip() and not l.startswith("#")]
        return "\n".join(lines[:top])


def by_label(m: dict[str, float], name: str, label: str) -> dict[str, float]:
    out = {}
    for k, v in m.items():
        mm = re.fullmatch(rf'{name}\{{{label}="([^"]+)"\}}', k)
        if mm:
            out[mm.group(1)] = v
    return out


def machine_cpu() -> tuple[float, float]:
    """Busy and total CPU seconds of the machine so far (/proc/stat, all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, sum(fields) / tick


COMPONENTS = ("kube-apiserver", "etcd", "kube-controller", "kube-scheduler", "kwok",
              "metrics-server", "tidewater")


def components_cpu() -> dict[str, float]:
    """CPU seconds so far of each control-plane component (by process name, /proc/<pid>/stat),
    and of this script with the kubectl processes it waited for."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        if name in COMPONENTS:
            f = text[text.rindex(")") + 2:].split()
            out[name] = out.get(name, 0.0) + (int(f[11]) + int(f[12])) / tick
    t = os.times()
    out["bench+kubectl"] = t.user + t.system + t.children_user + t.children_system
    return out


def cpu_since(before: dict[str, float]) -> dict[str, float]:
    now = components_cpu()
    return {k: v - before.get(k, 0.0) for k, v in now.items()}


def busy_since(start: tuple[float, float]) -> float:
    """The machine's busy fraction since `start` (a `machine_cpu()` reading)."""
    busy, total = machine_cpu()
    return (busy - start[0]) / max(total - start[1], 1e-9)


def wait_until(what: str, timeout: float, check, every: float = 0.5) -> float:
    """Poll `check` every `every` seconds (each poll LISTs a kind: at thousands of objects, poll
    less often, or the bench's own LISTs load the API server it measures)."""
    t0 = time.monotonic()
    while True:
        done, detail = check()
        if done:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"timed out waiting for {what}: {detail}")
        time.sleep(every)


def capacity_node(name: str, pods: int) -> dict:
    """A fake Fargate node (kwok) with room for `pods` benchmark pods: the local cluster's two
    Fargate nodes take 110 pods each, and the floor's pods and the operator's both need places."""
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "eks.amazonaws.com/compute-type": "fargate", "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
                "tidewater.dev/fake-node": "true", "type": "kwok",
                "topology.kubernetes.io/region": "us-east-1",
                "topology.kubernetes.io/zone": "us-east-1a",
            },
        },
        "spec": {"taints": [{"effect": "NoSchedule", "key": "eks.amazonaws.com/compute-type",
                             "value": "fargate"}]},
        "status": {
            "allocatable": {"cpu": str(pods), "memory": f"{pods}Gi", "pods": str(pods)},
            "capacity": {"cpu": str(pods), "memory": f"{pods}Gi", "pods": str(pods)},
        },
    }


def bench(n: int, binary: str, resync: int, keep: bool, profile: Path | None = None,
          floor: bool = True) -> dict:
    suffix = f"{n}-{int(time.time()) % 100000}"
    ns_floor, ns_op = f"bench-floor-{suffix}", f"bench-op-{suffix}"
    poll = max(0.5, n / 1000)
    res: dict = {"n": n}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        items = manifests(n)
        # render reads multi-document YAML (JSON is YAML): one document per resource.
        src = tmp / "input.yaml"
        src.write_text("\n---\n".join(json.dumps(i) for i in items))
        rendered = render(binary, src, ns_floor)
        expected = Counter(resource_name(o["kind"], o["apiVersion"]) for o in rendered)
        kinds = {resource_name(o["kind"], o["apiVersion"]): (o["apiVersion"], o["kind"])
                 for o in rendered}
        api = Api(tmp)
        res["children"] = dict(expected)
        for ns in (ns_floor, ns_op):
            kubectl("create", "namespace", ns)
        node = f"bench-fargate-{suffix}"
        kubectl("create", "-f", "-", stdin=json.dumps(capacity_node(node, 2 * n + 100)))
        try:
            log(f"N={n}: floor: {len(rendered)} rendered objects, {CLIENTS} clients")
            t0, cpu0, api0 = time.monotonic(), machine_cpu(), api.request_seconds()
            parts0 = components_cpu()
            apiserver_profile(api, APISERVER_PROFILE and APISERVER_PROFILE / f"floor-{n}.pprof", 15)
            res["floor_s"] = create_parallel(rendered, ns_floor, tmp, "floor") if floor else 0.0
            res["floor_busy"] = busy_since(cpu0)
            res["floor_cpu"] = cpu_since(parts0)
            res["floor_api_s"] = seconds_since(api, api0)
            if floor:
                # The floor's pods start before the operator's phase, so that the two phases
                # do not share the cluster (the operator's would otherwise also pay for the
                # controller-manager's work on the floor's Deployments).
                def floor_running():
                    ok, total = deployments_available(api, ns_floor)
                    return ok == n and total == n, f"{ok}/{total}"
                wait_until("the floor's Deployments available", 1800, floor_running, poll)
                res["floor_running_s"] = time.monotonic() - t0
            if floor:
                # The operator's phase includes writing the custom resources themselves: the
                # same client writes them here with no operator watching, to tell that part
                # from the operator's own work.
                ns_crs = f"bench-crs-{suffix}"
                kubectl("create", "namespace", ns_crs)
                cpu_crs = components_cpu()
                res["crs_s"] = create_parallel(items, ns_crs, tmp, "crs-only")
                res["crs_cpu"] = cpu_since(cpu_crs)
                # Gone before the operator's phase, so that their deletion does not load it.
                kubectl("delete", "namespace", ns_crs, "--timeout=300s", check=False)
            op = Operator(binary, ns_op, resync, tmp)
            try:
                op.wait_leading()
                log(f"N={n}: operator: creating {len(items)} custom resources")
                prof = Profiler(op.proc.pid, profile / f"perf-{n}.data") if profile else None
                t0, cpu0, op_cpu0 = time.monotonic(), machine_cpu(), op.cpu_s()
                api0 = api.request_seconds()
                parts0 = components_cpu()
                apiserver_profile(api, APISERVER_PROFILE and APISERVER_PROFILE / f"operator-{n}.pprof", 45)
                res["create_s"] = create_parallel(items, ns_op, tmp, "cr")

                def children_ready():
                    have = count_children(api, ns_op, expected, kinds)
                    return have == expected, dict(have)
                wait_until("every child", 1800, children_ready, poll)
                res["children_s"] = time.monotonic() - t0
                res["children_busy"] = busy_since(cpu0)
                res["children_cpu"] = cpu_since(parts0)
                res["children_api_s"] = seconds_since(api, api0)
                res["op_cpu_children_s"] = op.cpu_s() - op_cpu0

                def running():
                    ok, total = services_running(api, ns_op)
                    return ok == n and total == n, f"{ok}/{total}"
                wait_until("runningCount = desiredCount", 1800, running, poll)
                res["running_s"] = time.monotonic() - t0

                def steady():
                    ok, total = services_ready(api, ns_op)
                    return ok == n and total == n, f"{ok}/{total}"
                # The resync window starts once every Service is steady (Ready): completing a
                # deployment after its tasks run is a change, written as such.
                wait_until("every Service Ready", 1800, steady, poll)
                res["steady_s"] = time.monotonic() - t0
                res["op_cpu_steady_s"] = op.cpu_s() - op_cpu0
                if prof:
                    res["profile"] = prof.stop()
                    res["caches"] = cache_estimate(ns_op)
                time.sleep(5)
                res["rss_peak_mib"] = max(op.rss_kib("VmHWM"), op.peak_sampled) / 1024
                res["rss_settled_mib"] = op.rss_kib("VmRSS") / 1024
                m = op.metrics()
                res["requests"] = by_label(m, "tidewater_api_requests_total", "verb")
                res["reconciles"] = by_label(m, "tidewater_reconciles_total", "kind")
                writes_before = sum(res["requests"].get(v, 0) for v in WRITE_VERBS)
                svc_reconciles_before = res["reconciles"].get("Service", 0)
                log(f"N={n}: converged; waiting {resync * 2 + 5}s for a forced resync")
                time.sleep(resync * 2 + 5)
                m = op.metrics()
                after = by_label(m, "tidewater_api_requests_total", "verb")
                res["resync_writes"] = sum(after.get(v, 0) for v in WRITE_VERBS) - writes_before
                res["resync_by_verb"] = {v: after.get(v, 0) - res["requests"].get(v, 0)
                                         for v in after if after.get(v, 0) != res["requests"].get(v, 0)}
                res["resync_service_reconciles"] = (
                    by_label(m, "tidewater_reconciles_total", "kind").get("Service", 0)
                    - svc_reconciles_before)
            finally:
                op.stop()
        finally:
            if not keep:
                for ns in (ns_floor, ns_op):
                    kubectl("delete", "namespace", ns, "--wait=false", check=False)
                kubectl("delete", "node", node, "--wait=false", check=False)
    return res


def report(results: list[dict]) -> None:
    print()
    print("running (c): in brackets, the floor's Deployments all available (from its first create), "
          "and every Service Ready")
    print("| N | floor (a) | children (b) | b/a | running (c) | RSS peak | RSS settled "
          "| reconciles/Service | GETs/Service | writes/Service | resync writes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        n = r["n"]
        req = r["requests"]
        writes = sum(req.get(v, 0) for v in WRITE_VERBS)
        print(f"| {n} | {r['floor_s']:.1f} s | {r['children_s']:.1f} s "
              f"| {r['children_s'] / r['floor_s'] if r['floor_s'] else 0:.2f} | {r['running_s']:.1f} s "
              f"({r.get('floor_running_s', 0):.1f} s; steady {r.get('steady_s', 0):.1f} s) "
              f"| {r['rss_peak_mib']:.1f} MiB | {r['rss_settled_mib']:.1f} MiB "
              f"| {r['reconciles'].get('Service', 0) / n:.1f} | {req.get('get', 0) / n:.1f} "
              f"| {writes / n:.1f} | {r['resync_writes']:.0f} |")
    print()
    for r in results:
        print(f"N={r['n']}: children per kind {r['children']}; requests by verb "
              f"{ {k: int(v) for k, v in sorted(r['requests'].items())} }; reconciles by kind "
              f"{ {k: int(v) for k, v in sorted(r['reconciles'].items())} }; "
              f"Service reconciles during the resync window {r['resync_service_reconciles']:.0f}, "
              f"requests then by verb { {k: int(v) for k, v in sorted(r['resync_by_verb'].items())} }")
        print(f"N={r['n']}: machine busy {r.get('floor_busy', 0):.0%} of {os.cpu_count()} cores "
              f"during the floor's creates, {r['children_busy']:.0%} until every child; operator CPU "
              f"{r['op_cpu_children_s']:.1f} s until every child, {r['op_cpu_steady_s']:.1f} s until "
              f"every Service Ready")
        if r.get("crs_s"):
            both = r["floor_s"] + r["crs_s"]
            print(f"N={r['n']}: the {2 * r['n']} custom resources alone, written by the same client "
                  f"with no operator: {r['crs_s']:.1f} s; floor with them {both:.1f} s, children (b) "
                  f"{r['children_s'] / both:.2f}x that")
        for phase, what in (("floor_cpu", "the floor's creates"),
                            ("crs_cpu", "the custom resources alone"),
                            ("children_cpu", "the operator until every child")):
            if sum(r.get(phase, {}).values()) > 0.5:
                parts = sorted(r[phase].items(), key=lambda kv: -kv[1])
                print(f"N={r['n']}: CPU seconds during {what}: {sum(r[phase].values()):.1f} in all; "
                      + ", ".join(f"{k} {v:.1f}" for k, v in parts))
        for phase in ("floor_api_s", "children_api_s"):
            top = sorted(r.get(phase, {}).items(), key=lambda kv: -kv[1])[:12]
            if top:
                print(f"N={r['n']}: API server request seconds during the "
                      f"{'floor' if phase == 'floor_api_s' else 'operator until every child'}: "
                      f"{sum(r[phase].values()):.0f} s in all; "
                      + ", ".join(f"{k} {v:.1f}" for k, v in top))
        if "caches" in r:
            total = sum(b for _, b in r["caches"].values())
            print(f"N={r['n']}: cached objects (JSON bytes without managedFields), "
                  f"{total / 2**20:.1f} MiB in all:")
            for res, (count, size) in r["caches"].items():
                print(f"  {res}: {count} objects, {size / 2**20:.2f} MiB")
        if "profile" in r:
            print(f"N={r['n']}: operator CPU profile (perf, flat, convergence):\n{r['profile']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--services", "-n", type=int, nargs="+", default=[100, 1000, 3000])
    ap.add_argument("--binary", default=os.environ.get(
        "TIDEWATER_BIN", str(Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
                             / "release" / "tidewater")))
    ap.add_argument("--resync-seconds", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the namespaces")
    ap.add_argument("--profile", type=Path, help="record a CPU profile and cache sizes into DIR")
    ap.add_argument("--no-floor", action="store_true",
                    help="skip the floor (a): only the operator's figures (quicker experiments)")
    args = ap.parse_args()
    if not Path(args.binary).exists():
        log(f"no tidewater binary at {args.binary} (cargo build --release)")
        return 1
    results = []
    for n in args.services:
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        results.append(bench(n, args.binary, args.resync_seconds, args.keep, args.profile,
                             floor=not args.no_floor))
        report(results[-1:])
    if len(results) > 1:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
