//! ScheduledTask reconciler: the EventBridge schedule expression converted to a CronJob schedule,
//! the RunTask members to its job template (`state: DISABLED` suspends it).
//!
//! Flow: fetch (caches) → resolve (task definition revision, Cluster, policy with the RunTask's
//! `overrides.taskRoleArn`) → build (the pure translation; an expression that cannot be converted
//! is a user error naming `scheduleExpression` and nothing is applied) → apply (server-side
//! apply, owned objects only, no write when unchanged; leftovers pruned) → status (the converted
//! schedule, `lastScheduleTime` from the CronJob, conditions, warnings) → Events.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use serde_json::Value;

use crate::api::ScheduledTask;
use crate::api::scheduled_task::{ScheduleState, ScheduledTaskStatus};
use crate::translate;
use crate::translate::plan::Workload;

use super::apply::{self, Applied, Owner};
use super::conditions;
use super::context::{Context, cached};
use super::error::Error;
use super::status;
use super::task::{cached_json, plan_run, report_error};

/// What the build step produced.
struct Plan {
    objects: Vec<Value>,
    warnings: Vec<translate::Warning>,
    cron_job: String,
    schedule: String,
}

fn plan(st: &ScheduledTask, ctx: &Context, owner: &Owner) -> Result<Plan, Error> {
    let ns = st.namespace().unwrap_or_default();
    let name = st.name_any();
    // The plan converts the schedule first: it needs nothing from the namespace.
    let workload = Workload::ScheduledTask {
        name: &name,
        spec: &st.spec,
    };
    let (_, objects, warnings) = plan_run(ctx, &ns, &workload, &BTreeSet::new())?;
    let objects: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut v = o.to_value();
            if v["kind"] == "CronJob" && v["spec"]["suspend"].is_null() {
                // Explicit, so that ENABLED after DISABLED is a change to apply.
                v["spec"]["suspend"] = Value::Bool(false);
            }
            apply::with_owner(v, owner)
        })
        .collect();
    let cj = objects
        .iter()
        .find(|o| o["kind"] == "CronJob")
        .ok_or_else(|| Error::Invalid("no CronJob was built".into()))?;
    Ok(Plan {
        cron_job: cj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        schedule: cj["spec"]["schedule"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        objects,
        warnings,
    })
}

/// The Event for a written CronJob: what the user would want to know changed.
pub fn change_note(
    prev: &ScheduledTaskStatus,
    schedule: &str,
    expression: &str,
    disabled: bool,
    was_disabled: Option<bool>,
    generation_changed: bool,
) -> (&'static str, String) {
    match (&prev.schedule, was_disabled) {
        (None, _) | (_, None) => (
            "Scheduled",
            format!(
                "{expression} runs as CronJob schedule `{schedule}`{}",
                if disabled {
                    " (DISABLED: suspended)"
                } else {
                    ""
                }
            ),
        ),
        (Some(old), _) if old != schedule => (
            "ScheduleChanged",
            format!("schedule changed from `{old}` to `{schedule}` ({expression})"),
        ),
        (_, Some(was)) if was != disabled => {
            if disabled {
                (
                    "Disabled",
                    "schedule DISABLED: the CronJob is suspended".into(),
                )
            } else {
                ("Enabled", "schedule ENABLED: the CronJob runs again".into())
            }
        }
        _ if generation_changed => ("Updated", "the CronJob was updated to the new spec".into()),
        _ => (
            "ObjectsReapplied",
            "object(s) brought back in line with the spec and its task definition (a new revision, a Cluster change or a hand edit)".into(),
        ),
    }
}

/// Reconcile one ScheduledTask.
pub async fn reconcile(sched: Arc<ScheduledTask>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("ScheduledTask", &*sched) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let ns = sched.namespace().unwrap_or_default();
    let owner = Owner::of(&*sched);
    let prev: ScheduledTaskStatus = ctx
        .status_of(&*sched, sched.status.as_ref())
        .unwrap_or_default();
    let generation = sched.metadata.generation;
    let now = Timestamp::now();

    let plan = match plan(&sched, &ctx, &owner) {
        Ok(p) => p,
        Err(e) if e.is_user_error() => {
            report_error(
                &*sched,
                &ctx,
                &prev,
                |s: &mut ScheduledTaskStatus| &mut s.common,
                &e,
                now,
            )
            .await?;
            let wait = if matches!(e, Error::TaskDefinitionNotFound(_)) {
                ctx.settings.resync.min(std::time::Duration::from_secs(10))
            } else {
                ctx.settings.resync
            };
            return Ok(Action::requeue(wait));
        }
        Err(e) => return Err(e),
    };

    let live_cj = cached(&ctx.stores.cron_jobs, &ns, &plan.cron_job);
    let was_disabled = live_cj
        .as_ref()
        .filter(|cj| cj.owner_references().iter().any(|r| r.uid == owner.uid))
        .map(|cj| cj.spec.as_ref().and_then(|s| s.suspend) == Some(true));
    let mut written = 0;
    let mut refused = Vec::new();
    for desired in &plan.objects {
        let live = cached_json(&ctx, &ns, desired);
        match apply::reconcile_object(&ctx.client, &ns, desired, live, &owner, &ctx.metrics).await {
            Ok(Applied::Written) => written += 1,
            Ok(Applied::Unchanged) => {}
            Err(e @ Error::NotOwned { .. }) => refused.push(e),
            Err(e) => return Err(e),
        }
    }
    if prev.common.observed_generation != generation {
        // A ServiceAccount no longer wanted (taskRoleArn removed).
        let keep: BTreeSet<String> = plan
            .objects
            .iter()
            .filter(|o| o["kind"] == "ServiceAccount")
            .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
            .collect();
        let live: Vec<_> = ctx
            .stores
            .service_accounts
            .state()
            .into_iter()
            .filter(|o| o.namespace().as_deref() == Some(ns.as_str()))
            .collect();
        apply::prune(&ctx.client, &ns, &live, &keep, &owner, &ctx.metrics).await?;
    }

    let disabled = sched.spec.state == Some(ScheduleState::Disabled);
    let refusal = refused
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let wanted = if let Some(e) = refused.first() {
        conditions::standard(
            false,
            false,
            Some((e.reason(), &refusal)),
            e.reason(),
            &refusal,
        )
    } else if disabled {
        conditions::standard(
            true,
            false,
            None,
            "Disabled",
            &format!(
                "the schedule is DISABLED: CronJob {} (`{}`) is suspended",
                plan.cron_job, plan.schedule
            ),
        )
    } else {
        conditions::standard(
            true,
            false,
            None,
            "Scheduled",
            &format!(
                "{} runs as CronJob {} (`{}`)",
                sched.spec.schedule_expression, plan.cron_job, plan.schedule
            ),
        )
    };
    let warnings = status::warnings(&plan.warnings);
    let owned_cj = cached(&ctx.stores.cron_jobs, &ns, &plan.cron_job)
        .filter(|cj| cj.owner_references().iter().any(|r| r.uid == owner.uid));
    let mut st = prev.clone();
    st.schedule = Some(plan.schedule.clone());
    st.last_schedule_time = owned_cj
        .as_ref()
        .and_then(|cj| cj.status.as_ref())
        .and_then(|s| s.last_schedule_time.as_ref())
        .map(|t| t.0.to_string())
        .or(prev.last_schedule_time.clone());
    st.common.observed_generation = generation;
    st.common.conditions = conditions::merge(&prev.common.conditions, &wanted, generation, now);
    st.common.warnings = warnings.clone();
    status::write(&ctx, &*sched, Some(&prev), &st).await?;

    if written > 0 && refused.is_empty() {
        let (reason, note) = change_note(
            &prev,
            &plan.schedule,
            &sched.spec.schedule_expression,
            disabled,
            was_disabled,
            prev.common.observed_generation != generation,
        );
        ctx.event(&*sched, false, reason, note).await;
    }
    if let Some(e) = refused.first()
        && !prev
            .common
            .conditions
            .iter()
            .any(|c| c.reason == e.reason() && c.message == refusal)
    {
        ctx.event(&*sched, true, e.reason(), refusal.clone()).await;
    }
    if let Some(note) = status::new_warnings_note(&prev.common.warnings, &warnings) {
        ctx.event(&*sched, true, "TranslationWarnings", note).await;
    }
    Ok(Action::requeue(if written > 0 {
        ctx.settings.poll
    } else {
        ctx.settings.resync
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_notes_name_what_changed() {
        let none = ScheduledTaskStatus::default();
        let (r, n) = change_note(&none, "*/5 * * * *", "rate(5 minutes)", false, None, true);
        assert_eq!(r, "Scheduled");
        assert_eq!(n, "rate(5 minutes) runs as CronJob schedule `*/5 * * * *`");
        let prev = ScheduledTaskStatus {
            schedule: Some("*/5 * * * *".into()),
            ..ScheduledTaskStatus::default()
        };
        let (r, n) = change_note(&prev, "0 * * * *", "rate(1 hour)", false, Some(false), true);
        assert_eq!(r, "ScheduleChanged");
        assert!(n.contains("`*/5 * * * *` to `0 * * * *`"), "{n}");
        let (r, _) = change_note(
            &prev,
            "*/5 * * * *",
            "rate(5 minutes)",
            true,
            Some(false),
            true,
        );
        assert_eq!(r, "Disabled");
        let (r, _) = change_note(
            &prev,
            "*/5 * * * *",
            "rate(5 minutes)",
            false,
            Some(true),
            true,
        );
        assert_eq!(r, "Enabled");
        let (r, _) = change_note(
            &prev,
            "*/5 * * * *",
            "rate(5 minutes)",
            false,
            Some(false),
            false,
        );
        assert_eq!(r, "ObjectsReapplied");
    }
}
