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

use crate::api::common::CommonStatus;
use crate::api::ecs::SchedulingStrategy;
use crate::api::service::ServiceStatus;
use crate::api::{Cluster, Service};
use crate::translate::{self, Object, labels, names};

use super::apply::{self, Applied, Owner};
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
use super::revisions::{self, Revision};
use super::rollout::{self, DEPLOYMENT_LABEL, Observation, PodFacts, WorkloadFacts};
use super::status;

/// Annotation on a Service: seconds a rollout may make no progress before the circuit breaker
/// counts it failed (plus healthCheckGracePeriodSeconds). Default 600, as Kubernetes.
pub const PROGRESS_DEADLINE: &str = "ecs.tidewater.dev/progress-deadline-seconds";

/// The Cluster a workload belongs to: `cluster` (a name or ARN) in the same namespace, else
/// `default`.
pub fn cluster_of(ctx: &Context, namespace: &str, cluster: Option<&str>) -> Option<Arc<Cluster>> {
    let name = cluster
        .filter(|c| !c.is_empty())
        .map(|c| c.rsplit('/').next().unwrap_or(c).to_string())
        .unwrap_or_else(|| "default".into());
    cached(&ctx.stores.clusters, namespace, &name).or_else(|| {
        ctx.stores.clusters.state().into_iter().find(|c| {
            c.namespace().as_deref() == Some(namespace)
                && c.spec.create.cluster_name.as_deref() == Some(name.as_str())
        })
    })
}

/// Resolve `reference` (`family`, `family:N` or an ARN) to a registered revision in `namespace`.
/// `running` lists the `family:N` already running, which may be INACTIVE.
pub fn resolve_revision(
    ctx: &Context,
    namespace: &str,
    reference: &str,
    running: &BTreeSet<String>,
) -> Result<Revision, Error> {
    let (family, number) = revisions::parse_reference(reference);
    let by_name = |n: i64| {
        cached(
            &ctx.stores.revisions,
            namespace,
            &revisions::name(&family, n),
        )
        .and_then(|cr| revisions::from_object(&cr))
        .filter(|r| r.family == family)
    };
    let candidates: Vec<Revision> = match number {
        Some(n) => by_name(n).into_iter().collect(),
        None => {
            // The TaskDefinition of the family knows its latest revision; walk down past
            // deregistered ones.
            let td = cached(&ctx.stores.task_definitions, namespace, &family)
                .filter(|td| translate::task_definition::family(&td.spec, &td.name_any()) == family)
                .or_else(|| {
                    ctx.stores.task_definitions.state().into_iter().find(|td| {
                        td.namespace().as_deref() == Some(namespace)
                            && translate::task_definition::family(&td.spec, &td.name_any())
                                == family
                    })
                });
            let latest = td
                .and_then(|td| td.status.as_ref().and_then(|s| s.revision))
                .unwrap_or(0);
            (1..=latest).rev().filter_map(by_name).take(64).collect()
        }
    };
    revisions::resolve(&candidates, &family, number, |r| {
        running.contains(&r.reference())
    })
    .cloned()
}

/// Whether a TaskDefinition of `reference`'s family exists in `namespace` and has not yet
/// registered its current spec (its revision is on the way).
pub fn registering(ctx: &Context, namespace: &str, reference: &str) -> bool {
    let (family, _) = revisions::parse_reference(reference);
    ctx.stores.task_definitions.state().iter().any(|td| {
        td.namespace().as_deref() == Some(namespace)
            && translate::task_definition::family(&td.spec, &td.name_any()) == family
            && td
                .status
                .as_ref()
                .and_then(|s| s.common.observed_generation)
                != td.metadata.generation
    })
}

/// What the build step produced.
struct Plan {
    objects: Vec<Value>,
    warnings: Vec<translate::Warning>,
    revision: Revision,
    number: String,
    workload: String,
    daemon: bool,
    reason: Option<String>,
}

fn build(
    svc: &Service,
    ctx: &Context,
    revision: &Revision,
    owner: &Owner,
) -> Result<(Vec<Value>, Vec<translate::Warning>, String), Error> {
    let ns = svc.namespace().unwrap_or_default();
    let name = svc.name_any();
    let td = revision.task_definition()?;
    translate::validate::task_definition(&td).map_err(|e| {
        Error::Invalid(format!(
            "task definition {}: {}",
            revision.reference(),
            e.0.iter()
                .map(|v| format!("{}: {}", v.path, v.message))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    })?;
    let cluster = cluster_of(ctx, &ns, svc.spec.create.cluster.as_deref());
    if let Some(policy) = cluster.as_ref().and_then(|c| c.spec.policy.as_ref()) {
        translate::validate::policy(&td, td.register.task_role_arn.as_deref(), policy)
            .map_err(|e| Error::Policy(format!("PolicyViolation: {e}")))?;
    }
    let t = translate::service::translate(translate::service::ServiceInput {
        name: &name,
        spec: &svc.spec,
        task_definition_name: &revision.family,
        task_definition: &td,
        revision: Some(revision.number),
        cluster: cluster.as_ref().map(|c| &c.spec),
    });
    let mut warnings = t.warnings;
    warnings.extend(translate::service::task_definition_warnings(
        &revision.family,
        &td,
    ));
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
    let mut number = String::new();
    let mut objects = Vec::new();
    for o in &t.objects {
        let mut v = o.to_value();
        if matches!(o, Object::Deployment(_) | Object::DaemonSet(_)) {
            number = rollout::deployment_number(&v["spec"]["template"].to_string());
            v["spec"]["template"]["metadata"]["labels"][DEPLOYMENT_LABEL] =
                Value::String(number.clone());
            if matches!(o, Object::Deployment(_)) {
                v["spec"]["progressDeadlineSeconds"] = (deadline.max(1) + grace).into();
            }
        }
        objects.push(apply::with_owner(v, owner));
    }
    Ok((objects, warnings, number))
}

fn plan(svc: &Service, ctx: &Context, prev: &ServiceStatus, owner: &Owner) -> Result<Plan, Error> {
    let ns = svc.namespace().unwrap_or_default();
    let reference = svc
        .spec
        .create
        .task_definition
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Invalid("taskDefinition: required".into()))?;
    let running: BTreeSet<String> = prev
        .deployments
        .iter()
        .filter(|d| d.status != "INACTIVE")
        .map(|d| d.task_definition.clone())
        .collect();
    let revision = resolve_revision(ctx, &ns, &reference, &running)?;
    let (mut objects, mut warnings, mut number) = build(svc, ctx, &revision, owner)?;
    let mut revision = revision;
    let mut reason = None;
    // A template whose deployment failed is not retried: with rollback, the last completed
    // revision runs instead until the spec or the task definition changes.
    let breaker = svc
        .spec
        .create
        .deployment_configuration
        .as_ref()
        .and_then(|d| d.deployment_circuit_breaker.as_ref());
    if breaker.is_some_and(|b| b.enable && b.rollback) && rollout::has_failed(prev, &number) {
        if let Some(target) = rollout::rollback_target(prev, &number) {
            let back = resolve_revision(ctx, &ns, &target, &BTreeSet::from([target.clone()]))?;
            (objects, warnings, number) = build(svc, ctx, &back, owner)?;
            reason = Some(format!(
                "rolled back to {} after deployment {} failed.",
                back.reference(),
                rollout::deployment_id(&number)
            ));
            revision = back;
        }
    }
    let workload = names::dns_label(
        svc.spec
            .create
            .service_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&svc.name_any()),
    );
    Ok(Plan {
        objects,
        warnings,
        revision,
        number,
        workload,
        daemon: svc.spec.create.scheduling_strategy == Some(SchedulingStrategy::Daemon),
        reason,
    })
}

/// The cached object of `desired`'s kind and name: `Some(None)` when the kind is cached and the
/// object is not in the cache; `None` when the kind is not cached.
fn cached_live(ctx: &Context, ns: &str, desired: &Value) -> Option<Option<Value>> {
    let name = desired["metadata"]["name"].as_str().unwrap_or_default();
    let s = &ctx.stores;
    fn v<K: serde::Serialize>(o: Option<Arc<K>>) -> Option<Value> {
        o.map(|o| serde_json::to_value(&*o).expect("objects serialise"))
    }
    Some(match desired["kind"].as_str().unwrap_or_default() {
        "Deployment" => v(cached(&s.deployments, ns, name)),
        "DaemonSet" => v(cached(&s.daemon_sets, ns, name)),
        "Service" => v(cached(&s.k8s_services, ns, name)),
        "ServiceAccount" => v(cached(&s.service_accounts, ns, name)),
        "Ingress" => v(cached(&s.ingresses, ns, name)),
        "HorizontalPodAutoscaler" => v(cached(&s.hpas, ns, name)),
        "PodDisruptionBudget" => v(cached(&s.pdbs, ns, name)),
        _ => return None,
    })
}

/// Apply every desired object; objects that exist and are not ours are reported, not touched.
pub async fn apply_all(
    ctx: &Context,
    ns: &str,
    objects: &[Value],
    owner: &Owner,
) -> Result<(usize, Vec<Error>), Error> {
    let mut written = 0;
    let mut refused = Vec::new();
    for desired in objects {
        // An object missing from the cache may still exist (unlabelled, someone else's): the
        // apply step reads it before writing.
        let live = cached_live(ctx, ns, desired).flatten();
        match apply::reconcile_object(&ctx.client, ns, desired, live, owner, &ctx.metrics).await {
            Ok(Applied::Written) => written += 1,
            Ok(Applied::Unchanged) => {}
            Err(e @ (Error::NotOwned { .. } | Error::MissingCrd { .. })) => refused.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok((written, refused))
}

async fn prune(ctx: &Context, ns: &str, objects: &[Value], owner: &Owner) -> Result<(), Error> {
    let keep = |kind: &str| -> BTreeSet<String> {
        objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
            .collect()
    };
    let in_ns = |ns2: Option<String>| ns2.as_deref() == Some(ns);
    let s = &ctx.stores;
    let (c, m) = (&ctx.client, &ctx.metrics);
    macro_rules! prune_kind {
        ($store:expr, $kind:literal) => {{
            let live: Vec<_> = $store
                .state()
                .into_iter()
                .filter(|o| in_ns(o.namespace()))
                .collect();
            apply::prune(c, ns, &live, &keep($kind), owner, m).await?;
        }};
    }
    prune_kind!(s.deployments, "Deployment");
    prune_kind!(s.daemon_sets, "DaemonSet");
    prune_kind!(s.k8s_services, "Service");
    prune_kind!(s.service_accounts, "ServiceAccount");
    prune_kind!(s.ingresses, "Ingress");
    prune_kind!(s.hpas, "HorizontalPodAutoscaler");
    prune_kind!(s.pdbs, "PodDisruptionBudget");
    super::autoscaling::prune(ctx, ns, objects, owner).await
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

/// Reconcile one ECS Service.
pub async fn reconcile(svc: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("Service", &*svc) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let ns = svc.namespace().unwrap_or_default();
    let owner = Owner::of(&*svc);
    let prev: ServiceStatus = ctx
        .status_of(&*svc, svc.status.as_ref())
        .unwrap_or_default();
    let generation = svc.metadata.generation;
    let now = Timestamp::now();

    let mut plan = match plan(&svc, &ctx, &prev, &owner) {
        Ok(p) => p,
        Err(Error::TaskDefinitionNotFound(r)) if registering(&ctx, &ns, &r) => {
            // Applied together with its task definition, whose revision is being registered:
            // not an error, just not yet.
            return Ok(Action::requeue(ctx.settings.poll));
        }
        Err(e) if e.is_user_error() => {
            report_error(&svc, &ctx, &prev, &e, now).await?;
            return Ok(Action::requeue(ctx.settings.resync));
        }
        Err(e) => return Err(e),
    };

    let scaling = super::autoscaling::prepare(&ctx, &svc, &mut plan.objects, now);
    let (written, refused) = apply_all(&ctx, &ns, &plan.objects, &owner).await?;
    super::autoscaling::desired_count(&ctx, &svc, &plan.workload, &scaling).await?;
    if prev.common.observed_generation != generation
        || prev.task_definition.as_deref() != Some(plan.revision.reference().as_str())
        || scaling.scaler_changed
    {
        prune(&ctx, &ns, &plan.objects, &owner).await?;
    }

    // Observe.
    let pods: Vec<PodFacts> = ctx
        .stores
        .pods
        .state()
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(ns.as_str()))
        .filter(|p| p.labels().get(labels::SERVICE) == Some(&plan.workload))
        .map(|p| pod_facts(p))
        .collect();
    let workload = if plan.daemon {
        cached(&ctx.stores.daemon_sets, &ns, &plan.workload).map(|d| daemon_facts(&d))
    } else {
        cached(&ctx.stores.deployments, &ns, &plan.workload).map(|d| deployment_facts(&d))
    };
    let desired = match (&workload, plan.daemon, &svc.spec.auto_scaling) {
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
    };
    let breaker = svc
        .spec
        .create
        .deployment_configuration
        .as_ref()
        .and_then(|d| d.deployment_circuit_breaker.as_ref());
    let service_name = svc
        .spec
        .create
        .service_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| svc.name_any());
    let outcome = rollout::observe(
        &prev,
        &Observation {
            service: service_name,
            primary: plan.number.clone(),
            task_definition: plan.revision.reference(),
            desired,
            pods,
            workload,
            circuit_breaker: breaker.is_some_and(|b| b.enable),
            rollback: breaker.is_some_and(|b| b.rollback),
            reason: plan.reason.clone(),
            now,
        },
    );

    // Conditions.
    let refusal = refused
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let wanted = if let Some(e) = refused.first() {
        conditions::standard(
            false,
            outcome.progressing,
            Some((e.reason(), &refusal)),
            e.reason(),
            &refusal,
        )
    } else if outcome.failed {
        let why = outcome
            .status
            .deployments
            .iter()
            .find(|d| d.rollout_state.as_deref() == Some("FAILED"))
            .and_then(|d| d.rollout_state_reason.clone())
            .unwrap_or_default();
        conditions::standard(
            false,
            false,
            Some(("DeploymentFailed", &why)),
            "DeploymentFailed",
            &why,
        )
    } else if outcome.steady {
        conditions::standard(
            true,
            false,
            None,
            "SteadyState",
            "the service has reached a steady state",
        )
    } else {
        let msg = format!(
            "deployment {} in progress: {} of {} tasks running",
            rollout::deployment_id(&plan.number),
            outcome.status.running_count,
            desired
        );
        conditions::standard(false, true, None, "RolloutInProgress", &msg)
    };
    let warnings = status::warnings(&plan.warnings);
    let mut st = outcome.status.clone();
    st.common = CommonStatus {
        observed_generation: generation,
        conditions: conditions::merge(&prev.common.conditions, &wanted, generation, now),
        warnings: warnings.clone(),
    };
    if written > 0
        && prev.common.observed_generation.is_some()
        && prev.common.observed_generation == generation
        && prev.task_definition.as_deref() == Some(plan.revision.reference().as_str())
        && plan.reason.is_none()
    {
        // Neither the spec nor the revision changed, yet a child had to be written: a hand
        // edit (or a change of the Cluster's defaults) was applied over.
        ctx.event(
            &*svc,
            false,
            "ObjectsReapplied",
            format!("{written} object(s) brought back to the declared state"),
        )
        .await;
    }
    status::write(&ctx, &*svc, Some(&prev), &st).await?;
    for e in &outcome.events {
        ctx.event(&*svc, e.warning, e.reason, e.message.clone())
            .await;
    }
    if let Some(e) = refused.first() {
        if !prev
            .common
            .conditions
            .iter()
            .any(|c| c.reason == e.reason() && c.message == refusal)
        {
            ctx.event(&*svc, true, e.reason(), refusal.clone()).await;
        }
    }
    if let Some(note) = status::new_warnings_note(&prev.common.warnings, &warnings) {
        ctx.event(&*svc, true, "TranslationWarnings", note).await;
    }
    Ok(if outcome.rollback_to.is_some() {
        Action::requeue(std::time::Duration::from_millis(200))
    } else if outcome.progressing || written > 0 {
        Action::requeue(super::autoscaling::sooner(ctx.settings.poll, &scaling))
    } else {
        Action::requeue(super::autoscaling::sooner(ctx.settings.resync, &scaling))
    })
}

/// Report a user error (unresolvable task definition, policy, invalid spec) in status and as an
/// Event (once); nothing is applied.
async fn report_error(
    svc: &Service,
    ctx: &Context,
    prev: &ServiceStatus,
    e: &Error,
    now: Timestamp,
) -> Result<(), Error> {
    let generation = svc.metadata.generation;
    let message = e.to_string();
    let wanted: Vec<Wanted> = conditions::standard(
        false,
        false,
        Some((e.reason(), &message)),
        e.reason(),
        &message,
    );
    let mut st = prev.clone();
    st.common.observed_generation = generation;
    st.common.conditions = conditions::merge(&prev.common.conditions, &wanted, generation, now);
    if status::write(ctx, svc, Some(prev), &st).await? {
        ctx.event(svc, true, e.reason(), message).await;
    }
    ctx.metrics.failure("Service", e.label());
    Ok(())
}
