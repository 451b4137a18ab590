//! Terraform configurations (`.tf`, one module per directory, with `.tfvars`) → ECS request
//! bodies.
//!
//! Expressions are evaluated statically: `var.*` from `--param NAME=VALUE`, `.tfvars` files or
//! the variable's `default`; `local.*`; `path.module`; references to ECS resources of the module
//! (`aws_ecs_cluster.main.id` → the cluster's name, `aws_ecs_task_definition.app.arn` → its
//! family, `aws_ecs_service.web.name`); other resources' arguments written in the configuration;
//! and the usual functions (`jsonencode`, `file`, `templatefile`, `format`, `merge`, ...).
//! Anything else (computed attributes, `data.*`, `module.*`) becomes a visible placeholder
//! `${expression}`, reported where it lands.

use super::assemble::{self, Part, Piece, Schedule};
use super::model::{self, Api, Converted, Rename};
use super::report::FollowUp;
use super::{
    ImportError, Imported, InputFile, Kind, Note, NoteKind, Options, Parsed, Skipped, Source,
};
use hcl::expr::{
    BinaryOperator, Expression, ObjectKey, Operation, TraversalOperator, UnaryOperator,
};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body, Structure};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

const RENAMES: &[Rename] = &[
    ("RegisterTaskDefinitionRequest", "volume", "volumes"),
    (
        "RegisterTaskDefinitionRequest",
        "inferenceaccelerator",
        "inferenceAccelerators",
    ),
    (
        "RegisterTaskDefinitionRequest",
        "placementconstraint",
        "placementConstraints",
    ),
    ("CreateServiceRequest", "name", "serviceName"),
    ("CreateServiceRequest", "iamrole", "role"),
    ("CreateServiceRequest", "loadbalancer", "loadBalancers"),
    (
        "CreateServiceRequest",
        "orderedplacementstrategy",
        "placementStrategy",
    ),
    (
        "CreateServiceRequest",
        "placementconstraint",
        "placementConstraints",
    ),
    (
        "CreateServiceRequest",
        "volumeconfiguration",
        "volumeConfigurations",
    ),
    (
        "CreateServiceRequest",
        "vpclatticeconfiguration",
        "vpcLatticeConfigurations",
    ),
    ("LoadBalancer", "elbname", "loadBalancerName"),
    ("ServiceConnectConfiguration", "service", "services"),
    ("ServiceConnectService", "clientalias", "clientAliases"),
    ("LogConfiguration", "secretoption", "secretOptions"),
    (
        "ServiceManagedEBSVolumeConfiguration",
        "sizeingb",
        "sizeInGiB",
    ),
    ("CreateClusterRequest", "name", "clusterName"),
    ("CreateClusterRequest", "setting", "settings"),
    ("RunTaskRequest", "taskdefinitionarn", "taskDefinition"),
    ("RunTaskRequest", "taskcount", "count"),
    (
        "RunTaskRequest",
        "orderedplacementstrategy",
        "placementStrategy",
    ),
    ("RunTaskRequest", "placementstrategy", "placementStrategy"),
    (
        "RunTaskRequest",
        "placementconstraint",
        "placementConstraints",
    ),
    ("PutScalingPolicyRequest", "name", "PolicyName"),
    (
        "StepScalingPolicyConfiguration",
        "stepadjustment",
        "StepAdjustments",
    ),
    ("PutScheduledActionRequest", "name", "ScheduledActionName"),
];

/// Arguments that exist only in Terraform (no ECS counterpart): dropped with this reason.
const TERRAFORM_ONLY: &[(&str, &str)] = &[
    (
        "skip_destroy",
        "keeps old revisions registered; Tidewater keeps revisions in its status",
    ),
    ("track_latest", "Terraform state tracking"),
    (
        "force_new_deployment",
        "a rollout is triggered by changing the spec",
    ),
    (
        "wait_for_steady_state",
        "Terraform apply behaviour; use `kubectl rollout status`",
    ),
    ("triggers", "Terraform redeployment triggers"),
    ("tags_all", "Terraform's merged default tags"),
    ("force_delete", "Terraform destroy behaviour"),
];

/// Meta-arguments and blocks handled by Terraform itself.
const META: &[&str] = &[
    "count",
    "for_each",
    "depends_on",
    "provider",
    "lifecycle",
    "timeouts",
    "provisioner",
    "connection",
];

fn ident(e: &Expression) -> Option<&str> {
    match e {
        Expression::Variable(v) => Some(v.as_str()),
        _ => None,
    }
}

fn fmt(e: &Expression) -> String {
    hcl::format::to_string(e)
        .unwrap_or_else(|_| "expression".into())
        .replace('\n', " ")
}

fn number(n: &hcl::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::from(i)
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number)
    }
}

/// A resource block.
#[derive(Clone)]
struct Resource {
    ty: String,
    name: String,
    body: Body,
    file: String,
}

impl Resource {
    fn path(&self) -> String {
        format!("{}.{}", self.ty, self.name)
    }

    fn attr(&self, key: &str) -> Option<&Expression> {
        self.body
            .attributes()
            .find(|a| a.key.as_str() == key)
            .map(|a| &a.expr)
    }
}

struct Tf<'a> {
    dir: &'a str,
    variables: BTreeMap<String, Option<Expression>>,
    tfvars: BTreeMap<String, Value>,
    overrides: &'a BTreeMap<String, String>,
    locals: BTreeMap<String, Expression>,
    local_cache: BTreeMap<String, Value>,
    in_progress: BTreeSet<String>,
    resources: Vec<Resource>,
    placeholders: BTreeMap<String, String>,
    scopes: Vec<BTreeMap<String, Value>>,
    read: &'a dyn Fn(&str) -> Option<String>,
}

impl Tf<'_> {
    fn placeholder(&mut self, text: &str, why: String) -> Value {
        let p = format!("${{{text}}}");
        self.placeholders.entry(p.clone()).or_insert(why);
        Value::String(p)
    }

    fn unknown(&mut self, e: &Expression, why: String) -> Value {
        let text = fmt(e);
        self.placeholder(&text, why)
    }

    fn has_placeholder(&self, v: &Value) -> bool {
        match v {
            Value::String(s) => self.placeholders.keys().any(|p| s.contains(p.as_str())),
            Value::Array(a) => a.iter().any(|x| self.has_placeholder(x)),
            Value::Object(m) => m.values().any(|x| self.has_placeholder(x)),
            _ => false,
        }
    }

    fn text(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    fn variable(&mut self, name: &str) -> Value {
        if let Some(v) = self.overrides.get(name) {
            return match self.variables.get(name).cloned().flatten() {
                // Keep the variable's type when its default shows it.
                Some(Expression::Number(_)) => v
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(v.clone())),
                Some(Expression::Bool(_)) => Value::Bool(v == "true"),
                Some(Expression::Array(_)) => serde_json::from_str(v).unwrap_or_else(|_| {
                    Value::Array(
                        v.split(',')
                            .map(|x| Value::String(x.trim().into()))
                            .collect(),
                    )
                }),
                _ => Value::String(v.clone()),
            };
        }
        if let Some(v) = self.tfvars.get(name) {
            return v.clone();
        }
        match self.variables.get(name).cloned() {
            Some(Some(default)) => self.eval(&default),
            Some(None) => self.placeholder(
                &format!("var.{name}"),
                format!("variable `{name}` has no default: pass --param {name}=VALUE (or a .tfvars file)"),
            ),
            None => self.placeholder(
                &format!("var.{name}"),
                format!("variable `{name}` is not declared in the imported files: pass --param {name}=VALUE"),
            ),
        }
    }

    fn local(&mut self, name: &str) -> Value {
        if let Some(v) = self.local_cache.get(name) {
            return v.clone();
        }
        let Some(e) = self.locals.get(name).cloned() else {
            return self.placeholder(
                &format!("local.{name}"),
                format!("local `{name}` is not defined in the imported files"),
            );
        };
        if !self.in_progress.insert(name.to_string()) {
            return self.placeholder(
                &format!("local.{name}"),
                format!("local `{name}` refers to itself"),
            );
        }
        let v = self.eval(&e);
        self.in_progress.remove(name);
        self.local_cache.insert(name.to_string(), v.clone());
        v
    }

    fn find(&self, ty: &str, name: &str) -> Option<Resource> {
        self.resources
            .iter()
            .find(|r| r.ty == ty && r.name == name)
            .cloned()
    }

    /// The ECS name of an ECS resource of the module.
    fn ecs_name(&mut self, r: &Resource) -> Option<String> {
        let key = match r.ty.as_str() {
            "aws_ecs_task_definition" => "family",
            "aws_ecs_cluster" | "aws_ecs_service" | "aws_ecs_capacity_provider" => "name",
            "aws_cloudwatch_event_rule" | "aws_scheduler_schedule" => "name",
            _ => return None,
        };
        match r.attr(key).cloned() {
            Some(e) => {
                let guard = format!("{}#name", r.path());
                if !self.in_progress.insert(guard.clone()) {
                    return None;
                }
                let v = self.eval(&e);
                self.in_progress.remove(&guard);
                Some(self.text(&v))
            }
            None => Some(super::kebab(&r.name)),
        }
    }

    /// `TYPE.NAME.ATTR`: an ECS resource's name, or an argument written in the resource.
    fn resource_attr(&mut self, ty: &str, name: &str, attr: &str, whole: &Expression) -> Value {
        let Some(r) = self.find(ty, name) else {
            return self.unknown(
                whole,
                format!("`{ty}.{name}` is not a resource of the imported files"),
            );
        };
        let named = matches!(
            (ty, attr),
            ("aws_ecs_cluster", "id" | "arn" | "name")
                | (
                    "aws_ecs_task_definition",
                    "arn" | "family" | "arn_without_revision" | "id"
                )
                | ("aws_ecs_service", "name" | "id")
                | ("aws_ecs_capacity_provider", "name" | "id")
                | ("aws_cloudwatch_event_rule", "name" | "id")
        );
        if named && let Some(n) = self.ecs_name(&r) {
            return Value::String(n);
        }
        if let Some(e) = r.attr(attr).cloned() {
            let guard = format!("{}#{attr}", r.path());
            if self.in_progress.insert(guard.clone()) {
                let v = self.eval(&e);
                self.in_progress.remove(&guard);
                return v;
            }
        }
        self.unknown(
            whole,
            format!("`{attr}` of `{ty}.{name}` is known only once Terraform has applied it"),
        )
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        self.scopes.iter().rev().find_map(|s| s.get(name).cloned())
    }

    fn traversal(&mut self, t: &hcl::expr::Traversal, whole: &Expression) -> Value {
        let ops = &t.operators;
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(id)) => Some(id.as_str().to_string()),
            _ => None,
        };
        let (mut value, used) = match ident(&t.expr) {
            Some(root) if self.lookup(root).is_some() => (self.lookup(root).unwrap_or_default(), 0),
            Some("var") => match attr(0) {
                Some(n) => (self.variable(&n), 1),
                None => return self.unknown(whole, "malformed reference".into()),
            },
            Some("local") => match attr(0) {
                Some(n) => (self.local(&n), 1),
                None => return self.unknown(whole, "malformed reference".into()),
            },
            Some("path") => (
                Value::String(if self.dir.is_empty() {
                    ".".into()
                } else {
                    self.dir.to_string()
                }),
                1,
            ),
            Some("data") => {
                return self.unknown(
                    whole,
                    "a data source is read only when Terraform runs".into(),
                );
            }
            Some("module") => {
                return self.unknown(
                    whole,
                    "a module output is known only once Terraform has applied it".into(),
                );
            }
            Some("each" | "count" | "self" | "terraform") => {
                return self.unknown(whole, "depends on the Terraform evaluation context".into());
            }
            Some(ty) if ty.contains('_') => {
                match (attr(0), attr(1)) {
                    (Some(name), Some(a)) => {
                        if ops.len() > 2 {
                            // Deeper traversal into a computed attribute.
                            let v = self.resource_attr(ty, &name, &a, whole);
                            (v, 2)
                        } else {
                            return self.resource_attr(ty, &name, &a, whole);
                        }
                    }
                    _ => return self.unknown(
                        whole,
                        "a splat or a whole resource is known only once Terraform has applied it"
                            .into(),
                    ),
                }
            }
            _ => (self.eval(&t.expr), 0),
        };
        for op in &ops[used..] {
            if self.has_placeholder(&value) && !value.is_object() && !value.is_array() {
                return self.unknown(
                    whole,
                    "depends on a value known only once Terraform has applied it".into(),
                );
            }
            value = match op {
                TraversalOperator::GetAttr(id) => match value.get(id.as_str()) {
                    Some(v) => v.clone(),
                    None => return self.unknown(whole, format!("no attribute `{}`", id.as_str())),
                },
                TraversalOperator::Index(e) => {
                    let k = self.eval(e);
                    let got = match (&value, &k) {
                        (Value::Array(a), Value::Number(n)) => {
                            n.as_u64().and_then(|i| a.get(i as usize)).cloned()
                        }
                        (Value::Object(m), _) => m.get(&self.text(&k)).cloned(),
                        _ => None,
                    };
                    match got {
                        Some(v) => v,
                        None => {
                            return self
                                .unknown(whole, "index into a value not known statically".into());
                        }
                    }
                }
                TraversalOperator::LegacyIndex(i) => match value.get(*i as usize) {
                    Some(v) => v.clone(),
                    None => return self.unknown(whole, "index out of range".into()),
                },
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat => {
                    return self.unknown(whole, "splat expressions are not evaluated".into());
                }
            };
        }
        value
    }

    fn template(&mut self, t: &Template) -> String {
        let mut out = String::new();
        for el in t.elements() {
            match el {
                Element::Literal(s) => out.push_str(s),
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr);
                    out.push_str(&self.text(&v));
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        let c = self.eval(&d.cond_expr);
                        match c {
                            Value::Bool(true) => out.push_str(&self.template(&d.true_template)),
                            Value::Bool(false) => {
                                if let Some(f) = &d.false_template {
                                    out.push_str(&self.template(f));
                                }
                            }
                            _ => {
                                let p = self.placeholder(
                                    "%{if}",
                                    "a template %{if} on a value not known statically".into(),
                                );
                                out.push_str(&self.text(&p));
                            }
                        }
                    }
                    Directive::For(d) => {
                        let coll = self.eval(&d.collection_expr);
                        let items: Vec<(Value, Value)> = match coll {
                            Value::Array(a) => a
                                .into_iter()
                                .enumerate()
                                .map(|(i, v)| (Value::from(i), v))
                                .collect(),
                            Value::Object(m) => {
                                m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                            }
                            _ => {
                                let p = self.placeholder(
                                    "%{for}",
                                    "a template %{for} over a value not known statically".into(),
                                );
                                out.push_str(&self.text(&p));
                                continue;
                            }
                        };
                        for (k, v) in items {
                            let mut scope = BTreeMap::new();
                            if let Some(kv) = &d.key_var {
                                scope.insert(kv.as_str().to_string(), k);
                            }
                            scope.insert(d.value_var.as_str().to_string(), v);
                            self.scopes.push(scope);
                            out.push_str(&self.template(&d.template));
                            self.scopes.pop();
                        }
                    }
                },
            }
        }
        out
    }

    fn template_text(&mut self, raw: &str, whole: &Expression) -> Value {
        match Template::from_str(raw) {
            Ok(t) => Value::String(self.template(&t)),
            Err(e) => self.unknown(whole, format!("template does not parse: {e}")),
        }
    }

    fn eval(&mut self, e: &Expression) -> Value {
        match e {
            Expression::Null => Value::Null,
            Expression::Bool(b) => Value::Bool(*b),
            Expression::Number(n) => number(n),
            Expression::String(s) => Value::String(s.clone()),
            Expression::Array(items) => Value::Array(items.iter().map(|x| self.eval(x)).collect()),
            Expression::Object(obj) => {
                let mut out = Map::new();
                for (k, v) in obj {
                    let key = match k {
                        ObjectKey::Identifier(id) => undup(id.as_str()).to_string(),
                        ObjectKey::Expression(x) => {
                            let kv = self.eval(x);
                            undup(&self.text(&kv)).to_string()
                        }
                        other => format!("{other:?}"),
                    };
                    let v = self.eval(v);
                    out.insert(key, v);
                }
                Value::Object(out)
            }
            Expression::TemplateExpr(t) => {
                let raw = match t.as_ref() {
                    hcl::expr::TemplateExpr::QuotedString(s) => s.clone(),
                    hcl::expr::TemplateExpr::Heredoc(h) => h.template.clone(),
                };
                // A template that is one interpolation keeps the value's type (`"${var.n}"`).
                if let Ok(t) = Template::from_str(&raw)
                    && let [Element::Interpolation(i)] = t.elements()
                {
                    return self.eval(&i.expr);
                }
                self.template_text(&raw, e)
            }
            Expression::Variable(v) => match self.lookup(v.as_str()) {
                Some(x) => x,
                None => self.unknown(e, format!("`{}` is not known statically", v.as_str())),
            },
            Expression::Traversal(t) => self.traversal(t, e),
            Expression::FuncCall(f) => self.call(f, e),
            Expression::Parenthesis(x) => self.eval(x),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr);
                match cond {
                    Value::Bool(true) => self.eval(&c.true_expr),
                    Value::Bool(false) => self.eval(&c.false_expr),
                    _ => self.unknown(e, "a condition on a value not known statically".into()),
                }
            }
            Expression::Operation(op) => self.operation(op, e),
            Expression::ForExpr(f) => {
                let coll = self.eval(&f.collection_expr);
                let items: Vec<(Value, Value)> = match coll {
                    Value::Array(a) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Value::from(i), v))
                        .collect(),
                    Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                    _ => {
                        return self.unknown(
                            e,
                            "a for expression over a value not known statically".into(),
                        );
                    }
                };
                let mut list = Vec::new();
                let mut map = Map::new();
                for (k, v) in items {
                    let mut scope = BTreeMap::new();
                    if let Some(kv) = &f.key_var {
                        scope.insert(kv.as_str().to_string(), k);
                    }
                    scope.insert(f.value_var.as_str().to_string(), v);
                    self.scopes.push(scope);
                    let keep = match &f.cond_expr {
                        Some(c) => self.eval(c) == Value::Bool(true),
                        None => true,
                    };
                    if keep {
                        let value = self.eval(&f.value_expr);
                        match &f.key_expr {
                            Some(ke) => {
                                let kv = self.eval(ke);
                                map.insert(self.text(&kv), value);
                            }
                            None => list.push(value),
                        }
                    }
                    self.scopes.pop();
                }
                if f.key_expr.is_some() {
                    Value::Object(map)
                } else {
                    Value::Array(list)
                }
            }
            #[allow(unreachable_patterns)]
            _ => self.unknown(e, "an expression the import does not evaluate".into()),
        }
    }

    fn operation(&mut self, op: &Operation, e: &Expression) -> Value {
        match op {
            Operation::Unary(u) => {
                let v = self.eval(&u.expr);
                match (u.operator, &v) {
                    (UnaryOperator::Not, Value::Bool(b)) => Value::Bool(!b),
                    (UnaryOperator::Neg, Value::Number(n)) => match n.as_i64() {
                        Some(i) => Value::from(-i),
                        None => n.as_f64().map(|f| json!(-f)).unwrap_or(Value::Null),
                    },
                    _ => self.unknown(e, "an operation on a value not known statically".into()),
                }
            }
            Operation::Binary(b) => {
                let l = self.eval(&b.lhs_expr);
                let r = self.eval(&b.rhs_expr);
                if self.has_placeholder(&l) || self.has_placeholder(&r) {
                    return self.unknown(e, "an operation on a value not known statically".into());
                }
                use BinaryOperator as B;
                let num = |v: &Value| {
                    v.as_f64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                };
                let out = match b.operator {
                    B::Eq => Some(Value::Bool(
                        l == r || self.text(&l) == self.text(&r) && !l.is_object(),
                    )),
                    B::NotEq => Some(Value::Bool(
                        !(l == r || self.text(&l) == self.text(&r) && !l.is_object()),
                    )),
                    B::And => match (&l, &r) {
                        (Value::Bool(a), Value::Bool(b)) => Some(Value::Bool(*a && *b)),
                        _ => None,
                    },
                    B::Or => match (&l, &r) {
                        (Value::Bool(a), Value::Bool(b)) => Some(Value::Bool(*a || *b)),
                        _ => None,
                    },
                    op => match (num(&l), num(&r)) {
                        (Some(a), Some(c)) => {
                            let n = match op {
                                B::Plus => Some(a + c),
                                B::Minus => Some(a - c),
                                B::Mul => Some(a * c),
                                B::Div if c != 0.0 => Some(a / c),
                                B::Mod if c != 0.0 => Some(a % c),
                                _ => None,
                            };
                            match (n, op) {
                                (Some(n), _) if n.fract() == 0.0 && n.abs() < 9e15 => {
                                    Some(Value::from(n as i64))
                                }
                                (Some(n), _) => serde_json::Number::from_f64(n).map(Value::Number),
                                (None, B::Less) => Some(Value::Bool(a < c)),
                                (None, B::LessEq) => Some(Value::Bool(a <= c)),
                                (None, B::Greater) => Some(Value::Bool(a > c)),
                                (None, B::GreaterEq) => Some(Value::Bool(a >= c)),
                                _ => None,
                            }
                        }
                        _ => None,
                    },
                };
                match out {
                    Some(v) => v,
                    None => self.unknown(e, "an operation the import does not evaluate".into()),
                }
            }
        }
    }

    fn read_file(&mut self, path: &str, e: &Expression) -> Option<String> {
        let full =
            if Path::new(path).is_absolute() || self.dir.is_empty() || path.starts_with(self.dir) {
                path.to_string()
            } else {
                format!("{}/{path}", self.dir)
            };
        match (self.read)(&full) {
            Some(t) => Some(t),
            None => {
                self.unknown(e, format!("file `{full}` could not be read"));
                None
            }
        }
    }

    fn call(&mut self, f: &hcl::expr::FuncCall, e: &Expression) -> Value {
        let name = f.name.name.as_str();
        // Lazily evaluated functions.
        match name {
            "try" => {
                for a in &f.args {
                    let v = self.eval(a);
                    if !self.has_placeholder(&v) {
                        return v;
                    }
                }
                return self.unknown(e, "no argument of try() is known statically".into());
            }
            "can" => {
                let v = f.args.first().map(|a| self.eval(a)).unwrap_or(Value::Null);
                return Value::Bool(!self.has_placeholder(&v));
            }
            _ => {}
        }
        let args: Vec<Value> = f.args.iter().map(|a| self.eval(a)).collect();
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        let unknown_args = args.iter().any(|a| self.has_placeholder(a));
        let s = |v: &Value| match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => String::new(),
            o => o.to_string(),
        };
        let list = |v: &Value| match v {
            Value::Array(a) => a.clone(),
            Value::Null => Vec::new(),
            o => vec![o.clone()],
        };
        let out: Option<Value> = match name {
            "jsonencode" => Some(Value::String(arg(0).to_string())),
            "jsondecode" if !unknown_args => serde_json::from_str(&s(&arg(0))).ok(),
            "yamldecode" if !unknown_args => serde_yaml_ng::from_str::<Value>(&s(&arg(0))).ok(),
            "file" if !unknown_args => self.read_file(&s(&arg(0)), e).map(Value::String),
            "templatefile" if !unknown_args => {
                let text = self.read_file(&s(&arg(0)), e);
                text.map(|t| {
                    let vars = arg(1).as_object().cloned().unwrap_or_default();
                    self.scopes.push(vars.into_iter().collect());
                    let v = self.template_text(&t, e);
                    self.scopes.pop();
                    v
                })
            }
            "format" => {
                let fmt_s = s(&arg(0));
                let mut out = String::new();
                let mut rest = args.iter().skip(1);
                let mut chars = fmt_s.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '%' {
                        match chars.next() {
                            Some('%') => out.push('%'),
                            Some('q') => out
                                .push_str(&format!("{:?}", s(rest.next().unwrap_or(&Value::Null)))),
                            Some(_) => out.push_str(&s(rest.next().unwrap_or(&Value::Null))),
                            None => out.push('%'),
                        }
                    } else {
                        out.push(c);
                    }
                }
                Some(Value::String(out))
            }
            "join" => Some(Value::String(
                list(&arg(1))
                    .iter()
                    .map(&s)
                    .collect::<Vec<_>>()
                    .join(&s(&arg(0))),
            )),
            "split" => Some(Value::Array(
                s(&arg(1))
                    .split(&s(&arg(0)))
                    .map(|x| Value::String(x.into()))
                    .collect(),
            )),
            "concat" => Some(Value::Array(args.iter().flat_map(list).collect())),
            "flatten" => {
                fn flat(v: &Value, out: &mut Vec<Value>) {
                    match v {
                        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
                        o => out.push(o.clone()),
                    }
                }
                let mut out = Vec::new();
                flat(&arg(0), &mut out);
                Some(Value::Array(out))
            }
            "merge" => {
                let mut m = Map::new();
                for a in &args {
                    if let Value::Object(o) = a {
                        m.extend(o.clone());
                    }
                }
                Some(Value::Object(m))
            }
            "lookup" => match &arg(0) {
                Value::Object(m) => m.get(&s(&arg(1))).cloned().or_else(|| args.get(2).cloned()),
                _ => None,
            },
            "element" => {
                let l = list(&arg(0));
                arg(1)
                    .as_u64()
                    .filter(|_| !l.is_empty())
                    .map(|i| l[i as usize % l.len()].clone())
            }
            "length" => match &arg(0) {
                Value::Array(a) if !unknown_args => Some(Value::from(a.len())),
                Value::Object(m) if !unknown_args => Some(Value::from(m.len())),
                Value::String(x) if !unknown_args => Some(Value::from(x.chars().count())),
                _ => None,
            },
            "keys" => arg(0)
                .as_object()
                .map(|m| Value::Array(m.keys().map(|k| Value::String(k.clone())).collect())),
            "values" => arg(0)
                .as_object()
                .map(|m| Value::Array(m.values().cloned().collect())),
            "contains" => Some(Value::Bool(list(&arg(0)).contains(&arg(1)))),
            "coalesce" => args
                .iter()
                .find(|a| !a.is_null() && a.as_str() != Some(""))
                .cloned(),
            "compact" => Some(Value::Array(
                list(&arg(0))
                    .into_iter()
                    .filter(|v| !v.is_null() && v.as_str() != Some(""))
                    .collect(),
            )),
            "distinct" | "toset" => {
                let mut seen = Vec::new();
                for v in list(&arg(0)) {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                Some(Value::Array(seen))
            }
            "tolist" | "tomap" => Some(arg(0)),
            "tostring" => Some(Value::String(s(&arg(0)))),
            "tonumber" if !unknown_args => s(&arg(0)).parse::<f64>().ok().map(|n| {
                if n.fract() == 0.0 {
                    Value::from(n as i64)
                } else {
                    json!(n)
                }
            }),
            "tobool" if !unknown_args => match s(&arg(0)).as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            "lower" => Some(Value::String(s(&arg(0)).to_lowercase())),
            "upper" => Some(Value::String(s(&arg(0)).to_uppercase())),
            "trimspace" => Some(Value::String(s(&arg(0)).trim().to_string())),
            "chomp" => Some(Value::String(
                s(&arg(0)).trim_end_matches(['\n', '\r']).to_string(),
            )),
            "trimprefix" => Some(Value::String(
                s(&arg(0))
                    .strip_prefix(&s(&arg(1)))
                    .map(str::to_string)
                    .unwrap_or_else(|| s(&arg(0))),
            )),
            "trimsuffix" => Some(Value::String(
                s(&arg(0))
                    .strip_suffix(&s(&arg(1)))
                    .map(str::to_string)
                    .unwrap_or_else(|| s(&arg(0))),
            )),
            "replace" if !s(&arg(1)).starts_with('/') => {
                Some(Value::String(s(&arg(0)).replace(&s(&arg(1)), &s(&arg(2)))))
            }
            "startswith" if !unknown_args => Some(Value::Bool(s(&arg(0)).starts_with(&s(&arg(1))))),
            "endswith" if !unknown_args => Some(Value::Bool(s(&arg(0)).ends_with(&s(&arg(1))))),
            "substr" if !unknown_args => {
                let text: Vec<char> = s(&arg(0)).chars().collect();
                let off = arg(1).as_u64().unwrap_or(0) as usize;
                let len = arg(2).as_i64().unwrap_or(-1);
                let end = if len < 0 {
                    text.len()
                } else {
                    (off + len as usize).min(text.len())
                };
                Some(Value::String(
                    text.get(off.min(text.len())..end)
                        .unwrap_or_default()
                        .iter()
                        .collect(),
                ))
            }
            "min" | "max" if !unknown_args => {
                let ns: Vec<f64> = args
                    .iter()
                    .flat_map(list)
                    .filter_map(|v| v.as_f64())
                    .collect();
                let v = if name == "min" {
                    ns.iter().cloned().fold(f64::INFINITY, f64::min)
                } else {
                    ns.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                };
                (!ns.is_empty()).then(|| {
                    if v.fract() == 0.0 {
                        Value::from(v as i64)
                    } else {
                        json!(v)
                    }
                })
            }
            "abs" if !unknown_args => arg(0).as_f64().map(|n| {
                if n.fract() == 0.0 {
                    Value::from(n.abs() as i64)
                } else {
                    json!(n.abs())
                }
            }),
            "zipmap" => {
                let ks = list(&arg(0));
                let vs = list(&arg(1));
                Some(Value::Object(
                    ks.iter().zip(vs).map(|(k, v)| (s(k), v)).collect(),
                ))
            }
            "base64encode" if !unknown_args => {
                let t = s(&arg(0));
                Some(Value::String(super::cloudformation::base64(t.as_bytes())))
            }
            _ => None,
        };
        match out {
            Some(v) => v,
            None => self.unknown(e, format!("{name}() could not be evaluated statically")),
        }
    }

    /// A block body as JSON: attributes evaluated, nested blocks as lists of objects.
    fn body(
        &mut self,
        body: &Body,
        path: &str,
        notes: &mut Vec<Note>,
        top: bool,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = a.key.as_str();
                    if top && META.contains(&key) {
                        continue;
                    }
                    let v = self.eval(&a.expr);
                    out.insert(key.to_string(), v);
                }
                Structure::Block(b) => {
                    let key = b.identifier.as_str();
                    if top && META.contains(&key) {
                        continue;
                    }
                    if key == "dynamic" {
                        self.dynamic(b, path, &mut out, notes);
                        continue;
                    }
                    let i = out.get(key).and_then(Value::as_array).map_or(0, Vec::len);
                    let v = self.body(&b.body, &format!("{path}.{key}[{i}]"), notes, false);
                    if let Some(a) = out
                        .entry(key.to_string())
                        .or_insert_with(|| json!([]))
                        .as_array_mut()
                    {
                        a.push(Value::Object(v))
                    }
                }
            }
        }
        out
    }

    fn dynamic(
        &mut self,
        b: &Block,
        path: &str,
        out: &mut Map<String, Value>,
        notes: &mut Vec<Note>,
    ) {
        let Some(label) = b.labels.first().map(|l| l.as_str().to_string()) else {
            return;
        };
        let iterator = b
            .body
            .attributes()
            .find(|a| a.key.as_str() == "iterator")
            .and_then(|a| ident(&a.expr).map(str::to_string))
            .unwrap_or_else(|| label.clone());
        let for_each = b
            .body
            .attributes()
            .find(|a| a.key.as_str() == "for_each")
            .map(|a| a.expr.clone());
        let content = b
            .body
            .blocks()
            .find(|c| c.identifier.as_str() == "content")
            .cloned();
        let (Some(for_each), Some(content)) = (for_each, content) else {
            return;
        };
        let coll = self.eval(&for_each);
        let items: Vec<(Value, Value)> = match coll {
            Value::Array(a) => a
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
            Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
            other => {
                notes.push(Note {
                    kind: NoteKind::Unresolved,
                    path: String::new(),
                    source: format!("{path}.dynamic.{label}"),
                    message: format!(
                        "dynamic block `{label}` iterates over `{}`, not known statically: left out",
                        self.text(&other)
                    ),
                });
                return;
            }
        };
        for (k, v) in items {
            let mut scope = BTreeMap::new();
            scope.insert(iterator.clone(), json!({"key": k, "value": v}));
            self.scopes.push(scope);
            let i = out
                .get(&label)
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let v = self.body(&content.body, &format!("{path}.{label}[{i}]"), notes, false);
            self.scopes.pop();
            if let Some(a) = out
                .entry(label.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                a.push(Value::Object(v))
            }
        }
    }
}

/// `{k = v}` → `[{key: k, value: v}]` (tags) or `[{name: k, value: v}]`.
fn pairs(v: &Value, key: &str) -> Value {
    match v {
        Value::Object(m) => Value::Array(
            m.iter()
                .map(|(k, v)| json!({ key: k, "value": v }))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn first(v: Option<&Value>) -> Option<&Map<String, Value>> {
    match v? {
        Value::Array(a) => a.first()?.as_object(),
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Terraform's `assign_public_ip = true` → `ENABLED`.
fn awsvpc(net: &Map<String, Value>) -> Value {
    let mut n = net.clone();
    if let Some(Value::Bool(b)) = n.get("assign_public_ip") {
        let s = if *b { "ENABLED" } else { "DISABLED" };
        n.insert("assign_public_ip".into(), Value::String(s.into()));
    }
    json!({ "awsvpc_configuration": n })
}

/// Parse `container_definitions` JSON text. Placeholders interpolated outside JSON strings
/// (`"cpu": ${var.cpu}`) are quoted so that the rest still parses.
fn container_definitions(
    text: &str,
    placeholders: &BTreeMap<String, String>,
) -> Result<Value, String> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let mut out = String::with_capacity(text.len());
            let mut in_str = false;
            let mut escaped = false;
            let mut i = 0;
            let bytes = text.as_bytes();
            while i < text.len() {
                let c = bytes[i] as char;
                if in_str {
                    out.push(c);
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        in_str = false;
                    }
                    i += 1;
                    continue;
                }
                if c == '"' {
                    in_str = true;
                    out.push(c);
                    i += 1;
                    continue;
                }
                if let Some(p) = placeholders
                    .keys()
                    .find(|p| text[i..].starts_with(p.as_str()))
                {
                    out.push('"');
                    out.push_str(p);
                    out.push('"');
                    i += p.len();
                    continue;
                }
                let ch = text[i..].chars().next().unwrap_or(' ');
                out.push(ch);
                i += ch.len_utf8();
            }
            serde_json::from_str(&out).map_err(|_| first.to_string())
        }
    }
}

/// Import one Terraform module: the `.tf` and `.tfvars` files of one directory.
pub fn import(
    dir: &str,
    files: &[&InputFile],
    opts: &Options,
    read: &dyn Fn(&str) -> Option<String>,
) -> Parsed {
    let mut out = Parsed::default();
    let mut tf = Tf {
        dir,
        variables: BTreeMap::new(),
        tfvars: BTreeMap::new(),
        overrides: &opts.params,
        locals: BTreeMap::new(),
        local_cache: BTreeMap::new(),
        in_progress: BTreeSet::new(),
        resources: Vec::new(),
        placeholders: BTreeMap::new(),
        scopes: Vec::new(),
        read,
    };
    let mut tfvars = Vec::new();
    let mut duplicates = Vec::new();
    for f in files {
        let body = match parse_lenient(&f.text) {
            Ok((b, dups)) => {
                for (line, key) in dups {
                    duplicates.push((f.file.clone(), line, key));
                }
                b
            }
            Err(e) => {
                let msg = e.to_string();
                let path = location(&msg).unwrap_or_else(|| ".".into());
                out.errors.push(ImportError::Syntax {
                    file: f.file.clone(),
                    path,
                    format: "HCL",
                    message: parse_message(&msg),
                });
                continue;
            }
        };
        if f.file.ends_with(".tfvars") {
            tfvars.push(body);
            continue;
        }
        for s in body.into_inner() {
            let Structure::Block(b) = s else { continue };
            let labels: Vec<String> = b.labels.iter().map(|l| l.as_str().to_string()).collect();
            match (b.identifier.as_str(), labels.as_slice()) {
                ("variable", [name]) => {
                    let default = b
                        .body
                        .attributes()
                        .find(|a| a.key.as_str() == "default")
                        .map(|a| a.expr.clone());
                    tf.variables.insert(name.clone(), default);
                }
                ("locals", []) => {
                    for a in b.body.attributes() {
                        tf.locals.insert(a.key.as_str().to_string(), a.expr.clone());
                    }
                }
                ("resource", [ty, name]) => tf.resources.push(Resource {
                    ty: ty.clone(),
                    name: name.clone(),
                    body: b.body.clone(),
                    file: f.file.clone(),
                }),
                _ => {}
            }
        }
    }
    for body in tfvars {
        for a in body.attributes() {
            let v = tf.eval(&a.expr);
            tf.tfvars.insert(a.key.as_str().to_string(), v);
        }
    }

    let mut pieces = Vec::new();
    let mut associations = Vec::new();
    let mut rules: BTreeMap<String, (String, Map<String, Value>)> = BTreeMap::new();
    let mut targets = Vec::new();
    let resources = tf.resources.clone();
    for r in &resources {
        let path = r.path();
        let source = Source {
            file: r.file.clone(),
            path: path.clone(),
            what: r.ty.clone(),
        };
        let relevant = r.ty.starts_with("aws_ecs_")
            || r.ty.starts_with("aws_appautoscaling_")
            || r.ty == "aws_cloudwatch_event_rule"
            || r.ty == "aws_cloudwatch_event_target"
            || r.ty == "aws_scheduler_schedule";
        if !relevant {
            out.skipped.push(Skipped {
                file: r.file.clone(),
                path,
                what: r.ty.clone(),
                reason: "not an ECS resource; left to Terraform".into(),
            });
            continue;
        }
        let mut notes = Vec::new();
        // count / for_each
        if let Some(c) = r.attr("count").cloned() {
            match tf.eval(&c) {
                Value::Number(n) if n.as_u64() == Some(0) => {
                    out.skipped.push(Skipped {
                        file: r.file.clone(),
                        path,
                        what: r.ty.clone(),
                        reason: "count is 0".into(),
                    });
                    continue;
                }
                Value::Number(n) if n.as_u64() == Some(1) => {}
                other => notes.push(Note {
                    kind: NoteKind::Assumed,
                    path: String::new(),
                    source: format!("{path}.count"),
                    message: format!("count is `{}`: imported once", tf.text(&other)),
                }),
            }
        }
        if r.attr("for_each").is_some() {
            notes.push(Note {
                kind: NoteKind::Assumed,
                path: String::new(),
                source: format!("{path}.for_each"),
                message:
                    "for_each: imported once, with each.key and each.value left as placeholders"
                        .into(),
            });
        }
        let mut body = tf.body(&r.body, &path, &mut notes, true);
        for (k, why) in TERRAFORM_ONLY {
            if let Some(v) = body.remove(*k)
                && super::present(&v)
            {
                notes.push(Note {
                    kind: NoteKind::Dropped,
                    path: String::new(),
                    source: format!("{path}.{k}"),
                    message: format!("Terraform-only argument: {why}; dropped"),
                });
            }
        }
        let ctx = Ctx {
            tf: &tf,
            file: &r.file,
        };
        match r.ty.as_str() {
            "aws_ecs_task_definition" => {
                let name = body
                    .get("family")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| super::kebab(&r.name));
                match body.remove("container_definitions") {
                    Some(Value::String(text)) if tf.placeholders.contains_key(text.trim()) => {
                        out.errors.push(ImportError::InvalidValue {
                            file: r.file.clone(),
                            path: format!("{path}.container_definitions"),
                            message: format!("`{text}` could not be resolved ({}): the container definitions are needed", tf.placeholders.get(text.trim()).cloned().unwrap_or_default()),
                        });
                        continue;
                    }
                    Some(Value::String(text)) => {
                        match container_definitions(&text, &tf.placeholders) {
                            Ok(v) => {
                                body.insert("containerDefinitions".into(), v);
                            }
                            Err(e) => {
                                out.errors.push(ImportError::InvalidValue {
                                    file: r.file.clone(),
                                    path: format!("{path}.container_definitions"),
                                    message: format!("not JSON: {e}"),
                                });
                                continue;
                            }
                        }
                    }
                    Some(other) => {
                        body.insert("containerDefinitions".into(), other);
                    }
                    None => {}
                }
                if let Some(Value::Array(vols)) = body.get_mut("volume") {
                    for v in vols.iter_mut() {
                        if let Some(m) = v.as_object_mut() {
                            if let Some(hp) = m.remove("host_path") {
                                m.insert("host".into(), json!({ "source_path": hp }));
                            }
                            if let Some(c) = m.remove("configure_at_launch") {
                                m.insert("configured_at_launch".into(), c);
                            }
                        }
                    }
                }
                if let Some(Value::Array(pc)) = body.get_mut("proxy_configuration") {
                    for p in pc.iter_mut() {
                        if let Some(props) = p.get("properties").cloned() {
                            p["properties"] = pairs(&props, "name");
                        }
                    }
                }
                if let Some(t) = body.get("tags").cloned() {
                    body.insert("tags".into(), pairs(&t, "key"));
                }
                if let Some(obj) = ctx.object(
                    Kind::TaskDefinition,
                    "RegisterTaskDefinitionRequest",
                    &body,
                    name,
                    source,
                    notes,
                    &mut out.errors,
                ) {
                    out.objects.push(obj);
                }
            }
            "aws_ecs_service" => {
                let name = body
                    .get("name")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| super::kebab(&r.name));
                let mut deployment = first(body.get("deployment_configuration"))
                    .cloned()
                    .unwrap_or_default();
                body.remove("deployment_configuration");
                for (from, to) in [
                    ("deployment_maximum_percent", "maximum_percent"),
                    (
                        "deployment_minimum_healthy_percent",
                        "minimum_healthy_percent",
                    ),
                    ("deployment_circuit_breaker", "deployment_circuit_breaker"),
                    ("alarms", "alarms"),
                ] {
                    if let Some(v) = body.remove(from) {
                        deployment.insert(to.into(), v);
                    }
                }
                if !deployment.is_empty() {
                    body.insert("deployment_configuration".into(), Value::Object(deployment));
                }
                if let Some(net) = first(body.get("network_configuration")).cloned() {
                    body.insert("network_configuration".into(), awsvpc(&net));
                }
                if let Some(t) = body.get("tags").cloned() {
                    body.insert("tags".into(), pairs(&t, "key"));
                }
                if let Some(mut obj) = ctx.object(
                    Kind::Service,
                    "CreateServiceRequest",
                    &body,
                    name,
                    source,
                    notes,
                    &mut out.errors,
                ) {
                    if let Some(spec) = obj.spec.as_object_mut() {
                        assemble::normalise_service(spec);
                    }
                    out.objects.push(obj);
                }
            }
            "aws_ecs_cluster" => {
                let name = body
                    .get("name")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| super::kebab(&r.name));
                if let Some(t) = body.get("tags").cloned() {
                    body.insert("tags".into(), pairs(&t, "key"));
                }
                if let Some(obj) = ctx.object(
                    Kind::Cluster,
                    "CreateClusterRequest",
                    &body,
                    name,
                    source,
                    notes,
                    &mut out.errors,
                ) {
                    out.objects.push(obj);
                }
            }
            "aws_ecs_cluster_capacity_providers" => associations.push((body, source, notes)),
            "aws_ecs_capacity_provider" => {
                let name = body
                    .get("name")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| super::kebab(&r.name));
                let asg = first(body.get("auto_scaling_group_provider"))
                    .and_then(|p| p.get("auto_scaling_group_arn"))
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| "its Auto Scaling group".into());
                out.follow_ups.push(FollowUp::node_group(&name, &asg));
                out.skipped.push(Skipped {
                    file: r.file.clone(),
                    path,
                    what: r.ty.clone(),
                    reason: format!("an EC2 capacity provider has no Tidewater kind: workloads using `{name}` are placed on nodes labelled eks.amazonaws.com/nodegroup={name} (see the follow-ups)"),
                });
            }
            "aws_appautoscaling_target"
            | "aws_appautoscaling_policy"
            | "aws_appautoscaling_scheduled_action" => {
                let resource_id = body
                    .get("resource_id")
                    .map(|v| tf.text(v))
                    .unwrap_or_default();
                let namespace = body
                    .get("service_namespace")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| "ecs".into());
                let Some(service) =
                    assemble::service_of(&resource_id).filter(|_| namespace == "ecs")
                else {
                    out.skipped.push(Skipped {
                        file: r.file.clone(),
                        path,
                        what: r.ty.clone(),
                        reason: format!(
                            "does not scale an ECS service (resource_id `{resource_id}`)"
                        ),
                    });
                    continue;
                };
                let (part, shape) = match r.ty.as_str() {
                    "aws_appautoscaling_target" => (Part::Target, "RegisterScalableTargetRequest"),
                    "aws_appautoscaling_policy" => (Part::Policy, "PutScalingPolicyRequest"),
                    _ => (Part::Action, "PutScheduledActionRequest"),
                };
                body.remove("tags");
                if let Some(p) = ctx.piece(
                    &service,
                    part,
                    shape,
                    &body,
                    &path,
                    source,
                    notes,
                    &mut out.errors,
                ) {
                    pieces.push(p);
                }
            }
            "aws_cloudwatch_event_rule" => {
                let name = body
                    .get("name")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| super::kebab(&r.name));
                rules.insert(r.name.clone(), (name, body));
            }
            "aws_cloudwatch_event_target" => targets.push((r.clone(), body, source, notes)),
            "aws_scheduler_schedule" => {
                let name = body
                    .get("name")
                    .map(|v| tf.text(v))
                    .unwrap_or_else(|| super::kebab(&r.name));
                let Some(target) = first(body.get("target")).cloned() else {
                    continue;
                };
                let Some(ecs) = first(target.get("ecs_parameters")).cloned() else {
                    out.skipped.push(Skipped {
                        file: r.file.clone(),
                        path,
                        what: r.ty.clone(),
                        reason: "has no ECS target".into(),
                    });
                    continue;
                };
                let Some(expression) = body.get("schedule_expression").map(|v| tf.text(v)) else {
                    continue;
                };
                let schedule = Schedule {
                    expression,
                    timezone: body.get("schedule_expression_timezone").map(|v| tf.text(v)),
                    state: body.get("state").map(|v| tf.text(v)),
                };
                if let Some(obj) = ctx.scheduled(
                    name,
                    schedule,
                    &ecs,
                    target.get("arn"),
                    target.get("input"),
                    &format!("{path}.target[0]"),
                    "ecs_parameters[0]",
                    source,
                    notes,
                    &mut out.errors,
                ) {
                    out.objects.push(obj);
                }
            }
            _ => out.skipped.push(Skipped {
                file: r.file.clone(),
                path,
                what: r.ty.clone(),
                reason: "no Tidewater kind for this resource type".into(),
            }),
        }
    }
    // EventBridge targets → ScheduledTasks, named after their rule.
    let per_rule = {
        let mut c: BTreeMap<String, usize> = BTreeMap::new();
        for (r, _, _, _) in &targets {
            if let Some(e) = r.attr("rule") {
                *c.entry(fmt(e)).or_default() += 1;
            }
        }
        c
    };
    for (r, body, source, notes) in targets {
        let path = r.path();
        let Some(ecs) = first(body.get("ecs_target")).cloned() else {
            out.skipped.push(Skipped {
                file: r.file.clone(),
                path,
                what: r.ty.clone(),
                reason: "not an ECS target".into(),
            });
            continue;
        };
        let rule_ref = r.attr("rule").map(fmt).unwrap_or_default();
        let rule = r.attr("rule").and_then(|e| match e {
            Expression::Traversal(t) => match t.operators.first() {
                Some(TraversalOperator::GetAttr(n))
                    if ident(&t.expr) == Some("aws_cloudwatch_event_rule") =>
                {
                    rules.get(n.as_str()).cloned()
                }
                _ => None,
            },
            _ => None,
        });
        let Some((rule_name, rule_body)) = rule else {
            out.skipped.push(Skipped { file: r.file.clone(), path, what: r.ty.clone(), reason: format!("its rule `{rule_ref}` is not an aws_cloudwatch_event_rule of the imported files") });
            continue;
        };
        let Some(expression) = rule_body.get("schedule_expression").map(|v| tf.text(v)) else {
            out.skipped.push(Skipped { file: r.file.clone(), path, what: r.ty.clone(), reason: "its rule runs on an event pattern, not a schedule: Tidewater has no event-triggered tasks".into() });
            continue;
        };
        let state = match (rule_body.get("state"), rule_body.get("is_enabled")) {
            (Some(s), _) => Some(tf.text(s)),
            (None, Some(Value::Bool(false))) => Some("DISABLED".into()),
            _ => None,
        };
        let name = if per_rule.get(&rule_ref).copied().unwrap_or(0) > 1 {
            format!("{rule_name}-{}", super::kebab(&r.name))
        } else {
            rule_name
        };
        let schedule = Schedule {
            expression,
            timezone: None,
            state,
        };
        let ctx = Ctx {
            tf: &tf,
            file: &r.file,
        };
        if let Some(obj) = ctx.scheduled(
            name,
            schedule,
            &ecs,
            body.get("arn"),
            body.get("input"),
            &path,
            "ecs_target[0]",
            source,
            notes,
            &mut out.errors,
        ) {
            out.objects.push(obj);
        }
    }
    for (mut body, source, notes) in associations {
        let cluster = body
            .remove("cluster_name")
            .map(|v| tf.text(&v))
            .unwrap_or_default();
        let cluster = assemble::cluster_name(&cluster);
        let ctx = Ctx {
            tf: &tf,
            file: &source.file.clone(),
        };
        let Some(obj) = ctx.object(
            Kind::Cluster,
            "CreateClusterRequest",
            &body,
            cluster.clone(),
            source,
            notes,
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
                if let (Some(spec), Value::Object(m)) = (existing.spec.as_object_mut(), obj.spec) {
                    spec.extend(m);
                }
                existing.fields.extend(obj.fields);
                existing.notes.extend(obj.notes);
            }
            None => out.objects.push(obj),
        }
    }
    assemble::attach(&mut out.objects, pieces, &mut out.skipped);
    for (file, line, key) in duplicates {
        for o in out.objects.iter_mut().filter(|o| o.source.file == file) {
            o.notes.push(Note {
                kind: NoteKind::Assumed,
                path: String::new(),
                source: format!("line {line}"),
                message: format!(
                    "`{key}` is given twice in one object: the last one is used, as Terraform does"
                ),
            });
        }
    }
    out
}

/// Marks a repeated object key so that hcl-edit (which rejects repeats) parses it; the
/// evaluation lets the marked (later) one win, as Terraform does.
const DUP: &str = "tidewater_dup_";

/// Parse HCL, accepting repeated keys in object expressions (Terraform takes the last).
fn parse_lenient(text: &str) -> Result<(Body, Vec<(usize, String)>), hcl::Error> {
    let mut text = text.to_string();
    let mut dups = Vec::new();
    loop {
        match hcl::parse(&text) {
            Ok(b) => return Ok((b, dups)),
            Err(e) => {
                let msg = e.to_string();
                if !msg.contains("redefined object key") || dups.len() > 100 {
                    return Err(e);
                }
                let Some((line, col)) = location(&msg).and_then(|l| {
                    let (a, b) = l.strip_prefix("line ")?.split_once(", column ")?;
                    Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
                }) else {
                    return Err(e);
                };
                let offset: usize = text
                    .split_inclusive('\n')
                    .take(line - 1)
                    .map(str::len)
                    .sum();
                let line_text = text[offset..].lines().next().unwrap_or_default();
                let at = offset + line_text.char_indices().nth(col - 1).map_or(0, |(i, _)| i);
                let quoted = text[at..].starts_with('"');
                let start = if quoted { at + 1 } else { at };
                let key: String = text[start..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if key.is_empty() {
                    return Err(e);
                }
                text.insert_str(start, &format!("{DUP}{}_", dups.len()));
                dups.push((line, key));
            }
        }
    }
}

fn undup(key: &str) -> &str {
    match key.strip_prefix(DUP) {
        Some(rest) => rest.split_once('_').map_or(rest, |(_, k)| k),
        None => key,
    }
}

/// `line L, column C` and the message from an HCL parser error's text.
fn location(msg: &str) -> Option<String> {
    let i = msg.find("in line ")?;
    let rest = &msg[i + 3..];
    let end = rest.find('\n').unwrap_or(rest.len());
    Some(rest[..end].trim().to_string())
}

fn parse_message(msg: &str) -> String {
    match msg.rfind(" = ") {
        Some(i) => msg[i + 3..].trim().to_string(),
        None => msg.lines().map(str::trim).collect::<Vec<_>>().join(" "),
    }
}

struct Ctx<'t, 'a> {
    tf: &'t Tf<'a>,
    file: &'t str,
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
            &self.tf.placeholders,
            self.file,
            str::to_string,
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
        body: &Map<String, Value>,
        name: String,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Imported> {
        let (spec, fields, more) = self.convert(
            Api::Ecs,
            shape,
            &Value::Object(body.clone()),
            &source.path,
            errors,
        )?;
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
        body: &Map<String, Value>,
        path: &str,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Piece> {
        let (mut value, mut fields, more) = self.convert(
            Api::AutoScaling,
            shape,
            &Value::Object(body.clone()),
            path,
            errors,
        )?;
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
        ecs: &Map<String, Value>,
        arn: Option<&Value>,
        input: Option<&Value>,
        path: &str,
        ecs_key: &str,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Imported> {
        let mut params = ecs.clone();
        if let Some(net) = first(params.get("network_configuration")).cloned() {
            params.insert("network_configuration".into(), awsvpc(&net));
        }
        if let Some(t) = params.get("tags").cloned() {
            params.insert("tags".into(), pairs(&t, "key"));
        }
        if let Some(arn) = arn {
            params.insert("cluster".into(), arn.clone());
        }
        let (mut run, mut fields, more) = self.convert(
            Api::Ecs,
            "RunTaskRequest",
            &Value::Object(params),
            &format!("{path}.{ecs_key}"),
            errors,
        )?;
        notes.extend(more);
        for (p, s) in fields.iter_mut() {
            if p == "cluster" {
                *s = format!("{path}.arn");
            }
        }
        if let Some(Value::String(input)) = input {
            model::task_override(
                input,
                &format!("{path}.input"),
                self.file,
                |v, p, errors| self.convert(Api::Ecs, "TaskOverride", v, p, errors),
                &mut run,
                &mut fields,
                &mut notes,
                errors,
            );
        }
        let schedule_source = source.path.clone();
        let mut obj =
            assemble::scheduled_task(name, schedule, run, fields, notes, source, &schedule_source);
        for (p, s) in obj.fields.iter_mut() {
            if p == "scheduleExpression" {
                *s = s
                    .to_string()
                    .replace(".ScheduleExpression", ".schedule_expression");
            }
        }
        Some(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        files: &[(&str, &str)],
        params: &[(&str, &str)],
        read: &dyn Fn(&str) -> Option<String>,
    ) -> Parsed {
        let inputs: Vec<InputFile> = files
            .iter()
            .map(|(f, t)| InputFile {
                file: f.to_string(),
                text: t.to_string(),
            })
            .collect();
        let refs: Vec<&InputFile> = inputs.iter().collect();
        let opts = Options {
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            namespace: None,
        };
        import("tf", &refs, &opts, read)
    }

    const MAIN: &str = r#"
variable "image" { default = "nginx:1.27" }
variable "subnets" { type = list(string) }
locals {
  name = "web"
  port = 8080
}
resource "aws_ecs_cluster" "main" {
  name = "${local.name}-cluster"
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}
resource "aws_ecs_task_definition" "app" {
  family                   = local.name
  cpu                      = 256
  memory                   = "512"
  network_mode             = "awsvpc"
  requires_compatibilities = ["FARGATE"]
  task_role_arn            = aws_iam_role.task.arn
  container_definitions = jsonencode([{
    name         = local.name
    image        = var.image
    essential    = true
    portMappings = [{ containerPort = local.port }]
    environment  = [for k, v in { A = "1", B = "2" } : { name = k, value = v }]
  }])
  volume {
    name      = "data"
    host_path = "/srv/data"
  }
  tags = { team = "a" }
}
resource "aws_ecs_service" "web" {
  name            = local.name
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.app.arn
  desired_count   = 2
  deployment_minimum_healthy_percent = 50
  network_configuration {
    subnets          = var.subnets
    assign_public_ip = false
  }
  wait_for_steady_state = true
}
resource "aws_appautoscaling_target" "web" {
  min_capacity       = 2
  max_capacity       = 6
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.web.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  service_namespace  = "ecs"
}
resource "aws_appautoscaling_policy" "cpu" {
  name               = "cpu"
  policy_type        = "TargetTrackingScaling"
  resource_id        = aws_appautoscaling_target.web.resource_id
  scalable_dimension = aws_appautoscaling_target.web.scalable_dimension
  service_namespace  = aws_appautoscaling_target.web.service_namespace
  target_tracking_scaling_policy_configuration {
    target_value = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
resource "aws_iam_role" "task" { name = "task" }
"#;

    #[test]
    fn resources_variables_locals_and_references() {
        let out = run(&[("tf/main.tf", MAIN)], &[], &|_| None);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let td = out
            .objects
            .iter()
            .find(|o| o.kind == Kind::TaskDefinition)
            .unwrap();
        assert_eq!(td.ecs_name, "web");
        assert_eq!(td.spec["cpu"], "256");
        assert_eq!(td.spec["taskRoleArn"], "${aws_iam_role.task.arn}");
        assert_eq!(
            td.spec["volumes"],
            json!([{"name": "data", "host": {"sourcePath": "/srv/data"}}])
        );
        assert_eq!(td.spec["tags"], json!([{"key": "team", "value": "a"}]));
        let c = &td.spec["containerDefinitions"][0];
        assert_eq!(c["image"], "nginx:1.27");
        assert_eq!(c["portMappings"][0]["containerPort"], 8080);
        assert_eq!(c["environment"][1], json!({"name": "B", "value": "2"}));
        let svc = out
            .objects
            .iter()
            .find(|o| o.kind == Kind::Service)
            .unwrap();
        assert_eq!(svc.spec["cluster"], "web-cluster");
        assert_eq!(svc.spec["taskDefinition"], "web");
        assert_eq!(
            svc.spec["deploymentConfiguration"]["minimumHealthyPercent"],
            50
        );
        assert_eq!(
            svc.spec["networkConfiguration"],
            json!({"awsvpcConfiguration": {"subnets": ["${var.subnets}"], "assignPublicIp": "DISABLED"}})
        );
        assert!(
            svc.notes
                .iter()
                .any(|n| n.source.ends_with("wait_for_steady_state"))
        );
        assert_eq!(
            svc.spec["autoScaling"]["scalableTarget"],
            json!({"MinCapacity": 2, "MaxCapacity": 6})
        );
        assert_eq!(
            svc.spec["autoScaling"]["scalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]
                ["TargetValue"],
            60.0
        );
        let cl = out
            .objects
            .iter()
            .find(|o| o.kind == Kind::Cluster)
            .unwrap();
        assert_eq!(
            cl.spec["settings"],
            json!([{"name": "containerInsights", "value": "enabled"}])
        );
    }

    #[test]
    fn params_override_variables_and_file_reads_heredocs() {
        let files = [(
            "tf/td.tf",
            "variable \"cpu\" {}\nresource \"aws_ecs_task_definition\" \"a\" {\n  family = \"a\"\n  container_definitions = <<EOF\n[{\"name\": \"a\", \"image\": \"x\", \"cpu\": ${var.cpu}}]\nEOF\n}\nresource \"aws_ecs_task_definition\" \"b\" {\n  family = \"b\"\n  container_definitions = file(\"${path.module}/b.json\")\n}\n",
        )];
        let read =
            |p: &str| (p == "tf/b.json").then(|| r#"[{"name": "b", "image": "y"}]"#.to_string());
        let out = run(&files, &[], &read);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let a = &out.objects[0];
        assert!(a.spec["containerDefinitions"][0].get("cpu").is_none());
        assert!(
            a.notes
                .iter()
                .any(|n| n.kind == NoteKind::Unresolved && n.path == "containerDefinitions[0].cpu")
        );
        assert_eq!(out.objects[1].spec["containerDefinitions"][0]["image"], "y");
        let out = run(&files, &[("cpu", "128")], &read);
        assert_eq!(out.objects[0].spec["containerDefinitions"][0]["cpu"], 128);
    }

    #[test]
    fn hcl_syntax_errors_name_the_line() {
        let out = run(
            &[(
                "tf/bad.tf",
                "resource \"aws_ecs_cluster\" \"x\" {\n  name = \n}\n",
            )],
            &[],
            &|_| None,
        );
        match &out.errors[0] {
            ImportError::Syntax { path, format, .. } => {
                assert_eq!(*format, "HCL");
                assert!(path.starts_with("line "), "{path}");
            }
            e => panic!("{e:?}"),
        }
    }
}
