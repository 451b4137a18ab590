//! Reconcile errors, each with a stable label for metrics, logs, conditions and Events, and the
//! typed cause it carries (validation errors, a schedule error) rather than a flattened string.

use std::time::Duration;

use crate::translate::schedule::ScheduleError;
use crate::translate::validate::ValidationErrors;

use super::context::Settings;

/// Why a reconcile did not converge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server refused or failed a request.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// An object of the same name exists and Tidewater does not control it.
    #[error(
        "{kind}/{name} already exists and is not owned by this resource; Tidewater never overwrites objects it does not own (delete or rename it)"
    )]
    NotOwned {
        /// Kind of the existing object.
        kind: String,
        /// Its name.
        name: String,
    },
    /// A child's kind comes from a CRD that is not installed.
    #[error(
        "the {kind} kind ({group}) is not installed in this cluster; install its controller's CRDs"
    )]
    MissingCrd {
        /// Kind.
        kind: String,
        /// API group.
        group: String,
    },
    /// The referenced task definition (or revision) is not registered in this namespace.
    #[error("taskDefinition: `{0}` is not registered in this namespace")]
    TaskDefinitionNotFound(String),
    /// The referenced revision was deregistered.
    #[error(
        "taskDefinition: `{0}` is INACTIVE (deregistered); new services and tasks cannot use it"
    )]
    TaskDefinitionInactive(String),
    /// The workload names no task definition.
    #[error("taskDefinition: required")]
    TaskDefinitionRequired,
    /// A TaskDefinition's own spec fails the checks ECS makes at registration.
    #[error("{0}")]
    Invalid(ValidationErrors),
    /// The registered revision a workload runs fails the checks ECS makes at registration.
    #[error("task definition {reference}: {errors}")]
    InvalidTaskDefinition {
        /// `family:N`.
        reference: String,
        /// What is wrong.
        errors: ValidationErrors,
    },
    /// The translation produced no object of a kind the reconciler needs.
    #[error("no {0} was built")]
    NotBuilt(&'static str),
    /// The Cluster policy forbids the workload.
    #[error("PolicyViolation: {0}")]
    Policy(ValidationErrors),
    /// A ScheduledTask's schedule expression cannot be converted to a CronJob schedule.
    #[error("scheduleExpression: {0}")]
    Schedule(#[from] ScheduleError),
    /// A JSON (de)serialisation failed.
    #[error("serialisation: {0}")]
    Serde(#[from] serde_json::Error),
    /// Reconciling this object panicked: a bug in Tidewater. Only this object is affected; the
    /// controller of its kind goes on with the others.
    #[error("internal error (a bug in Tidewater, please report it): reconcile panicked: {0}")]
    Panicked(String),
}

impl Error {
    /// Stable label (metrics, logs, Events).
    pub fn label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube_api",
            Error::NotOwned { .. } => "not_owned",
            Error::MissingCrd { .. } => "missing_crd",
            Error::TaskDefinitionNotFound(_) => "task_definition_not_found",
            Error::TaskDefinitionInactive(_) => "task_definition_inactive",
            Error::TaskDefinitionRequired
            | Error::Invalid(_)
            | Error::InvalidTaskDefinition { .. }
            | Error::NotBuilt(_) => "invalid_spec",
            Error::Policy(_) => "policy_violation",
            Error::Schedule(_) => "invalid_schedule",
            Error::Serde(_) => "serialisation",
            Error::Panicked(_) => "panicked",
        }
    }

    /// Condition reason (CamelCase).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Kube(_) => "ApiError",
            Error::NotOwned { .. } => "NotOwned",
            Error::MissingCrd { .. } => "MissingCrd",
            Error::TaskDefinitionNotFound(_) => "TaskDefinitionNotFound",
            Error::TaskDefinitionInactive(_) => "TaskDefinitionInactive",
            Error::TaskDefinitionRequired
            | Error::Invalid(_)
            | Error::InvalidTaskDefinition { .. }
            | Error::NotBuilt(_) => "InvalidSpec",
            Error::Policy(_) => "PolicyViolation",
            Error::Schedule(_) => "InvalidSchedule",
            Error::Serde(_) => "SerialisationError",
            Error::Panicked(_) => "InternalError",
        }
    }

    /// Whether the error is about the user's input (reported in status, retried slowly) rather
    /// than transient (retried with backoff).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Error::Kube(_) | Error::Serde(_) | Error::Panicked(_))
    }

    /// How soon an object stopped by this user error is looked at again: soon when it waits
    /// for another object to be registered, else at the resync interval (a change of the
    /// object, its task definition or its Cluster triggers a reconcile anyway).
    pub fn retry_after(&self, settings: &Settings) -> Duration {
        match self {
            Error::TaskDefinitionNotFound(_) => settings.resync.min(Duration::from_secs(10)),
            _ => settings.resync,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::validate::ValidationError;

    fn errors() -> ValidationErrors {
        ValidationErrors(vec![ValidationError {
            path: "containerDefinitions[0].image".into(),
            message: "required".into(),
        }])
    }

    #[test]
    fn labels_are_stable_and_distinct() {
        let all = [
            Error::NotOwned {
                kind: "Service".into(),
                name: "web".into(),
            },
            Error::MissingCrd {
                kind: "TargetGroupBinding".into(),
                group: "elbv2.k8s.aws".into(),
            },
            Error::TaskDefinitionNotFound("web:3".into()),
            Error::TaskDefinitionInactive("web:3".into()),
            Error::Invalid(errors()),
            Error::Policy(errors()),
            Error::Schedule(ScheduleError::Empty),
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(Error::label).collect();
        assert_eq!(labels.len(), all.len());
        assert!(all.iter().all(Error::is_user_error));
        assert!(all[0].to_string().contains("Service/web"));
    }

    #[test]
    fn typed_causes_keep_the_wording_of_the_conditions() {
        assert_eq!(
            Error::InvalidTaskDefinition {
                reference: "web:3".into(),
                errors: errors(),
            }
            .to_string(),
            "task definition web:3: containerDefinitions[0].image: required"
        );
        assert_eq!(
            Error::Invalid(errors()).to_string(),
            "containerDefinitions[0].image: required"
        );
        assert_eq!(
            Error::Policy(errors()).to_string(),
            "PolicyViolation: containerDefinitions[0].image: required"
        );
        assert!(
            Error::Schedule(ScheduleError::Empty)
                .to_string()
                .starts_with("scheduleExpression: ")
        );
        assert_eq!(Error::TaskDefinitionRequired.reason(), "InvalidSpec");
        assert_eq!(
            Error::NotBuilt("CronJob").to_string(),
            "no CronJob was built"
        );
    }

    #[test]
    fn only_a_missing_task_definition_is_retried_soon() {
        let s = Settings::default();
        assert_eq!(
            Error::TaskDefinitionNotFound("web".into()).retry_after(&s),
            Duration::from_secs(10)
        );
        assert_eq!(Error::Policy(errors()).retry_after(&s), s.resync);
    }
}
