//! Service reconciler: fetch (caches) → resolve and validate (task definition revision, Cluster
//! defaults and policy) → build (the pure translation) → apply (server-side apply, owned objects
//! only, no write when unchanged, prune leftovers) → status (ECS deployments, counts and events;
//! conditions; Events).

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use serde_json::Value;

use crate::api::Service;
use crate::api::common::TranslationWarning;
use crate::api::ecs::SchedulingStrategy;
use crate::api::service::ServiceStatus;
use crate::translate::plan::Workload;
use crate::translate::reference::TaskDefinitionRef;
use crate::translate::{self, Object, names};

use super::apply::{self, Children, Owner};
use super::autoscaling::{self, Prepared};
use super::awaiting;
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
use super::index;
use super::lookup::{self, Caches};
use super::revisions::Revision;
use super::rollout::{self, DEPLOYMENT_LABEL, Observation, PodFacts, WorkloadFacts};
use super::status::{self, Note};

/// Annotation on a Service: seconds a rollout may make no progress before the circuit breaker
/// counts it failed (plus healthCheckGracePeriodSeconds). Default 600, as Kubernetes.
pub const PROGRESS_DEADLINE: &str = "ecs.tidewater.dev/progress-deadline-seconds";

/// Annotation on a Service: the time of the last `forceNewDeployment` (set by UpdateService).
/// It is copied onto the pod template, so that, as on ECS, the service starts a new deployment
/// of the same revision: new tasks replace the old ones within the deployment configuration's
/// bounds, and the service is stable again only once they have.
pub const FORCE_NEW_DEPLOYMENT: &str = "ecs.tidewater.dev/force-new-deployment";

/// The Service's last `forceNewDeployment`, if any (an empty annotation is none): what the
/// operator puts on the pod template, and what the ECS API waits for it to record.
pub fn forced_at(svc: &Service) -> Option<String> {
    svc.annotations()
        .get(FORCE_NEW_DEPLOYMENT)
        .filter(|t| !t.is_empty())
        .cloned()
}

/// Resolve `reference` (`family`, `family:N` or an ARN) to a registered revision in `namespace`.
/// `running` lists the `family:N` already running, which may be INACTIVE.
pub fn resolve_revision(
    ctx: &Context,
    namespace: &str,
    reference: &str,
    running: &BTreeSet<String>,
) -> Result<Revision, Error> {
    Caches::new(&ctx.stores, namespace, running).revision(&TaskDefinitionRef::parse(reference))
}

/// What one revision translates to: the step that resolves the task definition revision and
/// the Cluster, validates, checks the Cluster policy and translates.
struct Translated {
    revision: Revision,
    objects: Vec<Object>,
    warnings: Vec<translate::Warning>,
}

/// The objects to apply, with what the later steps need to know about them.
struct Plan {
    /// Desired objects, with our owner reference.
    objects: Vec<Value>,
    warnings: Vec<translate::Warning>,
    /// The revision run.
    revision: Revision,
    /// Deployment number of the pod template.
    number: String,
    /// Name of the Deployment or DaemonSet.
    workload: String,
    daemon: bool,
    /// Why this deployment was started (a rollback), if not a plain change.
    reason: Option<String>,
    /// The `forceNewDeployment` the pod template includes.
    forced: Option<String>,
}

/// Resolve `reference` (the task definition revision; INACTIVE only when in `running`) and the
/// Cluster, validate the revision, check the Cluster policy and translate.
fn resolve_and_translate(
    ctx: &Context,
    svc: &Service,
    reference: &str,
    running: &BTreeSet<String>,
) -> Result<Translated, Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let workload = Workload::Service {
        name: &name,
        spec: &svc.spec,
    };
    // The plan `render` shows, over the operator's caches.
    let t = lookup::plan_with(&ctx.stores, &ns, &workload, Some(reference), running)?;
    let mut warnings = t.warnings.clone();
    warnings.extend(t.task_definition_warnings());
    Ok(Translated {
        revision: t.task_definition.origin,
        objects: t.objects,
        warnings,
    })
}

/// The translated objects as applied: the workload's pod template with the last
/// `forceNewDeployment` and labelled with its deployment number, the progress deadline (plus
/// the health check grace period); every object owned by the Service.
fn plan_of(svc: &Service, t: Translated, owner: &Owner) -> Plan {
    let grace = svc
        .spec
        .create
        .health_check_grace_period_seconds
        .unwrap_or(0)
        .max(0);
    let deadline: i32 = svc
        .annotations()
        .get(PROGRESS_DEADLINE)
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let forced = forced_at(svc);
    let mut number = String::new();
    let mut objects = Vec::new();
    for o in &t.objects {
        let mut v = o.to_value();
        if matches!(o, Object::Deployment(_) | Object::DaemonSet(_)) {
            if let Some(at) = &forced {
                v["spec"]["template"]["metadata"]["annotations"][FORCE_NEW_DEPLOYMENT] =
                    Value::String(at.clone());
            }
            number = rollout::deployment_number(&v["spec"]["template"].to_string());
            v["spec"]["template"]["metadata"]["labels"][DEPLOYMENT_LABEL] =
                Value::String(number.clone());
            if matches!(o, Object::Deployment(_)) {
                v["spec"]["progressDeadlineSeconds"] = (deadline.max(1) + grace).into();
            }
        }
        objects.push(apply::with_owner(v, owner));
    }
    Plan {
        objects,
        warnings: t.warnings,
        revision: t.revision,
        number,
        workload: names::dns_label(&service_name(svc)),
        daemon: svc.spec.create.scheduling_strategy == Some(SchedulingStrategy::Daemon),
        reason: None,
        forced,
    }
}

/// The ECS service name: `serviceName`, else the object's name.
fn service_name(svc: &Service) -> String {
    svc.spec
        .create
        .service_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| svc.name_any())
}

/// What the deployment circuit breaker does.
struct Breaker {
    /// It fails a rollout that does not progress.
    enable: bool,
    /// It then rolls back to the last completed deployment.
    rollback: bool,
}

/// The Service's `deploymentCircuitBreaker` (off when absent).
fn circuit_breaker(svc: &Service) -> Breaker {
    let b = svc
        .spec
        .create
        .deployment_configuration
        .as_ref()
        .and_then(|d| d.deployment_circuit_breaker.as_ref());
    Breaker {
        enable: b.is_some_and(|b| b.enable),
        rollback: b.is_some_and(|b| b.enable && b.rollback),
    }
}

/// What to apply: the spec's revision, or, when its deployment already failed and the circuit
/// breaker rolls back, the last completed revision (until the spec or the task definition
/// changes: a failed template is not retried).
fn plan(svc: &Service, ctx: &Context, prev: &ServiceStatus, owner: &Owner) -> Result<Plan, Error> {
    let reference = svc
        .spec
        .create
        .task_definition
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or(Error::TaskDefinitionRequired)?;
    let running: BTreeSet<String> = prev
        .deployments
        .iter()
        .filter(|d| d.status != "INACTIVE")
        .map(|d| d.task_definition.clone())
        .collect();
    let plan = plan_of(
        svc,
        resolve_and_translate(ctx, svc, &reference, &running)?,
        owner,
    );
    let target = circuit_breaker(svc)
        .rollback
        .then(|| rollout::has_failed(prev, &plan.number))
        .filter(|failed| *failed)
        .and_then(|_| rollout::rollback_target(prev, &plan.number));
    let Some(target) = target else {
        return Ok(plan);
    };
    let running = BTreeSet::from([target.clone()]);
    let back = plan_of(
        svc,
        resolve_and_translate(ctx, svc, &target, &running)?,
        owner,
    );
    Ok(Plan {
        reason: Some(format!(
            "rolled back to {} after deployment {} failed.",
            back.revision.reference(),
            rollout::deployment_id(&plan.number)
        )),
        ..back
    })
}

/// The cached object of `desired`'s kind and name, if the cache holds it (`None` as well for a
/// kind that is not cached).
fn cached_live(ctx: &Context, ns: &str, desired: &Value) -> Option<Value> {
    let name = desired["metadata"]["name"].as_str().unwrap_or_default();
    let s = &ctx.stores;
    fn v<K: serde::Serialize>(o: Option<Arc<K>>) -> Option<Value> {
        o.map(|o| serde_json::to_value(&*o).expect("objects serialise"))
    }
    match desired["kind"].as_str().unwrap_or_default() {
        "Deployment" => v(cached(&s.deployments, ns, name)),
        "DaemonSet" => v(cached(&s.daemon_sets, ns, name)),
        "Service" => v(cached(&s.k8s_services, ns, name)),
        "ServiceAccount" => v(cached(&s.service_accounts, ns, name)),
        "Ingress" => v(cached(&s.ingresses, ns, name)),
        "HorizontalPodAutoscaler" => v(cached(&s.hpas, ns, name)),
        "PodDisruptionBudget" => v(cached(&s.pdbs, ns, name)),
        kind => s.third_party.get(kind, ns, name),
    }
}

/// Apply the planned children, then, when the spec or the revision changed, delete the children
/// no longer planned.
async fn apply_children(
    ctx: &Context,
    svc: &Service,
    prev: &ServiceStatus,
    plan: &mut Plan,
    owner: &Owner,
) -> Result<(Children, Prepared), Error> {
    let ns = svc.namespace().unwrap_or_default();
    // Scheduled actions in force and desiredCount under autoscaling (controller/autoscaling.rs).
    let scaling = autoscaling::prepare(ctx, svc, &mut plan.objects, Timestamp::now());
    // An object missing from the cache may still exist (unlabelled, someone else's): the
    // apply step reads it before writing.
    let live = |desired: &Value| cached_live(ctx, &ns, desired);
    let children = apply::apply_all(ctx, &ns, &plan.objects, owner, live).await?;
    let fresh = children.fresh("Deployment", &plan.workload);
    autoscaling::desired_count(ctx, svc, &plan.workload, fresh, &scaling).await?;
    if prev.common.observed_generation != svc.metadata.generation
        || prev.task_definition.as_deref() != Some(plan.revision.reference().as_str())
        || scaling.scaler_changed
    {
        prune(ctx, &ns, &plan.objects, owner).await?;
    }
    Ok((children, scaling))
}

async fn prune(ctx: &Context, ns: &str, objects: &[Value], owner: &Owner) -> Result<(), Error> {
    let keep = |kind: &str| -> BTreeSet<String> {
        objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
            .collect()
    };
    // Only what this Service controls is pruned: found by owner, in its namespace.
    let ours = |m: &kube::api::ObjectMeta| m.namespace.as_deref() == Some(ns);
    let key = index::owner_key(&owner.uid);
    let (s, i) = (&ctx.stores, &ctx.stores.indexes);
    let (c, m) = (&ctx.client, &ctx.metrics);
    macro_rules! prune_kind {
        ($index:expr, $store:expr, $kind:literal) => {{
            let mut live = $index.objects(&$store, &key);
            live.retain(|o| ours(&o.metadata));
            apply::prune(c, ns, &live, &keep($kind), owner, m).await?;
        }};
    }
    prune_kind!(i.deployments, s.deployments, "Deployment");
    prune_kind!(i.daemon_sets, s.daemon_sets, "DaemonSet");
    prune_kind!(i.k8s_services, s.k8s_services, "Service");
    prune_kind!(i.service_accounts, s.service_accounts, "ServiceAccount");
    prune_kind!(i.ingresses, s.ingresses, "Ingress");
    prune_kind!(i.hpas, s.hpas, "HorizontalPodAutoscaler");
    prune_kind!(i.pdbs, s.pdbs, "PodDisruptionBudget");
    for (ar, _) in s.third_party.all() {
        let mut live = s.third_party.owned_by(ar, &owner.uid);
        live.retain(|o| ours(&o.metadata));
        apply::prune_dynamic(c, ns, ar, &live, &keep(&ar.kind), owner, m).await?;
    }
    autoscaling::prune(ctx, ns, objects, owner).await
}

fn pod_facts(p: &Pod) -> PodFacts {
    let status = p.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let cond = |t: &str| {
        status
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == t))
    };
    PodFacts {
        name: p.name_any(),
        deployment: p
            .labels()
            .get(DEPLOYMENT_LABEL)
            .cloned()
            .unwrap_or_default(),
        ready: cond("Ready").is_some_and(|c| c.status == "True"),
        failed: phase == "Failed",
        succeeded: phase == "Succeeded",
        terminating: p.metadata.deletion_timestamp.is_some(),
        restarts: status
            .and_then(|s| s.container_statuses.as_ref())
            .map(|cs| cs.iter().map(|c| c.restart_count).sum())
            .unwrap_or(0),
        unschedulable: cond("PodScheduled")
            .filter(|c| c.status == "False" && c.reason.as_deref() == Some("Unschedulable"))
            .map(|c| c.message.clone().unwrap_or_default()),
        created: p
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.as_second())
            .unwrap_or(0),
    }
}

fn deployment_facts(d: &Deployment) -> WorkloadFacts {
    let st = d.status.clone().unwrap_or_default();
    WorkloadFacts {
        replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        observed: st.observed_generation >= d.metadata.generation,
        updated: st.updated_replicas.unwrap_or(0),
        available: st.available_replicas.unwrap_or(0),
        deadline_exceeded: st.conditions.iter().flatten().any(|c| {
            c.type_ == "Progressing"
                && c.status == "False"
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        }),
    }
}

fn daemon_facts(d: &DaemonSet) -> WorkloadFacts {
    let st = d.status.clone().unwrap_or_default();
    WorkloadFacts {
        replicas: st.desired_number_scheduled,
        observed: st.observed_generation >= d.metadata.generation,
        updated: st.updated_number_scheduled.unwrap_or(0),
        available: st.number_available.unwrap_or(0),
        deadline_exceeded: false,
    }
}

/// The desired task count: the workload's replicas when a DaemonSet or an autoscaler decides
/// it, else `desiredCount` (default 1, 0 with autoscaling).
fn desired_count(svc: &Service, plan: &Plan, workload: Option<&WorkloadFacts>) -> i32 {
    match (workload, plan.daemon, &svc.spec.auto_scaling) {
        (Some(w), true, _) | (Some(w), _, Some(_)) => w.replicas,
        (None, true, _) => 0,
        _ => svc
            .spec
            .create
            .desired_count
            .unwrap_or(if svc.spec.auto_scaling.is_some() {
                0
            } else {
                1
            }),
    }
}

/// What the cluster shows about the Service's pods and workload (from the caches).
fn observation(ctx: &Context, svc: &Service, plan: &Plan, now: Timestamp) -> Observation {
    let ns = svc.namespace().unwrap_or_default();
    let s = &ctx.stores;
    let pods: Vec<PodFacts> = s
        .indexes
        .pods
        .objects(&s.pods, &index::workload_key(&ns, &plan.workload))
        .iter()
        .map(|p| pod_facts(&p.object()))
        .collect();
    let workload = if plan.daemon {
        cached(&ctx.stores.daemon_sets, &ns, &plan.workload).map(|d| daemon_facts(&d.object()))
    } else {
        cached(&ctx.stores.deployments, &ns, &plan.workload).map(|d| deployment_facts(&d.object()))
    };
    let breaker = circuit_breaker(svc);
    Observation {
        service: service_name(svc),
        primary: plan.number.clone(),
        task_definition: plan.revision.reference(),
        desired: desired_count(svc, plan, workload.as_ref()),
        pods,
        workload,
        circuit_breaker: breaker.enable,
        rollback: breaker.rollback,
        reason: plan.reason.clone(),
        now,
    }
}

/// Everything one reconcile found, from which the status is computed.
#[derive(Debug)]
pub struct Reconciled {
    /// Deployments, counts and service events.
    pub rollout: rollout::Outcome,
    /// Children applied and refused.
    pub children: Children,
    /// Translation warnings.
    pub warnings: Vec<TranslationWarning>,
    /// Deployment number of the PRIMARY.
    pub primary: String,
    /// Why the PRIMARY was started, if not a plain change (a rollback).
    pub reason: Option<String>,
    /// The `forceNewDeployment` the applied pod template includes.
    pub forced: Option<String>,
    /// The object's generation.
    pub generation: Option<i64>,
    /// Now.
    pub now: Timestamp,
}

/// The Service's conditions: refused children, a failed rollout, steady state, or a rollout in
/// progress.
fn wanted_conditions(r: &Reconciled) -> Vec<Wanted> {
    let outcome = &r.rollout;
    if let Some(refused) = r.children.refused.conditions(outcome.progressing) {
        return refused;
    }
    if outcome.failed {
        let why = outcome
            .status
            .deployments
            .iter()
            .find(|d| d.rollout_state.as_deref() == Some("FAILED"))
            .and_then(|d| d.rollout_state_reason.clone())
            .unwrap_or_default();
        return conditions::standard(
            false,
            false,
            Some(("DeploymentFailed", &why)),
            "DeploymentFailed",
            &why,
        );
    }
    if outcome.steady {
        return conditions::standard(
            true,
            false,
            None,
            "SteadyState",
            "the service has reached a steady state",
        );
    }
    let msg = format!(
        "deployment {} in progress: {} of {} tasks running",
        rollout::deployment_id(&r.primary),
        outcome.status.running_count,
        outcome.status.desired_count
    );
    conditions::standard(false, true, None, "RolloutInProgress", &msg)
}

/// The next status and the Events to publish (pure): the rollout's status with the conditions
/// and warnings, then Events for children brought back in line by hand-edit repair, the
/// rollout's service events, refusals and new warnings.
pub fn compute_status(prev: &ServiceStatus, r: &Reconciled) -> (ServiceStatus, Vec<Note>) {
    let mut st = r.rollout.status.clone();
    st.forced_new_deployment = r.forced.clone();
    st.common = status::common(
        &prev.common,
        &wanted_conditions(r),
        r.warnings.clone(),
        r.generation,
        r.now,
    );
    let mut notes = Vec::new();
    let written = r.children.written;
    if written > 0
        && prev.common.observed_generation.is_some()
        && prev.common.observed_generation == r.generation
        && prev.task_definition == st.task_definition
        && r.reason.is_none()
    {
        // Neither the spec nor the revision changed, yet a child had to be written: a hand
        // edit (or a change of the Cluster's defaults) was applied over.
        notes.push(Note::normal(
            "ObjectsReapplied",
            format!("{written} object(s) brought back to the declared state"),
        ));
    }
    notes.extend(r.rollout.events.iter().cloned());
    notes.extend(r.children.refused.note(&prev.common.conditions));
    notes.extend(status::warnings_note(&prev.common.warnings, &r.warnings));
    (st, notes)
}

/// How soon to look again: at once after a rollback, soon while something changes (less and
/// less often while looks find nothing new: see [`Context::poll_after`]), else at the resync
/// interval. `changed`: this look wrote a child, the status or an Event.
fn requeue(
    ctx: &Context,
    uid: &str,
    r: &Reconciled,
    changed: bool,
    scaling: &super::autoscaling::Prepared,
) -> Action {
    if r.rollout.rollback_to.is_some() {
        Action::requeue(std::time::Duration::from_millis(200))
    } else if r.rollout.progressing || r.children.written > 0 {
        let poll = ctx.poll_after(uid, changed || r.children.written > 0);
        Action::requeue(super::autoscaling::sooner(poll, scaling))
    } else {
        ctx.settled(uid);
        Action::requeue(super::autoscaling::sooner(ctx.settings.resync, scaling))
    }
}

/// Reconcile one ECS Service: plan (resolve and translate), apply the children, observe the
/// rollout, compute and write the status, publish the Events.
pub async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("Service", &*svc) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let owner = Owner::of(&*svc);
    let prev: ServiceStatus = ctx
        .status_of(&*svc, svc.status.as_ref())
        .unwrap_or_default();
    let mut plan = match plan(&svc, &ctx, &prev, &owner) {
        Ok(p) => p,
        Err(e) => {
            // A task definition on its way (being registered, or applied with the Service) is
            // waited for quietly; anything else is reported.
            return match awaiting::task_definition(&ctx, &*svc, &e) {
                Some(action) => Ok(action),
                None => status::report(&ctx, &*svc, &prev, e).await,
            };
        }
    };
    let (children, scaling) = apply_children(&ctx, &svc, &prev, &mut plan, &owner).await?;
    let now = Timestamp::now();
    let reconciled = Reconciled {
        rollout: rollout::observe(&prev, &observation(&ctx, &svc, &plan, now)),
        children,
        warnings: status::warnings(&plan.warnings),
        primary: plan.number,
        reason: plan.reason,
        forced: plan.forced,
        generation: svc.metadata.generation,
        now,
    };
    let (st, notes) = compute_status(&prev, &reconciled);
    let written = status::write(&ctx, &*svc, Some(&prev), &st).await?;
    let changed = written || !notes.is_empty();
    ctx.publish_in_background(&*svc, notes);
    Ok(requeue(&ctx, &owner.uid, &reconciled, changed, &scaling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::CommonStatus;
    use crate::controller::compact::Compact;
    use crate::controller::context::{self, Settings};
    use crate::controller::revisions;
    use crate::controller::status::Refusals;
    use crate::controller::testing::{self, ApiServer, store_of};
    use http::{Method, StatusCode};
    use k8s_openapi::api::apps::v1::ControllerRevision;
    use serde_json::json;

    const UID: &str = "6f1c7a52-0000-4000-8000-000000000001";

    fn service() -> Service {
        serde_json::from_value(json!({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": "Service",
            "metadata": {
                "name": "web", "namespace": "default", "uid": UID,
                "generation": 1, "resourceVersion": "1",
            },
            "spec": {"serviceName": "web", "taskDefinition": "web:1", "desiredCount": 2},
        }))
        .unwrap()
    }

    fn revision() -> ControllerRevision {
        let spec = json!({
            "family": "web", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "nginx:1.27", "essential": true}],
        });
        let mut cr = revisions::to_object("web", "web", 1, &spec);
        cr.metadata.namespace = Some("default".into());
        cr
    }

    fn stores(deployments: Vec<Deployment>) -> context::Stores {
        context::Stores {
            revisions: store_of(vec![Compact::new(revision())]),
            deployments: store_of(deployments.into_iter().map(Compact::new).collect()),
            ..testing::empty_stores()
        }
    }

    fn reconcile_in_background(
        ctx: Arc<Context>,
    ) -> tokio::task::JoinHandle<Result<Action, Error>> {
        tokio::spawn(reconcile(Arc::new(service()), ctx))
    }

    /// The children `paths` are each read (not in the cache: they may exist unlabelled), found
    /// absent, and server-side applied by the field manager `tidewater`, owned by the Service.
    /// The children are applied concurrently: the requests of different children may come in
    /// any order, those of one child in this one. Returns the applied bodies, in `paths` order.
    async fn expect_created(api: &mut ApiServer, paths: &[&str]) -> Vec<Value> {
        let mut read = BTreeSet::new();
        let mut bodies: Vec<Option<Value>> = vec![None; paths.len()];
        while bodies.iter().any(Option::is_none) {
            let r = api.next().await;
            let path = r.uri.split('?').next().unwrap_or_default().to_string();
            let i = paths
                .iter()
                .position(|p| *p == path)
                .unwrap_or_else(|| panic!("unexpected request {} {}", r.method, r.uri));
            if r.method == Method::GET {
                assert!(read.insert(i), "{path} read twice");
                r.not_found();
                continue;
            }
            assert!(read.contains(&i), "{path} applied before it was read");
            assert_eq!(r.method, Method::PATCH);
            assert_eq!(r.uri, format!("{path}?&force=true&fieldManager=tidewater"));
            assert_eq!(r.content_type, "application/apply-patch+yaml");
            assert_eq!(
                r.body["metadata"]["ownerReferences"],
                json!([{
                    "apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Service", "name": "web",
                    "uid": UID, "controller": true, "blockOwnerDeletion": true,
                }])
            );
            bodies[i] = Some(r.body.clone());
            r.echo();
        }
        bodies.into_iter().flatten().collect()
    }

    /// Pruning lists the KEDA kinds (not cached); here their CRDs are not installed.
    async fn expect_keda_lists(api: &mut ApiServer) {
        for plural in ["scaledobjects", "triggerauthentications"] {
            let list = api.next().await;
            assert_eq!(list.method, Method::GET);
            assert!(
                list.uri.starts_with(&format!(
                    "/apis/keda.sh/v1alpha1/namespaces/default/{plural}?"
                )),
                "{}",
                list.uri
            );
            list.not_found();
        }
    }

    /// The status is server-side applied on the status subresource; returns it.
    async fn expect_status(api: &mut ApiServer) -> Value {
        let patch = api.next().await;
        assert_eq!(patch.method, Method::PATCH);
        assert_eq!(
            patch.uri,
            "/apis/ecs.tidewater.dev/v1alpha1/namespaces/default/services/web/status?&force=true&fieldManager=tidewater"
        );
        assert_eq!(patch.content_type, "application/apply-patch+yaml");
        let status = patch.body["status"].clone();
        let mut stored = serde_json::to_value(service()).unwrap();
        stored["status"] = status.clone();
        stored["metadata"]["resourceVersion"] = json!("2");
        patch.reply(StatusCode::OK, &stored);
        status
    }

    /// `n` Events are posted (in any order); returns their bodies.
    async fn expect_events(api: &mut ApiServer, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..n {
            let event = api.next().await;
            assert_eq!(
                (&event.method, event.uri.as_str()),
                (
                    &Method::POST,
                    "/apis/events.k8s.io/v1/namespaces/default/events?"
                )
            );
            out.push(event.body.clone());
            event.echo();
        }
        out
    }

    fn condition(status: &Value, type_: &str) -> (String, String, String) {
        let c = status["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == type_)
            .unwrap();
        let s = |k: &str| c[k].as_str().unwrap().to_string();
        (s("status"), s("reason"), s("message"))
    }

    /// ECS (UpdateService `forceNewDeployment`): "You can use this option to start a new
    /// deployment with no service definition changes. For example, you can update a service's
    /// tasks to use a newer Docker image with the same image/tag combination". The pod template
    /// carries the time of the request, so the same revision becomes a new deployment (a new
    /// number, new pods), and the status records which request it includes.
    #[tokio::test]
    async fn a_forced_new_deployment_is_a_new_deployment_of_the_same_revision() {
        let (ctx, _api) = testing::context(stores(vec![]));
        let owner = Owner::of(&service());
        let prev = ServiceStatus::default();
        let before = plan(&service(), &ctx, &prev, &owner).unwrap();
        let mut forced = service();
        forced.metadata.annotations = Some(std::collections::BTreeMap::from([(
            FORCE_NEW_DEPLOYMENT.to_string(),
            "2026-11-27T07:30:00Z".to_string(),
        )]));
        let after = plan(&forced, &ctx, &prev, &owner).unwrap();
        assert_eq!(before.revision.reference(), after.revision.reference());
        assert_ne!(before.number, after.number);
        assert_eq!(
            (before.forced.as_deref(), after.forced.as_deref()),
            (None, Some("2026-11-27T07:30:00Z"))
        );
        let template = |p: &Plan| p.objects[0]["spec"]["template"].clone();
        let mut expected = template(&before);
        expected["metadata"]["annotations"] = json!({FORCE_NEW_DEPLOYMENT: "2026-11-27T07:30:00Z"});
        expected["metadata"]["labels"][DEPLOYMENT_LABEL] = json!(after.number);
        assert_eq!(template(&after), expected);
        // The same request planned again is the same deployment.
        assert_eq!(
            plan(&forced, &ctx, &prev, &owner).unwrap().number,
            after.number
        );
        let mut r = reconciled(outcome(deployment("IN_PROGRESS", "", 0)), 1);
        r.forced = after.forced.clone();
        let (st, _) = compute_status(&ServiceStatus::default(), &r);
        assert_eq!(
            st.forced_new_deployment.as_deref(),
            Some("2026-11-27T07:30:00Z")
        );
    }

    #[tokio::test]
    async fn a_new_service_is_applied_server_side_and_reported_in_progress() {
        let (ctx, mut api) = testing::context(stores(vec![]));
        let done = reconcile_in_background(ctx);
        let created = expect_created(
            &mut api,
            &[
                "/apis/apps/v1/namespaces/default/deployments/web",
                "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web",
            ],
        )
        .await;
        let deployment = &created[0];
        assert_eq!(deployment["spec"]["replicas"], 2);
        let number = deployment["spec"]["template"]["metadata"]["labels"][DEPLOYMENT_LABEL]
            .as_str()
            .unwrap()
            .to_string();
        expect_keda_lists(&mut api).await;
        let status = expect_status(&mut api).await;
        let in_progress = format!("deployment ecs-svc/{number} in progress: 0 of 2 tasks running");
        assert_eq!(
            condition(&status, "Ready"),
            (
                "False".into(),
                "RolloutInProgress".into(),
                in_progress.clone()
            )
        );
        assert_eq!(
            condition(&status, "Progressing"),
            ("True".into(), "InProgress".into(), in_progress)
        );
        assert_eq!(
            condition(&status, "Degraded"),
            ("False".into(), "AsExpected".into(), String::new())
        );
        assert_eq!(status["observedGeneration"], 1);
        assert_eq!(status["taskDefinition"], "web:1");
        assert_eq!(status["desiredCount"], 2);
        assert_eq!(status["deployments"][0]["id"], format!("ecs-svc/{number}"));
        assert_eq!(status["deployments"][0]["status"], "PRIMARY");
        assert_eq!(status["deployments"][0]["rolloutState"], "IN_PROGRESS");
        // No task started yet; the one translation warning (the PDB's eviction bound) is
        // announced once.
        assert_eq!(
            status["warnings"][0]["path"],
            "deploymentConfiguration.minimumHealthyPercent"
        );
        let events = expect_events(&mut api, 1).await;
        assert_eq!(events[0]["reason"], "TranslationWarnings");
        api.no_more().await;
        let action = done.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(Settings::default().poll));
    }

    #[tokio::test]
    async fn a_child_that_is_not_ours_is_never_written_and_is_reported() {
        let foreign: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "namespace": "default", "uid": "someone-else"},
        }))
        .unwrap();
        let (ctx, mut api) = testing::context(stores(vec![foreign]));
        let done = reconcile_in_background(ctx);
        // The Deployment is in the cache and not ours: no request at all for it.
        expect_created(
            &mut api,
            &["/apis/policy/v1/namespaces/default/poddisruptionbudgets/web"],
        )
        .await;
        expect_keda_lists(&mut api).await;
        let status = expect_status(&mut api).await;
        let refusal = "Deployment/web already exists and is not owned by this resource; Tidewater never overwrites objects it does not own (delete or rename it)";
        assert_eq!(
            condition(&status, "Ready"),
            ("False".into(), "NotOwned".into(), refusal.into())
        );
        assert_eq!(
            condition(&status, "Degraded"),
            ("True".into(), "NotOwned".into(), refusal.into())
        );
        let events = expect_events(&mut api, 2).await;
        let event = events
            .iter()
            .find(|e| e["reason"] == "NotOwned")
            .expect("a NotOwned Event");
        assert_eq!(event["type"], "Warning");
        assert_eq!(event["note"], refusal);
        assert_eq!(event["regarding"]["kind"], "Service");
        assert_eq!(event["regarding"]["uid"], UID);
        assert!(events.iter().any(|e| e["reason"] == "TranslationWarnings"));
        api.no_more().await;
        done.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_missing_task_definition_is_one_report_and_nothing_applied() {
        let stores = context::Stores {
            revisions: store_of(vec![]),
            ..testing::empty_stores()
        };
        let (ctx, mut api) = testing::context(stores);
        let done = reconcile_in_background(ctx.clone());
        let status = expect_status(&mut api).await;
        let missing = "taskDefinition: `web:1` is not registered in this namespace";
        assert_eq!(
            condition(&status, "Ready"),
            (
                "False".into(),
                "TaskDefinitionNotFound".into(),
                missing.into()
            )
        );
        assert_eq!(
            condition(&status, "Degraded"),
            (
                "True".into(),
                "TaskDefinitionNotFound".into(),
                missing.into()
            )
        );
        let event = api.next().await;
        assert_eq!(event.method, Method::POST);
        assert_eq!(event.body["reason"], "TaskDefinitionNotFound");
        assert_eq!(event.body["note"], missing);
        event.echo();
        api.no_more().await;
        let action = done.await.unwrap().unwrap();
        assert_eq!(action, Action::requeue(std::time::Duration::from_secs(10)));
        let metrics = ctx.metrics.render();
        assert!(
            metrics.contains(
                r#"tidewater_reconcile_errors_total{kind="Service",error="task_definition_not_found"} 1"#
            ),
            "{metrics}"
        );
    }

    // -----------------------------------------------------------------------------------------
    // compute_status: pure.
    // -----------------------------------------------------------------------------------------

    use crate::api::service::ServiceDeployment;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn at(t: i64) -> Timestamp {
        Timestamp::from_second(t).unwrap()
    }

    fn deployment(state: &str, reason: &str, running: i32) -> ServiceDeployment {
        ServiceDeployment {
            id: "ecs-svc/7".into(),
            status: "PRIMARY".into(),
            task_definition: "web:1".into(),
            desired_count: 2,
            running_count: running,
            rollout_state: Some(state.into()),
            rollout_state_reason: Some(reason.into()),
            ..ServiceDeployment::default()
        }
    }

    fn outcome(d: ServiceDeployment) -> rollout::Outcome {
        let state = d.rollout_state.clone();
        rollout::Outcome {
            status: ServiceStatus {
                task_definition: Some("web:1".into()),
                desired_count: 2,
                running_count: d.running_count,
                deployments: vec![d],
                ..ServiceStatus::default()
            },
            events: vec![],
            steady: state.as_deref() == Some("COMPLETED"),
            progressing: state.as_deref() == Some("IN_PROGRESS"),
            failed: state.as_deref() == Some("FAILED"),
            rollback_to: None,
        }
    }

    fn reconciled(rollout: rollout::Outcome, written: usize) -> Reconciled {
        Reconciled {
            rollout,
            children: Children {
                written,
                ..Children::default()
            },
            warnings: vec![],
            primary: "7".into(),
            reason: None,
            forced: None,
            generation: Some(2),
            now: at(100),
        }
    }

    fn cond(type_: &str, status: &str, reason: &str, message: &str, t: i64) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: Some(2),
            last_transition_time: Time(at(t)),
        }
    }

    /// A status that already observed generation 2 running web:1.
    fn observed() -> ServiceStatus {
        ServiceStatus {
            task_definition: Some("web:1".into()),
            common: CommonStatus {
                observed_generation: Some(2),
                ..CommonStatus::default()
            },
            ..ServiceStatus::default()
        }
    }

    #[test]
    fn a_rollout_in_progress_is_progressing_and_not_ready() {
        let r = reconciled(outcome(deployment("IN_PROGRESS", "", 1)), 0);
        let (st, notes) = compute_status(&ServiceStatus::default(), &r);
        let msg = "deployment ecs-svc/7 in progress: 1 of 2 tasks running";
        assert_eq!(
            st.common,
            CommonStatus {
                observed_generation: Some(2),
                conditions: vec![
                    cond("Ready", "False", "RolloutInProgress", msg, 100),
                    cond("Progressing", "True", "InProgress", msg, 100),
                    cond("Degraded", "False", "AsExpected", "", 100),
                ],
                warnings: vec![],
            }
        );
        assert_eq!(st.deployments, r.rollout.status.deployments);
        assert_eq!(notes, vec![]);
    }

    #[test]
    fn a_steady_service_is_ready_and_a_hand_edit_repaired_is_announced() {
        let mut r = reconciled(outcome(deployment("COMPLETED", "done", 2)), 1);
        r.rollout.events = vec![Note::normal(
            "SteadyState",
            "(service web) has reached a steady state.",
        )];
        let (st, notes) = compute_status(&observed(), &r);
        assert_eq!(
            st.common.conditions,
            vec![
                cond(
                    "Ready",
                    "True",
                    "SteadyState",
                    "the service has reached a steady state",
                    100
                ),
                cond("Progressing", "False", "Idle", "", 100),
                cond("Degraded", "False", "AsExpected", "", 100),
            ]
        );
        assert_eq!(
            notes,
            vec![
                Note::normal(
                    "ObjectsReapplied",
                    "1 object(s) brought back to the declared state"
                ),
                Note::normal("SteadyState", "(service web) has reached a steady state."),
            ]
        );
        // A new generation explains the write: nothing to announce.
        let (_, notes) = compute_status(&ServiceStatus::default(), &r);
        assert_eq!(
            notes,
            vec![Note::normal(
                "SteadyState",
                "(service web) has reached a steady state."
            )]
        );
    }

    #[test]
    fn a_failed_rollout_is_degraded_with_the_circuit_breakers_reason() {
        let why = "ECS deployment circuit breaker: tasks failed to start (3 failed, threshold 3).";
        let r = reconciled(outcome(deployment("FAILED", why, 0)), 0);
        let (st, _) = compute_status(&observed(), &r);
        assert_eq!(
            st.common.conditions,
            vec![
                cond("Ready", "False", "DeploymentFailed", why, 100),
                cond("Progressing", "False", "Idle", "", 100),
                cond("Degraded", "True", "DeploymentFailed", why, 100),
            ]
        );
    }

    #[test]
    fn refused_children_are_reported_once_and_warnings_when_new() {
        let mut r = reconciled(outcome(deployment("IN_PROGRESS", "", 0)), 0);
        r.children.refused = Refusals(vec![Error::MissingCrd {
            kind: "TargetGroupBinding".into(),
            group: "elbv2.k8s.aws".into(),
        }]);
        r.warnings = vec![TranslationWarning {
            path: "loadBalancers[0]".into(),
            disposition: "approximated".into(),
            message: "m".into(),
        }];
        let (st, notes) = compute_status(&ServiceStatus::default(), &r);
        let msg = "the TargetGroupBinding kind (elbv2.k8s.aws) is not installed in this cluster; install its controller's CRDs";
        assert_eq!(
            st.common.conditions,
            vec![
                cond("Ready", "False", "MissingCrd", msg, 100),
                cond("Progressing", "True", "InProgress", msg, 100),
                cond("Degraded", "True", "MissingCrd", msg, 100),
            ]
        );
        assert_eq!(st.common.warnings, r.warnings);
        assert_eq!(
            notes,
            vec![
                Note::warning("MissingCrd", msg),
                Note::warning(
                    "TranslationWarnings",
                    "1 field(s) could not be carried over exactly: loadBalancers[0] (approximated): m;"
                ),
            ]
        );
        let (_, again) = compute_status(&st, &r);
        assert_eq!(again, vec![], "reported once");
    }
}
