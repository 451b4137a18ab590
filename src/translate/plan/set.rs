//! A set of documents planned together, offline (`render`, and `import` checking what it
//! wrote): the set is the [`Lookup`]. A workload whose task definition is not in the set runs a
//! placeholder (and says so); a task definition nothing runs becomes a PodTemplate.

use super::{Lookup, PlanError, Resolved, Workload};
use crate::api::cluster::ClusterSpec;
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::fields::Disposition;
use crate::translate::input::{self, InputError, Resource};
use crate::translate::reference::{self, TaskDefinitionRef};
use crate::translate::task_definition::{self, PodContext};
use crate::translate::{Object, Warning, Warnings, names};
use k8s_openapi::api::core::v1::PodTemplate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A warning about one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ResourceWarning {
    /// `Kind/name` of the input resource.
    pub resource: String,
    /// The warning.
    pub warning: Warning,
}

impl std::fmt::Display for ResourceWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.resource, self.warning)
    }
}

/// The result of planning a set of documents.
#[derive(Debug, Default)]
pub struct Output {
    /// Objects, in input order.
    pub objects: Vec<Value>,
    /// Warnings, deduplicated.
    pub warnings: Vec<ResourceWarning>,
    /// Errors; the objects of the other resources are still planned.
    pub errors: Vec<InputError>,
}

/// The task definitions and Clusters of a set of input resources.
#[derive(Debug, Default)]
pub struct InputSet<'a> {
    /// By family: (`metadata.name`, spec).
    task_definitions: BTreeMap<String, (&'a str, &'a TaskDefinitionSpec)>,
    /// (`metadata.name`, spec), in input order.
    clusters: Vec<(&'a str, &'a ClusterSpec)>,
}

impl<'a> InputSet<'a> {
    /// The task definitions and Clusters among `resources` (a later family wins).
    pub fn new(resources: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut set = InputSet::default();
        for r in resources {
            match r {
                Resource::TaskDefinition { name, spec } => {
                    set.task_definitions
                        .insert(task_definition::family(spec, name), (name.as_str(), spec));
                }
                Resource::Cluster { name, spec } => set.clusters.push((name.as_str(), spec)),
                _ => {}
            }
        }
        set
    }
}

impl<'a> InputSet<'a> {
    /// The `metadata.name` of the TaskDefinition `workload` names, if it is in the set.
    pub fn origin(&self, workload: &Workload<'_>) -> Option<&'a str> {
        let r = TaskDefinitionRef::parse(workload.task_definition()?);
        self.task_definitions.get(&r.family).map(|(name, _)| *name)
    }
}

/// Revision of a task definition given as describe output, else 1.
pub fn revision(td: &TaskDefinitionSpec) -> i64 {
    td.read_only
        .revision
        .as_ref()
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

impl<'a> Lookup for InputSet<'a> {
    /// The TaskDefinition resource's `metadata.name`; `None` for the placeholder.
    type Origin = Option<&'a str>;

    /// The set holds one revision per family: the one in the input, whatever revision is asked.
    fn task_definition(
        &self,
        reference: &TaskDefinitionRef,
    ) -> Result<Resolved<Self::Origin>, PlanError> {
        let (name, spec) = self
            .task_definitions
            .get(&reference.family)
            .ok_or_else(|| PlanError::TaskDefinitionNotFound(reference.to_string()))?;
        Ok(Resolved {
            family: task_definition::family(spec, name),
            revision: Some(revision(spec)),
            spec: (*spec).clone(),
            origin: Some(name),
            warnings: vec![],
        })
    }

    fn cluster(&self, name: &str) -> Option<ClusterSpec> {
        reference::pick_cluster(
            name,
            self.clusters
                .iter()
                .map(|(n, c)| (*n, c.create.cluster_name.as_deref(), *c)),
        )
        .cloned()
    }

    fn unresolved(
        &self,
        reference: Option<&str>,
        error: PlanError,
    ) -> Result<Resolved<Self::Origin>, PlanError> {
        if !matches!(
            error,
            PlanError::TaskDefinitionNotFound(_) | PlanError::Invalid(_)
        ) {
            return Err(error);
        }
        let reference = reference
            .map(reference::without_arn)
            .unwrap_or_else(|| "(none given)".into());
        Ok(Resolved {
            family: "unresolved".into(),
            revision: None,
            spec: placeholder_task_definition(),
            origin: None,
            warnings: vec![Warning {
                path: "taskDefinition".into(),
                disposition: Disposition::Approximated,
                message: format!(
                    "task definition `{reference}` is not in the input; the pod template is a placeholder (render it together with its task definition)"
                ),
            }],
        })
    }
}

fn placeholder_task_definition() -> TaskDefinitionSpec {
    serde_json::from_value(serde_json::json!({
        "family": "unresolved",
        "containerDefinitions": [{"name": "unresolved", "image": "tidewater.invalid/unresolved-task-definition"}]
    }))
    .expect("placeholder parses")
}

/// Recognise and plan already-read documents (`(file, document)` pairs); every object gets
/// `namespace` when given.
pub fn plan_documents(docs: &[(String, Value)], namespace: Option<&str>) -> Output {
    let mut out = Output::default();
    let resources = recognise_all(docs, &mut out);
    plan_resources(&resources, namespace, &mut out);
    out.warnings.sort();
    out.warnings.dedup();
    out
}

/// Where a resource was read: its file and its path in the document (`spec` of a manifest,
/// `services[1]` of describe-services output, nothing for a raw request body).
#[derive(Clone, Debug)]
pub struct Source {
    /// The file.
    pub file: String,
    /// Path of the resource's spec in its document (empty for the whole document).
    pub base: String,
}

impl Source {
    /// `path` (relative to the spec) as a path in the document.
    fn at(&self, path: &str) -> String {
        if self.base.is_empty() {
            path.to_string()
        } else {
            format!("{}.{path}", self.base)
        }
    }

    /// The whole spec.
    fn whole(&self) -> String {
        if self.base.is_empty() {
            ".".to_string()
        } else {
            self.base.clone()
        }
    }
}

/// Path of the `i`-th resource's spec in `doc` (see [`input::recognise_each`]).
fn base_of(doc: &Value, i: usize) -> String {
    if doc.get("apiVersion").is_some() {
        "spec".into()
    } else if doc.get("taskDefinition").is_some_and(Value::is_object) {
        "taskDefinition".into()
    } else if doc.get("services").is_some_and(Value::is_array) {
        format!("services[{i}]")
    } else if doc.get("service").is_some_and(Value::is_object) {
        "service".into()
    } else {
        String::new()
    }
}

/// The resources of `docs`; what was not read as written becomes a warning, what could not be
/// read an error.
fn recognise_all(docs: &[(String, Value)], out: &mut Output) -> Vec<(Source, Resource)> {
    let mut resources = Vec::new();
    for (file, doc) in docs {
        for (i, recognised) in input::recognise_each(file, doc).into_iter().enumerate() {
            let src = Source {
                file: file.clone(),
                base: base_of(doc, i),
            };
            match recognised {
                Ok((r, notes)) => {
                    // The rules of the request alone: what the CRD rejects at `kubectl apply`.
                    if let Err(e) = r.admit() {
                        out.errors.extend(e.0.into_iter().map(|v| InputError {
                            file: file.clone(),
                            path: src.at(&v.path),
                            message: format!("{}: {}", r.describe(), v.message),
                        }));
                        continue;
                    }
                    out.warnings
                        .extend(notes.into_iter().map(|(path, message)| ResourceWarning {
                            resource: r.describe(),
                            warning: Warning {
                                path,
                                disposition: Disposition::Unsupported,
                                message,
                            },
                        }));
                    resources.push((src, r));
                }
                Err(e) => out.errors.push(e),
            }
        }
    }
    resources
}

/// Task definitions first (their own checks and warnings), then every workload, then a
/// PodTemplate for each valid task definition nothing runs.
fn plan_resources(resources: &[(Source, Resource)], namespace: Option<&str>, out: &mut Output) {
    let set = InputSet::new(resources.iter().map(|(_, r)| r));
    let mut invalid = BTreeSet::new();
    for (src, r) in resources {
        if let Resource::TaskDefinition { name, spec } = r {
            match super::task_definition(name, spec) {
                Ok(warnings) => {
                    out.warnings
                        .extend(warnings.into_iter().map(|w| ResourceWarning {
                            resource: r.describe(),
                            warning: w,
                        }))
                }
                Err(e) => {
                    invalid.insert(name.as_str());
                    out.errors.extend(e.0.into_iter().map(|v| InputError {
                        file: src.file.clone(),
                        path: src.at(&v.path),
                        message: format!("TaskDefinition/{name}: {}", v.message),
                    }));
                }
            }
        }
    }
    let mut used = BTreeSet::new();
    for (src, r) in resources {
        let Some(workload) = workload_of(r) else {
            continue;
        };
        used.extend(set.origin(&workload));
        match super::plan(&set, &workload) {
            Ok(plan) => {
                out.objects.extend(
                    plan.objects
                        .iter()
                        .map(|o| with_namespace(o.to_value(), namespace)),
                );
                out.warnings
                    .extend(plan.warnings.into_iter().map(|w| ResourceWarning {
                        resource: r.describe(),
                        warning: w,
                    }));
            }
            // The workload's own fields at their paths; anything else about the whole spec.
            Err(super::PlanError::Invalid(errors)) => {
                out.errors.extend(errors.0.into_iter().map(|v| InputError {
                    file: src.file.clone(),
                    path: src.at(&v.path),
                    message: format!("{}: {}", r.describe(), v.message),
                }))
            }
            Err(e) => out.errors.push(InputError {
                file: src.file.clone(),
                path: src.whole(),
                message: format!("{}: {}", r.describe(), message(&e)),
            }),
        }
    }
    for (_, r) in resources {
        if let Resource::TaskDefinition { name, spec } = r
            && !used.contains(name.as_str())
            && !invalid.contains(name.as_str())
        {
            let pt = pod_template(name, spec);
            out.objects.push(with_namespace(pt.to_value(), namespace));
        }
    }
}

/// The workload a resource is, if it is one.
pub fn workload_of(r: &Resource) -> Option<Workload<'_>> {
    match r {
        Resource::TaskDefinition { .. } | Resource::Cluster { .. } => None,
        Resource::Service { name, spec } => Some(Workload::Service { name, spec }),
        Resource::Task { name, spec } => Some(Workload::Task {
            name,
            run: &spec.run,
        }),
        Resource::ScheduledTask { name, spec } => Some(Workload::ScheduledTask { name, spec }),
    }
}

/// How an error reads in `render` (the task definition's own errors are reported on it).
fn message(e: &PlanError) -> String {
    match e {
        PlanError::TaskDefinitionInvalid { family, .. } => {
            format!("task definition `{family}` is invalid")
        }
        other => other.to_string(),
    }
}

/// A task definition nothing runs: a PodTemplate named after the family.
fn pod_template(name: &str, spec: &TaskDefinitionSpec) -> Object {
    let family = task_definition::family(spec, name);
    let ctx = PodContext {
        family: family.clone(),
        revision: Some(revision(spec)),
        service_account: names::dns_label(&family),
        ..Default::default()
    };
    let mut ignore = Warnings::default();
    let build = task_definition::pod_template(spec, &ctx, &mut ignore);
    Object::PodTemplate(PodTemplate {
        metadata: ObjectMeta {
            name: Some(names::dns_subdomain(&family)),
            labels: build
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone()),
            ..ObjectMeta::default()
        },
        template: Some(build.template),
    })
}

fn with_namespace(mut v: Value, namespace: Option<&str>) -> Value {
    if let Some(ns) = namespace {
        v["metadata"]["namespace"] = Value::String(ns.into());
    }
    v
}
