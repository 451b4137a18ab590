//! Service → Deployment (REPLICA) or DaemonSet (DAEMON) with its ServiceAccount, Services,
//! TargetGroupBindings, Ingress, HorizontalPodAutoscaler and PodDisruptionBudget.

use super::fields::Request;
use super::placement::{self, Capacity};
use super::task_definition::{self, PodBuild, PodContext};
use super::{
    Object, Translation, Warnings, identity, labels, names, networking, scaling, secrets, volumes,
    walk,
};
use crate::api::cluster::ClusterSpec;
use crate::api::ecs::{
    CreateServiceRequest, DeploymentControllerType, DeploymentStrategy, PropagateTags,
    SchedulingStrategy, Tag,
};
use crate::api::service::ServiceSpec;
use crate::api::task_definition::TaskDefinitionSpec;
use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, Deployment, DeploymentSpec,
    DeploymentStrategy as KStrategy, RollingUpdateDaemonSet, RollingUpdateDeployment,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;
use std::collections::BTreeMap;

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

/// A resource's tags as Kubernetes metadata: labels where the key and value are valid label
/// syntax, annotations for the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagMetadata {
    /// Tags that are valid labels.
    pub labels: BTreeMap<String, String>,
    /// Tags kept as annotations: a valid key with a value that is no label value as an
    /// annotation of that key; keys that are no valid annotation key together, as a JSON object,
    /// in [`TAGS_ANNOTATION`].
    pub annotations: BTreeMap<String, String>,
}

/// The annotation holding, as a JSON object, the tags whose keys are no valid annotation keys.
pub const TAGS_ANNOTATION: &str = "ecs.tidewater.dev/tags";

impl TagMetadata {
    /// Add these labels and annotations to `meta`, never replacing what is there (Tidewater's
    /// own labels win over tags; [`tag_metadata`] already moved colliding tags aside).
    pub fn apply(&self, meta: &mut ObjectMeta) {
        for (target, from) in [
            (&mut meta.labels, &self.labels),
            (&mut meta.annotations, &self.annotations),
        ] {
            if from.is_empty() {
                continue;
            }
            let map = target.get_or_insert_with(BTreeMap::new);
            for (k, v) in from {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

impl TagMetadata {
    /// Add the tags of `other` whose keys are not here yet.
    fn add_missing(&mut self, other: TagMetadata) {
        for (k, v) in other.labels {
            self.labels.entry(k).or_insert(v);
        }
        for (k, v) in other.annotations {
            if k == TAGS_ANNOTATION && self.annotations.contains_key(&k) {
                let parse = |s: &str| {
                    serde_json::from_str::<serde_json::Map<String, Value>>(s).unwrap_or_default()
                };
                let mut mine = parse(&self.annotations[&k]);
                for (tk, tv) in parse(&v) {
                    mine.entry(tk).or_insert(tv);
                }
                self.annotations.insert(k, Value::Object(mine).to_string());
            } else {
                self.annotations.entry(k).or_insert(v);
            }
        }
    }
}

/// Whether Tidewater sets this label itself (a tag may not replace it).
fn is_managed_label(key: &str) -> bool {
    key.starts_with("ecs.tidewater.dev/")
        || key == "app.kubernetes.io/name"
        || key == "app.kubernetes.io/managed-by"
}

/// Tags → labels (valid ones) and annotations (the rest), reporting the latter at `path`.
pub fn tag_metadata(tags: &[Tag], path: &str, w: &mut Warnings) -> TagMetadata {
    let mut out = TagMetadata::default();
    let mut unkeyed = serde_json::Map::new();
    for (i, t) in tags.iter().enumerate() {
        let (Some(k), v) = (t.key.as_deref(), t.value.clone().unwrap_or_default()) else {
            continue;
        };
        if k.starts_with("aws:") {
            continue;
        }
        let valid_key = names::is_qualified_name(k) && !is_managed_label(k);
        match (valid_key, names::label_value(&v)) {
            (true, Some(v)) => {
                out.labels.insert(k.to_string(), v);
            }
            (true, None) => {
                w.approximated(
                    format!("{path}[{i}].value"),
                    format!("the value of tag `{k}` is not a valid label value; the tag is kept as annotation `{k}`"),
                );
                out.annotations.insert(k.to_string(), v);
            }
            (false, _) => {
                w.approximated(
                    format!("{path}[{i}].key"),
                    format!("tag `{k}` is not a valid label key (or is one Tidewater sets); it is kept in annotation `{TAGS_ANNOTATION}`"),
                );
                unkeyed.insert(k.to_string(), Value::String(v));
            }
        }
    }
    if !unkeyed.is_empty() {
        out.annotations
            .insert(TAGS_ANNOTATION.into(), Value::Object(unkeyed).to_string());
    }
    out
}

/// The tags a task gets: its own (`own`, RunTask `tags`), plus those `propagate_tags` copies
/// from the service or the task definition. `service_tags` is `None` for RunTask, where ECS
/// rejects `SERVICE`.
pub fn task_tags(
    own: &TagMetadata,
    propagate_tags: Option<PropagateTags>,
    service_tags: Option<&TagMetadata>,
    td: &TaskDefinitionSpec,
    w: &mut Warnings,
) -> TagMetadata {
    let mut out = own.clone();
    let propagated = match propagate_tags {
        Some(PropagateTags::TaskDefinition) => {
            // The task definition's own warnings report its invalid tags.
            let tags = td.register.tags.as_deref().unwrap_or_default();
            Some(tag_metadata(tags, "tags", &mut Warnings::default()))
        }
        Some(PropagateTags::Service) => {
            if service_tags.is_none() {
                w.unsupported(
                    "propagateTags",
                    "SERVICE: a task run on its own has no service to take tags from (ECS rejects it); no tags are propagated",
                );
            }
            service_tags.cloned()
        }
        Some(PropagateTags::None) | None => None,
    };
    if let Some(p) = propagated {
        out.add_missing(p);
    }
    out
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

/// The names and labels every object of a service shares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Workload {
    /// Name of the Deployment/DaemonSet and its companions.
    pub name: String,
    /// The task definition family.
    pub family: String,
    /// The pod selector.
    pub selector: BTreeMap<String, String>,
    /// Labels of every object (not the tags).
    pub common: BTreeMap<String, String>,
}

impl Workload {
    fn of(input: &ServiceInput<'_>) -> Workload {
        let create = &input.spec.create;
        // Also the Kubernetes Service's name: a DNS-1035 label.
        let name = names::dns1035_label(
            create
                .service_name
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or(input.name),
        );
        let mut common = BTreeMap::from([
            ("app.kubernetes.io/name".to_string(), name.clone()),
            (
                "app.kubernetes.io/managed-by".to_string(),
                labels::MANAGED_BY.to_string(),
            ),
        ]);
        if let Some(c) = create.cluster.as_deref().and_then(names::label_value) {
            common.insert(labels::CLUSTER.into(), c);
        }
        Workload {
            family: task_definition::family(input.task_definition, input.task_definition_name),
            selector: BTreeMap::from([(labels::SERVICE.to_string(), name.clone())]),
            name,
            common,
        }
    }

    /// The metadata of the service's own objects: common labels plus the service's tags.
    fn meta(&self, tags: &TagMetadata) -> ObjectMeta {
        let mut meta = ObjectMeta {
            name: Some(self.name.clone()),
            labels: Some(self.common.clone()),
            ..ObjectMeta::default()
        };
        tags.apply(&mut meta);
        meta
    }
}

/// The managed EBS volumes of `volumeConfigurations`, by volume name.
fn launch_volumes(create: &CreateServiceRequest) -> BTreeMap<String, volumes::LaunchVolume> {
    let mut out = BTreeMap::new();
    for vc in create.volume_configurations.iter().flatten() {
        if let Some(ebs) = &vc.managed_ebs_volume {
            out.insert(
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
    out
}

/// The pod template with the task tags, capacity and placement of the service.
fn pod_build(
    input: &ServiceInput<'_>,
    workload: &Workload,
    tags: &TagMetadata,
    w: &mut Warnings,
) -> PodBuild {
    let create = &input.spec.create;
    let ctx = PodContext {
        family: workload.family.clone(),
        revision: input.revision,
        service_account: workload.name.clone(),
        selector: workload.selector.clone(),
        labels: workload.common.clone(),
        grace: create.health_check_grace_period_seconds,
        overrides: None,
        run_once: false,
        launch_volumes: launch_volumes(create),
    };
    // The task definition's own warnings are reported on the TaskDefinition.
    let mut pod =
        task_definition::pod_template(input.task_definition, &ctx, &mut Warnings::default());
    super::probes::grace_period_warning(ctx.grace, input.task_definition, w);
    let cap = capacity(
        create.launch_type,
        create.capacity_provider_strategy.as_deref(),
        input.cluster,
        input.task_definition,
    );
    let pod_spec = pod.template.spec.get_or_insert_with(Default::default);
    let provider = placement::capacity(pod_spec, &cap, w);
    placement::constraints(
        pod_spec,
        create.placement_constraints.as_deref().unwrap_or_default(),
        &workload.selector,
        "placementConstraints",
        w,
    );
    placement::strategies(
        pod_spec,
        create.placement_strategy.as_deref().unwrap_or_default(),
        &workload.selector,
        "placementStrategy",
        w,
    );
    let meta = pod.template.metadata.get_or_insert_with(Default::default);
    if let Some(v) = provider.as_deref().and_then(names::label_value) {
        meta.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(labels::CAPACITY_PROVIDER.into(), v);
    }
    tags.apply(meta);
    pod
}

/// Translate a Service. Warnings are about the Service's own fields (the task definition's are
/// reported by [`task_definition_warnings`]).
pub fn translate(input: ServiceInput<'_>) -> Translation {
    let mut w = Warnings::default();
    let spec = input.spec;
    let create = &spec.create;
    let workload = Workload::of(&input);
    let service_tags = tag_metadata(create.tags.as_deref().unwrap_or_default(), "tags", &mut w);
    let pod_tags = task_tags(
        &TagMetadata::default(),
        create.propagate_tags,
        Some(&service_tags),
        input.task_definition,
        &mut w,
    );
    let pod = pod_build(&input, &workload, &pod_tags, &mut w);
    let meta = workload.meta(&service_tags);
    let object_labels = meta.labels.clone().unwrap_or_default();
    let rollout = Rollout::of(spec, &mut w);

    let mut objects = Vec::new();
    if let Some(role) = &pod.task_role_arn {
        objects.push(Object::ServiceAccount(identity::service_account(
            &workload.name,
            role,
            &object_labels,
        )));
    }
    objects.extend(workload_objects(&rollout, &workload, meta, &pod, &mut w));
    let network = networking::objects(
        &networking::ServiceNetwork {
            name: &workload.name,
            create,
            ingress: spec.ingress.as_ref(),
            network_mode: input.task_definition.register.network_mode,
            pod: &pod,
            selector: &workload.selector,
            labels: &object_labels,
        },
        &mut w,
    );
    objects.extend(network.into_objects());
    if let Some(a) = &spec.auto_scaling {
        let input = scaling::ScalingInput {
            workload: &workload.name,
            kind: if rollout.daemon {
                "DaemonSet"
            } else {
                "Deployment"
            },
            auto_scaling: a,
            autoscaler: input.cluster.and_then(|c| c.autoscaler).unwrap_or_default(),
            create,
            task_definition: Some(input.task_definition),
            labels: &object_labels,
        };
        objects.extend(scaling::objects(input, &mut w));
        scaling::scheduled::parse_all(a, &mut w);
    }
    if let Some(stores) = input.cluster.and_then(|c| c.secret_store.as_ref()) {
        let refs = secrets::references(&input.task_definition.register);
        objects.extend(
            secrets::external_secrets(&refs, stores, &object_labels, &mut w)
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

/// The Deployment (with its PodDisruptionBudget) or the DaemonSet.
fn workload_objects(
    rollout: &Rollout,
    workload: &Workload,
    meta: ObjectMeta,
    pod: &PodBuild,
    w: &mut Warnings,
) -> Vec<Object> {
    let selector = LabelSelector {
        match_labels: Some(workload.selector.clone()),
        match_expressions: None,
    };
    let template = pod.template.clone();
    if rollout.daemon {
        return vec![Object::DaemonSet(DaemonSet {
            metadata: meta,
            spec: Some(DaemonSetSpec {
                selector,
                template,
                update_strategy: Some(rollout.daemon_set_strategy(w)),
                ..DaemonSetSpec::default()
            }),
            status: None,
        })];
    }
    let budget = rollout.disruption_budget(&meta, &workload.selector, w);
    let deployment = Deployment {
        spec: Some(DeploymentSpec {
            replicas: (!rollout.scaled).then_some(rollout.desired),
            selector,
            template,
            strategy: Some(rollout.deployment_strategy(w)),
            ..DeploymentSpec::default()
        }),
        metadata: meta,
        status: None,
    };
    let mut out = vec![Object::Deployment(deployment)];
    out.extend(budget.map(Object::PodDisruptionBudget));
    out
}

/// The deployment settings of a service, with ECS's defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rollout {
    /// DAEMON scheduling strategy.
    pub daemon: bool,
    /// desiredCount (0 under autoScaling without one, else 1 by default).
    pub desired: i32,
    /// Whether the HorizontalPodAutoscaler owns the replica count (bounds are percentages).
    pub scaled: bool,
    /// minimumHealthyPercent (default 100, or 0 for DAEMON).
    pub minimum_healthy_percent: i32,
    /// maximumPercent (default 200, or 100 for DAEMON).
    pub maximum_percent: i32,
}

/// How many tasks ECS keeps and adds during a deployment of `desired` tasks: ECS rounds the
/// minimum healthy count up and the maximum count down. Returns (tasks that may be added, tasks
/// that may be unavailable), never negative and never overflowing.
pub fn ecs_task_bounds(
    desired: i32,
    minimum_healthy_percent: i32,
    maximum_percent: i32,
) -> (i32, i32) {
    let desired = i64::from(desired.max(0));
    let min = i64::from(minimum_healthy_percent.clamp(0, 100));
    let max = i64::from(maximum_percent.max(100));
    // desired ≤ 2^31 and max ≤ 2^31: the products fit in i64.
    let min_healthy = (desired * min + 99) / 100; // rounded up
    let max_tasks = desired * max / 100;
    let clamp = |v: i64| i32::try_from(v.max(0)).unwrap_or(i32::MAX);
    (clamp(max_tasks - desired), clamp(desired - min_healthy))
}

impl Rollout {
    /// The settings of `spec`, reporting the deployment options Tidewater does not reproduce.
    pub fn of(spec: &ServiceSpec, w: &mut Warnings) -> Rollout {
        let create = &spec.create;
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
        Rollout {
            daemon,
            desired: create
                .desired_count
                .unwrap_or(if spec.auto_scaling.is_some() { 0 } else { 1 }),
            scaled: spec.auto_scaling.is_some(),
            minimum_healthy_percent: dc
                .and_then(|d| d.minimum_healthy_percent)
                .unwrap_or(if daemon { 0 } else { 100 })
                .clamp(0, 100),
            maximum_percent: dc
                .and_then(|d| d.maximum_percent)
                .unwrap_or(if daemon { 100 } else { 200 })
                .max(100),
        }
    }
}

const REPLACE_ONE: &str = "with these percentages ECS could not replace a task either; one task at a time may be unavailable";

impl Rollout {
    /// The Deployment's rolling update: ECS's absolute bounds for a fixed desiredCount; under
    /// autoScaling percentages, which Kubernetes rounds like ECS for maxUnavailable (down) but
    /// not for maxSurge (up, where ECS rounds the maximum down: reported).
    pub fn deployment_strategy(&self, w: &mut Warnings) -> KStrategy {
        let (surge, unavailable) = if self.scaled {
            let surge = self.maximum_percent - 100;
            if surge % 100 != 0 {
                w.approximated(
                    "deploymentConfiguration.maximumPercent",
                    format!("with autoScaling the surge is {surge}% of the current replicas, which Kubernetes rounds up where ECS rounds the maximum task count down: a deployment may run one task more than ECS would"),
                );
            }
            let unavailable = 100 - self.minimum_healthy_percent;
            (percent(surge), percent(unavailable))
        } else {
            let (surge, unavailable) = ecs_task_bounds(
                self.desired,
                self.minimum_healthy_percent,
                self.maximum_percent,
            );
            (IntOrString::Int(surge), IntOrString::Int(unavailable))
        };
        let zero = |v: &IntOrString| matches!(v, IntOrString::Int(0)) || *v == percent(0);
        let unavailable = if zero(&surge) && zero(&unavailable) {
            if self.desired > 0 || self.scaled {
                w.approximated("deploymentConfiguration.minimumHealthyPercent", REPLACE_ONE);
            }
            IntOrString::Int(1)
        } else {
            unavailable
        };
        KStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(surge),
                max_unavailable: Some(unavailable),
            }),
        }
    }

    /// The DaemonSet's rolling update: one task per node, stopped before its replacement starts
    /// (ECS's daemon default); maxUnavailable is the percentage of nodes ECS may stop, which
    /// Kubernetes rounds up where ECS keeps the minimum healthy count rounded up (reported when
    /// it can differ).
    pub fn daemon_set_strategy(&self, w: &mut Warnings) -> DaemonSetUpdateStrategy {
        let unavailable = 100 - self.minimum_healthy_percent;
        let max_unavailable = match unavailable {
            0 => {
                w.approximated("deploymentConfiguration.minimumHealthyPercent", REPLACE_ONE);
                IntOrString::Int(1)
            }
            100 => percent(100),
            _ => {
                w.approximated(
                    "deploymentConfiguration.minimumHealthyPercent",
                    format!("{unavailable}% of the daemon's tasks may be replaced at once, which Kubernetes rounds up where ECS rounds the healthy count up: one task more than ECS allows may be stopped"),
                );
                percent(unavailable)
            }
        };
        DaemonSetUpdateStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDaemonSet {
                max_unavailable: Some(max_unavailable),
                max_surge: Some(IntOrString::Int(0)),
            }),
        }
    }

    /// The PodDisruptionBudget keeping minimumHealthyPercent during voluntary disruptions (for
    /// more than one task): the absolute count for a fixed desiredCount, else `minAvailable` as
    /// a percentage, which Kubernetes rounds up as ECS does. A budget allowing no disruption
    /// would block node drains forever, so it allows one (reported).
    pub fn disruption_budget(
        &self,
        meta: &ObjectMeta,
        selector: &BTreeMap<String, String>,
        w: &mut Warnings,
    ) -> Option<PodDisruptionBudget> {
        if !self.scaled && self.desired <= 1 {
            return None;
        }
        let (_, unavailable) = ecs_task_bounds(
            self.desired,
            self.minimum_healthy_percent,
            self.maximum_percent,
        );
        let mut spec = PodDisruptionBudgetSpec {
            selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                match_expressions: None,
            }),
            ..PodDisruptionBudgetSpec::default()
        };
        if self.minimum_healthy_percent == 100 || (!self.scaled && unavailable == 0) {
            w.approximated(
                "deploymentConfiguration.minimumHealthyPercent",
                "ECS replaces a task on a draining instance before stopping it; Kubernetes evicts first, so the PodDisruptionBudget lets one pod at a time be evicted",
            );
            spec.max_unavailable = Some(IntOrString::Int(1));
        } else if self.scaled {
            spec.min_available = Some(percent(self.minimum_healthy_percent));
        } else {
            spec.max_unavailable = Some(IntOrString::Int(unavailable));
        }
        Some(PodDisruptionBudget {
            metadata: ObjectMeta {
                name: meta.name.clone(),
                labels: meta.labels.clone(),
                ..ObjectMeta::default()
            },
            spec: Some(spec),
            status: None,
        })
    }
}

fn percent(v: i32) -> IntOrString {
    IntOrString::String(format!("{v}%"))
}

/// The warnings about a task definition's own fields (independent of what runs it).
pub fn task_definition_warnings(name: &str, td: &TaskDefinitionSpec) -> Vec<super::Warning> {
    let ctx = PodContext {
        family: task_definition::family(td, name),
        service_account: names::dns_label(name),
        ..PodContext::default()
    };
    task_definition_report(td, &ctx).1
}

/// The pod template of a task definition nothing runs, with the warnings about the task
/// definition's own fields ([`task_definition_warnings`]). `ctx` only names the template: the
/// warnings depend on no overrides, launch volumes, grace period or run-once mode.
pub fn task_definition_report(
    td: &TaskDefinitionSpec,
    ctx: &PodContext<'_>,
) -> (task_definition::PodBuild, Vec<super::Warning>) {
    debug_assert!(
        ctx.overrides.is_none()
            && ctx.launch_volumes.is_empty()
            && ctx.grace.is_none()
            && !ctx.run_once
    );
    let mut w = Warnings::default();
    let build = task_definition::pod_template(td, ctx, &mut w);
    tag_metadata(
        td.register.tags.as_deref().unwrap_or_default(),
        "tags",
        &mut w,
    );
    walk::report_serialised(Request::RegisterTaskDefinition, &td.register, &mut w);
    (build, w.into_vec())
}
