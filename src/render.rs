//! `tidewater render`: manifests or raw ECS JSON in, the exact objects the operator would
//! create out, with warnings. Offline and pure apart from reading the input files.

use crate::api::cluster::ClusterSpec;
use crate::api::scheduled_task::ScheduledTaskSpec;
use crate::api::service::ServiceSpec;
use crate::api::task::TaskSpec;
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::task::RunInput;
use crate::translate::{self, Object, Warning, names, validate};
use k8s_openapi::api::core::v1::PodTemplate;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Input paths that were not read as written, with what happened.
type Notes = Vec<(String, String)>;

/// A problem with one input document, located by file and JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {path}: {message}")]
pub struct InputError {
    /// The file.
    pub file: String,
    /// JSON path in the document (`.` for the whole document).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// One parsed input resource.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A task definition.
    TaskDefinition {
        name: String,
        spec: TaskDefinitionSpec,
    },
    /// A service.
    Service { name: String, spec: ServiceSpec },
    /// A cluster.
    Cluster { name: String, spec: ClusterSpec },
    /// A RunTask.
    Task { name: String, spec: TaskSpec },
    /// A scheduled task.
    ScheduledTask {
        name: String,
        spec: ScheduledTaskSpec,
    },
}

impl Resource {
    /// `Kind/name`.
    pub fn describe(&self) -> String {
        match self {
            Resource::TaskDefinition { name, .. } => format!("TaskDefinition/{name}"),
            Resource::Service { name, .. } => format!("Service/{name}"),
            Resource::Cluster { name, .. } => format!("Cluster/{name}"),
            Resource::Task { name, .. } => format!("Task/{name}"),
            Resource::ScheduledTask { name, .. } => format!("ScheduledTask/{name}"),
        }
    }

    /// The ECS rules of its request alone (see [`validate::Spec::admit`]).
    fn admit(&self) -> Result<(), validate::ValidationErrors> {
        use validate::Spec;
        match self {
            Resource::TaskDefinition { spec, .. } => spec.admit(),
            Resource::Service { spec, .. } => spec.admit(),
            Resource::Cluster { spec, .. } => spec.admit(),
            Resource::Task { spec, .. } => spec.admit(),
            Resource::ScheduledTask { spec, .. } => spec.admit(),
        }
    }
}

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

/// The result of a render.
#[derive(Debug, Default)]
pub struct Output {
    /// Objects, in input order.
    pub objects: Vec<Value>,
    /// Warnings, deduplicated.
    pub warnings: Vec<ResourceWarning>,
    /// Errors; the objects of the other resources are still rendered.
    pub errors: Vec<InputError>,
}

/// Expand files and directories (recursively, `*.yaml`, `*.yml`, `*.json`) in a stable order.
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.sort();
            for e in entries {
                if e.is_dir() {
                    out.extend(collect_files(&[e])?);
                } else if e
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                {
                    out.push(e);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Split a file's text into JSON documents (YAML multi-document; JSON is YAML).
pub fn documents(file: &str, text: &str) -> Result<Vec<Value>, InputError> {
    let mut docs = Vec::new();
    for de in serde_yaml_ng::Deserializer::from_str(text) {
        let v: Value =
            serde_yaml_ng::with::singleton_map_recursive::deserialize(de).map_err(|e| {
                InputError {
                    file: file.into(),
                    path: ".".into(),
                    message: format!("not valid YAML or JSON: {e}"),
                }
            })?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("resource")
        .to_string()
}

/// `arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV` → `FAMILY:REV`; other values unchanged.
pub fn task_definition_ref(value: &str) -> String {
    match value.split_once(":task-definition/") {
        Some((_, rest)) if value.starts_with("arn:") => rest.to_string(),
        _ => value.to_string(),
    }
}

/// The last segment of an ARN or the value itself (`cluster/name` → `name`).
fn arn_name(value: &str) -> String {
    if value.starts_with("arn:") {
        value.rsplit('/').next().unwrap_or(value).to_string()
    } else {
        value.to_string()
    }
}

/// `base` and a path relative to it (`.` is the whole document).
fn join_path(base: &str, path: &str) -> String {
    match (base, path) {
        (_, ".") | (_, "") => base.to_string(),
        (".", _) | ("", _) => path.to_string(),
        _ if path.starts_with('[') => format!("{base}{path}"),
        _ => format!("{base}.{path}"),
    }
}

/// Parse a spec, naming the exact JSON path of a wrong type or out-of-range number.
fn parse<T: validate::Spec>(file: &str, base: &str, v: &Value) -> Result<(T, Notes), InputError> {
    let error = |path: &str, message: String| InputError {
        file: file.into(),
        path: join_path(base, path),
        message,
    };
    let spec: T = serde_path_to_error::deserialize(v).map_err(|e| {
        let mut path = e.path().to_string();
        if path == "." {
            // Inside the flattened ECS request, which serde reads without tracking the path.
            if let Err(inner) = serde_path_to_error::deserialize::<_, T::Request>(v) {
                path = inner.path().to_string();
            }
        }
        error(&path, e.into_inner().to_string())
    })?;
    let back = serde_json::to_value(&spec).expect("spec serialises");
    let mut unknown = Vec::new();
    unknown_fields(v, &back, "", &mut unknown);
    let notes = unknown
        .into_iter()
        .map(|p| {
            (
                p,
                "not a field of this ECS request shape; ignored".to_string(),
            )
        })
        .collect();
    Ok((spec, notes))
}

/// Paths present (non-null) in `input` but absent from the parsed-and-serialised value.
fn unknown_fields(input: &Value, parsed: &Value, path: &str, out: &mut Vec<String>) {
    match (input, parsed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(bv) => unknown_fields(v, bv, &p, out),
                    None if translate::walk::present(v) => out.push(p),
                    None => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                unknown_fields(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Recognise one document: a Tidewater manifest or raw ECS JSON.
pub fn recognise(file: &str, doc: &Value) -> Result<Vec<(Resource, Notes)>, InputError> {
    let err = |path: &str, message: String| InputError {
        file: file.into(),
        path: path.into(),
        message,
    };
    let obj = doc
        .as_object()
        .ok_or_else(|| err(".", "expected an object".into()))?;
    if let Some(api) = obj.get("apiVersion").and_then(Value::as_str) {
        if api != format!("{}/{}", crate::api::GROUP, crate::api::VERSION) {
            return Err(err(
                "apiVersion",
                format!(
                    "`{api}` is not {}/{}",
                    crate::api::GROUP,
                    crate::api::VERSION
                ),
            ));
        }
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let name = doc["metadata"]["name"]
            .as_str()
            .ok_or_else(|| err("metadata.name", "required".into()))?
            .to_string();
        let spec = doc
            .get("spec")
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let r =
            match kind {
                "TaskDefinition" => parse(file, "spec", &spec)
                    .map(|(s, u)| (Resource::TaskDefinition { name, spec: s }, u)),
                "Service" => parse(file, "spec", &spec)
                    .map(|(s, u)| (Resource::Service { name, spec: s }, u)),
                "Cluster" => parse(file, "spec", &spec)
                    .map(|(s, u)| (Resource::Cluster { name, spec: s }, u)),
                "Task" => {
                    parse(file, "spec", &spec).map(|(s, u)| (Resource::Task { name, spec: s }, u))
                }
                "ScheduledTask" => parse(file, "spec", &spec)
                    .map(|(s, u)| (Resource::ScheduledTask { name, spec: s }, u)),
                other => Err(err("kind", format!("unknown kind `{other}`"))),
            }?;
        return Ok(vec![r]);
    }
    // describe-task-definition output.
    if let Some(td) = obj.get("taskDefinition").filter(|v| v.is_object()) {
        return recognise_task_definition(file, "taskDefinition", td).map(|r| vec![r]);
    }
    if obj.contains_key("containerDefinitions") {
        return recognise_task_definition(file, "", doc).map(|r| vec![r]);
    }
    // describe-services output / create-service output.
    if let Some(Value::Array(services)) = obj.get("services") {
        return services
            .iter()
            .enumerate()
            .map(|(i, s)| recognise_service(file, &format!("services[{i}]"), s))
            .collect();
    }
    if let Some(s) = obj.get("service").filter(|v| v.is_object()) {
        return recognise_service(file, "service", s).map(|r| vec![r]);
    }
    const SERVICE_KEYS: &[&str] = &[
        "serviceName",
        "desiredCount",
        "deploymentConfiguration",
        "loadBalancers",
        "schedulingStrategy",
        "serviceRegistries",
    ];
    if SERVICE_KEYS.iter().any(|k| obj.contains_key(*k)) {
        return recognise_service(file, "", doc).map(|r| vec![r]);
    }
    Err(err(".", "not a Tidewater manifest, a RegisterTaskDefinition or CreateService body, or describe-task-definition / describe-services output".into()))
}

/// Container members ECS takes as lists; hand-written JSON sometimes has one object instead.
const CONTAINER_LISTS: &[&str] = &[
    "portMappings",
    "environment",
    "mountPoints",
    "secrets",
    "ulimits",
    "volumesFrom",
    "dependsOn",
    "extraHosts",
    "environmentFiles",
];

fn recognise_task_definition(
    file: &str,
    base: &str,
    v: &Value,
) -> Result<(Resource, Notes), InputError> {
    let mut v = v.clone();
    let mut wrapped = Vec::new();
    if let Some(Value::Array(containers)) = v.get_mut("containerDefinitions") {
        for (i, c) in containers.iter_mut().enumerate() {
            for key in CONTAINER_LISTS {
                if let Some(slot) = c.get_mut(*key).filter(|x| x.is_object()) {
                    *slot = Value::Array(vec![slot.take()]);
                    wrapped.push(format!("containerDefinitions[{i}].{key}"));
                }
            }
        }
    }
    let (spec, mut unknown): (TaskDefinitionSpec, _) =
        parse(file, if base.is_empty() { "." } else { base }, &v)?;
    unknown.extend(wrapped.into_iter().map(|p| {
        (
            p,
            "an object where ECS expects a list: read as a one-element list".to_string(),
        )
    }));
    let family = spec
        .register
        .family
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| stem(file));
    let unknown = prefixed(base, unknown);
    Ok((
        Resource::TaskDefinition {
            name: names::dns_subdomain(&family),
            spec,
        },
        unknown,
    ))
}

/// Notes whose paths are relative to `base` (a member of a wrapping document), made absolute.
fn prefixed(base: &str, notes: Notes) -> Notes {
    notes
        .into_iter()
        .map(|(p, m)| {
            (
                if base.is_empty() {
                    p
                } else {
                    format!("{base}.{p}")
                },
                m,
            )
        })
        .collect()
}

fn recognise_service(file: &str, base: &str, v: &Value) -> Result<(Resource, Notes), InputError> {
    let mut v = v.clone();
    // describe output names the cluster by ARN and the task definition by ARN.
    if let Some(arn) = v.get("clusterArn").and_then(Value::as_str).map(arn_name) {
        if v.get("cluster").is_none() {
            v["cluster"] = Value::String(arn);
        }
    }
    let (mut spec, unknown): (ServiceSpec, _) =
        parse(file, if base.is_empty() { "." } else { base }, &v)?;
    spec.create.task_definition = spec
        .create
        .task_definition
        .as_deref()
        .map(task_definition_ref);
    spec.create.cluster = spec.create.cluster.as_deref().map(arn_name);
    let name = spec
        .create
        .service_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| stem(file));
    let unknown = prefixed(
        base,
        unknown
            .into_iter()
            .filter(|(p, _)| p != "cluster")
            .collect(),
    );
    Ok((
        Resource::Service {
            name: names::dns_subdomain(&name),
            spec,
        },
        unknown,
    ))
}

/// Render already-read documents: `(file, document)` pairs.
pub fn render_documents(docs: &[(String, Value)], namespace: Option<&str>) -> Output {
    let mut out = Output::default();
    let mut resources: Vec<(String, Resource)> = Vec::new();
    for (file, doc) in docs {
        match recognise(file, doc) {
            Ok(rs) => {
                for (r, unknown) in rs {
                    // The rules of the request alone: what the CRD rejects at `kubectl apply`.
                    if let Err(e) = r.admit() {
                        out.errors.extend(e.0.into_iter().map(|v| InputError {
                            file: file.clone(),
                            path: format!("spec.{}", v.path),
                            message: format!("{}: {}", r.describe(), v.message),
                        }));
                        continue;
                    }
                    for (path, message) in unknown {
                        out.warnings.push(ResourceWarning {
                            resource: r.describe(),
                            warning: Warning {
                                path,
                                disposition: translate::fields::Disposition::Unsupported,
                                message,
                            },
                        });
                    }
                    resources.push((file.clone(), r));
                }
            }
            Err(e) => out.errors.push(e),
        }
    }
    render_resources(&resources, namespace, &mut out);
    out.warnings.sort();
    out.warnings.dedup();
    out
}

/// Revision of a task definition given as describe output, else 1.
fn revision(td: &TaskDefinitionSpec) -> i64 {
    td.read_only
        .revision
        .as_ref()
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn render_resources(resources: &[(String, Resource)], namespace: Option<&str>, out: &mut Output) {
    // Task definitions by family.
    let mut tds: BTreeMap<String, (&str, &TaskDefinitionSpec)> = BTreeMap::new();
    for (_, r) in resources {
        if let Resource::TaskDefinition { name, spec } = r {
            tds.insert(
                translate::task_definition::family(spec, name),
                (name.as_str(), spec),
            );
        }
    }
    let clusters: BTreeMap<String, &ClusterSpec> = resources
        .iter()
        .filter_map(|(_, r)| match r {
            Resource::Cluster { name, spec } => Some((
                spec.create
                    .cluster_name
                    .clone()
                    .unwrap_or_else(|| name.clone()),
                spec,
            )),
            _ => None,
        })
        .collect();
    let mut used = std::collections::BTreeSet::new();
    let placeholder = placeholder_task_definition();

    // Validate task definitions and report their own warnings once.
    let mut invalid = std::collections::BTreeSet::new();
    for (file, r) in resources {
        if let Resource::TaskDefinition { name, spec } = r {
            if let Err(e) = validate::task_definition(spec) {
                invalid.insert(name.clone());
                for v in e.0 {
                    out.errors.push(InputError {
                        file: file.clone(),
                        path: format!("spec.{}", v.path),
                        message: format!("TaskDefinition/{name}: {}", v.message),
                    });
                }
                continue;
            }
            for w in translate::service::task_definition_warnings(name, spec) {
                out.warnings.push(ResourceWarning {
                    resource: r.describe(),
                    warning: w,
                });
            }
        }
    }

    for (file, r) in resources {
        let resolve = |reference: Option<&str>| -> Result<
            (&str, &TaskDefinitionSpec, Option<i64>, Option<Warning>),
            String,
        > {
            let reference = reference
                .map(task_definition_ref)
                .unwrap_or_else(|| "(none given)".into());
            let family = reference.split(':').next().unwrap_or_default().to_string();
            match tds.get(&family) {
                Some((name, spec)) if invalid.contains(*name) => {
                    Err(format!("task definition `{family}` is invalid"))
                }
                Some((name, spec)) => Ok((name, spec, Some(revision(spec)), None)),
                None => Ok((
                    "unresolved",
                    &placeholder,
                    None,
                    Some(Warning {
                        path: "taskDefinition".into(),
                        disposition: translate::fields::Disposition::Approximated,
                        message: format!(
                            "task definition `{reference}` is not in the input; the pod template is a placeholder (render it together with its task definition)"
                        ),
                    }),
                )),
            }
        };
        let cluster_of = |c: Option<&str>| {
            clusters
                .get(c.filter(|c| !c.is_empty()).unwrap_or("default"))
                .copied()
        };
        // RunTask members are shared by Task and ScheduledTask.
        let mut run_task = |name: &str,
                            run: &crate::api::ecs::RunTaskRequest,
                            scheduled: Option<&ScheduledTaskSpec>| {
            let (td_name, td, rev, note) = resolve(Some(&run.task_definition))?;
            if rev.is_some() {
                validate::task_with_task_definition(run, td).map_err(|e| e.to_string())?;
            }
            used.insert(td_name.to_string());
            let cluster = cluster_of(run.cluster.as_deref());
            check_policy(
                td,
                cluster,
                run.overrides
                    .as_ref()
                    .and_then(|o| o.task_role_arn.as_deref()),
            )?;
            let input = RunInput {
                name,
                run,
                task_definition_name: td_name,
                task_definition: td,
                revision: rev,
                cluster,
            };
            let t = match scheduled {
                Some(spec) => translate::scheduled_task::translate(spec, input)
                    .map_err(|e| format!("scheduleExpression: {e}"))?,
                None => translate::task::translate(input),
            };
            Ok::<_, String>((
                t.objects,
                t.warnings.into_iter().chain(note).collect::<Vec<_>>(),
            ))
        };
        let result: Result<(Vec<Object>, Vec<Warning>), String> = match r {
            Resource::TaskDefinition { .. } | Resource::Cluster { .. } => continue,
            Resource::Service { name, spec } => (|| {
                let (td_name, td, rev, note) = resolve(spec.create.task_definition.as_deref())?;
                if rev.is_some() {
                    validate::service_with_task_definition(spec, td).map_err(|e| e.to_string())?;
                }
                used.insert(td_name.to_string());
                let cluster = cluster_of(spec.create.cluster.as_deref());
                check_policy(td, cluster, None)?;
                let t = translate::service::translate(translate::service::ServiceInput {
                    name,
                    spec,
                    task_definition_name: td_name,
                    task_definition: td,
                    revision: rev,
                    cluster,
                });
                Ok((t.objects, t.warnings.into_iter().chain(note).collect()))
            })(),
            Resource::Task { name, spec } => run_task(name, &spec.run, None),
            Resource::ScheduledTask { name, spec } => run_task(name, &spec.run, Some(spec)),
        };
        match result {
            Ok((objects, warnings)) => {
                out.objects.extend(
                    objects
                        .iter()
                        .map(|o| with_namespace(o.to_value(), namespace)),
                );
                out.warnings
                    .extend(warnings.into_iter().map(|w| ResourceWarning {
                        resource: r.describe(),
                        warning: w,
                    }));
            }
            Err(message) => out.errors.push(InputError {
                file: file.clone(),
                path: "spec".into(),
                message: format!("{}: {message}", r.describe()),
            }),
        }
    }

    // Task definitions that nothing runs: a PodTemplate named after the family.
    for (_, r) in resources {
        if let Resource::TaskDefinition { name, spec } = r {
            if used.contains(name) || invalid.contains(name) {
                continue;
            }
            let family = translate::task_definition::family(spec, name);
            let ctx = translate::task_definition::PodContext {
                family: family.clone(),
                revision: Some(revision(spec)),
                service_account: names::dns_label(&family),
                ..Default::default()
            };
            let mut ignore = translate::Warnings::default();
            let build = translate::task_definition::pod_template(spec, &ctx, &mut ignore);
            let pt = PodTemplate {
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
            };
            out.objects.push(with_namespace(
                Object::PodTemplate(pt).to_value(),
                namespace,
            ));
        }
    }
}

/// Cluster policy for a task definition run with `role_override` (RunTask overrides) if any.
fn check_policy(
    td: &TaskDefinitionSpec,
    cluster: Option<&ClusterSpec>,
    role_override: Option<&str>,
) -> Result<(), String> {
    let Some(policy) = cluster.and_then(|c| c.policy.as_ref()) else {
        return Ok(());
    };
    let role = role_override.or(td.register.task_role_arn.as_deref());
    validate::policy(td, role, policy).map_err(|e| format!("PolicyViolation: {e}"))
}

fn placeholder_task_definition() -> TaskDefinitionSpec {
    serde_json::from_value(serde_json::json!({
        "family": "unresolved",
        "containerDefinitions": [{"name": "unresolved", "image": "tidewater.invalid/unresolved-task-definition"}]
    }))
    .expect("placeholder parses")
}

fn with_namespace(mut v: Value, namespace: Option<&str>) -> Value {
    if let Some(ns) = namespace {
        v["metadata"]["namespace"] = Value::String(ns.into());
    }
    v
}

/// Read and render files.
pub fn render_files(paths: &[PathBuf], namespace: Option<&str>) -> Output {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    match collect_files(paths) {
        Ok(files) => {
            for f in files {
                let name = f.display().to_string();
                match std::fs::read_to_string(&f) {
                    Ok(text) => match documents(&name, &text) {
                        Ok(ds) => docs.extend(ds.into_iter().map(|d| (name.clone(), d))),
                        Err(e) => errors.push(e),
                    },
                    Err(e) => errors.push(InputError {
                        file: name,
                        path: ".".into(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        Err(e) => errors.push(InputError {
            file: "-".into(),
            path: ".".into(),
            message: e.to_string(),
        }),
    }
    let mut out = render_documents(&docs, namespace);
    errors.extend(out.errors);
    out.errors = errors;
    out
}

/// Objects as a YAML stream.
pub fn to_yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| {
            format!(
                "---\n{}",
                // Quoted for Kubernetes' YAML 1.1 reader (`on` stays a string).
                crate::import::yaml::to_string(o)
            )
        })
        .collect()
}

/// Objects as one `v1` `List`.
pub fn to_json_list(objects: &[Value]) -> String {
    let list =
        serde_json::json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": objects });
    serde_json::to_string_pretty(&list).expect("JSON values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(yaml: &str) -> Vec<(String, Value)> {
        documents("test.yaml", yaml)
            .unwrap()
            .into_iter()
            .map(|d| ("test.yaml".to_string(), d))
            .collect()
    }

    #[test]
    fn yaml_output_keeps_yaml_1_1_booleans_as_strings() {
        let out = to_yaml(&[serde_json::json!({"data": {"TLS": "on", "n": "0777"}})]);
        let back: Vec<serde_json::Value> = out
            .split("---\n")
            .filter(|d| !d.trim().is_empty())
            .map(|d| serde_yaml_ng::from_str(d).unwrap())
            .collect();
        assert_eq!(back[0]["data"]["TLS"], "on", "{out}");
        assert!(out.contains("'on'") || out.contains("\"on\""), "{out}");
    }

    #[test]
    fn a_run_task_role_override_is_checked_against_the_cluster_policy() {
        let input = r#"
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Cluster
metadata: {name: default}
spec: {policy: {allowedTaskRoleArns: ["arn:aws:iam::1:role/team-a-*"]}}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec: {taskRoleArn: "arn:aws:iam::1:role/team-a-job", containerDefinitions: [{name: job, image: job:1}]}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Task
metadata: {name: sneaky}
spec: {taskDefinition: job, overrides: {taskRoleArn: "arn:aws:iam::1:role/admin"}}
"#;
        let out = render_documents(&docs(input), None);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(
            out.errors[0].message.contains("PolicyViolation")
                && out.errors[0].message.contains("role/admin")
        );
        assert!(out.objects.is_empty());
    }

    #[test]
    fn task_definition_tags_that_are_not_labels_are_reported() {
        let input = r#"
apiVersion: ecs.tidewater.dev/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec: {tags: [{key: "cost center", value: x}], containerDefinitions: [{name: job, image: job:1}]}
"#;
        let out = render_documents(&docs(input), None);
        assert!(
            out.warnings.iter().any(|w| w.warning.path == "tags[0].key"),
            "{:?}",
            out.warnings
        );
    }
}
