//! Services: one Service resource per ECS service (`spec` = the CreateService body), named
//! after the service (a DNS-1035 label, as its Deployment), found by `spec.serviceName` and
//! `spec.cluster`.
//!
//! What DescribeServices shows comes from the operator's status (deployments, counts, events).
//! While the operator has not yet observed the latest change (`status.observedGeneration` behind
//! `metadata.generation`), the answer shows what ECS shows right after UpdateService: the new
//! `desiredCount`, and a new PRIMARY deployment (IN_PROGRESS, no tasks yet) when the task
//! definition changed or a new deployment was forced; so `aws ecs wait services-stable` never
//! returns before the rollout.
//!
//! `forceNewDeployment` starts a new deployment of the same revision, as on ECS: UpdateService
//! records the time of the request on the Service (an annotation), and the operator puts it on
//! the pod template, which makes a new deployment (a new id) whose tasks replace the old ones.
//!
//! Differences from ECS: service names are unique per namespace, not per cluster (creating a
//! service whose name another cluster of the namespace uses is refused as not idempotent); a
//! deleted service is INACTIVE for an hour once its resource is gone ([`super::inactive`]),
//! then MISSING; `createdBy`, `taskSets` and `platformFamily` are not reported.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::ApiError;
use super::arn::Scope;
use super::pagination;
use super::{
    Ctx, FIELD_MANAGER, copy_members, epoch, epoch_of, failure, inactive, include_tags, parse, put,
    tags_of, task_definitions,
};
use crate::api::Service;
use crate::api::service::{ServiceDeployment, ServiceSpec};
use crate::translate::{names, reference};

/// Annotation on a Service: the time of the last `forceNewDeployment` (RFC 3339).
pub const FORCED_AT: &str = crate::controller::service::FORCE_NEW_DEPLOYMENT;

/// The ECS name of a Service resource.
pub fn name_of(s: &Service) -> String {
    s.spec
        .create
        .service_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| s.name_any())
}

/// The ECS cluster of a Service resource.
pub fn cluster_of(s: &Service) -> String {
    reference::cluster_of(s.spec.create.cluster.as_deref())
}

/// Every Service of the namespace.
pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<Service>, ApiError> {
    let list = ctx
        .api::<Service>()
        .list(&ListParams::default())
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(list.items)
}

/// The services of `cluster` that are not being deleted.
pub async fn in_cluster(ctx: &Ctx<'_>, cluster: &str) -> Result<Vec<Service>, ApiError> {
    let mut out: Vec<Service> = all(ctx)
        .await?
        .into_iter()
        .filter(|s| cluster_of(s) == cluster && s.metadata.deletion_timestamp.is_none())
        .collect();
    out.sort_by_key(name_of);
    Ok(out)
}

fn find<'s>(services: &'s [Service], cluster: &str, name: &str) -> Option<&'s Service> {
    services
        .iter()
        .find(|s| cluster_of(s) == cluster && name_of(s) == name)
}

/// `family:N` (or an ARN) as a task definition ARN.
fn td_arn(scope: &Scope, reference: &str) -> String {
    let r = reference::TaskDefinitionRef::parse(reference);
    match r.revision {
        Some(n) => scope.task_definition(&r.family, n),
        None => format!(
            "arn:aws:ecs:{}:{}:task-definition/{}",
            scope.region, scope.account, r.family
        ),
    }
}

/// Members of the CreateService body shown unchanged by DescribeServices (`role` as `roleArn`).
const SHOWN: &[(&str, &str)] = &[
    ("availabilityZoneRebalancing", "availabilityZoneRebalancing"),
    ("capacityProviderStrategy", "capacityProviderStrategy"),
    ("deploymentController", "deploymentController"),
    (
        "healthCheckGracePeriodSeconds",
        "healthCheckGracePeriodSeconds",
    ),
    ("launchType", "launchType"),
    ("networkConfiguration", "networkConfiguration"),
    ("placementConstraints", "placementConstraints"),
    ("placementStrategy", "placementStrategy"),
    ("platformVersion", "platformVersion"),
    ("role", "roleArn"),
];

/// Members of the CreateService body every deployment shows.
const PER_DEPLOYMENT: &[(&str, &str)] = &[
    ("capacityProviderStrategy", "capacityProviderStrategy"),
    ("launchType", "launchType"),
    ("networkConfiguration", "networkConfiguration"),
    ("platformVersion", "platformVersion"),
    ("serviceConnectConfiguration", "serviceConnectConfiguration"),
    ("volumeConfigurations", "volumeConfigurations"),
    ("vpcLatticeConfigurations", "vpcLatticeConfigurations"),
];

/// The deployments and counts DescribeServices shows: the operator's status, or what ECS shows
/// right after a change the operator has not observed yet.
pub fn live(svc: &Service) -> (i32, Vec<ServiceDeployment>) {
    let st = svc.status.clone().unwrap_or_default();
    // A forced deployment the operator has not started yet.
    let requested = crate::controller::service::forced_at(svc);
    let forced = requested.is_some() && st.forced_new_deployment != requested;
    let behind =
        st.common.observed_generation != svc.metadata.generation || svc.status.is_none() || forced;
    let mut deployments: Vec<ServiceDeployment> = st
        .deployments
        .into_iter()
        .filter(|d| d.status != "INACTIVE")
        .collect();
    if !behind {
        return (st.desired_count, deployments);
    }
    let desired = svc.spec.create.desired_count.unwrap_or(st.desired_count);
    let wanted = svc.spec.create.task_definition.clone().unwrap_or_default();
    let primary = deployments.iter().position(|d| d.status == "PRIMARY");
    let same =
        !forced && primary.is_some_and(|p| same_revision(&deployments[p].task_definition, &wanted));
    match primary {
        Some(p) if same => deployments[p].desired_count = desired,
        _ => {
            for d in deployments.iter_mut() {
                d.status = "ACTIVE".into();
            }
            // Asked for now: a forced deployment at the time of the request.
            let created = requested
                .filter(|_| forced)
                .or_else(|| (svc.metadata.creation_timestamp.as_ref()).map(|t| t.0.to_string()));
            let id = format!("ecs-svc/pending-{}", svc.metadata.generation.unwrap_or(0));
            deployments.insert(
                0,
                ServiceDeployment {
                    id: id.clone(),
                    status: "PRIMARY".into(),
                    task_definition: wanted,
                    desired_count: desired,
                    rollout_state: Some("IN_PROGRESS".into()),
                    rollout_state_reason: Some(format!("ECS deployment {id} in progress.")),
                    created_at: created.clone(),
                    updated_at: created,
                    ..ServiceDeployment::default()
                },
            );
        }
    }
    (desired, deployments)
}

fn same_revision(a: &str, b: &str) -> bool {
    reference::without_arn(a) == reference::without_arn(b)
}

fn deployment_output(scope: &Scope, spec: &Value, d: &ServiceDeployment) -> Value {
    let mut out = json!({
        "id": d.id,
        "status": d.status,
        "taskDefinition": td_arn(scope, &d.task_definition),
        "desiredCount": d.desired_count,
        "pendingCount": d.pending_count,
        "runningCount": d.running_count,
        "failedTasks": d.failed_tasks,
    });
    put(
        &mut out,
        "rolloutState",
        d.rollout_state.clone().map(Value::from),
    );
    put(
        &mut out,
        "rolloutStateReason",
        d.rollout_state_reason.clone().map(Value::from),
    );
    put(&mut out, "createdAt", epoch_of(d.created_at.as_deref()));
    put(&mut out, "updatedAt", epoch_of(d.updated_at.as_deref()));
    copy_members(spec, &mut out, PER_DEPLOYMENT);
    out
}

/// `deploymentConfiguration` with ECS's defaults (200/100 for REPLICA, 100/0 for DAEMON, the
/// circuit breaker off).
fn deployment_configuration(spec: &Value, daemon: bool) -> Value {
    let (max, min) = if daemon { (100, 0) } else { (200, 100) };
    let mut out = json!({
        "deploymentCircuitBreaker": {"enable": false, "rollback": false},
        "maximumPercent": max,
        "minimumHealthyPercent": min,
    });
    if let Some(given) = spec["deploymentConfiguration"].as_object() {
        for (k, v) in given {
            out[k] = v.clone();
        }
    }
    out
}

/// The Service output shape of a Service resource.
pub fn output(scope: &Scope, svc: &Service, with_tags: bool) -> Value {
    let spec = serde_json::to_value(&svc.spec.create).unwrap_or_default();
    let st = svc.status.clone().unwrap_or_default();
    let (desired, deployments) = live(svc);
    let primary_td = deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .map(|d| d.task_definition.clone())
        .or(st.task_definition.clone())
        .or(svc.spec.create.task_definition.clone())
        .unwrap_or_default();
    let (name, cluster) = (name_of(svc), cluster_of(svc));
    let strategy = spec["schedulingStrategy"]
        .as_str()
        .unwrap_or("REPLICA")
        .to_string();
    let mut out = json!({
        "serviceArn": scope.service(&cluster, &name),
        "serviceName": name,
        "clusterArn": scope.cluster(&cluster),
        "status": if svc.metadata.deletion_timestamp.is_some() { "DRAINING" } else { "ACTIVE" },
        "desiredCount": desired,
        "runningCount": st.running_count,
        "pendingCount": st.pending_count,
        "taskDefinition": td_arn(scope, &primary_td),
        "deploymentConfiguration": deployment_configuration(&spec, strategy == "DAEMON"),
        "deployments": deployments.iter().map(|d| deployment_output(scope, &spec, d)).collect::<Vec<_>>(),
        "events": st.events.iter().map(|e| {
            let mut ev = json!({"id": e.id, "message": e.message});
            put(&mut ev, "createdAt", epoch_of(Some(&e.created_at)));
            ev
        }).collect::<Vec<_>>(),
        "loadBalancers": spec.get("loadBalancers").cloned().unwrap_or_else(|| json!([])),
        "serviceRegistries": spec.get("serviceRegistries").cloned().unwrap_or_else(|| json!([])),
        "schedulingStrategy": strategy,
        "enableECSManagedTags": spec.get("enableECSManagedTags").cloned().unwrap_or(json!(false)),
        "propagateTags": spec.get("propagateTags").cloned().unwrap_or(json!("NONE")),
        "enableExecuteCommand": spec.get("enableExecuteCommand").cloned().unwrap_or(json!(false)),
    });
    copy_members(&spec, &mut out, SHOWN);
    put(
        &mut out,
        "createdAt",
        epoch(svc.metadata.creation_timestamp.as_ref()),
    );
    if with_tags {
        out["tags"] = tags_of(&spec);
    }
    out
}

/// The revision `reference` names, pinned as `family:N` (as ECS pins it when the service is
/// created or updated): `ClientException` when there is none or it is INACTIVE.
async fn pin(ctx: &Ctx<'_>, reference: &str) -> Result<String, ApiError> {
    let found = task_definitions::resolve(ctx, reference)
        .await?
        .ok_or_else(|| ApiError::Client("TaskDefinition not found.".into()))?;
    if !found.revision.active {
        return Err(ApiError::Client("TaskDefinition is inactive".into()));
    }
    Ok(found.revision.reference())
}

/// CreateService.
pub async fn create(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let mut spec: ServiceSpec = parse(body)?;
    let name = spec
        .create
        .service_name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::InvalidParameter("serviceName must be specified.".into()))?;
    let cluster = ctx.scope.cluster_name(spec.create.cluster.as_deref())?;
    super::clusters::require(ctx, &cluster).await?;
    let services = all(ctx).await?;
    let object_name = names::dns1035_label(&name);
    if let Some(existing) = find(&services, &cluster, &name) {
        return Err(ApiError::InvalidParameter(
            if existing.metadata.deletion_timestamp.is_some() {
                "Unable to Start a service that is still Draining."
            } else {
                "Creation of service was not idempotent."
            }
            .into(),
        ));
    }
    if services.iter().any(|s| s.name_any() == object_name) {
        return Err(ApiError::InvalidParameter(
            "Creation of service was not idempotent.".into(),
        ));
    }
    let external = spec.create.deployment_controller.as_ref().is_some_and(|d| {
        serde_json::to_value(d)
            .ok()
            .and_then(|v| v["type"].as_str().map(String::from))
            == Some("EXTERNAL".into())
    });
    match spec.create.task_definition.clone() {
        Some(td) => spec.create.task_definition = Some(pin(ctx, &td).await?),
        None if !external => {
            return Err(ApiError::InvalidParameter(
                "TaskDefinition must be specified.".into(),
            ));
        }
        None => {}
    }
    if spec.create.cluster.is_some() {
        spec.create.cluster = Some(cluster);
    }
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let created = ctx
        .api::<Service>()
        .create(&pp, &Service::new(&object_name, spec))
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(json!({"service": output(&ctx.scope, &created, false)}))
}

/// Looks services up by name: first by their object name (one GET each, the common case),
/// listing the namespace once only for a name not found that way (a Service created with
/// another `metadata.name`, or none at all).
struct Lookup<'c, 'a> {
    ctx: &'c Ctx<'a>,
    all: Option<Vec<Service>>,
}

impl<'c, 'a> Lookup<'c, 'a> {
    fn new(ctx: &'c Ctx<'a>) -> Self {
        Lookup { ctx, all: None }
    }

    async fn find(&mut self, cluster: &str, name: &str) -> Result<Option<Service>, ApiError> {
        let object = names::dns1035_label(name);
        let direct = self
            .ctx
            .api::<Service>()
            .get_opt(&object)
            .await
            .map_err(|e| self.ctx.kube(e))?;
        if let Some(s) = direct.filter(|s| cluster_of(s) == cluster && name_of(s) == name) {
            return Ok(Some(s));
        }
        if self.all.is_none() {
            self.all = Some(all(self.ctx).await?);
        }
        let listed = self.all.as_deref().unwrap_or_default();
        Ok(find(listed, cluster, name).cloned())
    }
}

/// The service the request names, in the cluster it names.
async fn named(ctx: &Ctx<'_>, body: &Value) -> Result<Service, ApiError> {
    let cluster = ctx
        .scope
        .cluster_name(body.get("cluster").and_then(Value::as_str))?;
    super::clusters::require(ctx, &cluster).await?;
    let value = body
        .get("service")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = ctx.scope.service_name(&cluster, value)?;
    if let Some(svc) = Lookup::new(ctx).find(&cluster, &name).await? {
        return Ok(svc);
    }
    // Deleted lately: INACTIVE, which ECS tells apart from a service that never was.
    let deleted = inactive::load(ctx).await;
    let key = inactive::key(&cluster, &name);
    Err(
        match inactive::find(&deleted, &key, k8s_openapi::jiff::Timestamp::now()) {
            Some(_) => ApiError::ServiceNotActive("Service was not ACTIVE.".into()),
            None => ApiError::ServiceNotFound("Service not found.".into()),
        },
    )
}

/// UpdateService members that change the spec (all but `cluster`, `service` and
/// `forceNewDeployment`).
const UPDATABLE: &[&str] = &[
    "availabilityZoneRebalancing",
    "capacityProviderStrategy",
    "deploymentConfiguration",
    "deploymentController",
    "desiredCount",
    "enableECSManagedTags",
    "enableExecuteCommand",
    "healthCheckGracePeriodSeconds",
    "loadBalancers",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "platformVersion",
    "propagateTags",
    "serviceConnectConfiguration",
    "serviceRegistries",
    "taskDefinition",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

/// The spec changes an UpdateService body asks for (`taskDefinition` pinned).
async fn changes(ctx: &Ctx<'_>, body: &Value) -> Result<Map<String, Value>, ApiError> {
    let mut changes = Map::new();
    for (k, v) in body.as_object().into_iter().flatten() {
        if UPDATABLE.contains(&k.as_str()) {
            changes.insert(k.clone(), v.clone());
        } else if !["cluster", "service", "forceNewDeployment"].contains(&k.as_str()) {
            return Err(ApiError::InvalidParameter(format!(
                "{k} is not supported by UpdateService"
            )));
        }
    }
    if let Some(td) = changes.get("taskDefinition").and_then(Value::as_str) {
        let pinned = pin(ctx, td).await?;
        changes.insert("taskDefinition".into(), json!(pinned));
    }
    Ok(changes)
}

/// UpdateService: a merge patch of the members given; `forceNewDeployment` asks the operator for
/// a new deployment (see the module documentation).
pub async fn update(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let svc = named(ctx, &body).await?;
    if svc.metadata.deletion_timestamp.is_some() {
        return Err(ApiError::ServiceNotActive("Service was not ACTIVE.".into()));
    }
    let changes = changes(ctx, &body).await?;
    let mut merged = serde_json::to_value(&svc.spec).unwrap_or_default();
    for (k, v) in &changes {
        merged[k] = v.clone();
    }
    let _: ServiceSpec = parse(merged)?;
    let force = body["forceNewDeployment"].as_bool() == Some(true);
    let mut patch = json!({"spec": changes});
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    if force {
        patch["metadata"] = json!({"annotations": {FORCED_AT: now}});
    }
    let pp = PatchParams::apply(FIELD_MANAGER);
    let updated = ctx
        .api::<Service>()
        .patch(&svc.name_any(), &pp, &Patch::Merge(&patch))
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(json!({"service": output(&ctx.scope, &updated, false)}))
}

/// DeleteService: refused while `desiredCount > 0` unless `force` (REPLICA services), as ECS.
pub async fn delete(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let svc = named(ctx, &body).await?;
    let force = body["force"].as_bool() == Some(true);
    let daemon = svc
        .spec
        .create
        .scheduling_strategy
        .as_ref()
        .is_some_and(|s| serde_json::to_value(s).ok() == Some(json!("DAEMON")));
    let (desired, _) = live(&svc);
    if desired > 0 && !force && !daemon {
        return Err(ApiError::InvalidParameter(
            "The service cannot be stopped while it is scaled above 0.".into(),
        ));
    }
    ctx.api::<Service>()
        .delete(&svc.name_any(), &DeleteParams::background())
        .await
        .map_err(|e| ctx.kube(e))?;
    let mut out = output(&ctx.scope, &svc, false);
    out["status"] = json!("DRAINING");
    out["desiredCount"] = json!(0);
    let key = inactive::key(&cluster_of(&svc), &name_of(&svc));
    inactive::remember(ctx, &key, &out).await;
    Ok(json!({"service": out}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DescribeRequest {
    cluster: Option<String>,
    services: Vec<String>,
    include: Vec<String>,
}

/// DescribeServices: at most 10 services; those deleted lately are INACTIVE
/// ([`inactive`]), the others not found are `failures[]` (`MISSING`).
pub async fn describe(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: DescribeRequest = parse(body)?;
    if req.services.is_empty() || req.services.len() > 10 {
        return Err(ApiError::InvalidParameter(
            "services can have at most 10 items.".into(),
        ));
    }
    let cluster = ctx.scope.cluster_name(req.cluster.as_deref())?;
    super::clusters::require(ctx, &cluster).await?;
    let mut lookup = Lookup::new(ctx);
    let with_tags = include_tags(&req.include);
    let (mut services, mut failures) = (Vec::new(), Vec::new());
    // Read once, when a service is not found.
    let mut deleted = None;
    for value in &req.services {
        let name = ctx.scope.service_name(&cluster, value)?;
        if let Some(s) = lookup.find(&cluster, &name).await? {
            services.push(output(&ctx.scope, &s, with_tags));
            continue;
        }
        if deleted.is_none() {
            deleted = Some(inactive::load(ctx).await);
        }
        let records = deleted.as_ref().expect("read above");
        match inactive::find(
            records,
            &inactive::key(&cluster, &name),
            k8s_openapi::jiff::Timestamp::now(),
        ) {
            Some(s) => services.push(s),
            None => failures.push(failure(&ctx.scope.service(&cluster, &name), "MISSING")),
        }
    }
    Ok(json!({"services": services, "failures": failures}))
}

/// ListServices: the services of a cluster (by ARN; `launchType` and `schedulingStrategy`
/// filter), 10 per page unless `maxResults` says otherwise.
pub async fn list(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let max = pagination::max_results(&body, 10)?;
    let cluster = ctx
        .scope
        .cluster_name(body.get("cluster").and_then(Value::as_str))?;
    super::clusters::require(ctx, &cluster).await?;
    let filters: BTreeMap<&str, &str> = ["launchType", "schedulingStrategy"]
        .into_iter()
        .filter_map(|k| Some((k, body.get(k)?.as_str()?)))
        .collect();
    let arns: Vec<String> = in_cluster(ctx, &cluster)
        .await?
        .iter()
        .filter(|s| {
            let spec = serde_json::to_value(&s.spec.create).unwrap_or_default();
            filters.iter().all(|(k, v)| {
                let default = if *k == "schedulingStrategy" {
                    "REPLICA"
                } else {
                    ""
                };
                spec[*k].as_str().unwrap_or(default) == *v
            })
        })
        .map(|s| ctx.scope.service(&cluster, &name_of(s)))
        .collect();
    pagination::listing("serviceArns", arns, pagination::next_token(&body), max)
}

#[cfg(test)]
mod tests {
    use super::super::shape_check;
    use super::*;

    fn scope() -> Scope {
        Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        }
    }

    fn service(generation: i64, status: Value) -> Service {
        let spec: ServiceSpec = serde_json::from_value(json!({
            "serviceName": "web", "cluster": "prod", "taskDefinition": "web:2",
            "desiredCount": 3, "launchType": "FARGATE", "role": "arn:aws:iam::123456789012:role/ecs",
            "deploymentConfiguration": {"maximumPercent": 150},
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
            "tags": [{"key": "team", "value": "a"}],
        }))
        .unwrap();
        let mut svc = Service::new("web", spec);
        svc.metadata.generation = Some(generation);
        svc.status = serde_json::from_value(status).unwrap();
        svc
    }

    fn steady_status() -> Value {
        json!({
            "observedGeneration": 1, "taskDefinition": "web:1",
            "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
            "deployments": [
                {"id": "ecs-svc/1", "status": "PRIMARY", "taskDefinition": "web:1",
                 "desiredCount": 2, "runningCount": 2, "pendingCount": 0, "failedTasks": 0,
                 "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment ecs-svc/1 completed.",
                 "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:01:00Z"},
                {"id": "ecs-svc/0", "status": "INACTIVE", "taskDefinition": "web:0",
                 "desiredCount": 0, "runningCount": 0, "pendingCount": 0, "failedTasks": 0}
            ],
            "events": [{"id": "e1", "createdAt": "2026-01-01T00:01:00Z",
                        "message": "(service web) has reached a steady state."}],
        })
    }

    /// The `services-stable` waiter (botocore waiters-2.json) succeeds when
    /// `length(services[?!(length(deployments) == `1` && runningCount == desiredCount)]) == `0``:
    /// a steady service shows one deployment (INACTIVE ones are not listed, as in ECS) and
    /// equal counts; the whole answer matches the model.
    #[test]
    fn a_steady_service_is_described_as_ecs_describes_it() {
        let out = output(&scope(), &service(1, steady_status()), true);
        let arn = |r: &str| format!("arn:aws:ecs:eu-west-1:123456789012:{r}");
        let net = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}});
        assert_eq!(
            out,
            json!({
                "serviceArn": arn("service/prod/web"), "serviceName": "web",
                "clusterArn": arn("cluster/prod"), "status": "ACTIVE",
                "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
                "taskDefinition": arn("task-definition/web:1"),
                "deploymentConfiguration": {
                    "deploymentCircuitBreaker": {"enable": false, "rollback": false},
                    "maximumPercent": 150, "minimumHealthyPercent": 100},
                "deployments": [{
                    "id": "ecs-svc/1", "status": "PRIMARY",
                    "taskDefinition": arn("task-definition/web:1"),
                    "desiredCount": 2, "pendingCount": 0, "runningCount": 2, "failedTasks": 0,
                    "rolloutState": "COMPLETED",
                    "rolloutStateReason": "ECS deployment ecs-svc/1 completed.",
                    "createdAt": 1767225600.0, "updatedAt": 1767225660.0,
                    "launchType": "FARGATE", "networkConfiguration": net}],
                "events": [{"id": "e1", "message": "(service web) has reached a steady state.",
                            "createdAt": 1767225660.0}],
                "loadBalancers": [], "serviceRegistries": [], "schedulingStrategy": "REPLICA",
                "enableECSManagedTags": false, "propagateTags": "NONE",
                "enableExecuteCommand": false, "launchType": "FARGATE",
                "networkConfiguration": net, "roleArn": "arn:aws:iam::123456789012:role/ecs",
                "tags": [{"key": "team", "value": "a"}],
            })
        );
        assert_eq!(
            shape_check::check("DescribeServices", &json!({"services": [out]})),
            Ok(())
        );
    }

    /// "When you update a service with a new task definition, Amazon ECS creates a new
    /// deployment" (UpdateService): until the operator observes the change, the answer shows
    /// the new PRIMARY deployment, IN_PROGRESS with no task yet, and the old one ACTIVE.
    #[test]
    fn a_change_not_yet_observed_shows_a_new_primary_deployment() {
        let out = output(&scope(), &service(2, steady_status()), false);
        let deployments = out["deployments"].as_array().unwrap();
        assert_eq!(deployments.len(), 2);
        assert_eq!(deployments[0]["id"], "ecs-svc/pending-2");
        assert_eq!(deployments[0]["status"], "PRIMARY");
        assert_eq!(deployments[0]["rolloutState"], "IN_PROGRESS");
        assert_eq!(deployments[0]["desiredCount"], 3);
        assert_eq!(deployments[0]["runningCount"], 0);
        assert_eq!(deployments[1]["status"], "ACTIVE");
        assert_eq!(out["desiredCount"], 3);
        assert_eq!(
            out["taskDefinition"],
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2"
        );
        assert_eq!(
            shape_check::check("UpdateService", &json!({"service": out})),
            Ok(())
        );
        // A brand-new service (no status yet) has one PRIMARY deployment, as CreateService answers.
        let fresh = output(&scope(), &service(1, Value::Null), false);
        assert_eq!(fresh["deployments"].as_array().unwrap().len(), 1);
        assert_eq!(
            shape_check::check("CreateService", &json!({"service": fresh})),
            Ok(())
        );
    }

    /// UpdateService `forceNewDeployment`: "You can use this option to start a new deployment
    /// with no service definition changes." Until the operator has started it (its status
    /// records the request), the answer shows a new PRIMARY of the same revision, IN_PROGRESS
    /// since the request, and the old one ACTIVE; then the operator's deployments again.
    #[test]
    fn a_forced_deployment_not_yet_started_shows_a_new_primary_of_the_same_revision() {
        let at = "2026-11-27T07:30:00Z";
        let mut status = steady_status();
        status["observedGeneration"] = json!(2);
        let mut svc = service(2, status.clone());
        svc.spec.create.task_definition = Some("web:1".into());
        svc.metadata.annotations = Some([(FORCED_AT.to_string(), at.to_string())].into());
        let out = output(&scope(), &svc, false);
        let deployments = out["deployments"].as_array().unwrap();
        assert_eq!(deployments.len(), 2, "{out}");
        let td = "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1";
        assert_eq!(
            (
                &deployments[0]["id"],
                &deployments[0]["status"],
                &deployments[0]["rolloutState"],
                &deployments[0]["taskDefinition"],
                &deployments[0]["runningCount"],
                &deployments[0]["createdAt"],
            ),
            (
                &json!("ecs-svc/pending-2"),
                &json!("PRIMARY"),
                &json!("IN_PROGRESS"),
                &json!(td),
                &json!(0),
                &json!(1795764600.0),
            )
        );
        assert_eq!(
            (&deployments[1]["id"], &deployments[1]["status"]),
            (&json!("ecs-svc/1"), &json!("ACTIVE"))
        );
        assert_eq!(
            shape_check::check("UpdateService", &json!({"service": out})),
            Ok(())
        );
        // An empty annotation asks for nothing (the operator ignores it too).
        let mut empty = svc.clone();
        empty.metadata.annotations = Some([(FORCED_AT.to_string(), String::new())].into());
        assert_eq!(
            output(&scope(), &empty, false)["deployments"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        // Started: the operator's deployments are shown.
        status["forcedNewDeployment"] = json!(at);
        svc.status = serde_json::from_value(status).unwrap();
        let out = output(&scope(), &svc, false);
        assert_eq!(out["deployments"].as_array().unwrap().len(), 1, "{out}");
        assert_eq!(out["deployments"][0]["id"], "ecs-svc/1");
    }
}
