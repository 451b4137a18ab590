//! `TaskDefinition`: the body of `aws ecs register-task-definition`.

use super::common::CommonStatus;
use super::generated::{
    ecs::RegisterTaskDefinitionRequest, read_only::RegisterTaskDefinitionReadOnly,
};
use crate::api::rules;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// A task definition: the RegisterTaskDefinition request body under `spec`. Every change of the
/// spec registers a new immutable revision (`family:revision`). `family` defaults to
/// `metadata.name`. Read-only members of `describe-task-definition` output are accepted and
/// ignored.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.tidewater.dev",
    version = "v1alpha1",
    kind = "TaskDefinition",
    namespaced,
    derive = "Default",
    status = "TaskDefinitionStatus",
    shortname = "td",
    shortname = "taskdef",
    category = "ecs",
    printcolumn(name = "Family", type_ = "string", json_path = ".spec.family"),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.revision"),
    printcolumn(name = "Network", type_ = "string", json_path = ".spec.networkMode"),
    printcolumn(name = "CPU", type_ = "string", json_path = ".spec.cpu"),
    printcolumn(name = "Memory", type_ = "string", json_path = ".spec.memory"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    cel,
    validation = Rule::new(rules::CONTAINER_DEFINITIONS_REQUIRED.cel())
        .message(rules::CONTAINER_DEFINITIONS_REQUIRED.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::CONTAINER_NAMES_UNIQUE.cel())
        .message(rules::CONTAINER_NAMES_UNIQUE.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::ESSENTIAL_CONTAINER_REQUIRED.cel())
        .message(rules::ESSENTIAL_CONTAINER_REQUIRED.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::DEPENDS_ON_KNOWN_CONTAINER.cel())
        .message(rules::DEPENDS_ON_KNOWN_CONTAINER.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::COMPLETE_OR_SUCCESS_ON_ESSENTIAL.cel())
        .message(rules::COMPLETE_OR_SUCCESS_ON_ESSENTIAL.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::CONTAINER_MEMORY_REQUIRED.cel())
        .message(rules::CONTAINER_MEMORY_REQUIRED.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::FARGATE_STOP_TIMEOUT.cel())
        .message(rules::FARGATE_STOP_TIMEOUT.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::FARGATE_START_TIMEOUT.cel())
        .message(rules::FARGATE_START_TIMEOUT.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::LINKS_ONLY_IN_BRIDGE_MODE.cel())
        .message(rules::LINKS_ONLY_IN_BRIDGE_MODE.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::FARGATE_PRIVILEGED.cel())
        .message(rules::FARGATE_PRIVILEGED.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::FARGATE_LINUX_PARAMETERS.cel())
        .message(rules::FARGATE_LINUX_PARAMETERS.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::FARGATE_AWSLOGS_STREAM_PREFIX.cel())
        .message(rules::FARGATE_AWSLOGS_STREAM_PREFIX.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::CONTAINER_PORT_RANGE_NETWORK_MODE.cel())
        .message(rules::CONTAINER_PORT_RANGE_NETWORK_MODE.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::AWSVPC_HOST_PORT.cel())
        .message(rules::AWSVPC_HOST_PORT.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::HOST_MODE_HOST_PORT.cel())
        .message(rules::HOST_MODE_HOST_PORT.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::NO_PORT_MAPPINGS_IN_NONE_MODE.cel())
        .message(rules::NO_PORT_MAPPINGS_IN_NONE_MODE.message)
        .field_path(".containerDefinitions"),
    validation = Rule::new(rules::FARGATE_REQUIRES_CPU.cel())
        .message(rules::FARGATE_REQUIRES_CPU.message),
    validation = Rule::new(rules::FARGATE_REQUIRES_MEMORY.cel())
        .message(rules::FARGATE_REQUIRES_MEMORY.message),
    validation = Rule::new(rules::FARGATE_NETWORK_MODE.cel())
        .message(rules::FARGATE_NETWORK_MODE.message)
        .field_path(".networkMode"),
    validation = Rule::new(rules::FARGATE_SIZE.cel())
        .message(rules::FARGATE_SIZE.message)
        .field_path(".memory"),
    validation = Rule::new(rules::FARGATE_PID_MODE.cel())
        .message(rules::FARGATE_PID_MODE.message)
        .field_path(".pidMode"),
    validation = Rule::new(rules::FARGATE_IPC_MODE.cel())
        .message(rules::FARGATE_IPC_MODE.message)
        .field_path(".ipcMode"),
)]
pub struct TaskDefinitionSpec {
    /// The RegisterTaskDefinition request members.
    #[serde(flatten)]
    pub register: RegisterTaskDefinitionRequest,
    /// Read-only members of describe output (ignored).
    #[serde(flatten)]
    pub read_only: RegisterTaskDefinitionReadOnly,
}

/// What the operator reports about a task definition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TaskDefinitionStatus {
    /// The latest registered revision (1, 2, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// `family:revision` of the latest revision, as ECS names it.
    #[serde(
        rename = "taskDefinition",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_definition: Option<String>,
    /// `ACTIVE`, or `INACTIVE` once deregistered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The RegisterTaskDefinition call the latest revision was registered for (the
    /// `ecs.tidewater.dev/registration` annotation), when the ECS API registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
    /// Conditions, warnings and observed generation.
    #[serde(flatten)]
    pub common: CommonStatus,
}
