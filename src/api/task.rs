//! `Task`: the body of `aws ecs run-task`.

use super::common::CommonStatus;
use super::generated::ecs::RunTaskRequest;
use crate::api::rules;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A standalone task run: the RunTask request body under `spec`. `count` tasks (pods) are
/// started once; they are not restarted when they stop, as in ECS. The spec cannot be changed
/// once created (a RunTask call is not edited after the fact).
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.tidewater.dev",
    version = "v1alpha1",
    kind = "Task",
    namespaced,
    status = "TaskStatus",
    shortname = "ecstask",
    category = "ecs",
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".status.taskDefinition"
    ),
    printcolumn(
        name = "Last Status",
        type_ = "string",
        json_path = ".status.lastStatus"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.stoppedReason",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    cel,
    validation = Rule::new("self == oldSelf")
        .message("spec is immutable: a Task is one RunTask call, run once; delete the Task and create it again (or under another name) to run again"),
    validation = Rule::new(rules::RUN_TASK_COUNT.cel())
        .message(rules::RUN_TASK_COUNT.message)
        .field_path(".count"),
    validation = Rule::new(rules::RUN_TASK_LAUNCH_TYPE_OR_CAPACITY_PROVIDERS.cel())
        .message(rules::RUN_TASK_LAUNCH_TYPE_OR_CAPACITY_PROVIDERS.message)
)]
pub struct TaskSpec {
    /// The RunTask request members.
    #[serde(flatten)]
    pub run: RunTaskRequest,
}

/// What the operator reports about a RunTask, in the terms of `describe-tasks`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskStatus {
    /// The task definition run, `family:revision`.
    #[serde(
        rename = "taskDefinition",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_definition: Option<String>,
    /// Summary over all tasks: PROVISIONING, PENDING, RUNNING or STOPPED.
    #[serde(
        rename = "lastStatus",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_status: Option<String>,
    /// Why the tasks stopped, when they did.
    #[serde(
        rename = "stoppedReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stopped_reason: Option<String>,
    /// One entry per task (pod).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskState>,
    /// Conditions, warnings and observed generation.
    #[serde(flatten)]
    pub common: CommonStatus,
}

/// One task, as `describe-tasks` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskState {
    /// Task id (the pod name).
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// PROVISIONING, PENDING, RUNNING or STOPPED.
    #[serde(rename = "lastStatus")]
    pub last_status: String,
    /// RUNNING or STOPPED.
    #[serde(rename = "desiredStatus")]
    pub desired_status: String,
    /// Why the task stopped.
    #[serde(
        rename = "stoppedReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stopped_reason: Option<String>,
    /// Why the task stopped, as a code: `EssentialContainerExited`, `TaskFailedToStart`,
    /// `UserInitiated` (its pod was deleted) or `TerminationNotice` (evicted, node shut down).
    #[serde(rename = "stopCode", default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// Containers of the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerState>,
}

/// One container of a task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContainerState {
    /// Container name.
    pub name: String,
    /// PENDING, RUNNING or STOPPED.
    #[serde(rename = "lastStatus")]
    pub last_status: String,
    /// Exit code, once stopped.
    #[serde(rename = "exitCode", default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Why it stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
