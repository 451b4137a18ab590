//! Application Auto Scaling rules: one test per rule, each quoting the AWS documentation it
//! enforces and asserting whole HorizontalPodAutoscaler / ScaledObject objects; the scheduled
//! action clock on fixed times; and the corpus property that no rendered HPA lacks `metrics`.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use std::path::PathBuf;
use tidewater::api::ClusterSpec;
use tidewater::api::service::{AutoScaling, ServiceSpec};
use tidewater::api::task_definition::TaskDefinitionSpec;
use tidewater::import::{self, InputFile, Options};
use tidewater::render;
use tidewater::translate::scaling::{Capacity, scheduled};
use tidewater::translate::service::{ServiceInput, translate};
use tidewater::translate::{Translation, Warning};

const TG_ARN: &str =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/943f017f100becff";

fn td() -> TaskDefinitionSpec {
    serde_json::from_value(json!({
        "family": "web",
        "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 512,
            "portMappings": [{"containerPort": 80}]}]
    }))
    .unwrap()
}

/// Translate a Service named `web` with `autoScaling`, on a Cluster whose `autoscaler` is given.
fn run(autoscaler: Option<&str>, auto_scaling: Value) -> Translation {
    let spec: ServiceSpec = serde_json::from_value(json!({
        "taskDefinition": "web",
        "desiredCount": 3,
        "loadBalancers": [{"targetGroupArn": TG_ARN, "containerName": "web", "containerPort": 80}],
        "autoScaling": auto_scaling,
    }))
    .unwrap();
    let cluster: Option<ClusterSpec> =
        autoscaler.map(|a| serde_json::from_value(json!({"autoscaler": a})).unwrap());
    translate(ServiceInput {
        name: "web",
        spec: &spec,
        task_definition_name: "web",
        task_definition: &td(),
        revision: Some(1),
        cluster: cluster.as_ref(),
    })
}

fn object(t: &Translation, kind: &str) -> Option<Value> {
    t.objects
        .iter()
        .map(|o| o.to_value())
        .find(|o| o["kind"] == kind)
}

/// Warnings under `autoScaling`, as `(path, disposition)`.
fn scaling_warnings(t: &Translation) -> Vec<(String, String)> {
    t.warnings
        .iter()
        .filter(|w| w.path.starts_with("autoScaling"))
        .map(|w: &Warning| (w.path.clone(), w.disposition.as_str().to_string()))
        .collect()
}

fn labels() -> Value {
    json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "tidewater"})
}

fn policy(name: &str, config: Value) -> Value {
    json!({"PolicyName": name, "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": config})
}

fn cpu(target: f64) -> Value {
    policy(
        "cpu",
        json!({"TargetValue": target,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}),
    )
}

fn alb(target: f64) -> Value {
    policy(
        "requests",
        json!({"TargetValue": target, "PredefinedMetricSpecification": {
            "PredefinedMetricType": "ALBRequestCountPerTarget",
            "ResourceLabel": "app/web-alb/778d41231b141a0f/targetgroup/web/943f017f100becff"}}),
    )
}

// ---- hpa -----------------------------------------------------------------------------------

#[test]
fn cpu_target_tracking_becomes_a_cpu_utilization_metric() {
    // "ECSServiceAverageCPUUtilization - Average CPU utilization of the service." and
    // "TargetValue: The target value for the metric." (Application Auto Scaling API reference,
    // PredefinedMetricSpecification / TargetTrackingScalingPolicyConfiguration)
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 2, "MaxCapacity": 10}, "scalingPolicies": [cpu(60.0)]}),
    );
    assert_eq!(
        object(&t, "HorizontalPodAutoscaler").unwrap(),
        json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "labels": labels(),
                "annotations": {"ecs.tidewater.dev/scaling-policies": "cpu"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 2,
                "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 60}}}],
            }
        })
    );
    assert_eq!(scaling_warnings(&t), vec![]);
}

#[test]
fn cooldowns_become_stabilization_windows_and_are_reported() {
    // "ScaleInCooldown: The amount of time, in seconds, after a scale-in activity completes
    // before another scale-in activity can start." / "ScaleOutCooldown: The amount of time, in
    // seconds, to wait for a previous scale-out activity to take effect."
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 4}, "scalingPolicies": [policy(
            "memory",
            json!({"TargetValue": 70, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}}),
        )]}),
    );
    let hpa = object(&t, "HorizontalPodAutoscaler").unwrap();
    assert_eq!(
        hpa["spec"],
        json!({
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 4,
            "metrics": [{"type": "Resource", "resource": {"name": "memory",
                "target": {"type": "Utilization", "averageUtilization": 70}}}],
            "behavior": {"scaleUp": {"stabilizationWindowSeconds": 60},
                "scaleDown": {"stabilizationWindowSeconds": 300}},
        })
    );
    let tt = "autoScaling.scalingPolicies[0].TargetTrackingScalingPolicyConfiguration";
    assert_eq!(
        scaling_warnings(&t),
        vec![
            (format!("{tt}.ScaleInCooldown"), "approximated".into()),
            (format!("{tt}.ScaleOutCooldown"), "approximated".into()),
        ]
    );
}

#[test]
fn hpa_never_scales_on_a_cloudwatch_metric_it_cannot_read() {
    // "ALBRequestCountPerTarget - Average Application Load Balancer request count per target for
    // your ECS service." An HPA cannot read CloudWatch: without any expressible policy there is
    // no HPA (one without metrics would scale on 80% CPU) and the service keeps desiredCount.
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 8}, "scalingPolicies": [alb(1000.0)]}),
    );
    assert_eq!(object(&t, "HorizontalPodAutoscaler"), None);
    assert_eq!(
        scaling_warnings(&t),
        vec![
            (
                "autoScaling.scalingPolicies".into(),
                "approximated".into()
            ),
            (
                "autoScaling.scalingPolicies[0].TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification".into(),
                "unsupported".into()
            ),
        ]
    );
}

#[test]
fn hpa_keeps_the_expressible_policies_and_reports_the_rest() {
    // "You can have multiple target tracking scaling policies for a scalable target, provided
    // that each of them uses a different metric." (Application Auto Scaling user guide)
    let customized = policy(
        "queue",
        json!({"TargetValue": 10, "CustomizedMetricSpecification": {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": "jobs"}], "Statistic": "Average"}}),
    );
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 8},
            "scalingPolicies": [alb(1000.0), cpu(50.0), customized]}),
    );
    let hpa = object(&t, "HorizontalPodAutoscaler").unwrap();
    assert_eq!(
        hpa["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 50}}}])
    );
    assert_eq!(
        hpa["metadata"]["annotations"],
        json!({"ecs.tidewater.dev/scaling-policies": "cpu"})
    );
    let tt = "TargetTrackingScalingPolicyConfiguration";
    assert_eq!(
        scaling_warnings(&t),
        vec![
            (
                format!("autoScaling.scalingPolicies[0].{tt}.PredefinedMetricSpecification"),
                "unsupported".into()
            ),
            (
                format!("autoScaling.scalingPolicies[2].{tt}.CustomizedMetricSpecification"),
                "unsupported".into()
            ),
        ]
    );
}

#[test]
fn step_scaling_is_reported_and_never_becomes_a_cpu_autoscaler() {
    // "With step scaling policies, you create and manage the CloudWatch alarms that trigger the
    // scaling process." The alarm is not part of the policy: there is nothing to scale on.
    for autoscaler in [None, Some("keda")] {
        let t = run(
            autoscaler,
            json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 5}, "scalingPolicies": [{
                "PolicyName": "step", "PolicyType": "StepScaling",
                "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]}}]}),
        );
        assert_eq!(object(&t, "HorizontalPodAutoscaler"), None);
        assert_eq!(object(&t, "ScaledObject"), None);
        assert_eq!(
            scaling_warnings(&t),
            vec![
                ("autoScaling.scalingPolicies".into(), "approximated".into()),
                (
                    "autoScaling.scalingPolicies[0].StepScalingPolicyConfiguration".into(),
                    "unsupported".into()
                ),
            ],
            "{autoscaler:?}"
        );
    }
}

#[test]
fn hpa_cannot_scale_to_zero_and_says_so() {
    // "MinCapacity: The minimum value that you plan to scale in to." An HPA's minReplicas is at
    // least 1.
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 0, "MaxCapacity": 3}, "scalingPolicies": [cpu(50.0)]}),
    );
    let hpa = object(&t, "HorizontalPodAutoscaler").unwrap();
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(hpa["spec"]["maxReplicas"], 3);
    assert_eq!(
        scaling_warnings(&t),
        vec![(
            "autoScaling.scalableTarget.MinCapacity".into(),
            "approximated".into()
        )]
    );
}

#[test]
fn suspended_dynamic_scaling_and_disabled_scale_in_disable_the_directions() {
    // "DynamicScalingInSuspended: Whether scale in by a target tracking scaling policy or a step
    // scaling policy is suspended." / "DisableScaleIn: Indicates whether scale in by the target
    // tracking scaling policy is disabled. If the value is true, scale in is disabled and the
    // target tracking scaling policy won't remove capacity from the scalable target."
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 3,
                "SuspendedState": {"DynamicScalingOutSuspended": true}},
            "scalingPolicies": [policy("cpu", json!({"TargetValue": 50, "DisableScaleIn": true,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}))]}),
    );
    let hpa = object(&t, "HorizontalPodAutoscaler").unwrap();
    assert_eq!(
        hpa["spec"]["behavior"],
        json!({"scaleUp": {"selectPolicy": "Disabled"}, "scaleDown": {"selectPolicy": "Disabled"}})
    );
    assert_eq!(scaling_warnings(&t), vec![]);
}

#[test]
fn scalable_target_tags_label_the_scaler() {
    // "Tags: Assigns one or more tags to the scalable target." Valid ones become labels; the
    // others are reported.
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 2,
                "Tags": {"team": "shop", "cost center": "42"}},
            "scalingPolicies": [cpu(50.0)]}),
    );
    let hpa = object(&t, "HorizontalPodAutoscaler").unwrap();
    assert_eq!(
        hpa["metadata"]["labels"],
        json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "tidewater",
            "team": "shop"})
    );
    assert_eq!(
        scaling_warnings(&t),
        vec![(
            "autoScaling.scalableTarget.Tags.cost center".into(),
            "approximated".into()
        )]
    );
}

// ---- keda ----------------------------------------------------------------------------------

#[test]
fn keda_scales_on_alb_request_count_per_target_of_the_target_group() {
    // "ResourceLabel: Identifies the resource associated with the metric type. ... The format is
    // app/<load-balancer-name>/<load-balancer-id>/targetgroup/<target-group-name>/<target-group-id>"
    let t = run(
        Some("keda"),
        json!({"scalableTarget": {"MinCapacity": 2, "MaxCapacity": 20},
            "scalingPolicies": [alb(1000.0), cpu(60.0)]}),
    );
    assert_eq!(object(&t, "HorizontalPodAutoscaler"), None);
    assert_eq!(
        object(&t, "ScaledObject").unwrap(),
        json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "web", "labels": labels(),
                "annotations": {"ecs.tidewater.dev/scaling-policies": "requests,cpu"}},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicaCount": 2,
                "maxReplicaCount": 20,
                "triggers": [
                    {"type": "aws-cloudwatch", "metricType": "Value",
                     "authenticationRef": {"name": "web-aws"},
                     "metadata": {
                        "namespace": "AWS/ApplicationELB",
                        "metricName": "RequestCountPerTarget",
                        "dimensionName": "TargetGroup",
                        "dimensionValue": "targetgroup/web/943f017f100becff",
                        "metricStat": "Sum",
                        "metricStatPeriod": "60",
                        "metricCollectionTime": "300",
                        "targetMetricValue": "1000",
                        "minMetricValue": "0",
                        "awsRegion": "eu-west-1"}},
                    {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}},
                ],
            }
        })
    );
    assert_eq!(
        object(&t, "TriggerAuthentication").unwrap(),
        json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "TriggerAuthentication",
            "metadata": {"name": "web-aws", "labels": labels()},
            "spec": {"podIdentity": {"provider": "aws", "identityOwner": "keda"}},
        })
    );
    assert_eq!(
        scaling_warnings(&t),
        vec![(
            "autoScaling.scalingPolicies[0].TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification".into(),
            "approximated".into()
        )]
    );
}

#[test]
fn keda_reads_a_customized_cloudwatch_metric() {
    // "CustomizedMetricSpecification: A customized metric. You can specify either a predefined
    // metric or a customized metric." (Namespace, MetricName, Dimensions, Statistic, Unit)
    let t = run(
        Some("keda"),
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 6}, "scalingPolicies": [policy(
            "latency",
            json!({"TargetValue": 0.25, "CustomizedMetricSpecification": {
                "Namespace": "Shop", "MetricName": "Latency", "Statistic": "Maximum", "Unit": "Seconds",
                "Dimensions": [{"Name": "Service", "Value": "web"}, {"Name": "Stage", "Value": "prod"}]}}),
        )]}),
    );
    let so = object(&t, "ScaledObject").unwrap();
    assert_eq!(
        so["spec"]["triggers"],
        json!([{"type": "aws-cloudwatch", "metricType": "Value",
            "authenticationRef": {"name": "web-aws"},
            "metadata": {
                "namespace": "Shop",
                "metricName": "Latency",
                "dimensionName": "Service;Stage",
                "dimensionValue": "web;prod",
                "metricStat": "Maximum",
                "metricUnit": "Seconds",
                "metricStatPeriod": "60",
                "metricCollectionTime": "300",
                "targetMetricValue": "0.25",
                "minMetricValue": "0",
                "awsRegion": "eu-west-1"}}])
    );
}

#[test]
fn keda_scales_an_sqs_queue_to_zero() {
    // "MinCapacity: The minimum value that you plan to scale in to." With KEDA, 0 scales to zero;
    // an SQS queue's visible messages become the aws-sqs-queue scaler (backlog per task).
    let t = run(
        Some("keda"),
        json!({"scalableTarget": {"MinCapacity": 0, "MaxCapacity": 10}, "scalingPolicies": [policy(
            "queue",
            json!({"TargetValue": 5, "CustomizedMetricSpecification": {
                "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": "jobs"}], "Statistic": "Average"}}),
        )]}),
    );
    let so = object(&t, "ScaledObject").unwrap();
    assert_eq!(
        so["spec"],
        json!({
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicaCount": 0,
            "maxReplicaCount": 10,
            "triggers": [{"type": "aws-sqs-queue", "authenticationRef": {"name": "web-aws"},
                "metadata": {"queueURL": "jobs", "queueLength": "5", "scaleOnInFlight": "false",
                    "awsRegion": "eu-west-1"}}],
        })
    );
    assert_eq!(
        scaling_warnings(&t),
        vec![(
            "autoScaling.scalingPolicies[0].TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification".into(),
            "approximated".into()
        )]
    );
}

#[test]
fn keda_cpu_and_memory_triggers_with_behavior() {
    // "ECSServiceAverageMemoryUtilization - Average memory utilization of the service." and the
    // cooldowns, as with the HPA, under the ScaledObject's horizontalPodAutoscalerConfig.
    let t = run(
        Some("keda"),
        json!({"scalableTarget": {"MinCapacity": 0, "MaxCapacity": 4}, "scalingPolicies": [policy(
            "memory",
            json!({"TargetValue": 75, "ScaleInCooldown": 120,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}}),
        )]}),
    );
    assert_eq!(object(&t, "TriggerAuthentication"), None);
    assert_eq!(
        object(&t, "ScaledObject").unwrap()["spec"],
        json!({
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicaCount": 1,
            "maxReplicaCount": 4,
            "triggers": [{"type": "memory", "metricType": "Utilization", "metadata": {"value": "75"}}],
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                "scaleDown": {"stabilizationWindowSeconds": 120}}}},
        })
    );
    assert_eq!(
        scaling_warnings(&t),
        vec![
            (
                "autoScaling.scalableTarget.MinCapacity".into(),
                "approximated".into()
            ),
            (
                "autoScaling.scalingPolicies[0].TargetTrackingScalingPolicyConfiguration.ScaleInCooldown".into(),
                "approximated".into()
            ),
        ]
    );
}

// ---- scheduled actions ---------------------------------------------------------------------

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn auto(actions: Value) -> AutoScaling {
    serde_json::from_value(
        json!({"scalableTarget": {"MinCapacity": 2, "MaxCapacity": 10},
        "scheduledActions": actions}),
    )
    .unwrap()
}

#[test]
fn cron_actions_in_a_time_zone_set_the_bounds_until_the_next_firing() {
    // "To create a recurring schedule, specify a cron expression and a time zone to describe when
    // that scheduled action is to recur." and ScalableTargetAction: "The new minimum and maximum
    // capacity. You can set both values or just one."
    let a = auto(json!([
        {"ScheduledActionName": "morning", "Schedule": "cron(0 8 ? * MON-FRI *)",
         "Timezone": "Europe/Paris", "ScalableTargetAction": {"MinCapacity": 6, "MaxCapacity": 20}},
        {"ScheduledActionName": "evening", "Schedule": "cron(0 20 ? * MON-FRI *)",
         "Timezone": "Europe/Paris", "ScalableTargetAction": {"MinCapacity": 1}},
    ]));
    let since = at(2025, 1, 1, 0, 0, 0);
    // Monday 2025-01-06 07:30 UTC = 08:30 Paris: the morning action fired at 07:00 UTC.
    let f = scheduled::in_force(&a, since, at(2025, 1, 6, 7, 30, 0));
    assert_eq!(
        f,
        scheduled::InForce {
            capacity: Capacity { min: 6, max: 20 },
            actions: vec!["morning".into()],
            next: Some(at(2025, 1, 6, 19, 0, 0)),
        }
    );
    // 21:00 Paris: the evening action lowered the minimum only; the maximum stays at 20.
    let f = scheduled::in_force(&a, since, at(2025, 1, 6, 20, 0, 0));
    assert_eq!(f.capacity, Capacity { min: 1, max: 20 });
    assert_eq!(
        f.actions,
        vec!["evening".to_string(), "morning".to_string()]
    );
    assert_eq!(f.next, Some(at(2025, 1, 7, 7, 0, 0)));
    // Before any firing since creation: the scalable target's own bounds.
    let f = scheduled::in_force(&a, since, at(2025, 1, 1, 6, 0, 0));
    assert_eq!(f.capacity, Capacity { min: 2, max: 10 });
}

#[test]
fn at_actions_fire_once_in_their_time_zone() {
    // "At expressions are useful for one-time schedules." "At and cron expressions use Universal
    // Coordinated Time (UTC) by default."
    let a = auto(json!([
        {"ScheduledActionName": "launch", "Schedule": "at(2025-03-01T09:00:00)",
         "Timezone": "America/New_York", "ScalableTargetAction": {"MinCapacity": 8, "MaxCapacity": 30}},
    ]));
    let since = at(2025, 1, 1, 0, 0, 0);
    let before = scheduled::in_force(&a, since, at(2025, 3, 1, 13, 59, 59));
    assert_eq!(before.capacity, Capacity { min: 2, max: 10 });
    assert_eq!(before.next, Some(at(2025, 3, 1, 14, 0, 0)));
    let after = scheduled::in_force(&a, since, at(2025, 3, 1, 14, 0, 0));
    assert_eq!(after.capacity, Capacity { min: 8, max: 30 });
    assert_eq!(after.next, None);
}

#[test]
fn rate_actions_count_from_the_start_time_and_stop_at_the_end_time() {
    // "If you specify a start time, Application Auto Scaling performs the action at this time,
    // and then performs the action based on the specified recurrence." "If you specify an end
    // time, the action stops repeating after this time. Application Auto Scaling does not keep
    // track of previous values and revert back to those previous values after the end time."
    let a = auto(json!([
        {"ScheduledActionName": "up", "Schedule": "rate(6 hours)",
         "StartTime": "2025-01-01T01:00:00Z", "EndTime": "2025-01-02T00:00:00Z",
         "ScalableTargetAction": {"MinCapacity": 4}},
        {"ScheduledActionName": "down", "Schedule": "rate(6 hours)",
         "StartTime": "2025-01-01T04:00:00Z", "ScalableTargetAction": {"MinCapacity": 3}},
    ]));
    let since = at(2025, 1, 1, 0, 0, 0);
    let f = scheduled::in_force(&a, since, at(2025, 1, 1, 8, 0, 0));
    // up fired at 01:00 and 07:00, down at 04:00: up is the latest.
    assert_eq!(f.capacity, Capacity { min: 4, max: 10 });
    assert_eq!(f.next, Some(at(2025, 1, 1, 10, 0, 0)));
    // After up's EndTime only down fires; the bounds it set stay.
    let f = scheduled::in_force(&a, since, at(2025, 1, 2, 5, 0, 0));
    assert_eq!(f.capacity, Capacity { min: 3, max: 10 });
    assert_eq!(f.actions, vec!["down".to_string()]);
    assert_eq!(f.next, Some(at(2025, 1, 2, 10, 0, 0)));
}

#[test]
fn an_action_fires_only_after_it_was_put() {
    // "Creates or updates a scheduled action for an Application Auto Scaling scalable target."
    // An action put at 15:00 with a daily 09:00 schedule first fires the next morning.
    let a = auto(json!([
        {"ScheduledActionName": "early", "Schedule": "cron(0 9 * * ? *)",
         "ScalableTargetAction": {"MinCapacity": 5}},
        {"ScheduledActionName": "late", "Schedule": "cron(0 9 * * ? *)",
         "ScalableTargetAction": {"MaxCapacity": 7}},
    ]));
    let since = |name: &str| {
        if name == "early" {
            at(2025, 1, 1, 0, 0, 0)
        } else {
            at(2025, 1, 6, 15, 0, 0)
        }
    };
    let f = scheduled::in_force_since(&a, &since, at(2025, 1, 6, 16, 0, 0));
    assert_eq!(f.capacity, Capacity { min: 5, max: 10 });
    assert_eq!(f.actions, vec!["early".to_string()]);
    let f = scheduled::in_force_since(&a, &since, at(2025, 1, 7, 9, 0, 0));
    assert_eq!(f.capacity, Capacity { min: 5, max: 7 });
}

#[test]
fn suspended_scheduled_scaling_keeps_the_target_bounds() {
    // "ScheduledScalingSuspended: Whether scheduled scaling is suspended."
    let mut a = auto(json!([
        {"ScheduledActionName": "up", "Schedule": "at(2025-01-01T01:00:00)",
         "ScalableTargetAction": {"MinCapacity": 9, "MaxCapacity": 9}},
    ]));
    a.scalable_target.suspended_state =
        serde_json::from_value(json!({"ScheduledScalingSuspended": true})).unwrap();
    let f = scheduled::in_force(&a, at(2025, 1, 1, 0, 0, 0), at(2025, 1, 1, 2, 0, 0));
    assert_eq!(
        f,
        scheduled::InForce {
            capacity: Capacity { min: 2, max: 10 },
            actions: vec![],
            next: None,
        }
    );
}

#[test]
fn an_invalid_schedule_is_reported_and_never_fires() {
    // "The schedule for this action. The following formats are supported: At expressions -
    // "at(yyyy-mm-ddThh:mm:ss)" Rate expressions - "rate(value unit)" Cron expressions -
    // "cron(fields)""
    let t = run(
        None,
        json!({"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 3},
            "scheduledActions": [
                {"ScheduledActionName": "bad", "Schedule": "every day", "ScalableTargetAction": {"MinCapacity": 2}},
                {"ScheduledActionName": "zone", "Schedule": "cron(0 8 * * ? *)", "Timezone": "Mars/Olympus",
                 "ScalableTargetAction": {"MinCapacity": 2}}]}),
    );
    let w: Vec<_> = t
        .warnings
        .iter()
        .filter(|w| w.path.starts_with("autoScaling"))
        .map(|w| (w.path.as_str(), w.disposition.as_str()))
        .collect();
    assert_eq!(
        w,
        vec![
            ("autoScaling.scheduledActions[0].Schedule", "unsupported"),
            ("autoScaling.scheduledActions[1].Schedule", "unsupported"),
        ]
    );
    // No policies: no scaler, no warning about one; the operator keeps the count in bounds.
    assert_eq!(object(&t, "HorizontalPodAutoscaler"), None);
}

// ---- corpus property -----------------------------------------------------------------------

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every corpus and import fixture, imported and rendered; with `keda`, every Cluster (and the
/// Clusters the Services name) chooses KEDA.
fn rendered(keda: bool) -> Vec<Value> {
    let mut files = import::collect_files(&[root().join("tests/fixtures/corpus")]).unwrap();
    for f in ["cfn-queue-worker.json", "cfn-web-service.yaml"] {
        files.push(root().join("tests/fixtures/import").join(f));
    }
    // Tidewater manifests too: the examples and the golden inputs.
    let golden =
        import::collect_files(&[root().join("tests/golden"), root().join("examples")]).unwrap();
    files.extend(golden.into_iter().filter(|f| {
        let name = f.display().to_string();
        !name.contains(".expected.") && !name.contains("/golden/import/")
    }));
    let mut objects = Vec::new();
    for file in &files {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let input = InputFile {
            file: name.clone(),
            text: std::fs::read_to_string(file).unwrap(),
        };
        let read = |p: &str| std::fs::read_to_string(root().join(p)).ok();
        let out = import::import(&[input], &Options::default(), &read);
        let mut docs: Vec<(String, Value)> = out
            .manifests
            .iter()
            .map(|m| (name.clone(), m.value.clone()))
            .collect();
        if keda {
            with_keda_clusters(&mut docs, &name);
        }
        objects.extend(
            render::render_documents(&docs, Some("corpus"))
                .objects
                .into_iter()
                .map(Value::from),
        );
    }
    objects
}

fn with_keda_clusters(docs: &mut Vec<(String, Value)>, file: &str) {
    let mut names: Vec<String> = docs
        .iter()
        .filter(|(_, d)| d["kind"] == "Service")
        .map(|(_, d)| {
            let c = d["spec"]["cluster"].as_str().unwrap_or("default");
            c.rsplit('/').next().unwrap_or(c).to_string()
        })
        .collect();
    for (_, d) in docs.iter_mut().filter(|(_, d)| d["kind"] == "Cluster") {
        d["spec"]["autoscaler"] = json!("keda");
        names.retain(|n| d["metadata"]["name"] != n.as_str());
    }
    names.sort();
    names.dedup();
    for n in names {
        docs.push((
            file.to_string(),
            json!({"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Cluster",
                "metadata": {"name": n}, "spec": {"autoscaler": "keda"}}),
        ));
    }
}

#[test]
fn no_rendered_hpa_in_the_corpus_lacks_metrics() {
    // An HPA without metrics scales on 80% CPU: never rendered in place of another policy.
    let objects = rendered(false);
    let hpas: Vec<_> = objects
        .iter()
        .filter(|o| o["kind"] == "HorizontalPodAutoscaler")
        .collect();
    assert!(!hpas.is_empty(), "the corpus renders no HPA at all");
    for h in &hpas {
        let metrics = h["spec"]["metrics"].as_array().map_or(0, Vec::len);
        assert!(metrics > 0, "HPA without metrics: {h:#}");
    }
}

#[test]
fn every_rendered_scaled_object_of_the_corpus_has_triggers() {
    let objects = rendered(true);
    assert!(
        !objects
            .iter()
            .any(|o| o["kind"] == "HorizontalPodAutoscaler"),
        "an HPA rendered for a keda Cluster"
    );
    let scaled: Vec<_> = objects
        .iter()
        .filter(|o| o["kind"] == "ScaledObject")
        .collect();
    assert!(!scaled.is_empty(), "the corpus renders no ScaledObject");
    for s in &scaled {
        let triggers = s["spec"]["triggers"].as_array().map_or(0, Vec::len);
        assert!(triggers > 0, "ScaledObject without triggers: {s:#}");
    }
}
