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
use crate::api::common::CommonStatus;
use crate::api::task_definition::TaskDefinitionStatus;
use crate::translate;

use super::apply::{Owner, with_owner};
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
use super::revisions::{self, Revision};
use super::status;

/// Revisions registered by `owner_uid` for `family` in `namespace`, from the cache.
pub fn owned_revisions(
    ctx: &Context,
    namespace: &str,
    owner_uid: &str,
    family: &str,
) -> Vec<Revision> {
    ctx.stores
        .revisions
        .state()
        .iter()
        .filter(|cr| cr.namespace().as_deref() == Some(namespace))
        .filter(|cr| cr.owner_references().iter().any(|r| r.uid == owner_uid))
        .filter_map(|cr| revisions::from_object(cr))
        .filter(|r| r.family == family)
        .collect()
}

/// `family:N` references in use by Services, Tasks and ScheduledTasks of `namespace`.
pub fn in_use(ctx: &Context, namespace: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let pinned = |r: Option<&str>, out: &mut BTreeSet<String>| {
        if let Some((family, Some(n))) = r.map(revisions::parse_reference) {
            out.insert(format!("{family}:{n}"));
        }
    };
    for s in ctx.stores.services.state() {
        if s.namespace().as_deref() != Some(namespace) {
            continue;
        }
        pinned(s.spec.create.task_definition.as_deref(), &mut out);
        if let Some(st) = &s.status {
            out.extend(st.task_definition.clone());
            out.extend(st.deployments.iter().map(|d| d.task_definition.clone()));
        }
    }
    for t in ctx.stores.tasks.state() {
        if t.namespace().as_deref() != Some(namespace) {
            continue;
        }
        pinned(Some(&t.spec.run.task_definition), &mut out);
        if let Some(st) = &t.status {
            out.extend(st.task_definition.clone());
        }
    }
    for t in ctx.stores.scheduled_tasks.state() {
        if t.namespace().as_deref() == Some(namespace) {
            pinned(Some(&t.spec.run.task_definition), &mut out);
        }
    }
    out
}

/// Reconcile one TaskDefinition.
pub async fn reconcile(td: Arc<TaskDefinition>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("TaskDefinition", &*td) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let ns = td.namespace().unwrap_or_default();
    let name = td.name_any();
    let owner = Owner::of(&*td);
    let family = translate::task_definition::family(&td.spec, &name);
    let old_status: Option<TaskDefinitionStatus> = ctx.status_of(&*td, td.status.as_ref());
    let old = old_status.as_ref();
    let now = Timestamp::now();
    let generation = td.metadata.generation;

    // What registering it gives: ECS's checks, then the warnings about its fields.
    let own = translate::plan::task_definition(&name, &td.spec);
    if let Err(errs) = &own {
        let message = errs
            .0
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        let wanted = conditions::standard(
            false,
            false,
            Some(("InvalidSpec", &message)),
            "InvalidSpec",
            &message,
        );
        let st = TaskDefinitionStatus {
            common: CommonStatus {
                observed_generation: generation,
                conditions: conditions::merge(
                    old.map(|o| o.common.conditions.as_slice())
                        .unwrap_or_default(),
                    &wanted,
                    generation,
                    now,
                ),
                warnings: vec![],
            },
            ..old.cloned().unwrap_or_default()
        };
        if status::write(&ctx, &*td, old, &st).await? {
            ctx.event(&*td, true, "InvalidSpec", message).await;
        }
        return Ok(Action::requeue(ctx.settings.resync));
    }

    let spec = serde_json::to_value(&td.spec.register)?;
    let mut revs = owned_revisions(&ctx, &ns, &owner.uid, &family);
    let latest = revs.iter().max_by_key(|r| r.number).cloned();
    let mut registered = latest.clone();
    if let Some(n) = revisions::next_number(latest.as_ref(), &spec) {
        let cr = revisions::to_object(&name, &family, n, &spec);
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
            return Ok(Action::requeue(ctx.settings.poll));
        }
        let cr: ControllerRevision =
            serde_json::from_value(with_owner(serde_json::to_value(&cr)?, &owner))?;
        let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
        ctx.metrics.api_call("create");
        match api.create(&PostParams::default(), &cr).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {
                return Ok(Action::requeue(ctx.settings.poll));
            }
            Err(e) => return Err(e.into()),
        }
        let r = revisions::from_object(&cr).expect("our own revision");
        ctx.event(
            &*td,
            false,
            "RevisionRegistered",
            format!("registered task definition {}", r.reference()),
        )
        .await;
        revs.push(r.clone());
        registered = Some(r);
    }

    // History: keep the newest `limit`, and every revision something still uses.
    let used = in_use(&ctx, &ns);
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &ns);
    for doomed in revisions::to_prune(&revs, ctx.settings.revision_history_limit, &used) {
        ctx.metrics.api_call("delete");
        match api.delete(&doomed, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }

    let latest = registered.expect("a revision is registered by now");
    let warnings = status::warnings(&own.unwrap_or_default());
    let message = format!("revision {} registered", latest.reference());
    let wanted = vec![
        Wanted::new(conditions::READY, true, "Registered", &message),
        Wanted::new(conditions::PROGRESSING, false, "Idle", ""),
        Wanted::new(conditions::DEGRADED, false, "AsExpected", ""),
    ];
    let st = TaskDefinitionStatus {
        revision: Some(latest.number),
        task_definition: Some(latest.reference()),
        status: Some(if latest.active { "ACTIVE" } else { "INACTIVE" }.into()),
        common: CommonStatus {
            observed_generation: generation,
            conditions: conditions::merge(
                old.map(|o| o.common.conditions.as_slice())
                    .unwrap_or_default(),
                &wanted,
                generation,
                now,
            ),
            warnings: warnings.clone(),
        },
    };
    let old_warnings = old.map(|o| o.common.warnings.clone()).unwrap_or_default();
    if status::write(&ctx, &*td, old, &st).await? {
        if let Some(note) = status::new_warnings_note(&old_warnings, &warnings) {
            ctx.event(&*td, true, "TranslationWarnings", note).await;
        }
    }
    Ok(Action::requeue(ctx.settings.resync))
}
