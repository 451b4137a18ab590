//! Clusters: one Cluster resource per ECS cluster (`spec` = the CreateCluster body), found by
//! `spec.clusterName` or `metadata.name`. The cluster `default` exists implicitly, as it does
//! for the operator (workloads naming no cluster run there with no defaults and no policy):
//! described without a resource, its counts are computed from the Services and Tasks.
//!
//! Differences from ECS: `registeredContainerInstancesCount` counts the nodes the operator
//! reports per capacity provider; `statistics` and `attachments` are empty.

use kube::ResourceExt;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::ApiError;
use super::arn::DEFAULT_CLUSTER;
use super::arn::Scope;
use super::pagination;
use super::{Ctx, FIELD_MANAGER, copy_members, failure, include_tags, parse, tags_of};
use crate::api::Cluster;
use crate::api::cluster::ClusterSpec;
use crate::translate::{names, reference};

/// The ECS name of a Cluster resource.
pub fn name_of(c: &Cluster) -> String {
    c.spec
        .create
        .cluster_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| c.name_any())
}

/// Every Cluster resource of the namespace.
pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<Cluster>, ApiError> {
    let list = ctx
        .api::<Cluster>()
        .list(&ListParams::default())
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(list.items)
}

/// The Cluster resource of ECS cluster `name`, if one exists.
pub fn pick(clusters: &[Cluster], name: &str) -> Option<Cluster> {
    let candidates = clusters.iter().map(|c| {
        (
            c.metadata.name.as_deref().unwrap_or(""),
            c.spec.create.cluster_name.as_deref(),
            c,
        )
    });
    reference::pick_cluster(name, candidates).cloned()
}

/// Checks that cluster `name` exists (`default` always does): `ClusterNotFoundException`
/// otherwise, or when it is being deleted.
pub async fn require(ctx: &Ctx<'_>, name: &str) -> Result<(), ApiError> {
    if name == DEFAULT_CLUSTER {
        return Ok(());
    }
    match pick(&all(ctx).await?, name) {
        Some(c) if c.metadata.deletion_timestamp.is_none() => Ok(()),
        _ => Err(ApiError::ClusterNotFound("Cluster not found.".into())),
    }
}

/// The Cluster output shape.
pub fn output(
    scope: &Scope,
    name: &str,
    c: Option<&Cluster>,
    counts: Counts,
    include: &[String],
) -> Value {
    let spec = c
        .map(|c| serde_json::to_value(&c.spec.create).unwrap_or_default())
        .unwrap_or_else(|| json!({}));
    let deleting = c.is_some_and(|c| c.metadata.deletion_timestamp.is_some());
    let mut out = json!({
        "clusterArn": scope.cluster(name),
        "clusterName": name,
        "status": if deleting { "INACTIVE" } else { "ACTIVE" },
        "registeredContainerInstancesCount": counts.instances,
        "runningTasksCount": counts.running,
        "pendingTasksCount": counts.pending,
        "activeServicesCount": counts.services,
        "statistics": [],
        "capacityProviders": spec.get("capacityProviders").cloned().unwrap_or_else(|| json!([])),
        "defaultCapacityProviderStrategy":
            spec.get("defaultCapacityProviderStrategy").cloned().unwrap_or_else(|| json!([])),
    });
    let wants = |what: &str| include.iter().any(|i| i == what);
    if wants("SETTINGS") {
        copy_members(&spec, &mut out, &[("settings", "settings")]);
    }
    if wants("CONFIGURATIONS") {
        copy_members(&spec, &mut out, &[("configuration", "configuration")]);
    }
    if let Some(ns) = spec["serviceConnectDefaults"]["namespace"].as_str() {
        out["serviceConnectDefaults"] = json!({"namespace": ns});
    }
    if include_tags(include) {
        out["tags"] = tags_of(&spec);
    }
    out
}

/// What `describe-clusters` counts.
#[derive(Clone, Copy, Default)]
pub struct Counts {
    instances: i32,
    running: i32,
    pending: i32,
    services: i32,
}

/// The counts the operator reports for a Cluster resource.
fn reported(c: &Cluster) -> Counts {
    let st = c.status.clone().unwrap_or_default();
    Counts {
        instances: st.registered_nodes.values().sum(),
        running: st.running_tasks_count,
        pending: st.pending_tasks_count,
        services: st.active_services_count,
    }
}

/// The counts of the implicit `default` cluster, from its Services and Tasks.
async fn counted(ctx: &Ctx<'_>, name: &str) -> Result<Counts, ApiError> {
    let services = super::services::in_cluster(ctx, name).await?;
    let tasks = super::tasks::run_tasks_in(ctx, name).await?;
    let mut counts = Counts {
        services: services.len() as i32,
        ..Counts::default()
    };
    for s in services.iter().filter_map(|s| s.status.as_ref()) {
        counts.running += s.running_count;
        counts.pending += s.pending_count;
    }
    for state in tasks
        .iter()
        .filter_map(|t| t.status.as_ref())
        .flat_map(|s| &s.tasks)
    {
        match state.last_status.as_str() {
            "RUNNING" => counts.running += 1,
            "STOPPED" => {}
            _ => counts.pending += 1,
        }
    }
    Ok(counts)
}

/// CreateCluster: creates the Cluster (idempotent: an existing cluster of that name is
/// returned, as ECS does).
pub async fn create(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let spec: ClusterSpec = parse(body)?;
    let name = spec
        .create
        .cluster_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string());
    let existing = pick(&all(ctx).await?, &name);
    let cluster = match existing {
        Some(c) => c,
        None => {
            let mut spec = spec;
            spec.create.cluster_name = Some(name.clone());
            let pp = PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            };
            ctx.api::<Cluster>()
                .create(&pp, &Cluster::new(&names::dns_subdomain(&name), spec))
                .await
                .map_err(|e| ctx.kube(e))?
        }
    };
    let include = [
        "SETTINGS".to_string(),
        "CONFIGURATIONS".into(),
        "TAGS".into(),
    ];
    Ok(json!({"cluster": output(&ctx.scope, &name, Some(&cluster), reported(&cluster), &include)}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DescribeRequest {
    clusters: Vec<String>,
    include: Vec<String>,
}

/// DescribeClusters: at most 100 names or ARNs (none: `default`); unknown ones are
/// `failures[]` with reason `MISSING`.
pub async fn describe(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: DescribeRequest = parse(body)?;
    if req.clusters.len() > 100 {
        return Err(ApiError::InvalidParameter(
            "clusters can have at most 100 items.".into(),
        ));
    }
    let wanted = if req.clusters.is_empty() {
        vec![DEFAULT_CLUSTER.to_string()]
    } else {
        req.clusters.clone()
    };
    let all = all(ctx).await?;
    let (mut clusters, mut failures) = (Vec::new(), Vec::new());
    for value in &wanted {
        let name = ctx.scope.cluster_name(Some(value))?;
        match pick(&all, &name) {
            Some(c) => clusters.push(output(
                &ctx.scope,
                &name,
                Some(&c),
                reported(&c),
                &req.include,
            )),
            None if name == DEFAULT_CLUSTER => {
                let counts = counted(ctx, &name).await?;
                clusters.push(output(&ctx.scope, &name, None, counts, &req.include));
            }
            None => failures.push(failure(&ctx.scope.cluster(&name), "MISSING")),
        }
    }
    Ok(json!({"clusters": clusters, "failures": failures}))
}

/// DeleteCluster: refused while the cluster has services or tasks, as ECS refuses it.
pub async fn delete(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let cluster = body.get("cluster").and_then(Value::as_str);
    let name = ctx.scope.cluster_name(cluster)?;
    let found = pick(&all(ctx).await?, &name)
        .ok_or_else(|| ApiError::ClusterNotFound("Cluster not found.".into()))?;
    if !super::services::in_cluster(ctx, &name).await?.is_empty() {
        return Err(ApiError::Named(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.".into(),
        ));
    }
    let tasks = super::tasks::run_tasks_in(ctx, &name).await?;
    let active = tasks
        .iter()
        .filter_map(|t| t.status.as_ref())
        .flat_map(|s| &s.tasks)
        .any(|t| t.last_status != "STOPPED");
    if active {
        return Err(ApiError::Named(
            "ClusterContainsTasksException",
            "The Cluster cannot be deleted while Tasks are active.".into(),
        ));
    }
    ctx.api::<Cluster>()
        .delete(&found.name_any(), &DeleteParams::background())
        .await
        .map_err(|e| ctx.kube(e))?;
    let mut out = output(&ctx.scope, &name, Some(&found), Counts::default(), &[]);
    out["status"] = json!("INACTIVE");
    Ok(json!({"cluster": out}))
}

/// ListClusters: the ARNs of the Cluster resources.
pub async fn list(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let max = pagination::max_results(&body, pagination::MAX_RESULTS)?;
    let arns: Vec<String> = all(ctx)
        .await?
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .map(|c| ctx.scope.cluster(&name_of(c)))
        .collect();
    pagination::listing("clusterArns", arns, pagination::next_token(&body), max)
}

#[cfg(test)]
mod tests {
    use super::super::shape_check;
    use super::*;

    /// "activeServicesCount: The number of services that are running on the cluster in an
    /// ACTIVE state." (Cluster): the counts are those the operator reports.
    #[test]
    fn a_cluster_is_described_with_the_operator_counts() {
        let spec: ClusterSpec = serde_json::from_value(json!({
            "clusterName": "prod", "capacityProviders": ["FARGATE"],
            "settings": [{"name": "containerInsights", "value": "enabled"}],
            "tags": [{"key": "team", "value": "a"}],
        }))
        .unwrap();
        let mut c = Cluster::new("prod", spec);
        c.status = serde_json::from_value(json!({
            "activeServicesCount": 2, "runningTasksCount": 5, "pendingTasksCount": 1,
            "registeredNodes": {"FARGATE": 3},
        }))
        .unwrap();
        let scope = Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        let include = vec!["TAGS".to_string(), "SETTINGS".into()];
        let out = output(&scope, "prod", Some(&c), reported(&c), &include);
        assert_eq!(
            out,
            json!({
                "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                "clusterName": "prod", "status": "ACTIVE",
                "registeredContainerInstancesCount": 3, "runningTasksCount": 5,
                "pendingTasksCount": 1, "activeServicesCount": 2, "statistics": [],
                "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [],
                "settings": [{"name": "containerInsights", "value": "enabled"}],
                "tags": [{"key": "team", "value": "a"}],
            })
        );
        let answer = json!({"clusters": [out], "failures": []});
        assert_eq!(shape_check::check("DescribeClusters", &answer), Ok(()));
    }
}
