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
            None => {
                // The TaskDefinition of the family knows its latest revision; walk down past
                // deregistered ones.
                let latest = self
                    .task_definition_of(family)
                    .and_then(|td| td.status.as_ref().and_then(|s| s.revision))
                    .unwrap_or(0);
                (1..=latest).rev().filter_map(by_number).take(64).collect()
            }
        };
        revisions::resolve(&candidates, family, reference.revision, |r| {
            self.running.contains(&r.reference())
        })
        .cloned()
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
        let all = self.clusters.state();
        reference::pick_cluster(
            name,
            all.iter()
                .filter(|c| c.metadata.namespace.as_deref() == Some(self.namespace))
                .map(|c| {
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
