//! Status shared by every kind: the one error report (a typed error becomes a condition, an
//! Event, a metric label and a requeue), refusals of children Tidewater does not own, writing
//! status (server-side apply on the status subresource, only when it changed) and the Event that
//! reports new translation warnings.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde_json::json;

use crate::api::cluster::ClusterStatus;
use crate::api::common::{CommonStatus, TranslationWarning};
use crate::api::scheduled_task::ScheduledTaskStatus;
use crate::api::service::ServiceStatus;
use crate::api::task::TaskStatus;
use crate::api::task_definition::TaskDefinitionStatus;
use crate::translate::Warning;

use super::apply::FIELD_MANAGER;
use super::conditions::{self, Wanted};
use super::context::Context;
use super::error::Error;

/// A Kubernetes Event to publish about the reconciled object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Warning rather than Normal.
    pub warning: bool,
    /// CamelCase reason.
    pub reason: &'static str,
    /// Text.
    pub message: String,
}

impl Note {
    /// A Normal Event.
    pub fn normal(reason: &'static str, message: impl Into<String>) -> Self {
        Note {
            warning: false,
            reason,
            message: message.into(),
        }
    }

    /// A Warning Event.
    pub fn warning(reason: &'static str, message: impl Into<String>) -> Self {
        Note {
            warning: true,
            reason,
            message: message.into(),
        }
    }
}

/// A status with the standard part (observed generation, conditions, warnings).
pub trait HasCommon: Serialize + PartialEq + Clone + Default {
    /// The standard part.
    fn common(&self) -> &CommonStatus;
    /// The standard part, to change.
    fn common_mut(&mut self) -> &mut CommonStatus;
    /// What a user error does to the rest of the status (default: nothing).
    fn on_error(&mut self) {}
}

macro_rules! has_common {
    ($($t:ty),*) => {$(
        impl HasCommon for $t {
            fn common(&self) -> &CommonStatus {
                &self.common
            }
            fn common_mut(&mut self) -> &mut CommonStatus {
                &mut self.common
            }
        }
    )*};
}
has_common!(
    ServiceStatus,
    TaskStatus,
    ScheduledTaskStatus,
    ClusterStatus
);

impl HasCommon for TaskDefinitionStatus {
    fn common(&self) -> &CommonStatus {
        &self.common
    }
    fn common_mut(&mut self) -> &mut CommonStatus {
        &mut self.common
    }
    /// An invalid spec has no translation, hence no warnings.
    fn on_error(&mut self) {
        self.common.warnings.clear();
    }
}

/// The standard part of a status: `wanted` conditions merged over `prev`'s, for `generation`.
pub fn common(
    prev: &CommonStatus,
    wanted: &[Wanted],
    warnings: Vec<TranslationWarning>,
    generation: Option<i64>,
    now: Timestamp,
) -> CommonStatus {
    CommonStatus {
        observed_generation: generation,
        conditions: conditions::merge(&prev.conditions, wanted, generation, now),
        warnings,
    }
}

/// The conditions reporting `e`: not ready, not progressing, degraded with the error's reason.
pub fn error_conditions(e: &Error) -> Vec<Wanted> {
    let message = e.to_string();
    conditions::standard(
        false,
        false,
        Some((e.reason(), &message)),
        e.reason(),
        &message,
    )
}

/// The status reporting user error `e`: `prev` with the error's conditions (pure).
pub fn failed<S: HasCommon>(prev: &S, e: &Error, generation: Option<i64>, now: Timestamp) -> S {
    let mut st = prev.clone();
    st.on_error();
    let warnings = st.common().warnings.clone();
    *st.common_mut() = common(
        prev.common(),
        &error_conditions(e),
        warnings,
        generation,
        now,
    );
    st
}

/// The one error report of every reconciler. A user error (unresolvable task definition,
/// policy, invalid spec or schedule) is written to status, published as a Warning Event once
/// (when the status changes), counted under its label, and retried after
/// [`Error::retry_after`]; nothing is applied. Any other error goes back to the controller's
/// error policy (backoff).
pub async fn report<K, S>(ctx: &Context, obj: &K, prev: &S, e: Error) -> Result<Action, Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: HasCommon,
{
    if !e.is_user_error() {
        return Err(e);
    }
    let st = failed(prev, &e, obj.meta().generation, Timestamp::now());
    if write(ctx, obj, Some(prev), &st).await? {
        ctx.event(obj, true, e.reason(), e.to_string()).await;
    }
    ctx.metrics.failure(K::kind(&()).as_ref(), e.label());
    Ok(Action::requeue(e.retry_after(&ctx.settings)))
}

/// Children that exist and are not ours (or whose CRD is missing): never written, reported.
#[derive(Debug, Default)]
pub struct Refusals(pub Vec<Error>);

impl Refusals {
    /// No child was refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every refusal, in one message.
    pub fn message(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The conditions reporting the refusals (none: `None`).
    pub fn conditions(&self, progressing: bool) -> Option<Vec<Wanted>> {
        let e = self.0.first()?;
        let message = self.message();
        Some(conditions::standard(
            false,
            progressing,
            Some((e.reason(), &message)),
            e.reason(),
            &message,
        ))
    }

    /// The Warning Event, unless `prev` conditions already report the same refusals.
    pub fn note(&self, prev: &[Condition]) -> Option<Note> {
        let e = self.0.first()?;
        let message = self.message();
        let known = prev
            .iter()
            .any(|c| c.reason == e.reason() && c.message == message);
        (!known).then(|| Note::warning(e.reason(), message))
    }
}

/// The Event for warnings new compared with `old`, if any.
pub fn warnings_note(old: &[TranslationWarning], new: &[TranslationWarning]) -> Option<Note> {
    new_warnings_note(old, new).map(|n| Note::warning("TranslationWarnings", n))
}

/// Apply `status` to `obj`'s status subresource when it differs from `old`.
pub async fn write<K, S>(ctx: &Context, obj: &K, old: Option<&S>, status: &S) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if old == Some(status) {
        return Ok(false);
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    ctx.metrics.api_call("patch_status");
    let updated = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await?;
    ctx.remember_status(
        obj.meta().uid.as_deref().unwrap_or_default(),
        updated.meta().resource_version.as_deref(),
        serde_json::to_value(status)?,
    );
    Ok(true)
}

/// Warnings as status entries, sorted and without duplicates.
pub fn warnings(ws: &[Warning]) -> Vec<TranslationWarning> {
    let mut out: Vec<_> = ws.iter().map(Warning::to_status).collect();
    out.sort();
    out.dedup();
    out
}

/// The Event note for warnings that are new compared with `old`, if any.
pub fn new_warnings_note(old: &[TranslationWarning], new: &[TranslationWarning]) -> Option<String> {
    let fresh: Vec<_> = new.iter().filter(|w| !old.contains(w)).collect();
    if fresh.is_empty() {
        return None;
    }
    let mut note = format!(
        "{} field(s) could not be carried over exactly:",
        fresh.len()
    );
    for w in fresh.iter().take(8) {
        note.push_str(&format!(" {} ({}): {};", w.path, w.disposition, w.message));
    }
    if fresh.len() > 8 {
        note.push_str(" ... see status.warnings");
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::validate::{ValidationError, ValidationErrors};

    #[test]
    fn a_user_error_is_ready_false_and_degraded_with_its_reason() {
        let now = Timestamp::from_second(1_000).unwrap();
        let prev = TaskDefinitionStatus {
            revision: Some(2),
            common: CommonStatus {
                warnings: vec![w("a")],
                ..CommonStatus::default()
            },
            ..TaskDefinitionStatus::default()
        };
        let e = Error::Invalid(ValidationErrors(vec![ValidationError {
            path: "family".into(),
            message: "required".into(),
        }]));
        let st = failed(&prev, &e, Some(3), now);
        let cond = |t: &str| {
            st.common
                .conditions
                .iter()
                .find(|c| c.type_ == t)
                .map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str()))
                .unwrap()
        };
        assert_eq!(
            cond(conditions::READY),
            ("False", "InvalidSpec", "family: required")
        );
        assert_eq!(
            cond(conditions::DEGRADED),
            ("True", "InvalidSpec", "family: required")
        );
        assert_eq!(cond(conditions::PROGRESSING), ("False", "Idle", ""));
        assert_eq!(st.common.observed_generation, Some(3));
        // The rest of the status stays; a TaskDefinition's warnings go with its translation.
        assert_eq!(st.revision, Some(2));
        assert!(st.common.warnings.is_empty());
        let svc = failed(
            &ServiceStatus {
                common: prev.common.clone(),
                ..ServiceStatus::default()
            },
            &e,
            Some(3),
            now,
        );
        assert_eq!(svc.common.warnings, vec![w("a")]);
    }

    #[test]
    fn refusals_are_one_condition_and_one_event() {
        let r = Refusals(vec![
            Error::NotOwned {
                kind: "Deployment".into(),
                name: "web".into(),
            },
            Error::NotOwned {
                kind: "Service".into(),
                name: "web".into(),
            },
        ]);
        let ws = r.conditions(true).unwrap();
        assert_eq!(ws[0].reason, "NotOwned");
        assert!(
            ws[0].message.contains("Deployment/web") && ws[0].message.contains("; Service/web")
        );
        assert!(ws[1].status, "still progressing");
        let note = r.note(&[]).unwrap();
        assert_eq!(note, Note::warning("NotOwned", r.message()));
        let conds = conditions::merge(&[], &ws, Some(1), Timestamp::UNIX_EPOCH);
        assert_eq!(r.note(&conds), None, "reported once");
        assert_eq!(Refusals::default().conditions(false), None);
    }

    fn w(path: &str) -> TranslationWarning {
        TranslationWarning {
            path: path.into(),
            disposition: "unsupported".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn only_new_warnings_make_a_note() {
        assert_eq!(new_warnings_note(&[w("a")], &[w("a")]), None);
        let note = new_warnings_note(&[w("a")], &[w("a"), w("b")]).unwrap();
        assert!(note.starts_with("1 field(s)"), "{note}");
        assert!(note.contains("b (unsupported)"), "{note}");
    }
}
