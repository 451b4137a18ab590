//! Task (RunTask) → `count` Pods that run once.

use super::fields::Request;
use super::service::{capacity, tag_metadata, task_tags};
use super::task_definition::{self, PodContext};
use super::{Object, Translation, Warnings, identity, labels, names, placement, walk};
use crate::api::cluster::ClusterSpec;
use crate::api::ecs::RunTaskRequest;
use crate::api::task_definition::TaskDefinitionSpec;
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// Everything a RunTask translation needs.
#[derive(Clone, Copy, Debug)]
pub struct RunInput<'a> {
    /// metadata.name of the Task (or ScheduledTask) resource.
    pub name: &'a str,
    /// The RunTask members.
    pub run: &'a RunTaskRequest,
    /// metadata.name of the TaskDefinition resource.
    pub task_definition_name: &'a str,
    /// The revision's spec.
    pub task_definition: &'a TaskDefinitionSpec,
    /// Its revision number, when known.
    pub revision: Option<i64>,
    /// The Cluster, when one exists.
    pub cluster: Option<&'a ClusterSpec>,
}

/// The pod template of a RunTask, with what goes with it.
#[derive(Clone, Debug, Default)]
pub struct RunTemplate {
    /// The pod template.
    pub template: PodTemplateSpec,
    /// The ServiceAccount of the task role, if any.
    pub service_account: Option<Object>,
    /// Labels for the objects created (not the pods).
    pub labels: BTreeMap<String, String>,
}

/// The pod template of a RunTask (shared by Task and ScheduledTask), with its ServiceAccount.
pub fn template(input: RunInput<'_>, owner_label: &str, w: &mut Warnings) -> RunTemplate {
    let run = input.run;
    let workload = names::dns_label(input.name);
    let common = common_labels(&workload, run);
    let own_tags = tag_metadata(run.tags.as_deref().unwrap_or_default(), "tags", w);
    let tags = task_tags(
        &own_tags,
        run.propagate_tags,
        None,
        input.task_definition,
        w,
    );
    let mut pod_labels = common.clone();
    pod_labels.extend(tags.labels.clone());
    if let Some(g) = run.group.as_deref().and_then(names::label_value) {
        pod_labels.insert(labels::GROUP.into(), g);
    }
    let ctx = PodContext {
        family: task_definition::family(input.task_definition, input.task_definition_name),
        revision: input.revision,
        service_account: workload.clone(),
        selector: BTreeMap::from([(owner_label.to_string(), workload.clone())]),
        labels: pod_labels,
        grace: None,
        overrides: run.overrides.as_ref(),
        run_once: true,
        launch_volumes: BTreeMap::new(),
    };
    // The task definition's own warnings are reported on it; those about the task size the
    // overrides set are reported here.
    let mut td_w = Warnings::default();
    let mut pod = task_definition::pod_template(input.task_definition, &ctx, &mut td_w);
    report_size_overrides(run, td_w, w);
    place(input, &ctx, &mut pod.template, w);
    annotate(run, tags.annotations, &mut pod.template);
    let mut object_labels = common;
    object_labels.extend(own_tags.labels);
    let service_account = pod
        .task_role_arn
        .as_ref()
        .map(|r| Object::ServiceAccount(identity::service_account(&workload, r, &object_labels)));
    let value = serde_json::to_value(run).expect("spec serialises");
    walk::report(Request::RunTask, &value, w);
    RunTemplate {
        template: pod.template,
        service_account,
        labels: object_labels,
    }
}

/// Labels of everything a RunTask creates.
fn common_labels(workload: &str, run: &RunTaskRequest) -> BTreeMap<String, String> {
    let mut common = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), workload.to_string()),
        (
            "app.kubernetes.io/managed-by".to_string(),
            labels::MANAGED_BY.to_string(),
        ),
    ]);
    if let Some(c) = run.cluster.as_deref().and_then(names::label_value) {
        common.insert(labels::CLUSTER.into(), c);
    }
    common
}

/// How the task size set by `overrides.cpu`/`overrides.memory` was shared out among the
/// containers, reported at those fields.
fn report_size_overrides(run: &RunTaskRequest, td_w: Warnings, w: &mut Warnings) {
    let o = run.overrides.as_ref();
    for warning in td_w.into_vec() {
        let overridden = match warning.path.as_str() {
            "cpu" => o.is_some_and(|o| o.cpu.is_some()),
            "memory" => o.is_some_and(|o| o.memory.is_some()),
            _ => false,
        };
        if overridden {
            w.approximated(format!("overrides.{}", warning.path), warning.message);
        }
    }
}

/// Capacity, placement constraints and strategies of the RunTask.
fn place(
    input: RunInput<'_>,
    ctx: &PodContext<'_>,
    template: &mut PodTemplateSpec,
    w: &mut Warnings,
) {
    let run = input.run;
    let spec = template.spec.get_or_insert_with(Default::default);
    let cap = capacity(
        run.launch_type,
        run.capacity_provider_strategy.as_deref(),
        input.cluster,
        input.task_definition,
    );
    let provider = placement::capacity(spec, &cap, w);
    placement::constraints(
        spec,
        run.placement_constraints.as_deref().unwrap_or_default(),
        &ctx.selector,
        "placementConstraints",
        w,
    );
    placement::strategies(
        spec,
        run.placement_strategy.as_deref().unwrap_or_default(),
        &ctx.selector,
        "placementStrategy",
        w,
    );
    if let Some(v) = provider.as_deref().and_then(names::label_value) {
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(labels::CAPACITY_PROVIDER.into(), v);
    }
}

/// startedBy, referenceId and the propagated tags that cannot be labels, as pod annotations.
fn annotate(
    run: &RunTaskRequest,
    tag_annotations: BTreeMap<String, String>,
    template: &mut PodTemplateSpec,
) {
    let mut ann = BTreeMap::new();
    if let Some(s) = run.started_by.as_ref().filter(|s| !s.is_empty()) {
        ann.insert("ecs.tidewater.dev/started-by".to_string(), s.clone());
    }
    if let Some(r) = run.reference_id.as_ref().filter(|s| !s.is_empty()) {
        ann.insert("ecs.tidewater.dev/reference-id".to_string(), r.clone());
    }
    ann.extend(tag_annotations);
    if !ann.is_empty() {
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.annotations
            .get_or_insert_with(BTreeMap::new)
            .extend(ann);
    }
}

/// Translate a Task: `count` Pods named `<task>-<n>`.
pub fn translate(input: RunInput<'_>) -> Translation {
    let mut w = Warnings::default();
    let RunTemplate {
        template,
        service_account: sa,
        ..
    } = template(input, labels::TASK, &mut w);
    let workload = names::dns_label_max(input.name, 57);
    let mut objects: Vec<Object> = sa.into_iter().collect();
    let count = input.run.count.unwrap_or(1).clamp(1, 10);
    for n in 0..count {
        let meta = template.metadata.clone().unwrap_or_default();
        objects.push(Object::Pod(Pod {
            metadata: ObjectMeta {
                name: Some(format!("{workload}-{n}")),
                ..meta
            },
            spec: template.spec.clone(),
            status: None,
        }));
    }
    Translation {
        objects,
        warnings: w.into_vec(),
    }
}
