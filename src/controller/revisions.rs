//! Task definition revisions: every change of a TaskDefinition's spec registers a new immutable
//! revision, kept as a `ControllerRevision` named `<family>.<N>` that holds the spec. Pure rules:
//! naming, reference parsing, resolution and which revisions to prune.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::reference::TaskDefinitionRef;
use crate::translate::{labels, names};

use super::error::Error;

/// Label on every revision: the TaskDefinition (object name) that registered it.
pub const REGISTERED_BY: &str = "ecs.tidewater.dev/task-definition";
/// Label a user sets to deregister a revision: `ecs.tidewater.dev/status=INACTIVE`.
pub const STATUS: &str = "ecs.tidewater.dev/status";
/// Annotation holding the family exactly as ECS spells it.
pub const FAMILY_ANNOTATION: &str = "ecs.tidewater.dev/family";
/// Annotation on a TaskDefinition, and on the revision registered for it: the id of the
/// RegisterTaskDefinition call whose body the spec holds (set by the ECS API). On ECS every
/// RegisterTaskDefinition registers a new revision, even of a body equal to the latest: a new
/// id registers one here too.
pub const REGISTRATION: &str = "ecs.tidewater.dev/registration";

/// One registered revision.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    /// Object name (`<family>.<N>`).
    pub name: String,
    /// The family.
    pub family: String,
    /// Revision number.
    pub number: i64,
    /// `false` once deregistered (label `ecs.tidewater.dev/status=INACTIVE`).
    pub active: bool,
    /// The spec registered, as JSON.
    pub spec: Value,
    /// The RegisterTaskDefinition call it was registered for ([`REGISTRATION`]), if any.
    pub registration: Option<String>,
}

impl Revision {
    /// `family:N`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.family, self.number)
    }

    /// The registered spec.
    pub fn task_definition(&self) -> Result<TaskDefinitionSpec, Error> {
        Ok(serde_json::from_value(self.spec.clone())?)
    }
}

/// Object name of revision `n` of `family`.
pub fn name(family: &str, n: i64) -> String {
    format!("{}.{n}", names::dns_label_max(family, 240))
}

/// `family` or `family:N` (or a task definition ARN) split into family and revision.
pub fn parse_reference(reference: &str) -> (String, Option<i64>) {
    let r = TaskDefinitionRef::parse(reference);
    (r.family, r.revision)
}

/// A revision read from its ControllerRevision (`None` if it is not one of ours).
pub fn from_object(cr: &ControllerRevision) -> Option<Revision> {
    let labels = cr.metadata.labels.as_ref()?;
    labels.get(REGISTERED_BY)?;
    let family = cr
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(FAMILY_ANNOTATION))?
        .clone();
    let registration = cr
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REGISTRATION))
        .cloned();
    Some(Revision {
        name: cr.metadata.name.clone().unwrap_or_default(),
        registration,
        family,
        number: cr.revision,
        active: labels.get(STATUS).map(String::as_str) != Some("INACTIVE"),
        spec: cr
            .data
            .as_ref()
            .map(|d| d.0["spec"].clone())
            .unwrap_or(Value::Null),
    })
}

/// Revisions registered by the TaskDefinition `owner_uid` for `family` in `namespace`, from the
/// revision cache by its owner index (the TaskDefinition's registration and the workloads'
/// resolution read the same).
pub fn owned_by(
    store: &kube::runtime::reflector::Store<super::compact::Compact<ControllerRevision>>,
    index: &super::index::Index<super::compact::Compact<ControllerRevision>>,
    namespace: &str,
    owner_uid: &str,
    family: &str,
) -> Vec<Revision> {
    index
        .objects(store, &super::index::owner_key(owner_uid))
        .iter()
        .filter(|cr| cr.metadata.namespace.as_deref() == Some(namespace))
        .filter_map(|cr| from_object(&cr.object()))
        .filter(|r| r.family == family)
        .collect()
}

/// The ControllerRevision for revision `n` of `spec` registered by TaskDefinition `td_name`.
pub fn to_object(td_name: &str, family: &str, n: i64, spec: &Value) -> ControllerRevision {
    let mut l = std::collections::BTreeMap::from([
        (
            REGISTERED_BY.to_string(),
            names::label_value(td_name).unwrap_or_default(),
        ),
        (labels::REVISION.to_string(), n.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            labels::MANAGED_BY.to_string(),
        ),
    ]);
    if let Some(f) = names::label_value(family) {
        l.insert(labels::FAMILY.into(), f);
    }
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name(family, n)),
            labels: Some(l),
            annotations: Some(std::collections::BTreeMap::from([(
                FAMILY_ANNOTATION.to_string(),
                family.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(json!({ "spec": spec }))),
        revision: n,
    }
}

/// The number of the revision to register for `spec` (asked by the RegisterTaskDefinition call
/// `registration`, if any), given the family's latest revision: `None` when the latest already
/// holds this spec for this call.
pub fn next_number(
    latest: Option<&Revision>,
    spec: &Value,
    registration: Option<&str>,
) -> Option<i64> {
    match latest {
        Some(r)
            if r.spec == *spec
                && registration.is_none_or(|id| r.registration.as_deref() == Some(id)) =>
        {
            None
        }
        Some(r) => Some(r.number + 1),
        None => Some(1),
    }
}

/// `cr` recording the RegisterTaskDefinition call it is registered for.
pub fn registered_for(
    mut cr: ControllerRevision,
    registration: Option<&str>,
) -> ControllerRevision {
    if let Some(id) = registration {
        cr.metadata
            .annotations
            .get_or_insert_default()
            .insert(REGISTRATION.into(), id.into());
    }
    cr
}

/// Resolve `number` (or the latest ACTIVE revision when `None`) among `revisions` of one family.
/// An INACTIVE revision resolves only when `allow_inactive` (something already runs it).
pub fn resolve<'a>(
    revisions: &'a [Revision],
    family: &str,
    number: Option<i64>,
    allow_inactive: impl Fn(&Revision) -> bool,
) -> Result<&'a Revision, Error> {
    match number {
        Some(n) => {
            let r = revisions
                .iter()
                .find(|r| r.number == n)
                .ok_or_else(|| Error::TaskDefinitionNotFound(format!("{family}:{n}")))?;
            if r.active || allow_inactive(r) {
                Ok(r)
            } else {
                Err(Error::TaskDefinitionInactive(r.reference()))
            }
        }
        None => revisions
            .iter()
            .filter(|r| r.active)
            .max_by_key(|r| r.number)
            .ok_or_else(|| Error::TaskDefinitionNotFound(family.to_string())),
    }
}

/// Names of revisions to delete: all but the newest `limit`, never one `in_use` (`family:N`)
/// and never the latest.
pub fn to_prune(revisions: &[Revision], limit: usize, in_use: &BTreeSet<String>) -> Vec<String> {
    let mut sorted: Vec<&Revision> = revisions.iter().collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.number));
    sorted
        .into_iter()
        .skip(limit.max(1))
        .filter(|r| !in_use.contains(&r.reference()))
        .map(|r| r.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(n: i64, active: bool) -> Revision {
        Revision {
            name: name("web", n),
            family: "web".into(),
            number: n,
            active,
            spec: json!({"family": "web", "n": n}),
            registration: None,
        }
    }

    #[test]
    fn references_parse() {
        assert_eq!(parse_reference("web"), ("web".into(), None));
        assert_eq!(parse_reference("web:3"), ("web".into(), Some(3)));
        assert_eq!(
            parse_reference("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
            ("web".into(), Some(7))
        );
        assert_eq!(name("Web_App", 2).rsplit_once('.').unwrap().1, "2");
        assert_eq!(name("web", 2), "web.2");
    }

    #[test]
    fn a_changed_spec_gets_the_next_number() {
        let r = rev(2, true);
        assert_eq!(next_number(None, &json!({}), None), Some(1));
        assert_eq!(next_number(Some(&r), &r.spec.clone(), None), None);
        assert_eq!(next_number(Some(&r), &json!({"other": 1}), None), Some(3));
    }

    /// RegisterTaskDefinition "registers a new task definition": each call a new revision,
    /// even of the latest's body; the same call (the id already registered) and kubectl's
    /// unchanged spec register none.
    #[test]
    fn each_register_call_gets_a_revision() {
        let mut r = rev(2, true);
        let spec = r.spec.clone();
        assert_eq!(next_number(Some(&r), &spec, Some("call-1")), Some(3));
        r.registration = Some("call-1".into());
        assert_eq!(next_number(Some(&r), &spec, Some("call-1")), None);
        assert_eq!(next_number(Some(&r), &spec, None), None);
        assert_eq!(next_number(Some(&r), &spec, Some("call-2")), Some(3));
        let cr = registered_for(to_object("web", "web", 3, &spec), Some("call-2"));
        assert_eq!(
            from_object(&cr).map(|r| (r.number, r.registration)),
            Some((3, Some("call-2".into())))
        );
    }

    #[test]
    fn resolution_follows_the_latest_active_revision() {
        let revs = vec![rev(1, true), rev(2, true), rev(3, false)];
        assert_eq!(resolve(&revs, "web", None, |_| false).unwrap().number, 2);
        assert_eq!(resolve(&revs, "web", Some(1), |_| false).unwrap().number, 1);
        assert!(matches!(
            resolve(&revs, "web", Some(3), |_| false),
            Err(Error::TaskDefinitionInactive(_))
        ));
        assert_eq!(resolve(&revs, "web", Some(3), |_| true).unwrap().number, 3);
        assert!(matches!(
            resolve(&revs, "web", Some(9), |_| true),
            Err(Error::TaskDefinitionNotFound(r)) if r == "web:9"
        ));
        assert!(resolve(&[], "web", None, |_| true).is_err());
    }

    #[test]
    fn pruning_keeps_the_newest_and_those_in_use() {
        let revs: Vec<_> = (1..=6).map(|n| rev(n, true)).collect();
        let in_use = BTreeSet::from(["web:2".to_string()]);
        assert_eq!(to_prune(&revs, 3, &in_use), vec!["web.3", "web.1"]);
        assert!(to_prune(&revs, 10, &in_use).is_empty());
        assert_eq!(to_prune(&revs, 0, &BTreeSet::new()).len(), 5);
    }

    #[test]
    fn objects_round_trip() {
        let spec = json!({"family": "web", "containerDefinitions": []});
        let cr = to_object("web", "web", 4, &spec);
        let r = from_object(&cr).unwrap();
        assert_eq!(r.number, 4);
        assert_eq!(r.spec, spec);
        assert!(r.active);
        assert_eq!(r.reference(), "web:4");
    }
}
