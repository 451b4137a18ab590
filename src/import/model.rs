//! The ECS and Application Auto Scaling API models (`api/ecs-model.json`), used to turn
//! CloudFormation properties (PascalCase) and Terraform arguments (snake_case) into the members
//! of the ECS request shapes, with the value types ECS expects.
//!
//! Members are matched by name ignoring case and underscores (`ContainerDefinitions`,
//! `container_definitions` → `containerDefinitions`), plus a few per-format renames given by the
//! caller. Scalars are coerced the way CloudFormation and Terraform do (`"80"` → `80` for an
//! integer, `"true"` → `true`, `256` → `"256"` for a string). Whatever has no member is dropped
//! and noted; placeholders for unresolved values are noted where they land and dropped where the
//! type cannot hold them (numbers, booleans, enums).

use super::{Note, NoteKind};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Which API a shape belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// Amazon ECS.
    Ecs,
    /// Application Auto Scaling.
    AutoScaling,
}

#[derive(Debug, Deserialize)]
struct Shape {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    members: BTreeMap<String, Member>,
    #[serde(default)]
    member: Option<String>,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default, rename = "enum")]
    values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Member {
    shape: String,
}

#[derive(Debug, Deserialize)]
struct Model {
    ecs: BTreeMap<String, Shape>,
    #[serde(rename = "autoScaling")]
    auto_scaling: BTreeMap<String, Shape>,
    #[serde(rename = "readOnly")]
    read_only: BTreeMap<String, BTreeMap<String, String>>,
}

/// The read-only members of describe output accepted beside a request's members.
pub fn read_only(request: &str) -> Vec<String> {
    model()
        .read_only
        .get(request)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        serde_json::from_str(include_str!("../../api/ecs-model.json"))
            .expect("api/ecs-model.json parses")
    })
}

fn shape(api: Api, name: &str) -> Option<&'static Shape> {
    let m = model();
    match api {
        Api::Ecs => m.ecs.get(name),
        Api::AutoScaling => m.auto_scaling.get(name),
    }
}

/// A member name compared ignoring case and underscores.
pub fn key(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A converted body, the (ECS path, input path) of its fields, and its notes.
pub type Converted = (Map<String, Value>, Vec<(String, String)>, Vec<Note>);

/// A rename: in structure `shape`, the source member whose [`key`] is `from` is the ECS member
/// `to`.
pub type Rename = (&'static str, &'static str, &'static str);

/// Convert `value` at `source` into `shape` for a reader: missing required members and invalid
/// values become errors of `file` (the missing member named by `field_name`), and every
/// unresolved placeholder is explained by `placeholders` (placeholder → why it is unresolved).
#[allow(clippy::too_many_arguments)]
pub fn convert_checked(
    api: Api,
    renames: &[Rename],
    placeholders: &BTreeMap<String, String>,
    file: &str,
    field_name: fn(&str) -> String,
    shape: &str,
    value: &Value,
    source: &str,
    errors: &mut Vec<super::ImportError>,
) -> Option<Converted> {
    let is = |s: &str| placeholders.keys().any(|p| s.contains(p.as_str()));
    let mut c = Converter::new(api, renames, &is);
    let out = c.convert(shape, value, source, "");
    let failed = !c.missing.is_empty() || !c.invalid.is_empty();
    for m in c.missing {
        let field = m.path.rsplit('.').next().unwrap_or(&m.path);
        errors.push(super::ImportError::MissingField {
            file: file.into(),
            path: m.source,
            field: field_name(field),
        });
    }
    for i in c.invalid {
        errors.push(super::ImportError::InvalidValue {
            file: file.into(),
            path: i.source,
            message: i.message,
        });
    }
    if failed {
        return None;
    }
    let notes = c
        .notes
        .into_iter()
        .map(|mut n| {
            if n.kind == NoteKind::Unresolved {
                let why: Vec<&str> = placeholders
                    .iter()
                    .filter(|(p, _)| n.message.contains(p.as_str()))
                    .map(|(_, w)| w.as_str())
                    .collect();
                if !why.is_empty() {
                    n.message = format!("{} ({})", n.message, why.join("; "));
                }
            }
            n
        })
        .collect();
    Some((out, c.fields, notes))
}

/// The JSON `input` of an EventBridge target (a TaskOverride) as RunTask `overrides`: converted
/// with `convert` and merged into `run`, its fields and notes prefixed with `overrides.`; text
/// that is not JSON is an error at `path`.
pub fn task_override(
    input: &str,
    path: &str,
    file: &str,
    convert: impl FnOnce(&Value, &str, &mut Vec<super::ImportError>) -> Option<Converted>,
    run: &mut Map<String, Value>,
    fields: &mut Vec<(String, String)>,
    notes: &mut Vec<Note>,
    errors: &mut Vec<super::ImportError>,
) {
    match serde_json::from_str::<Value>(input) {
        Ok(v) => {
            if let Some((o, f, n)) = convert(&v, path, errors) {
                run.insert("overrides".into(), Value::Object(o));
                fields.extend(f.into_iter().map(|(p, s)| (format!("overrides.{p}"), s)));
                notes.extend(n.into_iter().map(|mut x| {
                    x.path = format!("overrides.{}", x.path);
                    x
                }));
            }
        }
        Err(e) => errors.push(super::ImportError::InvalidValue {
            file: file.into(),
            path: path.to_string(),
            message: format!("not JSON: {e}"),
        }),
    }
}

/// Extra members the import requires although the model does not (ECS rejects their absence).
const ALSO_REQUIRED: &[(&str, &str)] = &[
    ("ContainerDefinition", "name"),
    ("ContainerDefinition", "image"),
];

/// Root members never required of an import: they default from the object's name, or are
/// implied by where the object is put.
const NOT_REQUIRED: &[&str] = &[
    "family",
    "serviceName",
    "ServiceNamespace",
    "ResourceId",
    "ScalableDimension",
    "PolicyName",
    "ScheduledActionName",
];

/// A missing required member: (path in the ECS request, source path of the enclosing object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Missing {
    /// Path of the missing member in the ECS request.
    pub path: String,
    /// Path of the enclosing object in the input.
    pub source: String,
}

/// An invalid value: (path in the input, what is wrong).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Path in the input.
    pub source: String,
    /// What is wrong.
    pub message: String,
}

/// Converts input values into one ECS request shape.
pub struct Converter<'a> {
    api: Api,
    renames: &'a [Rename],
    placeholders: &'a dyn Fn(&str) -> bool,
    /// (ECS path, source path) of every leaf written.
    pub fields: Vec<(String, String)>,
    /// What was dropped or left as a placeholder.
    pub notes: Vec<Note>,
    /// Required members that are missing.
    pub missing: Vec<Missing>,
    /// Values that cannot be what ECS expects.
    pub invalid: Vec<Invalid>,
    /// ECS paths left out because their value could not be resolved.
    unresolved: std::collections::BTreeSet<String>,
}

fn join(base: &str, member: &str) -> String {
    if base.is_empty() {
        member.to_string()
    } else {
        format!("{base}.{member}")
    }
}

impl<'a> Converter<'a> {
    /// A converter for `api`, with per-format renames and a test for placeholder strings.
    pub fn new(api: Api, renames: &'a [Rename], placeholders: &'a dyn Fn(&str) -> bool) -> Self {
        Converter {
            api,
            renames,
            placeholders,
            fields: Vec::new(),
            notes: Vec::new(),
            missing: Vec::new(),
            invalid: Vec::new(),
            unresolved: Default::default(),
        }
    }

    /// Convert `input` (at `source` in the input) into shape `root`, an object. `ecs_base` is the
    /// path of the result inside the spec (`""` for the spec itself).
    pub fn convert(
        &mut self,
        root: &str,
        input: &Value,
        source: &str,
        ecs_base: &str,
    ) -> Map<String, Value> {
        match self.value(root, input, source, ecs_base, true) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }

    fn note(&mut self, kind: NoteKind, path: &str, source: &str, message: String) {
        self.notes.push(Note {
            kind,
            path: path.to_string(),
            source: source.to_string(),
            message,
        });
    }

    fn is_placeholder(&self, v: &Value) -> bool {
        matches!(v, Value::String(s) if (self.placeholders)(s))
    }

    fn value(
        &mut self,
        shape_name: &str,
        input: &Value,
        source: &str,
        path: &str,
        root: bool,
    ) -> Option<Value> {
        if input.is_null() {
            return None;
        }
        let Some(shape) = shape(self.api, shape_name) else {
            // Not in the model (cannot happen for the roots used): keep as is.
            self.fields.push((path.to_string(), source.to_string()));
            return Some(input.clone());
        };
        match shape.ty.as_str() {
            "structure" => {
                let input = match input {
                    // Terraform blocks are lists; a single block is the structure.
                    Value::Array(items) if items.len() == 1 && items[0].is_object() => &items[0],
                    other => other,
                };
                let Value::Object(map) = input else {
                    return self.mismatch(input, source, path, "an object");
                };
                let mut out = Map::new();
                for (k, v) in map {
                    let src = join(source, k);
                    let Some(member) = self.member(shape_name, shape, k) else {
                        if super::present(v) {
                            self.note(
                                NoteKind::Dropped,
                                &join(path, k),
                                &src,
                                format!(
                                    "`{k}` is not a member of the ECS {shape_name} shape; dropped"
                                ),
                            );
                        }
                        continue;
                    };
                    let m = &shape.members[&member];
                    let p = join(path, &member);
                    if let Some(val) = self.value(&m.shape, v, &src, &p, false) {
                        out.insert(member, val);
                    }
                }
                if out.is_empty()
                    && !map.is_empty()
                    && map.keys().any(|k| {
                        self.member(shape_name, shape, k)
                            .is_some_and(|m| self.unresolved.contains(&join(path, &m)))
                    })
                {
                    // Nothing but unresolved values: an empty object would say something else.
                    self.unresolved.insert(path.to_string());
                    self.note(
                        NoteKind::Unresolved,
                        path,
                        source,
                        "left out: none of its members could be resolved".into(),
                    );
                    return None;
                }
                let also = ALSO_REQUIRED
                    .iter()
                    .filter(|(s, _)| *s == shape_name)
                    .map(|(_, m)| m.to_string());
                for req in shape.required.iter().cloned().chain(also) {
                    if root && NOT_REQUIRED.contains(&req.as_str()) {
                        continue;
                    }
                    let given = map.keys().any(|k| key(k) == key(&req));
                    if !out.contains_key(&req)
                        && given
                        && self.unresolved.contains(&join(path, &req))
                    {
                        // A required member could not be resolved: the object cannot stand.
                        self.unresolved.insert(path.to_string());
                        self.note(
                            NoteKind::Unresolved,
                            path,
                            source,
                            format!("left out: its required member `{req}` could not be resolved"),
                        );
                        return None;
                    }
                    if !out.contains_key(&req) && !given {
                        self.missing.push(Missing {
                            path: join(path, &req),
                            source: source.to_string(),
                        });
                    }
                }
                Some(Value::Object(out))
            }
            "list" => {
                let member = shape.member.as_deref().unwrap_or("String");
                match input {
                    Value::Array(items) => {
                        let mut out = Vec::new();
                        for (i, item) in items.iter().enumerate() {
                            if let Some(v) = self.value(
                                member,
                                item,
                                &format!("{source}[{i}]"),
                                &format!("{path}[{}]", out.len()),
                                false,
                            ) {
                                out.push(v);
                            }
                        }
                        Some(Value::Array(out))
                    }
                    // One value where a list is expected (a placeholder for a whole list, or a
                    // single object): a one-element list.
                    other => self
                        .value(member, other, source, &format!("{path}[0]"), false)
                        .map(|v| Value::Array(vec![v])),
                }
            }
            "map" => {
                let value_shape = shape.value.as_deref().unwrap_or("String");
                match input {
                    Value::Object(map) => {
                        let mut out = Map::new();
                        for (k, v) in map {
                            let src = join(source, k);
                            if let Some(val) =
                                self.value(value_shape, v, &src, &join(path, k), false)
                            {
                                out.insert(k.clone(), val);
                            }
                        }
                        Some(Value::Object(out))
                    }
                    _ => self.mismatch(input, source, path, "a map"),
                }
            }
            "string" => {
                let s = match input {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return self.mismatch(input, source, path, "a string"),
                };
                if let Some(values) = &shape.values
                    && !values.contains(&s)
                {
                    if let Some(v) = values.iter().find(|v| v.eq_ignore_ascii_case(&s)) {
                        self.fields.push((path.to_string(), source.to_string()));
                        return Some(Value::String(v.clone()));
                    }
                    if (self.placeholders)(&s) {
                        self.unresolved.insert(path.to_string());
                        self.note(
                            NoteKind::Unresolved,
                            path,
                            source,
                            format!(
                                "`{s}` could not be resolved and must be one of {}; left out",
                                values.join(", ")
                            ),
                        );
                    } else {
                        self.invalid.push(Invalid {
                            source: source.to_string(),
                            message: format!("`{s}` is not one of {}", values.join(", ")),
                        });
                    }
                    return None;
                }
                if (self.placeholders)(&s) {
                    self.note(
                        NoteKind::Unresolved,
                        path,
                        source,
                        format!("could not be resolved: left as the placeholder `{s}`"),
                    );
                }
                self.fields.push((path.to_string(), source.to_string()));
                Some(Value::String(s))
            }
            "integer" | "long" => match input {
                Value::Number(n) if n.is_i64() || n.is_u64() => {
                    self.fields.push((path.to_string(), source.to_string()));
                    Some(input.clone())
                }
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 => {
                        self.fields.push((path.to_string(), source.to_string()));
                        Some(Value::from(f as i64))
                    }
                    _ => self.mismatch(input, source, path, "an integer"),
                },
                Value::String(s) => match s.trim().parse::<i64>() {
                    Ok(n) => {
                        self.fields.push((path.to_string(), source.to_string()));
                        Some(Value::from(n))
                    }
                    Err(_) => self.mismatch(input, source, path, "an integer"),
                },
                _ => self.mismatch(input, source, path, "an integer"),
            },
            "double" | "float" => match input {
                Value::Number(n) => {
                    self.fields.push((path.to_string(), source.to_string()));
                    Some(
                        n.as_f64()
                            .and_then(serde_json::Number::from_f64)
                            .map_or_else(|| input.clone(), Value::Number),
                    )
                }
                Value::String(s) => match s.trim().parse::<f64>() {
                    Ok(n) => {
                        self.fields.push((path.to_string(), source.to_string()));
                        Some(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
                    }
                    Err(_) => self.mismatch(input, source, path, "a number"),
                },
                _ => self.mismatch(input, source, path, "a number"),
            },
            "boolean" => match input {
                Value::Bool(_) => {
                    self.fields.push((path.to_string(), source.to_string()));
                    Some(input.clone())
                }
                Value::String(s)
                    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                {
                    self.fields.push((path.to_string(), source.to_string()));
                    Some(Value::Bool(s.eq_ignore_ascii_case("true")))
                }
                _ => self.mismatch(input, source, path, "true or false"),
            },
            _ => {
                self.fields.push((path.to_string(), source.to_string()));
                Some(input.clone())
            }
        }
    }

    fn mismatch(
        &mut self,
        input: &Value,
        source: &str,
        path: &str,
        expected: &str,
    ) -> Option<Value> {
        if self.is_placeholder(input) {
            self.unresolved.insert(path.to_string());
            let s = input.as_str().unwrap_or_default().to_string();
            self.note(
                NoteKind::Unresolved,
                path,
                source,
                format!("`{s}` could not be resolved and must be {expected}; left out"),
            );
        } else if matches!(input, Value::String(s) if s.contains("${") || s.contains("{{")) {
            self.unresolved.insert(path.to_string());
            // A template placeholder of the input's own (`${VAR}`, `{{ .Env }}`): not a value.
            self.note(
                NoteKind::Unresolved,
                path,
                source,
                format!("{input} is a template placeholder where ECS expects {expected}; left out"),
            );
        } else {
            self.invalid.push(Invalid {
                source: source.to_string(),
                message: format!("{input} is not {expected}"),
            });
        }
        None
    }

    fn member(&self, shape_name: &str, shape: &Shape, k: &str) -> Option<String> {
        let nk = key(k);
        if let Some((_, _, to)) = self
            .renames
            .iter()
            .find(|(s, from, _)| *s == shape_name && *from == nk)
        {
            return Some(to.to_string());
        }
        shape.members.keys().find(|m| key(m) == nk).cloned()
    }
}

/// Make an ECS request body acceptable to the CRDs without changing what it means: list items
/// whose required members are missing or empty (the `""` of `generate-cli-skeleton` output)
/// and empty objects in lists are dropped, booleans and numbers in string maps become strings.
/// Lists left empty are removed. Returns what was done, as notes.
pub fn clean(api: Api, root: &str, spec: &mut Value) -> Vec<Note> {
    let mut notes = Vec::new();
    clean_value(api, root, spec, "", &mut notes);
    notes
}

fn clean_value(api: Api, shape_name: &str, v: &mut Value, path: &str, notes: &mut Vec<Note>) {
    let Some(shape) = shape(api, shape_name) else {
        return;
    };
    match (shape.ty.as_str(), v) {
        ("structure", Value::Object(map)) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                let Some(m) = shape.members.get(&k) else {
                    continue;
                };
                let p = join(path, &k);
                let item = map.get_mut(&k).expect("present");
                let was_list = item.as_array().is_some_and(|a| !a.is_empty());
                clean_value(api, &m.shape, item, &p, notes);
                if was_list && item.as_array().is_some_and(Vec::is_empty) {
                    map.remove(&k);
                }
            }
        }
        ("list", Value::Array(items)) => {
            let member = shape.member.clone().unwrap_or_default();
            let item_shape = self::shape(api, &member);
            let mut i = 0;
            let mut index = 0;
            items.retain_mut(|item| {
                let p = format!("{path}[{index}]");
                index += 1;
                if let (Some(s), Value::Object(m)) = (item_shape, &*item)
                    && s.ty == "structure"
                {
                    let empty_required = s.required.iter().find(|r| {
                        m.get(*r)
                            .is_none_or(|x| x.is_null() || x.as_str() == Some(""))
                    });
                    if m.is_empty() || empty_required.is_some() {
                        let why = match empty_required {
                            Some(r) if !m.is_empty() => {
                                format!(
                                    "its required member `{r}` is empty (a skeleton placeholder?)"
                                )
                            }
                            _ => "it is empty".to_string(),
                        };
                        notes.push(Note {
                            kind: NoteKind::Dropped,
                            path: p,
                            source: String::new(),
                            message: format!("list item dropped: {why}"),
                        });
                        return false;
                    }
                }
                clean_value(api, &member, item, &format!("{path}[{i}]"), notes);
                i += 1;
                true
            });
        }
        ("map", Value::Object(map)) => {
            let value_shape = shape.value.clone().unwrap_or_default();
            let string_values = self::shape(api, &value_shape).is_some_and(|s| s.ty == "string");
            for (k, x) in map.iter_mut() {
                match x {
                    Value::Bool(_) | Value::Number(_) if string_values => {
                        notes.push(Note {
                            kind: NoteKind::Assumed,
                            path: join(path, k),
                            source: String::new(),
                            message: format!(
                                "{x} written as the string \"{x}\" (ECS takes strings here)"
                            ),
                        });
                        *x = Value::String(x.to_string());
                    }
                    other => clean_value(api, &value_shape, other, &join(path, k), notes),
                }
            }
        }
        _ => {}
    }
}

/// The names of a structure's members (for tests and docs).
pub fn members(api: Api, shape_name: &str) -> Vec<String> {
    shape(api, shape_name)
        .map(|s| s.members.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_placeholders(_: &str) -> bool {
        false
    }

    #[test]
    fn pascal_case_properties_become_ecs_members_with_ecs_types() {
        let mut c = Converter::new(Api::Ecs, &[], &no_placeholders);
        let out = c.convert(
            "RegisterTaskDefinitionRequest",
            &json!({"Family": "web", "Cpu": 256, "ContainerDefinitions": [
                {"Name": "web", "Image": "nginx", "Essential": "true", "Memory": "300",
                 "PortMappings": [{"ContainerPort": "80"}],
                 "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "g"}}}],
                "Volumes": [{"Name": "v", "EFSVolumeConfiguration": {"FilesystemId": "fs-1", "AuthorizationConfig": {"IAM": "ENABLED"}}}]}),
            "Properties",
            "",
        );
        assert_eq!(
            Value::Object(out),
            json!({"family": "web", "cpu": "256", "containerDefinitions": [
                {"name": "web", "image": "nginx", "essential": true, "memory": 300,
                 "portMappings": [{"containerPort": 80}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g"}}}],
                "volumes": [{"name": "v", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "authorizationConfig": {"iam": "ENABLED"}}}]})
        );
        assert!(c.notes.is_empty() && c.missing.is_empty() && c.invalid.is_empty());
        assert!(c.fields.contains(&(
            "containerDefinitions[0].portMappings[0].containerPort".into(),
            "Properties.ContainerDefinitions[0].PortMappings[0].ContainerPort".into()
        )));
    }

    #[test]
    fn unknown_members_are_dropped_missing_ones_reported_and_bad_values_invalid() {
        let mut c = Converter::new(Api::Ecs, &[], &no_placeholders);
        c.convert(
            "RegisterTaskDefinitionRequest",
            &json!({"Bogus": 1, "ContainerDefinitions": [{"Name": "a", "Memory": "lots"}]}),
            "P",
            "",
        );
        assert_eq!(c.notes[0].source, "P.Bogus");
        assert_eq!(
            c.missing,
            vec![Missing {
                path: "containerDefinitions[0].image".into(),
                source: "P.ContainerDefinitions[0]".into()
            }]
        );
        assert_eq!(c.invalid[0].source, "P.ContainerDefinitions[0].Memory");
    }

    #[test]
    fn snake_case_and_renames_and_placeholders() {
        let is = |s: &str| s.contains("${var.");
        let renames: &[Rename] = &[(
            "CreateServiceRequest",
            "orderedplacementstrategy",
            "placementStrategy",
        )];
        let mut c = Converter::new(Api::Ecs, renames, &is);
        let out = c.convert(
            "CreateServiceRequest",
            &json!({"desired_count": "${var.count}", "ordered_placement_strategy": [{"type": "spread", "field": "x"}],
                    "network_configuration": [{"awsvpc_configuration": [{"subnets": "${var.subnets}", "assign_public_ip": "enabled"}]}]}),
            "r",
            "",
        );
        assert_eq!(
            Value::Object(out),
            json!({"placementStrategy": [{"type": "spread", "field": "x"}],
                   "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["${var.subnets}"], "assignPublicIp": "ENABLED"}}})
        );
        let unresolved: Vec<_> = c.notes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(
            unresolved,
            vec![
                "desiredCount",
                "networkConfiguration.awsvpcConfiguration.subnets[0]"
            ]
        );
    }
}
