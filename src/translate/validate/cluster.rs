//! CreateCluster rules.

use super::{ValidationErrors, capacity_provider_strategy, ecs_name, result};
use crate::api::cluster::ClusterSpec;
use crate::api::rules::cluster::CLUSTER_NAME;

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
