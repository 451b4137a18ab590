//! Where pods run: launch types and capacity providers, placement constraints and strategies,
//! runtime platform → node selectors, tolerations, affinity and topology spread.

use super::{Warnings, at, idx, placement_expr};
use crate::api::ecs::{
    CapacityProviderStrategyItem, LaunchType, PlacementConstraint, PlacementConstraintType,
    PlacementStrategy, PlacementStrategyType, RuntimePlatform, TaskDefinitionPlacementConstraint,
};
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    PodAffinityTerm, PodAntiAffinity, PodSpec, PreferredSchedulingTerm, Toleration,
    TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use std::collections::BTreeMap;

/// Node label and taint of EKS Fargate nodes.
pub const COMPUTE_TYPE: &str = "eks.amazonaws.com/compute-type";
/// Node label of EKS capacity types (ON_DEMAND, SPOT).
pub const CAPACITY_TYPE: &str = "eks.amazonaws.com/capacityType";
/// Node label of EKS managed node groups, used for EC2 capacity providers.
pub const NODEGROUP: &str = "eks.amazonaws.com/nodegroup";
/// Zone label.
pub const ZONE: &str = "topology.kubernetes.io/zone";
/// Hostname label.
pub const HOSTNAME: &str = "kubernetes.io/hostname";

/// How a workload chooses its capacity, after Cluster defaults are applied.
#[derive(Clone, Debug, Default)]
pub struct Capacity<'a> {
    /// Spec path of the choice, for warnings (`launchType` or `capacityProviderStrategy`).
    pub path: String,
    /// A launch type.
    pub launch_type: Option<LaunchType>,
    /// Or a capacity provider strategy.
    pub strategy: &'a [CapacityProviderStrategyItem],
}

fn requirement(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: op.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

fn fargate_toleration() -> Toleration {
    Toleration {
        key: Some(COMPUTE_TYPE.into()),
        operator: Some("Equal".into()),
        value: Some("fargate".into()),
        effect: Some("NoSchedule".into()),
        ..Toleration::default()
    }
}

/// The node requirement and tolerations for one capacity provider.
fn provider(
    name: &str,
    path: &str,
    w: &mut Warnings,
) -> (NodeSelectorRequirement, Option<Toleration>) {
    match name {
        "FARGATE" => (
            requirement(COMPUTE_TYPE, "In", &["fargate"]),
            Some(fargate_toleration()),
        ),
        "FARGATE_SPOT" => {
            w.approximated(path, "FARGATE_SPOT: EKS has no Fargate Spot; pods run on SPOT nodes (eks.amazonaws.com/capacityType=SPOT)");
            (requirement(CAPACITY_TYPE, "In", &["SPOT"]), None)
        }
        other => (requirement(NODEGROUP, "In", &[other]), None),
    }
}

fn add_toleration(spec: &mut PodSpec, t: Toleration) {
    let ts = spec.tolerations.get_or_insert_with(Vec::new);
    if !ts.contains(&t) {
        ts.push(t);
    }
}

fn required_terms(spec: &mut PodSpec) -> &mut Vec<NodeSelectorTerm> {
    let aff = spec.affinity.get_or_insert_with(Affinity::default);
    let na = aff.node_affinity.get_or_insert_with(NodeAffinity::default);
    &mut na
        .required_during_scheduling_ignored_during_execution
        .get_or_insert_with(|| NodeSelector {
            node_selector_terms: vec![NodeSelectorTerm::default()],
        })
        .node_selector_terms
}

/// AND the requirement into every required term.
fn require(spec: &mut PodSpec, req: NodeSelectorRequirement) {
    for term in required_terms(spec) {
        term.match_expressions
            .get_or_insert_with(Vec::new)
            .push(req.clone());
    }
}

/// AND a disjunction of terms into the required terms (distributing).
fn require_any(spec: &mut PodSpec, alternatives: Vec<NodeSelectorTerm>) {
    if alternatives.is_empty() {
        return;
    }
    let current = std::mem::take(required_terms(spec));
    let mut out = Vec::new();
    for t in &current {
        for alt in &alternatives {
            let mut m = t.match_expressions.clone().unwrap_or_default();
            m.extend(alt.match_expressions.clone().unwrap_or_default());
            out.push(NodeSelectorTerm {
                match_expressions: Some(m),
                match_fields: None,
            });
        }
    }
    *required_terms(spec) = out;
}

/// Apply the capacity choice. Returns the label value for `ecs.tidewater.dev/capacity-provider`.
pub fn capacity(spec: &mut PodSpec, cap: &Capacity<'_>, w: &mut Warnings) -> Option<String> {
    if let Some(lt) = cap.launch_type {
        return match lt {
            LaunchType::Fargate => {
                require(spec, requirement(COMPUTE_TYPE, "In", &["fargate"]));
                add_toleration(spec, fargate_toleration());
                Some("FARGATE".into())
            }
            LaunchType::Ec2 => Some("EC2".into()),
            LaunchType::External => {
                w.approximated(&cap.path, "EXTERNAL (ECS Anywhere): pods run on hybrid nodes (eks.amazonaws.com/compute-type=hybrid)");
                require(spec, requirement(COMPUTE_TYPE, "In", &["hybrid"]));
                Some("EXTERNAL".into())
            }
            LaunchType::ManagedInstances => {
                w.approximated(&cap.path, "MANAGED_INSTANCES: pods run on any non-Fargate node (EKS Auto Mode or Karpenter nodes)");
                Some("MANAGED_INSTANCES".into())
            }
        };
    }
    let items = cap.strategy;
    match items {
        [] => None,
        [one] => {
            let p = at(&idx(&cap.path, 0), "capacityProvider");
            let (req, tol) = provider(&one.capacity_provider, &p, w);
            require(spec, req);
            if let Some(t) = tol {
                add_toleration(spec, t);
            }
            Some(one.capacity_provider.clone())
        }
        many => {
            let mut alternatives = Vec::new();
            let mut preferred = Vec::new();
            let total: i64 = many
                .iter()
                .map(|i| i64::from(i.weight.unwrap_or(0).max(0)))
                .sum::<i64>()
                .max(1);
            for (i, item) in many.iter().enumerate() {
                let p = at(&idx(&cap.path, i), "capacityProvider");
                let (req, tol) = provider(&item.capacity_provider, &p, w);
                alternatives.push(NodeSelectorTerm {
                    match_expressions: Some(vec![req.clone()]),
                    match_fields: None,
                });
                if let Some(t) = tol {
                    add_toleration(spec, t);
                }
                let weight = item.weight.unwrap_or(0);
                if weight > 0 {
                    preferred.push(PreferredSchedulingTerm {
                        // i64: weight × 100 never overflows.
                        weight: (i64::from(weight) * 100 / total).clamp(1, 100) as i32,
                        preference: NodeSelectorTerm {
                            match_expressions: Some(vec![req]),
                            match_fields: None,
                        },
                    });
                }
                if item.base.unwrap_or(0) > 0 {
                    w.approximated(
                        at(&idx(&cap.path, i), "base"),
                        "Kubernetes has no per-provider minimum; the base is not guaranteed",
                    );
                }
            }
            w.approximated(
                at(&idx(&cap.path, 0), "weight"),
                "several capacity providers: pods may run on any of them and the scheduler prefers them by weight; the exact ECS split is not guaranteed",
            );
            require_any(spec, alternatives);
            if !preferred.is_empty() {
                let aff = spec.affinity.get_or_insert_with(Affinity::default);
                let na = aff.node_affinity.get_or_insert_with(NodeAffinity::default);
                na.preferred_during_scheduling_ignored_during_execution = Some(preferred);
            }
            let primary = many
                .iter()
                .max_by_key(|i| (i.base.unwrap_or(0), i.weight.unwrap_or(0)))
                .expect("non-empty");
            Some(primary.capacity_provider.clone())
        }
    }
}

fn node_selector(spec: &mut PodSpec, key: &str, value: &str) {
    spec.node_selector
        .get_or_insert_with(BTreeMap::new)
        .insert(key.into(), value.into());
}

/// runtimePlatform → node selectors.
pub fn runtime_platform(spec: &mut PodSpec, rp: &RuntimePlatform, path: &str, w: &mut Warnings) {
    use crate::api::ecs::{CPUArchitecture, OSFamily};
    match rp.cpu_architecture {
        Some(CPUArchitecture::X8664) => node_selector(spec, "kubernetes.io/arch", "amd64"),
        Some(CPUArchitecture::Arm64) => node_selector(spec, "kubernetes.io/arch", "arm64"),
        None => {}
    }
    if let Some(os) = rp.operating_system_family {
        if os == OSFamily::Linux {
            node_selector(spec, "kubernetes.io/os", "linux");
        } else {
            node_selector(spec, "kubernetes.io/os", "windows");
            w.approximated(
                at(path, "operatingSystemFamily"),
                format!(
                    "{}: pods select Windows nodes; the Windows Server version is not selected",
                    os.as_str()
                ),
            );
        }
    }
}

/// A memberOf expression → required node affinity.
fn member_of(spec: &mut PodSpec, expression: Option<&str>, path: &str, w: &mut Warnings) {
    let Some(expr) = expression.filter(|e| !e.trim().is_empty()) else {
        return;
    };
    match placement_expr::to_node_affinity(expr) {
        Ok(c) => {
            for note in c.approximations {
                w.approximated(at(path, "expression"), note);
            }
            require_any(spec, c.terms);
        }
        Err(e) => w.unsupported(at(path, "expression"), format!("not carried over: {e}")),
    }
}

/// Task definition placement constraints (memberOf only).
pub fn task_definition_constraints(
    spec: &mut PodSpec,
    constraints: &[TaskDefinitionPlacementConstraint],
    path: &str,
    w: &mut Warnings,
) {
    for (i, c) in constraints.iter().enumerate() {
        member_of(spec, c.expression.as_deref(), &idx(path, i), w);
    }
}

/// Service/RunTask placement constraints.
pub fn constraints(
    spec: &mut PodSpec,
    constraints: &[PlacementConstraint],
    selector: &BTreeMap<String, String>,
    path: &str,
    w: &mut Warnings,
) {
    for (i, c) in constraints.iter().enumerate() {
        let p = idx(path, i);
        match c.r#type {
            Some(PlacementConstraintType::DistinctInstance) => {
                let aff = spec.affinity.get_or_insert_with(Affinity::default);
                let anti = aff
                    .pod_anti_affinity
                    .get_or_insert_with(PodAntiAffinity::default);
                anti.required_during_scheduling_ignored_during_execution
                    .get_or_insert_with(Vec::new)
                    .push(PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector.clone()),
                            match_expressions: None,
                        }),
                        topology_key: HOSTNAME.into(),
                        ..PodAffinityTerm::default()
                    });
            }
            Some(PlacementConstraintType::MemberOf) | None => {
                member_of(spec, c.expression.as_deref(), &p, w)
            }
        }
    }
}

/// Service/RunTask placement strategies.
pub fn strategies(
    spec: &mut PodSpec,
    strategies: &[PlacementStrategy],
    selector: &BTreeMap<String, String>,
    path: &str,
    w: &mut Warnings,
) {
    for (i, s) in strategies.iter().enumerate() {
        let p = idx(path, i);
        match s.r#type {
            Some(PlacementStrategyType::Spread) => {
                let field = s.field.as_deref().unwrap_or("attribute:ecs.availability-zone");
                let key = match field.to_ascii_lowercase().as_str() {
                    "instanceid" | "host" => HOSTNAME.to_string(),
                    "attribute:ecs.availability-zone" => ZONE.to_string(),
                    "attribute:ecs.instance-type" => "node.kubernetes.io/instance-type".to_string(),
                    _ => match field.strip_prefix("attribute:") {
                        Some(label) => label.to_string(),
                        None => {
                            w.unsupported(at(&p, "field"), format!("spread field `{field}` has no node label"));
                            continue;
                        }
                    },
                };
                spec.topology_spread_constraints.get_or_insert_with(Vec::new).push(TopologySpreadConstraint {
                    max_skew: 1,
                    topology_key: key,
                    when_unsatisfiable: "ScheduleAnyway".into(),
                    label_selector: Some(LabelSelector { match_labels: Some(selector.clone()), match_expressions: None }),
                    ..TopologySpreadConstraint::default()
                });
            }
            Some(PlacementStrategyType::Binpack) => w.approximated(
                at(&p, "type"),
                "binpack has no per-pod counterpart; configure the scheduler's MostAllocated scoring (or Karpenter consolidation) cluster-wide",
            ),
            Some(PlacementStrategyType::Random) | None => {}
        }
    }
}
