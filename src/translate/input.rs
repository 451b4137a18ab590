//! Input documents (Tidewater manifests, or raw ECS JSON: RegisterTaskDefinition and
//! CreateService bodies, describe-task-definition and describe-services output) recognised as
//! resources. Pure: text in, typed specs out, with the input paths that were not read as written.
//! `render` and `import` read their input here.

use crate::api::cluster::ClusterSpec;
use crate::api::scheduled_task::ScheduledTaskSpec;
use crate::api::service::ServiceSpec;
use crate::api::task::TaskSpec;
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::{names, reference, unread, validate};
use serde_json::Value;
use std::borrow::Cow;
use std::path::Path;

/// Input paths that were not read as written, with what happened.
pub type Notes = Vec<(String, String)>;

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

/// One parsed input resource. The specs are boxed: a resource is passed along by value from
/// its reading to the plan, and a spec is up to kilobytes (a ServiceSpec about 1.6 KiB).
#[derive(Debug, Clone)]
pub enum Resource {
    /// A task definition.
    TaskDefinition {
        name: String,
        spec: Box<TaskDefinitionSpec>,
    },
    /// A service.
    Service {
        name: String,
        spec: Box<ServiceSpec>,
    },
    /// A cluster.
    Cluster {
        name: String,
        spec: Box<ClusterSpec>,
    },
    /// A RunTask.
    Task { name: String, spec: Box<TaskSpec> },
    /// A scheduled task.
    ScheduledTask {
        name: String,
        spec: Box<ScheduledTaskSpec>,
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

    /// The ECS rules of its request alone: what the CRD rejects at `kubectl apply` (see
    /// [`validate::Spec::admit`]).
    pub fn admit(&self) -> Result<(), validate::ValidationErrors> {
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

/// Split a file's text into JSON documents (YAML multi-document; JSON is YAML); the first
/// document that cannot be read is the error. See [`documents_each`].
pub fn documents(file: &str, text: &str) -> Result<Vec<Value>, InputError> {
    documents_each(file, text).into_iter().collect()
}

/// Every document of a file, each read on its own (one broken document costs only itself);
/// duplicate keys are errors naming their path ([`crate::translate::reader`]).
pub fn documents_each(file: &str, text: &str) -> Vec<Result<Value, InputError>> {
    crate::translate::reader::documents(text)
        .into_iter()
        .map(|d| {
            d.map_err(|e| InputError {
                file: file.into(),
                path: e.path,
                message: e.message,
            })
        })
        .collect()
}

/// Like [`recognise`], but each service of a `describe-services` list on its own: one bad
/// service is its own error and the others are still read.
pub fn recognise_each(file: &str, doc: &Value) -> Vec<Result<(Resource, Notes), InputError>> {
    match services_list(doc) {
        Some(services) => services
            .iter()
            .enumerate()
            .map(|(i, s)| recognise_service(file, &format!("services[{i}]"), s))
            .collect(),
        // One resource, read where it is kept (a resource is kilobytes).
        None => vec![recognise_one(file, doc)],
    }
}

/// The services of `describe-services` output (a `services` list in a document of no other
/// shape).
fn services_list(doc: &Value) -> Option<&Vec<Value>> {
    let other_shape = doc.get("apiVersion").is_some_and(Value::is_string)
        || doc.get("taskDefinition").is_some_and(Value::is_object)
        || doc.get("containerDefinitions").is_some();
    doc.get("services")
        .and_then(Value::as_array)
        .filter(|_| !other_shape)
}

fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("resource")
        .to_string()
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
    match read(v) {
        Some(read) => Ok(read),
        None => read_tracked(file, base, v),
    }
}

/// A spec read without tracking the path, with its notes; `None` when it cannot be read so.
fn read<T: validate::Spec>(v: &Value) -> Option<(T, Notes)> {
    let (spec, unknown) = T::read_noting(v).ok()?;
    let notes = notes(v, &spec, unknown);
    Some((spec, notes))
}

/// A spec that cannot be read without tracking the path, read again, tracked (which decides).
fn read_tracked<T: validate::Spec>(
    file: &str,
    base: &str,
    v: &Value,
) -> Result<(T, Notes), InputError> {
    match serde_path_to_error::deserialize::<_, T>(v) {
        Ok(spec) => {
            let unknown = unread::unread(v, &spec).expect("spec serialises");
            let notes = notes(v, &spec, unknown);
            Ok((spec, notes))
        }
        Err(e) => Err(parse_error::<T>(file, base, v, e)),
    }
}

/// The notes of the members of `v` that `spec`, read from it, does not hold (`unknown`).
fn notes<T: validate::Spec>(v: &Value, spec: &T, unknown: Vec<String>) -> Notes {
    // What a spec reads is what it serialises: the one-pass reading notes what serialising the
    // spec against the document finds.
    debug_assert_eq!(
        unknown,
        unread::unread(v, spec).expect("spec serialises"),
        "unread members of {v}"
    );
    unknown
        .into_iter()
        .map(|p| {
            (
                p,
                "not a field of this ECS request shape; ignored".to_string(),
            )
        })
        .collect()
}

/// Why `v` is not a `T`, at the exact JSON path of the wrong type or out-of-range number.
fn parse_error<T: validate::Spec>(
    file: &str,
    base: &str,
    v: &Value,
    e: serde_path_to_error::Error<serde_json::Error>,
) -> InputError {
    let mut path = e.path().to_string();
    if path == "." {
        // Inside the flattened ECS request, which serde reads without tracking the path.
        if let Err(inner) = serde_path_to_error::deserialize::<_, T::Request>(v) {
            path = inner.path().to_string();
        }
    }
    InputError {
        file: file.into(),
        path: join_path(base, &path),
        message: e.into_inner().to_string(),
    }
}

/// Recognise one document: a Tidewater manifest or raw ECS JSON.
pub fn recognise(file: &str, doc: &Value) -> Result<Vec<(Resource, Notes)>, InputError> {
    recognise_each(file, doc).into_iter().collect()
}

/// Recognise one document that is not a `describe-services` list.
fn recognise_one(file: &str, doc: &Value) -> Result<(Resource, Notes), InputError> {
    let err = |path: &str, message: String| InputError {
        file: file.into(),
        path: path.into(),
        message,
    };
    let obj = doc
        .as_object()
        .ok_or_else(|| err(".", "expected an object".into()))?;
    if let Some(api) = obj.get("apiVersion").and_then(Value::as_str) {
        return recognise_manifest(file, doc, api);
    }
    // describe-task-definition output.
    if let Some(td) = obj.get("taskDefinition").filter(|v| v.is_object()) {
        return recognise_task_definition(file, "taskDefinition", td);
    }
    if obj.contains_key("containerDefinitions") {
        return recognise_task_definition(file, "", doc);
    }
    // create-service output (describe-services output is a list: see `services_list`).
    if let Some(s) = obj.get("service").filter(|v| v.is_object()) {
        return recognise_service(file, "service", s);
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
        return recognise_service(file, "", doc);
    }
    Err(err(".", "not a Tidewater manifest, a RegisterTaskDefinition or CreateService body, or describe-task-definition / describe-services output".into()))
}

/// A Tidewater manifest (`apiVersion` `ecs.tidewater.dev/v1alpha1`).
fn recognise_manifest(file: &str, doc: &Value, api: &str) -> Result<(Resource, Notes), InputError> {
    let err = |path: &str, message: String| InputError {
        file: file.into(),
        path: path.into(),
        message,
    };
    if api.split_once('/') != Some((crate::api::GROUP, crate::api::VERSION)) {
        return Err(err(
            "apiVersion",
            format!(
                "`{api}` is not {}/{}",
                crate::api::GROUP,
                crate::api::VERSION
            ),
        ));
    }
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let name = doc["metadata"]["name"]
        .as_str()
        .ok_or_else(|| err("metadata.name", "required".into()))?
        .to_string();
    let empty = Value::Object(Default::default());
    let spec = doc.get("spec").unwrap_or(&empty);
    match kind {
        "TaskDefinition" => {
            manifest_spec(file, spec, |spec| Resource::TaskDefinition { name, spec })
        }
        "Service" => manifest_spec(file, spec, |spec| Resource::Service { name, spec }),
        "Cluster" => manifest_spec(file, spec, |spec| Resource::Cluster { name, spec }),
        "Task" => manifest_spec(file, spec, |spec| Resource::Task { name, spec }),
        "ScheduledTask" => manifest_spec(file, spec, |spec| Resource::ScheduledTask { name, spec }),
        other => Err(err("kind", format!("unknown kind `{other}`"))),
    }
}

/// The `spec` of a manifest read as `T`, made the resource by `resource`.
fn manifest_spec<T: validate::Spec>(
    file: &str,
    spec: &Value,
    resource: impl FnOnce(Box<T>) -> Resource,
) -> Result<(Resource, Notes), InputError> {
    parse(file, "spec", spec).map(|(s, notes)| (resource(Box::new(s)), notes))
}

/// `v` with each container member ECS takes as a list that is one object made a one-element
/// list, and the paths of those members (a copy only when there are some).
fn lists_wrapped(v: &Value) -> (Cow<'_, Value>, Vec<String>) {
    let wrappable = |c: &Value| {
        CONTAINER_LISTS
            .iter()
            .any(|k| c.get(*k).is_some_and(Value::is_object))
    };
    let any = v
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(wrappable));
    if !any {
        return (Cow::Borrowed(v), Vec::new());
    }
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
    (Cow::Owned(v), wrapped)
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
    let at = if base.is_empty() { "." } else { base };
    // A document with a member to wrap cannot be read as it is (a list member is an object):
    // it is wrapped only then.
    let ((spec, mut unknown), wrapped): ((TaskDefinitionSpec, _), _) = match read(v) {
        Some(read) => (read, Vec::new()),
        None => {
            let (v, wrapped) = lists_wrapped(v);
            (parse(file, at, &v)?, wrapped)
        }
    };
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
            spec: Box::new(spec),
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
    let mut v = Cow::Borrowed(v);
    // describe output names the cluster by ARN and the task definition by ARN.
    if let Some(arn) = v.get("clusterArn").and_then(Value::as_str)
        && v.get("cluster").is_none()
    {
        let cluster = Value::String(reference::cluster_name(arn));
        v.to_mut()["cluster"] = cluster;
    }
    let (mut spec, unknown): (ServiceSpec, _) =
        parse(file, if base.is_empty() { "." } else { base }, &v)?;
    spec.create.task_definition = spec
        .create
        .task_definition
        .as_deref()
        .map(reference::without_arn);
    spec.create.cluster = spec.create.cluster.as_deref().map(reference::cluster_name);
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
            spec: Box::new(spec),
        },
        unknown,
    ))
}
