//! CloudFormation templates (YAML with short-form intrinsics, or JSON) → ECS request bodies.
//!
//! Intrinsic functions are evaluated statically: parameters from `--param` or their `Default`,
//! pseudo parameters from `--param` (`AWS::Partition` and `AWS::URLSuffix` have the commercial
//! values, `AWS::StackName` defaults to the file name), `Conditions` where they depend only on
//! known values, `Mappings`. A `Ref`/`Fn::GetAtt` to an ECS resource of the same template resolves
//! to the imported object's name (the task definition family, the cluster or service name). What
//! cannot be resolved becomes a visible placeholder, `${Name}` or `${Resource.Attribute}`,
//! reported where it lands with why; in a number, boolean or enumeration it is left out.

use super::assemble::{self, Part, Schedule};
use super::convert::{Association, Collected, Conversion, Resource, Spelling, Target};
use super::dynamic;
use super::limits::{Budget, Exceeded};
use super::model::Rename;
use super::{ImportError, Imported, Note, NoteKind, Options, Parsed, Skipped, Source, kebab};
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

/// A memoised evaluation.
#[derive(Clone, Copy, Debug)]
enum Memo<T> {
    /// Being evaluated: a reference back to it is a cycle, and has no value.
    UnderWay,
    /// Evaluated, without a value.
    Unknown,
    /// Evaluated.
    Known(T),
}

impl<T: Clone> Memo<T> {
    fn value(&self) -> Option<T> {
        match self {
            Memo::Known(v) => Some(v.clone()),
            Memo::UnderWay | Memo::Unknown => None,
        }
    }
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
    names: BTreeMap<String, Memo<String>>,
    conds: BTreeMap<String, Memo<bool>>,
    stack_name_used: bool,
    /// Depth, steps and bytes of the evaluation.
    budget: Budget,
    /// Path of what is being evaluated (for errors), in pieces.
    trail: Vec<String>,
    /// Mapping entries being evaluated (a cycle guard).
    in_maps: BTreeSet<String>,
    /// How many intrinsic functions are being evaluated.
    in_intrinsic: usize,
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
    fn new(doc: &Value, resources: Map<String, Value>, file: &str, opts: &'a Options) -> Self {
        let stem = Path::new(file)
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or("stack");
        let stem = stem.split('.').next().unwrap_or(stem).to_string();
        let section = |k: &str| doc.get(k).and_then(Value::as_object).cloned();
        Eval {
            params: section("Parameters").unwrap_or_default(),
            overrides: &opts.params,
            conditions: section("Conditions").unwrap_or_default(),
            mappings: doc.get("Mappings").cloned().unwrap_or(Value::Null),
            resources,
            stack_name: opts.params.get("AWS::StackName").cloned().unwrap_or(stem),
            placeholders: BTreeMap::new(),
            pending: Vec::new(),
            names: BTreeMap::new(),
            conds: BTreeMap::new(),
            stack_name_used: false,
            budget: Budget::default(),
            trail: Vec::new(),
            in_maps: BTreeSet::new(),
            in_intrinsic: 0,
        }
    }

    fn conversion<'c>(&'c self, file: &'c str) -> Conversion<'c> {
        Conversion {
            spelling: &SPELLING,
            placeholders: &self.placeholders,
            file,
        }
    }

    /// A scaling policy names its target by Ref; the target's ResourceId names the service.
    fn scaling_target_resource_id(&mut self, props: &Value) -> Option<String> {
        let id = props
            .get("ScalingTargetId")
            .and_then(|r| r.get("Ref"))
            .and_then(Value::as_str)?;
        let resource_id = self
            .resources
            .get(id)
            .and_then(|t| t.get("Properties"))
            .and_then(|p| p.get("ResourceId"))
            .cloned()?;
        self.eval(&resource_id).as_str().map(str::to_string)
    }

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
            return n.value();
        }
        self.names.insert(id.to_string(), Memo::UnderWay);
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
        self.names.insert(id.to_string(), Memo::Known(name.clone()));
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
            return c.value();
        }
        self.conds.insert(name.to_string(), Memo::UnderWay);
        let def = self.conditions.get(name).cloned()?;
        let trail = std::mem::replace(&mut self.trail, vec![format!("Conditions.{name}")]);
        let v = self.truth(&def);
        self.trail = trail;
        let memo = v.map_or(Memo::Unknown, Memo::Known);
        self.conds.insert(name.to_string(), memo);
        v
    }

    /// A condition expression's value, `None` when it depends on what is not known (or a limit
    /// was exceeded).
    fn truth(&mut self, v: &Value) -> Option<bool> {
        let trail = &self.trail;
        if !self.budget.enter(&|| trail.concat()) {
            return None;
        }
        let out = self.truth_unbounded(v);
        self.budget.leave();
        out
    }

    fn truth_unbounded(&mut self, v: &Value) -> Option<bool> {
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

    /// Evaluate a value, within the depth and step limits.
    fn eval(&mut self, v: &Value) -> Value {
        let trail = &self.trail;
        if !self.budget.enter(&|| trail.concat()) {
            return Value::Null;
        }
        let out = self.eval_unbounded(v);
        self.budget.leave();
        out
    }

    /// Evaluate `v` at `.key` or `[i]` of the current path.
    /// (Inside an intrinsic function's arguments the path stays the property's.)
    fn eval_at(&mut self, step: String, v: &Value) -> Value {
        if self.in_intrinsic > 0 {
            return self.eval(v);
        }
        self.trail.push(step);
        let out = self.eval(v);
        self.trail.pop();
        out
    }

    fn eval_unbounded(&mut self, v: &Value) -> Value {
        match v {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| self.eval_at(format!("[{i}]"), x))
                    .filter(|x| x.as_str() != Some(NO_VALUE))
                    .collect(),
            ),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                if k == "Ref" || k == "Condition" || k.starts_with("Fn::") {
                    self.intrinsic(k, arg)
                } else {
                    let x = self.eval_at(format!(".{k}"), arg);
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
                    let x = self.eval_at(format!(".{k}"), x);
                    if x.as_str() != Some(NO_VALUE) {
                        out.insert(k.clone(), x);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }
    }

    /// An intrinsic function's value, counted against the budget.
    fn intrinsic(&mut self, k: &str, arg: &Value) -> Value {
        self.in_intrinsic += 1;
        let v = self.intrinsic_unbounded(k, arg);
        self.in_intrinsic -= 1;
        let trail = &self.trail;
        if self.budget.produced(&v, &|| trail.concat()) {
            v
        } else {
            Value::Null
        }
    }

    fn intrinsic_unbounded(&mut self, k: &str, arg: &Value) -> Value {
        let args = arg.as_array().cloned().unwrap_or_default();
        match k {
            "Ref" => self.intrinsic_ref(arg),
            "Fn::GetAtt" => self.intrinsic_get_att(arg, &args),
            "Fn::Sub" => self.intrinsic_sub(arg),
            "Fn::Join" => self.join(&args),
            "Fn::Select" => self.select(&args),
            "Fn::Split" => self.split(&args),
            "Fn::If" => self.branch(&args),
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition" => {
                let mut m = Map::new();
                m.insert(k.to_string(), arg.clone());
                match self.truth(&Value::Object(m)) {
                    Some(b) => Value::Bool(b),
                    None => self.placeholder(k, format!("{k} could not be evaluated statically")),
                }
            }
            "Fn::FindInMap" => self.find_in_map(&args),
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
            "Fn::ImportValue" => self.import_value(arg),
            other => self.placeholder(
                other,
                format!("{other} cannot be evaluated outside CloudFormation"),
            ),
        }
    }

    fn intrinsic_ref(&mut self, arg: &Value) -> Value {
        let name = self.eval(arg);
        match name.as_str() {
            Some(n) => {
                let n = n.to_string();
                self.reference(&n)
            }
            None => self.placeholder("Ref", "Ref to a computed name".into()),
        }
    }

    fn intrinsic_get_att(&mut self, arg: &Value, args: &[Value]) -> Value {
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

    fn intrinsic_sub(&mut self, arg: &Value) -> Value {
        match arg {
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
        }
    }

    fn join(&mut self, args: &[Value]) -> Value {
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

    fn select(&mut self, args: &[Value]) -> Value {
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

    fn split(&mut self, args: &[Value]) -> Value {
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

    /// `Fn::If`: the branch its condition takes (the false one, noted, when it is unknown).
    fn branch(&mut self, args: &[Value]) -> Value {
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

    fn find_in_map(&mut self, args: &[Value]) -> Value {
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
            let key = texts.join(".");
            if !self.in_maps.insert(key.clone()) {
                let at = self.trail.concat();
                self.budget
                    .fail(at, format!("Fn::FindInMap `{key}` refers back to itself"));
                return Value::Null;
            }
            let v = self.eval(&v);
            self.in_maps.remove(&key);
            return v;
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

    fn import_value(&mut self, arg: &Value) -> Value {
        let x = self.eval(arg);
        // A name built from placeholders: keep it readable as one placeholder.
        let t = self.text_of(&x).replace("${", "").replace('}', "");
        self.placeholder(
            &format!("ImportValue:{t}"),
            format!(
                "output `{t}` exported by another stack: pass the value or replace the placeholder"
            ),
        )
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
    let mut collected = Collected::default();
    let doc = match parse(file, text) {
        Ok(d) => d,
        Err(e) => {
            collected.parsed.errors.push(e);
            return collected.parsed;
        }
    };
    let Some(resources) = doc.get("Resources").and_then(Value::as_object).cloned() else {
        collected.parsed.errors.push(ImportError::UnknownShape {
            file: file.into(),
            path: "Resources".into(),
            message: "a CloudFormation template needs a Resources map".into(),
        });
        return collected.parsed;
    };
    let mut ev = Eval::new(&doc, resources.clone(), file, opts);
    let mut associations = Vec::new();
    for (id, res) in &resources {
        if let Some(a) = resource(&mut ev, file, id, res, &mut collected) {
            associations.push(a);
        }
    }
    if let Some(f) = ev.budget.take() {
        collected.parsed.errors.push(refused(file, f));
    }
    let conversion = ev.conversion(file);
    for a in associations {
        association(&conversion, a, &mut collected.parsed);
    }
    let mut out = collected.finish(&SPELLING, &ev.placeholders);
    note_stack_name(&ev, file, opts, &mut out.objects);
    out
}

/// The error for an evaluation stopped by a limit.
fn refused(file: &str, f: Exceeded) -> ImportError {
    ImportError::Refused {
        file: file.into(),
        path: f.path,
        message: f.message,
    }
}

/// A resource admitted for conversion: its type, path and what was assumed about it.
struct Admitted {
    ty: String,
    path: String,
    notes: Vec<Note>,
}

/// Whether a resource is converted: an ECS resource whose condition is not false.
fn admit(
    ev: &mut Eval<'_>,
    file: &str,
    id: &str,
    res: &Value,
    out: &mut Parsed,
) -> Option<Admitted> {
    let ty = type_of(res).to_string();
    let path = format!("Resources.{id}");
    if ty.is_empty() {
        out.errors.push(ImportError::UnknownShape {
            file: file.into(),
            path: format!("{path}.Type"),
            message: "a resource needs a Type".into(),
        });
        return None;
    }
    let ecs = ty.starts_with("AWS::ECS::")
        || ty.starts_with("AWS::ApplicationAutoScaling::")
        || ty == "AWS::Events::Rule"
        || ty == "AWS::Scheduler::Schedule";
    let skip = |reason: String| Skipped {
        file: file.into(),
        path: path.clone(),
        what: ty.clone(),
        reason,
    };
    if !ecs {
        out.skipped
            .push(skip("not an ECS resource; left to CloudFormation".into()));
        return None;
    }
    let mut notes = Vec::new();
    if let Some(cond) = res.get("Condition").and_then(Value::as_str) {
        match ev.condition(cond) {
            Some(true) => {}
            Some(false) => {
                out.skipped
                    .push(skip(format!("its condition `{cond}` is false")));
                return None;
            }
            None => {
                let why = ev.unknown_why(cond);
                notes.push(Note {
                    kind: NoteKind::Assumed,
                    path: String::new(),
                    source: format!("{path}.Condition"),
                    message: format!("{why}: imported as if it were true"),
                });
            }
        }
    }
    Some(Admitted { ty, path, notes })
}

/// A capacity provider association, its cluster not yet known to exist.
struct PendingAssociation {
    body: Value,
    source: Source,
    notes: Vec<Note>,
}

/// Evaluate and convert one resource; a capacity provider association is returned to be
/// merged once the clusters are converted.
fn resource(
    ev: &mut Eval<'_>,
    file: &str,
    id: &str,
    res: &Value,
    collected: &mut Collected,
) -> Option<PendingAssociation> {
    let Admitted {
        ty,
        path,
        mut notes,
    } = admit(ev, file, id, res, &mut collected.parsed)?;
    ev.pending.clear();
    ev.trail = vec![format!("{path}.Properties")];
    let props = res.get("Properties").cloned().unwrap_or(json!({}));
    if !props.is_object() {
        collected.parsed.errors.push(ImportError::UnknownShape {
            file: file.into(),
            path: format!("{path}.Properties"),
            message: "Properties must be a map".into(),
        });
        return None;
    }
    let evaluated = ev.eval(&props);
    let name = ev.resource_name(id).unwrap_or_else(|| kebab(id));
    let target_resource_id = ev.scaling_target_resource_id(&props);
    notes.append(&mut ev.pending);
    if let Some(f) = ev.budget.take() {
        collected.parsed.errors.push(refused(file, f));
        return None;
    }
    let source = Source {
        file: file.into(),
        path: path.clone(),
        what: ty.clone(),
    };
    if ty == "AWS::ECS::ClusterCapacityProviderAssociations" {
        return Some(PendingAssociation {
            body: evaluated,
            source,
            notes,
        });
    }
    let r = Resource {
        name,
        body: &evaluated,
        source,
        at: format!("{path}.Properties"),
        notes,
    };
    let secret_arn_prefix = if evaluated.to_string().contains(dynamic::MARKER) {
        let arn = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:";
        let v = ev.sub(arn, &Map::new());
        ev.text_of(&v)
    } else {
        String::new()
    };
    let before = collected.parsed.objects.len();
    let conversion = ev.conversion(file);
    convert_resource(&conversion, &ty, r, target_resource_id, collected);
    if ty == "AWS::ECS::TaskDefinition" {
        for obj in &mut collected.parsed.objects[before..] {
            dynamic::to_secrets(obj, &secret_arn_prefix);
        }
    }
    None
}

/// The conversion of an evaluated resource, by type.
fn convert_resource(
    conversion: &Conversion<'_>,
    ty: &str,
    mut r: Resource<'_>,
    target_resource_id: Option<String>,
    collected: &mut Collected,
) {
    let out = &mut collected.parsed;
    match ty {
        "AWS::ECS::TaskDefinition" => {
            assume_name(&mut r, "Family", "family", "the family is");
            conversion.task_definition(r, out);
        }
        "AWS::ECS::Service" => {
            assume_name(&mut r, "ServiceName", "serviceName", "the service is named");
            conversion.service(r, out);
        }
        "AWS::ECS::Cluster" => conversion.cluster(r, out),
        "AWS::ECS::CapacityProvider" => {
            let asg = r
                .body
                .pointer("/AutoScalingGroupProvider/AutoScalingGroupArn")
                .and_then(Value::as_str)
                .unwrap_or("its Auto Scaling group");
            conversion.capacity_provider(&r.name, asg, r.source, out);
        }
        "AWS::ApplicationAutoScaling::ScalableTarget"
        | "AWS::ApplicationAutoScaling::ScalingPolicy" => {
            scaling(conversion, ty, r, target_resource_id, collected)
        }
        "AWS::Events::Rule" | "AWS::Scheduler::Schedule" => rule(conversion, ty, r, out),
        other => out.skipped.push(Skipped {
            file: r.source.file,
            path: r.source.path,
            what: other.to_string(),
            reason: "no Tidewater kind for this resource type".into(),
        }),
    }
}

/// A resource without its name property is named after its logical ID (noted).
fn assume_name(r: &mut Resource<'_>, property: &str, member: &str, what: &str) {
    if r.body.get(property).is_none() {
        r.notes.push(Note {
            kind: NoteKind::Assumed,
            path: member.into(),
            source: r.at.clone(),
            message: format!(
                "no {property}: {what} `{}`, from the logical ID (CloudFormation would generate one)",
                r.name
            ),
        });
    }
}

/// A scalable target (with its scheduled actions) or a scaling policy of an ECS service.
fn scaling(
    conversion: &Conversion<'_>,
    ty: &str,
    r: Resource<'_>,
    target_resource_id: Option<String>,
    collected: &mut Collected,
) {
    let target = ty.ends_with("ScalableTarget");
    let mut body = r.body.as_object().cloned().unwrap_or_default();
    let resource_id = match target_resource_id {
        Some(id) if !target => Some(id),
        _ => body
            .get("ResourceId")
            .and_then(Value::as_str)
            .map(str::to_string),
    };
    let namespace = body
        .get("ServiceNamespace")
        .and_then(Value::as_str)
        .unwrap_or("ecs");
    let Some(service) = conversion.scaled_service(
        resource_id.as_deref(),
        namespace,
        "ResourceId",
        &r.source,
        &mut collected.parsed,
    ) else {
        return;
    };
    body.remove("ScalingTargetId");
    let actions = if target {
        body.remove("ScheduledActions")
    } else {
        None
    };
    let (part, shape) = if target {
        (Part::Target, "RegisterScalableTargetRequest")
    } else {
        (Part::Policy, "PutScalingPolicyRequest")
    };
    let body = Value::Object(body);
    let source = r.source.clone();
    let at = r.at.clone();
    conversion.piece(
        &service,
        part,
        shape,
        Resource { body: &body, ..r },
        collected,
    );
    for (i, a) in actions
        .iter()
        .flat_map(|a| a.as_array())
        .flatten()
        .enumerate()
    {
        let action = Resource {
            name: service.clone(),
            body: a,
            source: source.clone(),
            at: format!("{at}.ScheduledActions[{i}]"),
            notes: Vec::new(),
        };
        let shape = "PutScheduledActionRequest";
        conversion.piece(&service, Part::Action, shape, action, collected);
    }
}

/// The ECS targets of an EventBridge rule or schedule, as (path, target).
fn ecs_targets(scheduler: bool, body: &Value, at: &str) -> Vec<(String, Value)> {
    let targets: Vec<(String, Value)> = if scheduler {
        body.get("Target")
            .map(|t| (format!("{at}.Target"), t.clone()))
            .into_iter()
            .collect()
    } else {
        body.get("Targets")
            .and_then(Value::as_array)
            .map(|ts| {
                ts.iter()
                    .enumerate()
                    .map(|(i, t)| (format!("{at}.Targets[{i}]"), t.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    targets
        .into_iter()
        .filter(|(_, t)| t.get("EcsParameters").is_some())
        .collect()
}

/// An EventBridge rule or EventBridge Scheduler schedule: one ScheduledTask per ECS target.
fn rule(conversion: &Conversion<'_>, ty: &str, r: Resource<'_>, out: &mut Parsed) {
    let targets = ecs_targets(ty == "AWS::Scheduler::Schedule", r.body, &r.at);
    let skip = |reason: &str| Skipped {
        file: r.source.file.clone(),
        path: r.source.path.clone(),
        what: ty.to_string(),
        reason: reason.into(),
    };
    if targets.is_empty() {
        out.skipped.push(skip("has no ECS target"));
        return;
    }
    let Some(expression) = r.body.get("ScheduleExpression").and_then(Value::as_str) else {
        out.skipped.push(skip("runs ECS tasks on an event pattern, not a schedule: Tidewater has no event-triggered tasks"));
        return;
    };
    let text = |k: &str| r.body.get(k).and_then(Value::as_str).map(str::to_string);
    let many = targets.len() > 1;
    for (tpath, t) in targets {
        let name = if many {
            let tid = t.get("Id").and_then(Value::as_str).unwrap_or("target");
            format!("{}-{tid}", r.name)
        } else {
            r.name.clone()
        };
        let schedule = Schedule {
            expression: expression.to_string(),
            timezone: text("ScheduleExpressionTimezone"),
            state: text("State"),
        };
        let target = target(&t, &tpath, &r.at);
        let (source, notes) = (r.source.clone(), r.notes.clone());
        let errors = &mut out.errors;
        let obj = conversion.scheduled(name, schedule, target, source, notes, errors);
        out.objects.extend(obj);
    }
}

/// An EventBridge target's ECS parameters, cluster and input.
fn target(t: &Value, tpath: &str, at: &str) -> Target {
    let params = t.get("EcsParameters").cloned().unwrap_or(json!({}));
    let mut params = params.as_object().cloned().unwrap_or_default();
    if let Some(arn) = t.get("Arn") {
        params.insert("Cluster".into(), arn.clone());
    }
    Target {
        params,
        params_at: format!("{tpath}.EcsParameters"),
        cluster_at: format!("{tpath}.Arn"),
        input: t.get("Input").and_then(Value::as_str).map(str::to_string),
        input_at: format!("{tpath}.Input"),
        schedule_at: at.to_string(),
    }
}

/// Capacity provider associations → the cluster's capacity providers.
fn association(conversion: &Conversion<'_>, a: PendingAssociation, out: &mut Parsed) {
    let at = format!("{}.Properties", a.source.path);
    let Some(cluster) = a.body.get("Cluster").and_then(Value::as_str) else {
        out.errors.push(ImportError::MissingField {
            file: conversion.file.into(),
            path: at,
            field: "Cluster".into(),
        });
        return;
    };
    let cluster = assemble::cluster_name(cluster);
    let mut body = a.body.as_object().cloned().unwrap_or_default();
    body.remove("Cluster");
    let a = Association {
        cluster,
        body: Value::Object(body),
        source: a.source,
        at,
        notes: a.notes,
    };
    conversion.association(a, out);
}

/// Objects naming the stack get a note when its name was taken from the file name.
fn note_stack_name(ev: &Eval<'_>, file: &str, opts: &Options, objects: &mut [Imported]) {
    if !ev.stack_name_used || opts.params.contains_key("AWS::StackName") {
        return;
    }
    for o in objects.iter_mut().filter(|o| o.source.file == file) {
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

const SPELLING: Spelling = Spelling {
    renames: RENAMES,
    field_name: pascal,
};

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
    use crate::import::Kind;

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

    /// ECS: "Within your container definition, specify secrets with the name of the
    /// environment variable to set in the container and the full ARN of either the Secrets
    /// Manager secret or Systems Manager Parameter Store parameter containing the sensitive data
    /// to present to the container." and "If the Systems Manager Parameter Store parameter exists
    /// in the same Region as the task you are launching, then you can use either the full ARN or
    /// name of the parameter." A dynamic reference is never written as a value.
    #[test]
    fn dynamic_references_become_secret_references() {
        let out = run(
            r#"
Resources:
  Td:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: web
      ContainerDefinitions:
        - Name: web
          Image: nginx
          Environment:
            - {Name: STAGE, Value: prod}
            - {Name: DB_PASSWORD, Value: "{{resolve:secretsmanager:prod/db:SecretString:password}}"}
            - {Name: TOKEN, Value: "{{resolve:ssm-secure:/app/token:3}}"}
            - {Name: URL, Value: "postgres://u:{{resolve:secretsmanager:db}}@h"}
          LogConfiguration:
            LogDriver: splunk
            Options: {splunk-url: "https://splunk", splunk-token: "{{resolve:ssm-secure:/splunk/token}}"}
"#,
            &[
                ("AWS::Region", "eu-west-1"),
                ("AWS::AccountId", "123456789012"),
            ],
        );
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let td = &out.objects[0];
        assert_eq!(
            td.spec["containerDefinitions"],
            json!([{
                "name": "web",
                "image": "nginx",
                "environment": [{"name": "STAGE", "value": "prod"}],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db:password::"},
                    {"name": "TOKEN", "valueFrom": "/app/token"}
                ],
                "logConfiguration": {
                    "logDriver": "splunk",
                    "options": {"splunk-url": "https://splunk"},
                    "secretOptions": [{"name": "splunk-token", "valueFrom": "/splunk/token"}]
                }
            }])
        );
        let notes: Vec<(NoteKind, &str)> =
            td.notes.iter().map(|n| (n.kind, n.path.as_str())).collect();
        assert_eq!(
            notes,
            vec![
                (NoteKind::Assumed, "containerDefinitions[0].secrets[0]"),
                (NoteKind::Assumed, "containerDefinitions[0].secrets[1]"),
                (
                    NoteKind::Unresolved,
                    "containerDefinitions[0].environment[3].value"
                ),
                (
                    NoteKind::Assumed,
                    "containerDefinitions[0].logConfiguration.secretOptions[0]"
                ),
            ]
        );
        assert!(td.fields.contains(&(
            "containerDefinitions[0].secrets[1].valueFrom".into(),
            "Resources.Td.Properties.ContainerDefinitions[0].Environment[2].Value".into()
        )));
        assert!(
            !serde_json::to_string(&td.fields)
                .unwrap()
                .contains("environment[1]")
        );
    }

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
