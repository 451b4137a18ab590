//! A workload (Service, Task, ScheduledTask) whose task definition is on its way waits for it
//! quietly, without reporting `TaskDefinitionNotFound`: the TaskDefinition's status may name a
//! revision before the revision reaches the operator's cache, and a directory applied at once
//! creates a workload before its TaskDefinition. The revision's arrival in the cache (or the
//! TaskDefinition's) wakes the workload; each controller watches both.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};

use super::context::{Context, cached};
use super::error::Error;
use super::{index, revisions};

/// How a reconcile of `obj` that failed with `e` goes on when `e` only says that its task
/// definition has not arrived yet: a look again, with nothing reported (`None`: report `e`).
pub fn task_definition<K: Resource>(ctx: &Context, obj: &K, e: &Error) -> Option<Action> {
    let Error::TaskDefinitionNotFound(reference) = e else {
        return None;
    };
    if registering(ctx, &obj.namespace().unwrap_or_default(), reference) {
        return Some(Action::requeue(ctx.settings.poll));
    }
    let created = obj.meta().creation_timestamp.as_ref().map(|t| t.0);
    let left = grace_left(created, Timestamp::now())?;
    Some(Action::requeue(
        left.min(ctx.settings.poll) + Duration::from_millis(100),
    ))
}

/// Whether a TaskDefinition of `reference`'s family exists in `namespace` and its revision is on
/// the way: it has not yet registered its current spec, or its status names a latest revision
/// (the one `reference` resolves to) that has not reached the revision cache yet.
pub fn registering(ctx: &Context, namespace: &str, reference: &str) -> bool {
    let (family, pinned) = revisions::parse_reference(reference);
    let s = &ctx.stores;
    let key = index::family_key(namespace, &family);
    s.indexes
        .task_definitions
        .objects(&s.task_definitions, &key)
        .iter()
        .any(|td| {
            let td = td.object();
            let status = td.status.as_ref();
            let behind =
                status.and_then(|s| s.common.observed_generation) != td.metadata.generation;
            let latest = status.and_then(|s| s.revision);
            let uncached = latest.is_some_and(|n| {
                pinned.is_none_or(|p| p == n)
                    && cached(
                        &ctx.stores.revisions,
                        namespace,
                        &revisions::name(&family, n),
                    )
                    .is_none()
            });
            behind || uncached
        })
}

/// How long a new workload waits quietly for a task definition that does not exist yet: a
/// directory applied at once (`kubectl apply -f dir/`) creates the workload and its
/// TaskDefinition in any order, and the TaskDefinition's arrival wakes the workload. Past this,
/// the missing task definition is reported (as ECS's CreateService and RunTask would at once).
pub const MISSING_TASK_DEFINITION_GRACE: Duration = Duration::from_secs(10);

/// How much longer the workload created at `created` waits quietly for its task definition, if
/// it is still within [`MISSING_TASK_DEFINITION_GRACE`] at `now` (never without a creation time).
pub fn grace_left(created: Option<Timestamp>, now: Timestamp) -> Option<Duration> {
    let age = now.duration_since(created?);
    let left = MISSING_TASK_DEFINITION_GRACE.as_secs_f64() - age.as_secs_f64();
    (age.as_secs_f64() >= 0.0 && left > 0.0).then(|| Duration::from_secs_f64(left))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ScheduledTask, Service, Task, TaskDefinition};
    use crate::controller::compact::Compact;
    use crate::controller::context::{Settings, Stores};
    use crate::controller::testing::{self, store_of};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use serde_json::{Value, json};
    use std::sync::Arc;

    /// TaskDefinition `web` whose status names revision 1, which is not in the cache.
    fn registered_not_cached() -> Stores {
        let td: TaskDefinition = serde_json::from_value(json!({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": "web", "namespace": "default", "generation": 1},
            "spec": {"family": "web", "containerDefinitions": []},
            "status": {"revision": 1, "taskDefinition": "web:1", "observedGeneration": 1},
        }))
        .unwrap();
        Stores {
            task_definitions: store_of(vec![Compact::new(td)]),
            ..testing::empty_stores()
        }
    }

    /// A workload of `kind` running task definition `web`, created `age` ago (long ago: `None`).
    fn workload<K: serde::de::DeserializeOwned>(kind: &str, spec: Value, age: Option<i64>) -> K {
        let created = Timestamp::now() - jiff_seconds(age.unwrap_or(3600));
        serde_json::from_value(json!({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": kind,
            "metadata": {
                "name": "web", "namespace": "default", "uid": "6f1c7a52-0000-4000-8000-00000000000a",
                "generation": 1, "resourceVersion": "1",
                "creationTimestamp": Time(created),
            },
            "spec": spec,
        }))
        .unwrap()
    }

    fn jiff_seconds(s: i64) -> k8s_openapi::jiff::SignedDuration {
        k8s_openapi::jiff::SignedDuration::from_secs(s)
    }

    fn service(age: Option<i64>) -> Service {
        workload(
            "Service",
            json!({"taskDefinition": "web", "desiredCount": 1}),
            age,
        )
    }

    fn task(age: Option<i64>) -> Task {
        workload("Task", json!({"taskDefinition": "web"}), age)
    }

    fn scheduled_task(age: Option<i64>) -> ScheduledTask {
        let spec = json!({"taskDefinition": "web", "scheduleExpression": "rate(5 minutes)"});
        workload("ScheduledTask", spec, age)
    }

    /// Runs `reconcile` over `stores` and expects no request at all (no status, no Event) and
    /// `want`; nothing counted as a failure.
    async fn quietly<F, Fut>(stores: Stores, reconcile: F, want: Action)
    where
        F: FnOnce(Arc<Context>) -> Fut,
        Fut: std::future::Future<Output = Result<Action, Error>> + Send + 'static,
    {
        let (ctx, mut api) = testing::context(stores);
        let done = tokio::spawn(reconcile(ctx.clone()));
        api.no_more().await;
        assert_eq!(done.await.unwrap().unwrap(), want);
        let metrics = ctx.metrics.render();
        assert!(!metrics.contains("task_definition_not_found"), "{metrics}");
    }

    /// A Service, Task or ScheduledTask reconciled while its TaskDefinition's status already names
    /// revision 1 but the revision has not reached the cache waits for it: nothing is reported,
    /// and the revision's arrival wakes it (see `controller::mod`'s watches).
    #[tokio::test]
    async fn a_workload_awaits_a_registered_revision_not_yet_cached_quietly() {
        let poll = Action::requeue(Settings::default().poll);
        let svc = Arc::new(service(None));
        quietly(
            registered_not_cached(),
            |c| super::super::service::reconcile(svc, c),
            poll.clone(),
        )
        .await;
        let t = Arc::new(task(None));
        quietly(
            registered_not_cached(),
            |c| super::super::task::reconcile(t, c),
            poll.clone(),
        )
        .await;
        let st = Arc::new(scheduled_task(None));
        quietly(
            registered_not_cached(),
            |c| super::super::scheduled_task::reconcile(st, c),
            poll,
        )
        .await;
    }

    /// A workload created a moment ago, perhaps with its TaskDefinition in the same `kubectl
    /// apply`, waits for it quietly: no status, no Event, a look again within the grace.
    #[tokio::test]
    async fn a_new_workload_waits_quietly_for_a_task_definition_applied_with_it() {
        let within_grace = |a: Action| {
            // The poll interval (5 s, within the 10 s grace that is left), and a little more.
            assert_eq!(a, Action::requeue(Duration::from_millis(5100)));
        };
        let (ctx, mut api) = testing::context(testing::empty_stores());
        let r1 = tokio::spawn(super::super::service::reconcile(
            Arc::new(service(Some(0))),
            ctx.clone(),
        ));
        let r2 = tokio::spawn(super::super::task::reconcile(
            Arc::new(task(Some(0))),
            ctx.clone(),
        ));
        let r3 = tokio::spawn(super::super::scheduled_task::reconcile(
            Arc::new(scheduled_task(Some(0))),
            ctx.clone(),
        ));
        api.no_more().await;
        for r in [r1, r2, r3] {
            within_grace(r.await.unwrap().unwrap());
        }
        assert!(!ctx.metrics.render().contains("task_definition_not_found"));
    }

    fn at(t: i64) -> Timestamp {
        Timestamp::from_second(t).unwrap()
    }

    #[test]
    fn a_new_workload_waits_quietly_for_its_task_definition_for_ten_seconds_only() {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        assert_eq!(secs(grace_left(Some(at(100)), at(100))), Some(10.0));
        assert_eq!(secs(grace_left(Some(at(100)), at(104))), Some(6.0));
        assert_eq!(grace_left(Some(at(100)), at(110)), None);
        assert_eq!(grace_left(Some(at(100)), at(500)), None);
        // No creation time (not from the API server): reported at once.
        assert_eq!(grace_left(None, at(100)), None);
        // A creation time in the future (clock skew): no grace either.
        assert_eq!(grace_left(Some(at(200)), at(100)), None);
    }
}
