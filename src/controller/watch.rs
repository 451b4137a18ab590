//! How the operator watches at scale: a watch backoff that recovers within seconds of the API
//! server coming back, caches trimmed of what no reconcile reads, event filters that let only
//! relevant changes wake an owner, and the third-party child kinds watched only when their CRDs
//! are installed.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::utils::Backoff;
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde_json::Value;

use crate::api::TaskDefinition;

/// Children of other projects' kinds that the operator applies and caches when their CRD is
/// installed: (group, version, kind). A kind joins by adding its row.
pub const THIRD_PARTY_KINDS: &[(&str, &str, &str)] = &[
    ("elbv2.k8s.aws", "v1beta1", "TargetGroupBinding"),
    ("external-secrets.io", "v1", "ExternalSecret"),
    ("keda.sh", "v1alpha1", "ScaledObject"),
    ("keda.sh", "v1alpha1", "TriggerAuthentication"),
];

/// The annotation `kubectl apply` leaves: a copy of the whole object, never read.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Watch retry delays: 250 ms doubling up to 2 s, so that a watch broken by an API server
/// restart (410 Gone, connection refused) resumes within about 2 s of the API server being
/// ready (kube's default backoff reaches 30 s).
#[derive(Clone, Debug, Default)]
pub struct QuickBackoff {
    attempt: u32,
}

/// Longest wait between two watch retries.
pub const MAX_WATCH_BACKOFF: Duration = Duration::from_secs(2);

impl Iterator for QuickBackoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let delay = Duration::from_millis(250) * 2u32.saturating_pow(self.attempt.min(8));
        self.attempt = self.attempt.saturating_add(1);
        Some(delay.min(MAX_WATCH_BACKOFF))
    }
}

impl Backoff for QuickBackoff {
    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Drop what no reconcile reads before an object enters a cache: managed fields and the
/// last-applied copy of the object.
pub fn trim<K: Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
    }
}

/// [`trim`] a pod, and keep of its spec only what the reconcilers read: the names (and restart
/// policy) of its containers, its node and its termination grace period. Pods are the most
/// numerous objects cached, and their specs the largest part of them.
pub fn trim_pod(p: &mut Pod) {
    trim(p);
    if let Some(spec) = p.spec.as_mut() {
        let names = |cs: &[k8s_openapi::api::core::v1::Container]| {
            cs.iter()
                .map(|c| k8s_openapi::api::core::v1::Container {
                    name: c.name.clone(),
                    restart_policy: c.restart_policy.clone(),
                    ..Default::default()
                })
                .collect::<Vec<_>>()
        };
        *spec = k8s_openapi::api::core::v1::PodSpec {
            containers: names(&spec.containers),
            init_containers: spec.init_containers.as_deref().map(names),
            node_name: spec.node_name.clone(),
            termination_grace_period_seconds: spec.termination_grace_period_seconds,
            ..Default::default()
        };
    }
}

/// The kinds cached [`Compact`](super::compact::Compact): trimmed with [`trim`] (pods with
/// [`trim_pod`]); children whose status nothing reads (only their spec is compared with what
/// the operator applies) are cached without it, as are nodes (only their labels are read).
macro_rules! trimmed_with_trim {
    ($($k:ty),*) => {$(
        impl super::compact::Trim for $k {
            fn trim(&mut self) {
                trim(self);
            }

            fn empty() -> Self {
                Self::default()
            }
        }
    )*};
}
macro_rules! trimmed_without_status {
    ($($k:ty),*) => {$(
        impl super::compact::Trim for $k {
            fn trim(&mut self) {
                trim(self);
                self.status = None;
            }

            fn empty() -> Self {
                Self::default()
            }
        }
    )*};
}
impl super::compact::Trim for Deployment {
    /// The scaler and scheduled-action annotations are read from the cache.
    const ANNOTATIONS_DECODED: bool = true;

    fn trim(&mut self) {
        trim(self);
    }

    fn empty() -> Self {
        Self::default()
    }
}

impl super::compact::Trim for k8s_openapi::api::core::v1::Node {
    /// Nodes are counted per capacity provider by their labels.
    const LABELS_DECODED: bool = true;

    fn trim(&mut self) {
        trim(self);
        self.status = None;
    }

    fn empty() -> Self {
        Self::default()
    }
}

/// The ECS kinds a controller reconciles: a change of their labels or annotations wakes it
/// (see [`object_key`]), so both stay decoded.
macro_rules! trimmed_with_metadata {
    ($($k:ty),*) => {$(
        impl super::compact::Trim for $k {
            const LABELS_DECODED: bool = true;
            const ANNOTATIONS_DECODED: bool = true;

            fn trim(&mut self) {
                trim(self);
            }

            fn empty() -> Self {
                Self::default()
            }
        }
    )*};
}
trimmed_with_metadata!(crate::api::Service, crate::api::TaskDefinition);
trimmed_with_trim!(
    k8s_openapi::api::apps::v1::ControllerRevision,
    DaemonSet,
    k8s_openapi::api::core::v1::ServiceAccount,
    k8s_openapi::api::batch::v1::CronJob
);
trimmed_without_status!(
    k8s_openapi::api::core::v1::Service,
    k8s_openapi::api::networking::v1::Ingress,
    k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler,
    k8s_openapi::api::policy::v1::PodDisruptionBudget
);

impl super::compact::Trim for Pod {
    /// Pods are indexed and counted by their labels.
    const LABELS_DECODED: bool = true;

    fn trim(&mut self) {
        trim_pod(self);
    }

    fn empty() -> Self {
        Self::default()
    }
}

/// Children of other projects' kinds (TargetGroupBinding, ExternalSecret, ScaledObject...):
/// compared whole with what the operator applies, found by owner.
impl super::compact::Trim for DynamicObject {
    fn trim(&mut self) {
        trim(self);
    }

    fn empty() -> Self {
        DynamicObject {
            types: None,
            metadata: Default::default(),
            data: Value::Null,
        }
    }
}

/// A fingerprint of `v`.
pub fn fingerprint<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// What a watch's events changed, object by object (by a fingerprint of its uid, eight bytes
/// an object): see [`Changes::of`].
#[derive(Debug, Default)]
pub struct Changes {
    seen: HashMap<u64, u64>,
}

impl Changes {
    /// The object of `event` when it changed in what `key` tells apart since it was last seen,
    /// or was deleted; `None` for its first sighting and for the other events.
    pub fn of<K: Resource>(
        &mut self,
        event: watcher::Event<K>,
        key: impl Fn(&K) -> u64,
    ) -> Option<K> {
        match event {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) => {
                let k = key(&o);
                // The bound of [`changed_or_deleted`], for objects deleted while the watch was
                // down (past it, each object's next change is a first sighting).
                if self.seen.len() > 200_000 {
                    self.seen.clear();
                }
                let before = self.seen.insert(uid_fingerprint(&o), k);
                before.is_some_and(|b| b != k).then_some(o)
            }
            watcher::Event::Delete(o) => {
                self.seen.remove(&uid_fingerprint(&o));
                Some(o)
            }
            watcher::Event::Init | watcher::Event::InitDone => None,
        }
    }
}

/// A fingerprint of an object's uid (of its namespace and name without one).
fn uid_fingerprint<K: Resource>(o: &K) -> u64 {
    let meta = o.meta();
    match &meta.uid {
        Some(uid) => fingerprint(uid),
        None => fingerprint(&(&meta.namespace, &meta.name)),
    }
}

/// A fingerprint of everything but the status and the bookkeeping metadata (resourceVersion,
/// managed fields): what a hand edit changes, not what the object's controller reports.
pub fn spec_fingerprint<K: serde::Serialize>(obj: &K) -> u64 {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    fingerprint(&v.to_string())
}

/// What a Service reads of its Deployment: the spec and metadata (drift), and the rollout
/// counts of the status (not its timestamps).
pub fn deployment_key(d: &Deployment) -> u64 {
    let st = d.status.clone().unwrap_or_default();
    let deadline = st.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    fingerprint(&(
        spec_fingerprint(d),
        st.observed_generation,
        st.updated_replicas,
        st.available_replicas,
        deadline,
    ))
}

/// What a Service reads of its DaemonSet: the spec and metadata, and the rollout counts.
pub fn daemon_set_key(d: &DaemonSet) -> u64 {
    let st = d.status.clone().unwrap_or_default();
    fingerprint(&(
        spec_fingerprint(d),
        st.observed_generation,
        st.desired_number_scheduled,
        st.updated_number_scheduled,
        st.number_available,
    ))
}

/// What a Service reads of a pod: its labels, phase, readiness, restarts, scheduling failure
/// and whether it is terminating.
pub fn pod_key(p: &Pod) -> u64 {
    let status = p.status.as_ref();
    let conditions: Vec<(&str, &str, Option<&str>)> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.type_ == "Ready" || c.type_ == "PodScheduled")
        .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_deref()))
        .collect();
    let restarts: i32 = status
        .and_then(|s| s.container_statuses.as_ref())
        .map(|cs| cs.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0);
    fingerprint(&(
        &p.metadata.labels,
        status.and_then(|s| s.phase.as_deref()),
        conditions,
        restarts,
        p.metadata.deletion_timestamp.is_some(),
    ))
}

/// What the workloads of a TaskDefinition's family read of it: its spec (generation), the
/// latest registered revision and whether registration caught up.
pub fn task_definition_key(td: &TaskDefinition) -> u64 {
    let st = td.status.as_ref();
    fingerprint(&(
        td.metadata.generation,
        st.and_then(|s| s.revision),
        st.and_then(|s| s.common.observed_generation),
    ))
}

/// What a reconcile of an object reads of it besides its status: spec, labels, annotations,
/// deletion (its own status writes do not wake it).
pub fn object_key<K: Resource>(obj: &K) -> u64 {
    let m = obj.meta();
    fingerprint(&(
        m.generation,
        &m.labels,
        &m.annotations,
        m.deletion_timestamp.is_some(),
    ))
}

/// Only the events of `events` whose `key` differs from the last one seen for the same object:
/// status updates and resyncs that change nothing the owner reads do not wake it.
pub fn changed<K, S, F>(events: S, key: F) -> impl Stream<Item = Arc<K>> + Send + 'static
where
    K: Resource + Send + Sync + 'static,
    S: Stream<Item = Arc<K>> + Send + 'static,
    F: Fn(&K) -> u64 + Send + 'static,
{
    changed_or_deleted(events, futures::stream::empty(), key)
}

/// [`changed`] events, and every object of `deleted` (which the last key seen of each is
/// forgotten with, so that what is remembered follows the objects that exist).
pub fn changed_or_deleted<K, S, D, F>(
    events: S,
    deleted: D,
    key: F,
) -> impl Stream<Item = Arc<K>> + Send + 'static
where
    K: Resource + Send + Sync + 'static,
    S: Stream<Item = Arc<K>> + Send + 'static,
    D: Stream<Item = Arc<K>> + Send + 'static,
    F: Fn(&K) -> u64 + Send + 'static,
{
    // Objects by a fingerprint of their uid (of their namespace and name without one): eight
    // bytes an object rather than a string.
    let mut seen: HashMap<u64, u64> = HashMap::new();
    let events = futures::stream::select(events.map(|o| (o, false)), deleted.map(|o| (o, true)));
    events.filter_map(move |(o, gone)| {
        let id = uid_fingerprint(&*o);
        let wakes = if gone {
            seen.remove(&id);
            true
        } else {
            let k = key(&o);
            // A bound for objects whose deletion was never seen (deleted while the watch was
            // down): past it, the next event of each object wakes its owner once.
            if seen.len() > 200_000 {
                seen.clear();
            }
            seen.insert(id, k) != Some(k)
        };
        futures::future::ready(wakes.then_some(o))
    })
}

/// What API discovery says of one of [`THIRD_PARTY_KINDS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovered {
    /// Installed, and the operator may watch it in every namespace.
    Watchable(ApiResource),
    /// Installed, but RBAC does not let the operator watch it.
    NotWatchable,
    /// Not installed (its group, version or kind is unknown to the API server).
    NotInstalled,
}

/// One of [`THIRD_PARTY_KINDS`], asked of the API server for the operator's `namespaces` (none:
/// every namespace) (`Err`: no answer, e.g. the API server is unreachable: neither installed nor
/// missing). `watched`: the operator watches it already, so only whether it is still installed
/// is asked (no access review per namespace every round).
async fn discover_kind(
    client: &Client,
    (group, version, kind): (&str, &str, &str),
    namespaces: &[String],
    watched: bool,
) -> Result<Discovered, kube::Error> {
    use kube::error::DiscoveryError;
    let gvk = GroupVersionKind::gvk(group, version, kind);
    match kube::discovery::pinned_kind(client, &gvk).await {
        Ok((ar, _)) => Ok(if watched || may_watch(client, &ar, namespaces).await? {
            Discovered::Watchable(ar)
        } else {
            Discovered::NotWatchable
        }),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Discovered::NotInstalled),
        Err(kube::Error::Discovery(DiscoveryError::MissingKind(_))) => Ok(Discovered::NotInstalled),
        Err(e) => Err(e),
    }
}

/// The API resources of [`THIRD_PARTY_KINDS`] whose CRD is installed and which the operator may
/// watch in its `namespaces` (none: every namespace) (API discovery, at start). A kind the API
/// server gave no answer about is not watched until [`third_party_changed`] finds it.
pub async fn discover_third_party(client: &Client, namespaces: &[String]) -> Vec<ApiResource> {
    let mut found = Vec::new();
    for &(group, version, kind) in THIRD_PARTY_KINDS {
        match discover_kind(client, (group, version, kind), namespaces, false).await {
            Ok(Discovered::Watchable(ar)) => found.push(ar),
            Ok(Discovered::NotWatchable) => tracing::info!(
                kind,
                group,
                "kind installed but not watchable by the operator (RBAC): not watched (its objects are read before each apply)"
            ),
            Ok(Discovered::NotInstalled) => tracing::info!(
                kind,
                group,
                "kind not installed: not watched (its objects are read before each apply)"
            ),
            Err(e) => tracing::warn!(
                kind,
                group,
                error = %e,
                "could not discover the kind: not watched for now (its objects are read before each apply)"
            ),
        }
    }
    found
}

/// The kinds of `resources`, comparable.
fn kinds(resources: &[ApiResource]) -> std::collections::BTreeSet<(String, String, String)> {
    resources
        .iter()
        .map(|ar| (ar.group.clone(), ar.version.clone(), ar.kind.clone()))
        .collect()
}

/// Resolves, with the new set, once API discovery (every `every`) finds the third-party kinds
/// the operator may watch different from `current`: a CRD installed (or RBAC granted) after the
/// operator started, or one removed. A round in which any kind got no answer changes nothing,
/// so that an API server restart never looks like an uninstall. The permission to watch is
/// asked only for kinds not watched yet.
pub async fn third_party_changed(
    client: Client,
    namespaces: Vec<String>,
    current: Vec<ApiResource>,
    every: Duration,
) -> Vec<ApiResource> {
    loop {
        tokio::time::sleep(every).await;
        let mut found = Vec::new();
        let mut answered = true;
        for &gvk in THIRD_PARTY_KINDS {
            let watched = current
                .iter()
                .any(|ar| (ar.group.as_str(), ar.kind.as_str()) == (gvk.0, gvk.2));
            match discover_kind(&client, gvk, &namespaces, watched).await {
                Ok(Discovered::Watchable(ar)) => found.push(ar),
                Ok(_) => {}
                Err(_) => answered = false,
            }
        }
        if answered && kinds(&found) != kinds(&current) {
            return found;
        }
    }
}

/// Whether the operator may watch `ar` where it watches: in each of `namespaces` (a namespaced
/// install's Roles), or in every namespace when there are none (a SelfSubjectAccessReview each;
/// RBAC that grants only reads and writes of the kind leaves it unwatched).
async fn may_watch(
    client: &Client,
    ar: &ApiResource,
    namespaces: &[String],
) -> Result<bool, kube::Error> {
    use k8s_openapi::api::authorization::v1::{
        ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
    };
    let api: kube::Api<SelfSubjectAccessReview> = kube::Api::all(client.clone());
    let scopes: Vec<Option<&String>> = match namespaces {
        [] => vec![None],
        some => some.iter().map(Some).collect(),
    };
    for namespace in scopes {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    group: Some(ar.group.clone()),
                    resource: Some(ar.plural.clone()),
                    verb: Some("watch".into()),
                    namespace: namespace.cloned(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = api.create(&Default::default(), &review).await?;
        if !r.status.is_some_and(|s| s.allowed) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A cached third-party child (compact, as every cached object).
pub type CachedDynamic = super::compact::Compact<DynamicObject>;

/// Caches of third-party children, by kind.
#[derive(Clone, Default)]
pub struct ThirdParty {
    stores: HashMap<String, (ApiResource, Store<CachedDynamic>)>,
    indexes: HashMap<String, super::index::Index<CachedDynamic>>,
}

impl ThirdParty {
    /// Add the cache of `ar`'s kind.
    pub fn insert(
        &mut self,
        ar: ApiResource,
        store: Store<CachedDynamic>,
        index: super::index::Index<CachedDynamic>,
    ) {
        self.indexes.insert(ar.kind.clone(), index);
        self.stores.insert(ar.kind.clone(), (ar, store));
    }

    /// The cached objects of `ar`'s kind owned by the object with `uid`.
    pub fn owned_by(&self, ar: &ApiResource, uid: &str) -> Vec<Arc<CachedDynamic>> {
        match (self.stores.get(&ar.kind), self.indexes.get(&ar.kind)) {
            (Some((ar, store)), Some(index)) => {
                index.objects_with(store, ar, &super::index::owner_key(uid))
            }
            _ => Vec::new(),
        }
    }

    /// Index what the caches hold (see [`super::context::Stores::reindexed`]).
    pub fn reindex(&self) {
        for (kind, (_, store)) in &self.stores {
            if let Some(index) = self.indexes.get(kind) {
                index.rebuild(store);
            }
        }
    }

    /// Whether `kind` is cached.
    pub fn watches(&self, kind: &str) -> bool {
        self.stores.contains_key(kind)
    }

    /// The cached `namespace/name` of `kind`, as JSON.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let (ar, store) = self.stores.get(kind)?;
        let key = ObjectRef::<CachedDynamic>::new_with(name, ar.clone()).within(namespace);
        store
            .get(&key)
            .map(|o| serde_json::to_value(&*o).expect("objects serialise"))
    }

    /// The caches.
    pub fn all(&self) -> impl Iterator<Item = &(ApiResource, Store<CachedDynamic>)> {
        self.stores.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    #[test]
    fn the_watch_backoff_doubles_up_to_two_seconds_and_resets() {
        let mut b = QuickBackoff::default();
        let delays: Vec<u64> = (&mut b).take(6).map(|d| d.as_millis() as u64).collect();
        assert_eq!(delays, vec![250, 500, 1000, 2000, 2000, 2000]);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_millis(250)));
    }

    /// A deletion always wakes, and the object's last key is forgotten with it.
    #[test]
    fn a_deletion_wakes_and_is_forgotten() {
        use futures::channel::mpsc::unbounded;
        let cm = |v: &str| {
            Arc::new(ConfigMap {
                metadata: kube::api::ObjectMeta {
                    uid: Some("1".into()),
                    ..Default::default()
                },
                data: Some([("k".to_string(), v.to_string())].into()),
                ..Default::default()
            })
        };
        let value = |c: Option<Arc<ConfigMap>>| c.and_then(|c| c.data.clone()?.get("k").cloned());
        futures::executor::block_on(async {
            let (applied, a) = unbounded();
            let (deleted, d) = unbounded();
            let mut out = Box::pin(changed_or_deleted(a, d, |c: &ConfigMap| {
                fingerprint(&c.data)
            }));
            applied.unbounded_send(cm("a")).unwrap();
            assert_eq!(value(out.next().await), Some("a".into()));
            // The same again wakes nobody; the next change does.
            applied.unbounded_send(cm("a")).unwrap();
            applied.unbounded_send(cm("b")).unwrap();
            assert_eq!(value(out.next().await), Some("b".into()));
            deleted.unbounded_send(cm("b")).unwrap();
            assert_eq!(value(out.next().await), Some("b".into()), "the deletion");
            // Forgotten: the same object seen again (recreated with its uid) wakes once more.
            applied.unbounded_send(cm("b")).unwrap();
            assert_eq!(value(out.next().await), Some("b".into()));
        });
    }

    fn tgb(uid: &str, port: i64, status: &str) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
            "metadata": {"name": "web", "namespace": "a", "uid": uid, "resourceVersion": status},
            "spec": {"serviceRef": {"name": "web", "port": port}},
            "status": {"observedGeneration": status},
        }))
        .unwrap()
    }

    /// A third-party child wakes its owner when someone changes it or deletes it: not when it
    /// is first seen (its owner just created it), nor when only its status changes.
    #[test]
    fn changes_are_what_was_edited_or_deleted_after_the_first_sighting() {
        use watcher::Event::*;
        let mut c = Changes::default();
        let key = spec_fingerprint::<DynamicObject>;
        let woken = |o: Option<DynamicObject>| o.map(|o| o.metadata.resource_version.unwrap());
        // (event, what it wakes): after the first sightings, a status-only change wakes
        // nobody, a hand edit and a deletion wake; after a relist (the watch broke), what
        // changed meanwhile wakes and what did not stays quiet.
        let steps = [
            (Init, None),
            (InitApply(tgb("1", 80, "1")), None),
            (InitDone, None),
            (Apply(tgb("1", 80, "2")), None),
            (Apply(tgb("1", 81, "3")), Some("3")),
            (Apply(tgb("2", 80, "4")), None),
            (Delete(tgb("1", 81, "5")), Some("5")),
            (InitApply(tgb("2", 80, "6")), None),
            (InitApply(tgb("2", 90, "7")), Some("7")),
        ];
        for (i, (event, wakes)) in steps.into_iter().enumerate() {
            assert_eq!(woken(c.of(event, key)), wakes.map(String::from), "step {i}");
        }
        assert_eq!(c.seen.len(), 1, "a deleted object is forgotten");
    }

    #[test]
    fn trimming_drops_managed_fields_and_the_last_applied_copy_only() {
        let mut cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {
                "name": "a",
                "annotations": {LAST_APPLIED: "{...}", "keep": "me"},
                "managedFields": [{"manager": "kubectl"}],
            },
            "data": {"k": "v"},
        }))
        .unwrap();
        trim(&mut cm);
        assert_eq!(
            serde_json::to_value(&cm).unwrap(),
            json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "annotations": {"keep": "me"}}, "data": {"k": "v"},
            })
        );
    }

    #[test]
    fn a_trimmed_pod_keeps_container_names_node_grace_and_status() {
        let mut p: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "labels": {"a": "b"}, "managedFields": [{"manager": "k"}]},
            "spec": {
                "nodeName": "n1",
                "terminationGracePeriodSeconds": 30,
                "volumes": [{"name": "v", "emptyDir": {}}],
                "initContainers": [{"name": "init", "image": "busybox", "restartPolicy": "Always"}],
                "containers": [{"name": "app", "image": "nginx", "env": [{"name": "X", "value": "1"}]}],
            },
            "status": {"phase": "Running"},
        }))
        .unwrap();
        trim_pod(&mut p);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "labels": {"a": "b"}},
                "spec": {
                    "nodeName": "n1",
                    "terminationGracePeriodSeconds": 30,
                    "initContainers": [{"name": "init", "restartPolicy": "Always"}],
                    "containers": [{"name": "app"}],
                },
                "status": {"phase": "Running"},
            })
        );
    }

    #[tokio::test]
    async fn only_changes_of_the_key_pass() {
        let cm = |uid: &str, rv: &str, v: &str| {
            Arc::new(
                serde_json::from_value::<ConfigMap>(json!({
                    "metadata": {"name": "a", "uid": uid, "resourceVersion": rv},
                    "data": {"k": v},
                }))
                .unwrap(),
            )
        };
        let events = futures::stream::iter(vec![
            cm("1", "1", "x"),
            cm("1", "2", "x"),
            cm("2", "3", "x"),
            cm("1", "4", "y"),
        ]);
        let passed: Vec<String> = changed(events, spec_fingerprint)
            .map(|c| c.metadata.resource_version.clone().unwrap())
            .collect()
            .await;
        assert_eq!(passed, vec!["1", "3", "4"]);
    }
}
