//! Application Auto Scaling → a HorizontalPodAutoscaler ([`hpa`]) or a KEDA ScaledObject
//! ([`keda`]), as the Cluster's `autoscaler` chooses; scheduled actions ([`scheduled`]) are
//! carried out by the operator. minimumHealthyPercent → rolling update bounds and a
//! PodDisruptionBudget.
//!
//! Nothing falls back silently: a policy the chosen autoscaler cannot express is reported and
//! left out, and an HPA is never created without metrics (it would scale on 80% CPU).

mod hpa;
mod keda;
pub mod scheduled;

pub use hpa::hpa;
pub use keda::{scaled_object, trigger_authentication};

use super::{Object, Warnings, at, idx};
pub use crate::api::cluster::Autoscaler;
use crate::api::ecs::CreateServiceRequest;
use crate::api::generated::autoscaling::{PolicyType, TargetTrackingScalingPolicyConfiguration};
use crate::api::service::AutoScaling;
use k8s_openapi::api::autoscaling::v2::{HPAScalingRules, HorizontalPodAutoscalerBehavior};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Annotation listing the scaling policies carried by a scaler object.
pub const POLICIES_ANNOTATION: &str = "ecs.tidewater.dev/scaling-policies";
/// Annotation listing the scheduled actions the operator carries out.
pub const SCHEDULED_ANNOTATION: &str = "ecs.tidewater.dev/scheduled-actions";

/// The bounds of the scalable target: `MinCapacity` and `MaxCapacity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Fewest tasks.
    pub min: i32,
    /// Most tasks.
    pub max: i32,
}

impl Capacity {
    /// The scalable target's bounds (1 when not given; `MaxCapacity` never below `MinCapacity`).
    pub fn of(a: &AutoScaling) -> Capacity {
        let t = &a.scalable_target;
        let min = t.min_capacity.unwrap_or(1).max(0);
        let max = t.max_capacity.unwrap_or(1).max(min);
        Capacity { min, max }
    }

    /// `n` brought into the bounds.
    pub fn clamp(self, n: i32) -> i32 {
        n.clamp(self.min, self.max.max(self.min))
    }
}

/// Everything the scaling translation needs.
#[derive(Clone, Copy, Debug)]
pub struct ScalingInput<'a> {
    /// Name of the workload (and of the scaler object).
    pub workload: &'a str,
    /// `Deployment` or `DaemonSet`.
    pub kind: &'a str,
    /// The Service's `autoScaling`.
    pub auto_scaling: &'a AutoScaling,
    /// The Cluster's choice.
    pub autoscaler: Autoscaler,
    /// The CreateService request (for the AWS region of its ARNs).
    pub create: &'a CreateServiceRequest,
    /// The task definition (for its AWS region when the Service names none).
    pub task_definition: Option<&'a crate::api::task_definition::TaskDefinitionSpec>,
    /// Labels of the objects.
    pub labels: &'a BTreeMap<String, String>,
}

/// The objects that scale the workload: a HorizontalPodAutoscaler, or a ScaledObject (with a
/// TriggerAuthentication when a trigger reads AWS), or none (reported).
pub fn objects(input: ScalingInput<'_>, w: &mut Warnings) -> Vec<Object> {
    match input.autoscaler {
        Autoscaler::Hpa => hpa(input, w)
            .map(Object::HorizontalPodAutoscaler)
            .into_iter()
            .collect(),
        Autoscaler::Keda => {
            let Some((so, aws)) = scaled_object(input, w) else {
                return Vec::new();
            };
            let mut out = vec![Object::Other(so)];
            if aws {
                out.push(Object::Other(trigger_authentication(
                    input.workload,
                    input.labels,
                )));
            }
            out
        }
    }
}

/// The target tracking configuration of policy `i`, or `None` (reported) for a policy no
/// autoscaler can carry: step scaling runs on a CloudWatch alarm that is not part of the policy,
/// predictive scaling forecasts.
pub(crate) fn target_tracking<'a>(
    a: &'a AutoScaling,
    i: usize,
    w: &mut Warnings,
) -> Option<&'a TargetTrackingScalingPolicyConfiguration> {
    let p = &a.scaling_policies[i];
    let path = idx("autoScaling.scalingPolicies", i);
    match (
        p.policy_type,
        &p.target_tracking_scaling_policy_configuration,
    ) {
        (Some(PolicyType::StepScaling | PolicyType::PredictiveScaling), _) | (_, None) => {
            if p.step_scaling_policy_configuration.is_none()
                && p.predictive_scaling_policy_configuration.is_none()
            {
                w.unsupported(
                    at(&path, "PolicyType"),
                    "only target tracking policies can be carried out; this policy is left out",
                );
            }
            None
        }
        (_, Some(tt)) => Some(tt),
    }
}

/// Scale-up and scale-down behaviour from the carried policies' cooldowns and `DisableScaleIn`,
/// and the scalable target's `SuspendedState`.
pub(crate) fn behavior(
    a: &AutoScaling,
    carried: &[(usize, &TargetTrackingScalingPolicyConfiguration)],
    w: &mut Warnings,
) -> Option<HorizontalPodAutoscalerBehavior> {
    let mut b = HorizontalPodAutoscalerBehavior::default();
    for (i, tt) in carried {
        let path = format!(
            "{}.TargetTrackingScalingPolicyConfiguration",
            idx("autoScaling.scalingPolicies", *i)
        );
        if let Some(c) = tt.scale_out_cooldown {
            let up = b.scale_up.get_or_insert_with(HPAScalingRules::default);
            up.stabilization_window_seconds =
                Some(up.stabilization_window_seconds.unwrap_or(0).max(c));
            w.approximated(at(&path, "ScaleOutCooldown"), format!("scale-up stabilization window of {c}s: a scale-out waits until the higher recommendation has held for {c}s, where Application Auto Scaling scales out at once and then limits further scale-outs for {c}s"));
        }
        if let Some(c) = tt.scale_in_cooldown {
            let down = b.scale_down.get_or_insert_with(HPAScalingRules::default);
            down.stabilization_window_seconds =
                Some(down.stabilization_window_seconds.unwrap_or(0).max(c));
            w.approximated(at(&path, "ScaleInCooldown"), format!("scale-down stabilization window of {c}s: a scale-in follows the highest recommendation of the last {c}s, where Application Auto Scaling waits {c}s after the previous scaling activity"));
        }
    }
    let disabled = carried
        .iter()
        .filter(|(_, tt)| tt.disable_scale_in == Some(true))
        .count();
    let suspended = a.scalable_target.suspended_state.as_ref();
    let in_suspended = suspended.is_some_and(|s| s.dynamic_scaling_in_suspended == Some(true));
    if in_suspended || (disabled > 0 && disabled == carried.len()) {
        b.scale_down
            .get_or_insert_with(HPAScalingRules::default)
            .select_policy = Some("Disabled".into());
    } else if disabled > 0 {
        for (i, _) in carried
            .iter()
            .filter(|(_, tt)| tt.disable_scale_in == Some(true))
        {
            w.approximated(
                format!("{}.TargetTrackingScalingPolicyConfiguration.DisableScaleIn", idx("autoScaling.scalingPolicies", *i)),
                "other policies may scale in: the autoscaler takes the highest recommendation of all metrics, so this policy's metric still holds scale-in back while it is above its target",
            );
        }
    }
    if suspended.is_some_and(|s| s.dynamic_scaling_out_suspended == Some(true)) {
        b.scale_up
            .get_or_insert_with(HPAScalingRules::default)
            .select_policy = Some("Disabled".into());
    }
    (b != HorizontalPodAutoscalerBehavior::default()).then_some(b)
}

/// Metadata of a scaler object: name, labels (plus the scalable target's valid `Tags`), and
/// annotations naming the policies and the scheduled actions.
pub(crate) fn metadata(
    input: &ScalingInput<'_>,
    policies: &[String],
    w: &mut Warnings,
) -> ObjectMeta {
    let a = input.auto_scaling;
    let mut labels = input.labels.clone();
    for (k, v) in a.scalable_target.tags.iter().flatten() {
        match super::names::label_value(v).filter(|_| super::names::is_qualified_name(k)) {
            Some(v) => {
                labels.insert(k.clone(), v);
            }
            None => w.approximated(
                format!("autoScaling.scalableTarget.Tags.{k}"),
                format!("tag `{k}` is not a valid label; it is left out"),
            ),
        }
    }
    let mut annotations = BTreeMap::new();
    if !policies.is_empty() {
        annotations.insert(POLICIES_ANNOTATION.to_string(), policies.join(","));
    }
    if !a.scheduled_actions.is_empty() {
        let n: Vec<_> = a
            .scheduled_actions
            .iter()
            .map(|s| s.scheduled_action_name.clone())
            .collect();
        annotations.insert(SCHEDULED_ANNOTATION.to_string(), n.join(","));
    }
    ObjectMeta {
        name: Some(input.workload.into()),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..ObjectMeta::default()
    }
}

/// The warning when the service has scaling policies and none can be carried out.
pub(crate) fn nothing_to_scale_on(what: &str, w: &mut Warnings) {
    w.approximated(
        "autoScaling.scalingPolicies",
        format!("no scaling policy can be expressed as {what}, so none is created (an autoscaler without metrics would scale on CPU); the service keeps desiredCount tasks, kept within MinCapacity..MaxCapacity and the scheduled actions"),
    );
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
