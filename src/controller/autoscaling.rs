//! What the operator carries out itself for a Service's `autoScaling`:
//!
//! * scheduled actions: before apply, the scaler's bounds (HorizontalPodAutoscaler
//!   min/maxReplicas, ScaledObject min/maxReplicaCount) become those in force now, and the
//!   Service is requeued at the next firing;
//! * desiredCount: as on ECS, the workload starts with desiredCount tasks (within the bounds) and
//!   every later change of desiredCount sets the running count once (the scale subresource),
//!   remembered in an annotation of the Deployment so the autoscaler is never fought; without a
//!   scaler the running count is kept within the bounds, as scheduled actions do;
//! * ScaledObjects and TriggerAuthentications (not cached) are pruned by listing them, which
//!   succeeds only when KEDA's CRDs exist.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use crate::api::Service;
use crate::translate::scaling::{Capacity, scheduled};

use super::apply::{self, Owner};
use super::context::{Context, cached};
use super::error::Error;

/// Deployment annotation: the desiredCount last written to the scale subresource.
pub const APPLIED_DESIRED_COUNT: &str = "ecs.tidewater.dev/applied-desired-count";
/// Deployment annotation: which scaler the workload has (`HorizontalPodAutoscaler`,
/// `ScaledObject` or `none`); a change prunes the previous one.
pub const SCALER: &str = "ecs.tidewater.dev/scaler";
/// Deployment annotation: when each scheduled action first appeared (JSON, name → RFC 3339):
/// an action fires only after it was put, as in Application Auto Scaling.
pub const ACTIONS_SINCE: &str = "ecs.tidewater.dev/scheduled-actions-since";
/// Scaler annotation: the scheduled actions whose bounds are in force.
pub const IN_FORCE: &str = "ecs.tidewater.dev/scheduled-actions-in-force";
const FIELD_MANAGER: &str = "tidewater-desired-count";

/// What [`prepare`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    /// The bounds in force, when the Service is autoscaled.
    pub capacity: Option<Capacity>,
    /// Whether a scaler object is desired.
    pub has_scaler: bool,
    /// Whether the scaler kind differs from the live workload's: the old one must be pruned.
    pub scaler_changed: bool,
    /// Time until the next scheduled action fires.
    pub next: Option<Duration>,
}

fn chrono_of(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// Set the scaler's bounds to those in force at `now` and mark the workload with its scaler.
pub fn prepare(ctx: &Context, svc: &Service, objects: &mut [Value], now: Timestamp) -> Prepared {
    let Some(a) = &svc.spec.auto_scaling else {
        return Prepared::default();
    };
    let seen = first_seen(ctx, svc, &a.scheduled_actions, now);
    let since = |name: &str| seen.get(name).copied().unwrap_or_else(|| chrono_of(now));
    let f = scheduled::in_force_since(a, &since, chrono_of(now));
    let scaler = objects
        .iter()
        .find_map(|o| match o["kind"].as_str() {
            Some(k @ ("HorizontalPodAutoscaler" | "ScaledObject")) => Some(k.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "none".into());
    let mut changed = false;
    for o in objects.iter_mut() {
        match o["kind"].as_str() {
            Some("HorizontalPodAutoscaler") => set_bounds(o, "minReplicas", "maxReplicas", 1, &f),
            Some("ScaledObject") => {
                // CPU/memory triggers alone cannot scale to zero (the translation reports it).
                let cpu_only = o["spec"]["triggers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|t| t["type"] == "cpu" || t["type"] == "memory");
                set_bounds(
                    o,
                    "minReplicaCount",
                    "maxReplicaCount",
                    i32::from(cpu_only),
                    &f,
                );
            }
            Some("Deployment") => {
                o["metadata"]["annotations"][SCALER] = json!(scaler);
                if !seen.is_empty() {
                    let times: BTreeMap<&String, String> =
                        seen.iter().map(|(k, v)| (k, v.to_rfc3339())).collect();
                    o["metadata"]["annotations"][ACTIONS_SINCE] = json!(json!(times).to_string());
                }
                let ns = svc.namespace().unwrap_or_default();
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                changed = cached(&ctx.stores.deployments, &ns, name)
                    .is_some_and(|d| d.annotations().get(SCALER) != Some(&scaler));
            }
            _ => {}
        }
    }
    let next = f.next.map(|n| {
        let secs = (n - chrono_of(now)).num_milliseconds().max(0) as u64;
        Duration::from_millis(secs + 200)
    });
    Prepared {
        capacity: Some(f.capacity),
        has_scaler: scaler != "none",
        scaler_changed: changed,
        next,
    }
}

/// When each scheduled action first appeared: as recorded on the workload; else now for an action
/// added to a Service whose workload records them; else the Service's creation (a new workload,
/// or one from before this record).
fn first_seen(
    ctx: &Context,
    svc: &Service,
    actions: &[crate::api::generated::autoscaling::PutScheduledActionRequest],
    now: Timestamp,
) -> BTreeMap<String, chrono::DateTime<chrono::Utc>> {
    let ns = svc.namespace().unwrap_or_default();
    let workload = crate::translate::names::dns_label(
        svc.spec
            .create
            .service_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&svc.name_any()),
    );
    let live = cached(&ctx.stores.deployments, &ns, &workload);
    let annotation = live
        .as_ref()
        .and_then(|d| d.annotations().get(ACTIONS_SINCE).cloned());
    let recorded: BTreeMap<String, String> = annotation
        .as_deref()
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let created = svc.meta().creation_timestamp.as_ref().map_or(now, |t| t.0);
    let default = chrono_of(if annotation.is_some() { now } else { created });
    actions
        .iter()
        .map(|s| {
            let name = s.scheduled_action_name.clone();
            let at = recorded
                .get(&name)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map_or(default, |t| t.with_timezone(&chrono::Utc));
            (name, at)
        })
        .collect()
}

fn set_bounds(o: &mut Value, min: &str, max: &str, floor: i32, f: &scheduled::InForce) {
    let lo = f.capacity.min.max(floor);
    o["spec"][min] = json!(lo);
    o["spec"][max] = json!(f.capacity.max.max(lo).max(1));
    if !f.actions.is_empty() {
        o["metadata"]["annotations"][IN_FORCE] = json!(f.actions.join(","));
    }
}

/// The earlier of a requeue interval and the next scheduled firing.
pub fn sooner(interval: Duration, p: &Prepared) -> Duration {
    p.next.map_or(interval, |n| n.min(interval))
}

/// desiredCount under autoscaling: write the scale subresource once per change of desiredCount
/// (and, without a scaler, whenever the running count is outside the bounds). `fresh` is the
/// Deployment as this reconcile just wrote it, if it did (newer than the cache, and no read
/// needed for one just created). Returns whether a write happened.
pub async fn desired_count(
    ctx: &Context,
    svc: &Service,
    workload: &str,
    fresh: Option<&Value>,
    p: &Prepared,
) -> Result<bool, Error> {
    let Some(cap) = p.capacity else {
        return Ok(false);
    };
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &ns);
    let fresh = fresh.and_then(|v| serde_json::from_value::<Deployment>(v.clone()).ok());
    let live = match fresh
        .or_else(|| cached(&ctx.stores.deployments, &ns, workload).map(|d| d.object()))
    {
        Some(d) => Some(d),
        None => {
            ctx.metrics.api_call("get");
            api.get_opt(workload).await?
        }
    };
    let Some(live) = live else { return Ok(false) };
    let want = svc.spec.create.desired_count.unwrap_or(0);
    let replicas = live.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let recorded = live.annotations().get(APPLIED_DESIRED_COUNT).cloned();
    let target = if recorded.as_deref() != Some(want.to_string().as_str()) {
        Some(cap.clamp(want))
    } else if !p.has_scaler && cap.clamp(replicas) != replicas {
        Some(cap.clamp(replicas))
    } else {
        None
    };
    let Some(n) = target else { return Ok(false) };
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    };
    if n != replicas {
        ctx.metrics.api_call("patch");
        api.patch_scale(
            workload,
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": n}})),
        )
        .await?;
    }
    if recorded.as_deref() != Some(want.to_string().as_str()) {
        ctx.metrics.api_call("patch");
        let annotation =
            json!({"metadata": {"annotations": {APPLIED_DESIRED_COUNT: want.to_string()}}});
        api.patch(workload, &pp, &Patch::Merge(annotation)).await?;
    }
    Ok(true)
}

/// Delete the ScaledObjects and TriggerAuthentications of `owner` that are no longer desired,
/// when their kind is not cached (a cached kind is pruned from its cache with the other
/// third-party children, without a LIST). Nothing to do when KEDA's CRDs are not installed.
pub async fn prune(ctx: &Context, ns: &str, objects: &[Value], owner: &Owner) -> Result<(), Error> {
    for kind in ["ScaledObject", "TriggerAuthentication"] {
        if ctx.stores.third_party.watches(kind) {
            continue;
        }
        let ar = apply::api_resource(&json!({"apiVersion": "keda.sh/v1alpha1", "kind": kind}));
        let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), ns, &ar);
        let lp = ListParams::default().labels("app.kubernetes.io/managed-by=tidewater");
        ctx.metrics.api_call("list");
        let live = match api.list(&lp).await {
            Ok(l) => l.items,
            Err(kube::Error::Api(s)) if s.code == 404 => continue,
            Err(e) => return Err(e.into()),
        };
        for o in live {
            let ours = o
                .owner_references()
                .iter()
                .any(|r| r.uid == owner.uid && r.controller == Some(true));
            let keep = objects
                .iter()
                .any(|d| d["kind"] == kind && d["metadata"]["name"] == o.name_any().as_str());
            if ours && !keep {
                ctx.metrics.api_call("delete");
                match api.delete(&o.name_any(), &DeleteParams::background()).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_in_force_replace_the_rendered_ones() {
        let f = scheduled::InForce {
            capacity: Capacity { min: 0, max: 8 },
            actions: vec!["night".into()],
            next: None,
        };
        let mut hpa = json!({"metadata": {}, "spec": {"minReplicas": 2, "maxReplicas": 4}});
        set_bounds(&mut hpa, "minReplicas", "maxReplicas", 1, &f);
        assert_eq!(
            hpa,
            json!({"metadata": {"annotations": {IN_FORCE: "night"}},
                "spec": {"minReplicas": 1, "maxReplicas": 8}})
        );
        let mut so = json!({"metadata": {}, "spec": {"minReplicaCount": 2, "maxReplicaCount": 4}});
        set_bounds(&mut so, "minReplicaCount", "maxReplicaCount", 0, &f);
        assert_eq!(
            so["spec"],
            json!({"minReplicaCount": 0, "maxReplicaCount": 8})
        );
    }

    #[test]
    fn the_next_firing_shortens_the_requeue() {
        let mut p = Prepared::default();
        assert_eq!(
            sooner(Duration::from_secs(300), &p),
            Duration::from_secs(300)
        );
        p.next = Some(Duration::from_secs(7));
        assert_eq!(sooner(Duration::from_secs(300), &p), Duration::from_secs(7));
        assert_eq!(sooner(Duration::from_secs(5), &p), Duration::from_secs(5));
    }
}
