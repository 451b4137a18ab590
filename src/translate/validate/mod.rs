//! What ECS rejects, in one place: the checks ECS makes at RegisterTaskDefinition, CreateService,
//! RunTask and CreateCluster, and the Cluster policy. Pure: the same checks run in `render` and in
//! the controllers (where they become a `Ready=False` condition naming the field).
//!
//! Every check is a [`Rule`] with the message ECS gives (its ClientException text where known).
//! Rules the apiserver can evaluate within its cost budget are also declared on the CRDs as CEL
//! (`x-kubernetes-validations`, built from the same [`Rule`]: same expression, same message), so
//! `kubectl apply` rejects them; the Rust check here is the CEL rule's twin, so that `render`
//! rejects what the apiserver would. Rules that need unbounded lists, units (`"1 vCPU"`) or another
//! object (a Service's task definition) are checked here only.

mod cluster;
mod containers;
mod policy;
mod ports;
mod service;
mod task;
mod task_definition;

pub use cluster::cluster;
pub use policy::policy;
pub use service::{service, service_with_task_definition};
pub use task::{task, task_with_task_definition};
pub use task_definition::task_definition;

/// Rules by request, for the CRDs' `x-kubernetes-validations` (`rules::NAME.cel()`), defined in
/// [`crate::api::rules`] (the CRDs are built from them) and checked here.
pub mod rules {
    pub use crate::api::rules::cluster::CLUSTER_NAME;
    pub use crate::api::rules::containers::*;
    pub use crate::api::rules::ports::*;
    pub use crate::api::rules::service::*;
    pub use crate::api::rules::task::*;
    pub use crate::api::rules::task_definition::*;
}

pub use crate::api::rules::{Admission, Rule, ValidationError, ValidationErrors, all_rules};

/// `Err` with the problems, or `Ok` if there are none.
fn result(out: Vec<ValidationError>) -> Result<(), ValidationErrors> {
    if out.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(out))
    }
}

/// Whether a name has only letters, numbers, underscores and hyphens, and at most 255 of them.
fn ecs_name(name: &str) -> bool {
    name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The capacity provider strategy rules CreateService, RunTask and CreateCluster share.
fn capacity_provider_strategy(
    path: &str,
    items: &[crate::api::ecs::CapacityProviderStrategyItem],
    out: &mut Vec<ValidationError>,
) {
    use crate::api::rules::service::{
        CAPACITY_PROVIDER_BASE_RANGE, CAPACITY_PROVIDER_STRATEGY_SIZE,
        CAPACITY_PROVIDER_WEIGHT_RANGE, ONE_CAPACITY_PROVIDER_BASE,
    };
    if items.len() > 20 {
        out.push(CAPACITY_PROVIDER_STRATEGY_SIZE.at(path));
    }
    for (i, item) in items.iter().enumerate() {
        if item.base.is_some_and(|b| !(0..=100_000).contains(&b)) {
            out.push(CAPACITY_PROVIDER_BASE_RANGE.at(format!("{path}[{i}].base")));
        }
        if item.weight.is_some_and(|w| !(0..=1000).contains(&w)) {
            out.push(CAPACITY_PROVIDER_WEIGHT_RANGE.at(format!("{path}[{i}].weight")));
        }
    }
    let with_base: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].base.is_some_and(|b| b > 0))
        .collect();
    if let Some(&second) = with_base.get(1) {
        out.push(ONE_CAPACITY_PROVIDER_BASE.at(format!("{path}[{second}].base")));
    }
}

/// A Tidewater spec: the ECS request it carries, and the rules of that request alone (what the
/// CRD and ECS reject without looking at another object).
pub trait Spec: serde::de::DeserializeOwned + serde::Serialize {
    /// The ECS request flattened into the spec (used to locate a deserialisation error in it).
    type Request: serde::de::DeserializeOwned;
    /// The request's own rules. A task definition's are checked by [`task_definition`] where
    /// its revision is registered, so that what runs it can report it as invalid.
    fn admit(&self) -> Result<(), ValidationErrors>;
    /// The spec read from a JSON document, as `Deserialize` reads it (the error is only
    /// whether it failed: see [`crate::translate::input`]).
    fn read(v: &serde_json::Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(v)
    }
    /// The spec read from a JSON document, with the paths of the document's members it does
    /// not hold ([`crate::translate::unread`]), in the document's order.
    fn read_noting(v: &serde_json::Value) -> Result<(Self, Vec<String>), serde_json::Error> {
        let spec = Self::read(v)?;
        let unread = crate::translate::unread::unread(v, &spec).expect("spec serialises");
        Ok((spec, unread))
    }
}

impl Spec for crate::api::TaskDefinitionSpec {
    type Request = crate::api::ecs::RegisterTaskDefinitionRequest;
    fn admit(&self) -> Result<(), ValidationErrors> {
        Ok(())
    }
    /// Its two flattened parts have no member in common and read no member they do not know:
    /// each reads its members from the document directly, without the copy of the document
    /// serde makes to share it out among flattened parts.
    fn read(v: &serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(crate::api::TaskDefinitionSpec {
            register: serde::Deserialize::deserialize(v)?,
            read_only: serde::Deserialize::deserialize(v)?,
        })
    }
    /// The request in one pass ([`tracked`]); a member of the document it does not read is
    /// unread unless it is one of the read-only members.
    fn read_noting(v: &serde_json::Value) -> Result<(Self, Vec<String>), serde_json::Error> {
        use crate::api::generated::read_only::RegisterTaskDefinitionReadOnly;
        use crate::translate::tracked::{self, Unread};
        static READ_ONLY: std::sync::LazyLock<&[&str]> =
            std::sync::LazyLock::new(tracked::fields_of::<RegisterTaskDefinitionReadOnly>);
        let (register, unread) = tracked::read(v)?;
        let read_only = serde::Deserialize::deserialize(v)?;
        let unread = unread
            .iter()
            .filter(|u| match u {
                Unread::Member(key) => !READ_ONLY.contains(key),
                Unread::Below(_) => true,
            })
            .map(Unread::path)
            .collect();
        Ok((
            crate::api::TaskDefinitionSpec {
                register,
                read_only,
            },
            unread,
        ))
    }
}

impl Spec for crate::api::ServiceSpec {
    type Request = crate::api::ecs::CreateServiceRequest;
    fn admit(&self) -> Result<(), ValidationErrors> {
        service(self)
    }
}

impl Spec for crate::api::TaskSpec {
    type Request = crate::api::ecs::RunTaskRequest;
    fn admit(&self) -> Result<(), ValidationErrors> {
        task(&self.run)
    }
}

impl Spec for crate::api::ScheduledTaskSpec {
    type Request = crate::api::ecs::RunTaskRequest;
    fn admit(&self) -> Result<(), ValidationErrors> {
        task(&self.run)
    }
}

impl Spec for crate::api::ClusterSpec {
    type Request = crate::api::ecs::CreateClusterRequest;
    fn admit(&self) -> Result<(), ValidationErrors> {
        cluster(self)
    }
}
