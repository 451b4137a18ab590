//! Cluster reconciler: reports counts like `describe-clusters` (active services, running and
//! pending tasks, nodes per capacity provider) and the warnings about its own fields. Its
//! defaults (capacity provider strategy) and policy are applied by the workload reconcilers,
//! which re-run when the Cluster changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use crate::api::Cluster;
use crate::api::cluster::ClusterStatus;
use crate::api::common::TranslationWarning;
use crate::translate::fields::Request;
use crate::translate::{Warnings, labels, reference, walk};

use super::compact::Compact;
use super::conditions::{self, Wanted};
use super::context::{Context, Stores};
use super::error::Error;
use super::index;
use super::status::{self, Note};

/// The Cluster a workload names (`cluster`: a name or ARN; none means `default`), if it exists.
pub fn clusters_named(
    stores: &Stores,
    namespace: Option<&str>,
    cluster: Option<&str>,
) -> Vec<ObjectRef<Cluster>> {
    let Some(namespace) = namespace else {
        return Vec::new();
    };
    let key = index::cluster_key(namespace, &reference::cluster_of(cluster));
    stores
        .indexes
        .clusters
        .names(&key)
        .into_iter()
        .map(|(ns, name)| ObjectRef::new(&name).within(&ns))
        .collect()
}

/// What a Cluster reads of a pod: its phase.
#[derive(serde::Deserialize)]
struct PodPhase {
    #[serde(default)]
    status: PodPhaseStatus,
}

#[derive(Default, serde::Deserialize)]
struct PodPhaseStatus {
    phase: Option<String>,
}

/// Nodes per capacity provider: FARGATE (Fargate nodes), FARGATE_SPOT (Spot nodes), an EC2
/// capacity provider by its node group; with no capacity providers listed, FARGATE and EC2.
pub fn nodes_per_provider(
    providers: &[String],
    nodes: &[Arc<Compact<Node>>],
) -> BTreeMap<String, i32> {
    let label = |n: &Compact<Node>, k: &str| n.labels().get(k).cloned().unwrap_or_default();
    let fargate = |n: &Compact<Node>| label(n, "eks.amazonaws.com/compute-type") == "fargate";
    let spot = |n: &Compact<Node>| label(n, "eks.amazonaws.com/capacityType") == "SPOT";
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

/// What the cluster shows for one Cluster: its services, tasks and nodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Services naming the Cluster.
    pub services: i32,
    /// Running task pods.
    pub running: i32,
    /// Pending task pods.
    pub pending: i32,
    /// Nodes per capacity provider.
    pub registered_nodes: BTreeMap<String, i32>,
}

/// What a Cluster reads of a pod (see [`count`]): its cluster label, phase and deletion. Other
/// changes (readiness, restarts) do not wake the Cluster.
pub fn pod_key(p: &Compact<Pod>) -> u64 {
    let phase = p.read::<PodPhase>().and_then(|p| p.status.phase);
    super::watch::fingerprint(&(
        p.labels().get(labels::CLUSTER),
        phase,
        p.metadata.deletion_timestamp.is_some(),
    ))
}

/// Count the Cluster's services, tasks (pods not being deleted) and nodes, from the caches.
fn count(ctx: &Context, cluster: &Cluster) -> Counts {
    let ns = cluster.namespace().unwrap_or_default();
    let names: Vec<String> = std::iter::once(cluster.name_any())
        .chain(cluster.spec.create.cluster_name.clone())
        .collect();
    let ours = |c: Option<&str>| names.contains(&reference::cluster_of(c));
    let in_ns = |n: Option<&str>| n == Some(ns.as_str());
    let (s, i) = (&ctx.stores, &ctx.stores.indexes);
    // By the cluster index: each Cluster name the workloads may use, once.
    let mut keys: Vec<String> = names.iter().map(|n| index::cluster_key(&ns, n)).collect();
    keys.sort();
    keys.dedup();
    let services: Vec<_> = keys
        .iter()
        .flat_map(|k| i.services.objects(&s.services, k))
        .collect();
    let pods: Vec<_> = keys
        .iter()
        .flat_map(|k| i.pods.objects(&s.pods, k))
        .collect();
    let mut counts = Counts {
        services: services
            .iter()
            .filter(|s| {
                in_ns(s.metadata.namespace.as_deref())
                    && ours(s.object().spec.create.cluster.as_deref())
            })
            .count() as i32,
        ..Counts::default()
    };
    for p in pods {
        if !in_ns(p.metadata.namespace.as_deref())
            || !ours(p.labels().get(labels::CLUSTER).map(String::as_str))
            || p.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        match p.read::<PodPhase>().and_then(|p| p.status.phase).as_deref() {
            Some("Running") => counts.running += 1,
            Some("Pending") | None => counts.pending += 1,
            _ => {}
        }
    }
    let providers = cluster
        .spec
        .create
        .capacity_providers
        .clone()
        .unwrap_or_default();
    counts.registered_nodes = ctx
        .stores
        .nodes
        .as_ref()
        .map(|n| nodes_per_provider(&providers, &n.state()))
        .unwrap_or_default();
    counts
}

/// The next status and the Events to publish once it is written (pure): the counts, ACTIVE, and
/// the warnings about the Cluster's own fields.
pub fn compute_status(
    prev: &ClusterStatus,
    counts: Counts,
    warnings: Vec<TranslationWarning>,
    generation: Option<i64>,
    now: Timestamp,
) -> (ClusterStatus, Vec<Note>) {
    let wanted = vec![
        Wanted::new(conditions::READY, true, "Active", "the cluster is ACTIVE"),
        Wanted::new(conditions::PROGRESSING, false, "Idle", ""),
        Wanted::new(conditions::DEGRADED, false, "AsExpected", ""),
    ];
    let notes = status::warnings_note(&prev.common.warnings, &warnings)
        .into_iter()
        .collect();
    let st = ClusterStatus {
        active_services_count: counts.services,
        running_tasks_count: counts.running,
        pending_tasks_count: counts.pending,
        registered_nodes: counts.registered_nodes,
        common: status::common(&prev.common, &wanted, warnings, generation, now),
    };
    (st, notes)
}

/// Reconcile one Cluster: count, report the warnings about its fields, write the status.
pub async fn reconcile(cluster: Arc<Cluster>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("Cluster", &*cluster) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let prev: ClusterStatus = ctx
        .status_of(&*cluster, cluster.status.as_ref())
        .unwrap_or_default();
    let mut w = Warnings::default();
    walk::report(
        Request::CreateCluster,
        &serde_json::to_value(&cluster.spec.create)?,
        &mut w,
    );
    let (st, notes) = compute_status(
        &prev,
        count(&ctx, &cluster),
        status::warnings(&w.into_vec()),
        cluster.metadata.generation,
        Timestamp::now(),
    );
    if status::write(&ctx, &*cluster, Some(&prev), &st).await? {
        ctx.publish(&*cluster, &notes).await;
    }
    Ok(Action::requeue(ctx.settings.resync))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    /// A Cluster is woken only by what its counts read: a pod's cluster, phase or deletion (not
    /// its readiness or restarts), a node's labels (not its heartbeats).
    #[test]
    fn only_what_a_cluster_counts_wakes_it() {
        let pod = |phase: &str, ready: &str, restarts: i32, cluster: &str| {
            Compact::new(
                serde_json::from_value::<Pod>(serde_json::json!({
                    "metadata": {"name": "web-1", "namespace": "team", "resourceVersion": "7",
                        "labels": {labels::CLUSTER: cluster}},
                    "status": {"phase": phase,
                        "conditions": [{"type": "Ready", "status": ready}],
                        "containerStatuses": [{"name": "app", "image": "nginx", "imageID": "",
                            "ready": ready == "True", "restartCount": restarts}]},
                }))
                .unwrap(),
            )
        };
        let running = pod_key(&pod("Running", "False", 0, "prod"));
        assert_eq!(pod_key(&pod("Running", "True", 3, "prod")), running);
        assert_ne!(pod_key(&pod("Pending", "False", 0, "prod")), running);
        assert_ne!(pod_key(&pod("Running", "False", 0, "staging")), running);
        let mut stopping = pod("Running", "False", 0, "prod");
        stopping.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                Timestamp::from_second(1).unwrap(),
            ));
        assert_ne!(pod_key(&stopping), running);
        let key = |n: &Compact<Node>| crate::controller::watch::object_key(n);
        let spot = node(&[("eks.amazonaws.com/capacityType", "SPOT")]);
        let mut heartbeat = (*spot).clone();
        heartbeat.metadata.resource_version = Some("99".into());
        assert_eq!(key(&heartbeat), key(&spot));
        assert_ne!(key(&node(&[])), key(&spot));
    }

    fn node(labels: &[(&str, &str)]) -> Arc<Compact<Node>> {
        Arc::new(Compact::new(Node {
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
        }))
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

    #[test]
    fn the_status_counts_and_is_active() {
        let counts = Counts {
            services: 2,
            running: 3,
            pending: 1,
            registered_nodes: BTreeMap::from([("FARGATE".into(), 1)]),
        };
        let (st, notes) = compute_status(
            &ClusterStatus::default(),
            counts,
            vec![],
            Some(2),
            Timestamp::from_second(100).unwrap(),
        );
        use crate::controller::testing::condition;
        assert_eq!(
            st,
            ClusterStatus {
                active_services_count: 2,
                running_tasks_count: 3,
                pending_tasks_count: 1,
                registered_nodes: BTreeMap::from([("FARGATE".into(), 1)]),
                common: crate::api::common::CommonStatus {
                    observed_generation: Some(2),
                    conditions: vec![
                        condition("Ready", "True", "Active", "the cluster is ACTIVE", 100),
                        condition("Progressing", "False", "Idle", "", 100),
                        condition("Degraded", "False", "AsExpected", "", 100),
                    ],
                    warnings: vec![],
                },
            }
        );
        assert_eq!(notes, vec![]);
    }
}
