//! The ECS rules of the Service-level objects: load balancer target types, EFS directories,
//! secret stores, tag propagation and deployment bounds. One test per rule, named after it, with
//! the ECS (or AWS Load Balancer Controller / External Secrets Operator) sentence it enforces,
//! asserting whole objects.

use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tidewater::api::cluster::ClusterSpec;
use tidewater::api::ecs::RunTaskRequest;
use tidewater::api::service::ServiceSpec;
use tidewater::api::task_definition::TaskDefinitionSpec;
use tidewater::translate::service::{ServiceInput, ecs_task_bounds, translate};
use tidewater::translate::task::{self, RunInput};

/// Objects (as JSON) and warnings (as text) of a Service.
fn service(svc: Value, td: Value, cluster: Option<Value>) -> (Vec<Value>, Vec<String>) {
    let spec: ServiceSpec = serde_json::from_value(svc).unwrap();
    let td: TaskDefinitionSpec = serde_json::from_value(td).unwrap();
    let cluster: Option<ClusterSpec> = cluster.map(|c| serde_json::from_value(c).unwrap());
    let t = translate(ServiceInput {
        name: "web",
        spec: &spec,
        task_definition_name: "web",
        task_definition: &td,
        revision: Some(1),
        cluster: cluster.as_ref(),
    });
    (
        t.objects.iter().map(|o| o.to_value()).collect(),
        t.warnings.iter().map(|w| w.to_string()).collect(),
    )
}

/// The objects of one kind.
fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "one {kind} in {objects:#?}");
    found[0]
}

fn labels() -> Value {
    json!({
        "app.kubernetes.io/managed-by": "tidewater",
        "app.kubernetes.io/name": "web",
    })
}

fn web_task(network_mode: &str) -> Value {
    json!({
        "family": "web",
        "networkMode": network_mode,
        "containerDefinitions": [{
            "name": "app",
            "image": "nginx:1",
            "memory": 256,
            "portMappings": [{"containerPort": 80, "hostPort": if network_mode == "awsvpc" { 80 } else { 0 }}]
        }]
    })
}

fn load_balanced() -> Value {
    json!({
        "taskDefinition": "web",
        "desiredCount": 1,
        "loadBalancers": [{
            "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
            "containerName": "app",
            "containerPort": 80
        }]
    })
}

fn expected_binding(target_type: &str) -> Value {
    json!({
        "apiVersion": "elbv2.k8s.aws/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {"name": "web-tg-0", "labels": labels()},
        "spec": {
            "serviceRef": {"name": "web", "port": 80},
            "targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef",
            "targetType": target_type
        }
    })
}

fn expected_service(type_: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "labels": labels()},
        "spec": {
            "selector": {"ecs.tidewater.dev/service": "web"},
            "ports": [{"name": "tcp-80", "port": 80, "protocol": "TCP", "targetPort": 80}],
            "type": type_
        }
    })
}

// ECS: "For services with tasks using the awsvpc network mode, when you create a target group
// for your service, you must choose ip as the target type, not instance. This is because tasks
// that use the awsvpc network mode are associated with an elastic network interface, not an
// Amazon EC2 instance."
#[test]
fn awsvpc_target_groups_are_ip_targets_behind_a_cluster_ip_service() {
    let (objects, warnings) = service(load_balanced(), web_task("awsvpc"), None);
    assert_eq!(*one(&objects, "TargetGroupBinding"), expected_binding("ip"));
    assert_eq!(*one(&objects, "Service"), expected_service("ClusterIP"));
    assert_eq!(warnings, Vec::<String>::new());
}

// ECS (bridge mode, dynamic host ports): "When the task is launched, the NGINX container is
// registered with the Application Load Balancer as an instance ID and port combination, and
// traffic is distributed to the instance ID and port corresponding to that container."
// AWS Load Balancer Controller (maintainers, issue 1695): "Instance mode will require at least
// NodePort service type. With NodePort service type, kube-proxy will open a port on your worker
// node instances to which the ALB can route traffic."
#[test]
fn bridge_and_host_target_groups_are_instance_targets_behind_a_node_port_service() {
    // ECS (networkMode): "If no network mode is specified, the default is bridge."
    for mode in ["bridge", "host", "unset"] {
        let mut td = web_task(mode);
        if mode == "unset" {
            td.as_object_mut().unwrap().remove("networkMode");
        }
        let (objects, warnings) = service(load_balanced(), td, None);
        assert_eq!(
            *one(&objects, "TargetGroupBinding"),
            expected_binding("instance")
        );
        assert_eq!(*one(&objects, "Service"), expected_service("NodePort"));
        assert_eq!(
            warnings,
            vec![
                "loadBalancers[0].targetGroupArn: approximated: instance target group: its targets are the nodes at the Service's node port (kube-proxy forwards to a task, possibly on another node), not each task's instance and host port"
            ],
            "{mode}"
        );
    }
}

fn efs_task(volumes: Value, mount_points: Value) -> Value {
    json!({
        "family": "web",
        "networkMode": "awsvpc",
        "volumes": volumes,
        "containerDefinitions": [{
            "name": "app", "image": "app:1", "memory": 256, "mountPoints": mount_points
        }]
    })
}

fn pod_spec(objects: &[Value]) -> &Value {
    &one(objects, "Deployment")["spec"]["template"]["spec"]
}

// ECS (EFSVolumeConfiguration.rootDirectory): "The directory within the Amazon EFS file system
// to mount as the root directory inside the host. If this parameter is omitted, the root of the
// Amazon EFS volume will be used. Specifying / will have the same effect as omitting this
// parameter."
#[test]
fn efs_volumes_with_different_root_directories_mount_different_directories() {
    let td = efs_task(
        json!([
            {"name": "assets", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/assets"}},
            {"name": "uploads", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/uploads/"}},
            {"name": "whole", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/"}},
            {"name": "whole-again", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}
        ]),
        json!([
            {"sourceVolume": "assets", "containerPath": "/srv/assets", "readOnly": true},
            {"sourceVolume": "uploads", "containerPath": "/srv/uploads"},
            {"sourceVolume": "whole", "containerPath": "/mnt/efs"},
            {"sourceVolume": "whole-again", "containerPath": "/mnt/efs2"}
        ]),
    );
    let (objects, _) = service(json!({"taskDefinition": "web"}), td, None);
    let spec = pod_spec(&objects);
    assert_eq!(
        spec["volumes"],
        json!([
            {"name": "assets", "persistentVolumeClaim": {"claimName": "efs-fs-1-assets-b44ff5"}},
            {"name": "uploads", "persistentVolumeClaim": {"claimName": "efs-fs-1-uploads-1d08fa"}},
            {"name": "whole", "persistentVolumeClaim": {"claimName": "efs-fs-1"}},
            {"name": "whole-again", "persistentVolumeClaim": {"claimName": "efs-fs-1"}}
        ])
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([
            {"name": "assets", "mountPath": "/srv/assets", "readOnly": true},
            {"name": "uploads", "mountPath": "/srv/uploads"},
            {"name": "whole", "mountPath": "/mnt/efs"},
            {"name": "whole-again", "mountPath": "/mnt/efs2"}
        ])
    );
}

// ECS (EFSVolumeConfiguration.rootDirectory): "If an EFS access point is specified in the
// authorizationConfig, the root directory parameter must either be omitted or set to / which
// will enforce the path set on the EFS access point."
#[test]
fn efs_volumes_with_different_access_points_mount_different_directories() {
    let td = efs_task(
        json!([
            {"name": "a", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/", "authorizationConfig": {"accessPointId": "fsap-a"}}},
            {"name": "b", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "authorizationConfig": {"accessPointId": "fsap-b", "iam": "ENABLED"}}}
        ]),
        json!([
            {"sourceVolume": "a", "containerPath": "/a"},
            {"sourceVolume": "b", "containerPath": "/b"}
        ]),
    );
    let (objects, _) = service(json!({"taskDefinition": "web"}), td, None);
    let spec = pod_spec(&objects);
    assert_eq!(
        spec["volumes"],
        json!([
            {"name": "a", "persistentVolumeClaim": {"claimName": "efs-fs-1-fsap-a"}},
            {"name": "b", "persistentVolumeClaim": {"claimName": "efs-fs-1-fsap-b"}}
        ])
    );
    assert_eq!(
        spec["containers"][0]["volumeMounts"],
        json!([{"name": "a", "mountPath": "/a"}, {"name": "b", "mountPath": "/b"}])
    );
}

fn secrets_task() -> Value {
    json!({
        "family": "web",
        "networkMode": "awsvpc",
        "containerDefinitions": [{
            "name": "app", "image": "app:1", "memory": 256,
            "secrets": [
                {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::"},
                {"name": "API_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key"},
                {"name": "FLAG", "valueFrom": "feature-flag"}
            ]
        }]
    })
}

fn external_secret(name: &str, store: &str, data: Value) -> Value {
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "labels": labels()},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": store, "kind": "ClusterSecretStore"},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": data
        }
    })
}

fn expected_external_secrets() -> Vec<Value> {
    vec![
        external_secret(
            "feature-flag",
            "ssm",
            json!([{"secretKey": "value", "remoteRef": {"key": "feature-flag"}}]),
        ),
        external_secret(
            "prod-api-key",
            "ssm",
            json!([{"secretKey": "value", "remoteRef": {"key": "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key"}}]),
        ),
        external_secret(
            "prod-db",
            "secrets-manager",
            json!([{"secretKey": "password", "remoteRef": {
                "key": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
                "property": "password"
            }}]),
        ),
    ]
}

// ECS (Secret.valueFrom): "The supported values are either the full ARN of the Secrets Manager
// secret or the full ARN of the parameter in the SSM Parameter Store." ... "If the SSM Parameter
// Store parameter exists in the same Region as the task you're launching, then you can use either
// the full ARN or name of the parameter." External Secrets Operator (AWS provider): a
// SecretStore's `service` is `SecretsManager` or `ParameterStore`: one store serves one of them.
#[test]
fn secrets_manager_and_parameter_store_references_use_their_own_store() {
    let cluster = json!({"secretStore": {
        "secretsManager": {"name": "secrets-manager"},
        "parameterStore": {"name": "ssm"}
    }});
    let (objects, warnings) = service(
        json!({"taskDefinition": "web"}),
        secrets_task(),
        Some(cluster),
    );
    let found: Vec<Value> = of_kind(&objects, "ExternalSecret")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(found, expected_external_secrets());
    assert_eq!(warnings, Vec::<String>::new());
}

// The older single-store form keeps working: the store serves every service without its own.
#[test]
fn the_single_secret_store_form_serves_services_without_their_own_store() {
    let cluster = json!({"secretStore": {
        "name": "ssm", "kind": "ClusterSecretStore",
        "secretsManager": {"name": "secrets-manager"}
    }});
    let (objects, _) = service(
        json!({"taskDefinition": "web"}),
        secrets_task(),
        Some(cluster),
    );
    let found: Vec<Value> = of_kind(&objects, "ExternalSecret")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(found, expected_external_secrets());
}

// A reference whose service has no store gets no ExternalSecret, and is reported at its path.
#[test]
fn a_secret_whose_service_has_no_store_is_reported_at_its_path() {
    let cluster = json!({"secretStore": {"secretsManager": {"name": "secrets-manager"}}});
    let (objects, warnings) = service(
        json!({"taskDefinition": "web"}),
        secrets_task(),
        Some(cluster),
    );
    let found: Vec<Value> = of_kind(&objects, "ExternalSecret")
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(found, vec![expected_external_secrets().remove(2)]);
    assert_eq!(
        warnings,
        vec![
            "containerDefinitions[0].secrets[1].valueFrom: approximated: the Cluster's secretStore names no parameterStore store: no ExternalSecret syncs Secret `prod-api-key`, which must exist",
            "containerDefinitions[0].secrets[2].valueFrom: approximated: the Cluster's secretStore names no parameterStore store: no ExternalSecret syncs Secret `feature-flag`, which must exist",
        ]
    );
}

fn tagged_task() -> Value {
    json!({
        "family": "web",
        "networkMode": "awsvpc",
        "tags": [
            {"key": "team", "value": "payments"},
            {"key": "owner", "value": "Jane Doe <jane@example.com>"},
            {"key": "Cost Center", "value": "42"}
        ],
        "containerDefinitions": [{"name": "app", "image": "app:1", "memory": 256}]
    })
}

fn tagged_service(propagate: Option<&str>) -> Value {
    let mut svc = json!({
        "taskDefinition": "web",
        "tags": [
            {"key": "env", "value": "prod"},
            {"key": "description", "value": "the web front end"}
        ]
    });
    if let Some(p) = propagate {
        svc["propagateTags"] = json!(p);
    }
    svc
}

fn pod_metadata(objects: &[Value]) -> (Value, Value) {
    let meta = &one(objects, "Deployment")["spec"]["template"]["metadata"];
    (meta["labels"].clone(), meta["annotations"].clone())
}

fn pod_labels(extra: Value) -> Value {
    let mut l = json!({
        "app.kubernetes.io/managed-by": "tidewater",
        "app.kubernetes.io/name": "web",
        "ecs.tidewater.dev/family": "web",
        "ecs.tidewater.dev/revision": "1",
        "ecs.tidewater.dev/service": "web"
    });
    l.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    l
}

// ECS (CreateService.propagateTags): "Specifies whether to propagate the tags from the task
// definition to the task. If no value is specified, the tags aren't propagated." ... "The default
// is NONE." With SERVICE the service's tags are propagated.
#[test]
fn propagate_tags_service_puts_the_service_tags_on_the_pods() {
    let (objects, warnings) = service(tagged_service(Some("SERVICE")), tagged_task(), None);
    let (labels, annotations) = pod_metadata(&objects);
    assert_eq!(labels, pod_labels(json!({"env": "prod"})));
    assert_eq!(annotations, json!({"description": "the web front end"}));
    assert_eq!(
        one(&objects, "Deployment")["metadata"],
        json!({
            "name": "web",
            "labels": {"app.kubernetes.io/managed-by": "tidewater", "app.kubernetes.io/name": "web", "env": "prod"},
            "annotations": {"description": "the web front end"}
        })
    );
    assert_eq!(
        warnings,
        vec![
            "tags[1].value: approximated: the value of tag `description` is not a valid label value; the tag is kept as annotation `description`"
        ]
    );
}

#[test]
fn propagate_tags_task_definition_puts_the_task_definition_tags_on_the_pods() {
    let (objects, _) = service(tagged_service(Some("TASK_DEFINITION")), tagged_task(), None);
    let (labels, annotations) = pod_metadata(&objects);
    assert_eq!(labels, pod_labels(json!({"team": "payments"})));
    assert_eq!(
        annotations,
        json!({
            "owner": "Jane Doe <jane@example.com>",
            "ecs.tidewater.dev/tags": "{\"Cost Center\":\"42\"}"
        })
    );
}

#[test]
fn without_propagate_tags_the_pods_get_no_tags() {
    for p in [None, Some("NONE")] {
        let (objects, _) = service(tagged_service(p), tagged_task(), None);
        let (labels, annotations) = pod_metadata(&objects);
        assert_eq!(labels, pod_labels(json!({})), "{p:?}");
        assert_eq!(annotations, Value::Null, "{p:?}");
    }
}

// ECS (RunTask.propagateTags): "Specifies whether to propagate the tags from the task definition
// to the task. If no value is specified, the tags aren't propagated. Tags can only be propagated
// to the task during task creation. To add tags to a task after task creation, use the
// TagResource API action. An error will be received if you specify the SERVICE option when
// running a task."
#[test]
fn run_task_propagate_tags_task_definition_adds_the_task_definition_tags_to_its_own() {
    let run: RunTaskRequest = serde_json::from_value(json!({
        "taskDefinition": "web",
        "propagateTags": "TASK_DEFINITION",
        "tags": [{"key": "team", "value": "search"}, {"key": "job", "value": "nightly report"}]
    }))
    .unwrap();
    let td: TaskDefinitionSpec = serde_json::from_value(tagged_task()).unwrap();
    let t = task::translate(RunInput {
        name: "report",
        run: &run,
        task_definition_name: "web",
        task_definition: &td,
        revision: Some(1),
        cluster: None,
    });
    let objects: Vec<Value> = t.objects.iter().map(|o| o.to_value()).collect();
    let meta = &one(&objects, "Pod")["metadata"];
    assert_eq!(
        meta["labels"],
        json!({
            "app.kubernetes.io/managed-by": "tidewater",
            "app.kubernetes.io/name": "report",
            "ecs.tidewater.dev/family": "web",
            "ecs.tidewater.dev/revision": "1",
            "ecs.tidewater.dev/task": "report",
            "team": "search"
        })
    );
    assert_eq!(
        meta["annotations"],
        json!({
            "job": "nightly report",
            "owner": "Jane Doe <jane@example.com>",
            "ecs.tidewater.dev/tags": "{\"Cost Center\":\"42\"}"
        })
    );
}

fn rollout_of(svc: Value) -> (Vec<Value>, Vec<String>) {
    service(svc, web_task("awsvpc"), None)
}

// ECS (DeploymentConfiguration.minimumHealthyPercent): "the minimumHealthyPercent represents a
// lower limit on the number of your service's tasks that must remain in the RUNNING state during
// a deployment, as a percentage of the desiredCount (rounded up to the nearest integer)";
// maximumPercent: "the maximumPercent parameter represents an upper limit on the number of your
// service's tasks that are allowed in the RUNNING or PENDING state during a deployment, as a
// percentage of the desiredCount (rounded down to the nearest integer)".
#[test]
fn a_fixed_desired_count_keeps_ecs_rounding_in_absolute_bounds() {
    let (objects, warnings) = rollout_of(json!({
        "taskDefinition": "web",
        "desiredCount": 5,
        "deploymentConfiguration": {"minimumHealthyPercent": 75, "maximumPercent": 130}
    }));
    // At least ceil(3.75) = 4 healthy, at most floor(6.5) = 6 tasks.
    assert_eq!(
        one(&objects, "Deployment")["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}})
    );
    assert_eq!(
        one(&objects, "PodDisruptionBudget")["spec"],
        json!({"maxUnavailable": 1, "selector": {"matchLabels": {"ecs.tidewater.dev/service": "web"}}})
    );
    assert_eq!(warnings, Vec::<String>::new());
}

#[test]
fn absolute_bounds_never_overflow() {
    assert_eq!(
        ecs_task_bounds(i32::MAX, 50, i32::MAX),
        (i32::MAX, i32::MAX / 2)
    );
    assert_eq!(ecs_task_bounds(i32::MAX, 100, 200), (i32::MAX, 0));
    assert_eq!(ecs_task_bounds(-3, 50, 200), (0, 0));
    assert_eq!(ecs_task_bounds(3, 50, 200), (3, 1));
}

// ECS: "The minimum number of healthy tasks during a deployment is the desiredCount multiplied
// by the minimumHealthyPercent/100, rounded up to the nearest integer value." and "The minimum
// healthy percent value is used to define the lower limit on the number of the tasks in the
// service that remain in the RUNNING state while the container instances are in the DRAINING
// state." Kubernetes rounds a maxUnavailable percentage down (the healthy count up, as ECS) and a
// maxSurge percentage up (ECS rounds the maximum down), and a PodDisruptionBudget's minAvailable
// percentage up (as ECS rounds the healthy count).
#[test]
fn autoscaled_services_use_percentages_that_never_exceed_ecs_bounds_or_are_reported() {
    let (objects, warnings) = rollout_of(json!({
        "taskDefinition": "web",
        "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 150},
        "autoScaling": {"scalableTarget": {"MinCapacity": 2, "MaxCapacity": 10}}
    }));
    assert_eq!(
        one(&objects, "Deployment")["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": "50%"}})
    );
    assert_eq!(
        one(&objects, "PodDisruptionBudget")["spec"],
        json!({"minAvailable": "50%", "selector": {"matchLabels": {"ecs.tidewater.dev/service": "web"}}})
    );
    assert_eq!(
        warnings,
        vec![
            "deploymentConfiguration.maximumPercent: approximated: with autoScaling the surge is 50% of the current replicas, which Kubernetes rounds up where ECS rounds the maximum task count down: a deployment may run one task more than ECS would"
        ]
    );

    let (objects, warnings) = rollout_of(json!({
        "taskDefinition": "web",
        "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200},
        "autoScaling": {"scalableTarget": {"MinCapacity": 2, "MaxCapacity": 10}}
    }));
    assert_eq!(
        one(&objects, "Deployment")["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "0%"}})
    );
    assert_eq!(
        one(&objects, "PodDisruptionBudget")["spec"],
        json!({"maxUnavailable": 1, "selector": {"matchLabels": {"ecs.tidewater.dev/service": "web"}}})
    );
    assert_eq!(
        warnings,
        vec![
            "deploymentConfiguration.minimumHealthyPercent: approximated: ECS replaces a task on a draining instance before stopping it; Kubernetes evicts first, so the PodDisruptionBudget lets one pod at a time be evicted"
        ]
    );
}

// ECS: "The minimum number of healthy tasks during a deployment is the desiredCount multiplied
// by the minimumHealthyPercent/100, rounded up to the nearest integer value." With 100% and a
// maximumPercent of 100% no task may be stopped or added; Kubernetes needs one of the two
// rolling-update bounds above zero.
#[test]
fn when_no_task_may_be_added_or_removed_one_may_be_unavailable_reported() {
    let (objects, warnings) = rollout_of(json!({
        "taskDefinition": "web",
        "desiredCount": 2,
        "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 100}
    }));
    assert_eq!(
        one(&objects, "Deployment")["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
    );
    assert_eq!(
        warnings,
        vec![
            "deploymentConfiguration.minimumHealthyPercent: approximated: ECS replaces a task on a draining instance before stopping it; Kubernetes evicts first, so the PodDisruptionBudget lets one pod at a time be evicted",
            "deploymentConfiguration.minimumHealthyPercent: approximated: with these percentages ECS could not replace a task either; one task at a time may be unavailable",
        ]
    );
}

// ECS: "The default minimumHealthyPercent value for a service using the DAEMON service schedule
// is 0% for the CLI, the Amazon Web Services SDKs, and the APIs"; the DaemonSet's maxUnavailable
// percentage is rounded up by Kubernetes.
#[test]
fn daemon_services_stop_at_most_the_unhealthy_share_of_nodes_or_are_reported() {
    let daemon = |min: Option<i32>| {
        let mut svc = json!({"taskDefinition": "web", "schedulingStrategy": "DAEMON"});
        if let Some(m) = min {
            svc["deploymentConfiguration"] =
                json!({"minimumHealthyPercent": m, "maximumPercent": 100});
        }
        let (objects, warnings) = rollout_of(svc);
        (
            one(&objects, "DaemonSet")["spec"]["updateStrategy"].clone(),
            warnings,
        )
    };
    let strategy = |u: Value| json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": u}});
    assert_eq!(daemon(None), (strategy(json!("100%")), vec![]));
    assert_eq!(
        daemon(Some(50)),
        (
            strategy(json!("50%")),
            vec!["deploymentConfiguration.minimumHealthyPercent: approximated: 50% of the daemon's tasks may be replaced at once, which Kubernetes rounds up where ECS rounds the healthy count up: one task more than ECS allows may be stopped".to_string()]
        )
    );
    assert_eq!(
        daemon(Some(100)),
        (
            strategy(json!(1)),
            vec!["deploymentConfiguration.minimumHealthyPercent: approximated: with these percentages ECS could not replace a task either; one task at a time may be unavailable".to_string()]
        )
    );
}
