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

/// A rename: in structure `shape`, the source member whose [`key`] is `from` is the ECS member
/// `to`.
pub type Rename = (&'static str, &'static str, &'static str);

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

/// Where a value is: its path in the input and in the ECS request.
#[derive(Clone, Copy)]
struct At<'p> {
    source: &'p str,
    path: &'p str,
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

    fn field(&mut self, at: At<'_>) {
        self.fields
            .push((at.path.to_string(), at.source.to_string()));
    }

    /// A leaf kept as it is.
    fn keep(&mut self, input: &Value, at: At<'_>) -> Option<Value> {
        self.field(at);
        Some(input.clone())
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
        let at = At { source, path };
        let Some(shape) = shape(self.api, shape_name) else {
            // Not in the model (cannot happen for the roots used): keep as is.
            return self.keep(input, at);
        };
        match shape.ty.as_str() {
            "structure" => self.structure(shape_name, shape, input, at, root),
            "list" => self.list(shape, input, at),
            "map" => self.map(shape, input, at),
            "string" => self.string(shape, input, at),
            "integer" | "long" => self.integer(input, at),
            "double" | "float" => self.double(input, at),
            "boolean" => self.boolean(input, at),
            _ => self.keep(input, at),
        }
    }

    fn structure(
        &mut self,
        shape_name: &str,
        shape: &Shape,
        input: &Value,
        at: At<'_>,
        root: bool,
    ) -> Option<Value> {
        let input = match input {
            // Terraform blocks are lists; a single block is the structure.
            Value::Array(items) if items.len() == 1 && items[0].is_object() => &items[0],
            other => other,
        };
        let Value::Object(map) = input else {
            return self.mismatch(input, at.source, at.path, "an object");
        };
        let out = self.members(shape_name, shape, map, at);
        if out.is_empty() && !map.is_empty() && self.only_unresolved(shape_name, shape, map, at) {
            // Nothing but unresolved values: an empty object would say something else.
            self.unresolved.insert(at.path.to_string());
            self.note(
                NoteKind::Unresolved,
                at.path,
                at.source,
                "left out: none of its members could be resolved".into(),
            );
            return None;
        }
        self.required(shape_name, shape, map, &out, at, root)?;
        Some(Value::Object(out))
    }

    /// The members of a structure that convert; the others are dropped and noted.
    fn members(
        &mut self,
        shape_name: &str,
        shape: &Shape,
        map: &Map<String, Value>,
        at: At<'_>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in map {
            let src = join(at.source, k);
            let Some(member) = self.member(shape_name, shape, k) else {
                if super::present(v) {
                    self.note(
                        NoteKind::Dropped,
                        &join(at.path, k),
                        &src,
                        format!("`{k}` is not a member of the ECS {shape_name} shape; dropped"),
                    );
                }
                continue;
            };
            let m = &shape.members[&member];
            let p = join(at.path, &member);
            if let Some(val) = self.value(&m.shape, v, &src, &p, false) {
                out.insert(member, val);
            }
        }
        out
    }

    fn only_unresolved(
        &self,
        shape_name: &str,
        shape: &Shape,
        map: &Map<String, Value>,
        at: At<'_>,
    ) -> bool {
        map.keys().any(|k| {
            self.member(shape_name, shape, k)
                .is_some_and(|m| self.unresolved.contains(&join(at.path, &m)))
        })
    }

    /// Check the required members: `None` when one could not be resolved (the object cannot
    /// stand); missing ones are recorded.
    fn required(
        &mut self,
        shape_name: &str,
        shape: &Shape,
        map: &Map<String, Value>,
        out: &Map<String, Value>,
        at: At<'_>,
        root: bool,
    ) -> Option<()> {
        let also = ALSO_REQUIRED
            .iter()
            .filter(|(s, _)| *s == shape_name)
            .map(|(_, m)| m.to_string());
        for req in shape.required.iter().cloned().chain(also) {
            if (root && NOT_REQUIRED.contains(&req.as_str())) || out.contains_key(&req) {
                continue;
            }
            let given = map.keys().any(|k| key(k) == key(&req));
            if given && self.unresolved.contains(&join(at.path, &req)) {
                self.unresolved.insert(at.path.to_string());
                self.note(
                    NoteKind::Unresolved,
                    at.path,
                    at.source,
                    format!("left out: its required member `{req}` could not be resolved"),
                );
                return None;
            }
            if !given {
                self.missing.push(Missing {
                    path: join(at.path, &req),
                    source: at.source.to_string(),
                });
            }
        }
        Some(())
    }

    fn list(&mut self, shape: &Shape, input: &Value, at: At<'_>) -> Option<Value> {
        let member = shape.member.as_deref().unwrap_or("String");
        match input {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let source = format!("{}[{i}]", at.source);
                    let path = format!("{}[{}]", at.path, out.len());
                    if let Some(v) = self.value(member, item, &source, &path, false) {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            // One value where a list is expected (a placeholder for a whole list, or a single
            // object): a one-element list.
            other => self
                .value(member, other, at.source, &format!("{}[0]", at.path), false)
                .map(|v| Value::Array(vec![v])),
        }
    }

    fn map(&mut self, shape: &Shape, input: &Value, at: At<'_>) -> Option<Value> {
        let value_shape = shape.value.as_deref().unwrap_or("String");
        let Value::Object(map) = input else {
            return self.mismatch(input, at.source, at.path, "a map");
        };
        let mut out = Map::new();
        for (k, v) in map {
            let src = join(at.source, k);
            if let Some(val) = self.value(value_shape, v, &src, &join(at.path, k), false) {
                out.insert(k.clone(), val);
            }
        }
        Some(Value::Object(out))
    }

    fn string(&mut self, shape: &Shape, input: &Value, at: At<'_>) -> Option<Value> {
        let s = match input {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return self.mismatch(input, at.source, at.path, "a string"),
        };
        if let Some(values) = &shape.values
            && !values.contains(&s)
        {
            return self.enumeration(values, s, at);
        }
        if (self.placeholders)(&s) {
            self.note(
                NoteKind::Unresolved,
                at.path,
                at.source,
                format!("could not be resolved: left as the placeholder `{s}`"),
            );
        }
        self.field(at);
        Some(Value::String(s))
    }

    /// A string that is not literally one of an enumeration's values.
    fn enumeration(&mut self, values: &[String], s: String, at: At<'_>) -> Option<Value> {
        if let Some(v) = values.iter().find(|v| v.eq_ignore_ascii_case(&s)) {
            self.field(at);
            return Some(Value::String(v.clone()));
        }
        if (self.placeholders)(&s) {
            self.unresolved.insert(at.path.to_string());
            self.note(
                NoteKind::Unresolved,
                at.path,
                at.source,
                format!(
                    "`{s}` could not be resolved and must be one of {}; left out",
                    values.join(", ")
                ),
            );
        } else {
            self.invalid.push(Invalid {
                source: at.source.to_string(),
                message: format!("`{s}` is not one of {}", values.join(", ")),
            });
        }
        None
    }

    fn integer(&mut self, input: &Value, at: At<'_>) -> Option<Value> {
        let n = match input {
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(input.clone()),
            Value::Number(n) => n
                .as_f64()
                .filter(|f| f.fract() == 0.0)
                .map(|f| Value::from(f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok().map(Value::from),
            _ => None,
        };
        match n {
            Some(v) => {
                self.field(at);
                Some(v)
            }
            None => self.mismatch(input, at.source, at.path, "an integer"),
        }
    }

    fn double(&mut self, input: &Value, at: At<'_>) -> Option<Value> {
        let n = match input {
            Value::Number(n) => Some(
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(|| input.clone(), Value::Number),
            ),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .map(|n| serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)),
            _ => None,
        };
        match n {
            Some(v) => {
                self.field(at);
                Some(v)
            }
            None => self.mismatch(input, at.source, at.path, "a number"),
        }
    }

    fn boolean(&mut self, input: &Value, at: At<'_>) -> Option<Value> {
        match input {
            Value::Bool(_) => self.keep(input, at),
            Value::String(s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                self.field(at);
                Some(Value::Bool(s.eq_ignore_ascii_case("true")))
            }
            _ => self.mismatch(input, at.source, at.path, "true or false"),
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
        ("structure", Value::Object(map)) => clean_structure(api, shape, map, path, notes),
        ("list", Value::Array(items)) => clean_list(api, shape, items, path, notes),
        ("map", Value::Object(map)) => clean_map(api, shape, map, path, notes),
        _ => {}
    }
}

fn clean_structure(
    api: Api,
    shape: &Shape,
    map: &mut Map<String, Value>,
    path: &str,
    notes: &mut Vec<Note>,
) {
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

/// Why a list item is dropped: it is empty, or a required member is empty.
fn empty_item(item_shape: Option<&Shape>, item: &Value) -> Option<String> {
    let (Some(s), Value::Object(m)) = (item_shape, item) else {
        return None;
    };
    if s.ty != "structure" {
        return None;
    }
    let empty_required = s.required.iter().find(|r| {
        m.get(*r)
            .is_none_or(|x| x.is_null() || x.as_str() == Some(""))
    });
    match empty_required {
        Some(r) if !m.is_empty() => Some(format!(
            "its required member `{r}` is empty (a skeleton placeholder?)"
        )),
        _ if m.is_empty() || empty_required.is_some() => Some("it is empty".to_string()),
        _ => None,
    }
}

fn clean_list(api: Api, shape: &Shape, items: &mut Vec<Value>, path: &str, notes: &mut Vec<Note>) {
    let member = shape.member.clone().unwrap_or_default();
    let item_shape = self::shape(api, &member);
    let mut i = 0;
    let mut index = 0;
    items.retain_mut(|item| {
        let p = format!("{path}[{index}]");
        index += 1;
        if let Some(why) = empty_item(item_shape, item) {
            notes.push(Note {
                kind: NoteKind::Dropped,
                path: p,
                source: String::new(),
                message: format!("list item dropped: {why}"),
            });
            return false;
        }
        clean_value(api, &member, item, &format!("{path}[{i}]"), notes);
        i += 1;
        true
    });
}

fn clean_map(
    api: Api,
    shape: &Shape,
    map: &mut Map<String, Value>,
    path: &str,
    notes: &mut Vec<Note>,
) {
    let value_shape = shape.value.clone().unwrap_or_default();
    let string_values = self::shape(api, &value_shape).is_some_and(|s| s.ty == "string");
    for (k, x) in map.iter_mut() {
        match x {
            Value::Bool(_) | Value::Number(_) if string_values => {
                notes.push(Note {
                    kind: NoteKind::Assumed,
                    path: join(path, k),
                    source: String::new(),
                    message: format!("{x} written as the string \"{x}\" (ECS takes strings here)"),
                });
                *x = Value::String(x.to_string());
            }
            other => clean_value(api, &value_shape, other, &join(path, k), notes),
        }
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
