//! Application Auto Scaling → a KEDA `ScaledObject` (`keda.sh/v1alpha1`): `cpu`/`memory`
//! triggers for ECS utilization, `aws-cloudwatch` for ALBRequestCountPerTarget and customized
//! CloudWatch metrics, `aws-sqs-queue` for an SQS queue's visible messages; MinCapacity 0 scales
//! to zero. AWS triggers authenticate with a `TriggerAuthentication` using pod identity.

use super::hpa::{resource_of, utilization};
use super::{Capacity, ScalingInput, behavior, metadata, nothing_to_scale_on, target_tracking};
use crate::api::ecs::CreateServiceRequest;
use crate::api::generated::autoscaling::{
    CustomizedMetricSpecification, MetricType, TargetTrackingScalingPolicyConfiguration,
};
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::{Warnings, idx};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The TriggerAuthentication of a workload's AWS triggers.
pub fn trigger_authentication_name(workload: &str) -> String {
    format!("{workload}-aws")
}

/// A TriggerAuthentication with AWS pod identity: the KEDA operator's own IAM identity (IRSA or
/// EKS Pod Identity) reads CloudWatch and SQS.
pub fn trigger_authentication(workload: &str, labels: &BTreeMap<String, String>) -> Value {
    json!({
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": trigger_authentication_name(workload), "labels": labels},
        "spec": {"podIdentity": {"provider": "aws", "identityOwner": "keda"}},
    })
}

/// The ScaledObject for a service's `autoScaling`, and whether a trigger reads AWS; `None`
/// (reported) when no policy is expressible as a trigger.
pub fn scaled_object(input: ScalingInput<'_>, w: &mut Warnings) -> Option<(Value, bool)> {
    let a = input.auto_scaling;
    let region = region(input.create, input.task_definition);
    let auth = trigger_authentication_name(input.workload);
    let mut triggers = Vec::new();
    let mut carried = Vec::new();
    let mut names = Vec::new();
    for (i, p) in a.scaling_policies.iter().enumerate() {
        let path = idx("autoScaling.scalingPolicies", i);
        let Some(tt) = target_tracking(a, i, w) else {
            continue;
        };
        let Some(mut trigger) = trigger(tt, &path, region.as_deref(), w) else {
            continue;
        };
        if trigger["type"] != "cpu" && trigger["type"] != "memory" {
            trigger["authenticationRef"] = json!({"name": auth});
        }
        triggers.push(trigger);
        carried.push((i, tt));
        names.push(p.policy_name.clone());
    }
    if triggers.is_empty() {
        if !a.scaling_policies.is_empty() {
            nothing_to_scale_on("a KEDA trigger", w);
        }
        return None;
    }
    let aws = triggers
        .iter()
        .any(|t| t.get("authenticationRef").is_some());
    let cap = Capacity::of(a);
    let mut min = cap.min;
    if min == 0 && !aws {
        w.approximated(
            "autoScaling.scalableTarget.MinCapacity",
            "0: KEDA scales to zero only on event triggers, not on CPU or memory alone; minReplicaCount is 1",
        );
        min = 1;
    }
    let mut spec = json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": input.kind, "name": input.workload},
        "minReplicaCount": min,
        "maxReplicaCount": cap.max.max(1),
        "triggers": triggers,
    });
    if let Some(b) = behavior(a, &carried, w) {
        spec["advanced"] = json!({"horizontalPodAutoscalerConfig": {"behavior": b}});
    }
    let so = json!({
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": metadata(&input, &names, w),
        "spec": spec,
    });
    Some((so, aws))
}

/// The trigger of one target tracking policy, or `None` (reported).
fn trigger(
    tt: &TargetTrackingScalingPolicyConfiguration,
    path: &str,
    region: Option<&str>,
    w: &mut Warnings,
) -> Option<Value> {
    let base = format!("{path}.TargetTrackingScalingPolicyConfiguration");
    if let Some(resource) = resource_of(tt) {
        let value = utilization(tt, path, w);
        return Some(json!({
            "type": resource,
            "metricType": "Utilization",
            "metadata": {"value": value.to_string()},
        }));
    }
    let (mut t, spec) = match (
        &tt.predefined_metric_specification,
        &tt.customized_metric_specification,
    ) {
        (Some(m), _) => (
            alb_trigger(m, tt.target_value, &base, w)?,
            "PredefinedMetricSpecification",
        ),
        (None, Some(c)) => (
            customized_trigger(c, tt.target_value, &base, w)?,
            "CustomizedMetricSpecification",
        ),
        (None, None) => return None,
    };
    match region {
        Some(r) => t["metadata"]["awsRegion"] = json!(r),
        None => w.approximated(
            format!("{base}.{spec}"),
            "no AWS region appears in the Service's ARNs or the task definition's awslogs-region: the trigger has no awsRegion, which its TriggerAuthentication must then supply",
        ),
    }
    Some(t)
}

/// ALBRequestCountPerTarget: the target group's RequestCountPerTarget (Sum per minute, as
/// Application Auto Scaling reads it), in proportion to the running tasks (`Value`).
fn alb_trigger(
    m: &crate::api::generated::autoscaling::PredefinedMetricSpecification,
    target: f64,
    base: &str,
    w: &mut Warnings,
) -> Option<Value> {
    let path = format!("{base}.PredefinedMetricSpecification");
    if m.predefined_metric_type != MetricType::ALBRequestCountPerTarget {
        w.unsupported(
            &path,
            format!(
                "{}: not a metric of an ECS service",
                m.predefined_metric_type.as_str()
            ),
        );
        return None;
    }
    let label = m.resource_label.as_deref().unwrap_or_default();
    let Some(tg) = label.find("targetgroup/").map(|i| &label[i..]) else {
        w.unsupported(
            format!("{path}.ResourceLabel"),
            "ALBRequestCountPerTarget needs the ResourceLabel app/<load-balancer>/<id>/targetgroup/<target-group>/<id>; the policy is left out",
        );
        return None;
    };
    w.approximated(
        &path,
        "read from CloudWatch by KEDA's aws-cloudwatch scaler with the KEDA operator's AWS identity (TriggerAuthentication, pod identity `aws`), which needs cloudwatch:GetMetricData, where Application Auto Scaling uses its service-linked role",
    );
    Some(json!({
        "type": "aws-cloudwatch",
        "metricType": "Value",
        "metadata": {
            "namespace": "AWS/ApplicationELB",
            "metricName": "RequestCountPerTarget",
            "dimensionName": "TargetGroup",
            "dimensionValue": tg,
            "metricStat": "Sum",
            "metricStatPeriod": "60",
            "metricCollectionTime": "300",
            "targetMetricValue": number(target),
            "minMetricValue": "0",
        },
    }))
}

/// A customized CloudWatch metric: `aws-sqs-queue` for an SQS queue's visible messages, else
/// `aws-cloudwatch` in proportion to the running tasks (`Value`), as target tracking scales.
fn customized_trigger(
    c: &CustomizedMetricSpecification,
    target: f64,
    base: &str,
    w: &mut Warnings,
) -> Option<Value> {
    let path = format!("{base}.CustomizedMetricSpecification");
    if c.metrics.as_ref().is_some_and(|m| !m.is_empty()) {
        w.unsupported(
            format!("{path}.Metrics"),
            "metric math queries have no KEDA trigger (aws-cloudwatch `expression` is a Metrics Insights query); the policy is left out",
        );
        return None;
    }
    let (Some(namespace), Some(metric)) = (c.namespace.as_deref(), c.metric_name.as_deref()) else {
        w.unsupported(
            &path,
            "Namespace and MetricName are needed; the policy is left out",
        );
        return None;
    };
    let dims = c.dimensions.clone().unwrap_or_default();
    let queue = dims
        .iter()
        .find(|d| d.name == "QueueName")
        .map(|d| d.value.clone());
    if let (("AWS/SQS", "ApproximateNumberOfMessagesVisible"), Some(q)) =
        ((namespace, metric), &queue)
    {
        w.approximated(&path, format!("KEDA's aws-sqs-queue scaler runs one task per {} visible messages (backlog per task), where target tracking scales the running count in proportion to the ratio of the queue length to {}; read with the KEDA operator's AWS identity (sqs:GetQueueAttributes)", number(target), number(target)));
        return Some(json!({
            "type": "aws-sqs-queue",
            "metadata": {
                "queueURL": q,
                "queueLength": ((target.round() as i64).max(1)).to_string(),
                "scaleOnInFlight": "false",
            },
        }));
    }
    w.approximated(&path, "read from CloudWatch by KEDA's aws-cloudwatch scaler with the KEDA operator's AWS identity (TriggerAuthentication, pod identity `aws`), which needs cloudwatch:GetMetricData, where Application Auto Scaling uses its service-linked role");
    let mut metadata = json!({
        "namespace": namespace,
        "metricName": metric,
        "metricStat": c.statistic.unwrap_or_default().as_str(),
        "metricStatPeriod": "60",
        "metricCollectionTime": "300",
        "targetMetricValue": number(target),
        "minMetricValue": "0",
    });
    if !dims.is_empty() {
        let join = |f: fn(&crate::api::generated::autoscaling::MetricDimension) -> &str| {
            dims.iter().map(f).collect::<Vec<_>>().join(";")
        };
        metadata["dimensionName"] = json!(join(|d| &d.name));
        metadata["dimensionValue"] = json!(join(|d| &d.value));
    }
    if let Some(u) = c.unit.as_deref().filter(|u| !u.is_empty()) {
        metadata["metricUnit"] = json!(u);
    }
    Some(json!({"type": "aws-cloudwatch", "metricType": "Value", "metadata": metadata}))
}

/// A metric value as KEDA reads it: a decimal string without a needless fraction.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// The AWS region of the first ARN in the Service (target groups, registries, cluster), else of
/// the task definition (ARNs, an `awslogs-region` log option).
pub fn region(create: &CreateServiceRequest, td: Option<&TaskDefinitionSpec>) -> Option<String> {
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if s.starts_with("arn:") => s
                .split(':')
                .nth(3)
                .filter(|r| !r.is_empty())
                .map(String::from),
            Value::Array(a) => a.iter().find_map(find),
            Value::Object(o) => o
                .get("awslogs-region")
                .and_then(Value::as_str)
                .map(String::from)
                .or_else(|| o.values().find_map(find)),
            _ => None,
        }
    }
    find(&serde_json::to_value(create).ok()?)
        .or_else(|| find(&serde_json::to_value(&td?.register).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_an_arn_or_the_awslogs_region() {
        let svc: CreateServiceRequest = serde_json::from_value(json!({
            "cluster": "arn:aws:ecs:ap-south-1:123456789012:cluster/prod"}))
        .unwrap();
        assert_eq!(region(&svc, None).as_deref(), Some("ap-south-1"));
        let bare = CreateServiceRequest::default();
        let td: TaskDefinitionSpec = serde_json::from_value(json!({
            "family": "web",
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "containerDefinitions": [{"name": "web", "image": "nginx", "logConfiguration": {
                "logDriver": "awslogs", "options": {"awslogs-region": "eu-central-1"}}}]}))
        .unwrap();
        assert_eq!(region(&bare, Some(&td)).as_deref(), Some("eu-central-1"));
        assert_eq!(region(&bare, None), None);
    }
}
