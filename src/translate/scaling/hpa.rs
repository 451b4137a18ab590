//! Application Auto Scaling → HorizontalPodAutoscaler, for what an HPA expresses faithfully:
//! ECS CPU and memory target tracking as Resource metrics.

use super::{Capacity, ScalingInput, behavior, metadata, nothing_to_scale_on, target_tracking};
use crate::api::generated::autoscaling::{MetricType, TargetTrackingScalingPolicyConfiguration};
use crate::translate::{Warnings, idx};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};

/// The pod resource an ECS predefined metric measures, if any.
pub(crate) fn resource_of(tt: &TargetTrackingScalingPolicyConfiguration) -> Option<&'static str> {
    match tt
        .predefined_metric_specification
        .as_ref()?
        .predefined_metric_type
    {
        MetricType::ECSServiceAverageCPUUtilization
        | MetricType::ECSServiceAverageCPUUtilizationHighResolution => Some("cpu"),
        MetricType::ECSServiceAverageMemoryUtilization
        | MetricType::ECSServiceAverageMemoryUtilizationHighResolution => Some("memory"),
        _ => None,
    }
}

/// The utilization target in whole percent, reported when `TargetValue` has a fraction.
pub(crate) fn utilization(
    tt: &TargetTrackingScalingPolicyConfiguration,
    path: &str,
    w: &mut Warnings,
) -> i32 {
    let v = tt.target_value.round().max(1.0) as i32;
    if (tt.target_value - f64::from(v)).abs() > f64::EPSILON {
        w.approximated(
            format!("{path}.TargetTrackingScalingPolicyConfiguration.TargetValue"),
            format!(
                "{}: utilization targets are whole percent; {v} is used",
                tt.target_value
            ),
        );
    }
    v
}

/// The HorizontalPodAutoscaler for a service's `autoScaling`, or `None` (reported) when no
/// policy is expressible as an HPA metric.
pub fn hpa(input: ScalingInput<'_>, w: &mut Warnings) -> Option<HorizontalPodAutoscaler> {
    let a = input.auto_scaling;
    let mut metrics = Vec::new();
    let mut carried = Vec::new();
    let mut names = Vec::new();
    for (i, p) in a.scaling_policies.iter().enumerate() {
        let path = idx("autoScaling.scalingPolicies", i);
        let Some(tt) = target_tracking(a, i, w) else {
            continue;
        };
        let Some(resource) = resource_of(tt) else {
            report_external(tt, &path, w);
            continue;
        };
        metrics.push(MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: resource.into(),
                target: MetricTarget {
                    type_: "Utilization".into(),
                    average_utilization: Some(utilization(tt, &path, w)),
                    ..MetricTarget::default()
                },
            }),
            ..MetricSpec::default()
        });
        carried.push((i, tt));
        names.push(p.policy_name.clone());
    }
    if metrics.is_empty() {
        if !a.scaling_policies.is_empty() {
            nothing_to_scale_on("a HorizontalPodAutoscaler metric", w);
        }
        return None;
    }
    let cap = Capacity::of(a);
    if cap.min == 0 {
        w.approximated(
            "autoScaling.scalableTarget.MinCapacity",
            "0: a HorizontalPodAutoscaler cannot scale to zero tasks; minReplicas is 1 (set `autoscaler: keda` on the Cluster to scale to zero)",
        );
    }
    Some(HorizontalPodAutoscaler {
        metadata: metadata(&input, &names, w),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".into()),
                kind: input.kind.into(),
                name: input.workload.into(),
            },
            min_replicas: Some(cap.min.max(1)),
            max_replicas: cap.max.max(1),
            metrics: Some(metrics),
            behavior: behavior(a, &carried, w),
        }),
        status: None,
    })
}

/// A target tracking policy on a CloudWatch metric: an HPA cannot read it.
fn report_external(tt: &TargetTrackingScalingPolicyConfiguration, path: &str, w: &mut Warnings) {
    let base = format!("{path}.TargetTrackingScalingPolicyConfiguration");
    match &tt.predefined_metric_specification {
        Some(m) => w.unsupported(
            format!("{base}.PredefinedMetricSpecification"),
            format!(
                "{}: a CloudWatch metric a HorizontalPodAutoscaler cannot read; the policy is left out (set `autoscaler: keda` on the Cluster to scale on it)",
                m.predefined_metric_type.as_str()
            ),
        ),
        None => w.unsupported(
            format!("{base}.CustomizedMetricSpecification"),
            "a CloudWatch metric a HorizontalPodAutoscaler cannot read; the policy is left out (set `autoscaler: keda` on the Cluster to scale on it)",
        ),
    }
}
