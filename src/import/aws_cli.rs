//! AWS CLI JSON: `register-task-definition` / `create-service` request bodies
//! (`--cli-input-json`), `describe-task-definition`, `describe-services`, `create-service` and
//! `update-service` output. The shapes are recognised by [`crate::translate::input::recognise`], the same
//! code `render` uses, so that `render` of the imported manifests gives the same objects as
//! `render` of the raw JSON. Tidewater manifests are accepted too and passed through.

use super::model;
use super::{ImportError, Imported, Kind, Note, NoteKind, Parsed, Source, leaves};
use crate::translate::input::{self, Resource};
use serde_json::Value;

/// What a document is, and the path of each resource in it.
fn shape(doc: &Value, count: usize) -> (Vec<String>, &'static str) {
    let obj = doc.as_object();
    let has = |k: &str| obj.is_some_and(|o| o.contains_key(k));
    if has("apiVersion") {
        (vec![".".into()], "Tidewater manifest")
    } else if doc.get("taskDefinition").is_some_and(Value::is_object) {
        (
            vec!["taskDefinition".into()],
            "describe-task-definition output",
        )
    } else if has("containerDefinitions") {
        (vec![".".into()], "RegisterTaskDefinition body")
    } else if doc.get("services").is_some_and(Value::is_array) {
        (
            (0..count).map(|i| format!("services[{i}]")).collect(),
            "describe-services output",
        )
    } else if doc.get("service").is_some_and(Value::is_object) {
        (
            vec!["service".into()],
            "create-service / update-service output",
        )
    } else {
        (vec![".".into()], "CreateService body")
    }
}

fn join(base: &str, path: &str) -> String {
    if base == "." || base.is_empty() {
        path.to_string()
    } else if path.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{path}")
    }
}

/// The first value of a request body that cannot be what ECS expects.
fn locate(doc: &Value) -> Option<model::Invalid> {
    let none = |_: &str| false;
    ["RegisterTaskDefinitionRequest", "CreateServiceRequest"]
        .into_iter()
        .find_map(|shape| {
            let mut c = model::Converter::new(model::Api::Ecs, &[], &none);
            c.convert(shape, doc, "", "");
            c.invalid.into_iter().next()
        })
        .map(|mut i| {
            if i.source.is_empty() {
                i.source = ".".into();
            }
            i
        })
}

/// Import one file of AWS CLI JSON (or YAML).
pub fn import(file: &str, text: &str) -> Parsed {
    let mut out = Parsed::default();
    let docs = match input::documents(file, text) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(ImportError::Syntax {
                file: file.into(),
                path: ".".into(),
                format: "JSON or YAML",
                message: e
                    .message
                    .trim_start_matches("not valid YAML or JSON: ")
                    .to_string(),
            });
            return out;
        }
    };
    if docs.is_empty() {
        out.errors.push(ImportError::UnknownShape {
            file: file.into(),
            path: ".".into(),
            message: "empty: no document to import".into(),
        });
    }
    let many = docs.len() > 1;
    for (di, doc) in docs.iter().enumerate() {
        let prefix = |p: &str| {
            if many {
                format!("#{di}:{p}")
            } else {
                p.to_string()
            }
        };
        match input::recognise(file, doc) {
            Ok(resources) => {
                let (bases, what) = shape(doc, resources.len());
                for ((resource, notes), base) in resources.into_iter().zip(bases) {
                    out.objects
                        .push(imported(file, &prefix(&base), &base, what, resource, notes));
                }
            }
            Err(e) if e.path == "." && e.message.starts_with("not a Tidewater manifest") => {
                out.errors.push(ImportError::UnknownShape {
                    file: file.into(),
                    path: prefix("."),
                    message: "not a RegisterTaskDefinition or CreateService body, describe-task-definition / describe-services / create-service output, a CloudFormation template or a Tidewater manifest".into(),
                })
            }
            Err(e) => {
                // A type error of the typed parse names no field: find it with the ECS model.
                let (path, message) = match locate(doc).filter(|_| e.path == ".") {
                    Some(i) => (i.source, format!("{} ({})", i.message, e.message)),
                    None => (e.path, e.message),
                };
                out.errors.push(ImportError::InvalidValue {
                    file: file.into(),
                    path: prefix(&path),
                    message,
                })
            }
        }
    }
    out
}

/// A recognised object: its kind, manifest name, spec and ECS name.
struct Identified {
    kind: Kind,
    name: String,
    spec: Value,
    ecs_name: String,
}

fn identify(resource: Resource) -> Identified {
    let id = |kind, name: String, spec: Result<Value, serde_json::Error>, ecs_name| Identified {
        kind,
        name,
        spec: spec.expect("specs serialise"),
        ecs_name,
    };
    match resource {
        Resource::TaskDefinition { name, spec } => {
            let family = spec.register.family.clone().filter(|f| !f.is_empty());
            let ecs = family.unwrap_or_else(|| name.clone());
            id(Kind::TaskDefinition, name, serde_json::to_value(&spec), ecs)
        }
        Resource::Service { name, spec } => {
            let service = spec.create.service_name.clone().filter(|f| !f.is_empty());
            let ecs = service.unwrap_or_else(|| name.clone());
            id(Kind::Service, name, serde_json::to_value(&spec), ecs)
        }
        Resource::Cluster { name, spec } => id(
            Kind::Cluster,
            name.clone(),
            serde_json::to_value(&spec),
            name,
        ),
        Resource::Task { name, spec } => {
            id(Kind::Task, name.clone(), serde_json::to_value(&spec), name)
        }
        Resource::ScheduledTask { name, spec } => id(
            Kind::ScheduledTask,
            name.clone(),
            serde_json::to_value(&spec),
            name,
        ),
    }
}

fn imported(
    file: &str,
    path: &str,
    base: &str,
    what: &str,
    resource: Resource,
    notes: Vec<(String, String)>,
) -> Imported {
    let Identified {
        kind,
        name,
        spec,
        ecs_name,
    } = identify(resource);
    // A manifest keeps its own name; a raw ECS name that is not a valid Kubernetes name is
    // sanitised (and reported) when the manifest is made.
    let ecs_name = if what == "Tidewater manifest" {
        name
    } else {
        ecs_name
    };
    let spec_base = if what == "Tidewater manifest" {
        "spec"
    } else {
        base
    };
    let mut paths = Vec::new();
    leaves(&spec, "", &mut paths);
    let fields = paths
        .into_iter()
        .map(|p| {
            let source = join(spec_base, &p);
            (p, source)
        })
        .collect();
    let notes = notes
        .into_iter()
        .map(|(source, message)| {
            let path = match base {
                "." => source.clone(),
                b => source
                    .strip_prefix(b)
                    .map(|p| p.trim_start_matches('.').to_string())
                    .unwrap_or_else(|| source.clone()),
            };
            Note {
                kind: NoteKind::Dropped,
                path,
                source,
                message,
            }
        })
        .collect();
    Imported {
        kind,
        ecs_name,
        spec,
        source: Source {
            file: file.into(),
            path: path.into(),
            what: what.into(),
        },
        fields,
        notes,
    }
}
