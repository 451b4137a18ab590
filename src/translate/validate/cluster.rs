//! CreateCluster rules.

use super::{Admission::*, Rule, ValidationErrors, capacity_provider_strategy, ecs_name, result};
use crate::api::cluster::ClusterSpec;

pub const CLUSTER_NAME: Rule = Rule {
    name: "cluster_name",
    message: "clusterName: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed",
    admission: Reconcile,
};

pub(super) const RULES: &[&Rule] = &[&CLUSTER_NAME];

/// What ECS rejects at CreateCluster.
pub fn cluster(spec: &ClusterSpec) -> Result<(), ValidationErrors> {
    let mut out = Vec::new();
    let c = &spec.create;
    if let Some(n) = c.cluster_name.as_deref().filter(|n| !ecs_name(n)) {
        out.push(CLUSTER_NAME.with_value("clusterName", n));
    }
    let strategy = c
        .default_capacity_provider_strategy
        .as_deref()
        .unwrap_or_default();
    capacity_provider_strategy("defaultCapacityProviderStrategy", strategy, &mut out);
    result(out)
}
