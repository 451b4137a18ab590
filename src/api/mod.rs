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
        TaskDefinition::crd(),
        Service::crd(),
        Cluster::crd(),
        Task::crd(),
        ScheduledTask::crd(),
    ]
}
