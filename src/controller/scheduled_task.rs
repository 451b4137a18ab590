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

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::Value;

use crate::api::ScheduledTask;
use crate::api::common::TranslationWarning;
use crate::api::scheduled_task::{ScheduleState, ScheduledTaskStatus};
use crate::translate;
use crate::translate::plan::Workload;

use super::apply::{self, Children, Owner};
use super::awaiting;
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
use super::index;
use super::status::{self, Note};
use super::task::{cached_json, plan_run};

/// What the build step produced.
struct Plan {
    objects: Vec<Value>,
    warnings: Vec<translate::Warning>,
    cron_job: String,
    schedule: String,
}

/// Convert the schedule, resolve the task definition revision and the Cluster, validate, check
/// the Cluster policy and translate ([`plan_run`], the plan `render` shows) (objects owned by the ScheduledTask).
fn resolve_and_translate(st: &ScheduledTask, ctx: &Context, owner: &Owner) -> Result<Plan, Error> {
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
        .ok_or(Error::NotBuilt("CronJob"))?;
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
pub fn change_note(prev: &ScheduledTaskStatus, r: &Reconciled) -> Note {
    let (schedule, expression, disabled) = (&r.schedule, &r.expression, r.disabled);
    match (&prev.schedule, r.was_disabled) {
        (None, _) | (_, None) => Note::normal(
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
        (Some(old), _) if old != schedule => Note::normal(
            "ScheduleChanged",
            format!("schedule changed from `{old}` to `{schedule}` ({expression})"),
        ),
        (_, Some(was)) if was != disabled => {
            if disabled {
                Note::normal("Disabled", "schedule DISABLED: the CronJob is suspended")
            } else {
                Note::normal("Enabled", "schedule ENABLED: the CronJob runs again")
            }
        }
        _ if prev.common.observed_generation != r.generation => {
            Note::normal("Updated", "the CronJob was updated to the new spec")
        }
        _ => Note::normal(
            "ObjectsReapplied",
            "object(s) brought back in line with the spec and its task definition (a new revision, a Cluster change or a hand edit)",
        ),
    }
}

/// The owned CronJob of the plan, from the cache.
fn owned_cron_job(ctx: &Context, sched: &ScheduledTask, plan: &Plan) -> Option<CronJob> {
    let ns = sched.namespace().unwrap_or_default();
    let uid = sched.meta().uid.clone().unwrap_or_default();
    cached(&ctx.stores.cron_jobs, &ns, &plan.cron_job)
        .filter(|cj| cj.owner_references().iter().any(|r| r.uid == uid))
        .map(|cj| cj.object())
}

/// Apply the planned objects; when the spec changed, delete a ServiceAccount no longer wanted
/// (taskRoleArn removed).
async fn apply_children(
    ctx: &Context,
    sched: &ScheduledTask,
    prev: &ScheduledTaskStatus,
    plan: &Plan,
    owner: &Owner,
) -> Result<Children, Error> {
    let ns = sched.namespace().unwrap_or_default();
    let live = |desired: &Value| cached_json(ctx, &ns, desired);
    let children = apply::apply_all(ctx, &ns, &plan.objects, owner, live).await?;
    if prev.common.observed_generation != sched.metadata.generation {
        let keep: BTreeSet<String> = plan
            .objects
            .iter()
            .filter(|o| o["kind"] == "ServiceAccount")
            .filter_map(|o| o["metadata"]["name"].as_str().map(String::from))
            .collect();
        // Found by owner (the index), in its namespace: never a scan of every ServiceAccount.
        let (s, i) = (&ctx.stores, &ctx.stores.indexes);
        let mut live = i
            .service_accounts
            .objects(&s.service_accounts, &index::owner_key(&owner.uid));
        live.retain(|o| o.metadata.namespace.as_deref() == Some(ns.as_str()));
        apply::prune(&ctx.client, &ns, &live, &keep, owner, &ctx.metrics).await?;
    }
    Ok(children)
}

/// Everything one reconcile found, from which the status is computed.
#[derive(Debug)]
pub struct Reconciled {
    /// The schedule expression.
    pub expression: String,
    /// `state: DISABLED`.
    pub disabled: bool,
    /// Whether the CronJob was suspended before this reconcile (`None`: there was none of ours).
    pub was_disabled: Option<bool>,
    /// The CronJob's name.
    pub cron_job: String,
    /// Its schedule.
    pub schedule: String,
    /// Its `lastScheduleTime`, if it ran.
    pub last_schedule_time: Option<String>,
    /// Children applied and refused.
    pub children: Children,
    /// Translation warnings.
    pub warnings: Vec<TranslationWarning>,
    /// The object's generation.
    pub generation: Option<i64>,
    /// Now.
    pub now: Timestamp,
}

/// The conditions: refused children, or ready (DISABLED: suspended, else scheduled).
fn wanted_conditions(r: &Reconciled) -> Vec<Wanted> {
    if let Some(refused) = r.children.refused.conditions(false) {
        return refused;
    }
    let (reason, message) = if r.disabled {
        (
            "Disabled",
            format!(
                "the schedule is DISABLED: CronJob {} (`{}`) is suspended",
                r.cron_job, r.schedule
            ),
        )
    } else {
        (
            "Scheduled",
            format!(
                "{} runs as CronJob {} (`{}`)",
                r.expression, r.cron_job, r.schedule
            ),
        )
    };
    conditions::standard(true, false, None, reason, &message)
}

/// The next status and the Events to publish (pure): the converted schedule, the last schedule
/// time, conditions and warnings; Events for what a written CronJob changed, refusals and new
/// warnings.
pub fn compute_status(
    prev: &ScheduledTaskStatus,
    r: &Reconciled,
) -> (ScheduledTaskStatus, Vec<Note>) {
    let mut st = prev.clone();
    st.schedule = Some(r.schedule.clone());
    st.last_schedule_time = r
        .last_schedule_time
        .clone()
        .or(prev.last_schedule_time.clone());
    st.common = status::common(
        &prev.common,
        &wanted_conditions(r),
        r.warnings.clone(),
        r.generation,
        r.now,
    );
    let mut notes = Vec::new();
    if r.children.written > 0 && r.children.refused.is_empty() {
        notes.push(change_note(prev, r));
    }
    notes.extend(r.children.refused.note(&prev.common.conditions));
    notes.extend(status::warnings_note(&prev.common.warnings, &r.warnings));
    (st, notes)
}

/// Reconcile one ScheduledTask: plan (convert the schedule, resolve and translate), apply the
/// CronJob (and ServiceAccount), compute and write the status, publish the Events.
pub async fn reconcile(sched: Arc<ScheduledTask>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("ScheduledTask", &*sched) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let owner = Owner::of(&*sched);
    let prev: ScheduledTaskStatus = ctx
        .status_of(&*sched, sched.status.as_ref())
        .unwrap_or_default();
    let plan = match resolve_and_translate(&sched, &ctx, &owner) {
        Ok(p) => p,
        // A task definition on its way is waited for quietly; anything else is reported.
        Err(e) => {
            return match awaiting::task_definition(&ctx, &*sched, &e) {
                Some(action) => Ok(action),
                None => status::report(&ctx, &*sched, &prev, e).await,
            };
        }
    };
    let was_disabled = owned_cron_job(&ctx, &sched, &plan)
        .map(|cj| cj.spec.as_ref().and_then(|s| s.suspend) == Some(true));
    let children = apply_children(&ctx, &sched, &prev, &plan, &owner).await?;
    let reconciled = Reconciled {
        expression: sched.spec.schedule_expression.clone(),
        disabled: sched.spec.state == Some(ScheduleState::Disabled),
        was_disabled,
        last_schedule_time: owned_cron_job(&ctx, &sched, &plan)
            .and_then(|cj| cj.status.clone()?.last_schedule_time)
            .map(|t| t.0.to_string()),
        cron_job: plan.cron_job,
        schedule: plan.schedule,
        children,
        warnings: status::warnings(&plan.warnings),
        generation: sched.metadata.generation,
        now: Timestamp::now(),
    };
    let (st, notes) = compute_status(&prev, &reconciled);
    status::write(&ctx, &*sched, Some(&prev), &st).await?;
    ctx.publish(&*sched, &notes).await;
    Ok(Action::requeue(if reconciled.children.written > 0 {
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
        let every_5 = reconciled(false, 1);
        let note = |prev: &ScheduledTaskStatus, r: &Reconciled| change_note(prev, r);
        assert_eq!(
            note(&ScheduledTaskStatus::default(), &every_5),
            Note::normal(
                "Scheduled",
                "rate(5 minutes) runs as CronJob schedule `*/5 * * * *`"
            )
        );
        let prev = ScheduledTaskStatus {
            schedule: Some("*/5 * * * *".into()),
            ..ScheduledTaskStatus::default()
        };
        let hourly = Reconciled {
            expression: "rate(1 hour)".into(),
            schedule: "0 * * * *".into(),
            ..reconciled(false, 1)
        };
        assert_eq!(
            note(&prev, &hourly),
            Note::normal(
                "ScheduleChanged",
                "schedule changed from `*/5 * * * *` to `0 * * * *` (rate(1 hour))"
            )
        );
        assert_eq!(note(&prev, &reconciled(true, 1)).reason, "Disabled");
        let enabled = Reconciled {
            was_disabled: Some(true),
            ..reconciled(false, 1)
        };
        assert_eq!(note(&prev, &enabled).reason, "Enabled");
        assert_eq!(note(&prev, &every_5).reason, "Updated");
        let same_generation = ScheduledTaskStatus {
            common: CommonStatus {
                observed_generation: Some(2),
                ..CommonStatus::default()
            },
            ..prev
        };
        assert_eq!(note(&same_generation, &every_5).reason, "ObjectsReapplied");
    }

    use crate::api::common::CommonStatus;
    use crate::controller::status::Refusals;
    use crate::controller::testing::condition;

    fn reconciled(disabled: bool, written: usize) -> Reconciled {
        Reconciled {
            expression: "rate(5 minutes)".into(),
            disabled,
            was_disabled: Some(false),
            cron_job: "nightly".into(),
            schedule: "*/5 * * * *".into(),
            last_schedule_time: None,
            children: Children {
                written,
                ..Children::default()
            },
            warnings: vec![],
            generation: Some(2),
            now: Timestamp::from_second(100).unwrap(),
        }
    }

    #[test]
    fn the_status_names_the_cron_job_and_its_schedule() {
        let prev = ScheduledTaskStatus {
            schedule: Some("*/5 * * * *".into()),
            last_schedule_time: Some("2026-01-01T00:00:00Z".into()),
            ..ScheduledTaskStatus::default()
        };
        let (st, notes) = compute_status(&prev, &reconciled(false, 0));
        let msg = "rate(5 minutes) runs as CronJob nightly (`*/5 * * * *`)";
        assert_eq!(
            st,
            ScheduledTaskStatus {
                schedule: Some("*/5 * * * *".into()),
                // Kept until the CronJob reports a newer one.
                last_schedule_time: Some("2026-01-01T00:00:00Z".into()),
                common: CommonStatus {
                    observed_generation: Some(2),
                    conditions: vec![
                        condition("Ready", "True", "Scheduled", msg, 100),
                        condition("Progressing", "False", "Idle", "", 100),
                        condition("Degraded", "False", "AsExpected", "", 100),
                    ],
                    warnings: vec![],
                },
            }
        );
        assert_eq!(notes, vec![]);
    }

    #[test]
    fn disabling_suspends_and_says_so() {
        let prev = ScheduledTaskStatus {
            schedule: Some("*/5 * * * *".into()),
            ..ScheduledTaskStatus::default()
        };
        let (st, notes) = compute_status(&prev, &reconciled(true, 1));
        let msg = "the schedule is DISABLED: CronJob nightly (`*/5 * * * *`) is suspended";
        assert_eq!(
            st.common.conditions[0],
            condition("Ready", "True", "Disabled", msg, 100)
        );
        assert_eq!(
            notes,
            vec![Note::normal(
                "Disabled",
                "schedule DISABLED: the CronJob is suspended"
            )]
        );
    }

    #[test]
    fn a_cron_job_not_ours_is_reported_not_announced() {
        let mut r = reconciled(false, 1);
        r.children.refused = Refusals(vec![Error::NotOwned {
            kind: "CronJob".into(),
            name: "nightly".into(),
        }]);
        let (st, notes) = compute_status(&ScheduledTaskStatus::default(), &r);
        let msg = r.children.refused.message();
        assert_eq!(
            st.common.conditions,
            vec![
                condition("Ready", "False", "NotOwned", &msg, 100),
                condition("Progressing", "False", "Idle", "", 100),
                condition("Degraded", "True", "NotOwned", &msg, 100),
            ]
        );
        assert_eq!(notes, vec![Note::warning("NotOwned", msg)]);
    }
}
