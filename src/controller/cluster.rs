//! Cluster reconciler: reports counts like `describe-clusters` (active services, running and
//! pending tasks, nodes per capacity provider) and the warnings about its own fields. Its
//! defaults (capacity provider strategy) and policy are applied by the workload reconcilers,
//! which re-run when the Cluster changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::api::Cluster;
use crate::api::cluster::ClusterStatus;
use crate::api::common::CommonStatus;
use crate::translate::fields::Request;
use crate::translate::{Warnings, labels, reference, walk};

use super::conditions::{self, Wanted};
use super::context::{Context, Stores};
use super::error::Error;
use super::status;

/// The Cluster a workload names (`cluster`: a name or ARN; none means `default`), if it exists.
pub fn clusters_named(
    stores: &Stores,
    namespace: Option<&str>,
    cluster: Option<&str>,
) -> Vec<ObjectRef<Cluster>> {
    let name = reference::cluster_of(cluster);
    stores
        .clusters
        .state()
        .iter()
        .filter(|c| c.namespace().as_deref() == namespace)
        .filter(|c| {
            reference::is_cluster(&name, &c.name_any(), c.spec.create.cluster_name.as_deref())
        })
        .map(|c| ObjectRef::from_obj(&**c))
        .collect()
}

/// Nodes per capacity provider: FARGATE (Fargate nodes), FARGATE_SPOT (Spot nodes), an EC2
/// capacity provider by its node group; with no capacity providers listed, FARGATE and EC2.
pub fn nodes_per_provider(providers: &[String], nodes: &[Arc<Node>]) -> BTreeMap<String, i32> {
    let label = |n: &Node, k: &str| n.labels().get(k).cloned().unwrap_or_default();
    let fargate = |n: &Node| label(n, "eks.amazonaws.com/compute-type") == "fargate";
    let spot = |n: &Node| label(n, "eks.amazonaws.com/capacityType") == "SPOT";
    let mut out = BTreeMap::new();
    if providers.is_empty() {
        out.insert(
            "FARGATE".into(),
            nodes.iter().filter(|n| fargate(n)).count() as i32,
        );
        out.insert(
            "EC2".into(),
            nodes.iter().filter(|n| !fargate(n)).count() as i32,
        );
        return out;
    }
    for p in providers {
        let count = match p.as_str() {
            "FARGATE" => nodes.iter().filter(|n| fargate(n)).count(),
            "FARGATE_SPOT" => nodes.iter().filter(|n| spot(n)).count(),
            group => nodes
                .iter()
                .filter(|n| label(n, "eks.amazonaws.com/nodegroup") == group)
                .count(),
        };
        out.insert(p.clone(), count as i32);
    }
    out
}

/// Reconcile one Cluster.
pub async fn reconcile(cluster: Arc<Cluster>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("Cluster", &*cluster) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let ns = cluster.namespace().unwrap_or_default();
    let name = cluster.name_any();
    let names: Vec<String> = std::iter::once(name.clone())
        .chain(cluster.spec.create.cluster_name.clone())
        .collect();
    let ours = |c: Option<&str>| names.contains(&reference::cluster_of(c));
    let services = ctx
        .stores
        .services
        .state()
        .iter()
        .filter(|s| s.namespace().as_deref() == Some(ns.as_str()))
        .filter(|s| ours(s.spec.create.cluster.as_deref()))
        .count() as i32;
    let (mut running, mut pending) = (0, 0);
    for p in ctx.stores.pods.state() {
        if p.namespace().as_deref() != Some(ns.as_str())
            || !ours(p.labels().get(labels::CLUSTER).map(String::as_str))
            || p.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let st = p.status.as_ref();
        match st.and_then(|s| s.phase.as_deref()) {
            Some("Running") => running += 1,
            Some("Pending") | None => pending += 1,
            _ => {}
        }
    }
    let providers = cluster
        .spec
        .create
        .capacity_providers
        .clone()
        .unwrap_or_default();
    let registered_nodes = ctx
        .stores
        .nodes
        .as_ref()
        .map(|n| nodes_per_provider(&providers, &n.state()))
        .unwrap_or_default();

    let mut w = Warnings::default();
    let value = serde_json::to_value(&cluster.spec.create)?;
    walk::report(Request::CreateCluster, &value, &mut w);
    let warnings = status::warnings(&w.into_vec());
    let old_status: Option<ClusterStatus> = ctx.status_of(&*cluster, cluster.status.as_ref());
    let old = old_status.as_ref();
    let generation = cluster.metadata.generation;
    let wanted = vec![
        Wanted::new(conditions::READY, true, "Active", "the cluster is ACTIVE"),
        Wanted::new(conditions::PROGRESSING, false, "Idle", ""),
        Wanted::new(conditions::DEGRADED, false, "AsExpected", ""),
    ];
    let st = ClusterStatus {
        active_services_count: services,
        running_tasks_count: running,
        pending_tasks_count: pending,
        registered_nodes,
        common: CommonStatus {
            observed_generation: generation,
            conditions: conditions::merge(
                old.map(|o| o.common.conditions.as_slice())
                    .unwrap_or_default(),
                &wanted,
                generation,
                Timestamp::now(),
            ),
            warnings: warnings.clone(),
        },
    };
    let old_warnings = old.map(|o| o.common.warnings.clone()).unwrap_or_default();
    if status::write(&ctx, &*cluster, old, &st).await? {
        if let Some(note) = status::new_warnings_note(&old_warnings, &warnings) {
            ctx.event(&*cluster, true, "TranslationWarnings", note)
                .await;
        }
    }
    Ok(Action::requeue(ctx.settings.resync))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(labels: &[(&str, &str)]) -> Arc<Node> {
        Arc::new(Node {
            metadata: ObjectMeta {
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..Node::default()
        })
    }

    #[test]
    fn nodes_are_counted_per_capacity_provider() {
        let nodes = vec![
            node(&[("eks.amazonaws.com/compute-type", "fargate")]),
            node(&[
                ("eks.amazonaws.com/capacityType", "SPOT"),
                ("eks.amazonaws.com/nodegroup", "spot-ng"),
            ]),
            node(&[
                ("eks.amazonaws.com/capacityType", "ON_DEMAND"),
                ("eks.amazonaws.com/nodegroup", "general"),
            ]),
        ];
        let all = nodes_per_provider(&[], &nodes);
        assert_eq!(
            all,
            BTreeMap::from([("FARGATE".into(), 1), ("EC2".into(), 2)])
        );
        let listed = nodes_per_provider(
            &["FARGATE".into(), "FARGATE_SPOT".into(), "general".into()],
            &nodes,
        );
        assert_eq!(
            listed,
            BTreeMap::from([
                ("FARGATE".into(), 1),
                ("FARGATE_SPOT".into(), 1),
                ("general".into(), 1)
            ])
        );
    }
}
