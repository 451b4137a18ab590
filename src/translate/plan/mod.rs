//! One plan for every workload, shared by `render`, `import` and the operator: resolve the task
//! definition and the Cluster a Service, Task or ScheduledTask names, validate the task
//! definition, check the Cluster policy and translate. Pure: what exists comes from a
//! [`Lookup`] — the input documents for `render` and `import` ([`set`]), the reflector caches
//! for the operator — so that `render` shows exactly what the operator does.

pub mod set;

pub use set::{Output, ResourceWarning, plan_documents};

use super::reference::{self, TaskDefinitionRef};
use super::schedule::ScheduleError;
use super::{
    Object, ValidationError, ValidationErrors, Warning, identity, service, task, validate,
};
use crate::api::cluster::ClusterSpec;
use crate::api::ecs::RunTaskRequest;
use crate::api::scheduled_task::ScheduledTaskSpec;
use crate::api::service::ServiceSpec;
use crate::api::task_definition::TaskDefinitionSpec;

/// Why a workload cannot be planned. Each variant has a stable label ([`PlanError::label`]).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The spec is invalid beyond what the CRD schema checks (`taskDefinition` missing).
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The referenced task definition (or revision) is not registered.
    #[error("taskDefinition: `{0}` is not registered in this namespace")]
    TaskDefinitionNotFound(String),
    /// The referenced revision was deregistered.
    #[error(
        "taskDefinition: `{0}` is INACTIVE (deregistered); new services and tasks cannot use it"
    )]
    TaskDefinitionInactive(String),
    /// The registered revision could not be read.
    #[error("task definition {reference}: {source}")]
    TaskDefinitionUnreadable {
        /// `family:N`.
        reference: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The task definition breaks a rule ECS checks at RegisterTaskDefinition.
    #[error("task definition {reference}: {errors}")]
    TaskDefinitionInvalid {
        /// The family.
        family: String,
        /// `family:N`, or the family when the revision is not known.
        reference: String,
        /// What is wrong.
        errors: ValidationErrors,
    },
    /// The Cluster policy forbids the workload.
    #[error("PolicyViolation: {0}")]
    PolicyViolation(ValidationErrors),
    /// A ScheduledTask's schedule expression cannot be converted to a CronJob schedule.
    #[error("scheduleExpression: {0}")]
    Schedule(ScheduleError),
}

impl PlanError {
    /// Stable label (metrics, logs, Events).
    pub fn label(&self) -> &'static str {
        match self {
            PlanError::Invalid(_) => "invalid_spec",
            PlanError::TaskDefinitionNotFound(_) => "task_definition_not_found",
            PlanError::TaskDefinitionInactive(_) => "task_definition_inactive",
            PlanError::TaskDefinitionUnreadable { .. } => "task_definition_unreadable",
            PlanError::TaskDefinitionInvalid { .. } => "task_definition_invalid",
            PlanError::PolicyViolation(_) => "policy_violation",
            PlanError::Schedule(_) => "invalid_schedule",
        }
    }
}

/// A task definition revision as a [`Lookup`] found it. `O` is where it came from (the operator:
/// the registered revision; `render`: the input resource).
#[derive(Clone, Debug)]
pub struct Resolved<O> {
    /// The family (names the pod template when the spec has no `family`).
    pub family: String,
    /// The revision number, when known.
    pub revision: Option<i64>,
    /// The registered spec.
    pub spec: TaskDefinitionSpec,
    /// Where it came from.
    pub origin: O,
    /// What the lookup itself approximated (`render`: a task definition not in the input).
    pub warnings: Vec<Warning>,
}

impl<O> Resolved<O> {
    /// `family:N`, or the family when the revision is not known.
    pub fn reference(&self) -> String {
        match self.revision {
            Some(n) => format!("{}:{n}", self.family),
            None => self.family.clone(),
        }
    }
}

/// What exists: task definitions and Clusters.
pub trait Lookup {
    /// Where a resolved task definition came from.
    type Origin;

    /// The revision `reference` names (the latest ACTIVE one when it names none).
    fn task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<Resolved<Self::Origin>, PlanError>;

    /// The Cluster named `name` (a name, never an ARN: see [`reference::cluster_of`]).
    fn cluster(&self, name: &str) -> Option<ClusterSpec>;

    /// What to run when the task definition cannot be resolved (`reference` as written, `None`
    /// when the workload names none): the operator reports `error`; `render` runs a placeholder
    /// and says so.
    fn unresolved(
        &self,
        reference: Option<&str>,
        error: PlanError,
    ) -> Result<Resolved<Self::Origin>, PlanError> {
        let _ = reference;
        Err(error)
    }
}

/// A workload to plan.
#[derive(Clone, Copy, Debug)]
pub enum Workload<'a> {
    /// A Service (CreateService).
    Service {
        /// metadata.name.
        name: &'a str,
        /// The spec.
        spec: &'a ServiceSpec,
    },
    /// A Task (RunTask).
    Task {
        /// metadata.name.
        name: &'a str,
        /// The RunTask members.
        run: &'a RunTaskRequest,
    },
    /// A ScheduledTask (an EventBridge schedule that runs RunTask).
    ScheduledTask {
        /// metadata.name.
        name: &'a str,
        /// The spec.
        spec: &'a ScheduledTaskSpec,
    },
}

impl Workload<'_> {
    /// The `taskDefinition` member as written.
    pub fn task_definition(&self) -> Option<&str> {
        match self {
            Workload::Service { spec, .. } => spec.create.task_definition.as_deref(),
            Workload::Task { run, .. } => Some(run.task_definition.as_str()),
            Workload::ScheduledTask { spec, .. } => Some(spec.run.task_definition.as_str()),
        }
    }

    /// The `cluster` member as written.
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Workload::Service { spec, .. } => spec.create.cluster.as_deref(),
            Workload::Task { run, .. } => run.cluster.as_deref(),
            Workload::ScheduledTask { spec, .. } => spec.run.cluster.as_deref(),
        }
    }

    /// The role the tasks assume (see [`identity::task_role`]).
    pub fn task_role<'a>(&'a self, td: &'a TaskDefinitionSpec) -> Option<&'a str> {
        let run = match self {
            Workload::Service { .. } => None,
            Workload::Task { run, .. } => Some(*run),
            Workload::ScheduledTask { spec, .. } => Some(&spec.run),
        };
        identity::task_role(
            run.and_then(|r| r.overrides.as_ref())
                .and_then(|o| o.task_role_arn.as_deref()),
            td.register.task_role_arn.as_deref(),
        )
    }
}

/// What the operator creates for a workload.
#[derive(Clone, Debug)]
pub struct Plan<O> {
    /// The Kubernetes objects, in apply order.
    pub objects: Vec<Object>,
    /// What was not carried over exactly from the workload (and what the lookup approximated).
    pub warnings: Vec<Warning>,
    /// The task definition revision it runs.
    pub task_definition: Resolved<O>,
    /// The Cluster it belongs to, if one exists.
    pub cluster: Option<ClusterSpec>,
}

impl<O> Plan<O> {
    /// The warnings about the task definition's own fields (the TaskDefinition reports them too).
    pub fn task_definition_warnings(&self) -> Vec<Warning> {
        service::task_definition_warnings(&self.task_definition.family, &self.task_definition.spec)
    }
}

/// Plan `workload` with the task definition it names.
pub fn plan<L: Lookup>(lookup: &L, workload: &Workload<'_>) -> Result<Plan<L::Origin>, PlanError> {
    plan_with(lookup, workload, workload.task_definition())
}

/// Plan `workload` with the task definition `reference` (a rollback runs an earlier revision).
pub fn plan_with<L: Lookup>(
    lookup: &L,
    workload: &Workload<'_>,
    reference: Option<&str>,
) -> Result<Plan<L::Origin>, PlanError> {
    // The schedule first: it needs nothing that exists.
    if let Workload::ScheduledTask { spec, .. } = workload {
        super::schedule::to_cron(&spec.schedule_expression).map_err(PlanError::Schedule)?;
    }
    let td = resolve(lookup, reference)?;
    check_with_task_definition(workload, &td)?;
    let cluster = lookup.cluster(&reference::cluster_of(workload.cluster()));
    check_policy(workload, &td.spec, cluster.as_ref())?;
    let (objects, mut warnings) = translate(workload, &td, cluster.as_ref())?;
    warnings.extend(td.warnings.iter().cloned());
    Ok(Plan {
        objects,
        warnings,
        task_definition: td,
        cluster,
    })
}

/// ECS's rules that need the workload and its task definition together (a load balancer's
/// container and port, container overrides); skipped for a placeholder (no revision).
fn check_with_task_definition<O>(
    workload: &Workload<'_>,
    td: &Resolved<O>,
) -> Result<(), PlanError> {
    if td.revision.is_none() {
        return Ok(());
    }
    match workload {
        Workload::Service { spec, .. } => validate::service_with_task_definition(spec, &td.spec),
        Workload::Task { run, .. } => validate::task_with_task_definition(run, &td.spec),
        Workload::ScheduledTask { spec, .. } => {
            validate::task_with_task_definition(&spec.run, &td.spec)
        }
    }
    .map_err(PlanError::Invalid)
}

/// The task definition `reference` names, valid as ECS registers it.
fn resolve<L: Lookup>(
    lookup: &L,
    reference: Option<&str>,
) -> Result<Resolved<L::Origin>, PlanError> {
    let found = match reference.filter(|r| !r.is_empty()) {
        Some(r) => lookup.task_definition(&TaskDefinitionRef::parse(r)),
        None => Err(PlanError::Invalid(ValidationErrors(vec![
            ValidationError {
                path: "taskDefinition".into(),
                message: "required".into(),
            },
        ]))),
    };
    let td = match found {
        Ok(td) => td,
        Err(e) => lookup.unresolved(reference, e)?,
    };
    validate::task_definition(&td.spec).map_err(|errors| PlanError::TaskDefinitionInvalid {
        family: td.family.clone(),
        reference: td.reference(),
        errors,
    })?;
    Ok(td)
}

/// The Cluster policy, with the task role the tasks actually assume.
fn check_policy(
    workload: &Workload<'_>,
    td: &TaskDefinitionSpec,
    cluster: Option<&ClusterSpec>,
) -> Result<(), PlanError> {
    let Some(policy) = cluster.and_then(|c| c.policy.as_ref()) else {
        return Ok(());
    };
    validate::policy(td, workload.task_role(td), policy).map_err(PlanError::PolicyViolation)
}

/// The objects and warnings of `workload` run with `td` in `cluster`.
fn translate<O>(
    workload: &Workload<'_>,
    td: &Resolved<O>,
    cluster: Option<&ClusterSpec>,
) -> Result<(Vec<Object>, Vec<Warning>), PlanError> {
    let run_input = |name, run| task::RunInput {
        name,
        run,
        task_definition_name: &td.family,
        task_definition: &td.spec,
        revision: td.revision,
        cluster,
    };
    let t = match *workload {
        Workload::Service { name, spec } => service::translate(service::ServiceInput {
            name,
            spec,
            task_definition_name: &td.family,
            task_definition: &td.spec,
            revision: td.revision,
            cluster,
        }),
        Workload::Task { name, run } => task::translate(run_input(name, run)),
        Workload::ScheduledTask { name, spec } => {
            super::scheduled_task::translate(spec, run_input(name, &spec.run))
                .map_err(PlanError::Schedule)?
        }
    };
    Ok((t.objects, t.warnings))
}

/// What registering a task definition gives: ECS's checks, then the warnings about its own
/// fields. `name` is the TaskDefinition's `metadata.name` (the family when the spec has none).
pub fn task_definition(
    name: &str,
    spec: &TaskDefinitionSpec,
) -> Result<Vec<Warning>, ValidationErrors> {
    validate::task_definition(spec)?;
    Ok(service::task_definition_warnings(name, spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_stable_and_distinct() {
        let v = || ValidationErrors(vec![]);
        let all = [
            PlanError::Invalid(v()),
            PlanError::TaskDefinitionNotFound("web:3".into()),
            PlanError::TaskDefinitionInactive("web:3".into()),
            PlanError::TaskDefinitionUnreadable {
                reference: "web:3".into(),
                source: serde_json::from_str::<i64>("x").unwrap_err(),
            },
            PlanError::TaskDefinitionInvalid {
                family: "web".into(),
                reference: "web:3".into(),
                errors: v(),
            },
            PlanError::PolicyViolation(v()),
            PlanError::Schedule(ScheduleError::Empty),
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(PlanError::label).collect();
        assert_eq!(labels.len(), all.len());
    }
}
