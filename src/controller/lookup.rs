//! The operator's [`Lookup`] for the shared plan ([`crate::translate::plan`]): a task definition
//! reference resolves to a registered revision (a ControllerRevision), a cluster name to a
//! Cluster, both from the reflector caches of one namespace.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::ResourceExt;
use kube::runtime::reflector::Store;

use crate::api::cluster::ClusterSpec;
use crate::api::{Cluster, TaskDefinition};
use crate::translate::plan::{self, Lookup, Plan, PlanError, Resolved, Workload};
use crate::translate::reference::{self, TaskDefinitionRef};
use crate::translate::task_definition::family as family_of;

use super::compact::Compact;
use super::context::{Stores, cached};
use super::error::Error;
use super::revisions::{self, Revision};

/// What the plan reads from the caches, for one namespace.
#[derive(Clone, Copy)]
pub struct Caches<'a> {
    /// TaskDefinitions (they know the latest revision of their family).
    pub task_definitions: &'a Store<Compact<TaskDefinition>>,
    /// Registered revisions.
    pub revisions: &'a Store<Compact<ControllerRevision>>,
    /// Clusters.
    pub clusters: &'a Store<Cluster>,
    /// Lookups by family.
    pub indexes: &'a super::index::Indexes,
    /// The namespace of the workload.
    pub namespace: &'a str,
    /// `family:N` the workload already runs: these resolve even when INACTIVE.
    pub running: &'a BTreeSet<String>,
}

impl<'a> Caches<'a> {
    /// The caches of `namespace`.
    pub fn new(stores: &'a Stores, namespace: &'a str, running: &'a BTreeSet<String>) -> Self {
        Caches {
            task_definitions: &stores.task_definitions,
            revisions: &stores.revisions,
            clusters: &stores.clusters,
            indexes: &stores.indexes,
            namespace,
            running,
        }
    }

    /// The registered revision `reference` names: that revision, or the latest ACTIVE one.
    pub fn revision(&self, reference: &TaskDefinitionRef) -> Result<Revision, Error> {
        let family = &reference.family;
        let by_number = |n: i64| {
            cached(self.revisions, self.namespace, &revisions::name(family, n))
                .and_then(|cr| revisions::from_object(&cr.object()))
                .filter(|r| r.family == *family)
        };
        let candidates: Vec<Revision> = match reference.revision {
            Some(n) => by_number(n).into_iter().collect(),
            // The TaskDefinition of the family knows its latest revision, and registered the
            // revisions it owns (the owner index: never a walk down every number).
            None => match self.task_definition_of(family) {
                Some(td) => self.owned_revisions(&td, family),
                None => Vec::new(),
            },
        };
        revisions::resolve(&candidates, family, reference.revision, |r| {
            self.running.contains(&r.reference())
        })
        .cloned()
    }

    /// The revisions of `family` that `td` registered, up to its latest.
    fn owned_revisions(&self, td: &TaskDefinition, family: &str) -> Vec<Revision> {
        let latest = td.status.as_ref().and_then(|s| s.revision).unwrap_or(0);
        let uid = td.metadata.uid.as_deref().unwrap_or_default();
        let ns = self.namespace;
        let mut owned =
            revisions::owned_by(self.revisions, &self.indexes.revisions, ns, uid, family);
        owned.retain(|r| r.number <= latest);
        owned
    }

    /// The TaskDefinition of `family` (by name first).
    fn task_definition_of(&self, family: &str) -> Option<Arc<TaskDefinition>> {
        let of_family = |td: &TaskDefinition| family_of(&td.spec, &td.name_any()) == family;
        let decoded = |td: Arc<Compact<TaskDefinition>>| Arc::new(td.object());
        cached(self.task_definitions, self.namespace, family)
            .map(decoded)
            .filter(|td| of_family(td))
            .or_else(|| {
                let key = super::index::family_key(self.namespace, family);
                self.indexes
                    .task_definitions
                    .objects(self.task_definitions, &key)
                    .into_iter()
                    .map(decoded)
                    .find(|td| of_family(td))
            })
    }

    /// The Cluster `name` designates (see [`reference::pick_cluster`]).
    pub fn cluster_object(&self, name: &str) -> Option<Arc<Cluster>> {
        if let Some(c) = cached(self.clusters, self.namespace, name) {
            return Some(c);
        }
        // Those whose `clusterName` it is, from the index (in name order).
        let key = super::index::cluster_key(self.namespace, name);
        let named = self.indexes.clusters.objects(self.clusters, &key);
        reference::pick_cluster(
            name,
            named.iter().map(|c| {
                (
                    c.metadata.name.as_deref().unwrap_or_default(),
                    c.spec.create.cluster_name.as_deref(),
                    c,
                )
            }),
        )
        .cloned()
    }
}

impl Lookup for Caches<'_> {
    type Origin = Revision;

    fn task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<Resolved<Revision>, PlanError> {
        let revision = self.revision(reference).map_err(|e| match e {
            Error::TaskDefinitionInactive(r) => PlanError::TaskDefinitionInactive(r),
            other => PlanError::TaskDefinitionNotFound(match other {
                Error::TaskDefinitionNotFound(r) => r,
                _ => reference.to_string(),
            }),
        })?;
        let spec = serde_json::from_value(revision.spec.clone()).map_err(|source| {
            PlanError::TaskDefinitionUnreadable {
                reference: revision.reference(),
                source,
            }
        })?;
        Ok(Resolved {
            family: revision.family.clone(),
            revision: Some(revision.number),
            spec,
            origin: revision,
            warnings: vec![],
        })
    }

    fn cluster(&self, name: &str) -> Option<ClusterSpec> {
        self.cluster_object(name).map(|c| c.spec.clone())
    }
}

/// Plan `workload` of `namespace` from the caches (`running`: the `family:N` it already runs).
pub fn plan(
    stores: &Stores,
    namespace: &str,
    workload: &Workload<'_>,
    running: &BTreeSet<String>,
) -> Result<Plan<Revision>, Error> {
    plan_with(
        stores,
        namespace,
        workload,
        workload.task_definition(),
        running,
    )
}

/// [`plan`] with the task definition `reference` (a rollback runs an earlier revision).
pub fn plan_with(
    stores: &Stores,
    namespace: &str,
    workload: &Workload<'_>,
    reference: Option<&str>,
    running: &BTreeSet<String>,
) -> Result<Plan<Revision>, Error> {
    let caches = Caches::new(stores, namespace, running);
    Ok(plan::plan_with(&caches, workload, reference)?)
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        match e {
            PlanError::Invalid(errors) => Error::Invalid(errors),
            PlanError::TaskDefinitionInvalid {
                reference, errors, ..
            } => Error::InvalidTaskDefinition { reference, errors },
            PlanError::TaskDefinitionNotFound(r) => Error::TaskDefinitionNotFound(r),
            PlanError::TaskDefinitionInactive(r) => Error::TaskDefinitionInactive(r),
            PlanError::TaskDefinitionUnreadable { source, .. } => Error::Serde(source),
            PlanError::PolicyViolation(errors) => Error::Policy(errors),
            PlanError::Schedule(e) => Error::Schedule(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::testing::{empty_stores, store_of};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use serde_json::json;

    const UID: &str = "6f1c7a52-0000-4000-8000-0000000000f1";

    fn task_definition(latest: i64) -> TaskDefinition {
        serde_json::from_value(json!({
            "apiVersion": "ecs.tidewater.dev/v1alpha1",
            "kind": "TaskDefinition",
            "metadata": {"name": "web", "namespace": "default", "uid": UID, "generation": 1},
            "spec": {"family": "web", "containerDefinitions": []},
            "status": {"revision": latest, "taskDefinition": format!("web:{latest}"), "observedGeneration": 1},
        }))
        .unwrap()
    }

    /// Revision `n` of `web`, registered by the TaskDefinition `owner`.
    fn revision(n: i64, owner: &str, active: bool) -> Compact<ControllerRevision> {
        let mut cr = revisions::to_object("web", "web", n, &json!({"family": "web", "n": n}));
        cr.metadata.namespace = Some("default".into());
        cr.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "ecs.tidewater.dev/v1alpha1".into(),
            kind: "TaskDefinition".into(),
            name: "web".into(),
            uid: owner.into(),
            controller: Some(true),
            ..OwnerReference::default()
        }]);
        if !active {
            let labels = cr.metadata.labels.get_or_insert_default();
            labels.insert(revisions::STATUS.into(), "INACTIVE".into());
        }
        Compact::new(cr)
    }

    fn resolve(latest: i64, revs: Vec<Compact<ControllerRevision>>) -> Option<i64> {
        let stores = Stores {
            task_definitions: store_of(vec![Compact::new(task_definition(latest))]),
            revisions: store_of(revs),
            ..empty_stores()
        }
        .reindexed();
        let running = BTreeSet::new();
        let caches = Caches::new(&stores, "default", &running);
        caches
            .revision(&TaskDefinitionRef::parse("web"))
            .ok()
            .map(|r| r.number)
    }

    /// A family followed by name resolves to the latest ACTIVE revision among those its
    /// TaskDefinition registered (found by owner, however high the numbers run), never past the
    /// latest its status names, never one another TaskDefinition registered.
    #[test]
    fn a_family_resolves_among_the_revisions_its_task_definition_registered() {
        let other = "6f1c7a52-0000-4000-8000-0000000000f2";
        let revs = || {
            vec![
                revision(4998, UID, true),
                revision(4999, UID, false),
                revision(5000, UID, true),
                revision(5001, UID, true),
                revision(4997, other, true),
            ]
        };
        assert_eq!(resolve(5000, revs()), Some(5000));
        // Revision 5000 deregistered (INACTIVE): the one before that is ACTIVE.
        let mut inactive = revs();
        inactive[2] = revision(5000, UID, false);
        assert_eq!(resolve(5000, inactive), Some(4998));
        // Only revisions of another TaskDefinition, or none: not found.
        assert_eq!(resolve(5000, vec![revision(4997, other, true)]), None);
        assert_eq!(resolve(5000, vec![]), None);
    }
}
