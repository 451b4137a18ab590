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

use super::assemble::{self, Part, Schedule};
use super::convert::{
    Association, Collected, Conversion, Resource as ConvertResource, Spelling, Target,
};
use super::files::{FileError, Files};
use super::limits::{self, Budget, Exceeded};
use super::model::Rename;
use super::{ImportError, Imported, InputFile, Note, NoteKind, Options, Parsed, Skipped, Source};
use hcl::expr::{
    BinaryOperator, Expression, ObjectKey, Operation, TraversalOperator, UnaryOperator,
};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body, Structure};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
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

/// The (key, value) entries of a list (by index) or an object; `None` for anything else.
fn entries(v: Value) -> Option<Vec<(Value, Value)>> {
    match v {
        Value::Array(a) => Some(
            a.into_iter()
                .enumerate()
                .map(|(i, v)| (Value::from(i), v))
                .collect(),
        ),
        Value::Object(m) => Some(m.into_iter().map(|(k, v)| (Value::String(k), v)).collect()),
        _ => None,
    }
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

/// A `variable` block.
#[derive(Clone)]
struct Variable {
    /// Its `default`.
    default: Option<Expression>,
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

/// Where a traversal starts.
enum Root {
    /// A value, and how many operators were used to get it; the rest apply to it.
    Partial(Value, usize),
    /// The traversal's whole value.
    Whole(Value),
}

struct Tf<'a> {
    dir: &'a str,
    variables: BTreeMap<String, Variable>,
    tfvars: BTreeMap<String, Value>,
    overrides: &'a BTreeMap<String, String>,
    locals: BTreeMap<String, Expression>,
    local_cache: BTreeMap<String, Value>,
    in_progress: BTreeSet<String>,
    resources: Vec<Resource>,
    placeholders: BTreeMap<String, String>,
    scopes: Vec<BTreeMap<String, Value>>,
    files: Files<'a>,
    /// Depth, steps and bytes of the evaluation.
    budget: Budget,
    /// Path of what is being evaluated (for errors).
    at: String,
}

impl<'a> Tf<'a> {
    fn new(dir: &'a str, module: &Module, opts: &'a Options, files: Files<'a>) -> Self {
        Tf {
            dir,
            variables: module.variables.clone(),
            tfvars: BTreeMap::new(),
            overrides: &opts.params,
            locals: module.locals.clone(),
            local_cache: BTreeMap::new(),
            in_progress: BTreeSet::new(),
            resources: module.resources.clone(),
            placeholders: BTreeMap::new(),
            scopes: Vec::new(),
            files,
            budget: Budget::default(),
            at: String::new(),
        }
    }

    /// Evaluate the `.tfvars` files' assignments.
    fn read_tfvars(&mut self, tfvars: &[Tfvars], errors: &mut Vec<ImportError>) {
        for t in tfvars {
            for a in t.body.attributes() {
                self.at = a.key.as_str().to_string();
                let v = self.eval(&a.expr);
                self.tfvars.insert(a.key.as_str().to_string(), v);
                if let Some(f) = self.budget.take() {
                    errors.push(refused(&t.file, f));
                }
            }
        }
    }

    fn conversion<'c>(&'c self, file: &'c str) -> Conversion<'c> {
        Conversion {
            spelling: &SPELLING,
            placeholders: &self.placeholders,
            file,
        }
    }

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
            return match self.variables.get(name).and_then(|v| v.default.clone()) {
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
        let Some(variable) = self.variables.get(name) else {
            return self.placeholder(
                &format!("var.{name}"),
                format!("variable `{name}` is not declared in the imported files: pass --param {name}=VALUE"),
            );
        };
        match variable.default.clone() {
            Some(default) => {
                let guard = format!("var.{name}");
                if !self.in_progress.insert(guard.clone()) {
                    return self.placeholder(&guard, format!("variable `{name}` refers to itself"));
                }
                let at = std::mem::replace(&mut self.at, guard.clone());
                let v = self.eval(&default);
                self.at = at;
                self.in_progress.remove(&guard);
                v
            }
            None => self.placeholder(
                &format!("var.{name}"),
                format!("variable `{name}` has no default: pass --param {name}=VALUE (or a .tfvars file)"),
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
        let at = std::mem::replace(&mut self.at, format!("local.{name}"));
        let v = self.eval(&e);
        self.at = at;
        self.in_progress.remove(name);
        if !self.budget.stopped() {
            self.local_cache.insert(name.to_string(), v.clone());
        }
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
        match self.traversal_root(t, whole) {
            Root::Partial(value, used) => self.traverse(value, &t.operators[used..], whole),
            Root::Whole(value) => value,
        }
    }

    /// The value a traversal starts from, and how many of its operators that used.
    fn traversal_root(&mut self, t: &hcl::expr::Traversal, whole: &Expression) -> Root {
        let ops = &t.operators;
        let attr = |i: usize| match ops.get(i) {
            Some(TraversalOperator::GetAttr(id)) => Some(id.as_str().to_string()),
            _ => None,
        };
        let root = ident(&t.expr);
        if let Some(v) = root.and_then(|r| self.lookup(r)) {
            return Root::Partial(v, 0);
        }
        let unknown = |tf: &mut Self, why: &str| Root::Whole(tf.unknown(whole, why.into()));
        match root {
            Some("var") => match attr(0) {
                Some(n) => Root::Partial(self.variable(&n), 1),
                None => unknown(self, "malformed reference"),
            },
            Some("local") => match attr(0) {
                Some(n) => Root::Partial(self.local(&n), 1),
                None => unknown(self, "malformed reference"),
            },
            Some("path") => Root::Partial(
                Value::String(if self.dir.is_empty() {
                    ".".into()
                } else {
                    self.dir.to_string()
                }),
                1,
            ),
            Some("data") => unknown(self, "a data source is read only when Terraform runs"),
            Some("module") => unknown(
                self,
                "a module output is known only once Terraform has applied it",
            ),
            Some("each" | "count" | "self" | "terraform") => {
                unknown(self, "depends on the Terraform evaluation context")
            }
            Some(ty) if ty.contains('_') => match (attr(0), attr(1)) {
                (Some(name), Some(a)) if ops.len() > 2 => {
                    // Deeper traversal into a computed attribute.
                    Root::Partial(self.resource_attr(ty, &name, &a, whole), 2)
                }
                (Some(name), Some(a)) => Root::Whole(self.resource_attr(ty, &name, &a, whole)),
                _ => unknown(
                    self,
                    "a splat or a whole resource is known only once Terraform has applied it",
                ),
            },
            _ => Root::Partial(self.eval(&t.expr), 0),
        }
    }

    /// Apply traversal operators to a value.
    fn traverse(
        &mut self,
        mut value: Value,
        ops: &[TraversalOperator],
        whole: &Expression,
    ) -> Value {
        for op in ops {
            if self.has_placeholder(&value) && !value.is_object() && !value.is_array() {
                return self.unknown(
                    whole,
                    "depends on a value known only once Terraform has applied it".into(),
                );
            }
            let (got, why) = match op {
                TraversalOperator::GetAttr(id) => (
                    value.get(id.as_str()).cloned(),
                    format!("no attribute `{}`", id.as_str()),
                ),
                TraversalOperator::Index(e) => {
                    let k = self.eval(e);
                    let got = match (&value, &k) {
                        (Value::Array(a), Value::Number(n)) => {
                            n.as_u64().and_then(|i| a.get(i as usize)).cloned()
                        }
                        (Value::Object(m), _) => m.get(&self.text(&k)).cloned(),
                        _ => None,
                    };
                    (got, "index into a value not known statically".into())
                }
                TraversalOperator::LegacyIndex(i) => {
                    (value.get(*i as usize).cloned(), "index out of range".into())
                }
                TraversalOperator::AttrSplat | TraversalOperator::FullSplat => {
                    (None, "splat expressions are not evaluated".into())
                }
            };
            match got {
                Some(v) => value = v,
                None => return self.unknown(whole, why),
            }
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
        if let Some(at) = limits::too_deep(raw) {
            let path = self.at.clone();
            self.budget.fail(
                path,
                format!(
                    "template nested deeper than {} levels at {at}",
                    limits::MAX_NESTING
                ),
            );
            return Value::Null;
        }
        match Template::from_str(raw) {
            Ok(t) => {
                let v = Value::String(self.template(&t));
                self.produced(v)
            }
            Err(e) => self.unknown(whole, format!("template does not parse: {e}")),
        }
    }

    /// A value produced by a function or template, counted against the budget.
    fn produced(&mut self, v: Value) -> Value {
        let at = &self.at;
        if self.budget.produced(&v, &|| at.clone()) {
            v
        } else {
            Value::Null
        }
    }

    /// Evaluate an expression, within the depth and step limits.
    fn eval(&mut self, e: &Expression) -> Value {
        let at = &self.at;
        if !self.budget.enter(&|| at.clone()) {
            return Value::Null;
        }
        let v = self.eval_unbounded(e);
        self.budget.leave();
        v
    }

    fn eval_unbounded(&mut self, e: &Expression) -> Value {
        match e {
            Expression::Null => Value::Null,
            Expression::Bool(b) => Value::Bool(*b),
            Expression::Number(n) => number(n),
            Expression::String(s) => Value::String(s.clone()),
            Expression::Array(items) => Value::Array(items.iter().map(|x| self.eval(x)).collect()),
            Expression::Object(obj) => self.object(obj),
            Expression::TemplateExpr(t) => self.template_expr(t, e),
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
            Expression::ForExpr(f) => self.for_expr(f, e),
            #[allow(unreachable_patterns)]
            _ => self.unknown(e, "an expression the import does not evaluate".into()),
        }
    }

    fn object(&mut self, obj: &hcl::expr::Object<ObjectKey, Expression>) -> Value {
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

    fn template_expr(&mut self, t: &hcl::expr::TemplateExpr, e: &Expression) -> Value {
        let raw = match t {
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

    fn for_expr(&mut self, f: &hcl::expr::ForExpr, e: &Expression) -> Value {
        let coll = self.eval(&f.collection_expr);
        let Some(items) = entries(coll) else {
            return self.unknown(
                e,
                "a for expression over a value not known statically".into(),
            );
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

    /// The text of a file named in the module: confined to the module directory; a refusal
    /// stops the evaluation (an error), a file that cannot be read is a placeholder.
    fn read_file(&mut self, path: &str, e: &Expression) -> Option<String> {
        match self.files.read(self.dir, path) {
            Ok(t) => Some(t),
            Err(FileError::Unreadable(why)) => {
                self.unknown(e, why);
                None
            }
            Err(FileError::Refused(why)) => {
                let at = self.at.clone();
                self.budget.fail(at, format!("{}: {why}", fmt(e)));
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
        let call = Call {
            name,
            known: !args.iter().any(|a| self.has_placeholder(a)),
            args: &args,
        };
        let out = match name {
            "file" | "templatefile" => self.file_function(&call, e),
            "fileexists" if call.known => self.file_exists(&call.text(0), e),
            "jsonencode" | "jsondecode" | "yamldecode" | "base64encode" => encoding(&call),
            "format" | "join" | "split" | "lower" | "upper" | "trimspace" | "chomp"
            | "trimprefix" | "trimsuffix" | "replace" | "startswith" | "endswith" | "substr"
            | "tostring" => string_function(&call),
            "tonumber" | "tobool" | "min" | "max" | "abs" => number_function(&call),
            _ => collection_function(&call),
        };
        match out {
            Some(v) => self.produced(v),
            None => self.unknown(e, format!("{name}() could not be evaluated statically")),
        }
    }

    /// `fileexists()`: whether a file of the module can be read (a path outside it is refused).
    fn file_exists(&mut self, path: &str, e: &Expression) -> Option<Value> {
        match self.files.read(self.dir, path) {
            Ok(_) => Some(Value::Bool(true)),
            Err(FileError::Unreadable(_)) => Some(Value::Bool(false)),
            Err(FileError::Refused(why)) => {
                let at = self.at.clone();
                self.budget.fail(at, format!("{}: {why}", fmt(e)));
                None
            }
        }
    }

    /// `file()` and `templatefile()`.
    fn file_function(&mut self, call: &Call<'_>, e: &Expression) -> Option<Value> {
        if !call.known {
            return None;
        }
        let path = call.text(0);
        let text = self.read_file(&path, e)?;
        if call.name == "file" {
            return Some(Value::String(text));
        }
        let guard = format!("templatefile:{path}");
        if !self.in_progress.insert(guard.clone()) {
            let at = self.at.clone();
            self.budget
                .fail(at, format!("{}: the template includes itself", fmt(e)));
            return None;
        }
        let vars = call.arg(1).as_object().cloned().unwrap_or_default();
        self.scopes.push(vars.into_iter().collect());
        let v = self.template_text(&text, e);
        self.scopes.pop();
        self.in_progress.remove(&guard);
        Some(v)
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
                    self.at = format!("{path}.{key}");
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

/// A function call's evaluated arguments.
struct Call<'a> {
    name: &'a str,
    /// No argument holds a placeholder.
    known: bool,
    args: &'a [Value],
}

impl Call<'_> {
    fn arg(&self, i: usize) -> Value {
        self.args.get(i).cloned().unwrap_or(Value::Null)
    }

    fn text(&self, i: usize) -> String {
        text(&self.arg(i))
    }

    fn list(&self, i: usize) -> Vec<Value> {
        list(&self.arg(i))
    }
}

/// A value as Terraform turns it into a string.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        o => o.to_string(),
    }
}

/// A value as a list (one value: a one-element list; null: empty).
fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        o => vec![o.clone()],
    }
}

/// A number, integral when it is.
fn numeric(n: f64) -> Value {
    if n.fract() == 0.0 {
        Value::from(n as i64)
    } else {
        json!(n)
    }
}

fn encoding(c: &Call<'_>) -> Option<Value> {
    match c.name {
        "jsonencode" => Some(Value::String(c.arg(0).to_string())),
        "jsondecode" if c.known => serde_json::from_str(&c.text(0)).ok(),
        "yamldecode" if c.known => serde_yaml_ng::from_str::<Value>(&c.text(0)).ok(),
        "base64encode" if c.known => Some(Value::String(super::cloudformation::base64(
            c.text(0).as_bytes(),
        ))),
        _ => None,
    }
}

/// `format()`: `%%`, `%q` and any other verb as the value's text.
fn format(c: &Call<'_>) -> Value {
    let fmt_s = c.text(0);
    let mut out = String::new();
    let mut rest = c.args.iter().skip(1);
    let mut chars = fmt_s.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!("{:?}", text(rest.next().unwrap_or(&Value::Null)))),
            Some(_) => out.push_str(&text(rest.next().unwrap_or(&Value::Null))),
            None => out.push('%'),
        }
    }
    Value::String(out)
}

fn substr(c: &Call<'_>) -> Value {
    let chars: Vec<char> = c.text(0).chars().collect();
    let off = c.arg(1).as_u64().unwrap_or(0) as usize;
    let len = c.arg(2).as_i64().unwrap_or(-1);
    let end = if len < 0 {
        chars.len()
    } else {
        (off + len as usize).min(chars.len())
    };
    Value::String(
        chars
            .get(off.min(chars.len())..end)
            .unwrap_or_default()
            .iter()
            .collect(),
    )
}

fn string_function(c: &Call<'_>) -> Option<Value> {
    let s = |i: usize| c.text(i);
    let string = |x: String| Some(Value::String(x));
    match c.name {
        "format" => Some(format(c)),
        "join" => string(c.list(1).iter().map(text).collect::<Vec<_>>().join(&s(0))),
        "split" => Some(Value::Array(
            s(1).split(&s(0)).map(|x| Value::String(x.into())).collect(),
        )),
        "tostring" => string(s(0)),
        "lower" => string(s(0).to_lowercase()),
        "upper" => string(s(0).to_uppercase()),
        "trimspace" => string(s(0).trim().to_string()),
        "chomp" => string(s(0).trim_end_matches(['\n', '\r']).to_string()),
        "trimprefix" => string(
            s(0).strip_prefix(&s(1))
                .map(str::to_string)
                .unwrap_or_else(|| s(0)),
        ),
        "trimsuffix" => string(
            s(0).strip_suffix(&s(1))
                .map(str::to_string)
                .unwrap_or_else(|| s(0)),
        ),
        "replace" if !s(1).starts_with('/') => string(s(0).replace(&s(1), &s(2))),
        "startswith" if c.known => Some(Value::Bool(s(0).starts_with(&s(1)))),
        "endswith" if c.known => Some(Value::Bool(s(0).ends_with(&s(1)))),
        "substr" if c.known => Some(substr(c)),
        _ => None,
    }
}

fn number_function(c: &Call<'_>) -> Option<Value> {
    if !c.known {
        return None;
    }
    match c.name {
        "tonumber" => c.text(0).parse::<f64>().ok().map(numeric),
        "tobool" => match c.text(0).as_str() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        "min" | "max" => {
            let ns: Vec<f64> = c
                .args
                .iter()
                .flat_map(list)
                .filter_map(|v| v.as_f64())
                .collect();
            let v = if c.name == "min" {
                ns.iter().cloned().fold(f64::INFINITY, f64::min)
            } else {
                ns.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            };
            (!ns.is_empty()).then(|| numeric(v))
        }
        "abs" => c.arg(0).as_f64().map(|n| numeric(n.abs())),
        _ => None,
    }
}

fn flatten(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flatten(x, out)),
        o => out.push(o.clone()),
    }
}

fn collection_function(c: &Call<'_>) -> Option<Value> {
    let array = |v: Vec<Value>| Some(Value::Array(v));
    match c.name {
        "concat" => array(c.args.iter().flat_map(list).collect()),
        "flatten" => {
            let mut out = Vec::new();
            flatten(&c.arg(0), &mut out);
            array(out)
        }
        "merge" => {
            let mut m = Map::new();
            for o in c.args.iter().filter_map(Value::as_object) {
                m.extend(o.clone());
            }
            Some(Value::Object(m))
        }
        "lookup" => match &c.arg(0) {
            Value::Object(m) => m
                .get(&c.text(1))
                .cloned()
                .or_else(|| c.args.get(2).cloned()),
            _ => None,
        },
        "element" => {
            let l = c.list(0);
            c.arg(1)
                .as_u64()
                .filter(|_| !l.is_empty())
                .map(|i| l[i as usize % l.len()].clone())
        }
        "length" if c.known => match &c.arg(0) {
            Value::Array(a) => Some(Value::from(a.len())),
            Value::Object(m) => Some(Value::from(m.len())),
            Value::String(x) => Some(Value::from(x.chars().count())),
            _ => None,
        },
        "keys" => c
            .arg(0)
            .as_object()
            .map(|m| Value::Array(m.keys().map(|k| Value::String(k.clone())).collect())),
        "values" => c
            .arg(0)
            .as_object()
            .map(|m| Value::Array(m.values().cloned().collect())),
        "contains" => Some(Value::Bool(c.list(0).contains(&c.arg(1)))),
        _ => more_collection_functions(c),
    }
}

fn more_collection_functions(c: &Call<'_>) -> Option<Value> {
    let present = |v: &Value| !v.is_null() && v.as_str() != Some("");
    match c.name {
        "coalesce" => c.args.iter().find(|a| present(a)).cloned(),
        "compact" => Some(Value::Array(
            c.list(0).into_iter().filter(present).collect(),
        )),
        "distinct" | "toset" => {
            let mut seen = Vec::new();
            for v in c.list(0) {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            Some(Value::Array(seen))
        }
        "tolist" | "tomap" => Some(c.arg(0)),
        "zipmap" => {
            let ks = c.list(0);
            let vs = c.list(1);
            Some(Value::Object(
                ks.iter().zip(vs).map(|(k, v)| (text(k), v)).collect(),
            ))
        }
        _ => None,
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
pub fn import(dir: &str, files: &[&InputFile], opts: &Options, read: Files<'_>) -> Parsed {
    let mut collected = Collected::default();
    let module = load(files, &mut collected.parsed.errors);
    let mut tf = Tf::new(dir, &module, opts, read);
    tf.read_tfvars(&module.tfvars, &mut collected.parsed.errors);
    let mut events = Events::default();
    for r in &module.resources {
        resource(&mut tf, r, &mut collected, &mut events);
    }
    event_targets(&tf, events, &mut collected.parsed);
    let mut out = collected.finish(&SPELLING, &tf.placeholders);
    note_duplicates(module.duplicates, &mut out.objects);
    out
}

/// A key given twice in one object of a file.
struct Duplicate {
    file: String,
    line: usize,
    key: String,
}

/// The declarations of a module's files.
#[derive(Default)]
struct Module {
    variables: BTreeMap<String, Variable>,
    locals: BTreeMap<String, Expression>,
    resources: Vec<Resource>,
    tfvars: Vec<Tfvars>,
    duplicates: Vec<Duplicate>,
}

/// A `.tfvars` file.
struct Tfvars {
    file: String,
    body: Body,
}

/// The error for an evaluation stopped by a limit or a refused file read.
fn refused(file: &str, f: Exceeded) -> ImportError {
    ImportError::Refused {
        file: file.into(),
        path: f.path,
        message: f.message,
    }
}

/// Longest HCL line read: the HCL parser's error report cannot point past column 65535 (it
/// panics formatting the caret), so longer lines are refused before parsing.
const MAX_LINE: usize = 60_000;

/// A line longer than [`MAX_LINE`] characters, as an error naming it.
fn overlong_line(f: &InputFile) -> Option<ImportError> {
    let (n, line) = f
        .text
        .lines()
        .enumerate()
        .find(|(_, l)| l.chars().count() > MAX_LINE)?;
    Some(ImportError::Syntax {
        file: f.file.clone(),
        path: format!("line {}", n + 1),
        format: "HCL",
        message: format!(
            "the line is {} characters long; Tidewater reads HCL lines of up to {MAX_LINE} characters",
            line.chars().count()
        ),
    })
}

/// Parse a module's files and collect their variables, locals, resources and `.tfvars`.
fn load(files: &[&InputFile], errors: &mut Vec<ImportError>) -> Module {
    let mut module = Module::default();
    for f in files {
        if let Some(e) = overlong_line(f) {
            errors.push(e);
            continue;
        }
        let body = match parse_lenient(&f.text) {
            Ok((b, dups)) => {
                module
                    .duplicates
                    .extend(dups.into_iter().map(|(line, key)| Duplicate {
                        file: f.file.clone(),
                        line,
                        key,
                    }));
                b
            }
            Err(e) => {
                let msg = e.to_string();
                let path = location(&msg).unwrap_or_else(|| ".".into());
                errors.push(ImportError::Syntax {
                    file: f.file.clone(),
                    path,
                    format: "HCL",
                    message: parse_message(&msg),
                });
                continue;
            }
        };
        if f.file.ends_with(".tfvars") {
            module.tfvars.push(Tfvars {
                file: f.file.clone(),
                body,
            });
        } else {
            module.declare(&f.file, body);
        }
    }
    module
}

impl Module {
    fn declare(&mut self, file: &str, body: Body) {
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
                    self.variables.insert(name.clone(), Variable { default });
                }
                ("locals", []) => {
                    for a in b.body.attributes() {
                        self.locals
                            .insert(a.key.as_str().to_string(), a.expr.clone());
                    }
                }
                ("resource", [ty, name]) => self.resources.push(Resource {
                    ty: ty.clone(),
                    name: name.clone(),
                    body: b.body.clone(),
                    file: file.to_string(),
                }),
                _ => {}
            }
        }
    }
}

/// EventBridge rules (by resource name) and targets, paired once all are read.
#[derive(Default)]
struct Events {
    rules: BTreeMap<String, Rule>,
    targets: Vec<Evaluated>,
}

/// An `aws_cloudwatch_event_rule`: its ECS name and arguments.
#[derive(Clone)]
struct Rule {
    name: String,
    body: Map<String, Value>,
}

/// A resource with its arguments evaluated.
struct Evaluated {
    r: Resource,
    body: Map<String, Value>,
    notes: Vec<Note>,
}

impl Evaluated {
    fn source(&self) -> Source {
        Source {
            file: self.r.file.clone(),
            path: self.r.path(),
            what: self.r.ty.clone(),
        }
    }

    fn skip(&self, reason: String) -> Skipped {
        Skipped {
            file: self.r.file.clone(),
            path: self.r.path(),
            what: self.r.ty.clone(),
            reason,
        }
    }

    /// The ECS name in argument `key`, or the resource name kebab-cased.
    fn name(&self, tf: &Tf<'_>, key: &str) -> String {
        self.body
            .get(key)
            .map(|v| tf.text(v))
            .unwrap_or_else(|| super::kebab(&self.r.name))
    }

    /// The arguments, to convert.
    fn resource<'v>(&self, name: String, body: &'v Value, notes: Vec<Note>) -> ConvertResource<'v> {
        ConvertResource {
            name,
            body,
            source: self.source(),
            at: self.r.path(),
            notes,
        }
    }
}

/// Whether a resource is converted: an ECS resource whose count is not 0. Returns what was
/// assumed about its count and for_each.
fn admit(tf: &mut Tf<'_>, r: &Resource, out: &mut Parsed) -> Option<Vec<Note>> {
    let path = r.path();
    let skip = |reason: &str| Skipped {
        file: r.file.clone(),
        path: path.clone(),
        what: r.ty.clone(),
        reason: reason.into(),
    };
    let relevant = r.ty.starts_with("aws_ecs_")
        || r.ty.starts_with("aws_appautoscaling_")
        || r.ty == "aws_cloudwatch_event_rule"
        || r.ty == "aws_cloudwatch_event_target"
        || r.ty == "aws_scheduler_schedule";
    if !relevant {
        out.skipped
            .push(skip("not an ECS resource; left to Terraform"));
        return None;
    }
    let mut notes = Vec::new();
    if let Some(c) = r.attr("count").cloned() {
        tf.at = format!("{path}.count");
        match tf.eval(&c) {
            Value::Number(n) if n.as_u64() == Some(0) => {
                out.skipped.push(skip("count is 0"));
                return None;
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
            message: "for_each: imported once, with each.key and each.value left as placeholders"
                .into(),
        });
    }
    Some(notes)
}

/// Evaluate a resource's arguments, Terraform-only ones dropped (noted).
fn evaluate(tf: &mut Tf<'_>, r: &Resource, mut notes: Vec<Note>) -> Evaluated {
    let path = r.path();
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
    Evaluated {
        r: r.clone(),
        body,
        notes,
    }
}

/// Evaluate and convert one resource (rules and targets are kept for [`event_targets`]).
fn resource(tf: &mut Tf<'_>, r: &Resource, collected: &mut Collected, events: &mut Events) {
    let Some(notes) = admit(tf, r, &mut collected.parsed) else {
        return;
    };
    let e = evaluate(tf, r, notes);
    if let Some(f) = tf.budget.take() {
        collected.parsed.errors.push(refused(&r.file, f));
        return;
    }
    let tf = &*tf;
    let conversion = tf.conversion(&r.file);
    let out = &mut collected.parsed;
    match r.ty.as_str() {
        "aws_ecs_task_definition" => task_definition(tf, &conversion, e, out),
        "aws_ecs_service" => service(tf, &conversion, e, out),
        "aws_ecs_cluster" => {
            let name = e.name(tf, "name");
            let body = Value::Object(with_tags(e.body.clone()));
            conversion.cluster(e.resource(name, &body, e.notes.clone()), out);
        }
        "aws_ecs_cluster_capacity_providers" => {
            let mut body = e.body.clone();
            let cluster = body
                .remove("cluster_name")
                .map(|v| tf.text(&v))
                .unwrap_or_default();
            collected.associations.push(Association {
                cluster: assemble::cluster_name(&cluster),
                body: Value::Object(body),
                source: e.source(),
                at: r.path(),
                notes: e.notes,
            });
        }
        "aws_ecs_capacity_provider" => {
            let name = e.name(tf, "name");
            let asg = first(e.body.get("auto_scaling_group_provider"))
                .and_then(|p| p.get("auto_scaling_group_arn"))
                .map(|v| tf.text(v))
                .unwrap_or_else(|| "its Auto Scaling group".into());
            conversion.capacity_provider(&name, &asg, e.source(), out);
        }
        "aws_appautoscaling_target"
        | "aws_appautoscaling_policy"
        | "aws_appautoscaling_scheduled_action" => scaling(tf, &conversion, e, collected),
        "aws_cloudwatch_event_rule" => {
            let name = e.name(tf, "name");
            let rule = Rule { name, body: e.body };
            events.rules.insert(r.name.clone(), rule);
        }
        "aws_cloudwatch_event_target" => events.targets.push(e),
        "aws_scheduler_schedule" => schedule(tf, &conversion, e, out),
        _ => out
            .skipped
            .push(e.skip("no Tidewater kind for this resource type".into())),
    }
}

/// `tags = {k = v}` → ECS tags.
fn with_tags(mut body: Map<String, Value>) -> Map<String, Value> {
    if let Some(t) = body.get("tags").cloned() {
        body.insert("tags".into(), pairs(&t, "key"));
    }
    body
}

fn task_definition(tf: &Tf<'_>, conversion: &Conversion<'_>, e: Evaluated, out: &mut Parsed) {
    let name = e.name(tf, "family");
    let mut body = e.body.clone();
    let path = e.r.path();
    let error = |message: String| ImportError::InvalidValue {
        file: e.r.file.clone(),
        path: format!("{path}.container_definitions"),
        message,
    };
    match body.remove("container_definitions") {
        Some(Value::String(text)) if tf.placeholders.contains_key(text.trim()) => {
            let why = tf
                .placeholders
                .get(text.trim())
                .cloned()
                .unwrap_or_default();
            out.errors.push(error(format!(
                "`{text}` could not be resolved ({why}): the container definitions are needed"
            )));
            return;
        }
        Some(Value::String(text)) => match container_definitions(&text, &tf.placeholders) {
            Ok(v) => {
                body.insert("containerDefinitions".into(), v);
            }
            Err(e) => {
                out.errors.push(error(format!("not JSON: {e}")));
                return;
            }
        },
        Some(other) => {
            body.insert("containerDefinitions".into(), other);
        }
        None => {}
    }
    task_definition_blocks(&mut body);
    let body = Value::Object(with_tags(body));
    conversion.task_definition(e.resource(name, &body, e.notes.clone()), out);
}

/// Terraform's spelling of a task definition's volumes and proxy configuration → ECS's.
fn task_definition_blocks(body: &mut Map<String, Value>) {
    if let Some(Value::Array(vols)) = body.get_mut("volume") {
        for m in vols.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(hp) = m.remove("host_path") {
                m.insert("host".into(), json!({ "source_path": hp }));
            }
            if let Some(c) = m.remove("configure_at_launch") {
                m.insert("configured_at_launch".into(), c);
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
}

fn service(tf: &Tf<'_>, conversion: &Conversion<'_>, e: Evaluated, out: &mut Parsed) {
    let name = e.name(tf, "name");
    let mut body = e.body.clone();
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
    let body = Value::Object(with_tags(body));
    conversion.service(e.resource(name, &body, e.notes.clone()), out);
}

/// A scalable target, scaling policy or scheduled action of an ECS service.
fn scaling(tf: &Tf<'_>, conversion: &Conversion<'_>, e: Evaluated, collected: &mut Collected) {
    let text = |k: &str| e.body.get(k).map(|v| tf.text(v));
    let resource_id = text("resource_id").unwrap_or_default();
    let namespace = text("service_namespace").unwrap_or_else(|| "ecs".into());
    let source = e.source();
    let service = conversion.scaled_service(
        Some(&resource_id),
        &namespace,
        "resource_id",
        &source,
        &mut collected.parsed,
    );
    let Some(service) = service else { return };
    let (part, shape) = match e.r.ty.as_str() {
        "aws_appautoscaling_target" => (Part::Target, "RegisterScalableTargetRequest"),
        "aws_appautoscaling_policy" => (Part::Policy, "PutScalingPolicyRequest"),
        _ => (Part::Action, "PutScheduledActionRequest"),
    };
    let mut body = e.body.clone();
    body.remove("tags");
    let body = Value::Object(body);
    let r = e.resource(service.clone(), &body, e.notes.clone());
    conversion.piece(&service, part, shape, r, collected);
}

/// An EventBridge Scheduler schedule with an ECS target.
fn schedule(tf: &Tf<'_>, conversion: &Conversion<'_>, e: Evaluated, out: &mut Parsed) {
    let name = e.name(tf, "name");
    let Some(target) = first(e.body.get("target")).cloned() else {
        return;
    };
    let Some(ecs) = first(target.get("ecs_parameters")).cloned() else {
        out.skipped.push(e.skip("has no ECS target".into()));
        return;
    };
    let text = |k: &str| e.body.get(k).map(|v| tf.text(v));
    let Some(expression) = text("schedule_expression") else {
        return;
    };
    let schedule = Schedule {
        expression,
        timezone: text("schedule_expression_timezone"),
        state: text("state"),
    };
    let at = format!("{}.target[0]", e.r.path());
    let target = ecs_target(
        &ecs,
        target.get("arn"),
        target.get("input"),
        &at,
        "ecs_parameters[0]",
    );
    let obj = scheduled(
        conversion,
        name,
        schedule,
        target,
        e.source(),
        e.notes,
        &mut out.errors,
    );
    out.objects.extend(obj);
}

/// A target's ECS parameters in ECS's spelling, with the cluster and the input.
fn ecs_target(
    ecs: &Map<String, Value>,
    arn: Option<&Value>,
    input: Option<&Value>,
    path: &str,
    ecs_key: &str,
) -> Target {
    let mut params = with_tags(ecs.clone());
    if let Some(net) = first(params.get("network_configuration")).cloned() {
        params.insert("network_configuration".into(), awsvpc(&net));
    }
    if let Some(arn) = arn {
        params.insert("cluster".into(), arn.clone());
    }
    Target {
        params,
        params_at: format!("{path}.{ecs_key}"),
        cluster_at: format!("{path}.arn"),
        input: input.and_then(Value::as_str).map(str::to_string),
        input_at: format!("{path}.input"),
        schedule_at: String::new(),
    }
}

/// A ScheduledTask, its schedule's fields named in Terraform's spelling.
fn scheduled(
    conversion: &Conversion<'_>,
    name: String,
    schedule: Schedule,
    mut target: Target,
    source: Source,
    notes: Vec<Note>,
    errors: &mut Vec<ImportError>,
) -> Option<Imported> {
    target.schedule_at = source.path.clone();
    let mut obj = conversion.scheduled(name, schedule, target, source, notes, errors)?;
    for (p, s) in obj.fields.iter_mut() {
        if p == "scheduleExpression" {
            *s = s.replace(".ScheduleExpression", ".schedule_expression");
        }
    }
    Some(obj)
}

/// EventBridge targets → ScheduledTasks, named after their rule.
fn event_targets(tf: &Tf<'_>, events: Events, out: &mut Parsed) {
    let mut per_rule: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events.targets {
        if let Some(x) = e.r.attr("rule") {
            *per_rule.entry(fmt(x)).or_default() += 1;
        }
    }
    for e in events.targets {
        let rule_ref = e.r.attr("rule").map(fmt).unwrap_or_default();
        let shared = per_rule.get(&rule_ref).copied().unwrap_or(0) > 1;
        event_target(tf, &events.rules, e, shared, out);
    }
}

/// The rule an `aws_cloudwatch_event_target` names, if it is one of the module.
fn rule_of<'r>(e: &Evaluated, rules: &'r BTreeMap<String, Rule>) -> Option<&'r Rule> {
    match e.r.attr("rule")? {
        Expression::Traversal(t) => match t.operators.first() {
            Some(TraversalOperator::GetAttr(n))
                if ident(&t.expr) == Some("aws_cloudwatch_event_rule") =>
            {
                rules.get(n.as_str())
            }
            _ => None,
        },
        _ => None,
    }
}

/// One EventBridge target; `shared`: its rule has other targets (the name says which).
fn event_target(
    tf: &Tf<'_>,
    rules: &BTreeMap<String, Rule>,
    e: Evaluated,
    shared: bool,
    out: &mut Parsed,
) {
    let Some(ecs) = first(e.body.get("ecs_target")).cloned() else {
        out.skipped.push(e.skip("not an ECS target".into()));
        return;
    };
    let rule_ref = e.r.attr("rule").map(fmt).unwrap_or_default();
    let Some(rule) = rule_of(&e, rules) else {
        out.skipped.push(e.skip(format!(
            "its rule `{rule_ref}` is not an aws_cloudwatch_event_rule of the imported files"
        )));
        return;
    };
    let Some(expression) = rule.body.get("schedule_expression").map(|v| tf.text(v)) else {
        out.skipped.push(e.skip("its rule runs on an event pattern, not a schedule: Tidewater has no event-triggered tasks".into()));
        return;
    };
    let state = match (rule.body.get("state"), rule.body.get("is_enabled")) {
        (Some(s), _) => Some(tf.text(s)),
        (None, Some(Value::Bool(false))) => Some("DISABLED".into()),
        _ => None,
    };
    let name = if shared {
        format!("{}-{}", rule.name, super::kebab(&e.r.name))
    } else {
        rule.name.clone()
    };
    let schedule = Schedule {
        expression,
        timezone: None,
        state,
    };
    let conversion = tf.conversion(&e.r.file);
    let path = e.r.path();
    let target = ecs_target(
        &ecs,
        e.body.get("arn"),
        e.body.get("input"),
        &path,
        "ecs_target[0]",
    );
    let obj = scheduled(
        &conversion,
        name,
        schedule,
        target,
        e.source(),
        e.notes,
        &mut out.errors,
    );
    out.objects.extend(obj);
}

/// Objects of a file with a repeated key get a note: the last one is used.
fn note_duplicates(duplicates: Vec<Duplicate>, objects: &mut [Imported]) {
    for d in duplicates {
        for o in objects.iter_mut().filter(|o| o.source.file == d.file) {
            o.notes.push(Note {
                kind: NoteKind::Assumed,
                path: String::new(),
                source: format!("line {}", d.line),
                message: format!(
                    "`{}` is given twice in one object: the last one is used, as Terraform does",
                    d.key
                ),
            });
        }
    }
}

const SPELLING: Spelling = Spelling {
    renames: RENAMES,
    field_name: str::to_string,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Kind;

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
        import("tf", &refs, &opts, Files::Function(read))
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
