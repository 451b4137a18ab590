//! CreateCluster rules.

use super::{Admission::*, Rule};

pub const CLUSTER_NAME: Rule = Rule {
    name: "cluster_name",
    message: "clusterName: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed",
    admission: Reconcile,
};

pub(super) const RULES: &[&Rule] = &[&CLUSTER_NAME];
