//! The operator (`tidewater run`): one reconciler per kind over shared caches, server-side apply
//! of children, status in ECS terms, `/healthz` `/readyz` `/metrics`, leader election through a
//! Lease, graceful shutdown.
//!
//! Flow of every reconcile: fetch (from the caches) → validate (pure) → build (the pure
//! translation in [`crate::translate`]) → apply ([`apply`]: SSA, owned objects only, no write
//! when unchanged) → status ([`conditions`], [`rollout`]).

pub mod apply;
pub mod autoscaling;
pub mod awaiting;
pub mod cluster;
pub mod compact;
pub mod conditions;
pub mod context;
pub mod error;
pub mod http;
pub mod index;
pub mod leader;
pub mod lookup;
pub mod metrics;
pub mod revisions;
pub mod rollout;
pub mod scheduled_task;
pub mod service;
pub mod status;
pub mod task;
pub mod task_definition;
#[cfg(test)]
pub mod testing;
pub mod watch;

use std::fmt::Debug;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Node, Pod, Service as KService, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, ApiResource};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::api::{Cluster, ScheduledTask, Service, Task, TaskDefinition};
use crate::translate::{labels, reference};

use compact::Compact;
use context::{Context, Settings, Stores};
use error::Error;
use metrics::Metrics;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Command-line arguments of `tidewater run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Watch only these namespaces (repeatable). Default: all namespaces.
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// Address of the HTTP endpoint (/healthz, /readyz, /metrics). Port 0 picks a free port
    /// (the address is logged).
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub http_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Take part in leader election (a Lease) so that only one replica writes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// Namespace of the leader Lease. Default: $POD_NAMESPACE, else the first watched
    /// namespace, else `default`.
    #[arg(long)]
    pub leader_election_namespace: Option<String>,
    /// Name of the leader Lease.
    #[arg(long, default_value = "tidewater")]
    pub leader_election_name: String,
    /// Task definition revisions kept per family (revisions in use are always kept).
    #[arg(long, default_value_t = 10)]
    pub revision_history_limit: usize,
    /// Seconds between resyncs of a converged object.
    #[arg(long, default_value_t = 300)]
    pub resync_seconds: u64,
    /// Seconds between looks at an object whose rollout is in progress.
    #[arg(long, default_value_t = 5)]
    pub poll_seconds: u64,
    /// The reconcilers' API requests in flight at once (Events and the leader election are
    /// bounded apart). The API server serves no faster past a few dozen; fewer keep each
    /// request, and the API server's own requests between them, quicker.
    #[arg(long, default_value_t = MAX_REQUESTS_IN_FLIGHT)]
    pub max_requests_in_flight: usize,
    /// Seconds between looks for third-party child kinds (TargetGroupBinding, ExternalSecret,
    /// ScaledObject, TriggerAuthentication) installed or removed since the operator started;
    /// when the kinds it may watch change, the controllers restart with the new caches. 0: look
    /// only at start.
    #[arg(long, default_value_t = 60)]
    pub rediscover_seconds: u64,
}

/// Run the operator until SIGTERM/SIGINT.
pub fn main(args: Args) -> ExitCode {
    init_logging(args.log_format);
    run_to_end("operator", run(args))
}

/// Run a long-lived server (`what`: "operator", "ECS API server") on a multi-threaded runtime
/// until it returns; its error is logged and becomes the exit code.
pub fn run_to_end(
    what: &str,
    server: impl std::future::Future<Output = anyhow::Result<()>>,
) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "{what} stopped");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, text or JSON, filtered by `RUST_LOG` (default `info`).
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

type Signal = Shared<BoxFuture<'static, ()>>;

fn shutdown_signal() -> Signal {
    async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested");
    }
    .boxed()
    .shared()
}

/// The reconcilers' settings from the command line.
fn settings_of(args: &Args) -> Settings {
    Settings {
        revision_history_limit: args.revision_history_limit,
        resync: Duration::from_secs(args.resync_seconds.max(1)),
        poll: Duration::from_secs(args.poll_seconds.max(1)),
    }
}

/// The leader elector, when leader election is on.
fn elector_of(args: &Args, client: &Client) -> Option<leader::Elector> {
    args.leader_elect.then(|| {
        let ns = args
            .leader_election_namespace
            .clone()
            .or_else(|| std::env::var("POD_NAMESPACE").ok().filter(|n| !n.is_empty()))
            .or_else(|| args.namespaces.first().cloned())
            .unwrap_or_else(|| "default".into());
        let identity = std::env::var("POD_NAME")
            .ok()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("tidewater-{}", std::process::id()));
        tracing::info!(namespace = %ns, lease = %args.leader_election_name, identity = %identity, "leader election");
        leader::Elector::new(
            client.clone(),
            &ns,
            &args.leader_election_name,
            &identity,
            Duration::from_secs(15),
        )
    })
}

/// Start the controllers of every watched scope; `health` turns ready once every scope's
/// caches have synced. Returns the running scopes.
fn spawn_scopes(
    args: &Args,
    clients: &Clients,
    metrics: &Metrics,
    health: &http::Health,
    shutdown: &Signal,
    third_party: &[ApiResource],
) -> Vec<tokio::task::JoinHandle<()>> {
    let scopes: Vec<Option<String>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().cloned().map(Some).collect()
    };
    let mut runs = Vec::new();
    let mut readiness = Vec::new();
    for scope in scopes {
        let (run, ready) = scope_controllers(
            clients.clone(),
            scope,
            metrics.clone(),
            settings_of(args),
            shutdown.clone(),
            third_party,
        );
        runs.push(tokio::spawn(run));
        readiness.push(ready);
    }
    let health = health.clone();
    tokio::spawn(async move {
        for r in readiness {
            while !r.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        health.set_ready(true);
        tracing::info!("caches synced; ready");
    });
    runs
}

/// Requests to the API server in flight at once from the controllers (a watch holds its place
/// only until its response starts). Every request in flight holds a connection, and every
/// connection its TLS and HTTP buffers: unbounded, a burst of reconciles each applying their
/// children at once opened over a hundred; the API server serves no faster past a few dozen.
const MAX_REQUESTS_IN_FLIGHT: usize = 32;

/// Events being written at once. Events are published in the background, after the reconcile
/// that raised them; bounded apart, they never hold up the requests that create children and
/// write statuses, and wait their turn when the API server is busy.
const MAX_EVENTS_IN_FLIGHT: usize = 4;

/// The operator's clients, each bounded apart.
#[derive(Clone)]
struct Clients {
    /// The reconcilers' requests (at most `--max-requests-in-flight`, by default
    /// [`MAX_REQUESTS_IN_FLIGHT`]).
    controllers: Client,
    /// Events (at most [`MAX_EVENTS_IN_FLIGHT`]).
    events: Client,
    /// The leader election's Lease: never queued behind the others.
    leader: Client,
}

async fn clients(max_requests_in_flight: usize) -> anyhow::Result<Clients> {
    let config = kube::Config::infer().await?;
    let bounded = |n: usize| -> anyhow::Result<Client> {
        Ok(kube::client::ClientBuilder::try_from(config.clone())?
            .with_layer(&tower::limit::ConcurrencyLimitLayer::new(n))
            .build())
    };
    Ok(Clients {
        controllers: bounded(max_requests_in_flight.max(1))?,
        events: bounded(MAX_EVENTS_IN_FLIGHT)?,
        leader: Client::try_from(config.clone())?,
    })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let clients = clients(args.max_requests_in_flight).await?;
    let client = clients.controllers.clone();
    let metrics = Metrics::default();
    let health = http::Health::default();
    let listener = http::bind(args.http_addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "http listening (/healthz /readyz /metrics)");
    tokio::spawn(http::serve(listener, health.clone(), metrics.clone()));
    let shutdown = shutdown_signal();

    let elector = elector_of(&args, &clients.leader);
    if let Some(e) = &elector {
        // A follower is healthy and ready: it is standing by.
        health.set_ready(true);
        tokio::select! {
            _ = e.acquire() => {},
            _ = shutdown.clone() => return Ok(()),
        }
        tracing::info!("leading");
    }
    metrics.set_leader(true);
    health.set_ready(false);

    let lost = async {
        match &elector {
            Some(e) => e.keep().await,
            None => futures::future::pending().await,
        }
    };
    tokio::pin!(lost);
    let mut third_party = watch::discover_third_party(&client, &args.namespaces).await;
    loop {
        metrics.set_third_party_watched(&third_party);
        // The controllers stop on shutdown, or to restart with the third-party kinds found.
        let (restart, restarting) = tokio::sync::oneshot::channel::<()>();
        let stop: Signal = futures::future::select(shutdown.clone(), restarting)
            .map(|_| ())
            .boxed()
            .shared();
        let runs = spawn_scopes(&args, &clients, &metrics, &health, &stop, &third_party);
        let controllers = futures::future::join_all(runs);
        let changed = rediscovered(&args, &client, &third_party);
        tokio::pin!(controllers);
        tokio::select! {
            _ = &mut controllers => break,
            found = changed => {
                tracing::info!(
                    watched = ?found.iter().map(|ar| ar.kind.as_str()).collect::<Vec<_>>(),
                    "the third-party kinds the operator may watch changed: restarting the controllers with their caches"
                );
                health.set_ready(false);
                let _ = restart.send(());
                controllers.await;
                third_party = found;
            }
            _ = &mut lost => {
                anyhow::bail!("lost the leader Lease; exiting so that another replica takes over");
            }
        }
    }
    if let Some(e) = &elector {
        e.release().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The third-party kinds the operator may watch, once they differ from `current` (never with
/// `--rediscover-seconds 0`).
async fn rediscovered(args: &Args, client: &Client, current: &[ApiResource]) -> Vec<ApiResource> {
    match args.rediscover_seconds {
        0 => futures::future::pending().await,
        every => {
            let every = Duration::from_secs(every);
            let namespaces = args.namespaces.clone();
            watch::third_party_changed(client.clone(), namespaces, current.to_vec(), every).await
        }
    }
}

/// Watch events buffered for the controllers subscribed to a shared watch, per watch. The buffer
/// is allocated whole up front (about 100 bytes an event): 4,096 cost 6 MiB over the fifteen
/// watches. When the controllers fall this far behind, the watch waits for them.
const WATCH_EVENT_BUFFER: usize = 512;

/// The controllers a watch wakes with objects its shared stream does not carry.
type Subscribers<K> = Vec<futures::channel::mpsc::Sender<Arc<K>>>;

/// Deleted objects buffered for each controller woken by them (see [`SharedWatch::deleted`]).
const DELETION_BUFFER: usize = 64;

/// A watch shared by several controllers and caches.
struct SharedWatch<K: Resource<DynamicType = ()> + Clone + 'static> {
    reader: Store<K>,
    writer: Option<reflector::store::Writer<K>>,
    api: Api<K>,
    config: watcher::Config,
    /// What is dropped from every object before it enters the cache.
    trim: fn(&mut K),
    /// The index kept in step with the cache, if any.
    index: Option<index::Index<K>>,
    /// Where the objects the watch sees deleted go (see [`SharedWatch::deleted`]).
    deletions: std::sync::Mutex<Subscribers<K>>,
}

impl<K> SharedWatch<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    fn new(api: Api<K>, config: watcher::Config) -> Self {
        let (reader, writer) = reflector::store_shared(WATCH_EVENT_BUFFER);
        SharedWatch {
            reader,
            writer: Some(writer),
            api,
            config,
            trim: watch::trim::<K>,
            index: None,
            deletions: Default::default(),
        }
    }

    /// Keep `index` in step with the cache.
    fn indexed(self, index: &index::Index<K>) -> Self {
        SharedWatch {
            index: Some(index.clone()),
            ..self
        }
    }

    fn subscribe(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        self.writer
            .as_ref()
            .and_then(|w| w.subscribe())
            .expect("subscribe before start")
    }

    /// The objects the watch sees deleted, as they were last (subscribe before start). A shared
    /// watch tells its subscribers only of objects added or changed, so an owner whose child is
    /// deleted (`kubectl delete service web`) would otherwise wait for its resync to put it back.
    fn deleted(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        subscriber(&self.deletions)
    }

    /// Every object `subscribe` yields, and every deleted one.
    fn applied_or_deleted(&self) -> impl Stream<Item = Arc<K>> + Send + 'static {
        futures::stream::select(self.subscribe(), self.deleted())
    }

    /// The changed objects `subscribe` yields that `key` tells apart ([`watch::changed`]), and
    /// every deleted one.
    fn changed_or_deleted(
        &self,
        key: impl Fn(&K) -> u64 + Send + 'static,
    ) -> impl Stream<Item = Arc<K>> + Send + 'static {
        watch::changed_or_deleted(self.subscribe(), self.deleted(), key)
    }

    /// Start the watch; the returned future runs it until dropped.
    fn start(&mut self) -> BoxFuture<'static, ()> {
        let writer = self.writer.take().expect("started once");
        let kind = K::kind(&()).into_owned();
        let index = self.index.clone();
        let deletions = subscribers(&mut self.deletions);
        watcher(self.api.clone(), self.config.clone())
            .modify(self.trim)
            .inspect(move |e| {
                if let (Some(i), Ok(e)) = (&index, e) {
                    i.apply(e);
                }
            })
            .backoff(watch::QuickBackoff::default())
            .reflect_shared(writer)
            .for_each(move |r| {
                let deleted = match r {
                    Ok(watcher::Event::Delete(o)) if !deletions.is_empty() => {
                        Some((Arc::new(o), deletions.clone()))
                    }
                    Err(e) => {
                        tracing::warn!(kind = %kind, error = %e, "watch error (retrying)");
                        None
                    }
                    Ok(_) => None,
                };
                notify(deleted)
            })
            .boxed()
    }
}

/// A new subscriber of `list` (before its watch starts): what the watch sends it.
fn subscriber<K>(
    list: &std::sync::Mutex<Subscribers<K>>,
) -> futures::channel::mpsc::Receiver<Arc<K>> {
    let (tx, rx) = futures::channel::mpsc::channel(DELETION_BUFFER);
    list.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(tx);
    rx
}

/// The subscribers of `list`, taken when its watch starts.
fn subscribers<K>(list: &mut std::sync::Mutex<Subscribers<K>>) -> Subscribers<K> {
    std::mem::take(
        list.get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Send `o` to each of its subscribers. As a shared watch does for its own subscribers, the
/// watch waits for a controller this far behind; one that has stopped is skipped.
async fn notify<K>(woken: Option<(Arc<K>, Subscribers<K>)>) {
    let Some((o, subscribers)) = woken else {
        return;
    };
    for mut tx in subscribers {
        let _ = futures::SinkExt::send(&mut tx, o.clone()).await;
    }
}

fn scoped<K>(client: &Client, scope: &Option<String>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>,
{
    match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

fn error_policy<K>(kind: &'static str) -> impl Fn(Arc<K>, &Error, Arc<Context>) -> Action {
    move |_obj, e, ctx| {
        ctx.metrics.failure(kind, e.label());
        tracing::warn!(kind, error = %e, label = e.label(), "reconcile failed");
        let slow = e.is_user_error() || matches!(e, Error::Panicked(_));
        Action::requeue(Duration::from_secs(if slow { 60 } else { 5 }))
    }
}

/// `reconcile` with its panics caught: a panic becomes [`Error::Panicked`] for that object alone,
/// so one object that trips a bug never stops the controller of its kind (nor the operator).
fn guarded<K, C, F, Fut>(
    reconcile: F,
) -> impl Fn(Arc<K>, Arc<C>) -> futures::future::BoxFuture<'static, Result<Action, Error>>
where
    F: Fn(Arc<K>, Arc<C>) -> Fut,
    Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
{
    use futures::FutureExt;
    move |obj, ctx| {
        std::panic::AssertUnwindSafe(reconcile(obj, ctx))
            .catch_unwind()
            .map(|r| r.unwrap_or_else(|payload| Err(Error::Panicked(panic_message(&*payload)))))
            .boxed()
    }
}

/// The message a panic was raised with.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

async fn drain<K: Resource + Debug, E: std::fmt::Display, S>(kind: &'static str, s: S)
where
    S: Stream<Item = Result<(ObjectRef<K>, Action), E>>,
    K::DynamicType: Debug,
{
    s.for_each(|r| {
        if let Err(e) = r {
            tracing::debug!(kind, error = %e, "controller");
        }
        futures::future::ready(())
    })
    .await;
}

/// Every watch of one scope, each shared by the caches and the controllers that need it.
struct Watches {
    tds: SharedWatch<Compact<TaskDefinition>>,
    svcs: SharedWatch<Compact<Service>>,
    clusters: SharedWatch<Cluster>,
    tasks: SharedWatch<Task>,
    scheds: SharedWatch<ScheduledTask>,
    revs: SharedWatch<Compact<ControllerRevision>>,
    pods: SharedWatch<Compact<Pod>>,
    deploys: SharedWatch<Compact<Deployment>>,
    dss: SharedWatch<Compact<DaemonSet>>,
    ksvcs: SharedWatch<Compact<KService>>,
    sas: SharedWatch<Compact<ServiceAccount>>,
    ings: SharedWatch<Compact<Ingress>>,
    hpas: SharedWatch<Compact<HorizontalPodAutoscaler>>,
    pdbs: SharedWatch<Compact<PodDisruptionBudget>>,
    cjs: SharedWatch<Compact<CronJob>>,
    /// Nodes are cluster-scoped: only counted when watching all namespaces.
    nodes: Option<SharedWatch<Compact<Node>>>,
    /// Children of other projects' kinds whose CRDs are installed.
    third_party: Vec<DynamicWatch>,
    /// The indexes kept in step with the caches.
    indexes: index::Indexes,
}

/// The watch of a third-party child kind (see [`watch::THIRD_PARTY_KINDS`]).
struct DynamicWatch {
    ar: ApiResource,
    reader: Store<watch::CachedDynamic>,
    writer: Option<reflector::store::Writer<watch::CachedDynamic>>,
    api: Api<watch::CachedDynamic>,
    config: watcher::Config,
    /// Its objects by owner.
    index: index::Index<watch::CachedDynamic>,
    /// Where its objects go when someone changes them or deletes them (see
    /// [`DynamicWatch::changed_or_deleted`]).
    changes: std::sync::Mutex<Subscribers<watch::CachedDynamic>>,
}

impl DynamicWatch {
    fn new(
        client: &Client,
        scope: &Option<String>,
        ar: &ApiResource,
        config: watcher::Config,
    ) -> Self {
        let writer = reflector::store::Writer::new(ar.clone());
        let api = match scope {
            Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
            None => Api::all_with(client.clone(), ar),
        };
        DynamicWatch {
            ar: ar.clone(),
            reader: writer.as_reader(),
            writer: Some(writer),
            api,
            config,
            index: index::dynamic_owned(),
            changes: Default::default(),
        }
    }

    fn api_resource(&self) -> ApiResource {
        self.ar.clone()
    }

    /// Its objects changed in anything but their status ([`watch::spec_fingerprint`]) since they
    /// were first seen, or deleted (subscribe before start): a hand edit or deletion of a
    /// TargetGroupBinding, ExternalSecret or ScaledObject wakes its owner as one of a built-in
    /// child does. Their first sighting wakes nothing: their owner just created them (or the
    /// cache is filling, when every owner is reconciled anyway).
    fn changed_or_deleted(&self) -> impl Stream<Item = Arc<watch::CachedDynamic>> + Send + 'static {
        subscriber(&self.changes)
    }

    fn start(&mut self) -> BoxFuture<'static, ()> {
        let writer = self.writer.take().expect("started once");
        let kind = self.api.resource_url().to_string();
        let index = self.index.clone();
        let subscribers = subscribers(&mut self.changes);
        let mut changes = watch::Changes::default();
        let events = watcher(self.api.clone(), self.config.clone())
            .inspect(move |e| {
                if let Ok(e) = e {
                    index.apply(e);
                }
            })
            .backoff(watch::QuickBackoff::default());
        reflector::reflector(writer, events)
            .for_each(move |r| {
                let woken = match r {
                    Ok(e) if !subscribers.is_empty() => changes
                        .of(e, watch::spec_fingerprint)
                        .map(|o| (Arc::new(o), subscribers.clone())),
                    Ok(_) => None,
                    Err(e) => {
                        tracing::warn!(kind = %kind, error = %e, "watch error (retrying)");
                        None
                    }
                };
                notify(woken)
            })
            .boxed()
    }
}

impl Watches {
    /// The watches of `scope`: Tidewater's kinds, revisions, and the children it manages.
    fn new(client: &Client, scope: &Option<String>, third_party: &[ApiResource]) -> Self {
        let managed = watcher::Config::default().labels("app.kubernetes.io/managed-by=tidewater");
        let all = watcher::Config::default();
        let revisions = watcher::Config::default().labels(revisions::REGISTERED_BY);
        let i = index::Indexes::default();
        fn w<K>(client: &Client, scope: &Option<String>, c: &watcher::Config) -> SharedWatch<K>
        where
            K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
                + Clone
                + DeserializeOwned
                + Debug
                + Send
                + Sync
                + 'static,
        {
            SharedWatch::new(scoped(client, scope), c.clone())
        }
        Watches {
            tds: w(client, scope, &all).indexed(&i.task_definitions),
            svcs: w(client, scope, &all).indexed(&i.services),
            clusters: w(client, scope, &all).indexed(&i.clusters),
            tasks: w(client, scope, &all).indexed(&i.tasks),
            scheds: w(client, scope, &all).indexed(&i.scheduled_tasks),
            revs: w(client, scope, &revisions).indexed(&i.revisions),
            pods: w(client, scope, &managed).indexed(&i.pods),
            deploys: w(client, scope, &managed).indexed(&i.deployments),
            dss: w(client, scope, &managed).indexed(&i.daemon_sets),
            ksvcs: w(client, scope, &managed).indexed(&i.k8s_services),
            sas: w(client, scope, &managed).indexed(&i.service_accounts),
            ings: w(client, scope, &managed).indexed(&i.ingresses),
            hpas: w(client, scope, &managed).indexed(&i.hpas),
            pdbs: w(client, scope, &managed).indexed(&i.pdbs),
            cjs: w(client, scope, &managed),
            third_party: third_party
                .iter()
                .map(|ar| DynamicWatch::new(client, scope, ar, managed.clone()))
                .collect(),
            nodes: scope
                .is_none()
                .then(|| SharedWatch::new(Api::all(client.clone()), all)),
            indexes: i,
        }
    }

    /// The caches.
    fn stores(&self) -> Stores {
        Stores {
            task_definitions: self.tds.reader.clone(),
            services: self.svcs.reader.clone(),
            clusters: self.clusters.reader.clone(),
            tasks: self.tasks.reader.clone(),
            scheduled_tasks: self.scheds.reader.clone(),
            revisions: self.revs.reader.clone(),
            pods: self.pods.reader.clone(),
            deployments: self.deploys.reader.clone(),
            daemon_sets: self.dss.reader.clone(),
            k8s_services: self.ksvcs.reader.clone(),
            service_accounts: self.sas.reader.clone(),
            ingresses: self.ings.reader.clone(),
            hpas: self.hpas.reader.clone(),
            pdbs: self.pdbs.reader.clone(),
            cron_jobs: self.cjs.reader.clone(),
            nodes: self.nodes.as_ref().map(|n| n.reader.clone()),
            third_party: {
                let mut t = watch::ThirdParty::default();
                for d in &self.third_party {
                    t.insert(d.api_resource(), d.reader.clone(), d.index.clone());
                }
                t
            },
            indexes: self.indexes.clone(),
        }
    }

    /// Start every watch (after every controller subscribed).
    fn start(&mut self) -> Vec<BoxFuture<'static, ()>> {
        let mut watches = vec![
            self.tds.start(),
            self.svcs.start(),
            self.clusters.start(),
            self.tasks.start(),
            self.scheds.start(),
            self.revs.start(),
            self.pods.start(),
            self.deploys.start(),
            self.dss.start(),
            self.ksvcs.start(),
            self.sas.start(),
            self.ings.start(),
            self.hpas.start(),
            self.pdbs.start(),
            self.cjs.start(),
        ];
        watches.extend(self.nodes.as_mut().map(SharedWatch::start));
        watches.extend(self.third_party.iter_mut().map(DynamicWatch::start));
        watches
    }
}

/// A controller woken by the third-party children ([`watch::THIRD_PARTY_KINDS`]) its objects
/// own, when someone changes or deletes one.
trait ThirdPartyChildren {
    fn third_party_children(self, w: &Watches) -> Self;
}

impl<K> ThirdPartyChildren for Controller<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    fn third_party_children(self, w: &Watches) -> Self {
        w.third_party.iter().fold(self, |c, d| {
            c.watches_shared_stream_with(
                d.changed_or_deleted(),
                |o: Arc<watch::CachedDynamic>| controller_of::<K>(&*o),
                d.api_resource(),
            )
        })
    }
}

/// The objects of kind `K` that control `o` (its controller owner reference, when of kind `K`).
fn controller_of<K: Resource<DynamicType = ()>>(o: &impl Resource) -> Option<ObjectRef<K>> {
    let ns = o.meta().namespace.as_deref()?;
    o.meta()
        .owner_references
        .iter()
        .flatten()
        .find(|r| {
            r.controller == Some(true)
                && r.kind == K::kind(&())
                && r.api_version == K::api_version(&())
        })
        .map(|r| ObjectRef::new(&r.name).within(ns))
}

/// TaskDefinition: its revisions.
fn task_definition_controller(
    w: &Watches,
    shutdown: &Signal,
) -> Controller<Compact<TaskDefinition>> {
    let tds = watch::changed(
        w.tds.subscribe(),
        watch::object_key::<Compact<TaskDefinition>>,
    );
    Controller::for_shared_stream(tds, w.tds.reader.clone())
        .with_config(controller_config())
        .owns_shared_stream(w.revs.subscribe())
        .graceful_shutdown_on(shutdown.clone())
}

/// The Cluster changes a workload reads: its spec, labels, annotations and deletion. Not its
/// status: the counts change with every pod, and each change would otherwise wake every
/// Service, Task and ScheduledTask of the cluster.
fn cluster_changes(w: &Watches) -> impl Stream<Item = Arc<Cluster>> + Send + 'static {
    w.clusters.changed_or_deleted(watch::object_key::<Cluster>)
}

/// Services whose Cluster is `c`: by the cluster index (under its name, and its `clusterName`),
/// never a scan of every Service.
fn services_in_cluster(stores: &Stores, c: &Cluster) -> Vec<ObjectRef<Compact<Service>>> {
    let ns = c.namespace();
    let name = c.name_any();
    let cluster_name = c.spec.create.cluster_name.as_deref();
    let names = std::iter::once(name.as_str()).chain(cluster_name.filter(|n| *n != name));
    // A Service has one cluster key: the two lookups never find the same Service.
    names
        .flat_map(|n| {
            let key = index::cluster_key(ns.as_deref().unwrap_or_default(), n);
            stores.indexes.services.objects(&stores.services, &key)
        })
        .filter(|s| s.namespace() == ns)
        .filter(|s| {
            let cl = reference::cluster_of(s.object().spec.create.cluster.as_deref());
            reference::is_cluster(&cl, &name, cluster_name)
        })
        .map(|s| ObjectRef::from_obj(&*s))
        .collect()
}

/// The Service whose Deployment or DaemonSet runs pod `p`.
fn service_of_pod(stores: &Stores, p: &Compact<Pod>) -> Vec<ObjectRef<Compact<Service>>> {
    let ns = p.namespace().unwrap_or_default();
    p.labels()
        .get(labels::SERVICE)
        .and_then(|w| {
            context::cached(&stores.deployments, &ns, w)
                .map(|d| d.owner_references().to_vec())
                .or_else(|| {
                    context::cached(&stores.daemon_sets, &ns, w)
                        .map(|d| d.owner_references().to_vec())
                })
        })
        .into_iter()
        .flatten()
        .filter(|r| r.kind == "Service" && r.api_version == "ecs.tidewater.dev/v1alpha1")
        .map(|r| ObjectRef::new(&r.name).within(&ns))
        .collect()
}

/// Reconciles of one kind running at once: enough to keep the API server busy, few enough that
/// about a thousand new Services do not queue hundreds of creates on it at once.
const CONCURRENCY: u16 = 16;

/// Events for one object closer together than this are reconciled once.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// The controllers' configuration: bounded concurrency, a short debounce.
fn controller_config() -> kube::runtime::controller::Config {
    kube::runtime::controller::Config::default()
        .concurrency(CONCURRENCY)
        .debounce(DEBOUNCE)
}

/// Service: its children, and what it depends on (task definitions, revisions, clusters, pods).
/// Only changes a Service reads wake it: not its own status writes, not the status of its
/// autoscaler or the timestamps of its Deployment's conditions.
fn service_controller(
    w: &Watches,
    stores: &Stores,
    shutdown: &Signal,
) -> Controller<Compact<Service>> {
    let (s1, s2, s3, s4) = (
        stores.clone(),
        stores.clone(),
        stores.clone(),
        stores.clone(),
    );
    let svcs = watch::changed(w.svcs.subscribe(), watch::object_key::<Compact<Service>>);
    Controller::for_shared_stream(svcs, w.svcs.reader.clone())
        .with_config(controller_config())
        // A child changed in what the Service decides, or deleted, wakes it.
        .owns_shared_stream(
            w.deploys
                .changed_or_deleted(|d| watch::deployment_key(&d.object())),
        )
        .owns_shared_stream(
            w.dss
                .changed_or_deleted(|d| watch::daemon_set_key(&d.object())),
        )
        .owns_shared_stream(w.ksvcs.changed_or_deleted(watch::spec_fingerprint))
        .owns_shared_stream(w.sas.changed_or_deleted(watch::spec_fingerprint))
        .owns_shared_stream(w.ings.changed_or_deleted(watch::spec_fingerprint))
        .owns_shared_stream(w.hpas.changed_or_deleted(watch::spec_fingerprint))
        .owns_shared_stream(w.pdbs.changed_or_deleted(watch::spec_fingerprint))
        .watches_shared_stream(
            watch::changed(w.tds.subscribe(), |td| {
                watch::task_definition_key(&td.object())
            }),
            move |td: Arc<Compact<TaskDefinition>>| {
                let td = td.object();
                let family = crate::translate::task_definition::family(&td.spec, &td.name_any());
                let latest = td.status.as_ref().and_then(|s| s.revision);
                services_to_wake(&s1, td.namespace().as_deref(), &family, latest)
            },
        )
        .watches_shared_stream(
            w.revs.subscribe(),
            move |cr: Arc<Compact<ControllerRevision>>| {
                // A revision reaching the cache wakes the Services waiting for it.
                revisions::from_object(&cr.object())
                    .map(|r| {
                        services_to_wake(&s4, cr.namespace().as_deref(), &r.family, Some(r.number))
                    })
                    .unwrap_or_default()
            },
        )
        .watches_shared_stream(cluster_changes(w), move |c: Arc<Cluster>| {
            services_in_cluster(&s2, &c)
        })
        .watches_shared_stream(
            watch::changed(w.pods.subscribe(), |p| watch::pod_key(&p.object())),
            move |p: Arc<Compact<Pod>>| service_of_pod(&s3, &p),
        )
        .third_party_children(w)
        .graceful_shutdown_on(shutdown.clone())
}

/// Tasks: their pods, and the task definitions and Clusters they use (a Task waiting for its
/// task definition starts as soon as it is registered).
fn task_controller(w: &Watches, shutdown: &Signal) -> Controller<Task> {
    let tasks = (w.tasks.reader.clone(), w.indexes.tasks.clone());
    let (t1, t2, t3) = (tasks.clone(), tasks.clone(), tasks);
    Controller::for_shared_stream(w.tasks.subscribe(), w.tasks.reader.clone())
        .with_config(controller_config())
        .owns_shared_stream(w.pods.applied_or_deleted())
        .watches_shared_stream(
            w.tds.subscribe(),
            move |td: Arc<Compact<TaskDefinition>>| {
                let td = td.object();
                run_tasks_using(&t1, td.namespace().as_deref(), Some(&td), |t: &Task| {
                    &t.spec.run
                })
            },
        )
        .watches_shared_stream(
            w.revs.subscribe(),
            move |cr: Arc<Compact<ControllerRevision>>| {
                // A revision reaching the cache wakes the Tasks of its family.
                let family = revisions::from_object(&cr.object()).map(|r| r.family);
                match family {
                    Some(f) => {
                        run_tasks_of(&t3, cr.namespace().as_deref(), Some(&f), |t: &Task| {
                            &t.spec.run
                        })
                    }
                    None => vec![],
                }
            },
        )
        .watches_shared_stream(cluster_changes(w), move |c: Arc<Cluster>| {
            run_tasks_using(&t2, c.namespace().as_deref(), None, |t: &Task| &t.spec.run)
        })
        .third_party_children(w)
        .graceful_shutdown_on(shutdown.clone())
}

/// ScheduledTasks: their CronJobs, and the task definitions, revisions and Clusters they use (one
/// that follows a family picks up a new revision at once; one waiting for its revision starts as
/// soon as the revision reaches the cache).
fn scheduled_task_controller(w: &Watches, shutdown: &Signal) -> Controller<ScheduledTask> {
    let scheds = (w.scheds.reader.clone(), w.indexes.scheduled_tasks.clone());
    let (t3, t4, t5) = (scheds.clone(), scheds.clone(), scheds);
    fn run(t: &ScheduledTask) -> &crate::api::ecs::RunTaskRequest {
        &t.spec.run
    }
    Controller::for_shared_stream(w.scheds.subscribe(), w.scheds.reader.clone())
        .with_config(controller_config())
        .owns_shared_stream(w.cjs.applied_or_deleted())
        .watches_shared_stream(
            w.tds.subscribe(),
            move |td: Arc<Compact<TaskDefinition>>| {
                let td = td.object();
                run_tasks_using(&t3, td.namespace().as_deref(), Some(&td), run)
            },
        )
        .watches_shared_stream(
            w.revs.subscribe(),
            move |cr: Arc<Compact<ControllerRevision>>| {
                // A revision reaching the cache wakes the ScheduledTasks of its family.
                match revisions::from_object(&cr.object()).map(|r| r.family) {
                    Some(f) => run_tasks_of(&t5, cr.namespace().as_deref(), Some(&f), run),
                    None => vec![],
                }
            },
        )
        .watches_shared_stream(cluster_changes(w), move |c: Arc<Cluster>| {
            run_tasks_using(&t4, c.namespace().as_deref(), None, run)
        })
        .third_party_children(w)
        .graceful_shutdown_on(shutdown.clone())
}

/// Clusters: the services, pods (and nodes) they count. Only the changes a count reads wake a
/// Cluster: a Service's spec, labels, annotations or deletion (not its status writes), a pod's
/// cluster, phase or deletion (not its readiness or restarts), a node's labels (not its
/// heartbeats).
fn cluster_controller(w: &Watches, stores: &Stores, shutdown: &Signal) -> Controller<Cluster> {
    let (s4, s5) = (stores.clone(), stores.clone());
    let services = watch::changed(w.svcs.subscribe(), watch::object_key::<Compact<Service>>);
    let pods = w.pods.changed_or_deleted(cluster::pod_key);
    let controller =
        Controller::for_shared_stream(w.clusters.subscribe(), w.clusters.reader.clone())
            .with_config(controller_config())
            .watches_shared_stream(services, move |s: Arc<Compact<Service>>| {
                let s = s.object();
                cluster::clusters_named(
                    &s4,
                    s.namespace().as_deref(),
                    s.spec.create.cluster.as_deref(),
                )
            })
            .watches_shared_stream(pods, move |p: Arc<Compact<Pod>>| {
                cluster::clusters_named(
                    &s5,
                    p.namespace().as_deref(),
                    p.labels().get(labels::CLUSTER).map(String::as_str),
                )
            })
            .graceful_shutdown_on(shutdown.clone());
    match &w.nodes {
        Some(n) => {
            let s6 = stores.clone();
            let nodes = watch::changed(n.subscribe(), watch::object_key::<Compact<Node>>);
            controller.watches_shared_stream(nodes, move |_: Arc<Compact<Node>>| {
                s6.clusters
                    .state()
                    .iter()
                    .map(|c| ObjectRef::from_obj(&**c))
                    .collect::<Vec<_>>()
            })
        }
        None => controller,
    }
}

/// Wait until every cache has synced, then let the reconcilers trust the caches and raise
/// `ready`.
async fn wait_synced(ctx: Arc<Context>, ready: Arc<AtomicBool>) {
    let s = &ctx.stores;
    let _ = futures::join!(
        s.task_definitions.wait_until_ready(),
        s.services.wait_until_ready(),
        s.clusters.wait_until_ready(),
        s.tasks.wait_until_ready(),
        s.scheduled_tasks.wait_until_ready(),
        s.revisions.wait_until_ready(),
        s.pods.wait_until_ready(),
        s.deployments.wait_until_ready(),
        s.daemon_sets.wait_until_ready(),
        s.k8s_services.wait_until_ready(),
        s.service_accounts.wait_until_ready(),
        s.ingresses.wait_until_ready(),
        s.hpas.wait_until_ready(),
        s.pdbs.wait_until_ready(),
        s.cron_jobs.wait_until_ready(),
    );
    if let Some(n) = &s.nodes {
        let _ = n.wait_until_ready().await;
    }
    for (_, store) in s.third_party.all() {
        let _ = store.wait_until_ready().await;
    }
    ctx.set_synced();
    ready.store(true, Ordering::SeqCst);
}

/// The controllers of one scope (a namespace, or all namespaces) and a readiness flag set once
/// every cache has synced.
fn scope_controllers(
    clients: Clients,
    scope: Option<String>,
    metrics: Metrics,
    settings: Settings,
    shutdown: Signal,
    third_party: &[ApiResource],
) -> (BoxFuture<'static, ()>, Arc<AtomicBool>) {
    let mut w = Watches::new(&clients.controllers, &scope, third_party);
    let stores = w.stores();
    let c = Context::with_events_client(
        clients.controllers,
        clients.events,
        stores.clone(),
        metrics,
        settings,
    );
    let td = task_definition_controller(&w, &shutdown);
    let svc = service_controller(&w, &stores, &shutdown);
    let task = task_controller(&w, &shutdown);
    let sched = scheduled_task_controller(&w, &shutdown);
    let cluster = cluster_controller(&w, &stores, &shutdown);
    let watches = futures::future::join_all(w.start());
    let ready = Arc::new(AtomicBool::new(false));
    let synced = wait_synced(c.clone(), ready.clone());
    let controllers = futures::future::join5(
        drain(
            "TaskDefinition",
            td.run(
                guarded(|td: Arc<Compact<TaskDefinition>>, ctx| {
                    task_definition::reconcile(Arc::new(td.object()), ctx)
                }),
                error_policy("TaskDefinition"),
                c.clone(),
            ),
        ),
        drain(
            "Service",
            svc.run(
                guarded(|svc: Arc<Compact<Service>>, ctx| {
                    service::reconcile(Arc::new(svc.object()), ctx)
                }),
                error_policy("Service"),
                c.clone(),
            ),
        ),
        drain(
            "Task",
            task.run(guarded(task::reconcile), error_policy("Task"), c.clone()),
        ),
        drain(
            "ScheduledTask",
            sched.run(
                guarded(scheduled_task::reconcile),
                error_policy("ScheduledTask"),
                c.clone(),
            ),
        ),
        drain(
            "Cluster",
            cluster.run(
                guarded(cluster::reconcile),
                error_policy("Cluster"),
                c.clone(),
            ),
        ),
    );
    let run = async move {
        tokio::select! {
            _ = watches => {},
            _ = controllers => {},
            // Readiness, once every cache has synced: a cache that never syncs (a kind whose
            // CRD went away) holds up neither the controllers nor their shutdown.
            _ = synced.then(|()| futures::future::pending::<()>()) => {},
        }
    }
    .boxed();
    (run, ready)
}

/// Services in `namespace` whose taskDefinition names `family` and whose resolved revision
/// changes with `revision` (the family's latest, or one just registered): those following the
/// family, or pinned to that revision, and not already running it.
fn services_to_wake(
    stores: &Stores,
    namespace: Option<&str>,
    family: &str,
    revision: Option<i64>,
) -> Vec<ObjectRef<Compact<Service>>> {
    let key = index::family_key(namespace.unwrap_or_default(), family);
    stores
        .indexes
        .services
        .objects(&stores.services, &key)
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == namespace)
        .filter(|s| {
            let s = s.object();
            let Some((f, pinned)) = s
                .spec
                .create
                .task_definition
                .as_deref()
                .map(revisions::parse_reference)
            else {
                return false;
            };
            let wanted = pinned.or(revision);
            let running = s.status.as_ref().and_then(|st| st.task_definition.clone());
            f == family
                && (pinned.is_none() || pinned == revision)
                && (wanted.is_none() || running != wanted.map(|n| format!("{family}:{n}")))
        })
        .map(|s| ObjectRef::from_obj(&**s))
        .collect()
}

/// Tasks or ScheduledTasks in `namespace` that run `td`'s family (every one when `td` is `None`,
/// i.e. a Cluster changed).
fn run_tasks_using<K>(
    cache: &(Store<K>, index::Index<K>),
    namespace: Option<&str>,
    td: Option<&TaskDefinition>,
    run: impl Fn(&K) -> &crate::api::ecs::RunTaskRequest,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let family = td.map(|td| crate::translate::task_definition::family(&td.spec, &td.name_any()));
    run_tasks_of(cache, namespace, family.as_deref(), run)
}

/// Tasks or ScheduledTasks in `namespace` that run `family` (every one when `None`): by the
/// family index, or the whole cache when a Cluster changed.
fn run_tasks_of<K>(
    (store, index): &(Store<K>, index::Index<K>),
    namespace: Option<&str>,
    family: Option<&str>,
    run: impl Fn(&K) -> &crate::api::ecs::RunTaskRequest,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let candidates = match family {
        Some(f) => index.objects(store, &index::family_key(namespace.unwrap_or_default(), f)),
        None => store.state(),
    };
    candidates
        .iter()
        .filter(|t| t.meta().namespace.as_deref() == namespace)
        .filter(|t| match &family {
            Some(f) => revisions::parse_reference(&run(t).task_definition).0 == *f,
            None => true,
        })
        .map(|t| ObjectRef::from_obj(&**t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::testing::{empty_stores, store_of};
    use serde_json::json;

    async fn panics_on_bad(name: Arc<String>, _ctx: Arc<()>) -> Result<Action, Error> {
        if name.as_str() == "bad" {
            panic!("index out of bounds: the len is 0 but the index is 3");
        }
        Ok(Action::await_change())
    }

    /// One object whose reconcile panics gets an error of its own; the next object is
    /// reconciled as usual by the same reconciler.
    #[tokio::test]
    async fn a_panicking_reconcile_costs_only_its_object() {
        let reconcile = guarded(panics_on_bad);
        let bad = reconcile(Arc::new("bad".to_string()), Arc::new(())).await;
        let good = reconcile(Arc::new("good".to_string()), Arc::new(())).await;
        match bad {
            Err(Error::Panicked(msg)) => {
                assert_eq!(msg, "index out of bounds: the len is 0 but the index is 3")
            }
            other => panic!("expected Panicked, got {other:?}"),
        }
        assert_eq!(good.unwrap(), Action::await_change());
        assert_eq!(
            Error::Panicked(String::new()).label(),
            "panicked",
            "stable label for metrics"
        );
    }

    /// A third-party child wakes the object of the controller's kind that controls it, and no
    /// other (not a core Service of the same name, not an owner that is not its controller).
    #[test]
    fn a_third_party_child_wakes_its_controller_of_the_kind() {
        let child = |owners: serde_json::Value| -> watch::CachedDynamic {
            Compact::new(
                serde_json::from_value::<kube::api::DynamicObject>(json!({
                    "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
                    "metadata": {"name": "web", "namespace": "a", "ownerReferences": owners},
                }))
                .unwrap(),
            )
        };
        let owner = |api: &str, kind: &str, controller: bool| json!({"apiVersion": api, "kind": kind, "name": "web", "uid": "u", "controller": controller});
        let ecs = "ecs.tidewater.dev/v1alpha1";
        let by_service = child(json!([
            owner("v1", "Service", true),
            owner(ecs, "Service", true)
        ]));
        assert_eq!(
            controller_of::<Compact<Service>>(&by_service),
            Some(ObjectRef::new("web").within("a"))
        );
        assert_eq!(controller_of::<Task>(&by_service), None);
        let by_task = child(json!([
            owner(ecs, "Service", false),
            owner(ecs, "Task", true)
        ]));
        assert_eq!(controller_of::<Compact<Service>>(&by_task), None);
        assert_eq!(
            controller_of::<Task>(&by_task),
            Some(ObjectRef::new("web").within("a"))
        );
    }

    fn svc(name: &str, task_definition: &str, running: Option<&str>) -> Compact<Service> {
        Compact::new(
            serde_json::from_value::<Service>(json!({
                "apiVersion": "ecs.tidewater.dev/v1alpha1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"taskDefinition": task_definition},
                "status": running.map(|r| json!({"taskDefinition": r})).unwrap_or(json!({})),
            }))
            .unwrap(),
        )
    }

    fn woken(revision: Option<i64>) -> Vec<String> {
        let stores = Stores {
            services: store_of(vec![
                svc("follows-and-runs-2", "web", Some("web:2")),
                svc("follows-and-runs-1", "web", Some("web:1")),
                svc("follows-new", "web", None),
                svc("pinned-1-runs-1", "web:1", Some("web:1")),
                svc("pinned-2-waits", "web:2", None),
                svc("other-family", "api", None),
            ]),
            ..empty_stores()
        }
        .reindexed();
        let mut names: Vec<String> = services_to_wake(&stores, Some("default"), "web", revision)
            .into_iter()
            .map(|r| r.name)
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_task_definition_change_wakes_only_services_whose_revision_changes() {
        assert_eq!(
            woken(Some(2)),
            vec!["follows-and-runs-1", "follows-new", "pinned-2-waits"]
        );
        assert_eq!(woken(Some(1)), vec!["follows-and-runs-2", "follows-new"]);
        // No revision registered yet: the Services following the family (a pinned one is
        // woken when its revision arrives).
        assert_eq!(
            woken(None),
            vec!["follows-and-runs-1", "follows-and-runs-2", "follows-new"]
        );
    }

    /// Cluster `name` of namespace `ns`, with `clusterName` when given.
    fn cluster(ns: &str, name: &str, cluster_name: Option<&str>) -> Cluster {
        let mut spec = json!({});
        if let Some(n) = cluster_name {
            spec["clusterName"] = json!(n);
        }
        serde_json::from_value(json!({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": "Cluster",
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }))
        .unwrap()
    }

    /// A Cluster's change wakes the Services of its namespace that name it: by its name, its
    /// `clusterName` or an ARN of either, and `default` for Services that name none.
    #[test]
    fn a_cluster_change_wakes_the_services_that_name_it() {
        let service = |ns: &str, name: &str, cluster: Option<&str>| {
            let mut spec = json!({"taskDefinition": "web"});
            if let Some(c) = cluster {
                spec["cluster"] = json!(c);
            }
            Compact::new(
                serde_json::from_value::<Service>(json!({
                    "apiVersion": "ecs.tidewater.dev/v1alpha1",
                    "kind": "Service",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": spec,
                }))
                .unwrap(),
            )
        };
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/production";
        let stores = Stores {
            services: store_of(vec![
                service("team", "by-name", Some("prod")),
                service("team", "by-cluster-name", Some("production")),
                service("team", "by-arn", Some(arn)),
                service("team", "elsewhere", Some("staging")),
                service("team", "no-cluster", None),
                service("other", "same-name-other-namespace", Some("prod")),
            ]),
            ..empty_stores()
        }
        .reindexed();
        let cluster = |name: &str, cluster_name: Option<&str>| cluster("team", name, cluster_name);
        let woken = |c: &Cluster| {
            let mut names: Vec<String> = services_in_cluster(&stores, c)
                .into_iter()
                .map(|r| r.name)
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            woken(&cluster("prod", Some("production"))),
            vec!["by-arn", "by-cluster-name", "by-name"]
        );
        assert_eq!(woken(&cluster("default", None)), vec!["no-cluster"]);
        assert_eq!(woken(&cluster("nothing", None)), Vec::<String>::new());
    }

    /// The other way round: a Service's (or a pod's) change wakes the Clusters of its namespace
    /// its `cluster` designates, found by the Cluster index under their name and `clusterName`
    /// (no scan of every Cluster); a Service that names a Cluster by `clusterName` resolves to
    /// it, the one of that object name first.
    #[test]
    fn a_service_change_wakes_the_clusters_its_cluster_names() {
        let mut stores = Stores {
            clusters: store_of(vec![
                cluster("team", "prod", Some("production")),
                cluster("team", "blue", Some("shared")),
                cluster("team", "green", Some("shared")),
                cluster("team", "shared", None),
                cluster("other", "prod", None),
            ]),
            ..empty_stores()
        }
        .reindexed();
        let named = |stores: &Stores, ns: Option<&str>, c: Option<&str>| {
            let mut names: Vec<String> = cluster::clusters_named(stores, ns, c)
                .into_iter()
                .map(|r| format!("{}/{}", r.namespace.unwrap_or_default(), r.name))
                .collect();
            names.sort();
            names
        };
        let arn = "arn:aws:ecs:us-east-1:123456789012:cluster/production";
        assert_eq!(named(&stores, Some("team"), Some("prod")), ["team/prod"]);
        assert_eq!(named(&stores, Some("team"), Some(arn)), ["team/prod"]);
        assert_eq!(
            named(&stores, Some("team"), Some("shared")),
            ["team/blue", "team/green", "team/shared"]
        );
        assert_eq!(
            named(&stores, Some("other"), Some("production")),
            Vec::<String>::new()
        );
        assert_eq!(named(&stores, Some("team"), None), Vec::<String>::new());
        let resolved = |stores: &Stores, name: &str| {
            let running = std::collections::BTreeSet::new();
            lookup::Caches::new(stores, "team", &running)
                .cluster_object(name)
                .map(|c| c.name_any())
        };
        assert_eq!(resolved(&stores, "production").as_deref(), Some("prod"));
        assert_eq!(resolved(&stores, "shared").as_deref(), Some("shared"));
        // Without the Cluster of that object name, the first by name whose clusterName it is.
        stores.clusters = store_of(vec![
            cluster("team", "green", Some("shared")),
            cluster("team", "blue", Some("shared")),
        ]);
        let stores = stores.reindexed();
        assert_eq!(resolved(&stores, "shared").as_deref(), Some("blue"));
        assert_eq!(resolved(&stores, "nothing"), None);
    }
}
