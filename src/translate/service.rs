//! Service → Deployment (REPLICA) or DaemonSet (DAEMON) with its ServiceAccount, Services,
//! TargetGroupBindings, Ingress, HorizontalPodAutoscaler and PodDisruptionBudget.

use super::placement::{self, Capacity};
use super::task_definition::{self, PodContext};
use super::{
    Object, Translation, Warnings, identity, labels, names, networking, scaling, secrets, volumes,
    walk,
};
use crate::api::cluster::ClusterSpec;
use crate::api::ecs::{
    DeploymentControllerType, DeploymentStrategy, PropagateTags, SchedulingStrategy, Tag,
};
use crate::api::service::ServiceSpec;
use crate::api::task_definition::TaskDefinitionSpec;
use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
    DeploymentStrategy as KStrategy, RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

use super::fields::Request;

/// Everything a Service translation needs besides its spec.
#[derive(Clone, Copy, Debug)]
pub struct ServiceInput<'a> {
    /// metadata.name of the Service resource.
    pub name: &'a str,
    /// The Service spec.
    pub spec: &'a ServiceSpec,
    /// metadata.name of the TaskDefinition resource.
    pub task_definition_name: &'a str,
    /// The task definition revision's spec.
    pub task_definition: &'a TaskDefinitionSpec,
    /// Its revision number, when known.
    pub revision: Option<i64>,
    /// The Cluster, when one exists.
    pub cluster: Option<&'a ClusterSpec>,
}

/// Tags → labels (valid ones) and annotations (the rest), reporting the latter.
pub fn tag_labels(
    tags: &[Tag],
    path: &str,
    w: &mut Warnings,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut l = BTreeMap::new();
    let mut a = BTreeMap::new();
    for (i, t) in tags.iter().enumerate() {
        let (Some(k), v) = (t.key.as_deref(), t.value.clone().unwrap_or_default()) else {
            continue;
        };
        if k.starts_with("aws:") {
            continue;
        }
        match (names::is_qualified_name(k), names::label_value(&v)) {
            (true, Some(v)) => {
                l.insert(k.to_string(), v);
            }
            _ => {
                w.approximated(
                    format!("{path}[{i}].key"),
                    format!("tag `{k}` is not a valid label; it is kept as an annotation"),
                );
                if names::is_qualified_name(k) {
                    a.insert(k.to_string(), v);
                }
            }
        }
    }
    (l, a)
}

/// The capacity choice of a workload: its own, else the Cluster default, else FARGATE when the
/// task definition requires only FARGATE.
pub fn capacity<'a>(
    launch_type: Option<crate::api::ecs::LaunchType>,
    strategy: Option<&'a [crate::api::ecs::CapacityProviderStrategyItem]>,
    cluster: Option<&'a ClusterSpec>,
    td: &TaskDefinitionSpec,
) -> Capacity<'a> {
    use crate::api::ecs::{Compatibility, LaunchType};
    if launch_type.is_some() {
        return Capacity {
            path: "launchType".into(),
            launch_type,
            strategy: &[],
        };
    }
    if let Some(s) = strategy.filter(|s| !s.is_empty()) {
        return Capacity {
            path: "capacityProviderStrategy".into(),
            launch_type: None,
            strategy: s,
        };
    }
    if let Some(s) = cluster
        .and_then(|c| c.create.default_capacity_provider_strategy.as_deref())
        .filter(|s| !s.is_empty())
    {
        return Capacity {
            path: "capacityProviderStrategy".into(),
            launch_type: None,
            strategy: s,
        };
    }
    let compat = td
        .register
        .requires_compatibilities
        .as_deref()
        .unwrap_or_default();
    if compat == [Compatibility::Fargate] {
        return Capacity {
            path: "launchType".into(),
            launch_type: Some(LaunchType::Fargate),
            strategy: &[],
        };
    }
    Capacity::default()
}

/// Translate a Service. Warnings are about the Service's own fields (the task definition's are
/// reported by [`task_definition_warnings`]).
pub fn translate(input: ServiceInput<'_>) -> Translation {
    let mut w = Warnings::default();
    let spec = input.spec;
    let create = &spec.create;
    let workload = names::dns_label(
        create
            .service_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(input.name),
    );
    let family = task_definition::family(input.task_definition, input.task_definition_name);
    let selector = BTreeMap::from([(labels::SERVICE.to_string(), workload.clone())]);
    let mut common = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), workload.clone()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            labels::MANAGED_BY.to_string(),
        ),
    ]);
    if let Some(c) = create.cluster.as_deref().and_then(names::label_value) {
        common.insert(labels::CLUSTER.into(), c);
    }
    let (svc_tags, svc_tag_ann) =
        tag_labels(create.tags.as_deref().unwrap_or_default(), "tags", &mut w);
    let mut object_labels = common.clone();
    object_labels.extend(svc_tags.clone());

    // Pod template.
    let mut pod_labels = common.clone();
    match create.propagate_tags {
        Some(PropagateTags::Service) => pod_labels.extend(svc_tags.clone()),
        Some(PropagateTags::TaskDefinition) => {
            let mut ignore = Warnings::default();
            pod_labels.extend(
                tag_labels(
                    input
                        .task_definition
                        .register
                        .tags
                        .as_deref()
                        .unwrap_or_default(),
                    "tags",
                    &mut ignore,
                )
                .0,
            );
        }
        _ => {}
    }
    let mut launch_volumes = BTreeMap::new();
    for vc in create.volume_configurations.iter().flatten() {
        if let Some(ebs) = &vc.managed_ebs_volume {
            launch_volumes.insert(
                vc.name.clone(),
                volumes::LaunchVolume {
                    storage_class: ebs
                        .volume_type
                        .clone()
                        .filter(|t| !t.is_empty())
                        .unwrap_or_else(|| "gp3".into()),
                    size_gib: ebs.size_in_gi_b,
                },
            );
        }
    }
    let ctx = PodContext {
        family: family.clone(),
        revision: input.revision,
        service_account: workload.clone(),
        selector: selector.clone(),
        labels: pod_labels,
        grace: create.health_check_grace_period_seconds,
        overrides: None,
        run_once: false,
        launch_volumes,
    };
    let mut td_w = Warnings::default();
    let mut pod = task_definition::pod_template(input.task_definition, &ctx, &mut td_w);
    let pod_spec = pod.template.spec.get_or_insert_with(Default::default);
    let cap = capacity(
        create.launch_type,
        create.capacity_provider_strategy.as_deref(),
        input.cluster,
        input.task_definition,
    );
    if let Some(provider) = placement::capacity(pod_spec, &cap, &mut w) {
        if let Some(v) = names::label_value(&provider) {
            pod.template
                .metadata
                .get_or_insert_with(Default::default)
                .labels
                .get_or_insert_with(BTreeMap::new)
                .insert(labels::CAPACITY_PROVIDER.into(), v);
        }
    }
    let pod_spec = pod.template.spec.get_or_insert_with(Default::default);
    placement::constraints(
        pod_spec,
        create.placement_constraints.as_deref().unwrap_or_default(),
        &selector,
        "placementConstraints",
        &mut w,
    );
    placement::strategies(
        pod_spec,
        create.placement_strategy.as_deref().unwrap_or_default(),
        &selector,
        "placementStrategy",
        &mut w,
    );

    // Deployment settings.
    let daemon = create.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    let dc = create.deployment_configuration.as_ref();
    if let Some(s) = dc
        .and_then(|d| d.strategy)
        .filter(|s| *s != DeploymentStrategy::Rolling)
    {
        w.approximated(
            "deploymentConfiguration.strategy",
            format!("{}: rolled out as a rolling update", s.as_str()),
        );
    }
    if let Some(t) = create
        .deployment_controller
        .as_ref()
        .map(|d| d.r#type)
        .filter(|t| *t != DeploymentControllerType::Ecs)
    {
        w.approximated(
            "deploymentController.type",
            format!(
                "{}: Tidewater rolls out in place; the external deployment controller is not used",
                t.as_str()
            ),
        );
    }
    let min_healthy = dc
        .and_then(|d| d.minimum_healthy_percent)
        .unwrap_or(if daemon { 0 } else { 100 });
    let max_percent = dc
        .and_then(|d| d.maximum_percent)
        .unwrap_or(if daemon { 100 } else { 200 });
    let desired = create
        .desired_count
        .unwrap_or(if spec.auto_scaling.is_some() { 0 } else { 1 });

    let mut objects = Vec::new();
    if let Some(role) = &pod.task_role_arn {
        objects.push(Object::ServiceAccount(identity::service_account(
            &workload,
            role,
            &object_labels,
        )));
    }
    let annotations = (!svc_tag_ann.is_empty()).then_some(svc_tag_ann);
    let meta = ObjectMeta {
        name: Some(workload.clone()),
        labels: Some(object_labels.clone()),
        annotations,
        ..ObjectMeta::default()
    };
    let label_selector = LabelSelector {
        match_labels: Some(selector.clone()),
        match_expressions: None,
    };
    let template = pod.template.clone();
    if daemon {
        let unavailable = (100 - min_healthy.clamp(0, 100)).max(1);
        objects.push(Object::DaemonSet(DaemonSet {
            metadata: meta,
            spec: Some(DaemonSetSpec {
                selector: label_selector,
                template,
                update_strategy: Some(DaemonSetUpdateStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDaemonSet {
                        max_unavailable: Some(IntOrString::String(format!("{unavailable}%"))),
                        max_surge: Some(IntOrString::Int(0)),
                    }),
                }),
                ..DaemonSetSpec::default()
            }),
            status: None,
        }));
    } else {
        let (mut surge, mut unavailable) =
            scaling::rolling_bounds(desired, min_healthy, max_percent);
        if surge == 0 && unavailable == 0 {
            w.approximated("deploymentConfiguration.minimumHealthyPercent", "with these percentages ECS could not replace a task either; one task at a time may be unavailable");
            unavailable = 1;
        }
        if spec.auto_scaling.is_some() {
            // Counts change with scaling: keep the ECS percentages instead.
            surge = max_percent - 100;
            unavailable = 100 - min_healthy;
        }
        let as_percent = spec.auto_scaling.is_some();
        let q = |v: i32| {
            if as_percent {
                IntOrString::String(format!("{v}%"))
            } else {
                IntOrString::Int(v)
            }
        };
        objects.push(Object::Deployment(Deployment {
            metadata: meta,
            spec: Some(DeploymentSpec {
                replicas: spec.auto_scaling.is_none().then_some(desired),
                selector: label_selector,
                template,
                strategy: Some(KStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(q(surge.max(0))),
                        max_unavailable: Some(q(unavailable.max(0))),
                    }),
                }),
                ..DeploymentSpec::default()
            }),
            status: None,
        }));
        if desired > 1 || spec.auto_scaling.is_some() {
            let allowed = if as_percent {
                q((100 - min_healthy).max(1))
            } else {
                IntOrString::Int(unavailable.max(1))
            };
            objects.push(Object::PodDisruptionBudget(scaling::pdb(
                &workload,
                allowed,
                &selector,
                &object_labels,
            )));
        }
    }
    let (services, ingresses, others) = networking::objects(
        &workload,
        create,
        spec.ingress.as_ref(),
        &pod,
        &selector,
        &object_labels,
        &mut w,
    );
    objects.extend(services.into_iter().map(Object::Service));
    objects.extend(others.into_iter().map(Object::Other));
    objects.extend(ingresses.into_iter().map(Object::Ingress));
    if let Some(a) = &spec.auto_scaling {
        let input = scaling::ScalingInput {
            workload: &workload,
            kind: if daemon { "DaemonSet" } else { "Deployment" },
            auto_scaling: a,
            autoscaler: input.cluster.and_then(|c| c.autoscaler).unwrap_or_default(),
            create,
            task_definition: Some(input.task_definition),
            labels: &object_labels,
        };
        objects.extend(scaling::objects(input, &mut w));
        scaling::scheduled::parse_all(a, &mut w);
    }
    if let Some(store) = input.cluster.and_then(|c| c.secret_store.as_ref()) {
        objects.extend(
            secrets::external_secrets(
                &pod.secret_refs,
                &store.name,
                store.kind.as_deref().unwrap_or("ClusterSecretStore"),
                &object_labels,
            )
            .into_iter()
            .map(Object::Other),
        );
    }
    let value = serde_json::to_value(spec).expect("spec serialises");
    walk::report(Request::CreateService, &value, &mut w);
    Translation {
        objects,
        warnings: w.into_vec(),
    }
}

/// The warnings about a task definition's own fields (independent of what runs it).
pub fn task_definition_warnings(name: &str, td: &TaskDefinitionSpec) -> Vec<super::Warning> {
    let mut w = Warnings::default();
    let ctx = PodContext {
        family: task_definition::family(td, name),
        service_account: names::dns_label(name),
        ..PodContext::default()
    };
    let _ = task_definition::pod_template(td, &ctx, &mut w);
    tag_labels(
        td.register.tags.as_deref().unwrap_or_default(),
        "tags",
        &mut w,
    );
    let value = serde_json::to_value(&td.register).expect("spec serialises");
    walk::report(Request::RegisterTaskDefinition, &value, &mut w);
    w.into_vec()
}
