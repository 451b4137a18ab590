//! Secondary indexes over the watch caches, so that the hot paths look objects up by key instead
//! of scanning every cached object: the children of an owner, the pods of a workload or a
//! Cluster, the Services, Tasks and ScheduledTasks of a task definition family, the revisions of a
//! TaskDefinition, the Clusters a cluster name designates. A reflector store only finds an
//! object by namespace and name.
//!
//! Each index is kept in step with its watch: it sees every watch event just before the cache
//! does (a re-list replaces it whole once the list is complete, as the cache does), so a
//! reconcile woken by an event finds both the cache and the index updated.

use std::collections::{HashMap, HashSet};
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service as KService, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::DynamicObject;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};

use crate::api::{Cluster, ScheduledTask, Service, Task, TaskDefinition};
use crate::translate::{labels, reference, task_definition};

use super::compact::Compact;
use super::revisions;

/// Namespace and name of an indexed object.
type Name = (String, String);

/// A name as the index holds it: one allocation shared by every key of the object and by its
/// entry in [`State::keys_of`].
type SharedName = Arc<Name>;

/// A key as the index holds it: a 128-bit SipHash of its text (`owner:<uid>`,
/// `family:<namespace>/<family>`...). Keys are many (one or more per cached object) and their
/// text long; 16 bytes instead of the text in both maps halves the index (issue 12). Two keys
/// collide with a probability of about 10^-29 at a million keys, below that of a uid collision.
type KeyId = u128;

/// The [`KeyId`] of a key.
fn key_id(key: &str) -> KeyId {
    use siphasher::sip128::{Hasher128, SipHasher13};
    use std::hash::Hasher;
    let mut h = SipHasher13::new();
    h.write(key.as_bytes());
    h.finish128().as_u128()
}

/// Objects of one kind by key (an object may have several keys, or none).
pub struct Index<K> {
    state: Arc<RwLock<State>>,
    keys: fn(&K) -> Vec<String>,
    _kind: PhantomData<fn(&K)>,
}

impl<K> Clone for Index<K> {
    fn clone(&self) -> Self {
        Index {
            state: self.state.clone(),
            keys: self.keys,
            _kind: PhantomData,
        }
    }
}

/// The names under one key. Most keys (an owner, a workload) hold one or a few names: a short
/// list then, a hash set only past [`Names::FEW`] (a cluster's pods), so that thousands of
/// one-name keys do not each cost a hash table.
enum Names {
    Few(Vec<SharedName>),
    Many(HashSet<SharedName>),
}

impl Default for Names {
    fn default() -> Self {
        Names::Few(Vec::new())
    }
}

impl Names {
    const FEW: usize = 16;

    fn insert(&mut self, name: SharedName) {
        match self {
            Names::Few(v) if v.contains(&name) => {}
            Names::Few(v) if v.len() < Self::FEW => {
                // Most keys keep one name: no room for three more.
                v.reserve_exact(1);
                v.push(name)
            }
            Names::Few(v) => {
                let mut set: HashSet<SharedName> = v.drain(..).collect();
                set.insert(name);
                *self = Names::Many(set);
            }
            Names::Many(set) => {
                set.insert(name);
            }
        }
    }

    fn remove(&mut self, name: &Name) {
        match self {
            Names::Few(v) => v.retain(|n| **n != *name),
            Names::Many(set) => {
                set.remove(name);
            }
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Names::Few(v) => v.is_empty(),
            Names::Many(set) => set.is_empty(),
        }
    }

    fn to_vec(&self) -> Vec<Name> {
        match self {
            Names::Few(v) => v.iter().map(|n| (**n).clone()).collect(),
            Names::Many(set) => set.iter().map(|n| (**n).clone()).collect(),
        }
    }
}

#[derive(Default)]
struct State {
    by_key: HashMap<KeyId, Names>,
    keys_of: HashMap<SharedName, Vec<KeyId>>,
    /// The keys of a re-list in progress (between `Init` and `InitDone`).
    relist: Option<HashMap<Name, Vec<KeyId>>>,
}

impl State {
    /// Give `name` exactly `keys` (none: forget it).
    fn set(&mut self, name: Name, keys: Vec<KeyId>) {
        let shared = match self.keys_of.remove_entry(&name) {
            Some((shared, old)) => {
                for k in old {
                    if let Some(names) = self.by_key.get_mut(&k) {
                        names.remove(&name);
                        if names.is_empty() {
                            self.by_key.remove(&k);
                        }
                    }
                }
                shared
            }
            None => Arc::new(name),
        };
        if keys.is_empty() {
            return;
        }
        for k in &keys {
            self.by_key.entry(*k).or_default().insert(shared.clone());
        }
        self.keys_of.insert(shared, keys);
    }

    /// Replace everything with the keys of a completed re-list.
    fn replace(&mut self, listed: HashMap<Name, Vec<KeyId>>) {
        self.by_key.clear();
        self.keys_of.clear();
        for (name, keys) in listed {
            self.set(name, keys);
        }
        self.by_key.shrink_to_fit();
        self.keys_of.shrink_to_fit();
    }
}

fn name_of<K: Resource>(o: &K) -> Name {
    let m = o.meta();
    (
        m.namespace.clone().unwrap_or_default(),
        m.name.clone().unwrap_or_default(),
    )
}

impl<K: Resource> Index<K> {
    /// An empty index whose objects have the keys `keys` gives.
    pub fn new(keys: fn(&K) -> Vec<String>) -> Self {
        Index {
            state: Arc::default(),
            keys,
            _kind: PhantomData,
        }
    }

    /// Take in one watch event.
    pub fn apply(&self, event: &watcher::Event<K>) {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        match event {
            watcher::Event::Apply(o) => st.set(name_of(o), self.key_ids(o)),
            watcher::Event::Delete(o) => st.set(name_of(o), Vec::new()),
            watcher::Event::Init => st.relist = Some(HashMap::new()),
            watcher::Event::InitApply(o) => {
                let keys = self.key_ids(o);
                st.relist.get_or_insert_default().insert(name_of(o), keys);
            }
            watcher::Event::InitDone => {
                let listed = st.relist.take().unwrap_or_default();
                st.replace(listed);
            }
        }
    }

    /// The [`KeyId`]s of `o`'s keys.
    fn key_ids(&self, o: &K) -> Vec<KeyId> {
        let mut ids: Vec<KeyId> = (self.keys)(o).iter().map(|k| key_id(k)).collect();
        ids.shrink_to_fit();
        ids
    }

    /// Index every object of `store` (for caches filled without a watch: tests, tools).
    pub fn rebuild(&self, store: &Store<K>)
    where
        K: Clone,
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        self.apply(&watcher::Event::Init);
        for o in store.state() {
            self.apply(&watcher::Event::InitApply((*o).clone()));
        }
        self.apply(&watcher::Event::InitDone);
    }

    /// Namespace and name of the objects with `key`, sorted.
    pub fn names(&self, key: &str) -> Vec<Name> {
        let st = self.state.read().unwrap_or_else(|e| e.into_inner());
        let mut names: Vec<Name> = st
            .by_key
            .get(&key_id(key))
            .map(Names::to_vec)
            .unwrap_or_default();
        names.sort();
        names
    }

    /// The cached objects with `key` (`dyntype`: the kind, for dynamic objects).
    pub fn objects_with(&self, store: &Store<K>, dyntype: &K::DynamicType, key: &str) -> Vec<Arc<K>>
    where
        K: Clone,
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        self.names(key)
            .into_iter()
            .filter_map(|(ns, name)| {
                store.get(&ObjectRef::new_with(&name, dyntype.clone()).within(&ns))
            })
            .collect()
    }

    /// The cached objects with `key`.
    pub fn objects(&self, store: &Store<K>, key: &str) -> Vec<Arc<K>>
    where
        K: Resource<DynamicType = ()> + Clone,
    {
        self.objects_with(store, &(), key)
    }
}

/// Key of the objects owned by the object with `uid`.
pub fn owner_key(uid: &str) -> String {
    format!("owner:{uid}")
}

/// Key of the pods of workload (Deployment or DaemonSet) `workload` in `namespace`.
pub fn workload_key(namespace: &str, workload: &str) -> String {
    format!("workload:{namespace}/{workload}")
}

/// Key of the pods and Services of the cluster `cluster` (as [`reference::cluster_of`] gives
/// it) in `namespace`.
pub fn cluster_key(namespace: &str, cluster: &str) -> String {
    format!("cluster:{namespace}/{cluster}")
}

/// Key of the objects that use task definition family `family` in `namespace`.
pub fn family_key(namespace: &str, family: &str) -> String {
    format!("family:{namespace}/{family}")
}

fn namespace<K: Resource>(o: &K) -> String {
    o.meta().namespace.clone().unwrap_or_default()
}

/// Keys of a child: its owners.
pub fn owned<K: Resource>(o: &K) -> Vec<String> {
    o.owner_references()
        .iter()
        .map(|r| owner_key(&r.uid))
        .collect()
}

/// Keys of a pod: its workload and its cluster.
pub fn pod_keys(p: &Compact<Pod>) -> Vec<String> {
    let ns = namespace(p);
    let l = p.labels();
    let mut keys: Vec<String> = l
        .get(labels::SERVICE)
        .map(|w| workload_key(&ns, w))
        .into_iter()
        .collect();
    keys.push(cluster_key(
        &ns,
        &reference::cluster_of(l.get(labels::CLUSTER).map(String::as_str)),
    ));
    keys
}

/// Keys of an ECS Service: every family it names or still runs (spec, status, deployments),
/// and its cluster.
pub fn service_keys(s: &Service) -> Vec<String> {
    let ns = namespace(s);
    let st = s.status.as_ref();
    let references = s
        .spec
        .create
        .task_definition
        .iter()
        .chain(st.and_then(|st| st.task_definition.as_ref()))
        .chain(
            st.iter()
                .flat_map(|st| st.deployments.iter().map(|d| &d.task_definition)),
        );
    let mut keys: Vec<String> = references
        .map(|r| family_key(&ns, &revisions::parse_reference(r).0))
        .collect();
    keys.push(cluster_key(
        &ns,
        &reference::cluster_of(s.spec.create.cluster.as_deref()),
    ));
    keys.sort();
    keys.dedup();
    keys
}

/// Key of a TaskDefinition: its family.
pub fn task_definition_keys(td: &TaskDefinition) -> Vec<String> {
    vec![family_key(
        &namespace(td),
        &task_definition::family(&td.spec, &td.name_any()),
    )]
}

/// Keys of a Task: the family it runs (spec and status).
pub fn task_keys(t: &Task) -> Vec<String> {
    let ns = namespace(t);
    let mut keys: Vec<String> = std::iter::once(&t.spec.run.task_definition)
        .chain(t.status.as_ref().and_then(|s| s.task_definition.as_ref()))
        .map(|r| family_key(&ns, &revisions::parse_reference(r).0))
        .collect();
    keys.dedup();
    keys
}

/// Keys of a Cluster: the names that designate it (see [`reference::is_cluster`]), its object
/// name and its `clusterName`, each as [`cluster_key`].
pub fn cluster_keys(c: &Cluster) -> Vec<String> {
    let ns = namespace(c);
    let mut keys = vec![cluster_key(&ns, &c.name_any())];
    if let Some(name) = c.spec.create.cluster_name.as_deref() {
        keys.push(cluster_key(&ns, name));
    }
    keys.dedup();
    keys
}

/// Key of a ScheduledTask: the family it runs.
pub fn scheduled_task_keys(t: &ScheduledTask) -> Vec<String> {
    vec![family_key(
        &namespace(t),
        &revisions::parse_reference(&t.spec.run.task_definition).0,
    )]
}

/// The indexes of every cache that a hot path searches by something other than its name.
#[derive(Clone)]
pub struct Indexes {
    /// Pods by workload and by cluster.
    pub pods: Index<Compact<Pod>>,
    /// ECS Services by family and by cluster.
    pub services: Index<Compact<Service>>,
    /// TaskDefinitions by family.
    pub task_definitions: Index<Compact<TaskDefinition>>,
    /// Tasks by family.
    pub tasks: Index<Task>,
    /// ScheduledTasks by family.
    pub scheduled_tasks: Index<ScheduledTask>,
    /// Clusters by the names that designate them.
    pub clusters: Index<Cluster>,
    /// Revisions by owner.
    pub revisions: Index<Compact<ControllerRevision>>,
    /// Children by owner.
    pub deployments: Index<Compact<Deployment>>,
    /// Children by owner.
    pub daemon_sets: Index<Compact<DaemonSet>>,
    /// Children by owner.
    pub k8s_services: Index<Compact<KService>>,
    /// Children by owner.
    pub service_accounts: Index<Compact<ServiceAccount>>,
    /// Children by owner.
    pub ingresses: Index<Compact<Ingress>>,
    /// Children by owner.
    pub hpas: Index<Compact<HorizontalPodAutoscaler>>,
    /// Children by owner.
    pub pdbs: Index<Compact<PodDisruptionBudget>>,
}

impl Default for Indexes {
    fn default() -> Self {
        Indexes {
            pods: Index::new(pod_keys),
            services: Index::new(|s| service_keys(&s.object())),
            task_definitions: Index::new(|t| task_definition_keys(&t.object())),
            tasks: Index::new(task_keys),
            scheduled_tasks: Index::new(scheduled_task_keys),
            clusters: Index::new(cluster_keys),
            revisions: Index::new(owned),
            deployments: Index::new(owned),
            daemon_sets: Index::new(owned),
            k8s_services: Index::new(owned),
            service_accounts: Index::new(owned),
            ingresses: Index::new(owned),
            hpas: Index::new(owned),
            pdbs: Index::new(owned),
        }
    }
}

/// An index of third-party children by owner.
pub fn dynamic_owned() -> Index<Compact<DynamicObject>> {
    Index::new(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

    fn pod(name: &str, workload: &str, owner: &str) -> Compact<Pod> {
        Compact::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                labels: Some([(labels::SERVICE.to_string(), workload.to_string())].into()),
                owner_references: Some(vec![OwnerReference {
                    uid: owner.into(),
                    ..OwnerReference::default()
                }]),
                ..ObjectMeta::default()
            },
            ..Pod::default()
        })
    }

    fn names(i: &Index<Compact<Pod>>, key: &str) -> Vec<String> {
        i.names(key).into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn a_key_holds_many_names_past_the_short_list_and_forgets_them() {
        let mut names = Names::default();
        let name = |i: usize| ("ns".to_string(), format!("p{i:02}"));
        for i in 0..Names::FEW + 4 {
            names.insert(Arc::new(name(i)));
            names.insert(Arc::new(name(i)));
        }
        assert!(matches!(names, Names::Many(_)));
        let mut all = names.to_vec();
        all.sort();
        assert_eq!(all, (0..Names::FEW + 4).map(name).collect::<Vec<_>>());
        for i in 1..Names::FEW + 4 {
            names.remove(&name(i));
        }
        assert_eq!(names.to_vec(), [name(0)]);
        names.remove(&name(0));
        assert!(names.is_empty());
    }

    #[test]
    fn an_object_moves_between_keys_and_leaves_on_delete() {
        let i = Index::new(pod_keys);
        i.apply(&watcher::Event::Apply(pod("a", "web", "u1")));
        i.apply(&watcher::Event::Apply(pod("b", "web", "u1")));
        assert_eq!(names(&i, &workload_key("ns", "web")), ["a", "b"]);
        assert_eq!(names(&i, &cluster_key("ns", "default")), ["a", "b"]);
        i.apply(&watcher::Event::Apply(pod("a", "api", "u1")));
        assert_eq!(names(&i, &workload_key("ns", "web")), ["b"]);
        assert_eq!(names(&i, &workload_key("ns", "api")), ["a"]);
        i.apply(&watcher::Event::Delete(pod("b", "web", "u1")));
        assert!(names(&i, &workload_key("ns", "web")).is_empty());
        let emptied = workload_key("ns", "web");
        assert!(
            !i.state
                .read()
                .unwrap()
                .by_key
                .contains_key(&key_id(&emptied))
        );
    }

    #[test]
    fn an_objects_keys_share_one_copy_of_its_name() {
        let i = Index::new(pod_keys);
        i.apply(&watcher::Event::Apply(pod("a", "web", "u1")));
        let st = i.state.read().unwrap();
        let (shared, keys) = st.keys_of.iter().next().unwrap();
        assert_eq!(
            keys,
            &[
                key_id(&workload_key("ns", "web")),
                key_id(&cluster_key("ns", "default"))
            ]
        );
        // One in `keys_of`, one under each of its two keys.
        assert_eq!(Arc::strong_count(shared), 3);
    }

    #[test]
    fn a_relist_replaces_the_index_once_complete() {
        let i = Index::new(owned::<Compact<Pod>>);
        i.apply(&watcher::Event::Apply(pod("gone", "web", "u1")));
        i.apply(&watcher::Event::Init);
        i.apply(&watcher::Event::InitApply(pod("kept", "web", "u1")));
        // Until the list is complete, the index answers as before.
        assert_eq!(names(&i, &owner_key("u1")), ["gone"]);
        i.apply(&watcher::Event::InitDone);
        assert_eq!(names(&i, &owner_key("u1")), ["kept"]);
    }

    #[test]
    fn a_service_is_found_by_every_family_it_names_or_runs_and_by_its_cluster() {
        let svc: Service = serde_json::from_value(serde_json::json!({
            "apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "ns"},
            "spec": {"taskDefinition": "web:3", "cluster": "arn:aws:ecs:us-east-1:1:cluster/prod"},
            "status": {"taskDefinition": "old:2",
                       "deployments": [{"id": "d", "status": "PRIMARY", "taskDefinition": "old:1"}]}
        }))
        .unwrap();
        assert_eq!(
            service_keys(&svc),
            [
                cluster_key("ns", "prod"),
                family_key("ns", "old"),
                family_key("ns", "web")
            ]
        );
    }
}
