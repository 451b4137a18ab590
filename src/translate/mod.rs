//! The pure translation core: ECS specs in, Kubernetes objects and warnings out. No I/O.
//!
//! One module per concept. [`task_definition`] builds the pod template every workload shares;
//! [`service`], [`task`] and [`scheduled_task`] wrap it in Deployments/DaemonSets, Pods and
//! CronJobs with their companions. [`fields`] is the disposition table of every ECS input field;
//! [`walk`] makes sure every unsupported or always-approximated field present in a spec is
//! reported, so nothing is dropped silently.

pub mod containers;
pub mod fields;
pub mod identity;
pub mod input;
pub mod k8s_valid;
pub mod names;
pub mod networking;
pub mod objects;
pub mod placement;
pub mod placement_expr;
pub mod plan;
pub mod probes;
pub mod reader;
pub mod reference;
pub mod resources;
pub mod scaling;
pub mod schedule;
pub mod scheduled_task;
pub mod secrets;
pub mod service;
pub mod task;
pub mod task_definition;
pub mod tracked;
pub mod unread;
pub mod validate;
pub mod volumes;
pub mod walk;

pub use objects::Object;
pub use validate::{ValidationError, ValidationErrors};

use crate::api::common::TranslationWarning;
use fields::Disposition;

/// Labels Tidewater puts on everything it creates.
pub mod labels {
    /// `app.kubernetes.io/managed-by` value.
    pub const MANAGED_BY: &str = "tidewater";
    /// The ECS family of the pod template.
    pub const FAMILY: &str = "ecs.tidewater.dev/family";
    /// The task definition revision of the pod template.
    pub const REVISION: &str = "ecs.tidewater.dev/revision";
    /// The Service that owns the pods (the selector label).
    pub const SERVICE: &str = "ecs.tidewater.dev/service";
    /// The Task that owns the pods.
    pub const TASK: &str = "ecs.tidewater.dev/task";
    /// The ScheduledTask that owns the CronJob.
    pub const SCHEDULED_TASK: &str = "ecs.tidewater.dev/scheduled-task";
    /// The ECS cluster.
    pub const CLUSTER: &str = "ecs.tidewater.dev/cluster";
    /// The capacity provider or launch type the pods run on.
    pub const CAPACITY_PROVIDER: &str = "ecs.tidewater.dev/capacity-provider";
    /// RunTask `group`.
    pub const GROUP: &str = "ecs.tidewater.dev/group";
}

/// A field that was not carried over exactly. `path` is the JSON path inside the spec, with
/// list indices (`containerDefinitions[1].ulimits`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// JSON path inside the spec.
    pub path: String,
    /// Approximated or unsupported.
    pub disposition: Disposition,
    /// What changed or why it is not carried over.
    pub message: String,
}

impl Warning {
    /// The form kept in resource status.
    pub fn to_status(&self) -> TranslationWarning {
        TranslationWarning {
            path: self.path.clone(),
            disposition: self.disposition.as_str().to_string(),
            message: self.message.clone(),
        }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path,
            self.disposition.as_str(),
            self.message
        )
    }
}

/// Collects warnings while a spec is translated.
#[derive(Clone, Debug, Default)]
pub struct Warnings(Vec<Warning>);

impl Warnings {
    /// A field carried over with a change in meaning.
    pub fn approximated(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(path.into(), Disposition::Approximated, message.into());
    }

    /// A field that could not be carried over at all.
    pub fn unsupported(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.push(path.into(), Disposition::Unsupported, message.into());
    }

    fn push(&mut self, path: String, disposition: Disposition, message: String) {
        let w = Warning {
            path,
            disposition,
            message,
        };
        if !self.0.contains(&w) {
            self.0.push(w);
        }
    }

    /// Whether a warning was already reported for this exact path.
    pub fn has_path(&self, path: &str) -> bool {
        self.0.iter().any(|w| w.path == path)
    }

    /// The warnings, sorted by path.
    pub fn into_vec(mut self) -> Vec<Warning> {
        self.0
            .sort_by(|a, b| a.path.cmp(&b.path).then(a.message.cmp(&b.message)));
        self.0
    }
}

/// The result of translating one resource.
#[derive(Clone, Debug, Default)]
pub struct Translation {
    /// The Kubernetes objects to create, in apply order.
    pub objects: Vec<Object>,
    /// What was not carried over exactly.
    pub warnings: Vec<Warning>,
}

/// Index of a path segment: `containerDefinitions[3]` style.
pub(crate) fn at(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else {
        format!("{base}.{field}")
    }
}

pub(crate) fn idx(base: &str, i: usize) -> String {
    format!("{base}[{i}]")
}
