#!/usr/bin/env python3
"""Extract the output shapes of the operations `tidewater ecs-api` serves from the botocore ECS
model into api/ecs-output-model.json (compact: type, members, list member, map key/value, enum),
which the response shape checker (src/ecs_api/ops/shape_check.rs) reads.

  hack/ecs_output_model.py MODEL_DIR   # ../shared/ecs-api -> api/ecs-output-model.json
"""
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "api", "ecs-output-model.json")
OPERATIONS = [
    "RegisterTaskDefinition", "DeregisterTaskDefinition", "DescribeTaskDefinition",
    "ListTaskDefinitions", "ListTaskDefinitionFamilies",
    "CreateService", "UpdateService", "DeleteService", "DescribeServices", "ListServices",
    "RunTask", "StopTask", "DescribeTasks", "ListTasks",
    "CreateCluster", "DeleteCluster", "DescribeClusters", "ListClusters",
    "TagResource", "UntagResource", "ListTagsForResource",
]


def main(model_dir):
    model = json.load(open(os.path.join(model_dir, "service-2.json")))
    shapes = model["shapes"]
    outputs = {op: model["operations"][op]["output"]["shape"] for op in OPERATIONS}
    seen = {}

    def walk(name):
        if name in seen:
            return
        s = shapes[name]
        c = {"type": s["type"]}
        seen[name] = c
        if "enum" in s:
            c["enum"] = s["enum"]
        if s["type"] == "structure":
            c["members"] = {k: v["shape"] for k, v in s["members"].items()}
            for v in c["members"].values():
                walk(v)
        elif s["type"] == "list":
            c["member"] = s["member"]["shape"]
            walk(c["member"])
        elif s["type"] == "map":
            c["key"], c["value"] = s["key"]["shape"], s["value"]["shape"]
            walk(c["key"])
            walk(c["value"])

    for shape in outputs.values():
        walk(shape)
    doc = {
        "source": {"apiVersion": model["metadata"]["apiVersion"], "file": "botocore data/ecs/service-2.json"},
        "operations": outputs,
        "shapes": dict(sorted(seen.items())),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {OUT} ({len(seen)} shapes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "ecs-api"))
