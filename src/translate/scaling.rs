//! Application Auto Scaling → HorizontalPodAutoscaler; minimumHealthyPercent → rolling update
//! bounds and a PodDisruptionBudget.

use super::{Warnings, at, idx};
use crate::api::generated::autoscaling::{MetricType, PolicyType};
use crate::api::service::AutoScaling;
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget,
    ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// The HorizontalPodAutoscaler for a service's `autoScaling`.
pub fn hpa(
    name: &str,
    kind: &str,
    a: &AutoScaling,
    labels: &BTreeMap<String, String>,
    w: &mut Warnings,
) -> HorizontalPodAutoscaler {
    let target = &a.scalable_target;
    let max = target.max_capacity.unwrap_or(1).max(1);
    let min = target.min_capacity.unwrap_or(1).clamp(1, max);
    let mut metrics = Vec::new();
    let mut behavior = HorizontalPodAutoscalerBehavior::default();
    let mut names = Vec::new();
    let suspended = target.suspended_state.as_ref();
    for (i, p) in a.scaling_policies.iter().enumerate() {
        let path = idx("autoScaling.scalingPolicies", i);
        names.push(p.policy_name.clone());
        if let Some(tt) = &p.target_tracking_scaling_policy_configuration {
            let predefined = tt
                .predefined_metric_specification
                .as_ref()
                .map(|m| m.predefined_metric_type);
            let resource = match predefined {
                Some(
                    MetricType::ECSServiceAverageCPUUtilization
                    | MetricType::ECSServiceAverageCPUUtilizationHighResolution,
                ) => Some("cpu"),
                Some(
                    MetricType::ECSServiceAverageMemoryUtilization
                    | MetricType::ECSServiceAverageMemoryUtilizationHighResolution,
                ) => Some("memory"),
                Some(other) => {
                    w.approximated(
                        at(&path, "TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType"),
                        format!("{}: not a pod resource metric; it needs an external metrics adapter and is left out", other.as_str()),
                    );
                    None
                }
                None => {
                    if tt.customized_metric_specification.is_some() {
                        w.approximated(
                            at(&path, "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification"),
                            "CloudWatch metrics need an external metrics adapter; the policy is left out",
                        );
                    }
                    None
                }
            };
            if let Some(r) = resource {
                metrics.push(MetricSpec {
                    type_: "Resource".into(),
                    resource: Some(ResourceMetricSource {
                        name: r.into(),
                        target: MetricTarget {
                            type_: "Utilization".into(),
                            average_utilization: Some(tt.target_value.round() as i32),
                            ..MetricTarget::default()
                        },
                    }),
                    ..MetricSpec::default()
                });
            }
            if let Some(c) = tt.scale_out_cooldown {
                behavior
                    .scale_up
                    .get_or_insert_with(HPAScalingRules::default)
                    .stabilization_window_seconds = Some(c);
            }
            if let Some(c) = tt.scale_in_cooldown {
                behavior
                    .scale_down
                    .get_or_insert_with(HPAScalingRules::default)
                    .stabilization_window_seconds = Some(c);
            }
            if tt.disable_scale_in == Some(true) {
                behavior
                    .scale_down
                    .get_or_insert_with(HPAScalingRules::default)
                    .select_policy = Some("Disabled".into());
            }
        }
        if p.policy_type == Some(PolicyType::StepScaling) {
            if let Some(c) = p
                .step_scaling_policy_configuration
                .as_ref()
                .and_then(|s| s.cooldown)
            {
                behavior
                    .scale_up
                    .get_or_insert_with(HPAScalingRules::default)
                    .stabilization_window_seconds = Some(c);
            }
        }
    }
    if let Some(s) = suspended {
        if s.dynamic_scaling_in_suspended == Some(true) {
            behavior
                .scale_down
                .get_or_insert_with(HPAScalingRules::default)
                .select_policy = Some("Disabled".into());
        }
        if s.dynamic_scaling_out_suspended == Some(true) {
            behavior
                .scale_up
                .get_or_insert_with(HPAScalingRules::default)
                .select_policy = Some("Disabled".into());
        }
    }
    let mut annotations = BTreeMap::new();
    if !names.is_empty() {
        annotations.insert(
            "ecs.tidewater.dev/scaling-policies".to_string(),
            names.join(","),
        );
    }
    if !a.scheduled_actions.is_empty() {
        let n: Vec<_> = a
            .scheduled_actions
            .iter()
            .map(|s| s.scheduled_action_name.clone())
            .collect();
        annotations.insert(
            "ecs.tidewater.dev/scheduled-actions".to_string(),
            n.join(","),
        );
    }
    HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: kind.into(),
                name: name.into(),
            },
            min_replicas: Some(min),
            max_replicas: max,
            metrics: (!metrics.is_empty()).then_some(metrics),
            behavior: (behavior != HorizontalPodAutoscalerBehavior::default()).then_some(behavior),
        }),
        status: None,
    }
}

/// Rolling update bounds from ECS percentages for `desired` tasks:
/// (maxSurge, maxUnavailable) as absolute counts, rounded the way ECS rounds.
pub fn rolling_bounds(
    desired: i32,
    minimum_healthy_percent: i32,
    maximum_percent: i32,
) -> (i32, i32) {
    // In i64, so desiredCount × maximumPercent never overflows.
    crate::translate::service::ecs_task_bounds(desired, minimum_healthy_percent, maximum_percent)
}

/// The PodDisruptionBudget keeping minimumHealthyPercent during voluntary disruptions.
pub fn pdb(
    name: &str,
    unavailable: IntOrString,
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(unavailable),
            selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                match_expressions: None,
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_rounding() {
        // desired 3, min 50%, max 200%: at least 2 healthy (1 unavailable), at most 6 (3 extra).
        assert_eq!(rolling_bounds(3, 50, 200), (3, 1));
        // defaults 100/200
        assert_eq!(rolling_bounds(4, 100, 200), (4, 0));
        // 0/100: stop all then start
        assert_eq!(rolling_bounds(2, 0, 100), (0, 2));
        assert_eq!(rolling_bounds(5, 75, 125), (1, 1));
    }
}
