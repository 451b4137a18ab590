#!/usr/bin/env python3
"""API server CPU per TaskDefinition write, with the CRD's CEL rules and without them.

A diagnostic for issue 12 (never part of `make test`): the operator's phase of
`make bench-operator` is bound by the API server's CPU, and each write of a TaskDefinition
(the create, every status write) evaluates every `x-kubernetes-validations` rule of the whole
object. This script, on the local control plane (`hack/cluster.sh up`, KUBECONFIG set):
creates N TaskDefinitions of the benchmark's shape with 8 clients, then writes their status
3 times each from one client, and prints the API server's CPU milliseconds per write (its
/proc CPU time); then again with the CRD's rules removed; then puts the generated CRD back.

    python3 hack/bench-crd-cel.py [N]
"""
import copy
import http.client
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRD = ROOT / "crds" / "taskdefinitions.ecs.tidewater.dev.yaml"

spec = importlib.util.spec_from_file_location("bench", ROOT / "hack" / "bench-operator.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def without_rules(doc):
    """`doc` with every `x-kubernetes-validations` removed."""
    if isinstance(doc, dict):
        return {k: without_rules(v) for k, v in doc.items() if k != "x-kubernetes-validations"}
    if isinstance(doc, list):
        return [without_rules(v) for v in doc]
    return doc


def apiserver_cpu() -> float:
    return bench.components_cpu().get("kube-apiserver", 0.0)


def measure(api, tmp: Path, ns: str, n: int) -> str:
    items = [i for i in bench.manifests(n) if i["kind"] == "TaskDefinition"]
    bench.kubectl("create", "namespace", ns)
    try:
        c0 = apiserver_cpu()
        bench.create_parallel(items, ns, tmp, ns)
        c1 = apiserver_cpu()
        conn = http.client.HTTPSConnection(api.host, api.port, context=api.ctx)
        headers = {**api.headers, "Content-Type": "application/merge-patch+json"}
        for rnd in range(3):
            for item in items:
                path = (f"/apis/ecs.tidewater.dev/v1alpha1/namespaces/{ns}/taskdefinitions/"
                        f"{item['metadata']['name']}/status")
                body = json.dumps({"status": {"revision": rnd + 1, "status": "ACTIVE"}})
                conn.request("PATCH", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"PATCH {path}: {resp.status}")
        c2 = apiserver_cpu()
    finally:
        bench.kubectl("delete", "namespace", ns, "--wait=false", check=False)
    return (f"{1000 * (c1 - c0) / n:.1f} ms per create, "
            f"{1000 * (c2 - c1) / (3 * n):.1f} ms per status write")


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    tmp = Path(tempfile.mkdtemp())
    api = bench.Api(tmp)
    crd = json.loads(bench.kubectl("create", "--dry-run=client", "-o", "json", "-f", str(CRD)))
    stamp = int(time.time()) % 100000
    try:
        with_cel = measure(api, tmp, f"cel-on-{stamp}", n)
        stripped = without_rules(copy.deepcopy(crd))
        bench.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-",
                      stdin=json.dumps(stripped))
        time.sleep(5)
        without = measure(api, tmp, f"cel-off-{stamp}", n)
    finally:
        bench.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD))
    print(f"TaskDefinition writes, API server CPU (N={n}):")
    print(f"  with the CRD's CEL rules:    {with_cel}")
    print(f"  without them:                {without}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
