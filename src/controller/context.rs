//! What every reconciler shares: the client, caches (shared reflector stores), metrics, the
//! Event recorder and the operator's settings.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Service as KService, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource};

use crate::api::{Cluster, ScheduledTask, Service, Task, TaskDefinition};

use super::compact::Compact;
use super::metrics::Metrics;

/// Operator settings (from the command line).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Revisions kept per task definition family (those in use are always kept).
    pub revision_history_limit: usize,
    /// Requeue interval of a converged object.
    pub resync: Duration,
    /// Requeue interval while something is in progress.
    pub poll: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            revision_history_limit: 10,
            resync: Duration::from_secs(300),
            poll: Duration::from_secs(5),
        }
    }
}

/// The caches every reconciler reads instead of the API server.
#[derive(Clone)]
pub struct Stores {
    /// TaskDefinitions.
    pub task_definitions: Store<Compact<TaskDefinition>>,
    /// ECS Services.
    pub services: Store<Compact<Service>>,
    /// Clusters.
    pub clusters: Store<Cluster>,
    /// Tasks.
    pub tasks: Store<Task>,
    /// ScheduledTasks.
    pub scheduled_tasks: Store<ScheduledTask>,
    /// Task definition revisions.
    pub revisions: Store<Compact<ControllerRevision>>,
    /// Pods Tidewater manages.
    pub pods: Store<Compact<Pod>>,
    /// Children.
    pub deployments: Store<Compact<Deployment>>,
    /// Children.
    pub daemon_sets: Store<Compact<DaemonSet>>,
    /// Children.
    pub k8s_services: Store<Compact<KService>>,
    /// Children.
    pub service_accounts: Store<Compact<ServiceAccount>>,
    /// Children.
    pub ingresses: Store<Compact<Ingress>>,
    /// Children.
    pub hpas: Store<Compact<HorizontalPodAutoscaler>>,
    /// Children.
    pub pdbs: Store<Compact<PodDisruptionBudget>>,
    /// Children.
    pub cron_jobs: Store<Compact<CronJob>>,
    /// Nodes (only when the operator may list them: all-namespaces mode).
    pub nodes: Option<Store<Compact<Node>>>,
    /// Children of other projects' kinds whose CRDs are installed.
    pub third_party: super::watch::ThirdParty,
    /// Lookups by owner, workload, cluster and family (kept in step with the caches).
    pub indexes: super::index::Indexes,
}

impl Stores {
    /// Index what the caches hold (caches filled without their watches: tests, tools).
    pub fn reindexed(self) -> Self {
        let i = &self.indexes;
        i.pods.rebuild(&self.pods);
        i.services.rebuild(&self.services);
        i.task_definitions.rebuild(&self.task_definitions);
        i.tasks.rebuild(&self.tasks);
        i.scheduled_tasks.rebuild(&self.scheduled_tasks);
        i.clusters.rebuild(&self.clusters);
        i.revisions.rebuild(&self.revisions);
        i.deployments.rebuild(&self.deployments);
        i.daemon_sets.rebuild(&self.daemon_sets);
        i.k8s_services.rebuild(&self.k8s_services);
        i.service_accounts.rebuild(&self.service_accounts);
        i.ingresses.rebuild(&self.ingresses);
        i.hpas.rebuild(&self.hpas);
        i.pdbs.rebuild(&self.pdbs);
        self.third_party.reindex();
        self
    }
}

/// Shared by every reconcile.
pub struct Context {
    /// API client.
    pub client: Client,
    /// Caches.
    pub stores: Stores,
    /// Metrics.
    pub metrics: Metrics,
    /// Settings.
    pub settings: Settings,
    /// Kubernetes Event recorder (see [`Events`]).
    events: Events,
    synced: std::sync::atomic::AtomicBool,
    /// Status written by this process whose watch event has not reached the cache yet, by uid:
    /// (resourceVersion after the write, status as JSON text: a third of a `Value`'s memory).
    written: std::sync::Mutex<std::collections::HashMap<String, (u64, String)>>,
    /// Looks in a row at an object in progress that found nothing to do, by uid.
    idle_polls: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

/// A poll that finds nothing to do doubles the next interval, up to this many times the poll
/// setting: every change a rollout shows (pods, the workload, the task definition) wakes the
/// object through its watches anyway, so polling is only a safety net, and a thousand rollouts
/// waiting for their pods must not each cost a reconcile every few seconds.
pub const MAX_POLL_FACTOR: u32 = 8;

/// Events a recorder publishes before it is replaced by a fresh one.
///
/// kube's recorder keeps every Event it published in the last six minutes (to fold repeats into
/// a series), each a full Event object: at a thousand Services converging that cache was the
/// largest part of the operator's memory (about 12 MiB of a 74 MiB heap). A repeat published
/// after a replacement starts a new Event instead of counting in the old one's series, which
/// only matters for a repeat more than this many Events later.
pub const EVENTS_PER_RECORDER: usize = 64;

/// kube's Event recorder, replaced every [`EVENTS_PER_RECORDER`] Events to bound its cache.
struct Events {
    client: Client,
    reporter: Reporter,
    current: std::sync::Mutex<(Recorder, usize)>,
}

impl Events {
    fn new(client: Client, reporter: Reporter) -> Self {
        Events {
            current: std::sync::Mutex::new((Recorder::new(client.clone(), reporter.clone()), 0)),
            client,
            reporter,
        }
    }

    /// The recorder for the next Event.
    fn recorder(&self) -> Recorder {
        let mut current = self.current.lock().expect("recorder lock");
        if current.1 >= EVENTS_PER_RECORDER {
            *current = (Recorder::new(self.client.clone(), self.reporter.clone()), 0);
        }
        current.1 += 1;
        current.0.clone()
    }
}

impl Context {
    /// A context.
    pub fn new(client: Client, stores: Stores, metrics: Metrics, settings: Settings) -> Arc<Self> {
        Self::with_events_client(client.clone(), client, stores, metrics, settings)
    }

    /// A context whose Events are written with `events_client` (the operator bounds it apart, so
    /// that Events, published in the background, never hold up a reconcile's own requests).
    pub fn with_events_client(
        client: Client,
        events_client: Client,
        stores: Stores,
        metrics: Metrics,
        settings: Settings,
    ) -> Arc<Self> {
        let reporter = Reporter {
            controller: "tidewater".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Arc::new(Context {
            events: Events::new(events_client, reporter),
            client,
            stores,
            metrics,
            settings,
            synced: std::sync::atomic::AtomicBool::new(false),
            written: Default::default(),
            idle_polls: Default::default(),
        })
    }

    /// How soon to look again at `uid` while it is in progress: the poll interval after a look
    /// that changed something (`changed`), else twice the previous interval, up to
    /// [`MAX_POLL_FACTOR`] times the poll interval.
    pub fn poll_after(&self, uid: &str, changed: bool) -> Duration {
        let mut idle = self.idle_polls.lock().expect("idle polls lock");
        let n = if changed {
            idle.remove(uid);
            0
        } else {
            let n = idle.entry(uid.to_string()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let factor = 2u32.saturating_pow(n).min(MAX_POLL_FACTOR);
        self.settings.poll * factor
    }

    /// `uid` is no longer in progress: forget its idle looks.
    pub fn settled(&self, uid: &str) {
        self.idle_polls.lock().expect("idle polls lock").remove(uid);
    }

    /// Mark every cache synced: reconciles may trust what the caches lack.
    pub fn set_synced(&self) {
        self.synced.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether every cache has synced. Until then reconciles wait, so that a missing task
    /// definition is never reported just because its cache is still filling.
    pub fn is_synced(&self) -> bool {
        self.synced.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The common start of every reconcile: wait until the caches have synced, count and time
    /// the reconcile, and leave objects being deleted to the garbage collector. `Err` is the
    /// action to return at once.
    pub fn begin<K: Resource>(
        &self,
        kind: &str,
        obj: &K,
    ) -> Result<super::metrics::ReconcileTimer, kube::runtime::controller::Action> {
        use kube::runtime::controller::Action;
        if !self.is_synced() {
            return Err(Action::requeue(Duration::from_millis(500)));
        }
        let timer = self.metrics.reconcile(kind);
        if obj.meta().deletion_timestamp.is_some() {
            return Err(Action::await_change());
        }
        Ok(timer)
    }

    /// Remember a status this process wrote (see [`Context::status_of`]).
    pub fn remember_status(
        &self,
        uid: &str,
        resource_version: Option<&str>,
        status: serde_json::Value,
    ) {
        if let Some(rv) = resource_version.and_then(|r| r.parse::<u64>().ok()) {
            self.written
                .lock()
                .expect("status memory lock")
                .insert(uid.to_string(), (rv, status.to_string()));
        }
    }

    /// The status of `obj` as this process last wrote it when the cache has not caught up yet,
    /// else the cached status. Without this, a reconcile right after a status write would work
    /// from the older status and repeat its events.
    pub fn status_of<K, S>(&self, obj: &K, cached: Option<&S>) -> Option<S>
    where
        K: Resource,
        S: serde::de::DeserializeOwned + Clone,
    {
        let meta = obj.meta();
        let uid = meta.uid.as_deref().unwrap_or_default();
        let cached_rv = meta
            .resource_version
            .as_deref()
            .and_then(|r| r.parse::<u64>().ok())
            .unwrap_or(0);
        let mut written = self.written.lock().expect("status memory lock");
        match written.get(uid) {
            Some((rv, v)) if *rv > cached_rv => serde_json::from_str(v).ok(),
            Some(_) => {
                written.remove(uid);
                cached.cloned()
            }
            None => cached.cloned(),
        }
    }

    /// Publish a Kubernetes Event about `obj`. Failures are logged, never fatal.
    pub async fn event<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        self.event_about(obj.object_ref(&()), warning, reason, note)
            .await;
    }

    /// Publish a Kubernetes Event about the object `reference` names.
    async fn event_about(
        &self,
        reference: ObjectReference,
        warning: bool,
        reason: &str,
        note: String,
    ) {
        self.metrics.api_call("event");
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: reason.into(),
            note: Some(note.chars().take(1000).collect()),
            // kube's recorder folds Events with the same reason and action into one series
            // (keeping the first note); distinct notes must stay distinct Events.
            action: format!(
                "{reason}-{:08x}",
                crate::translate::names::stable_hash(&note)
            ),
            secondary: None,
        };
        if let Err(e) = self.events.recorder().publish(&ev, &reference).await {
            tracing::warn!(error = %e, reason, "could not publish an Event");
        }
    }
}

impl Context {
    /// Publish `notes` about `obj`, in order.
    pub async fn publish<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        notes: &[super::status::Note],
    ) {
        for n in notes {
            self.event(obj, n.warning, n.reason, n.message.clone())
                .await;
        }
    }

    /// Publish `notes` about `obj`, in order, without waiting for them: Events are best effort
    /// (a failure is only logged), and a reconcile that waits for them holds one of its kind's
    /// few concurrent slots meanwhile. For the last step of a reconcile.
    pub fn publish_in_background<K: Resource<DynamicType = ()>>(
        self: &Arc<Self>,
        obj: &K,
        notes: Vec<super::status::Note>,
    ) {
        if notes.is_empty() {
            return;
        }
        let (ctx, reference) = (self.clone(), obj.object_ref(&()));
        tokio::spawn(async move {
            for n in notes {
                ctx.event_about(reference.clone(), n.warning, n.reason, n.message)
                    .await;
            }
        });
    }
}

/// Look up `namespace/name` in a store.
pub fn cached<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

#[cfg(test)]
mod tests {
    use super::super::testing;

    #[tokio::test]
    async fn idle_polls_back_off_up_to_a_bound_and_a_change_resets_them() {
        let (ctx, _api) = testing::context(testing::empty_stores());
        let poll = ctx.settings.poll;
        let looks: Vec<u32> = [false, false, false, false, false]
            .iter()
            .map(|changed| (ctx.poll_after("a", *changed).as_millis() / poll.as_millis()) as u32)
            .collect();
        assert_eq!(looks, vec![2, 4, 8, 8, 8]);
        // Another object keeps its own count.
        assert_eq!(ctx.poll_after("b", false), poll * 2);
        // A look that changed something polls at the interval again.
        assert_eq!(ctx.poll_after("a", true), poll);
        assert_eq!(ctx.poll_after("a", false), poll * 2);
        // Settled: the next rollout starts from the interval.
        ctx.settled("a");
        assert_eq!(ctx.poll_after("a", true), poll);
    }
}
