//! Reconcile errors, each with a stable label for metrics, logs, conditions and Events.

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
    /// The spec is invalid beyond what the CRD schema checks.
    #[error("{0}")]
    Invalid(String),
    /// The Cluster policy forbids the workload.
    #[error("{0}")]
    Policy(String),
    /// A ScheduledTask's schedule expression cannot be converted to a CronJob schedule.
    #[error("{0}")]
    InvalidSchedule(String),
    /// A JSON (de)serialisation failed.
    #[error("serialisation: {0}")]
    Serde(#[from] serde_json::Error),
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
            Error::Invalid(_) => "invalid_spec",
            Error::Policy(_) => "policy_violation",
            Error::InvalidSchedule(_) => "invalid_schedule",
            Error::Serde(_) => "serialisation",
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
            Error::Invalid(_) => "InvalidSpec",
            Error::Policy(_) => "PolicyViolation",
            Error::InvalidSchedule(_) => "InvalidSchedule",
            Error::Serde(_) => "SerialisationError",
        }
    }

    /// Whether the error is about the user's input (reported in status, retried slowly) rather
    /// than transient (retried with backoff).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Error::Kube(_) | Error::Serde(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            Error::Invalid("x".into()),
            Error::Policy("y".into()),
            Error::InvalidSchedule("z".into()),
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(Error::label).collect();
        assert_eq!(labels.len(), all.len());
        assert!(all.iter().all(Error::is_user_error));
        assert!(all[0].to_string().contains("Service/web"));
    }
}
