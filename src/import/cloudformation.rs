//! CloudFormation templates (YAML with short-form intrinsics, or JSON) → ECS request bodies.
//!
//! Intrinsic functions are evaluated statically: parameters from `--param` or their `Default`,
//! pseudo parameters from `--param` (`AWS::Partition` and `AWS::URLSuffix` have the commercial
//! values, `AWS::StackName` defaults to the file name), `Conditions` where they depend only on
//! known values, `Mappings`. A `Ref`/`Fn::GetAtt` to an ECS resource of the same template resolves
//! to the imported object's name (the task definition family, the cluster or service name). What
//! cannot be resolved becomes a visible placeholder, `${Name}` or `${Resource.Attribute}`,
//! reported where it lands with why; in a number, boolean or enumeration it is left out.

use super::assemble::{self, Part, Piece, Schedule};
use super::model::{self, Api, Converted, Rename};
use super::report::FollowUp;
use super::{ImportError, Imported, Kind, Note, NoteKind, Options, Parsed, Skipped, Source, kebab};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const NO_VALUE: &str = "\u{0}AWS::NoValue";

const RENAMES: &[Rename] = &[
    (
        "ProxyConfiguration",
        "proxyconfigurationproperties",
        "properties",
    ),
    (
        "CreateServiceRequest",
        "placementstrategies",
        "placementStrategy",
    ),
    ("CreateClusterRequest", "clustersettings", "settings"),
    ("RunTaskRequest", "taskdefinitionarn", "taskDefinition"),
    ("RunTaskRequest", "taskcount", "count"),
    ("RunTaskRequest", "placementstrategies", "placementStrategy"),
    ("RunTaskRequest", "placementstrategy", "placementStrategy"),
    ("RunTaskRequest", "taglist", "tags"),
];

/// Convert a YAML value (with CloudFormation's short-form tags) to JSON with the long forms.
fn to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => serde_yaml_ng::to_string(&other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let inner = to_json(t.value);
            match name.as_str() {
                "Ref" => json!({ "Ref": inner }),
                "Condition" => json!({ "Condition": inner }),
                "GetAtt" => {
                    let inner = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((a, b)) => json!([a, b]),
                            None => Value::String(s),
                        },
                        other => other,
                    };
                    json!({ "Fn::GetAtt": inner })
                }
                _ => {
                    let mut m = Map::new();
                    m.insert(format!("Fn::{name}"), inner);
                    Value::Object(m)
                }
            }
        }
    }
}

/// Parse a template's text (YAML or JSON) into JSON with long-form intrinsics.
pub fn parse(file: &str, text: &str) -> Result<Value, ImportError> {
    use serde::Deserialize;
    let json_like = text.trim_start().starts_with('{');
    let err = |e: serde_yaml_ng::Error| {
        let path = e
            .location()
            .map(|l| format!("line {}, column {}", l.line(), l.column()))
            .unwrap_or_else(|| ".".into());
        ImportError::Syntax {
            file: file.into(),
            path,
            format: if json_like { "JSON" } else { "YAML" },
            message: e.to_string(),
        }
    };
    let de = serde_yaml_ng::Deserializer::from_str(text)
        .next()
        .ok_or_else(|| ImportError::UnknownShape {
            file: file.into(),
            path: ".".into(),
            message: "empty template".into(),
        })?;
    let mut doc = serde_yaml_ng::Value::deserialize(de).map_err(err)?;
    doc.apply_merge().map_err(err)?;
    Ok(to_json(doc))
}

/// A template being evaluated.
struct Eval<'a> {
    params: Map<String, Value>,
    overrides: &'a BTreeMap<String, String>,
    conditions: Map<String, Value>,
    mappings: Value,
    resources: Map<String, Value>,
    stack_name: String,
    /// Placeholder → why it is one.
    placeholders: BTreeMap<String, String>,
    /// Object-level notes (assumptions) collected while evaluating one resource.
    pending: Vec<Note>,
    names: BTreeMap<String, Option<String>>,
    conds: BTreeMap<String, Option<bool>>,
    stack_name_used: bool,
}

fn type_of(res: &Value) -> &str {
    res.get("Type").and_then(Value::as_str).unwrap_or_default()
}

/// The property naming an ECS resource, by type.
fn name_property(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "AWS::ECS::TaskDefinition" => "Family",
        "AWS::ECS::Service" => "ServiceName",
        "AWS::ECS::Cluster" => "ClusterName",
        "AWS::ECS::CapacityProvider" => "Name",
        "AWS::Events::Rule" => "Name",
        "AWS::Scheduler::Schedule" => "Name",
        "AWS::Logs::LogGroup" => "LogGroupName",
        _ => return None,
    })
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl<'a> Eval<'a> {
    fn placeholder(&mut self, text: &str, why: String) -> Value {
        let p = format!("${{{text}}}");
        self.placeholders.entry(p.clone()).or_insert(why);
        Value::String(p)
    }

    fn has_placeholder(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => self.placeholders.keys().any(|p| s.contains(p.as_str())),
            Value::Array(a) => a.iter().any(|x| self.has_placeholder(x)),
            Value::Object(m) => m.values().any(|x| self.has_placeholder(x)),
            _ => false,
        }
    }

    /// The name of an ECS resource of this template (evaluated), or its logical ID kebab-cased.
    fn resource_name(&mut self, id: &str) -> Option<String> {
        if let Some(n) = self.names.get(id) {
            return n.clone();
        }
        self.names.insert(id.to_string(), None); // recursion guard
        let res = self.resources.get(id)?.clone();
        let ty = type_of(&res).to_string();
        let prop = name_property(&ty)?;
        let given = res
            .get("Properties")
            .and_then(|p| p.get(prop))
            .cloned()
            .map(|v| self.eval(&v))
            .and_then(|v| scalar_string(&v))
            .filter(|s| !s.is_empty() && s != NO_VALUE);
        let name = match given {
            Some(n) => n,
            None if ty == "AWS::Logs::LogGroup" => return None,
            None => kebab(id),
        };
        self.names.insert(id.to_string(), Some(name.clone()));
        Some(name)
    }

    fn param(&mut self, name: &str) -> Value {
        let def = self.params.get(name).cloned().unwrap_or(Value::Null);
        let ty = def
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("String")
            .to_string();
        let raw = match self.overrides.get(name) {
            Some(v) => Some(Value::String(v.clone())),
            None => def.get("Default").cloned(),
        };
        let Some(raw) = raw else {
            return self.placeholder(
                name,
                format!("parameter `{name}` has no Default: pass --param {name}=VALUE"),
            );
        };
        let list = ty.starts_with("List<") || ty == "CommaDelimitedList";
        match raw {
            Value::String(s) if list => Value::Array(
                s.split(',')
                    .map(|x| Value::String(x.trim().to_string()))
                    .collect(),
            ),
            other => other,
        }
    }

    fn reference(&mut self, name: &str) -> Value {
        if self.params.contains_key(name) {
            return self.param(name);
        }
        if let Some(v) = self.overrides.get(name) {
            return Value::String(v.clone());
        }
        match name {
            "AWS::NoValue" => return Value::String(NO_VALUE.into()),
            "AWS::Partition" => return Value::String("aws".into()),
            "AWS::URLSuffix" => return Value::String("amazonaws.com".into()),
            "AWS::StackName" => {
                self.stack_name_used = true;
                return Value::String(self.stack_name.clone());
            }
            n if n.starts_with("AWS::") => {
                return self
                    .placeholder(n, format!("pseudo parameter `{n}`: pass --param {n}=VALUE"));
            }
            _ => {}
        }
        if let Some(res) = self.resources.get(name) {
            let ty = type_of(res).to_string();
            if let Some(n) = self.resource_name(name) {
                return Value::String(n);
            }
            return self.placeholder(
                name,
                format!("Ref to the {ty} resource `{name}`: its physical ID exists only once the stack is deployed"),
            );
        }
        self.placeholder(
            name,
            format!("Ref to `{name}`, which is neither a parameter nor a resource of the template"),
        )
    }

    fn get_att(&mut self, id: &str, attr: &str) -> Value {
        if let Some(res) = self.resources.get(id).cloned() {
            let ty = type_of(&res).to_string();
            let named = matches!(
                (ty.as_str(), attr),
                ("AWS::ECS::Service", "Name")
                    | ("AWS::ECS::Cluster", "Arn")
                    | ("AWS::ECS::TaskDefinition", "TaskDefinitionArn")
                    | ("AWS::ECS::CapacityProvider", "Name")
            );
            if named && let Some(n) = self.resource_name(id) {
                return Value::String(n);
            }
            // An IAM role with a RoleName has a predictable ARN.
            if ty == "AWS::IAM::Role" && attr == "Arn" {
                let props = res.get("Properties").cloned().unwrap_or(Value::Null);
                if let Some(name) = props.get("RoleName").cloned() {
                    let name = self.eval(&name);
                    let name = self.text_of(&name);
                    let path = props
                        .get("Path")
                        .and_then(Value::as_str)
                        .unwrap_or("/")
                        .to_string();
                    let arn = self.sub(
                        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role",
                        &Map::new(),
                    );
                    return Value::String(format!("{}{path}{name}", self.text_of(&arn)));
                }
            }
            return self.placeholder(
                &format!("{id}.{attr}"),
                format!("attribute {attr} of the {ty} resource `{id}` exists only once the stack is deployed"),
            );
        }
        self.placeholder(
            &format!("{id}.{attr}"),
            format!("Fn::GetAtt on `{id}`, which is not a resource of the template"),
        )
    }

    fn sub(&mut self, template: &str, vars: &Map<String, Value>) -> Value {
        let mut out = String::new();
        let mut rest = template;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            if let Some(lit) = var.strip_prefix('!') {
                out.push_str("${");
                out.push_str(lit);
                out.push('}');
            } else {
                let var = var.trim();
                let v = if let Some(v) = vars.get(var) {
                    let v = v.clone();
                    self.eval(&v)
                } else if self.params.contains_key(var)
                    || var.starts_with("AWS::")
                    || !var.contains('.')
                {
                    self.reference(var)
                } else {
                    let (a, b) = var.split_once('.').expect("contains a dot");
                    self.get_att(a, b)
                };
                out.push_str(&self.text_of(&v));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Value::String(out)
    }

    fn text_of(&mut self, v: &Value) -> String {
        match v {
            Value::String(s) if s == NO_VALUE => String::new(),
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Array(a) => a
                .iter()
                .map(|x| self.text_of(x))
                .collect::<Vec<_>>()
                .join(","),
            other => other.to_string(),
        }
    }

    fn condition(&mut self, name: &str) -> Option<bool> {
        if let Some(c) = self.conds.get(name) {
            return *c;
        }
        self.conds.insert(name.to_string(), None);
        let def = self.conditions.get(name).cloned()?;
        let v = self.truth(&def);
        self.conds.insert(name.to_string(), v);
        v
    }

    /// A condition expression's value, `None` when it depends on what is not known.
    fn truth(&mut self, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                match k.as_str() {
                    "Condition" => {
                        let name = arg.as_str()?.to_string();
                        self.condition(&name)
                    }
                    "Fn::Equals" => {
                        let a = arg.get(0).cloned().unwrap_or(Value::Null);
                        let b = arg.get(1).cloned().unwrap_or(Value::Null);
                        let a = self.eval(&a);
                        let b = self.eval(&b);
                        if self.has_placeholder(&a) || self.has_placeholder(&b) {
                            return None;
                        }
                        Some(self.text_of(&a) == self.text_of(&b))
                    }
                    "Fn::Not" => {
                        let x = arg.get(0).cloned().unwrap_or(Value::Null);
                        self.truth(&x).map(|b| !b)
                    }
                    "Fn::And" | "Fn::Or" => {
                        let items = arg.as_array().cloned().unwrap_or_default();
                        let vals: Vec<Option<bool>> = items.iter().map(|x| self.truth(x)).collect();
                        let and = k == "Fn::And";
                        if and && vals.contains(&Some(false)) {
                            Some(false)
                        } else if !and && vals.contains(&Some(true)) {
                            Some(true)
                        } else if vals.iter().any(Option::is_none) {
                            None
                        } else {
                            Some(and)
                        }
                    }
                    _ => {
                        let x = self.eval(v);
                        if self.has_placeholder(&x) {
                            None
                        } else {
                            self.truth(&x)
                        }
                    }
                }
            }
            _ => None,
        }
    }

    /// Why a condition is unknown: the placeholders its evaluation met.
    fn unknown_why(&mut self, name: &str) -> String {
        let def = self.conditions.get(name).cloned().unwrap_or(Value::Null);
        let mut refs = BTreeSet::new();
        collect_refs(&def, &mut refs);
        let params: Vec<String> = refs
            .into_iter()
            .filter(|r| {
                (self.params.contains_key(r) || r.starts_with("AWS::"))
                    && !self.overrides.contains_key(r)
            })
            .collect();
        if params.is_empty() {
            format!("condition `{name}` could not be evaluated statically")
        } else {
            format!(
                "condition `{name}` depends on {} without a value (pass {})",
                params
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                params
                    .iter()
                    .map(|p| format!("--param {p}=VALUE"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }

    fn eval(&mut self, v: &Value) -> Value {
        match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|x| self.eval(x))
                    .filter(|x| x.as_str() != Some(NO_VALUE))
                    .collect(),
            ),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                if k == "Ref" || k == "Condition" || k.starts_with("Fn::") {
                    self.intrinsic(k, arg)
                } else {
                    let x = self.eval(arg);
                    if x.as_str() == Some(NO_VALUE) {
                        Value::Object(Map::new())
                    } else {
                        json!({ k.clone(): x })
                    }
                }
            }
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    let x = self.eval(x);
                    if x.as_str() != Some(NO_VALUE) {
                        out.insert(k.clone(), x);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    fn intrinsic(&mut self, k: &str, arg: &Value) -> Value {
        let args = arg.as_array().cloned().unwrap_or_default();
        match k {
            "Ref" => {
                let name = self.eval(arg);
                match name.as_str() {
                    Some(n) => {
                        let n = n.to_string();
                        self.reference(&n)
                    }
                    None => self.placeholder("Ref", "Ref to a computed name".into()),
                }
            }
            "Fn::GetAtt" => {
                let parts: Vec<String> = match arg {
                    Value::String(s) => s.splitn(2, '.').map(str::to_string).collect(),
                    _ => args
                        .iter()
                        .map(|x| {
                            let x = self.eval(x);
                            self.text_of(&x)
                        })
                        .collect(),
                };
                match parts.as_slice() {
                    [id, attr] => self.get_att(id, attr),
                    _ => self.placeholder("Fn::GetAtt", "malformed Fn::GetAtt".into()),
                }
            }
            "Fn::Sub" => match arg {
                Value::String(s) => self.sub(s, &Map::new()),
                Value::Array(a) => {
                    let t = a.first().cloned().unwrap_or(Value::Null);
                    let t = self.eval(&t);
                    let vars = a
                        .get(1)
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    let t = self.text_of(&t);
                    self.sub(&t, &vars)
                }
                _ => self.placeholder("Fn::Sub", "malformed Fn::Sub".into()),
            },
            "Fn::Join" => {
                let delim = args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let list = args.get(1).cloned().unwrap_or(Value::Null);
                let list = self.eval(&list);
                let parts: Vec<String> = match &list {
                    Value::Array(a) => a.iter().map(|x| self.text_of(x)).collect(),
                    other => vec![self.text_of(other)],
                };
                Value::String(parts.join(&delim))
            }
            "Fn::Select" => {
                let idx = args.first().cloned().unwrap_or(Value::Null);
                let idx = self.eval(&idx);
                let list = args.get(1).cloned().unwrap_or(Value::Null);
                let list = self.eval(&list);
                let i = idx
                    .as_u64()
                    .or_else(|| idx.as_str().and_then(|s| s.parse().ok()));
                match (i, &list) {
                    (Some(i), Value::Array(a)) if (i as usize) < a.len() => a[i as usize].clone(),
                    _ => {
                        let text = format!(
                            "Select:{}:{}",
                            self.text_of(&idx),
                            self.text_of(&list)
                                .trim_matches(|c| c == '$' || c == '{' || c == '}')
                        );
                        self.placeholder(
                            &text,
                            "Fn::Select on a list known only once the stack is deployed".into(),
                        )
                    }
                }
            }
            "Fn::Split" => {
                let delim = args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or(",")
                    .to_string();
                let s = args.get(1).cloned().unwrap_or(Value::Null);
                let s = self.eval(&s);
                let s = self.text_of(&s);
                Value::Array(
                    s.split(delim.as_str())
                        .map(|x| Value::String(x.to_string()))
                        .collect(),
                )
            }
            "Fn::If" => {
                let name = args
                    .first()
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let branch = match self.condition(&name) {
                    Some(true) => 1,
                    Some(false) => 2,
                    None => {
                        let why = self.unknown_why(&name);
                        self.pending.push(Note {
                            kind: NoteKind::Assumed,
                            path: String::new(),
                            source: format!("Conditions.{name}"),
                            message: format!("{why}: Fn::If took its false branch"),
                        });
                        2
                    }
                };
                let x = args.get(branch).cloned().unwrap_or(Value::Null);
                self.eval(&x)
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                let mut m = Map::new();
                m.insert(k.to_string(), arg.clone());
                match self.truth(&Value::Object(m)) {
                    Some(b) => Value::Bool(b),
                    None => self.placeholder(k, format!("{k} could not be evaluated statically")),
                }
            }
            "Fn::FindInMap" => {
                let keys: Vec<Value> = args.iter().take(3).map(|x| self.eval(x)).collect();
                let texts: Vec<String> = keys.iter().map(|x| self.text_of(x)).collect();
                if keys.iter().all(|x| !self.has_placeholder(x))
                    && texts.len() == 3
                    && let Some(v) = self
                        .mappings
                        .get(&texts[0])
                        .and_then(|m| m.get(&texts[1]))
                        .and_then(|m| m.get(&texts[2]))
                        .cloned()
                {
                    return self.eval(&v);
                }
                if let Some(d) = args.get(3).and_then(|o| o.get("DefaultValue")).cloned() {
                    return self.eval(&d);
                }
                let text = format!("FindInMap:{}", texts.join("."));
                self.placeholder(
                    &text,
                    "Fn::FindInMap with keys known only at deployment".into(),
                )
            }
            "Fn::Base64" => {
                let x = self.eval(arg);
                let t = self.text_of(&x);
                Value::String(base64(t.as_bytes()))
            }
            "Fn::ToJsonString" => {
                let x = self.eval(arg);
                Value::String(x.to_string())
            }
            "Fn::Length" => match self.eval(arg) {
                Value::Array(a) => Value::from(a.len()),
                _ => self.placeholder("Fn::Length", "Fn::Length of an unknown list".into()),
            },
            "Fn::ImportValue" => {
                let x = self.eval(arg);
                // A name built from placeholders: keep it readable as one placeholder.
                let t = self.text_of(&x).replace("${", "").replace('}', "");
                self.placeholder(
                    &format!("ImportValue:{t}"),
                    format!("output `{t}` exported by another stack: pass the value or replace the placeholder"),
                )
            }
            other => self.placeholder(
                other,
                format!("{other} cannot be evaluated outside CloudFormation"),
            ),
        }
    }
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "Ref" {
                    if let Some(s) = x.as_str() {
                        out.insert(s.to_string());
                    }
                } else if k == "Fn::Sub" {
                    let s = x.as_str().or_else(|| x.get(0).and_then(Value::as_str));
                    for part in s.unwrap_or_default().split("${").skip(1) {
                        if let Some(name) = part.split('}').next() {
                            out.insert(name.to_string());
                        }
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Import one CloudFormation template.
pub fn import(file: &str, text: &str, opts: &Options) -> Parsed {
    let mut out = Parsed::default();
    let doc = match parse(file, text) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let Some(resources) = doc.get("Resources").and_then(Value::as_object).cloned() else {
        out.errors.push(ImportError::UnknownShape {
            file: file.into(),
            path: "Resources".into(),
            message: "a CloudFormation template needs a Resources map".into(),
        });
        return out;
    };
    let stem = Path::new(file)
        .file_name()
        .and_then(|s| s.to_str())
        .unwrap_or("stack");
    let stem = stem.split('.').next().unwrap_or(stem).to_string();
    let mut ev = Eval {
        params: doc
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        overrides: &opts.params,
        conditions: doc
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        mappings: doc.get("Mappings").cloned().unwrap_or(Value::Null),
        resources: resources.clone(),
        stack_name: opts.params.get("AWS::StackName").cloned().unwrap_or(stem),
        placeholders: BTreeMap::new(),
        pending: Vec::new(),
        names: BTreeMap::new(),
        conds: BTreeMap::new(),
        stack_name_used: false,
    };
    let mut pieces = Vec::new();
    let mut associations = Vec::new();
    for (id, res) in &resources {
        let ty = type_of(res).to_string();
        let path = format!("Resources.{id}");
        if ty.is_empty() {
            out.errors.push(ImportError::UnknownShape {
                file: file.into(),
                path: format!("{path}.Type"),
                message: "a resource needs a Type".into(),
            });
            continue;
        }
        let ecs = ty.starts_with("AWS::ECS::")
            || ty.starts_with("AWS::ApplicationAutoScaling::")
            || ty == "AWS::Events::Rule"
            || ty == "AWS::Scheduler::Schedule";
        if !ecs {
            out.skipped.push(Skipped {
                file: file.into(),
                path,
                what: ty,
                reason: "not an ECS resource; left to CloudFormation".into(),
            });
            continue;
        }
        let mut assumed = Vec::new();
        if let Some(cond) = res.get("Condition").and_then(Value::as_str) {
            match ev.condition(cond) {
                Some(true) => {}
                Some(false) => {
                    out.skipped.push(Skipped {
                        file: file.into(),
                        path,
                        what: ty,
                        reason: format!("its condition `{cond}` is false"),
                    });
                    continue;
                }
                None => {
                    let why = ev.unknown_why(cond);
                    assumed.push(Note {
                        kind: NoteKind::Assumed,
                        path: String::new(),
                        source: format!("{path}.Condition"),
                        message: format!("{why}: imported as if it were true"),
                    });
                }
            }
        }
        ev.pending.clear();
        let props = res.get("Properties").cloned().unwrap_or(json!({}));
        if !props.is_object() {
            out.errors.push(ImportError::UnknownShape {
                file: file.into(),
                path: format!("{path}.Properties"),
                message: "Properties must be a map".into(),
            });
            continue;
        }
        let evaluated = ev.eval(&props);
        let name = ev.resource_name(id).unwrap_or_else(|| kebab(id));
        // A policy names its target by Ref; the target's ResourceId names the service.
        let target_resource_id = props
            .get("ScalingTargetId")
            .and_then(|r| r.get("Ref"))
            .and_then(Value::as_str)
            .and_then(|t| resources.get(t))
            .and_then(|t| t.get("Properties"))
            .and_then(|p| p.get("ResourceId"))
            .cloned()
            .map(|t| ev.eval(&t))
            .and_then(|v| v.as_str().map(str::to_string));
        assumed.append(&mut ev.pending);
        let source = Source {
            file: file.into(),
            path: path.clone(),
            what: ty.clone(),
        };
        let props_path = format!("{path}.Properties");
        let ctx = Ctx {
            ev: &ev,
            file,
            props_path: &props_path,
        };
        match ty.as_str() {
            "AWS::ECS::TaskDefinition" => {
                if evaluated.get("Family").is_none() {
                    assumed.push(Note {
                        kind: NoteKind::Assumed,
                        path: "family".into(),
                        source: props_path.clone(),
                        message: format!("no Family: the family is `{name}`, from the logical ID (CloudFormation would generate one)"),
                    });
                }
                if let Some(obj) = ctx.object(
                    Kind::TaskDefinition,
                    "RegisterTaskDefinitionRequest",
                    &evaluated,
                    name,
                    source,
                    assumed,
                    &mut out.errors,
                ) {
                    out.objects.push(obj);
                }
            }
            "AWS::ECS::Service" => {
                if evaluated.get("ServiceName").is_none() {
                    assumed.push(Note {
                        kind: NoteKind::Assumed,
                        path: "serviceName".into(),
                        source: props_path.clone(),
                        message: format!("no ServiceName: the service is named `{name}`, from the logical ID (CloudFormation would generate one)"),
                    });
                }
                if let Some(mut obj) = ctx.object(
                    Kind::Service,
                    "CreateServiceRequest",
                    &evaluated,
                    name,
                    source,
                    assumed,
                    &mut out.errors,
                ) {
                    if let Some(spec) = obj.spec.as_object_mut() {
                        assemble::normalise_service(spec);
                    }
                    out.objects.push(obj);
                }
            }
            "AWS::ECS::Cluster" => {
                if let Some(obj) = ctx.object(
                    Kind::Cluster,
                    "CreateClusterRequest",
                    &evaluated,
                    name,
                    source,
                    assumed,
                    &mut out.errors,
                ) {
                    out.objects.push(obj);
                }
            }
            "AWS::ECS::ClusterCapacityProviderAssociations" => {
                associations.push((evaluated, source, assumed));
            }
            "AWS::ECS::CapacityProvider" => {
                let asg = evaluated
                    .pointer("/AutoScalingGroupProvider/AutoScalingGroupArn")
                    .and_then(Value::as_str)
                    .unwrap_or("its Auto Scaling group")
                    .to_string();
                out.follow_ups.push(FollowUp::node_group(&name, &asg));
                out.skipped.push(Skipped {
                    file: file.into(),
                    path,
                    what: ty,
                    reason: format!("an EC2 capacity provider has no Tidewater kind: workloads using `{name}` are placed on nodes labelled eks.amazonaws.com/nodegroup={name} (see the follow-ups)"),
                });
            }
            "AWS::ApplicationAutoScaling::ScalableTarget"
            | "AWS::ApplicationAutoScaling::ScalingPolicy" => {
                let target = ty.ends_with("ScalableTarget");
                let mut body = evaluated.as_object().cloned().unwrap_or_default();
                let resource_id = match target_resource_id {
                    Some(r) if !target => Some(r),
                    _ => body
                        .get("ResourceId")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                };
                let namespace = body
                    .get("ServiceNamespace")
                    .and_then(Value::as_str)
                    .unwrap_or("ecs");
                let service = resource_id.as_deref().and_then(assemble::service_of);
                let Some(service) = service.filter(|_| namespace == "ecs") else {
                    out.skipped.push(Skipped {
                        file: file.into(),
                        path,
                        what: ty,
                        reason: format!(
                            "does not scale an ECS service (ResourceId `{}`)",
                            resource_id.unwrap_or_default()
                        ),
                    });
                    continue;
                };
                body.remove("ScalingTargetId");
                let actions = if target {
                    body.remove("ScheduledActions")
                } else {
                    None
                };
                let shape = if target {
                    "RegisterScalableTargetRequest"
                } else {
                    "PutScalingPolicyRequest"
                };
                if let Some(piece) = ctx.piece(
                    &service,
                    if target { Part::Target } else { Part::Policy },
                    shape,
                    &Value::Object(body),
                    &props_path,
                    source.clone(),
                    assumed,
                    &mut out.errors,
                ) {
                    pieces.push(piece);
                }
                if let Some(Value::Array(actions)) = actions {
                    for (i, a) in actions.iter().enumerate() {
                        if let Some(piece) = ctx.piece(
                            &service,
                            Part::Action,
                            "PutScheduledActionRequest",
                            a,
                            &format!("{props_path}.ScheduledActions[{i}]"),
                            source.clone(),
                            Vec::new(),
                            &mut out.errors,
                        ) {
                            pieces.push(piece);
                        }
                    }
                }
            }
            "AWS::Events::Rule" | "AWS::Scheduler::Schedule" => {
                let scheduler = ty == "AWS::Scheduler::Schedule";
                let expression = evaluated.get("ScheduleExpression").and_then(Value::as_str);
                let targets: Vec<(String, Value)> = if scheduler {
                    evaluated
                        .get("Target")
                        .map(|t| (format!("{props_path}.Target"), t.clone()))
                        .into_iter()
                        .collect()
                } else {
                    evaluated
                        .get("Targets")
                        .and_then(Value::as_array)
                        .map(|ts| {
                            ts.iter()
                                .enumerate()
                                .map(|(i, t)| (format!("{props_path}.Targets[{i}]"), t.clone()))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let ecs_targets: Vec<_> = targets
                    .into_iter()
                    .filter(|(_, t)| t.get("EcsParameters").is_some())
                    .collect();
                if ecs_targets.is_empty() {
                    out.skipped.push(Skipped {
                        file: file.into(),
                        path,
                        what: ty,
                        reason: "has no ECS target".into(),
                    });
                    continue;
                }
                let Some(expression) = expression else {
                    out.skipped.push(Skipped {
                        file: file.into(),
                        path,
                        what: ty,
                        reason: "runs ECS tasks on an event pattern, not a schedule: Tidewater has no event-triggered tasks".into(),
                    });
                    continue;
                };
                let many = ecs_targets.len() > 1;
                for (tpath, t) in ecs_targets {
                    let tname = if many {
                        let tid = t.get("Id").and_then(Value::as_str).unwrap_or("target");
                        format!("{name}-{tid}")
                    } else {
                        name.clone()
                    };
                    let schedule = Schedule {
                        expression: expression.to_string(),
                        timezone: evaluated
                            .get("ScheduleExpressionTimezone")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        state: evaluated
                            .get("State")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    };
                    if let Some(obj) = ctx.scheduled(
                        tname,
                        schedule,
                        &t,
                        &tpath,
                        source.clone(),
                        assumed.clone(),
                        &mut out.errors,
                    ) {
                        out.objects.push(obj);
                    }
                }
            }
            other => out.skipped.push(Skipped {
                file: file.into(),
                path,
                what: other.to_string(),
                reason: "no Tidewater kind for this resource type".into(),
            }),
        }
    }
    // Capacity provider associations → the cluster's capacity providers.
    for (evaluated, source, assumed) in associations {
        let Some(cluster) = evaluated.get("Cluster").and_then(Value::as_str) else {
            out.errors.push(ImportError::MissingField {
                file: file.into(),
                path: format!("{}.Properties", source.path),
                field: "Cluster".into(),
            });
            continue;
        };
        let cluster = assemble::cluster_name(cluster);
        let mut body = evaluated.as_object().cloned().unwrap_or_default();
        body.remove("Cluster");
        let props_path = format!("{}.Properties", source.path);
        let ctx = Ctx {
            ev: &ev,
            file,
            props_path: &props_path,
        };
        let Some(obj) = ctx.object(
            Kind::Cluster,
            "CreateClusterRequest",
            &Value::Object(body),
            cluster.clone(),
            source,
            assumed,
            &mut out.errors,
        ) else {
            continue;
        };
        match out
            .objects
            .iter_mut()
            .find(|o| o.kind == Kind::Cluster && o.ecs_name == cluster)
        {
            Some(existing) => {
                let spec = existing.spec.as_object_mut().expect("an object");
                if let Value::Object(m) = obj.spec {
                    spec.extend(m);
                }
                existing.fields.extend(obj.fields);
                existing.notes.extend(obj.notes);
            }
            None => out.objects.push(obj),
        }
    }
    assemble::attach(&mut out.objects, pieces, &mut out.skipped);
    if ev.stack_name_used && !opts.params.contains_key("AWS::StackName") {
        for o in out.objects.iter_mut().filter(|o| o.source.file == file) {
            if serde_json::to_string(&o.spec)
                .unwrap_or_default()
                .contains(&ev.stack_name)
                || o.ecs_name.contains(&ev.stack_name)
            {
                o.notes.push(Note {
                    kind: NoteKind::Assumed,
                    path: String::new(),
                    source: "AWS::StackName".into(),
                    message: format!(
                        "AWS::StackName is taken to be `{}` (the file name): pass --param AWS::StackName=NAME",
                        ev.stack_name
                    ),
                });
            }
        }
    }
    out
}

/// Shared conversion of one resource.
struct Ctx<'e, 'a> {
    ev: &'e Eval<'a>,
    file: &'e str,
    props_path: &'e str,
}

impl Ctx<'_, '_> {
    fn convert(
        &self,
        api: Api,
        shape: &str,
        value: &Value,
        source: &str,
        errors: &mut Vec<ImportError>,
    ) -> Option<Converted> {
        model::convert_checked(
            api,
            RENAMES,
            &self.ev.placeholders,
            self.file,
            pascal,
            shape,
            value,
            source,
            errors,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn object(
        &self,
        kind: Kind,
        shape: &str,
        props: &Value,
        name: String,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Imported> {
        let (spec, fields, more) = self.convert(Api::Ecs, shape, props, self.props_path, errors)?;
        notes.extend(more);
        Some(Imported {
            kind,
            ecs_name: name,
            spec: Value::Object(spec),
            source,
            fields,
            notes,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn piece(
        &self,
        service: &str,
        part: Part,
        shape: &str,
        body: &Value,
        path: &str,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Piece> {
        let (mut value, mut fields, more) =
            self.convert(Api::AutoScaling, shape, body, path, errors)?;
        notes.extend(more);
        assemble::drop_implied(&mut value, &mut fields);
        Some(Piece {
            service: service.to_string(),
            part,
            value,
            fields,
            notes,
            source,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn scheduled(
        &self,
        name: String,
        schedule: Schedule,
        target: &Value,
        tpath: &str,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Imported> {
        let params = target.get("EcsParameters").cloned().unwrap_or(json!({}));
        let mut params = params.as_object().cloned().unwrap_or_default();
        if let Some(arn) = target.get("Arn") {
            params.insert("Cluster".into(), arn.clone());
        }
        let (mut run, mut fields, more) = self.convert(
            Api::Ecs,
            "RunTaskRequest",
            &Value::Object(params),
            &format!("{tpath}.EcsParameters"),
            errors,
        )?;
        notes.extend(more);
        // The cluster came from the target's Arn.
        for (p, s) in fields.iter_mut() {
            if p == "cluster" {
                *s = format!("{tpath}.Arn");
            }
        }
        if let Some(input) = target.get("Input").and_then(Value::as_str) {
            model::task_override(
                input,
                &format!("{tpath}.Input"),
                self.file,
                |v, path, errors| self.convert(Api::Ecs, "TaskOverride", v, path, errors),
                &mut run,
                &mut fields,
                &mut notes,
                errors,
            );
        }
        Some(assemble::scheduled_task(
            name,
            schedule,
            run,
            fields,
            notes,
            source,
            self.props_path,
        ))
    }
}

/// `containerDefinitions` → `ContainerDefinitions`: the CloudFormation spelling of an ECS member
/// (for messages).
fn pascal(member: &str) -> String {
    let mut c = member.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, params: &[(&str, &str)]) -> Parsed {
        let opts = Options {
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            namespace: None,
        };
        import("stack.yaml", text, &opts)
    }

    const TEMPLATE: &str = r#"
Parameters:
  Env: {Type: String, Default: dev}
  Image: {Type: String}
  Count: {Type: Number, Default: 2}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  HasImage: !Not [!Equals [!Ref Image, ""]]
Resources:
  Cluster:
    Type: AWS::ECS::Cluster
  Td:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: !Sub "${Env}-web"
      Cpu: 256
      Memory: "512"
      NetworkMode: awsvpc
      RequiresCompatibilities: [FARGATE]
      TaskRoleArn: !GetAtt Role.Arn
      ContainerDefinitions:
        - Name: web
          Image: !If [HasImage, !Ref Image, nginx]
          Environment:
            - {Name: STAGE, Value: !If [IsProd, production, !Ref Env]}
            - !If [IsProd, {Name: X, Value: "1"}, !Ref AWS::NoValue]
          PortMappings: [{ContainerPort: "80"}]
  Svc:
    Type: AWS::ECS::Service
    Properties:
      Cluster: !Ref Cluster
      TaskDefinition: !Ref Td
      DesiredCount: !Ref Count
      LaunchType: FARGATE
      PlacementStrategies: [{Type: spread, Field: "attribute:ecs.availability-zone"}]
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      MinCapacity: 1
      MaxCapacity: 4
      ResourceId: !Join ["/", [service, !Ref Cluster, !GetAtt Svc.Name]]
      ScalableDimension: ecs:service:DesiredCount
      ServiceNamespace: ecs
  Policy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: cpu
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref Target
      TargetTrackingScalingPolicyConfiguration:
        TargetValue: 50
        PredefinedMetricSpecification: {PredefinedMetricType: ECSServiceAverageCPUUtilization}
  Role:
    Type: AWS::IAM::Role
"#;

    #[test]
    fn intrinsics_parameters_and_conditions() {
        let out = run(TEMPLATE, &[]);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let td = out
            .objects
            .iter()
            .find(|o| o.kind == Kind::TaskDefinition)
            .unwrap();
        assert_eq!(td.ecs_name, "dev-web");
        assert_eq!(td.spec["cpu"], "256");
        assert_eq!(td.spec["taskRoleArn"], "${Role.Arn}");
        let c = &td.spec["containerDefinitions"][0];
        // Image has no default: HasImage is unknown, the false branch is taken.
        assert_eq!(c["image"], "nginx");
        assert_eq!(c["environment"], json!([{"name": "STAGE", "value": "dev"}]));
        assert_eq!(c["portMappings"][0]["containerPort"], 80);
        assert!(
            td.notes
                .iter()
                .any(|n| n.kind == NoteKind::Assumed && n.message.contains("HasImage"))
        );
        assert!(
            td.notes
                .iter()
                .any(|n| n.kind == NoteKind::Unresolved && n.path == "taskRoleArn")
        );

        let svc = out
            .objects
            .iter()
            .find(|o| o.kind == Kind::Service)
            .unwrap();
        assert_eq!(svc.ecs_name, "svc");
        assert_eq!(svc.spec["cluster"], "cluster");
        assert_eq!(svc.spec["taskDefinition"], "dev-web");
        assert_eq!(svc.spec["desiredCount"], 2);
        assert_eq!(svc.spec["placementStrategy"][0]["type"], "spread");
        assert_eq!(
            svc.spec["autoScaling"]["scalableTarget"],
            json!({"MinCapacity": 1, "MaxCapacity": 4})
        );
        assert_eq!(
            svc.spec["autoScaling"]["scalingPolicies"][0]["PolicyName"],
            "cpu"
        );
    }

    #[test]
    fn params_override_defaults_and_decide_conditions() {
        let out = run(TEMPLATE, &[("Env", "prod"), ("Image", "web:2")]);
        let td = out
            .objects
            .iter()
            .find(|o| o.kind == Kind::TaskDefinition)
            .unwrap();
        assert_eq!(td.ecs_name, "prod-web");
        let c = &td.spec["containerDefinitions"][0];
        assert_eq!(c["image"], "web:2");
        assert_eq!(
            c["environment"],
            json!([{"name": "STAGE", "value": "production"}, {"name": "X", "value": "1"}])
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let out = run("Resources:\n  A: [\n", &[]);
        match &out.errors[0] {
            ImportError::Syntax { path, .. } => assert!(path.starts_with("line "), "{path}"),
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn missing_required_fields_fail_one_resource_only() {
        let out = run(
            "Resources:\n  A:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      ContainerDefinitions: [{Name: a}]\n  B:\n    Type: AWS::ECS::Cluster\n",
            &[],
        );
        assert_eq!(out.objects.len(), 1);
        assert_eq!(
            out.errors[0].to_string(),
            "stack.yaml: Resources.A.Properties.ContainerDefinitions[0]: missing required field `Image`"
        );
    }

    #[test]
    fn base64_encodes() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"ab"), "YWI=");
    }
}
