#!/usr/bin/env python3
"""Derive Tidewater's ECS artefacts from the AWS API models.

  hack/ecs_model.py extract  MODEL_DIR   # botocore models -> api/ecs-model.json (compact, committed)
  hack/ecs_model.py generate [--check]   # api/ecs-model.json -> src/api/generated/*.rs, api/field-inventory.tsv

`extract` needs the botocore models (../shared/ecs-api); `generate` needs only the committed
compact model, so a fresh clone can regenerate and check everything. The compact model keeps, for
every shape reachable from the request shapes Tidewater accepts, its type, members, required
members, enum values, bounds and the first sentence of its documentation (Apache-2.0, see
api/NOTICE).
"""
import html
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPACT = os.path.join(ROOT, "api", "ecs-model.json")
INVENTORY = os.path.join(ROOT, "api", "field-inventory.tsv")
OUT_DIR = os.path.join(ROOT, "src", "api", "generated")

# The request shapes whose bodies become CRD specs, per model.
ECS_ROOTS = ["RegisterTaskDefinitionRequest", "CreateServiceRequest", "CreateClusterRequest", "RunTaskRequest"]
AAS_ROOTS = ["RegisterScalableTargetRequest", "PutScalingPolicyRequest", "PutScheduledActionRequest"]
# describe-* output shapes: their members that are not request members are tolerated read-only fields.
DESCRIBE = {"TaskDefinition": "RegisterTaskDefinitionRequest", "Service": "CreateServiceRequest"}


def first_sentence(doc):
    text = re.sub(r"<[^>]+>", " ", doc or "")
    text = html.unescape(re.sub(r"\s+", " ", text)).strip()
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    s = m.group(1) if m else text
    if len(s) > 240:
        s = s[:237].rsplit(" ", 1)[0] + "..."
    return s


def reachable(shapes, roots):
    seen, order = set(), []

    def walk(n):
        if n in seen:
            return
        seen.add(n)
        order.append(n)
        s = shapes[n]
        if s["type"] == "structure":
            for v in s["members"].values():
                walk(v["shape"])
        elif s["type"] == "list":
            walk(s["member"]["shape"])
        elif s["type"] == "map":
            walk(s["key"]["shape"])
            walk(s["value"]["shape"])

    for r in roots:
        walk(r)
    return order


def compact_shapes(shapes, names):
    out = {}
    for n in sorted(names):
        s = shapes[n]
        c = {"type": s["type"]}
        for k in ("enum", "min", "max", "required"):
            if k in s:
                c[k] = s[k]
        if s["type"] == "structure":
            c["members"] = {k: {"shape": v["shape"], "doc": first_sentence(v.get("documentation"))}
                            for k, v in s["members"].items()}
            c["doc"] = first_sentence(s.get("documentation"))
        elif s["type"] == "list":
            c["member"] = s["member"]["shape"]
        elif s["type"] == "map":
            c["key"], c["value"] = s["key"]["shape"], s["value"]["shape"]
        out[n] = c
    return out


def extract(model_dir):
    ecs = json.load(open(os.path.join(model_dir, "service-2.json")))
    aas = json.load(open(os.path.join(model_dir, "application-autoscaling-service-2.json")))
    es, ascs = ecs["shapes"], aas["shapes"]
    read_only = {}
    for out_shape, req in DESCRIBE.items():
        req_members = set(es[req]["members"])
        read_only[req] = {k: first_sentence(v.get("documentation"))
                          for k, v in es[out_shape]["members"].items() if k not in req_members}
    doc = {
        "source": {
            "ecs": {"apiVersion": ecs["metadata"]["apiVersion"], "file": "botocore data/ecs/service-2.json"},
            "applicationAutoScaling": {"apiVersion": aas["metadata"]["apiVersion"],
                                       "file": "botocore data/application-autoscaling/service-2.json"},
        },
        "ecsRoots": ECS_ROOTS,
        "autoScalingRoots": AAS_ROOTS,
        "readOnly": read_only,
        "ecs": compact_shapes(es, reachable(es, ECS_ROOTS)),
        "autoScaling": compact_shapes(ascs, reachable(ascs, AAS_ROOTS)),
    }
    os.makedirs(os.path.dirname(COMPACT), exist_ok=True)
    with open(COMPACT, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {COMPACT}")


# ---------------------------------------------------------------------------------------------
# Generation

RUST_KEYWORDS = {"type", "match", "ref", "mod", "use", "self", "loop", "move", "static", "async", "await"}

# Members Tidewater makes optional although the model requires them (defaults documented on the CRD).
OPTIONAL_OVERRIDES = {
    ("RegisterTaskDefinitionRequest", "family"): "defaults to metadata.name",
    ("CreateServiceRequest", "serviceName"): "defaults to metadata.name",
    # Implied by the Service these requests are attached to.
    ("RegisterScalableTargetRequest", "ServiceNamespace"): "implied: ecs",
    ("RegisterScalableTargetRequest", "ResourceId"): "implied: the Service",
    ("RegisterScalableTargetRequest", "ScalableDimension"): "implied: ecs:service:DesiredCount",
    ("PutScalingPolicyRequest", "ServiceNamespace"): "implied: ecs",
    ("PutScalingPolicyRequest", "ResourceId"): "implied: the Service",
    ("PutScalingPolicyRequest", "ScalableDimension"): "implied: ecs:service:DesiredCount",
    ("PutScheduledActionRequest", "ServiceNamespace"): "implied: ecs",
    ("PutScheduledActionRequest", "ResourceId"): "implied: the Service",
    ("PutScheduledActionRequest", "ScalableDimension"): "implied: ecs:service:DesiredCount",
}
# Members the model leaves optional but ECS rejects when absent.
REQUIRED_OVERRIDES = {("ContainerDefinition", "name"), ("ContainerDefinition", "image")}
# Members with a hand-written Rust type (see src/api/quantity.rs).
TYPE_OVERRIDES = {
    ("RegisterTaskDefinitionRequest", "cpu"): "crate::api::quantity::TaskSize",
    ("RegisterTaskDefinitionRequest", "memory"): "crate::api::quantity::TaskSize",
}
# Extra schema bounds: ECS limits that also keep CEL rule costs bounded.
SCHEMA_EXTRAS = {
    ("RegisterTaskDefinitionRequest", "containerDefinitions"): 'extend("maxItems" = 10)',
    ("ContainerDefinition", "name"): 'length(max = 255)',
    ("ContainerDefinition", "dependsOn"): 'extend("maxItems" = 10)',
    ("ContainerDependency", "containerName"): 'length(max = 255)',
    ("ContainerDefinition", "portMappings"): 'extend("maxItems" = 100)',
    ("PortMapping", "containerPortRange"): 'length(max = 11)',
    ("PortMapping", "containerPort"): 'range(min = 0, max = 65535)',
    ("PortMapping", "hostPort"): 'range(min = 0, max = 65535)',
}


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    s = s.replace("-", "_")
    return "r#" + s if s in RUST_KEYWORDS else s


def variant(value):
    parts = re.split(r"[^A-Za-z0-9]+", value)
    out = "".join(p[:1].upper() + p[1:].lower() if p.isupper() or p.islower() else p[:1].upper() + p[1:]
                  for p in parts if p)
    return out if not out[:1].isdigit() else "V" + out


def rust_doc(text, indent):
    text = (text or "").strip()
    lines = []
    for para in text.split("\n"):
        words, line = para.split(), ""
        for w in words:
            if len(line) + len(w) + 1 > 92:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        lines.append(line)
    return "".join(f"{indent}/// {l}".rstrip() + "\n" for l in lines)


class Gen:
    def __init__(self, shapes, roots, label):
        self.shapes, self.roots, self.label = shapes, roots, label

    def rust_type(self, name):
        s = self.shapes[name]
        t = s["type"]
        if t == "structure":
            return name
        if t == "list":
            return f"Vec<{self.rust_type(s['member'])}>"
        if t == "map":
            return f"BTreeMap<{self.rust_type(s['key'])}, {self.rust_type(s['value'])}>"
        if t == "string":
            return name if "enum" in s else "String"
        return {"integer": "i32", "long": "i64", "boolean": "bool", "double": "f64", "float": "f64",
                "timestamp": "String"}[t]

    def emit(self):
        out = [f"// @generated by hack/ecs_model.py from api/ecs-model.json ({self.label}). Do not edit.\n",
               "#![allow(clippy::all)]\n",
               "use schemars::JsonSchema;\nuse serde::{Deserialize, Serialize};\nuse std::collections::BTreeMap;\n"]
        for name in sorted(self.shapes):
            s = self.shapes[name]
            if s["type"] == "structure":
                out.append(self.emit_struct(name, s))
            elif s["type"] == "string" and "enum" in s:
                out.append(self.emit_enum(name, s))
        return "\n".join(out)

    def emit_enum(self, name, s):
        body = f"/// ECS enumeration `{name}`.\n"
        body += "#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]\n"
        body += f"pub enum {name} {{\n"
        for i, v in enumerate(s["enum"]):
            if i == 0:
                body += "    #[default]\n"
            body += f"    #[serde(rename = \"{v}\")]\n    {variant(v)},\n"
        body += "}\n\n"
        body += f"impl {name} {{\n    /// The value as ECS spells it.\n    pub fn as_str(&self) -> &'static str {{\n        match self {{\n"
        for v in s["enum"]:
            body += f"            Self::{variant(v)} => \"{v}\",\n"
        body += "        }\n    }\n}\n"
        return body

    def emit_struct(self, name, s):
        doc = s.get("doc") or f"ECS shape `{name}`."
        body = rust_doc(doc, "")
        body += "#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]\n"
        body += f"pub struct {name} {{\n"
        required = set(s.get("required", []))
        for m, spec in s["members"].items():
            ty = TYPE_OVERRIDES.get((name, m)) or self.rust_type(spec["shape"])
            req = (m in required or (name, m) in REQUIRED_OVERRIDES) and (name, m) not in OPTIONAL_OVERRIDES
            mdoc = spec["doc"] or f"ECS `{m}`."
            if (name, m) in OPTIONAL_OVERRIDES:
                mdoc += f" Optional in Tidewater: {OPTIONAL_OVERRIDES[(name, m)]}."
            body += rust_doc(mdoc, "    ")
            attrs = [f'rename = "{m}"']
            if not req:
                attrs.append('default, skip_serializing_if = "Option::is_none"')
            body += f"    #[serde({', '.join(attrs)})]\n"
            if (name, m) in SCHEMA_EXTRAS:
                body += f"    #[schemars({SCHEMA_EXTRAS[(name, m)]})]\n"
            field_ty = ty if req else f"Option<{ty}>"
            body += f"    pub {snake(m)}: {field_ty},\n"
        body += "}\n"
        return body

    def leaves(self, name, path, stack, out):
        s = self.shapes[name]
        t = s["type"]
        if t == "structure":
            if name in stack:
                out.append((path, "recursive"))
                return
            for m, spec in s["members"].items():
                self.leaves(spec["shape"], f"{path}.{m}" if path else m, stack | {name}, out)
        elif t == "list":
            self.leaves(s["member"], path + "[]", stack, out)
        elif t == "map":
            out.append((path + "{}", "map"))
        else:
            out.append((path, "enum" if "enum" in s else t))


def emit_read_only(read_only):
    out = ["// @generated by hack/ecs_model.py from api/ecs-model.json. Do not edit.\n",
           "//! Read-only members of describe-* output, accepted in specs so pasted output applies, and ignored.\n",
           "use schemars::JsonSchema;\nuse serde::{Deserialize, Serialize};\n"]
    for req, members in sorted(read_only.items()):
        name = req.removesuffix("Request") + "ReadOnly"
        out.append(f"/// Read-only members of the describe-* output for `{req.removesuffix('Request')}`: tolerated, ignored.\n"
                   "#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]\n"
                   f"pub struct {name} {{\n")
        for m, doc in sorted(members.items()):
            out.append(rust_doc(f"{doc} Read-only (describe output): accepted and ignored.", "    "))
            out.append(f'    #[serde(rename = "{m}", default, skip_serializing_if = "Option::is_none")]\n'
                       '    #[schemars(schema_with = "crate::api::any_value")]\n'
                       f"    pub {snake(m)}: Option<serde_json::Value>,\n")
        out.append("}\n")
    return "\n".join(out)


def rustfmt(text):
    import subprocess
    return subprocess.run(["rustfmt", "--edition", "2024", "--emit", "stdout"], input=text, text=True,
                          capture_output=True, check=True).stdout


def generate(check):
    model = json.load(open(COMPACT))
    files = {}
    ecs = Gen(model["ecs"], model["ecsRoots"], "Amazon ECS " + model["source"]["ecs"]["apiVersion"])
    aas = Gen(model["autoScaling"], model["autoScalingRoots"],
              "Application Auto Scaling " + model["source"]["applicationAutoScaling"]["apiVersion"])
    files[os.path.join(OUT_DIR, "ecs.rs")] = rustfmt(ecs.emit())
    files[os.path.join(OUT_DIR, "autoscaling.rs")] = rustfmt(aas.emit())
    files[os.path.join(OUT_DIR, "read_only.rs")] = rustfmt(emit_read_only(model["readOnly"]))
    inv = ["# Leaf input fields of the ECS and Application Auto Scaling requests Tidewater accepts.\n",
           "# @generated by hack/ecs_model.py from api/ecs-model.json. Columns: request, path, type.\n"]
    for g in (ecs, aas):
        for r in g.roots:
            rows = []
            g.leaves(r, "", set(), rows)
            inv += [f"{r.removesuffix('Request')}\t{p}\t{t}\n" for p, t in rows]
    files[INVENTORY] = "".join(inv)
    stale = []
    for path, text in files.items():
        old = open(path).read() if os.path.exists(path) else None
        if old != text:
            stale.append(os.path.relpath(path, ROOT))
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text)
    if check and stale:
        sys.exit("generated files are stale (run `make generate`): " + ", ".join(stale))
    if not check:
        print("generated:", ", ".join(stale) if stale else "nothing changed")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "extract":
        extract(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "..", "shared", "ecs-api"))
    elif len(sys.argv) >= 2 and sys.argv[1] == "generate":
        generate("--check" in sys.argv)
    else:
        sys.exit(__doc__)
