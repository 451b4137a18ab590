//! The ECS operations: each turns one request body into reads and writes of the Tidewater
//! custom resources in the caller's namespace, through the caller's impersonated client (so
//! Kubernetes RBAC decides), and answers in the ECS output shape (checked against the model by
//! [`shape_check`] in the tests of every operation).
//!
//! How the operations map (the custom resources are the only store):
//!
//! | ECS | Kubernetes |
//! | --- | --- |
//! | RegisterTaskDefinition | the TaskDefinition of the family (`spec` = the request body, the call's id in the annotation `ecs.tidewater.dev/registration`) is created or replaced; the answer waits (watching, at most [`task_definitions::REGISTER_WAIT`]) for the operator to register the revision (ControllerRevision `<family>.<N>`) |
//! | DeregisterTaskDefinition | label `ecs.tidewater.dev/status=INACTIVE` on the revision (plus the time, annotation `ecs.tidewater.dev/deregistered-at`) |
//! | DescribeTaskDefinition, ListTaskDefinitions, ListTaskDefinitionFamilies | the ControllerRevisions |
//! | CreateService | a Service (`spec` = the request body, `taskDefinition` pinned to the `family:N` it resolves to now, as ECS pins it) |
//! | UpdateService | a merge patch of the members given; `forceNewDeployment` records the time of the request (annotation `ecs.tidewater.dev/force-new-deployment`), which the operator puts on the pod template: a new deployment of the same revision |
//! | DeleteService | deletes the Service (the garbage collector removes its children; DRAINING until then), and records it INACTIVE ([`inactive`]); refused while `desiredCount > 0` unless `force` |
//! | DescribeServices, ListServices | Service spec and status; DescribeServices also the INACTIVE records |
//! | RunTask | a Task (`spec` = the request body) named by a fresh 32-hex id; task ids are its pods `<id>-<n>` |
//! | StopTask | deletes the task's pod (the operator records it STOPPED); the reason is kept in the annotation `ecs.tidewater.dev/stop-reasons` |
//! | DescribeTasks, ListTasks | Task status (RunTask tasks) and the pods of Services (service tasks) |
//! | CreateCluster, DeleteCluster, DescribeClusters, ListClusters | Clusters; `default` exists implicitly |
//! | TagResource, UntagResource, ListTagsForResource | `spec.tags` of Clusters and Services; an annotation `ecs.tidewater.dev/tags` on revisions and Tasks (their specs are immutable) |
//!
//! Every write names the field manager [`FIELD_MANAGER`].
//!
//! The Kubernetes rights a key's ServiceAccount needs, per namespace (RBAC decides; a request
//! it refuses is `AccessDeniedException`):
//!
//! | rights | for |
//! | --- | --- |
//! | `ecs.tidewater.dev`: all resources, `get list watch create update patch delete` | every operation (`watch` on taskdefinitions: RegisterTaskDefinition waits for the revision) |
//! | `apps` `controllerrevisions`: `get list patch` | the task definition revisions (describe, list, deregister, tags) |
//! | core `pods`: `get list delete` | the tasks of services (ListTasks, DescribeTasks), StopTask |
//! | core `configmaps` `tidewater-ecs-inactive-services`: `get patch`, and `create` | deleted services shown INACTIVE for an hour (DeleteService records them, DescribeServices reads them: [`inactive`]); without these rights a deleted service is MISSING |
//!
//! Differences from ECS, all deliberate (the module docs of each operation say more):
//! - revisions beyond the operator's `--revision-history-limit` that nothing uses are deleted
//!   (every RegisterTaskDefinition call registers a revision, as on ECS, even of an unchanged
//!   body: the call's id is annotated on the TaskDefinition);
//! - service names are unique per namespace, not per cluster;
//! - a deleted service stays INACTIVE for an hour after its resource is gone, then is MISSING
//!   (ECS keeps INACTIVE services for an unspecified time); a service deleted otherwise than by
//!   DeleteService (e.g. `kubectl delete`) is MISSING at once;
//! - task ids are pod names (`<32 hex>-<n>` for RunTask), stopped service tasks disappear with
//!   their pod;
//! - timestamps the operator does not record (`startedAt`, `stoppedAt`, ...) are left out.

pub mod arn;
pub mod clusters;
pub mod inactive;
pub mod pagination;
pub mod services;
pub mod shape_check;
pub mod tags;
pub mod task_definitions;
pub mod tasks;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Api;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{ApiError, Caller};
use arn::Scope;

/// The field manager of every write the ECS API makes.
pub const FIELD_MANAGER: &str = "tidewater-ecs-api";

/// One request being served: who calls, the ARN scope, the operation (for error messages).
pub struct Ctx<'a> {
    /// The caller.
    pub caller: &'a Caller,
    /// Region and account of the ARNs.
    pub scope: Scope,
    /// The operation name.
    pub operation: &'a str,
}

impl<'a> Ctx<'a> {
    /// The context of one call.
    pub fn new(caller: &'a Caller, operation: &'a str) -> Self {
        Ctx {
            caller,
            scope: Scope::of(caller),
            operation,
        }
    }

    /// A namespaced API in the caller's namespace, through the caller's client.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.caller.client.clone(), &self.caller.namespace)
    }

    /// A Kubernetes error in ECS terms: RBAC refusals are `AccessDeniedException`, validation
    /// failures `InvalidParameterException` with the apiserver's message, the rest
    /// `ServerException`.
    pub fn kube(&self, e: kube::Error) -> ApiError {
        match e {
            kube::Error::Api(s) if s.code == 403 => ApiError::AccessDenied(format!(
                "User: {} is not authorized to perform: ecs:{} ({})",
                self.caller.access_key_id, self.operation, s.message
            )),
            kube::Error::Api(s) if s.code == 422 || s.code == 400 => {
                ApiError::InvalidParameter(s.message)
            }
            kube::Error::Api(s) if s.code == 409 => ApiError::Client(format!(
                "The resource was changed concurrently; retry the request ({})",
                s.message
            )),
            other => ApiError::Server(other.to_string()),
        }
    }
}

/// Run `operation` (the part of `X-Amz-Target` after `AmazonEC2ContainerServiceV20141113.`).
pub async fn dispatch(caller: &Caller, operation: &str, body: Value) -> Result<Value, ApiError> {
    let ctx = Ctx::new(caller, operation);
    let body = match body {
        Value::Null => json!({}),
        Value::Object(_) => body,
        _ => {
            return Err(ApiError::Client(
                "The request body must be a JSON object".into(),
            ));
        }
    };
    match operation {
        "RegisterTaskDefinition" => task_definitions::register(&ctx, body).await,
        "DeregisterTaskDefinition" => task_definitions::deregister(&ctx, body).await,
        "DescribeTaskDefinition" => task_definitions::describe(&ctx, body).await,
        "ListTaskDefinitions" => task_definitions::list(&ctx, body).await,
        "ListTaskDefinitionFamilies" => task_definitions::list_families(&ctx, body).await,
        "CreateService" => services::create(&ctx, body).await,
        "UpdateService" => services::update(&ctx, body).await,
        "DeleteService" => services::delete(&ctx, body).await,
        "DescribeServices" => services::describe(&ctx, body).await,
        "ListServices" => services::list(&ctx, body).await,
        "RunTask" => tasks::run(&ctx, body).await,
        "StopTask" => tasks::stop(&ctx, body).await,
        "DescribeTasks" => tasks::describe(&ctx, body).await,
        "ListTasks" => tasks::list(&ctx, body).await,
        "CreateCluster" => clusters::create(&ctx, body).await,
        "DeleteCluster" => clusters::delete(&ctx, body).await,
        "DescribeClusters" => clusters::describe(&ctx, body).await,
        "ListClusters" => clusters::list(&ctx, body).await,
        "TagResource" => tags::tag(&ctx, body).await,
        "UntagResource" => tags::untag(&ctx, body).await,
        "ListTagsForResource" => tags::list(&ctx, body).await,
        _ => Err(ApiError::UnknownOperation(format!(
            "operation {operation} is not supported by Tidewater's ECS API"
        ))),
    }
}

/// Reads a request body into its type; a member of the wrong type is a
/// `SerializationException` naming it, as the JSON protocol answers.
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        ApiError::Serialization(format!("{path}: {}", e.into_inner()))
    })
}

/// Whether `include` holds `TAGS`.
pub fn include_tags(include: &[String]) -> bool {
    include.iter().any(|i| i == "TAGS")
}

/// A `failures[]` entry.
pub fn failure(arn: &str, reason: &str) -> Value {
    json!({"arn": arn, "reason": reason})
}

/// Epoch seconds (what the JSON protocol writes for timestamps) of a Kubernetes time.
pub fn epoch(t: Option<&Time>) -> Option<Value> {
    t.map(|t| json!(t.0.as_millisecond() as f64 / 1000.0))
}

/// Epoch seconds of an RFC 3339 time as the status writes them.
pub fn epoch_of(rfc3339: Option<&str>) -> Option<Value> {
    let t: k8s_openapi::jiff::Timestamp = rfc3339?.parse().ok()?;
    Some(json!(t.as_millisecond() as f64 / 1000.0))
}

/// Epoch seconds now.
pub fn now_epoch() -> Value {
    json!(k8s_openapi::jiff::Timestamp::now().as_millisecond() as f64 / 1000.0)
}

/// Sets `key` to `value` when it is `Some`.
pub fn put(object: &mut Value, key: &str, value: Option<Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        object[key] = v;
    }
}

/// Copies the members `keys` of `from` that are set into `to` (renaming `(from, to)` pairs).
pub fn copy_members(from: &Value, to: &mut Value, keys: &[(&str, &str)]) {
    for (src, dst) in keys {
        put(to, dst, from.get(*src).cloned());
    }
}

/// `tags` of a spec, as ECS lists them (`[]` when none).
pub fn tags_of(spec: &Value) -> Value {
    spec.get("tags").cloned().unwrap_or_else(|| json!([]))
}
