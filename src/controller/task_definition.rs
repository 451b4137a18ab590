//! TaskDefinition reconciler: registers a new immutable revision for every spec change, prunes
//! history beyond the limit (never a revision in use), and reports the latest revision.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;

use crate::api::TaskDefinition;
use crate::api::common::TranslationWarning;
use crate::api::task_definition::TaskDefinitionStatus;
use crate::translate;

use super::apply::{Owner, with_owner};
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
use super::revisions::{self, Revision};
use super::status::{self, Note};

/// Revisions registered by `owner_uid` for `family` in `namespace`, from the cache.
pub fn owned_revisions(
    ctx: &Context,
    namespace: &str,
    owner_uid: &str,
    family: &str,
) -> Vec<Revision> {
    let s = &ctx.stores;
    revisions::owned_by(
        &s.revisions,
        &s.indexes.revisions,
        namespace,
        owner_uid,
        family,
    )
}

/// `family:N` references of `family` in use by Services, Tasks and ScheduledTasks of
/// `namespace`.
pub fn in_use(ctx: &Context, namespace: &str, family: &str) -> BTreeSet<String> {
    let pinned = |r: &str| match revisions::parse_reference(r) {
        (f, Some(n)) => Some(format!("{f}:{n}")),
        _ => None,
    };
    let (stores, i) = (&ctx.stores, &ctx.stores.indexes);
    let key = super::index::family_key(namespace, family);
    let mut refs: Vec<String> = Vec::new();
    for s in i.services.objects(&stores.services, &key) {
        let s = s.object();
        refs.extend(s.spec.create.task_definition.as_deref().and_then(pinned));
        if let Some(st) = &s.status {
            refs.extend(st.task_definition.clone());
            refs.extend(st.deployments.iter().map(|d| d.task_definition.clone()));
        }
    }
    for t in i.tasks.objects(&stores.tasks, &key) {
        refs.extend(pinned(&t.spec.run.task_definition));
        if let Some(st) = &t.status {
            refs.extend(st.task_definition.clone());
        }
    }
    for t in i.scheduled_tasks.objects(&stores.scheduled_tasks, &key) {
        refs.extend(pinned(&t.spec.run.task_definition));
    }
    refs.into_iter()
        .filter(|r| revisions::parse_reference(r).0 == family)
        .collect()
}

/// What registering gave.
enum Registration {
    /// The family's revisions (owned by this TaskDefinition), the latest holding the spec.
    Done {
        /// Every owned revision.
        revisions: Vec<Revision>,
        /// The latest, which holds the current spec.
        latest: Revision,
        /// Whether this reconcile registered it.
        new: bool,
    },
    /// Our new revision is not in the cache yet (or was just created by another reconcile).
    Wait,
}

/// Register a new revision when the spec differs from the latest one, or when a new
/// RegisterTaskDefinition call asks for one ([`revisions::REGISTRATION`]).
async fn register(
    ctx: &Context,
    td: &TaskDefinition,
    owner: &Owner,
) -> Result<Registration, Error> {
    let ns = td.namespace().unwrap_or_default();
    let name = td.name_any();
    let family = translate::task_definition::family(&td.spec, &name);
    let spec = serde_json::to_value(&td.spec.register)?;
    let registration = td
        .annotations()
        .get(revisions::REGISTRATION)
        .map(String::as_str);
    let mut revisions = owned_revisions(ctx, &ns, &owner.uid, &family);
    let latest = revisions.iter().max_by_key(|r| r.number).cloned();
    let Some(n) = revisions::next_number(latest.as_ref(), &spec, registration) else {
        let latest = latest.expect("a spec equal to the latest revision's has one");
        return Ok(Registration::Done {
            revisions,
            latest,
            new: false,
        });
    };
    let cr =
        revisions::registered_for(revisions::to_object(&name, &family, n, &spec), registration);
    let rev_name = cr.metadata.name.clone().unwrap_or_default();
    if let Some(existing) = cached(&ctx.stores.revisions, &ns, &rev_name) {
        if !existing
            .owner_references()
            .iter()
            .any(|r| r.uid == owner.uid)
        {
            return Err(Error::NotOwned {
                kind: "ControllerRevision".into(),
                name: rev_name,
            });
        }
        // Our own revision, not yet in the cache: wait for it.
        return Ok(Registration::Wait);
    }
    let cr: ControllerRevision =
        serde_json::from_value(with_owner(serde_json::to_value(&cr)?, owner))?;
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    ctx.metrics.api_call("create");
    match api.create(&PostParams::default(), &cr).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => return Ok(Registration::Wait),
        Err(e) => return Err(e.into()),
    }
    let latest = revisions::from_object(&cr).expect("our own revision");
    revisions.push(latest.clone());
    Ok(Registration::Done {
        revisions,
        latest,
        new: true,
    })
}

/// History: keep the newest `limit`, and every revision something still uses.
async fn prune_history(ctx: &Context, ns: &str, revisions: &[Revision]) -> Result<(), Error> {
    let limit = ctx.settings.revision_history_limit;
    let Some(family) = revisions.first().map(|r| r.family.clone()) else {
        return Ok(());
    };
    if revisions.len() <= limit.max(1) {
        // Nothing beyond the history limit: no need to look for the revisions in use.
        return Ok(());
    }
    let used = in_use(ctx, ns, &family);
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ns);
    for doomed in revisions::to_prune(revisions, limit, &used) {
        ctx.metrics.api_call("delete");
        match api.delete(&doomed, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The next status and the Events to publish once it is written (pure): the latest revision,
/// ready, and the warnings about the spec.
pub fn compute_status(
    prev: &TaskDefinitionStatus,
    latest: &Revision,
    warnings: Vec<TranslationWarning>,
    generation: Option<i64>,
    now: Timestamp,
) -> (TaskDefinitionStatus, Vec<Note>) {
    let message = format!("revision {} registered", latest.reference());
    let wanted = vec![
        Wanted::new(conditions::READY, true, "Registered", &message),
        Wanted::new(conditions::PROGRESSING, false, "Idle", ""),
        Wanted::new(conditions::DEGRADED, false, "AsExpected", ""),
    ];
    let notes = status::warnings_note(&prev.common.warnings, &warnings)
        .into_iter()
        .collect();
    let st = TaskDefinitionStatus {
        revision: Some(latest.number),
        task_definition: Some(latest.reference()),
        status: Some(if latest.active { "ACTIVE" } else { "INACTIVE" }.into()),
        registration: latest.registration.clone(),
        common: status::common(&prev.common, &wanted, warnings, generation, now),
    };
    (st, notes)
}

/// Reconcile one TaskDefinition: validate, register a revision for a changed spec, prune the
/// history, write the status.
pub async fn reconcile(td: Arc<TaskDefinition>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("TaskDefinition", &*td) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let owner = Owner::of(&*td);
    let prev: TaskDefinitionStatus = ctx.status_of(&*td, td.status.as_ref()).unwrap_or_default();
    // What registering it gives: ECS's checks, then the warnings about its fields (the plan's).
    let own = match translate::plan::task_definition(&td.name_any(), &td.spec) {
        Ok(warnings) => warnings,
        Err(errors) => return status::report(&ctx, &*td, &prev, Error::Invalid(errors)).await,
    };
    let Registration::Done {
        revisions,
        latest,
        new,
    } = register(&ctx, &td, &owner).await?
    else {
        return Ok(Action::requeue(ctx.settings.poll));
    };
    if new {
        // In the background, as every Event here: the Services waiting for this revision need
        // the status, not the Events.
        let note = format!("registered task definition {}", latest.reference());
        ctx.publish_in_background(&*td, vec![Note::normal("RevisionRegistered", note)]);
    }
    prune_history(&ctx, &td.namespace().unwrap_or_default(), &revisions).await?;
    let warnings = status::warnings(&own);
    let (st, notes) = compute_status(
        &prev,
        &latest,
        warnings,
        td.metadata.generation,
        Timestamp::now(),
    );
    if status::write(&ctx, &*td, Some(&prev), &st).await? {
        ctx.publish_in_background(&*td, notes);
    }
    Ok(Action::requeue(ctx.settings.resync))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::CommonStatus;
    use crate::controller::testing::condition;

    #[test]
    fn the_status_reports_the_latest_revision() {
        let latest = Revision {
            name: "web.3".into(),
            family: "web".into(),
            number: 3,
            active: true,
            spec: serde_json::Value::Null,
            registration: Some("call-1".into()),
        };
        let warning = TranslationWarning {
            path: "containerDefinitions[0].links".into(),
            disposition: "unsupported".into(),
            message: "m".into(),
        };
        let now = Timestamp::from_second(100).unwrap();
        let (st, notes) = compute_status(
            &TaskDefinitionStatus::default(),
            &latest,
            vec![warning.clone()],
            Some(2),
            now,
        );
        assert_eq!(
            st,
            TaskDefinitionStatus {
                revision: Some(3),
                task_definition: Some("web:3".into()),
                status: Some("ACTIVE".into()),
                registration: Some("call-1".into()),
                common: CommonStatus {
                    observed_generation: Some(2),
                    conditions: vec![
                        condition(
                            "Ready",
                            "True",
                            "Registered",
                            "revision web:3 registered",
                            100
                        ),
                        condition("Progressing", "False", "Idle", "", 100),
                        condition("Degraded", "False", "AsExpected", "", 100),
                    ],
                    warnings: vec![warning.clone()],
                },
            }
        );
        assert_eq!(
            notes,
            vec![Note::warning(
                "TranslationWarnings",
                "1 field(s) could not be carried over exactly: containerDefinitions[0].links (unsupported): m;"
            )]
        );
        let (_, again) = compute_status(&st, &latest, vec![warning], Some(2), now);
        assert_eq!(again, vec![]);
    }
}
