//! `Cluster`: the body of `aws ecs create-cluster`, plus platform policy.
//!
//! A Cluster is namespaced. Services, Tasks and ScheduledTasks name their cluster in `cluster`
//! (as in ECS); it resolves to the Cluster of that name in their own namespace, and a missing
//! `cluster` means the Cluster named `default` there. The recommended layout is one namespace
//! per ECS cluster. A workload whose Cluster does not exist
//! runs with no defaults and no policy, like ECS's implicit default cluster.

use super::common::CommonStatus;
use super::generated::ecs::CreateClusterRequest;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An ECS cluster: the CreateCluster request body under `spec`, plus `policy`. `clusterName`
/// defaults to `metadata.name`. Its `defaultCapacityProviderStrategy` applies to workloads that
/// name neither a launch type nor a capacity provider strategy.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs.tidewater.dev",
    version = "v1alpha1",
    kind = "Cluster",
    namespaced,
    status = "ClusterStatus",
    shortname = "ecscluster",
    category = "ecs",
    printcolumn(
        name = "Services",
        type_ = "integer",
        json_path = ".status.activeServicesCount"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningTasksCount"
    ),
    printcolumn(
        name = "Pending",
        type_ = "integer",
        json_path = ".status.pendingTasksCount"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
pub struct ClusterSpec {
    /// The CreateCluster request members.
    #[serde(flatten)]
    pub create: CreateClusterRequest,
    /// Tidewater extension: what carries out the `autoScaling` of this cluster's Services.
    /// `hpa` (default): a HorizontalPodAutoscaler, for what it can express (CPU and memory
    /// target tracking); every other policy is reported and left out. `keda`: a KEDA
    /// `ScaledObject` (KEDA must be installed), which also scales on CloudWatch metrics
    /// (ALBRequestCountPerTarget, customized metrics), SQS queues, and to zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<Autoscaler>,
    /// Tidewater extension: what platform teams allow workloads of this cluster to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<ClusterPolicy>,
    /// Tidewater extension: the External Secrets Operator stores holding the task secrets, one
    /// per AWS service (the ESO AWS provider serves either Secrets Manager or Parameter Store
    /// from one store). When set, an `ExternalSecret` reading from the store of the reference's
    /// service is created for every Kubernetes Secret the workloads reference.
    #[serde(
        rename = "secretStore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_store: Option<SecretStores>,
}

/// The External Secrets Operator stores of a cluster: `secretsManager` serves Secrets Manager
/// references, `parameterStore` SSM Parameter Store references. The older single-store form
/// (`name` and `kind` only) is still accepted: that store then serves every service that has
/// no store of its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretStores {
    /// The store (provider `aws`, `service: SecretsManager`) for Secrets Manager references.
    #[serde(
        rename = "secretsManager",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secrets_manager: Option<SecretStoreRef>,
    /// The store (provider `aws`, `service: ParameterStore`) for SSM Parameter Store
    /// references.
    #[serde(
        rename = "parameterStore",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameter_store: Option<SecretStoreRef>,
    /// Older single-store form: the name of a store serving every service that has no store of
    /// its own above. Prefer `secretsManager` and `parameterStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Older single-store form: the kind of the `name` store, `ClusterSecretStore` (default) or
    /// `SecretStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

impl SecretStores {
    /// The store for Secrets Manager references, if any.
    pub fn for_secrets_manager(&self) -> Option<SecretStoreRef> {
        self.secrets_manager.clone().or_else(|| self.single())
    }

    /// The store for SSM Parameter Store references, if any.
    pub fn for_parameter_store(&self) -> Option<SecretStoreRef> {
        self.parameter_store.clone().or_else(|| self.single())
    }

    fn single(&self) -> Option<SecretStoreRef> {
        self.name.clone().map(|name| SecretStoreRef {
            name,
            kind: self.kind.clone(),
        })
    }
}

/// What carries out Application Auto Scaling for a cluster's Services.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Autoscaler {
    /// A Kubernetes HorizontalPodAutoscaler (no extra component).
    #[default]
    Hpa,
    /// A KEDA ScaledObject (`keda.sh/v1alpha1`).
    Keda,
}

/// A reference to an External Secrets Operator (Cluster)SecretStore.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretStoreRef {
    /// Store name.
    pub name: String,
    /// `ClusterSecretStore` (default) or `SecretStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Policy knobs enforced on every workload of the cluster; a violation is reported as a
/// `Ready=False` condition (reason `PolicyViolation`) on the offending resource, and nothing is
/// created for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClusterPolicy {
    /// Task role ARNs allowed for `taskRoleArn`, as glob patterns (`*` matches any run of
    /// characters), e.g. `arn:aws:iam::123456789012:role/team-a-*`. Empty allows any role.
    #[serde(
        rename = "allowedTaskRoleArns",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_task_role_arns: Vec<String>,
    /// Whether containers may set `privileged: true`. Defaults to false.
    #[serde(
        rename = "allowPrivilegedContainers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_privileged_containers: Option<bool>,
    /// Whether task definitions may use `networkMode: host`, `pidMode: host` or `ipcMode: host`.
    /// Defaults to false.
    #[serde(
        rename = "allowHostNamespaces",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_host_namespaces: Option<bool>,
    /// Whether `host` volumes (hostPath) are allowed. Defaults to false.
    #[serde(
        rename = "allowHostVolumes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_host_volumes: Option<bool>,
    /// Image prefixes allowed for containers, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/`.
    /// Empty allows any image.
    #[serde(
        rename = "allowedImagePrefixes",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_image_prefixes: Vec<String>,
}

/// What the operator reports about a cluster, in the terms of `describe-clusters`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ClusterStatus {
    /// Services of this cluster.
    #[serde(rename = "activeServicesCount", default)]
    pub active_services_count: i32,
    /// Tasks RUNNING in this cluster.
    #[serde(rename = "runningTasksCount", default)]
    pub running_tasks_count: i32,
    /// Tasks PENDING in this cluster.
    #[serde(rename = "pendingTasksCount", default)]
    pub pending_tasks_count: i32,
    /// Nodes per capacity provider (FARGATE, FARGATE_SPOT, or an EC2 capacity provider name).
    #[serde(
        rename = "registeredNodes",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub registered_nodes: BTreeMap<String, i32>,
    /// Conditions, warnings and observed generation.
    #[serde(flatten)]
    pub common: CommonStatus,
}
