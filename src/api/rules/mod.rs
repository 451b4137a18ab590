//! The ECS rules, by request: each a [`Rule`] with the message ECS gives (its ClientException
//! text where known) and where the apiserver checks it. The CRDs' `x-kubernetes-validations` are
//! built from the CEL ones (same expression, same message); the translation core's validation
//! checks every rule, naming the field (a [`ValidationError`]).
//!
//! All rule constants are also re-exported here (`rules::NAME`).

pub mod cluster;
pub mod containers;
pub mod ports;
pub mod service;
pub mod task;
pub mod task_definition;

pub use cluster::*;
pub use containers::*;
pub use ports::*;
pub use service::*;
pub use task::*;
pub use task_definition::*;

/// The CEL condition "the task definition does not require FARGATE".
macro_rules! not_fargate {
    () => {
        "!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(x, x == 'FARGATE') || "
    };
}
use not_fargate;

/// One problem, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// JSON path inside the spec.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// All problems of a spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<ValidationError>);

/// Where the apiserver checks a rule, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A CEL rule on the CRD: this expression, evaluated on the spec.
    Cel(&'static str),
    /// A CEL rule on the CRD, declared on a schema node below the spec of the TaskDefinition
    /// (`node`: its fields from the spec, `[]` for a list's items, as in
    /// `containerDefinitions[].healthCheck`) and evaluated on each value there, with `self` that
    /// value. The API server evaluates every rule of an object on each of its writes (status
    /// writes included); a rule on the narrowest node reads few fields of a small schema and is
    /// skipped where the node is absent, and its error names the item.
    CelOn {
        /// Where, below the spec.
        node: &'static str,
        /// The expression, on that node.
        rule: &'static str,
    },
    /// The CRD's OpenAPI schema (`maxItems`, `maximum`...), with the apiserver's own message.
    Schema,
    /// Not at `kubectl apply`: checked by `render` and the controllers only.
    Reconcile,
}

/// One ECS rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Its name, also the name of its test in `tests/ecs_rules_validation.rs`.
    pub name: &'static str,
    /// What is reported when the rule is broken (ECS's wording where known).
    pub message: &'static str,
    /// Where the apiserver checks it.
    pub admission: Admission,
}

impl Rule {
    /// The CEL expression of a rule the CRD declares on the spec.
    pub const fn cel(&self) -> &'static str {
        match self.admission {
            Admission::Cel(expr) => expr,
            _ => panic!("not a CEL rule on the spec"),
        }
    }

    /// The error for `path`.
    pub(crate) fn at(&self, path: impl Into<String>) -> ValidationError {
        ValidationError {
            path: path.into(),
            message: self.message.to_string(),
        }
    }

    /// The error for `path`, naming the offending value: the CEL message followed by
    /// `` (`value`)`` (so that a placeholder left by `import` shows).
    pub fn with_value(&self, path: impl Into<String>, value: &str) -> ValidationError {
        ValidationError {
            path: path.into(),
            message: format!("{} (`{value}`)", self.message),
        }
    }
}

/// Every rule, in a stable order.
pub fn all_rules() -> Vec<&'static Rule> {
    [
        task_definition::RULES,
        containers::RULES,
        ports::RULES,
        service::RULES,
        task::RULES,
        cluster::RULES,
    ]
    .concat()
}
