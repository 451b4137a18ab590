//! A set of documents planned together, offline (`render`, and `import` checking what it
//! wrote): the set is the [`Lookup`]. A workload whose task definition is not in the set runs a
//! placeholder (and says so); a task definition nothing runs becomes a PodTemplate.

use super::{Lookup, PlanError, Resolved, Workload};
use crate::api::cluster::ClusterSpec;
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::fields::Disposition;
use crate::translate::input::{self, InputError, Resource};
use crate::translate::objects::Emitted;
use crate::translate::reference::{self, TaskDefinitionRef};
use crate::translate::task_definition::{self, PodContext};
use crate::translate::{Object, Warning, names};
use k8s_openapi::api::core::v1::PodTemplate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use std::borrow::Cow;
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
    /// Objects, in input order (JSON when read: see [`Emitted`]).
    pub objects: Vec<Emitted>,
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
    let docs = recognise_documents(docs.iter().map(|(file, doc)| (file.as_str(), doc)));
    plan_recognised(docs, namespace)
}

/// The resources read from one document (see [`input::recognise_each`]).
#[derive(Debug)]
pub struct Recognised<'a> {
    /// The file.
    pub file: &'a str,
    /// The document.
    pub doc: &'a Value,
    /// Its resources, each with what was not read as written, or why it could not be read.
    pub resources: Vec<Result<(Resource, input::Notes), InputError>>,
}

/// Recognise each of `docs` (`(file, document)` pairs) once.
pub fn recognise_documents<'a>(
    docs: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> Vec<Recognised<'a>> {
    docs.into_iter()
        .map(|(file, doc)| Recognised {
            file,
            doc,
            resources: input::recognise_each(file, doc),
        })
        .collect()
}

/// Plan already-recognised documents (see [`plan_documents`]).
pub fn plan_recognised(mut docs: Vec<Recognised<'_>>, namespace: Option<&str>) -> Output {
    let mut out = Output::default();
    // The resources stay where they were read: the plan borrows them.
    let resources = recognise_all(&mut docs, &mut out);
    plan_resources(&resources, namespace, &mut out);
    out.warnings.sort();
    out.warnings.dedup();
    out
}

/// Where a resource was read: its file and its path in the document (`spec` of a manifest,
/// `services[1]` of describe-services output, nothing for a raw request body).
#[derive(Clone, Debug)]
pub struct Source<'a> {
    /// The file.
    pub file: &'a str,
    /// Path of the resource's spec in its document (empty for the whole document).
    pub base: Cow<'static, str>,
}

impl Source<'_> {
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
            self.base.to_string()
        }
    }
}

/// Path of the `i`-th resource's spec in `doc` (see [`input::recognise_each`]).
fn base_of(doc: &Value, i: usize) -> Cow<'static, str> {
    if doc.get("apiVersion").is_some() {
        "spec".into()
    } else if doc.get("taskDefinition").is_some_and(Value::is_object) {
        "taskDefinition".into()
    } else if doc.get("services").is_some_and(Value::is_array) {
        format!("services[{i}]").into()
    } else if doc.get("service").is_some_and(Value::is_object) {
        "service".into()
    } else {
        "".into()
    }
}

/// The resources of `docs`, borrowed; what was not read as written becomes a warning (the notes
/// are taken out of `docs`), what could not be read an error (taken out too).
fn recognise_all<'r, 'a>(
    docs: &'r mut [Recognised<'a>],
    out: &mut Output,
) -> Vec<(Source<'a>, &'r Resource)> {
    let mut resources = Vec::new();
    for Recognised {
        file,
        doc,
        resources: recognised,
    } in docs
    {
        let (file, doc): (&'a str, &'a Value) = (file, doc);
        for (i, recognised) in recognised.iter_mut().enumerate() {
            let src = Source {
                file,
                base: base_of(doc, i),
            };
            match recognised {
                Ok((r, notes)) => {
                    let r: &'r Resource = r;
                    // The rules of the request alone: what the CRD rejects at `kubectl apply`.
                    if let Err(e) = r.admit() {
                        out.errors.extend(e.0.into_iter().map(|v| InputError {
                            file: file.to_string(),
                            path: src.at(&v.path),
                            message: format!("{}: {}", r.describe(), v.message),
                        }));
                        continue;
                    }
                    let resource = if notes.is_empty() {
                        String::new()
                    } else {
                        r.describe()
                    };
                    out.warnings.extend(std::mem::take(notes).into_iter().map(
                        |(path, message)| ResourceWarning {
                            resource: resource.clone(),
                            warning: Warning {
                                path,
                                disposition: Disposition::Unsupported,
                                message,
                            },
                        },
                    ));
                    resources.push((src, r));
                }
                Err(e) => out.errors.push(taken(e)),
            }
        }
    }
    resources
}

/// `e`, left empty in its place.
fn taken(e: &mut InputError) -> InputError {
    InputError {
        file: std::mem::take(&mut e.file),
        path: std::mem::take(&mut e.path),
        message: std::mem::take(&mut e.message),
    }
}

/// Task definitions first (their own checks and warnings), then every workload, then a
/// PodTemplate for each valid task definition nothing runs.
fn plan_resources(
    resources: &[(Source<'_>, &Resource)],
    namespace: Option<&str>,
    out: &mut Output,
) {
    let set = InputSet::new(resources.iter().map(|(_, r)| *r));
    let used: BTreeSet<&str> = resources
        .iter()
        .filter_map(|(_, r)| workload_of(r))
        .filter_map(|w| set.origin(&w))
        .collect();
    let mut invalid = BTreeSet::new();
    let mut templates = Vec::new();
    for (src, r) in resources {
        if let Resource::TaskDefinition { name, spec } = r {
            match checked_task_definition(name, spec, !used.contains(name.as_str())) {
                Ok((warnings, template)) => {
                    let resource = if warnings.is_empty() {
                        String::new()
                    } else {
                        r.describe()
                    };
                    out.warnings
                        .extend(warnings.into_iter().map(|w| ResourceWarning {
                            resource: resource.clone(),
                            warning: w,
                        }));
                    templates.extend(template.map(|t| (name.as_str(), t)));
                }
                Err(e) => {
                    invalid.insert(name.as_str());
                    out.errors.extend(e.0.into_iter().map(|v| InputError {
                        file: src.file.to_string(),
                        path: src.at(&v.path),
                        message: format!("TaskDefinition/{name}: {}", v.message),
                    }));
                }
            }
        }
    }
    for (src, r) in resources {
        if let Some(workload) = workload_of(r) {
            plan_workload(&set, src, r, &workload, namespace, out);
        }
    }
    for (name, template) in templates {
        if !invalid.contains(name) {
            out.objects.push(with_namespace(template, namespace));
        }
    }
}

/// What registering a task definition gives ([`super::task_definition`]), with its PodTemplate
/// when nothing runs it (built once: the warnings come with it).
fn checked_task_definition(
    name: &str,
    spec: &TaskDefinitionSpec,
    unused: bool,
) -> Result<(Vec<Warning>, Option<Box<Object>>), crate::translate::ValidationErrors> {
    if !unused {
        return super::task_definition(name, spec).map(|w| (w, None));
    }
    crate::translate::validate::task_definition(spec)?;
    let ctx = pod_context(name, spec);
    let (build, warnings) = crate::translate::service::task_definition_report(spec, &ctx);
    Ok((warnings, Some(pod_template(&ctx.family, build))))
}

/// One workload's objects, warnings or errors.
fn plan_workload(
    set: &InputSet<'_>,
    src: &Source<'_>,
    r: &Resource,
    workload: &Workload<'_>,
    namespace: Option<&str>,
    out: &mut Output,
) {
    match super::plan(set, workload) {
        Ok(plan) => {
            out.objects.extend(
                plan.objects
                    .into_iter()
                    .map(|o| with_namespace(Box::new(o), namespace)),
            );
            let resource = r.describe();
            out.warnings
                .extend(plan.warnings.into_iter().map(|w| ResourceWarning {
                    resource: resource.clone(),
                    warning: w,
                }));
        }
        // The workload's own fields at their paths; anything else about the whole spec.
        Err(super::PlanError::Invalid(errors)) => {
            out.errors.extend(errors.0.into_iter().map(|v| InputError {
                file: src.file.to_string(),
                path: src.at(&v.path),
                message: format!("{}: {}", r.describe(), v.message),
            }))
        }
        Err(e) => out.errors.push(InputError {
            file: src.file.to_string(),
            path: src.whole(),
            message: format!("{}: {}", r.describe(), message(&e)),
        }),
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

/// What names the PodTemplate of a task definition nothing runs.
fn pod_context(name: &str, spec: &TaskDefinitionSpec) -> PodContext<'static> {
    let family = task_definition::family(spec, name);
    PodContext {
        revision: Some(revision(spec)),
        service_account: names::dns_label(&family),
        family,
        ..Default::default()
    }
}

/// A task definition nothing runs: a PodTemplate named after its family.
fn pod_template(family: &str, build: task_definition::PodBuild) -> Box<Object> {
    Box::new(Object::PodTemplate(PodTemplate {
        metadata: ObjectMeta {
            name: Some(names::dns_subdomain(family)),
            labels: build
                .template
                .metadata
                .as_ref()
                .and_then(|m| m.labels.clone()),
            ..ObjectMeta::default()
        },
        template: Some(build.template),
    }))
}

fn with_namespace(mut o: Box<Object>, namespace: Option<&str>) -> Emitted {
    if let Some(ns) = namespace {
        o.set_namespace(ns);
    }
    o.into()
}
