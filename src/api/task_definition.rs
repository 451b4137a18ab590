//! `TaskDefinition`: the body of `aws ecs register-task-definition`.

use super::common::CommonStatus;
use super::generated::{
    ecs::RegisterTaskDefinitionRequest, read_only::RegisterTaskDefinitionReadOnly,
};
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
    validation = Rule::new("self.containerDefinitions.all(c, self.containerDefinitions.exists_one(d, d.name == c.name))")
        .message("containerDefinitions: container names must be unique within a task definition")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.exists(c, !has(c.essential) || c.essential)")
        .message("containerDefinitions: at least one container must be essential (essential defaults to true)")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, self.containerDefinitions.exists(e, e.name == d.containerName)))")
        .message("containerDefinitions[].dependsOn: containerName must name a container of this task definition")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, d.containerName != c.name))")
        .message("containerDefinitions[].dependsOn: a container cannot depend on itself")
        .field_path(".containerDefinitions"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(x, x == 'FARGATE') || (has(self.cpu) && has(self.memory))")
        .message("requiresCompatibilities FARGATE: task-level cpu and memory are required"),
    validation = Rule::new("!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(x, x == 'FARGATE') || !has(self.networkMode) || self.networkMode == 'awsvpc'")
        .message("requiresCompatibilities FARGATE: networkMode must be awsvpc")
        .field_path(".networkMode"),
    validation = Rule::new(FARGATE_SIZE_RULE)
        .message("requiresCompatibilities FARGATE: cpu and memory are not a valid Fargate combination (256: 512-2048 MiB; 512: 1-4 GB; 1024: 2-8 GB; 2048: 4-16 GB; 4096: 8-30 GB; 8192: 16-60 GB in 4 GB steps; 16384: 32-120 GB in 8 GB steps)")
        .field_path(".memory"),
    validation = Rule::new("!has(self.networkMode) || self.networkMode != 'awsvpc' || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || p.hostPort == 0 || !has(p.containerPort) || p.hostPort == p.containerPort))")
        .message("containerDefinitions[].portMappings: with networkMode awsvpc, hostPort must be omitted or equal containerPort")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, has(p.containerPort) || has(p.containerPortRange)))")
        .message("containerDefinitions[].portMappings: each port mapping needs containerPort or containerPortRange")
        .field_path(".containerDefinitions"),
    validation = Rule::new("self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.containerPortRange) || p.containerPortRange.matches('^[0-9]{1,5}-[0-9]{1,5}$')))")
        .message("containerDefinitions[].portMappings: containerPortRange must look like 8000-8010")
        .field_path(".containerDefinitions")
)]
pub struct TaskDefinitionSpec {
    /// The RegisterTaskDefinition request members.
    #[serde(flatten)]
    pub register: RegisterTaskDefinitionRequest,
    /// Read-only members of describe output (ignored).
    #[serde(flatten)]
    pub read_only: RegisterTaskDefinitionReadOnly,
}

/// The CEL rule for Fargate cpu/memory combinations, for sizes written as plain numbers (other
/// forms, such as `"1 vCPU"`, are checked when the revision is registered).
pub const FARGATE_SIZE_RULE: &str = "!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(x, x == 'FARGATE') || !has(self.cpu) || !has(self.memory) || !self.cpu.matches('^[0-9]+$') || !self.memory.matches('^[0-9]+$') || (int(self.cpu) == 256 && int(self.memory) in [512, 1024, 2048]) || (int(self.cpu) == 512 && int(self.memory) >= 1024 && int(self.memory) <= 4096 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 1024 && int(self.memory) >= 2048 && int(self.memory) <= 8192 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 2048 && int(self.memory) >= 4096 && int(self.memory) <= 16384 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 4096 && int(self.memory) >= 8192 && int(self.memory) <= 30720 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 8192 && int(self.memory) >= 16384 && int(self.memory) <= 61440 && int(self.memory) % 4096 == 0) || (int(self.cpu) == 16384 && int(self.memory) >= 32768 && int(self.memory) <= 122880 && int(self.memory) % 8192 == 0)";

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
    /// Conditions, warnings and observed generation.
    #[serde(flatten)]
    pub common: CommonStatus,
}
