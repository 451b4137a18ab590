//! Custom resource types of `ecs.tidewater.dev/v1alpha1`.
//!
//! Each spec is the body of the ECS API request it stands for (same field names, casing and JSON
//! shapes), generated from the ECS API model into [`generated`], plus a few documented
//! extensions for what ECS keeps in other AWS APIs.

pub mod cluster;
pub mod common;
pub mod generated;
pub mod quantity;
pub mod rules;
pub mod scheduled_task;
pub mod service;
pub mod task;
pub mod task_definition;

pub use cluster::{Cluster, ClusterSpec};
pub use generated::ecs;
pub use scheduled_task::{ScheduledTask, ScheduledTaskSpec};
pub use service::{Service, ServiceSpec};
pub use task::{Task, TaskSpec};
pub use task_definition::{TaskDefinition, TaskDefinitionSpec};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// API group of every Tidewater kind.
pub const GROUP: &str = "ecs.tidewater.dev";
/// API version of every Tidewater kind.
pub const VERSION: &str = "v1alpha1";

/// Schema for a member that holds any JSON (read-only describe output, free-form maps).
pub fn any_value(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "x-kubernetes-preserve-unknown-fields": true })
}

/// The CRDs as one YAML stream, as committed under `crds/`.
pub fn crd_yaml() -> String {
    crds()
        .iter()
        .map(|c| {
            format!(
                "---\n{}",
                serde_yaml_ng::to_string(c).expect("CRDs serialise")
            )
        })
        .collect()
}

/// The CRDs of all Tidewater kinds, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        with_rules_below_spec(TaskDefinition::crd()),
        Service::crd(),
        Cluster::crd(),
        Task::crd(),
        ScheduledTask::crd(),
    ]
    .into_iter()
    .map(bound_int32)
    .collect()
}

/// Every `format: int32` integer of `crd` gets the bounds of `i32` (unless it has its own).
/// The API server does not enforce the format (kubernetes/kubernetes#136091), so it would store
/// `2147483648`, which the operator's typed watch cannot read: the list of the whole kind fails,
/// and one bad object stalls the watch of every object of its kind (kube-rs/kube#774).
fn bound_int32(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if m.get("type").and_then(|t| t.as_str()) == Some("integer")
                    && m.get("format").and_then(|f| f.as_str()) == Some("int32")
                {
                    m.entry("minimum").or_insert(i32::MIN.into());
                    m.entry("maximum").or_insert(i32::MAX.into());
                }
                m.values_mut().for_each(walk);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(crd).expect("CRDs serialise");
    walk(&mut v);
    serde_json::from_value(v).expect("CRDs deserialise")
}

/// The TaskDefinition's CRD with the rules declared below its spec ([`rules::Admission::CelOn`])
/// on their schema nodes.
fn with_rules_below_spec(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut v = serde_json::to_value(crd).expect("CRDs serialise");
    for version in v["spec"]["versions"].as_array_mut().into_iter().flatten() {
        let spec = &mut version["schema"]["openAPIV3Schema"]["properties"]["spec"];
        for rule in rules::all_rules() {
            if let rules::Admission::CelOn { node, rule: expr } = rule.admission {
                let rules = &mut schema_node(spec, node)["x-kubernetes-validations"];
                if !rules.is_array() {
                    *rules = serde_json::json!([]);
                }
                if let Some(list) = rules.as_array_mut() {
                    list.push(serde_json::json!({"rule": expr, "message": rule.message}));
                }
            }
        }
    }
    serde_json::from_value(v).expect("CRDs deserialise")
}

/// The schema of `node` (fields from `schema`, `[]` for a list's items) inside `schema`. A node
/// the schema does not have is a mistake in a rule's declaration: the CRDs are not built.
fn schema_node<'a>(schema: &'a mut serde_json::Value, node: &str) -> &'a mut serde_json::Value {
    node.split('.').fold(schema, |s, field| {
        let (name, items) = match field.strip_suffix("[]") {
            Some(list) => (list, true),
            None => (field, false),
        };
        let property = s
            .get_mut("properties")
            .and_then(|p| p.get_mut(name))
            .unwrap_or_else(|| panic!("no schema node {node} for a CEL rule"));
        if items {
            property
                .get_mut("items")
                .unwrap_or_else(|| panic!("{node}: {name} is not a list"))
        } else {
            property
        }
    })
}

/// The CEL rules of the CRD of `kind` that `spec` breaks, as (JSON path, message), evaluated
/// client-side on the CRD's whole spec schema (the rules below the spec included), as the API
/// server evaluates them at `kubectl apply`.
pub fn cel_violations(kind: &str, spec: &serde_json::Value) -> Vec<(String, String)> {
    let Some(crd) = crds().into_iter().find(|c| c.spec.names.kind == kind) else {
        return Vec::new();
    };
    let crd = serde_json::to_value(&crd).expect("CRDs serialise");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    match kube::core::cel::Validator::new().validate(schema, spec, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_vec()
            .into_iter()
            .map(|e| (e.field_path, e.message))
            .collect(),
    }
}
