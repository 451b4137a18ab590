//! Tasks. A RunTask call is one Task resource (`spec` = the RunTask body, `taskDefinition`
//! pinned to `family:N`) named by a fresh 32-hex id; its tasks are its pods `<id>-<n>`, and
//! their state is the operator's `status.tasks`. The tasks of Services are their pods (labelled
//! `ecs.tidewater.dev/service`), observed with the operator's own rules
//! ([`crate::controller::task::observe`]).
//!
//! StopTask deletes the task's pod (the operator then records it STOPPED, stop code
//! `UserInitiated`) and keeps the reason given in the Task's annotation [`STOP_REASONS`], which
//! DescribeTasks shows as `stoppedReason`.
//!
//! Differences from ECS: task ids are `<32 hex>-<n>` (pod names), not 32 hex digits; the tasks
//! of a service disappear once their pod is gone (ECS lists stopped tasks for about an hour);
//! `startedAt`, `stoppedAt`, `cpu`, `memory`, `attachments` and `containerArn`s are not
//! reported; tags given to one task of a multi-task RunTask apply to all its tasks.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::ApiError;
use super::arn::Scope;
use super::pagination;
use super::{Ctx, FIELD_MANAGER, epoch, failure, include_tags, parse, put};
use crate::api::Task;
use crate::api::task::{TaskSpec, TaskState};
use crate::controller::rollout::{DEPLOYMENT_LABEL, deployment_id};
use crate::controller::task::{last_status, observe, pod_facts};
use crate::translate::{labels, reference};

/// Annotation on a Task: the StopTask reasons, a JSON object by task id.
pub const STOP_REASONS: &str = "ecs.tidewater.dev/stop-reasons";

/// One ECS task, from a Task resource or a service's pod.
#[derive(Clone, Debug)]
pub struct TaskView {
    /// Task id.
    pub id: String,
    /// ECS cluster.
    pub cluster: String,
    /// `family:N`.
    pub task_definition: String,
    /// Its state.
    pub state: TaskState,
    /// RunTask body (or `{}` for a service task), for `startedBy`, `group`, `overrides`, ...
    pub run: Value,
    /// Creation time.
    pub created_at: Option<Value>,
    /// `group` (ECS: `family:<family>` for RunTask, `service:<name>` for a service).
    pub group: String,
    /// Reason given to StopTask, if any.
    pub stop_reason: Option<String>,
    /// Tags.
    pub tags: Value,
    /// The Task resource, for RunTask tasks.
    pub owner: Option<String>,
}

/// The ECS cluster of a Task resource.
pub fn cluster_of(t: &Task) -> String {
    reference::cluster_of(t.spec.run.cluster.as_deref())
}

/// Every Task resource of the namespace.
async fn all_runs(ctx: &Ctx<'_>) -> Result<Vec<Task>, ApiError> {
    let list = ctx
        .api::<Task>()
        .list(&ListParams::default())
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(list.items)
}

/// The Task resources of `cluster`.
pub async fn run_tasks_in(ctx: &Ctx<'_>, cluster: &str) -> Result<Vec<Task>, ApiError> {
    Ok(all_runs(ctx)
        .await?
        .into_iter()
        .filter(|t| cluster_of(t) == cluster)
        .collect())
}

/// The tasks of a Task resource: the recorded ones, or those about to start.
pub fn views_of_run(t: &Task) -> Vec<TaskView> {
    let st = t.status.clone().unwrap_or_default();
    let name = t.name_any();
    let states = if st.tasks.is_empty() {
        (0..t.spec.run.count.unwrap_or(1).clamp(1, 10))
            .map(|n| TaskState {
                task_id: format!("{name}-{n}"),
                last_status: last_status::PROVISIONING.into(),
                desired_status: last_status::RUNNING.into(),
                ..TaskState::default()
            })
            .collect()
    } else {
        st.tasks
    };
    let reasons: BTreeMap<String, String> = t
        .annotations()
        .get(STOP_REASONS)
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    let run = serde_json::to_value(&t.spec.run).unwrap_or_default();
    let td = st
        .task_definition
        .clone()
        .unwrap_or(t.spec.run.task_definition.clone());
    let family = reference::TaskDefinitionRef::parse(&td).family;
    let tags = super::tags::annotated(t.annotations()).unwrap_or_else(|| super::tags_of(&run));
    states
        .into_iter()
        .map(|state| TaskView {
            id: state.task_id.clone(),
            cluster: cluster_of(t),
            task_definition: td.clone(),
            stop_reason: reasons.get(&state.task_id).cloned(),
            state,
            run: run.clone(),
            created_at: epoch(t.metadata.creation_timestamp.as_ref()),
            group: t
                .spec
                .run
                .group
                .clone()
                .unwrap_or(format!("family:{family}")),
            tags: tags.clone(),
            owner: Some(name.clone()),
        })
        .collect()
}

/// The task a service's pod is.
pub fn view_of_pod(p: &Pod) -> TaskView {
    let labels_of = p.labels();
    let get = |k: &str| labels_of.get(k).cloned().unwrap_or_default();
    let facts = pod_facts(p);
    let state = observe(&p.name_any(), None, Some(&facts), None).state;
    TaskView {
        id: p.name_any(),
        cluster: reference::cluster_of(labels_of.get(labels::CLUSTER).map(String::as_str)),
        task_definition: format!("{}:{}", get(labels::FAMILY), get(labels::REVISION)),
        state,
        // ECS: "If a task is started by an Amazon ECS service, the startedBy parameter contains
        // the deployment ID of the service that starts it."
        run: json!({"startedBy": deployment_id(&get(DEPLOYMENT_LABEL))}),
        created_at: epoch(p.metadata.creation_timestamp.as_ref()),
        group: format!("service:{}", get(labels::SERVICE)),
        stop_reason: None,
        tags: json!([]),
        owner: None,
    }
}

/// The tasks of every Service (their pods), of `service` only when given.
async fn service_tasks(ctx: &Ctx<'_>, service: Option<&str>) -> Result<Vec<TaskView>, ApiError> {
    let selector = match service {
        Some(s) => format!("{}={s}", labels::SERVICE),
        None => labels::SERVICE.to_string(),
    };
    let pods = ctx
        .api::<Pod>()
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(pods.items.iter().map(view_of_pod).collect())
}

/// Every task of the namespace: RunTask tasks, then service tasks.
async fn all_tasks(ctx: &Ctx<'_>) -> Result<Vec<TaskView>, ApiError> {
    let mut out: Vec<TaskView> = all_runs(ctx).await?.iter().flat_map(views_of_run).collect();
    out.extend(service_tasks(ctx, None).await?);
    Ok(out)
}

/// The tasks among which `ids` (of `cluster`) are looked up: the RunTask tasks, plus the
/// service tasks only when some id is not a RunTask task (so a key without rights on pods can
/// still describe and stop the tasks it ran).
async fn tasks_for(
    ctx: &Ctx<'_>,
    cluster: &str,
    ids: &[String],
) -> Result<Vec<TaskView>, ApiError> {
    let mut out: Vec<TaskView> = all_runs(ctx).await?.iter().flat_map(views_of_run).collect();
    let known = |id: &String| out.iter().any(|v| v.id == *id && v.cluster == cluster);
    if !ids.iter().all(known) {
        out.extend(service_tasks(ctx, None).await?);
    }
    Ok(out)
}

/// The Task output shape.
pub fn output(scope: &Scope, v: &TaskView, with_tags: bool) -> Value {
    let task_arn = scope.task(&v.cluster, &v.id);
    let r = reference::TaskDefinitionRef::parse(&v.task_definition);
    let containers: Vec<Value> = v
        .state
        .containers
        .iter()
        .map(|c| {
            let mut out = json!({"taskArn": task_arn, "name": c.name, "lastStatus": c.last_status});
            put(&mut out, "exitCode", c.exit_code.map(Value::from));
            put(&mut out, "reason", c.reason.clone().map(Value::from));
            out
        })
        .collect();
    let desired = match v.stop_reason {
        Some(_) => last_status::STOPPED,
        None => v.state.desired_status.as_str(),
    };
    let mut out = json!({
        "taskArn": task_arn,
        "clusterArn": scope.cluster(&v.cluster),
        "taskDefinitionArn": scope.task_definition(&r.family, r.revision.unwrap_or(0)),
        "lastStatus": v.state.last_status,
        "desiredStatus": desired,
        "containers": containers,
        "group": v.group,
        "overrides": v.run.get("overrides").cloned()
            .unwrap_or_else(|| json!({"containerOverrides": [], "inferenceAcceleratorOverrides": []})),
        "version": 1,
    });
    put(&mut out, "createdAt", v.created_at.clone());
    for key in [
        "startedBy",
        "launchType",
        "platformVersion",
        "enableExecuteCommand",
    ] {
        put(&mut out, key, v.run.get(key).cloned());
    }
    let given = v.stop_reason.clone().filter(|r| !r.is_empty());
    put(
        &mut out,
        "stoppedReason",
        given.or(v.state.stopped_reason.clone()).map(Value::from),
    );
    put(
        &mut out,
        "stopCode",
        v.state.stop_code.clone().map(Value::from),
    );
    if with_tags {
        out["tags"] = v.tags.clone();
    }
    out
}

/// A fresh task id: 32 hex digits (the Task resource's name).
fn fresh_id() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let half = |salt: u64| {
        let mut h = state.build_hasher();
        h.write_u64(salt);
        h.write_u128(now);
        h.finish()
    };
    format!("{:016x}{:016x}", half(1), half(2))
}

/// RunTask: a Task resource; the tasks are answered at once, PROVISIONING.
pub async fn run(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let mut spec: TaskSpec = parse(body)?;
    let cluster = ctx.scope.cluster_name(spec.run.cluster.as_deref())?;
    super::clusters::require(ctx, &cluster).await?;
    let count = spec.run.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(ApiError::InvalidParameter(
            "count must be between 1 and 10.".into(),
        ));
    }
    let found = super::task_definitions::resolve(ctx, &spec.run.task_definition)
        .await?
        .ok_or_else(|| ApiError::Client("TaskDefinition not found.".into()))?;
    if !found.revision.active {
        return Err(ApiError::Client("TaskDefinition is inactive".into()));
    }
    spec.run.task_definition = found.revision.reference();
    if spec.run.cluster.is_some() {
        spec.run.cluster = Some(cluster);
    }
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let created = ctx
        .api::<Task>()
        .create(&pp, &Task::new(&fresh_id(), spec))
        .await
        .map_err(|e| ctx.kube(e))?;
    let tasks: Vec<Value> = views_of_run(&created)
        .iter()
        .map(|v| output(&ctx.scope, v, false))
        .collect();
    Ok(json!({"tasks": tasks, "failures": []}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DescribeRequest {
    cluster: Option<String>,
    tasks: Vec<String>,
    include: Vec<String>,
}

/// DescribeTasks: at most 100 ids or ARNs; those not found are `failures[]` (`MISSING`).
pub async fn describe(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: DescribeRequest = parse(body)?;
    if req.tasks.is_empty() || req.tasks.len() > 100 {
        return Err(ApiError::InvalidParameter(
            "tasks can have at most 100 items.".into(),
        ));
    }
    let cluster = ctx.scope.cluster_name(req.cluster.as_deref())?;
    super::clusters::require(ctx, &cluster).await?;
    let ids = req
        .tasks
        .iter()
        .map(|t| ctx.scope.task_id(&cluster, t))
        .collect::<Result<Vec<String>, ApiError>>()?;
    let all = tasks_for(ctx, &cluster, &ids).await?;
    let with_tags = include_tags(&req.include);
    let (mut tasks, mut failures) = (Vec::new(), Vec::new());
    for id in ids {
        match all.iter().find(|v| v.id == id && v.cluster == cluster) {
            Some(v) => tasks.push(output(&ctx.scope, v, with_tags)),
            None => failures.push(failure(&ctx.scope.task(&cluster, &id), "MISSING")),
        }
    }
    Ok(json!({"tasks": tasks, "failures": failures}))
}

/// StopTask: the reason is recorded, the pod deleted.
pub async fn stop(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let cluster = ctx
        .scope
        .cluster_name(body.get("cluster").and_then(Value::as_str))?;
    super::clusters::require(ctx, &cluster).await?;
    let value = body.get("task").and_then(Value::as_str).unwrap_or_default();
    let id = ctx.scope.task_id(&cluster, value)?;
    let mut view = tasks_for(ctx, &cluster, std::slice::from_ref(&id))
        .await?
        .into_iter()
        .find(|v| v.id == id && v.cluster == cluster)
        .ok_or_else(|| ApiError::InvalidParameter("The referenced task was not found.".into()))?;
    let reason = body["reason"].as_str().unwrap_or_default().to_string();
    if let Some(owner) = &view.owner {
        record_reason(ctx, owner, &id, &reason).await?;
    }
    match ctx.api::<Pod>().delete(&id, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {}
        Err(e) => return Err(ctx.kube(e)),
    }
    view.stop_reason = Some(reason);
    Ok(json!({"task": output(&ctx.scope, &view, false)}))
}

/// Adds `id`'s StopTask reason to its Task's annotation.
async fn record_reason(ctx: &Ctx<'_>, owner: &str, id: &str, reason: &str) -> Result<(), ApiError> {
    let api = ctx.api::<Task>();
    let task = api.get(owner).await.map_err(|e| ctx.kube(e))?;
    let mut reasons: BTreeMap<String, String> = task
        .annotations()
        .get(STOP_REASONS)
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    reasons.insert(id.to_string(), reason.to_string());
    let patch = json!({"metadata": {
        "resourceVersion": task.resource_version(),
        "annotations": {STOP_REASONS: serde_json::to_string(&reasons).unwrap_or_default()},
    }});
    api.patch(
        owner,
        &PatchParams::apply(FIELD_MANAGER),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| ctx.kube(e))?;
    Ok(())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ListRequest {
    cluster: Option<String>,
    family: Option<String>,
    service_name: Option<String>,
    started_by: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<String>,
    next_token: Option<String>,
}

/// ListTasks: the task ARNs of a cluster, filtered as ECS filters them (desired status RUNNING
/// by default).
pub async fn list(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let max = pagination::max_results(&body, pagination::MAX_RESULTS)?;
    let req: ListRequest = parse(body)?;
    let cluster = ctx.scope.cluster_name(req.cluster.as_deref())?;
    super::clusters::require(ctx, &cluster).await?;
    let views = match &req.service_name {
        Some(s) => {
            let name = ctx.scope.service_name(&cluster, s)?;
            let label = crate::translate::names::dns1035_label(&name);
            service_tasks(ctx, Some(&label)).await?
        }
        None => all_tasks(ctx).await?,
    };
    let desired = req
        .desired_status
        .as_deref()
        .unwrap_or(last_status::RUNNING);
    let arns: Vec<String> = views
        .iter()
        .filter(|v| v.cluster == cluster)
        .filter(|v| output(&ctx.scope, v, false)["desiredStatus"] == desired)
        .filter(|v| {
            req.family
                .as_deref()
                .is_none_or(|f| reference::TaskDefinitionRef::parse(&v.task_definition).family == f)
        })
        .filter(|v| {
            req.started_by
                .as_deref()
                .is_none_or(|s| v.run["startedBy"] == s)
        })
        .filter(|v| {
            req.launch_type
                .as_deref()
                .is_none_or(|l| v.run["launchType"] == l)
        })
        .map(|v| ctx.scope.task(&v.cluster, &v.id))
        .collect();
    pagination::listing("taskArns", arns, req.next_token.as_deref(), max)
}

#[cfg(test)]
mod tests {
    use super::super::shape_check;
    use super::*;
    use crate::api::task::ContainerState;

    fn scope() -> Scope {
        Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        }
    }

    fn run_task(status: Value, annotations: Value) -> Task {
        let spec: TaskSpec = serde_json::from_value(json!({
            "taskDefinition": "job:3", "cluster": "prod", "count": 2, "startedBy": "ci",
            "launchType": "FARGATE", "tags": [{"key": "team", "value": "a"}],
        }))
        .unwrap();
        let mut t = Task::new("0123456789abcdef0123456789abcdef", spec);
        t.status = serde_json::from_value(status).unwrap();
        t.metadata.annotations = serde_json::from_value(annotations).unwrap();
        t
    }

    /// "If a task is in the PROVISIONING state, ..." (RunTask): the tasks of a RunTask the
    /// operator has not started yet are answered PROVISIONING with desired status RUNNING.
    #[test]
    fn tasks_not_started_yet_are_provisioning() {
        let views = views_of_run(&run_task(Value::Null, Value::Null));
        let out: Vec<Value> = views.iter().map(|v| output(&scope(), v, false)).collect();
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            out[1],
            json!({
                "taskArn": format!("arn:aws:ecs:eu-west-1:123456789012:task/prod/{id}-1"),
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/job:3",
                "lastStatus": "PROVISIONING", "desiredStatus": "RUNNING", "containers": [],
                "group": "family:job",
                "overrides": {"containerOverrides": [], "inferenceAcceleratorOverrides": []},
                "version": 1, "startedBy": "ci", "launchType": "FARGATE",
            })
        );
        assert_eq!(
            shape_check::check("RunTask", &json!({"tasks": out, "failures": []})),
            Ok(())
        );
    }

    /// "The reason for stopping the task. ... this message appears in subsequent DescribeTasks
    /// API operations on this task." (StopTask `reason`)
    #[test]
    fn a_stopped_task_shows_the_reason_given_to_stop_task() {
        let id = "0123456789abcdef0123456789abcdef-0";
        let status = json!({"taskDefinition": "job:3", "tasks": [{
            "taskId": id, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stoppedReason": "Task stopped by user (its pod was deleted)", "stopCode": "UserInitiated",
            "containers": [{"name": "app", "lastStatus": "STOPPED", "exitCode": 143}]}]});
        let reasons = json!({STOP_REASONS: format!("{{\"{id}\": \"deploy finished\"}}")});
        let views = views_of_run(&run_task(status, reasons));
        assert_eq!(views.len(), 1);
        assert_eq!(
            views[0].state.containers,
            vec![ContainerState {
                name: "app".into(),
                last_status: "STOPPED".into(),
                exit_code: Some(143),
                reason: None
            }]
        );
        let out = output(&scope(), &views[0], true);
        assert_eq!(out["stoppedReason"], "deploy finished");
        assert_eq!(out["stopCode"], "UserInitiated");
        assert_eq!(out["desiredStatus"], "STOPPED");
        assert_eq!(out["tags"], json!([{"key": "team", "value": "a"}]));
        assert_eq!(out["containers"][0]["exitCode"], 143);
        let answer = json!({"tasks": [out], "failures": [{"arn": "x", "reason": "MISSING"}]});
        assert_eq!(shape_check::check("DescribeTasks", &answer), Ok(()));
    }

    /// "If a task is started by an Amazon ECS service, the startedBy parameter contains the
    /// deployment ID of the service that starts it." (Task): a service's pod is one of its
    /// tasks, RUNNING once its containers run.
    #[test]
    fn a_service_pod_is_a_task_of_the_service() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-7d9f-abcde", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"ecs.tidewater.dev/service": "web", "ecs.tidewater.dev/cluster": "prod",
                           "ecs.tidewater.dev/family": "web", "ecs.tidewater.dev/revision": "2",
                           "ecs.tidewater.dev/deployment": "5f7c"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "nginx"}]},
            "status": {"phase": "Running", "containerStatuses": [{"name": "app", "ready": true,
                "restartCount": 0, "image": "nginx", "imageID": "",
                "state": {"running": {"startedAt": "2026-01-01T00:00:05Z"}}}]},
        }))
        .unwrap();
        let out = output(&scope(), &view_of_pod(&pod), false);
        assert_eq!(
            out,
            json!({
                "taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/web-7d9f-abcde",
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2",
                "lastStatus": "RUNNING", "desiredStatus": "RUNNING",
                "containers": [{"taskArn": "arn:aws:ecs:eu-west-1:123456789012:task/prod/web-7d9f-abcde",
                                "name": "app", "lastStatus": "RUNNING"}],
                "group": "service:web",
                "overrides": {"containerOverrides": [], "inferenceAcceleratorOverrides": []},
                "version": 1, "createdAt": 1767225600.0, "startedBy": "ecs-svc/5f7c",
            })
        );
        assert_eq!(
            shape_check::check("DescribeTasks", &json!({"tasks": [out]})),
            Ok(())
        );
    }
}
