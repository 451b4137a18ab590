//! `ScheduledTask`: an EventBridge schedule that runs a task (RunTask), as a CronJob.

use super::common::CommonStatus;
use super::generated::ecs::RunTaskRequest;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A scheduled task: an EventBridge `cron(...)` or `rate(...)` expression plus the RunTask
/// request members, flattened (`taskDefinition`, `count`, `overrides`, ...).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs.tidewater.dev",
    version = "v1alpha1",
    kind = "ScheduledTask",
    namespaced,
    status = "ScheduledTaskStatus",
    shortname = "ecsscheduledtask",
    shortname = "schedtask",
    category = "ecs",
    printcolumn(
        name = "Schedule",
        type_ = "string",
        json_path = ".spec.scheduleExpression"
    ),
    printcolumn(name = "State", type_ = "string", json_path = ".spec.state"),
    printcolumn(
        name = "Last Run",
        type_ = "date",
        json_path = ".status.lastScheduleTime"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct ScheduledTaskSpec {
    /// EventBridge schedule expression: `cron(min hour day-of-month month day-of-week year)` or
    /// `rate(N minute|minutes|hour|hours|day|days)`, evaluated in UTC unless
    /// `scheduleExpressionTimezone` is set.
    #[serde(rename = "scheduleExpression")]
    pub schedule_expression: String,
    /// IANA time zone for the schedule (EventBridge Scheduler's `ScheduleExpressionTimezone`).
    #[serde(
        rename = "scheduleExpressionTimezone",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schedule_expression_timezone: Option<String>,
    /// `ENABLED` (default) or `DISABLED` (the CronJob is suspended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ScheduleState>,
    /// The RunTask request members run on each schedule.
    #[serde(flatten)]
    pub run: RunTaskRequest,
}

/// Whether a schedule fires.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ScheduleState {
    /// The schedule fires.
    #[default]
    #[serde(rename = "ENABLED")]
    Enabled,
    /// The schedule is paused.
    #[serde(rename = "DISABLED")]
    Disabled,
}

/// What the operator reports about a scheduled task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduledTaskStatus {
    /// The CronJob schedule the expression was converted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// When a task was last started (RFC 3339).
    #[serde(
        rename = "lastScheduleTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_schedule_time: Option<String>,
    /// Conditions, warnings and observed generation.
    #[serde(flatten)]
    pub common: CommonStatus,
}
