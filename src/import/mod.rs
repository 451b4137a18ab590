//! `tidewater import`: AWS CLI JSON, CloudFormation templates and Terraform configurations →
//! Tidewater manifests and a migration report.
//!
//! The core is pure: [`import`] takes the input texts (and a way to read files that Terraform's
//! `file()` names) and returns the manifests and the report. Only [`main`] touches the file
//! system. The flow:
//!
//! 1. [`detect`] tells the format of each file;
//! 2. [`aws_cli`], [`cloudformation`] and [`terraform`] turn each input into [`Imported`]
//!    objects: an ECS request body (camelCase, ECS types, via [`model`]) plus where every field
//!    came from and what was dropped or left unresolved; the CloudFormation and Terraform
//!    readers evaluate their own syntax and share one resource conversion ([`convert`]);
//!    [`limits`] bounds every input and evaluation, and [`files`] confines what Terraform's
//!    `file()` reads to the module directory;
//! 3. the objects become manifests with sanitised names, are checked by the same parsing and
//!    validation `render` uses, and rendered together so that [`report`] can state, per field,
//!    its disposition from the translation table and what was approximated, and derive the
//!    follow-ups on AWS/EKS from the objects that would be created.

pub mod assemble;
pub mod aws_cli;
pub mod cloudformation;
pub mod convert;
pub mod detect;
pub mod dynamic;
pub mod files;
pub mod limits;
pub mod model;
pub mod report;
pub mod terraform;

use crate::translate::fields::Request;
use crate::translate::names;
use crate::translate::{input, plan};
use crate::yaml;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub use detect::Format;
pub use files::Files;
pub use report::Report;

/// Command-line arguments of `tidewater import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files or directories to import: AWS CLI JSON, CloudFormation templates (YAML or JSON),
    /// Terraform (`.tf`, with `.tfvars`). Directories are read recursively.
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Write one file per object into this directory instead of printing the manifests.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// A CloudFormation parameter or pseudo parameter (`AWS::Region=eu-west-1`), or a Terraform
    /// variable (`image=nginx`), overriding defaults. Repeatable.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Write the migration report to FILE: JSON (`.json`) or Markdown (`.md`, or any other name),
    /// unless `--report-format` says otherwise.
    #[arg(long = "report", value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Format of `--report`.
    #[arg(long = "report-format", value_enum)]
    pub report_format: Option<ReportFormat>,
    /// Set metadata.namespace on every manifest (and name it in the follow-ups).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Do not print the report table on stderr (errors are still printed).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

/// Report file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// JSON.
    Json,
    /// Markdown.
    Markdown,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=VALUE")),
    }
}

/// The Tidewater kinds an import produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Kind {
    /// An ECS cluster.
    Cluster,
    /// A task definition.
    TaskDefinition,
    /// A service.
    Service,
    /// A scheduled task.
    ScheduledTask,
    /// A one-off task.
    Task,
}

impl Kind {
    /// The kind's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cluster => "Cluster",
            Kind::TaskDefinition => "TaskDefinition",
            Kind::Service => "Service",
            Kind::ScheduledTask => "ScheduledTask",
            Kind::Task => "Task",
        }
    }

    /// The request of the field table that covers the spec.
    pub fn request(self) -> Request {
        match self {
            Kind::Cluster => Request::CreateCluster,
            Kind::TaskDefinition => Request::RegisterTaskDefinition,
            Kind::Service => Request::CreateService,
            Kind::ScheduledTask | Kind::Task => Request::RunTask,
        }
    }
}

/// What a note says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoteKind {
    /// An input field with no ECS counterpart, not carried over.
    Dropped,
    /// A value that could not be resolved statically: left as a placeholder or left out.
    Unresolved,
    /// A value assumed by the import (a default, a derived name, a branch taken).
    Assumed,
    /// The Kubernetes name differs from the ECS name.
    Renamed,
}

impl NoteKind {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Dropped => "dropped",
            NoteKind::Unresolved => "unresolved",
            NoteKind::Assumed => "assumed",
            NoteKind::Renamed => "renamed",
        }
    }
}

/// Something the import did that the user must know about, about one field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Note {
    /// What happened.
    pub kind: NoteKind,
    /// Path in the ECS spec (empty when the note is about the whole object).
    pub path: String,
    /// Path in the input.
    pub source: String,
    /// What happened, in words.
    pub message: String,
}

/// Where an imported object came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    /// The file.
    pub file: String,
    /// Path of the object in the file (`Resources.Web`, `aws_ecs_service.web`, `services[0]`).
    pub path: String,
    /// What it was (`AWS::ECS::Service`, `aws_ecs_service`, `describe-services output`).
    #[serde(rename = "type")]
    pub what: String,
}

/// One object produced from an input, before it becomes a manifest.
#[derive(Clone, Debug)]
pub struct Imported {
    /// Kind.
    pub kind: Kind,
    /// The ECS name (family, service, cluster or rule name) the Kubernetes name derives from.
    pub ecs_name: String,
    /// The spec: the ECS request body (and Tidewater extensions).
    pub spec: Value,
    /// Where it came from.
    pub source: Source,
    /// (path in the spec, path in the input) of every field carried over.
    pub fields: Vec<(String, String)>,
    /// What was dropped, left unresolved or assumed.
    pub notes: Vec<Note>,
}

/// Something that failed: the object (or the file) it concerns was not imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file}: cannot read: {message}")]
    Read {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// Not valid JSON, YAML or HCL.
    #[error("{file}: {path}: not valid {format}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// Where (`.` or `line L, column C`).
        path: String,
        /// JSON, YAML or HCL.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A document or resource whose shape is not one the import knows.
    #[error("{file}: {path}: {message}")]
    UnknownShape {
        /// The file.
        file: String,
        /// Path of the document or resource.
        path: String,
        /// What it is not.
        message: String,
    },
    /// A field ECS requires is missing.
    #[error("{file}: {path}: missing required field `{field}`")]
    MissingField {
        /// The file.
        file: String,
        /// Path of the object lacking it.
        path: String,
        /// The ECS member.
        field: String,
    },
    /// A value cannot be what ECS expects.
    #[error("{file}: {path}: {message}")]
    InvalidValue {
        /// The file.
        file: String,
        /// Path of the value.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The object was rejected by the checks `render` and the CRDs apply.
    #[error("{file}: {path}: {message}")]
    Rejected {
        /// The file.
        file: String,
        /// Path (in the input, or `spec...` in the manifest).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The input was refused: a file read outside the module directory, an input that is not
    /// a regular file or is too large, nesting too deep, an evaluation that grows without bound.
    #[error("{file}: {path}: {message}")]
    Refused {
        /// The file.
        file: String,
        /// Where (`.`, `line L, column C`, or the path being evaluated).
        path: String,
        /// Why.
        message: String,
    },
    /// Two inputs produce the same object.
    #[error("{file}: {path}: {message}")]
    Duplicate {
        /// The file of the second one.
        file: String,
        /// Its path.
        path: String,
        /// Which object, and where the first came from.
        message: String,
    },
}

impl ImportError {
    /// A stable label for the error's kind.
    pub fn label(&self) -> &'static str {
        match self {
            ImportError::Read { .. } => "read",
            ImportError::Syntax { .. } => "syntax",
            ImportError::UnknownShape { .. } => "unknown-shape",
            ImportError::MissingField { .. } => "missing-field",
            ImportError::InvalidValue { .. } => "invalid-value",
            ImportError::Rejected { .. } => "rejected",
            ImportError::Refused { .. } => "refused",
            ImportError::Duplicate { .. } => "duplicate",
        }
    }

    /// The file concerned.
    pub fn file(&self) -> &str {
        match self {
            ImportError::Read { file, .. }
            | ImportError::Syntax { file, .. }
            | ImportError::UnknownShape { file, .. }
            | ImportError::MissingField { file, .. }
            | ImportError::InvalidValue { file, .. }
            | ImportError::Rejected { file, .. }
            | ImportError::Refused { file, .. }
            | ImportError::Duplicate { file, .. } => file,
        }
    }

    /// The path in the file (`.` for the whole file).
    pub fn path(&self) -> &str {
        match self {
            ImportError::Read { .. } => ".",
            ImportError::Syntax { path, .. }
            | ImportError::UnknownShape { path, .. }
            | ImportError::MissingField { path, .. }
            | ImportError::InvalidValue { path, .. }
            | ImportError::Rejected { path, .. }
            | ImportError::Refused { path, .. }
            | ImportError::Duplicate { path, .. } => path,
        }
    }

    /// The message without file and path.
    pub fn message(&self) -> String {
        match self {
            ImportError::Read { message, .. } => format!("cannot read: {message}"),
            ImportError::Syntax {
                format, message, ..
            } => format!("not valid {format}: {message}"),
            ImportError::MissingField { field, .. } => format!("missing required field `{field}`"),
            ImportError::UnknownShape { message, .. }
            | ImportError::InvalidValue { message, .. }
            | ImportError::Rejected { message, .. }
            | ImportError::Refused { message, .. }
            | ImportError::Duplicate { message, .. } => message.clone(),
        }
    }
}

/// An input resource that is not an ECS object and was left alone (an IAM role, a target group).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// Path of the resource.
    pub path: String,
    /// Its type.
    #[serde(rename = "type")]
    pub what: String,
    /// Why it was not imported.
    pub reason: String,
}

/// What one input (a file, or a Terraform module) produced.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The objects.
    pub objects: Vec<Imported>,
    /// Errors; the other objects are still imported.
    pub errors: Vec<ImportError>,
    /// Resources left alone.
    pub skipped: Vec<Skipped>,
    /// Follow-ups found while parsing (e.g. EC2 capacity providers → node groups).
    pub follow_ups: Vec<report::FollowUp>,
}

/// One input file's text.
#[derive(Clone, Debug)]
pub struct InputFile {
    /// The file's name as given (used in messages and the report).
    pub file: String,
    /// Its text.
    pub text: String,
}

/// Options of an import.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--param NAME=VALUE`: CloudFormation parameters and Terraform variables.
    pub params: BTreeMap<String, String>,
    /// `-n`: the namespace of every manifest.
    pub namespace: Option<String>,
}

/// One manifest produced.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Kind.
    pub kind: Kind,
    /// `metadata.name`.
    pub name: String,
    /// The whole manifest.
    pub value: Value,
}

/// The result of an import.
#[derive(Debug)]
pub struct Import {
    /// Manifests, in apply order (clusters, task definitions, services, scheduled tasks, tasks).
    pub manifests: Vec<Manifest>,
    /// The migration report.
    pub report: Report,
}

impl Import {
    /// Whether anything failed.
    pub fn failed(&self) -> bool {
        !self.report.errors.is_empty()
    }
}

/// The annotation naming where an imported object came from.
pub const SOURCE_ANNOTATION: &str = "ecs.tidewater.dev/imported-from";

/// Whether a value carries information (as the translation walk sees it).
pub(crate) fn present(v: &Value) -> bool {
    crate::translate::walk::present(v)
}

/// Paths of the scalar leaves of a value (`containerDefinitions[0].image`).
pub(crate) fn leaves(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(x, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Null => {}
        _ => out.push(path.to_string()),
    }
}

/// `WebService` → `web-service`, `ECSCluster` → `ecs-cluster`: a readable default name from a
/// CloudFormation logical ID or a Terraform resource name.
pub fn kebab(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_ascii_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_ascii_uppercase() => next.is_some_and(|n| n.is_ascii_lowercase()),
                _ => false,
            };
            if boundary && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Import the inputs. `read` returns the text of a file named relative to the current
/// directory (Terraform's `file()` and `templatefile()`), or `None`.
pub fn import(
    inputs: &[InputFile],
    opts: &Options,
    read: &dyn Fn(&str) -> Option<String>,
) -> Import {
    import_with(inputs, opts, Files::Function(read))
}

/// Import the inputs, Terraform's `file()` and `templatefile()` reading through `files`
/// (always confined to the module directory).
pub fn import_with(inputs: &[InputFile], opts: &Options, files: Files<'_>) -> Import {
    let mut parsed = Parsed::default();
    let mut formats = Vec::new();
    // Terraform: one module per directory.
    let mut modules: BTreeMap<String, Vec<&InputFile>> = BTreeMap::new();
    for input in inputs {
        if let Err(e) = limits::check_text(&input.file, &input.text) {
            formats.push((input.file.clone(), Format::Unknown(e.message())));
            parsed.errors.push(e);
            continue;
        }
        let format = detect::detect(&input.file, &input.text);
        formats.push((input.file.clone(), format.clone()));
        if input.text.trim().is_empty() {
            parsed.skipped.push(Skipped {
                file: input.file.clone(),
                path: ".".into(),
                what: format.as_str().into(),
                reason: "empty file".into(),
            });
            continue;
        }
        match format {
            Format::Terraform | Format::TerraformVars => {
                let dir = Path::new(&input.file)
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                modules.entry(dir).or_default().push(input);
            }
            Format::CloudFormation => merge(
                &mut parsed,
                cloudformation::import(&input.file, &input.text, opts),
            ),
            Format::AwsCli => merge(&mut parsed, aws_cli::import(&input.file, &input.text)),
            Format::Unknown(_) => parsed.errors.push(format.into_error(&input.file)),
        }
    }
    for (dir, files_of_module) in modules {
        merge(
            &mut parsed,
            terraform::import(&dir, &files_of_module, opts, files),
        );
    }
    finish(parsed, formats, opts)
}

fn merge(into: &mut Parsed, p: Parsed) {
    into.objects.extend(p.objects);
    into.errors.extend(p.errors);
    into.skipped.extend(p.skipped);
    into.follow_ups.extend(p.follow_ups);
}

/// Read-only members of describe output, except `revision` (kept: it is the revision the
/// rendered objects are labelled with).
fn strip_read_only(kind: Kind, spec: &mut Value, notes: &mut Vec<Note>, base: &str) {
    let request = match kind {
        Kind::TaskDefinition => "RegisterTaskDefinitionRequest",
        Kind::Service => "CreateServiceRequest",
        _ => return,
    };
    let Value::Object(map) = spec else { return };
    for key in model::read_only(request) {
        if key == "revision" {
            continue;
        }
        if let Some(v) = map.remove(&key)
            && present(&v)
        {
            notes.push(Note {
                kind: NoteKind::Dropped,
                path: key.clone(),
                source: if base.is_empty() {
                    key.clone()
                } else {
                    format!("{base}.{key}")
                },
                message: "read-only member of describe output (state, not configuration); dropped"
                    .into(),
            });
        }
    }
}

/// Task-level cpu and memory hold at most 16 characters, and FARGATE requires both: a
/// placeholder that does not fit is left out, and FARGATE is left out of
/// `requiresCompatibilities` (a registration check only; placement comes from the launch type
/// or capacity provider) until both are known.
fn fit_task_size(obj: &mut Imported) {
    let Value::Object(spec) = &mut obj.spec else {
        return;
    };
    for key in ["cpu", "memory"] {
        if let Some(Value::String(s)) = spec.get(key)
            && s.len() > 16
        {
            let s = s.clone();
            spec.remove(key);
            obj.notes.push(Note {
                    kind: NoteKind::Unresolved,
                    path: key.into(),
                    source: obj.source.path.clone(),
                    message: format!("`{s}` is longer than a task size can be (16 characters): left out; set it to the real value"),
                });
        }
    }
    let sized = spec.contains_key("cpu") && spec.contains_key("memory");
    if let Some(Value::Array(compat)) = spec.get_mut("requiresCompatibilities")
        && !sized
        && compat.iter().any(|c| c == "FARGATE")
    {
        compat.retain(|c| c != "FARGATE");
        if compat.is_empty() {
            spec.remove("requiresCompatibilities");
        }
        obj.notes.push(Note {
                kind: NoteKind::Unresolved,
                path: "requiresCompatibilities".into(),
                source: obj.source.path.clone(),
                message: "FARGATE needs task-level cpu and memory, which are not known: left out of requiresCompatibilities (the launch type or capacity provider still chooses Fargate); add it back with the sizes".into(),
            });
    }
}

fn finish(parsed: Parsed, formats: Vec<(String, Format)>, opts: &Options) -> Import {
    let Parsed {
        objects,
        mut errors,
        skipped,
        follow_ups,
    } = parsed;
    let mut seen: BTreeMap<(Kind, String), Source> = BTreeMap::new();
    let mut accepted: Vec<(Imported, Manifest)> = Vec::new();
    for obj in objects {
        accepted.extend(accept(obj, opts, &mut seen, &mut errors));
    }
    // Render everything together: warnings per resource, validation, the objects for follow-ups.
    let docs: Vec<(String, Value)> = accepted
        .iter()
        .map(|(o, m)| (o.source.file.clone(), m.value.clone()))
        .collect();
    let rendered = plan::plan_documents(&docs, opts.namespace.as_deref());
    let rejected = render_errors(&rendered, &mut accepted, &mut errors);
    accepted.retain(|(_, m)| !rejected.contains(&describe(m)));
    accepted.sort_by_key(|(_, m)| m.kind);

    let report = report::build(report::Inputs {
        formats: &formats,
        objects: &accepted,
        rendered: &rendered,
        errors: &errors,
        skipped: &skipped,
        follow_ups,
        namespace: opts.namespace.as_deref(),
    });
    Import {
        manifests: accepted.into_iter().map(|(_, m)| m).collect(),
        report,
    }
}

/// `Kind/name` of a manifest, as render's messages name it.
fn describe(m: &Manifest) -> String {
    format!("{}/{}", m.kind.as_str(), m.name)
}

/// An object as a manifest: named, unique, cleaned and accepted by the parsing render and the
/// operator apply; otherwise an error.
fn accept(
    mut obj: Imported,
    opts: &Options,
    seen: &mut BTreeMap<(Kind, String), Source>,
    errors: &mut Vec<ImportError>,
) -> Option<(Imported, Manifest)> {
    let name = kubernetes_name(&mut obj);
    if let Some(first) = seen.get(&(obj.kind, name.clone())) {
        errors.push(ImportError::Duplicate {
            file: obj.source.file.clone(),
            path: obj.source.path.clone(),
            message: format!(
                "{}/{name} was already imported from {} ({}); import them separately or into different namespaces",
                obj.kind.as_str(),
                first.file,
                first.path
            ),
        });
        return None;
    }
    seen.insert((obj.kind, name.clone()), obj.source.clone());
    clean_spec(&mut obj);
    let value = manifest_value(&obj, &name, opts);
    // The same parsing render and the operator apply.
    if let Err(e) = input::recognise(&obj.source.file, &value) {
        errors.push(ImportError::Rejected {
            file: obj.source.file.clone(),
            path: format!("{}: {}", obj.source.path, e.path),
            message: format!("{}/{name}: {}", obj.kind.as_str(), e.message),
        });
        return None;
    }
    let manifest = Manifest {
        kind: obj.kind,
        name,
        value,
    };
    Some((obj, manifest))
}

/// The Kubernetes name of an object (noted when it differs from the ECS name).
fn kubernetes_name(obj: &mut Imported) -> String {
    let name = names::dns_subdomain(&obj.ecs_name);
    if name != obj.ecs_name {
        obj.notes.push(Note {
            kind: NoteKind::Renamed,
            path: String::new(),
            source: obj.source.path.clone(),
            message: format!(
                "`{}` is not a valid Kubernetes name: metadata.name is `{name}`",
                obj.ecs_name
            ),
        });
    }
    name
}

/// Drop read-only members, clean the spec for the CRDs, fit the task size; keep the fields that
/// are still in the spec.
fn clean_spec(obj: &mut Imported) {
    let base = match obj.source.path.as_str() {
        "." => String::new(),
        p => p.to_string(),
    };
    strip_read_only(obj.kind, &mut obj.spec, &mut obj.notes, &base);
    let root = match obj.kind {
        Kind::TaskDefinition => "RegisterTaskDefinitionRequest",
        Kind::Service => "CreateServiceRequest",
        Kind::Cluster => "CreateClusterRequest",
        Kind::ScheduledTask | Kind::Task => "RunTaskRequest",
    };
    for mut n in model::clean(model::Api::Ecs, root, &mut obj.spec) {
        n.source = obj
            .fields
            .iter()
            .find(|(p, _)| p.starts_with(&n.path))
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| obj.source.path.clone());
        obj.notes.push(n);
    }
    if obj.kind == Kind::TaskDefinition {
        fit_task_size(obj);
    }
    if let Value::Object(spec) = &obj.spec {
        obj.fields.retain(|(p, _)| {
            let top = p.split(['.', '[']).next().unwrap_or(p);
            spec.contains_key(top)
        });
    }
}

fn manifest_value(obj: &Imported, name: &str, opts: &Options) -> Value {
    let mut metadata = json!({
        "name": name,
        "annotations": { SOURCE_ANNOTATION: format!("{}#{}", obj.source.file, obj.source.path) },
    });
    if let Some(ns) = &opts.namespace {
        metadata["namespace"] = Value::String(ns.clone());
    }
    json!({
        "apiVersion": format!("{}/{}", crate::api::GROUP, crate::api::VERSION),
        "kind": obj.kind.as_str(),
        "metadata": metadata,
        "spec": obj.spec,
    })
}

/// Families of task definitions kept with placeholders that render cannot check.
fn pending_families(
    rendered: &plan::Output,
    accepted: &[(Imported, Manifest)],
) -> BTreeSet<String> {
    let mut pending = BTreeSet::new();
    for e in &rendered.errors {
        if !(e.message.starts_with("TaskDefinition/")
            && (e.message.contains("${") || e.message.contains("{{")))
        {
            continue;
        }
        let name = e.message["TaskDefinition/".len()..]
            .split(": ")
            .next()
            .unwrap_or_default();
        if let Some((o, _)) = accepted
            .iter()
            .find(|(_, m)| m.kind == Kind::TaskDefinition && m.name == name)
        {
            let family = o.spec.get("family").and_then(Value::as_str).unwrap_or(name);
            pending.insert(family.to_string());
        }
    }
    pending
}

/// Render's errors: a value left as a placeholder becomes a note of its object (which stays);
/// any other error rejects the object it names. Returns the rejected `Kind/name`s.
fn render_errors(
    rendered: &plan::Output,
    accepted: &mut [(Imported, Manifest)],
    errors: &mut Vec<ImportError>,
) -> BTreeSet<String> {
    let pending = pending_families(rendered, accepted);
    let mut rejected = BTreeSet::new();
    for e in &rendered.errors {
        // Messages are `Kind/name: ...` for resource errors.
        let resource = e.message.split(": ").next().unwrap_or_default().to_string();
        if placeholder_error(&e.message, &pending)
            && let Some((o, _)) = accepted.iter_mut().find(|(_, m)| describe(m) == resource)
        {
            let message = e.message[resource.len()..].trim_start_matches(": ");
            o.notes.push(Note {
                kind: NoteKind::Unresolved,
                path: e
                    .path
                    .trim_start_matches("spec")
                    .trim_start_matches('.')
                    .to_string(),
                source: o.source.path.clone(),
                message: format!("not rendered until the placeholder is replaced: {message}"),
            });
            continue;
        }
        match accepted.iter().find(|(_, m)| describe(m) == resource) {
            Some((o, _)) => {
                rejected.insert(resource.clone());
                errors.push(ImportError::Rejected {
                    file: o.source.file.clone(),
                    path: format!("{}: {}", o.source.path, e.path),
                    message: e.message.clone(),
                });
            }
            None => errors.push(ImportError::Rejected {
                file: e.file.clone(),
                path: e.path.clone(),
                message: e.message.clone(),
            }),
        }
    }
    rejected
}

/// Whether a render error is about a value left as a placeholder (the import's `${...}`, or the
/// input's own template syntax), or a task definition waiting for one.
fn placeholder_error(message: &str, pending: &BTreeSet<String>) -> bool {
    let waits_for = message
        .split_once("task definition `")
        .and_then(|(_, r)| r.split_once("` is invalid"))
        .is_some_and(|(f, _)| pending.contains(f));
    message.contains("${") || message.contains("{{") || waits_for
}

/// Manifests as one YAML stream.
pub fn to_yaml(manifests: &[Manifest]) -> String {
    manifests
        .iter()
        .map(|m| format!("---\n{}", yaml::to_string(&m.value)))
        .collect()
}

/// The file name of a manifest under `-o DIR`: `kind-name.yaml`.
pub fn file_name(m: &Manifest) -> String {
    format!("{}-{}.yaml", m.kind.as_str().to_ascii_lowercase(), m.name)
}

/// The name standard input (`-f -`) is reported under.
pub const STDIN: &str = "<stdin>";

/// Expand files and directories (recursively) into the files to import, in a stable order.
/// Each directory is walked once (a symlink back to an ancestor is not followed again); `-` is
/// kept (standard input).
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut walked = BTreeSet::new();
    for p in paths {
        collect(p, &mut walked, &mut out)?;
    }
    Ok(out)
}

fn collect(
    p: &Path,
    walked: &mut BTreeSet<PathBuf>,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    if !p.is_dir() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    if !walked.insert(std::fs::canonicalize(p)?) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    // A Terraform module directory: its other files are data for file() and templatefile(),
    // not inputs.
    let module = entries
        .iter()
        .any(|e| e.is_file() && e.extension().is_some_and(|x| x == "tf"));
    for e in entries {
        if e.is_dir() {
            collect(&e, walked, out)?;
        } else if module {
            if e.extension().is_some_and(|x| x == "tf" || x == "tfvars") {
                out.push(e);
            }
        } else if detect::importable_name(&e) {
            out.push(e);
        }
    }
    Ok(())
}

/// Read the inputs: files (regular files up to the size limit, UTF-8) or standard input (`-`).
pub fn read_inputs(files: Vec<PathBuf>) -> (Vec<InputFile>, Vec<ImportError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let stdin = f.as_os_str() == "-";
        let name = if stdin {
            STDIN.to_string()
        } else {
            f.display().to_string()
        };
        let text = if stdin {
            files::read_stdin()
        } else {
            files::read_regular(&f)
        };
        match text {
            Ok(text) => inputs.push(InputFile { file: name, text }),
            Err(files::InputError::Io(e)) => errors.push(ImportError::Read {
                file: name,
                message: e.to_string(),
            }),
            Err(e) => errors.push(ImportError::Refused {
                file: name,
                path: ".".into(),
                message: e.to_string(),
            }),
        }
    }
    (inputs, errors)
}

/// Write one file per manifest into `dir` (atomically, never through a symlink).
fn write_manifests(dir: &Path, manifests: &[Manifest]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for m in manifests {
        let path = dir.join(file_name(m));
        files::write_atomic(&path, &to_yaml(std::slice::from_ref(m)))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn write_report(args: &Args, report: &Report) -> Result<(), String> {
    let Some(path) = &args.report else {
        return Ok(());
    };
    let format = args.report_format.unwrap_or_else(|| {
        if path.extension().is_some_and(|e| e == "json") {
            ReportFormat::Json
        } else {
            ReportFormat::Markdown
        }
    });
    let text = match format {
        ReportFormat::Json => report.to_json(),
        ReportFormat::Markdown => report.to_markdown(),
    };
    files::write_atomic(path, &text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Run `tidewater import`.
pub fn main(args: Args) -> ExitCode {
    let files = match collect_files(&args.files) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (inputs, mut read_errors) = read_inputs(files);
    let opts = Options {
        params: args.params.iter().cloned().collect(),
        namespace: args.namespace.clone(),
    };
    let mut result = import_with(&inputs, &opts, Files::FileSystem);
    if !read_errors.is_empty() {
        read_errors.extend(result.report.errors);
        result.report.errors = read_errors;
    }
    let written = match &args.output_dir {
        Some(dir) => write_manifests(dir, &result.manifests),
        None => {
            print!("{}", to_yaml(&result.manifests));
            Ok(())
        }
    };
    if let Err(e) = written.and_then(|_| write_report(&args, &result.report)) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if args.quiet {
        for e in &result.report.errors {
            eprintln!("error: [{}] {e}", e.label());
        }
    } else {
        eprint!("{}", result.report.to_table());
    }
    if result.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_names() {
        assert_eq!(kebab("WebService"), "web-service");
        assert_eq!(kebab("ECSCluster"), "ecs-cluster");
        assert_eq!(kebab("taskdefinition"), "taskdefinition");
        assert_eq!(kebab("Service2Def"), "service2-def");
        assert_eq!(kebab("my_app"), "my-app");
    }

    #[test]
    fn params_parse() {
        assert_eq!(
            parse_param("AWS::Region=eu-west-1").unwrap(),
            ("AWS::Region".into(), "eu-west-1".into())
        );
        assert!(parse_param("nothing").is_err());
    }
}
