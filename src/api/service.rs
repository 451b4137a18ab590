//! `Service`: the body of `aws ecs create-service`, plus `autoScaling` and `ingress`.

use super::common::CommonStatus;
use super::generated::autoscaling::{
    PutScalingPolicyRequest, PutScheduledActionRequest, RegisterScalableTargetRequest,
};
use super::generated::{ecs::CreateServiceRequest, read_only::CreateServiceReadOnly};
use crate::api::rules;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A service: the CreateService request body under `spec`. `serviceName` defaults to
/// `metadata.name`; `taskDefinition` is a family (follows the latest revision) or
/// `family:revision` (pinned), naming a TaskDefinition in the same namespace. Two extensions
/// carry what ECS keeps in other AWS APIs: `autoScaling` and `ingress`.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "ecs.tidewater.dev",
    version = "v1alpha1",
    kind = "Service",
    namespaced,
    derive = "Default",
    status = "ServiceStatus",
    shortname = "ecssvc",
    shortname = "ecsservice",
    category = "ecs",
    scale(
        spec_replicas_path = ".spec.desiredCount",
        status_replicas_path = ".status.runningCount"
    ),
    printcolumn(
        name = "Task Definition",
        type_ = "string",
        json_path = ".status.taskDefinition"
    ),
    printcolumn(name = "Desired", type_ = "integer", json_path = ".spec.desiredCount"),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningCount"
    ),
    printcolumn(
        name = "Pending",
        type_ = "integer",
        json_path = ".status.pendingCount"
    ),
    printcolumn(
        name = "Rollout",
        type_ = "string",
        json_path = ".status.deployments[0].rolloutState"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(
    cel,
    validation = Rule::new(rules::DESIRED_COUNT_NOT_NEGATIVE.cel())
        .message(rules::DESIRED_COUNT_NOT_NEGATIVE.message)
        .field_path(".desiredCount"),
    validation = Rule::new(rules::DAEMON_DESIRED_COUNT.cel())
        .message(rules::DAEMON_DESIRED_COUNT.message)
        .field_path(".desiredCount"),
    validation = Rule::new(rules::DAEMON_MAXIMUM_PERCENT.cel())
        .message(rules::DAEMON_MAXIMUM_PERCENT.message)
        .field_path(".deploymentConfiguration"),
    validation = Rule::new(rules::DAEMON_FARGATE.cel())
        .message(rules::DAEMON_FARGATE.message)
        .field_path(".schedulingStrategy"),
    validation = Rule::new(rules::DAEMON_DEPLOYMENT_CONTROLLER.cel())
        .message(rules::DAEMON_DEPLOYMENT_CONTROLLER.message)
        .field_path(".schedulingStrategy"),
    validation = Rule::new(rules::CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY.cel())
        .message(rules::CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY.message)
        .field_path(".deploymentConfiguration"),
    validation = Rule::new(rules::LAUNCH_TYPE_OR_CAPACITY_PROVIDERS.cel())
        .message(rules::LAUNCH_TYPE_OR_CAPACITY_PROVIDERS.message),
    validation = Rule::new(rules::DAEMON_AUTO_SCALING.cel())
        .message(rules::DAEMON_AUTO_SCALING.message),
    validation = Rule::new(rules::MIN_CAPACITY_AT_MOST_MAX.cel())
        .message(rules::MIN_CAPACITY_AT_MOST_MAX.message)
)]
pub struct ServiceSpec {
    /// The CreateService request members.
    #[serde(flatten)]
    pub create: CreateServiceRequest,
    /// Tidewater extension: Application Auto Scaling for this service (becomes a
    /// HorizontalPodAutoscaler), in the AWS request shapes.
    #[serde(
        rename = "autoScaling",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_scaling: Option<AutoScaling>,
    /// Tidewater extension: what an ALB listener rule holds (becomes an Ingress for the AWS Load
    /// Balancer Controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressRule>,
    /// Read-only members of describe output (ignored).
    #[serde(flatten)]
    pub read_only: CreateServiceReadOnly,
}

/// Application Auto Scaling for the service's desired count, in the shapes of the
/// `register-scalable-target`, `put-scaling-policy` and `put-scheduled-action` request bodies.
/// `ServiceNamespace`, `ResourceId` and `ScalableDimension` are implied and may be omitted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AutoScaling {
    /// RegisterScalableTarget body: `MinCapacity`, `MaxCapacity`, `SuspendedState`, ...
    #[serde(rename = "scalableTarget")]
    pub scalable_target: RegisterScalableTargetRequest,
    /// PutScalingPolicy bodies: target tracking and step scaling policies.
    #[serde(
        rename = "scalingPolicies",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scaling_policies: Vec<PutScalingPolicyRequest>,
    /// PutScheduledAction bodies: scheduled capacity changes.
    #[serde(
        rename = "scheduledActions",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scheduled_actions: Vec<PutScheduledActionRequest>,
}

/// An ALB listener rule for the service, rendered as an Ingress for the AWS Load Balancer
/// Controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngressRule {
    /// Host header to match (listener rule host-header condition). Empty matches any host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Path to match (listener rule path-pattern condition). Defaults to `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `Prefix` (default) or `Exact`.
    #[serde(rename = "pathType", default, skip_serializing_if = "Option::is_none")]
    pub path_type: Option<String>,
    /// IngressClass name. Defaults to `alb`.
    #[serde(rename = "className", default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// Group name shared by several services behind one ALB
    /// (`alb.ingress.kubernetes.io/group.name`).
    #[serde(rename = "groupName", default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// ACM certificate ARN for HTTPS (`alb.ingress.kubernetes.io/certificate-arn`).
    #[serde(
        rename = "certificateArn",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub certificate_arn: Option<String>,
    /// `internet-facing` or `internal` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Extra Ingress annotations, added after Tidewater's own (which they override).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// What the operator reports about a service, in the terms of `describe-services`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceStatus {
    /// The task definition the PRIMARY deployment runs, `family:revision`.
    #[serde(
        rename = "taskDefinition",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_definition: Option<String>,
    /// Tasks the service should run.
    #[serde(rename = "desiredCount", default)]
    pub desired_count: i32,
    /// Tasks RUNNING (pods Ready).
    #[serde(rename = "runningCount", default)]
    pub running_count: i32,
    /// Tasks PENDING (pods not yet Ready).
    #[serde(rename = "pendingCount", default)]
    pub pending_count: i32,
    /// Deployments, newest first: one PRIMARY and the ACTIVE ones still draining.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deployments: Vec<ServiceDeployment>,
    /// Service events in ECS wording, newest first, bounded in number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ServiceEvent>,
    /// The last `forceNewDeployment` the deployments include: the time UpdateService asked for
    /// it (the Service's `ecs.tidewater.dev/force-new-deployment` annotation), which made the
    /// PRIMARY a new deployment of the same revision.
    #[serde(
        rename = "forcedNewDeployment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub forced_new_deployment: Option<String>,
    /// Conditions, warnings and observed generation.
    #[serde(flatten)]
    pub common: CommonStatus,
}

/// One deployment of a service, as `describe-services` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceDeployment {
    /// Deployment id (`ecs-svc/...`).
    pub id: String,
    /// `PRIMARY` (newest) or `ACTIVE` (older, still running tasks).
    pub status: String,
    /// `family:revision`.
    #[serde(rename = "taskDefinition")]
    pub task_definition: String,
    /// Tasks this deployment should run.
    #[serde(rename = "desiredCount", default)]
    pub desired_count: i32,
    /// Tasks pending.
    #[serde(rename = "pendingCount", default)]
    pub pending_count: i32,
    /// Tasks running.
    #[serde(rename = "runningCount", default)]
    pub running_count: i32,
    /// Tasks that failed to start or stay healthy (counted by the circuit breaker).
    #[serde(rename = "failedTasks", default)]
    pub failed_tasks: i32,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    #[serde(
        rename = "rolloutState",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rollout_state: Option<String>,
    /// Why the rollout is in its state.
    #[serde(
        rename = "rolloutStateReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub rollout_state_reason: Option<String>,
    /// RFC 3339 creation time.
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// RFC 3339 time of the last change.
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// A service event, as `describe-services` shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceEvent {
    /// Event id.
    pub id: String,
    /// RFC 3339 time.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// ECS wording, e.g. `(service web) has reached a steady state.`
    pub message: String,
}
