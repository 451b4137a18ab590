//! The migration report: per imported resource, every field with its disposition from the
//! translation table (`src/translate/fields.rs`), what `render` approximated or could not carry
//! over, what the import dropped, assumed or left unresolved; then the follow-ups on AWS and EKS,
//! each stated once, derived from the objects Tidewater would create.
//!
//! Three forms: a table (stderr), JSON and Markdown (`--report FILE`).

use super::{Format, ImportError};
use super::{Imported, Manifest, Note, NoteKind, Skipped, Source};
use crate::translate::fields::{self, Disposition, Request};
use crate::translate::plan;
use crate::translate::secrets;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Something to do on AWS or EKS for the migration to work.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FollowUp {
    /// Area: `iam`, `secrets`, `load-balancing`, `storage`, `compute`, `logging`, `scaling`,
    /// `networking`, `cutover`, `inputs`.
    pub topic: String,
    /// What to do, concretely.
    pub text: String,
    /// The resources (`Kind/name`) it concerns.
    pub resources: Vec<String>,
    /// What makes two follow-ups the same one (the first text is kept); empty: the text.
    #[serde(skip)]
    pub key: String,
}

impl FollowUp {
    fn new(topic: &str, text: String, resource: Option<&str>) -> FollowUp {
        FollowUp {
            topic: topic.into(),
            text,
            resources: resource.map(|r| vec![r.to_string()]).unwrap_or_default(),
            key: String::new(),
        }
    }

    fn keyed(mut self, key: String) -> FollowUp {
        self.key = key;
        self
    }

    /// An EC2 capacity provider → an EKS node group.
    pub fn node_group(name: &str, asg: &str) -> FollowUp {
        FollowUp::new(
            "compute",
            format!(
                "EC2 capacity provider `{name}` ({asg}): create an EKS managed node group named `{name}` (it labels its nodes eks.amazonaws.com/nodegroup={name}, which Tidewater selects) with the instance types and scaling of the Auto Scaling group"
            ),
            None,
        )
        .keyed(format!("nodegroup:{name}"))
    }
}

/// One field of an imported resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldReport {
    /// Path in the spec.
    pub path: String,
    /// Path in the input.
    pub source: String,
    /// `mapped`, `approximated`, `unsupported`, or `not-in-table` (read-only describe members).
    pub disposition: String,
    /// The table row's path.
    pub row: String,
    /// The table row's note: where it goes, what changes or why it is not supported.
    pub note: String,
}

/// A change `render` reports for a field (approximated or unsupported).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Path in the spec.
    pub path: String,
    /// `approximated` or `unsupported`.
    pub disposition: String,
    /// What changed.
    pub message: String,
}

/// Counts for one resource or the whole import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Fields carried over.
    pub fields: usize,
    /// Fields the table marks mapped.
    pub mapped: usize,
    /// Fields the table marks approximated, or reported approximated by render.
    pub approximated: usize,
    /// Fields the table marks unsupported.
    pub unsupported: usize,
    /// Values left unresolved.
    pub unresolved: usize,
    /// Input fields dropped.
    pub dropped: usize,
}

/// The report on one imported resource.
#[derive(Clone, Debug, Serialize)]
pub struct ResourceReport {
    /// Kind.
    pub kind: String,
    /// metadata.name.
    pub name: String,
    /// The ECS name it came from.
    #[serde(rename = "ecsName")]
    pub ecs_name: String,
    /// Where it came from.
    pub source: Source,
    /// Counts.
    pub counts: Counts,
    /// Every field carried over.
    pub fields: Vec<FieldReport>,
    /// What render approximated or did not carry over.
    pub changes: Vec<Change>,
    /// What the import dropped, left unresolved, assumed or renamed.
    pub notes: Vec<Note>,
}

/// An error, as reported.
#[derive(Clone, Debug, Serialize)]
struct ErrorReport<'a> {
    label: &'a str,
    file: &'a str,
    path: &'a str,
    message: String,
}

/// One input file.
#[derive(Clone, Debug, Serialize)]
pub struct InputReport {
    /// The file.
    pub file: String,
    /// How it was read.
    pub format: String,
}

/// The migration report.
#[derive(Clone, Debug)]
pub struct Report {
    /// The inputs.
    pub inputs: Vec<InputReport>,
    /// The imported resources, in manifest order.
    pub resources: Vec<ResourceReport>,
    /// Follow-ups, each once.
    pub follow_ups: Vec<FollowUp>,
    /// Input resources left alone.
    pub skipped: Vec<Skipped>,
    /// What failed.
    pub errors: Vec<ImportError>,
    /// Totals.
    pub totals: Counts,
}

/// What the report is built from.
pub struct Inputs<'a> {
    /// Each input file and its format.
    pub formats: &'a [(String, Format)],
    /// The imported objects and their manifests.
    pub objects: &'a [(Imported, Manifest)],
    /// The render of all manifests.
    pub rendered: &'a plan::Output,
    /// Errors.
    pub errors: &'a [ImportError],
    /// Skipped input resources.
    pub skipped: &'a [Skipped],
    /// Follow-ups found while parsing.
    pub follow_ups: Vec<FollowUp>,
    /// `-n`.
    pub namespace: Option<&'a str>,
}

/// The table row for a spec path of a kind.
fn row(request: Request, path: &str) -> Option<(&'static fields::Field, Request)> {
    let (request, rest) = if let Some(rest) = path.strip_prefix("autoScaling.scalableTarget.") {
        (Request::RegisterScalableTarget, rest.to_string())
    } else if let Some(rest) = path.strip_prefix("autoScaling.scalingPolicies[") {
        (
            Request::PutScalingPolicy,
            rest.split_once("].").map(|x| x.1).unwrap_or("").to_string(),
        )
    } else if let Some(rest) = path.strip_prefix("autoScaling.scheduledActions[") {
        (
            Request::PutScheduledAction,
            rest.split_once("].").map(|x| x.1).unwrap_or("").to_string(),
        )
    } else {
        (request, path.to_string())
    };
    fields::lookup(request, &rest).map(|f| (f, request))
}

const SCHEDULE_FIELDS: &[(&str, &str)] = &[
    (
        "scheduleExpression",
        "CronJob schedule (cron(...) and rate(...) converted; see render warnings)",
    ),
    ("scheduleExpressionTimezone", "CronJob timeZone"),
    ("state", "DISABLED suspends the CronJob"),
];

fn field_report(request: Request, path: &str, source: &str) -> FieldReport {
    let base = path.split(['.', '[']).next().unwrap_or(path);
    if let Some((_, note)) = SCHEDULE_FIELDS.iter().find(|(f, _)| *f == base) {
        return FieldReport {
            path: path.into(),
            source: source.into(),
            disposition: Disposition::Mapped.as_str().into(),
            row: format!("ScheduledTask.{base}"),
            note: (*note).into(),
        };
    }
    match row(request, path) {
        Some((f, r)) => FieldReport {
            path: path.into(),
            source: source.into(),
            disposition: f.disposition.as_str().into(),
            row: format!("{}.{}", r.as_str(), f.path),
            note: f.note.into(),
        },
        None => FieldReport {
            path: path.into(),
            source: source.into(),
            disposition: "not-in-table".into(),
            row: String::new(),
            note: if path == "revision" {
                "read-only describe output: only labels the rendered objects; the operator numbers revisions itself".into()
            } else {
                "not a request field of the table".into()
            },
        },
    }
}

/// Build the report.
pub fn build(inputs: Inputs<'_>) -> Report {
    let mut totals = Counts::default();
    let resources: Vec<ResourceReport> = inputs
        .objects
        .iter()
        .map(|(obj, m)| resource_report(obj, m, inputs.rendered))
        .inspect(|r| totals.add(&r.counts))
        .collect();
    let mut follow_ups = inputs.follow_ups;
    follow_ups.extend(derive_follow_ups(
        inputs.objects,
        &inputs.rendered.objects,
        inputs.namespace,
    ));
    let follow_ups = dedupe(follow_ups);
    let mut skipped = inputs.skipped.to_vec();
    skipped.sort();
    Report {
        inputs: inputs
            .formats
            .iter()
            .map(|(f, fmt)| InputReport {
                file: f.clone(),
                format: fmt.as_str().into(),
            })
            .collect(),
        resources,
        follow_ups,
        skipped,
        errors: inputs.errors.to_vec(),
        totals,
    }
}

/// The report on one imported object.
fn resource_report(obj: &Imported, m: &Manifest, rendered: &plan::Output) -> ResourceReport {
    let describe = format!("{}/{}", m.kind.as_str(), m.name);
    let request = m.kind.request();
    let mut fields: Vec<FieldReport> = obj
        .fields
        .iter()
        .map(|(p, s)| field_report(request, p, s))
        .collect();
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    fields.dedup_by(|a, b| a.path == b.path);
    let changes: Vec<Change> = rendered
        .warnings
        .iter()
        .filter(|w| w.resource == describe)
        .map(|w| Change {
            path: w.warning.path.clone(),
            disposition: w.warning.disposition.as_str().into(),
            message: w.warning.message.clone(),
        })
        .collect();
    let mut notes = obj.notes.clone();
    notes.sort();
    notes.dedup();
    ResourceReport {
        kind: m.kind.as_str().into(),
        name: m.name.clone(),
        ecs_name: obj.ecs_name.clone(),
        source: obj.source.clone(),
        counts: Counts::of(&fields, &changes, &notes),
        fields,
        changes,
        notes,
    }
}

impl Counts {
    /// The counts of one resource: a field render approximated counts as approximated.
    fn of(fields: &[FieldReport], changes: &[Change], notes: &[Note]) -> Counts {
        let changed: BTreeSet<&str> = changes
            .iter()
            .filter(|c| c.disposition == "approximated")
            .map(|c| c.path.as_str())
            .collect();
        let is = |f: &FieldReport, d: &str| f.disposition == d;
        let count = |p: &dyn Fn(&FieldReport) -> bool| fields.iter().filter(|f| p(f)).count();
        let changed_here = |f: &FieldReport| changed.contains(f.path.as_str());
        let noted = |k: NoteKind| notes.iter().filter(|n| n.kind == k).count();
        Counts {
            fields: fields.len(),
            mapped: count(&|f| is(f, "mapped") && !changed_here(f)),
            approximated: count(&|f| is(f, "approximated") || (is(f, "mapped") && changed_here(f))),
            unsupported: count(&|f| is(f, "unsupported")),
            unresolved: noted(NoteKind::Unresolved),
            dropped: noted(NoteKind::Dropped),
        }
    }

    fn add(&mut self, c: &Counts) {
        self.fields += c.fields;
        self.mapped += c.mapped;
        self.approximated += c.approximated;
        self.unsupported += c.unsupported;
        self.unresolved += c.unresolved;
        self.dropped += c.dropped;
    }
}

fn dedupe(items: Vec<FollowUp>) -> Vec<FollowUp> {
    let mut by: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut order: Vec<(String, (String, String))> = Vec::new();
    for f in items {
        let key = if f.key.is_empty() {
            format!("{}\n{}", f.topic, f.text)
        } else {
            f.key.clone()
        };
        if !by.contains_key(&key) {
            order.push((key.clone(), (f.topic.clone(), f.text.clone())));
        }
        by.entry(key).or_default().extend(f.resources);
    }
    let rank = |t: &str| {
        [
            "inputs",
            "iam",
            "secrets",
            "compute",
            "load-balancing",
            "networking",
            "storage",
            "scaling",
            "logging",
            "cutover",
        ]
        .iter()
        .position(|x| *x == t)
        .unwrap_or(99)
    };
    let mut out: Vec<FollowUp> = order
        .into_iter()
        .map(|(k, (topic, text))| {
            let resources = by.remove(&k).unwrap_or_default().into_iter().collect();
            FollowUp {
                topic,
                text,
                resources,
                key: k,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        rank(&a.topic)
            .cmp(&rank(&b.topic))
            .then(a.text.cmp(&b.text))
    });
    out
}

/// The pod spec of a rendered workload object, and the `Kind/name` of the Tidewater resource
/// that owns it.
fn pod_spec(o: &Value) -> Option<&Value> {
    match o["kind"].as_str()? {
        "Deployment" | "DaemonSet" | "Job" => o.pointer("/spec/template/spec"),
        "CronJob" => o.pointer("/spec/jobTemplate/spec/template/spec"),
        "Pod" => o.get("spec"),
        "PodTemplate" => o.pointer("/template/spec"),
        _ => None,
    }
}

fn owner(o: &Value, objects: &[(Imported, Manifest)]) -> String {
    let name = o["metadata"]["labels"]["app.kubernetes.io/name"]
        .as_str()
        .or_else(|| o["metadata"]["name"].as_str())
        .unwrap_or_default();
    if o["kind"] == "PodTemplate" {
        return format!("TaskDefinition/{name}");
    }
    let kinds = [
        super::Kind::Service,
        super::Kind::ScheduledTask,
        super::Kind::Task,
    ];
    match objects
        .iter()
        .find(|(_, m)| m.name == name && kinds.contains(&m.kind))
    {
        Some((_, m)) => format!("{}/{}", m.kind.as_str(), m.name),
        None => format!("{}/{name}", o["kind"].as_str().unwrap_or_default()),
    }
}

/// `key=value` node requirements of a pod spec (nodeSelector and required node affinity `In`).
fn node_requirements(spec: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    if let Some(m) = spec["nodeSelector"].as_object() {
        for (k, v) in m {
            out.insert((k.clone(), v.as_str().unwrap_or_default().to_string()));
        }
    }
    if let Some(terms) = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
    {
        for t in terms {
            for e in t["matchExpressions"].as_array().into_iter().flatten() {
                if e["operator"] == "In" {
                    for v in e["values"].as_array().into_iter().flatten() {
                        out.insert((
                            e["key"].as_str().unwrap_or_default().to_string(),
                            v.as_str().unwrap_or_default().to_string(),
                        ));
                    }
                }
            }
        }
    }
    out
}

const LOAD_BALANCER_CONTROLLER: &str = "Install the AWS Load Balancer Controller (with its IAM policy) in the EKS cluster: Tidewater keeps ECS target groups through its TargetGroupBinding resource and creates ALBs through Ingress";

/// The ServiceAccounts that assume one IAM role, and the resources they run.
#[derive(Default)]
struct RoleUsers {
    accounts: BTreeSet<String>,
    users: BTreeSet<String>,
}

/// Follow-ups derived from the rendered objects.
struct Rendered<'a> {
    objects: &'a [(Imported, Manifest)],
    ns: &'a str,
    out: Vec<FollowUp>,
    fargate: BTreeSet<String>,
    metrics_server: BTreeSet<String>,
    service_accounts: BTreeMap<String, RoleUsers>,
}

fn derive_follow_ups(
    objects: &[(Imported, Manifest)],
    rendered: &[crate::translate::objects::Emitted],
    namespace: Option<&str>,
) -> Vec<FollowUp> {
    let ns = namespace.unwrap_or("<namespace>");
    let mut d = Rendered {
        objects,
        ns,
        out: Vec::new(),
        fargate: BTreeSet::new(),
        metrics_server: BTreeSet::new(),
        service_accounts: BTreeMap::new(),
    };
    for o in rendered {
        d.object(o);
    }
    let roles_with_sa: BTreeSet<String> = d.service_accounts.keys().cloned().collect();
    let mut out = d.finish();
    from_specs(objects, &roles_with_sa, ns, &mut out);
    out
}

impl Rendered<'_> {
    fn object(&mut self, o: &Value) {
        let kind = o["kind"].as_str().unwrap_or_default();
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let who = owner(o, self.objects);
        let ns = self.ns;
        match kind {
            "ServiceAccount" => {
                if let Some(role) =
                    o["metadata"]["annotations"][crate::translate::identity::ROLE_ARN].as_str()
                {
                    let entry = self.service_accounts.entry(role.to_string()).or_default();
                    entry.accounts.insert(name.to_string());
                    entry.users.insert(who.clone());
                }
            }
            "TargetGroupBinding" => {
                let tg = o
                    .pointer("/spec/targetGroupARN")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                self.push("load-balancing", LOAD_BALANCER_CONTROLLER.into(), &who);
                let text = if o.pointer("/spec/targetType").and_then(Value::as_str)
                    == Some("instance")
                {
                    format!(
                        "Target group `{tg}` is kept through TargetGroupBinding `{ns}/{name}`: it must have target type `instance` (bridge and host network modes); the nodes are registered at the Service's node port, so the load balancer's security group must be allowed to reach the nodes' NodePort range"
                    )
                } else {
                    format!(
                        "Target group `{tg}` is kept through TargetGroupBinding `{ns}/{name}`: it must have target type `ip` (awsvpc ECS services use ip), and the load balancer's security group must be allowed to reach the pods (security groups for pods, or the node security group)"
                    )
                };
                self.push("load-balancing", text, &who);
            }
            "Ingress" => self.push("load-balancing", LOAD_BALANCER_CONTROLLER.into(), &who),
            "HorizontalPodAutoscaler" => self.autoscaler(o, name, &who),
            _ => {}
        }
        if let Some(spec) = pod_spec(o) {
            self.pod(spec, &who);
        }
    }

    fn push(&mut self, topic: &str, text: String, who: &str) {
        self.out.push(FollowUp::new(topic, text, Some(who)));
    }

    fn autoscaler(&mut self, o: &Value, name: &str, who: &str) {
        let metrics = o.pointer("/spec/metrics").and_then(Value::as_array);
        for m in metrics.into_iter().flatten() {
            match m["type"].as_str() {
                Some("Resource") => {
                    self.metrics_server.insert(who.to_string());
                }
                Some("External") => self.push(
                    "scaling",
                    format!(
                        "HorizontalPodAutoscaler `{}/{name}` scales on the external metric `{}`: install a CloudWatch metrics adapter that serves it (e.g. KEDA's CloudWatch scaler or the k8s-cloudwatch-adapter)",
                        self.ns,
                        m.pointer("/external/metric/name").and_then(Value::as_str).unwrap_or("?")
                    ),
                    who,
                ),
                _ => {}
            }
        }
    }

    /// Follow-ups from a pod spec: the nodes it needs, devices, volumes.
    fn pod(&mut self, spec: &Value, who: &str) {
        for (k, v) in node_requirements(spec) {
            self.node_requirement(&k, &v, who);
        }
        let text = spec.to_string();
        if text.contains("nvidia.com/gpu") {
            self.push("compute", "GPU tasks: run them on a GPU node group with the NVIDIA device plugin (or the NVIDIA GPU Operator) installed, which provides nvidia.com/gpu".into(), who);
        }
        if text.contains("aws.amazon.com/neuron") {
            self.push("compute", "Inferentia/Trainium tasks: run them on a Neuron node group with the Neuron device plugin installed, which provides aws.amazon.com/neuron resources".into(), who);
        }
        for v in spec["volumes"].as_array().into_iter().flatten() {
            let claim = v
                .pointer("/persistentVolumeClaim/claimName")
                .and_then(Value::as_str);
            match claim {
                Some(c) if c.starts_with("efs-") => self.push("storage", "Install the Amazon EFS CSI driver (with its IAM role) in the EKS cluster and let the nodes reach the file systems' mount targets (NFS, TCP 2049)".into(), who),
                Some(c) => self.push("storage", format!("Create the PersistentVolumeClaim `{}/{c}` the pods mount (shared Docker volume or another claim Tidewater does not create)", self.ns), who),
                None => {}
            }
        }
    }

    fn node_requirement(&mut self, key: &str, value: &str, who: &str) {
        use crate::translate::placement::{CAPACITY_TYPE, COMPUTE_TYPE, NODEGROUP};
        match (key, value) {
            (COMPUTE_TYPE, "fargate") => {
                self.fargate.insert(who.to_string());
            }
            (NODEGROUP, group) => self.out.push(FollowUp::new(
                "compute",
                format!("EC2 capacity provider `{group}`: create an EKS managed node group named `{group}` (it labels its nodes eks.amazonaws.com/nodegroup={group}, which Tidewater selects) with the instance types and scaling of its Auto Scaling group"),
                Some(who),
            ).keyed(format!("nodegroup:{group}"))),
            (CAPACITY_TYPE, "SPOT") => self.push("compute", "FARGATE_SPOT has no EKS counterpart: create a managed node group with capacity type SPOT (labelled eks.amazonaws.com/capacityType=SPOT) for the pods that used it".into(), who),
            ("kubernetes.io/os", "windows") => self.push("compute", "Windows containers: add a Windows node group to the EKS cluster (and enable Windows support) for the pods that select kubernetes.io/os=windows".into(), who),
            _ => {}
        }
    }

    /// The follow-ups gathered across objects: IRSA per role, Fargate, metrics-server.
    fn finish(mut self) -> Vec<FollowUp> {
        let ns = self.ns;
        for (role, RoleUsers { accounts, users }) in std::mem::take(&mut self.service_accounts) {
            let subjects: Vec<String> = accounts
                .iter()
                .map(|a| format!("`system:serviceaccount:{ns}:{a}`"))
                .collect();
            let pairs: Vec<String> = accounts.iter().map(|a| format!("`{ns}/{a}`")).collect();
            self.out.push(FollowUp {
                topic: "iam".into(),
                text: format!(
                    "IAM role `{role}`: replace its trust of ecs-tasks.amazonaws.com with the Kubernetes ServiceAccount(s) {} — IRSA: trust the EKS cluster's OIDC provider with the condition `<oidc-provider>:sub` in [{}] (and `:aud` = `sts.amazonaws.com`); or EKS Pod Identity: trust `pods.eks.amazonaws.com` and create a pod identity association for each of them with this role",
                    pairs.join(", "),
                    subjects.join(", ")
                ),
                resources: users.into_iter().collect(),
                key: format!("irsa:{role}"),
            });
        }
        if !self.fargate.is_empty() {
            self.out.push(gathered(
                "compute",
                format!("Create an EKS Fargate profile selecting namespace `{ns}` (Fargate pods are selected by namespace and labels) and a pod execution role with ECR pull permissions"),
                std::mem::take(&mut self.fargate),
            ));
        }
        if !self.metrics_server.is_empty() {
            self.out.push(gathered(
                "scaling",
                "Install metrics-server in the EKS cluster: the HorizontalPodAutoscalers that replace Application Auto Scaling scale on pod CPU and memory".into(),
                std::mem::take(&mut self.metrics_server),
            ));
        }
        self.out
    }
}

/// A follow-up about several resources.
fn gathered(topic: &str, text: String, resources: BTreeSet<String>) -> FollowUp {
    FollowUp {
        topic: topic.into(),
        text,
        resources: resources.into_iter().collect(),
        key: String::new(),
    }
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Follow-ups derived from the specs, gathered across objects.
#[derive(Default)]
struct Specs {
    exec_roles: BTreeMap<String, BTreeSet<String>>,
    secrets_used: BTreeMap<String, BTreeSet<String>>,
    secret_users: BTreeSet<String>,
    log_groups: BTreeMap<String, BTreeSet<String>>,
    placeholders: BTreeSet<String>,
    placeholder_users: BTreeSet<String>,
}

fn from_specs(
    objects: &[(Imported, Manifest)],
    roles_with_sa: &BTreeSet<String>,
    ns: &str,
    out: &mut Vec<FollowUp>,
) {
    let mut specs = Specs::default();
    let has_store = objects
        .iter()
        .any(|(o, _)| o.spec.get("secretStore").is_some());
    for (obj, m) in objects {
        let who = format!("{}/{}", m.kind.as_str(), m.name);
        for n in obj.notes.iter().filter(|n| n.kind == NoteKind::Unresolved) {
            for p in placeholder_names(&n.message) {
                specs.placeholders.insert(p);
                specs.placeholder_users.insert(who.clone());
            }
        }
        match m.kind {
            super::Kind::TaskDefinition => {
                specs.task_definition(obj, m, &who, roles_with_sa, ns, out)
            }
            super::Kind::Service => service_follow_ups(obj, &who, ns, out),
            super::Kind::ScheduledTask => out.push(FollowUp::new(
                "cutover",
                format!("Disable the EventBridge schedule that ran `{}` once the CronJob is in place, so that the task does not run twice", obj.ecs_name),
                Some(&who),
            )),
            super::Kind::Cluster | super::Kind::Task => {}
        }
    }
    specs.finish(has_store, out);
}

/// An EFS volume's PersistentVolume and claim.
fn efs_follow_up(efs: &Value, ns: &str, who: &str) -> Option<FollowUp> {
    let fs = str_at(efs, "fileSystemId")?;
    let ap = efs
        .pointer("/authorizationConfig/accessPointId")
        .and_then(Value::as_str);
    let claim = serde_json::from_value(efs.clone())
        .map(|e| crate::translate::volumes::efs_claim_name(&e))
        .unwrap_or_else(|_| format!("efs-{fs}"));
    let root = str_at(efs, "rootDirectory").filter(|r| !r.trim_end_matches('/').is_empty());
    let handle = match (ap, root) {
        (Some(ap), _) => format!("{fs}::{ap}"),
        (None, Some(root)) => format!("{fs}:{root}"),
        (None, None) => fs.to_string(),
    };
    let tls = if str_at(efs, "transitEncryption") == Some("ENABLED") {
        ", mount option tls"
    } else {
        ""
    };
    Some(FollowUp::new(
        "storage",
        format!(
            "EFS file system `{fs}`: create a PersistentVolume (driver efs.csi.aws.com, volumeHandle `{handle}`, ReadWriteMany{tls}) and the PersistentVolumeClaim `{ns}/{claim}` bound to it"
        ),
        Some(who),
    ))
}

fn service_follow_ups(obj: &Imported, who: &str, ns: &str, out: &mut Vec<FollowUp>) {
    let spec = &obj.spec;
    let name = obj.ecs_name.as_str();
    let cluster = str_at(spec, "cluster").unwrap_or("default");
    for r in spec["serviceRegistries"].as_array().into_iter().flatten() {
        if let Some(arn) = str_at(r, "registryArn") {
            out.push(FollowUp::new(
                "networking",
                format!("Cloud Map service `{arn}`: clients that resolve it must use the Kubernetes Service DNS name (`<service>.{ns}.svc.cluster.local`) instead, or keep the Cloud Map name with ExternalDNS or the AWS Cloud Map MCS controller"),
                Some(who),
            ));
        }
    }
    if spec
        .pointer("/serviceConnectConfiguration/enabled")
        .and_then(Value::as_bool)
        == Some(true)
    {
        out.push(FollowUp::new(
            "networking",
            "Service Connect: clients calling its client aliases must use the Kubernetes Service names instead (Tidewater creates a Service per port); retries, timeouts and TLS move to a service mesh if needed".into(),
            Some(who),
        ));
    }
    out.push(FollowUp::new(
        "cutover",
        format!("When the Kubernetes workload is ready and traffic has moved, scale the ECS service `{name}` (cluster `{cluster}`) to 0 and delete it, so that both do not run"),
        Some(who),
    ));
}

/// Where a container's logs went.
fn log_target(c: &Value) -> Option<String> {
    let driver = c
        .pointer("/logConfiguration/logDriver")
        .and_then(Value::as_str)?;
    Some(match driver {
        "awslogs" => c
            .pointer("/logConfiguration/options/awslogs-group")
            .and_then(Value::as_str)
            .map(|g| format!("CloudWatch Logs group `{g}`"))
            .unwrap_or_else(|| "CloudWatch Logs".into()),
        "awsfirelens" => "FireLens (Fluent Bit / Fluentd)".to_string(),
        other => format!("the `{other}` log driver"),
    })
}

/// The secrets and parameters a container reads (`valueFrom`s and registry credentials).
fn secret_sources(c: &Value) -> Vec<&str> {
    let mut froms = Vec::new();
    for s in c["secrets"].as_array().into_iter().flatten() {
        froms.extend(str_at(s, "valueFrom"));
    }
    let options = c
        .pointer("/logConfiguration/secretOptions")
        .and_then(Value::as_array);
    for s in options.into_iter().flatten() {
        froms.extend(str_at(s, "valueFrom"));
    }
    if let Some(p) = c
        .pointer("/repositoryCredentials/credentialsParameter")
        .and_then(Value::as_str)
    {
        froms.push(p);
    }
    froms
}

impl Specs {
    fn task_definition(
        &mut self,
        obj: &Imported,
        m: &Manifest,
        who: &str,
        roles_with_sa: &BTreeSet<String>,
        ns: &str,
        out: &mut Vec<FollowUp>,
    ) {
        let spec = &obj.spec;
        if let Some(r) = str_at(spec, "executionRoleArn") {
            self.exec_roles
                .entry(r.into())
                .or_default()
                .insert(who.to_string());
        }
        if let Some(r) = str_at(spec, "taskRoleArn")
            && !roles_with_sa.contains(r)
        {
            out.push(FollowUp::new(
                "iam",
                format!("IAM role `{r}`: trust the ServiceAccount of the workload that runs task definition `{}` (named after that Service, Task or ScheduledTask) through IRSA or an EKS Pod Identity association, instead of ecs-tasks.amazonaws.com", m.name),
                Some(who),
            ));
        }
        for v in spec["volumes"].as_array().into_iter().flatten() {
            if let Some(efs) = v.get("efsVolumeConfiguration") {
                out.extend(efs_follow_up(efs, ns, who));
            }
        }
        let containers = spec["containerDefinitions"].as_array();
        for c in containers.into_iter().flatten() {
            for f in secret_sources(c) {
                let r = secrets::resolve(f);
                self.secrets_used
                    .entry(format!("`{ns}/{}` (key `{}`) ← `{f}`", r.secret, r.key))
                    .or_default()
                    .insert(who.to_string());
                self.secret_users.insert(who.to_string());
            }
            if let Some(target) = log_target(c) {
                self.log_groups
                    .entry(target)
                    .or_default()
                    .insert(who.to_string());
            }
        }
    }

    fn finish(self, has_store: bool, out: &mut Vec<FollowUp>) {
        if !self.exec_roles.is_empty() {
            let roles: Vec<String> = self.exec_roles.keys().map(|r| format!("`{r}`")).collect();
            out.push(gathered(
                "iam",
                format!(
                    "Task execution role(s) {} are not used on EKS: grant the node role (or the Fargate pod execution role) ECR pull permissions (AmazonEC2ContainerRegistryReadOnly); secrets are read by the secrets store instead",
                    roles.join(", ")
                ),
                self.exec_roles.into_values().flatten().collect(),
            ));
        }
        if !self.secrets_used.is_empty() {
            let list: Vec<String> = self.secrets_used.keys().cloned().collect();
            let how = if has_store {
                "the Cluster's secretStore syncs them through the External Secrets Operator: make sure the operator is installed and its store's IAM role may read these secrets and parameters"
            } else {
                "install the External Secrets Operator with a (Cluster)SecretStore for AWS Secrets Manager / SSM Parameter Store (IAM role allowed to read them) and set `secretStore` on the Cluster, or create the Secrets yourself"
            };
            out.push(gathered(
                "secrets",
                format!(
                    "Kubernetes Secrets must hold the task secrets — {how}: {}",
                    list.join("; ")
                ),
                self.secret_users,
            ));
        }
        for (target, users) in self.log_groups {
            out.push(gathered(
                "logging",
                format!("Container logs went to {target}: install a log agent in the EKS cluster (the Amazon CloudWatch Observability add-on or Fluent Bit) configured to ship the pods' logs there"),
                users,
            ));
        }
        if !self.placeholders.is_empty() {
            out.push(gathered(
                "inputs",
                format!(
                    "Replace the unresolved placeholders in the manifests (or re-run with --param NAME=VALUE): {}",
                    self.placeholders.into_iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                ),
                self.placeholder_users,
            ));
        }
    }
}

/// The `${...}` placeholders quoted in a note's message.
fn placeholder_names(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in message.split('`') {
        let mut rest = part;
        while let Some(i) = rest.find("${") {
            let after = &rest[i..];
            match after.find('}') {
                Some(end) => {
                    out.push(after[..=end].to_string());
                    rest = &after[end + 1..];
                }
                None => break,
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn errors_json(errors: &[ImportError]) -> Vec<ErrorReport<'_>> {
    errors
        .iter()
        .map(|e| ErrorReport {
            label: e.label(),
            file: e.file(),
            path: e.path(),
            message: e.message(),
        })
        .collect()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// One resource's section of the Markdown report.
fn markdown_resource(r: &ResourceReport, s: &mut String) {
    let _ = writeln!(s, "### {}/{}\n", r.kind, r.name);
    let _ = writeln!(
        s,
        "From `{}` `{}` ({}), ECS name `{}`.\n",
        r.source.file, r.source.path, r.source.what, r.ecs_name
    );
    if !r.notes.is_empty() {
        let _ = writeln!(s, "| import | field | from | what |\n|---|---|---|---|");
        for n in &r.notes {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                n.kind.as_str(),
                md_escape(&n.path),
                md_escape(&n.source),
                md_escape(&n.message)
            );
        }
        s.push('\n');
    }
    if !r.changes.is_empty() {
        let _ = writeln!(s, "| render | field | what changed |\n|---|---|---|");
        for c in &r.changes {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                c.disposition,
                md_escape(&c.path),
                md_escape(&c.message)
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "| field | from | disposition | table |\n|---|---|---|---|"
    );
    for f in &r.fields {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            md_escape(&f.path),
            md_escape(&f.source),
            f.disposition,
            md_escape(&f.note)
        );
    }
    s.push('\n');
}

/// Lines of a table: columns padded to their widest cell, the first two left-aligned.
fn table_lines(head: [&str; 7], rows: &[[String; 7]], s: &mut String) {
    let mut widths = head.map(str::len);
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i < 2 {
                let _ = write!(l, "{c:<w$}  ", w = widths[i]);
            } else {
                let _ = write!(l, "{c:>w$}  ", w = widths[i]);
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(s, "{}", line(&head.map(String::from)));
    for r in rows {
        let _ = writeln!(s, "{}", line(r));
    }
}

impl Report {
    /// The report as JSON.
    pub fn to_json(&self) -> String {
        let v = serde_json::json!({
            "summary": {
                "resources": self.resources.len(),
                "followUps": self.follow_ups.len(),
                "skipped": self.skipped.len(),
                "errors": self.errors.len(),
                "fields": self.totals,
            },
            "inputs": self.inputs,
            "resources": self.resources,
            "followUps": self.follow_ups,
            "skipped": self.skipped,
            "errors": errors_json(&self.errors),
        });
        let mut s = serde_json::to_string_pretty(&v).expect("report serialises");
        s.push('\n');
        s
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let t = &self.totals;
        let _ = writeln!(s, "# Tidewater import report\n");
        let _ = writeln!(
            s,
            "{} resources imported from {} files; {} fields: {} mapped, {} approximated, {} unsupported; {} unresolved values, {} dropped input fields; {} follow-ups; {} input resources skipped; {} errors.\n",
            self.resources.len(),
            self.inputs.len(),
            t.fields,
            t.mapped,
            t.approximated,
            t.unsupported,
            t.unresolved,
            t.dropped,
            self.follow_ups.len(),
            self.skipped.len(),
            self.errors.len()
        );
        self.markdown_errors(&mut s);
        self.markdown_follow_ups(&mut s);
        self.markdown_resources(&mut s);
        for r in &self.resources {
            markdown_resource(r, &mut s);
        }
        self.markdown_skipped(&mut s);
        s
    }

    fn markdown_errors(&self, s: &mut String) {
        if self.errors.is_empty() {
            return;
        }
        let _ = writeln!(s, "## Errors\n");
        let _ = writeln!(s, "| error | file | path | message |\n|---|---|---|---|");
        for e in &self.errors {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                e.label(),
                md_escape(e.file()),
                md_escape(e.path()),
                md_escape(&e.message())
            );
        }
        s.push('\n');
    }

    fn markdown_follow_ups(&self, s: &mut String) {
        if self.follow_ups.is_empty() {
            return;
        }
        let _ = writeln!(s, "## Follow-ups\n");
        for (i, f) in self.follow_ups.iter().enumerate() {
            let resources = if f.resources.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.resources.join(", "))
            };
            let _ = writeln!(s, "{}. **{}** — {}{resources}", i + 1, f.topic, f.text);
        }
        s.push('\n');
    }

    fn markdown_resources(&self, s: &mut String) {
        let _ = writeln!(s, "## Resources\n");
        let _ = writeln!(
            s,
            "| resource | from | fields | approximated | unsupported | unresolved | dropped |\n|---|---|---|---|---|---|---|"
        );
        for r in &self.resources {
            let _ = writeln!(
                s,
                "| {}/{} | {}#{} ({}) | {} | {} | {} | {} | {} |",
                r.kind,
                r.name,
                md_escape(&r.source.file),
                md_escape(&r.source.path),
                md_escape(&r.source.what),
                r.counts.fields,
                r.counts.approximated,
                r.counts.unsupported,
                r.counts.unresolved,
                r.counts.dropped
            );
        }
        s.push('\n');
    }

    fn markdown_skipped(&self, s: &mut String) {
        if self.skipped.is_empty() {
            return;
        }
        let _ = writeln!(s, "## Input resources not imported\n");
        let _ = writeln!(s, "| file | path | type | why |\n|---|---|---|---|");
        for k in &self.skipped {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md_escape(&k.file),
                md_escape(&k.path),
                md_escape(&k.what),
                md_escape(&k.reason)
            );
        }
        s.push('\n');
    }

    /// The table printed on stderr: one row per resource, then what needs attention.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        let head = [
            "RESOURCE",
            "FROM",
            "FIELDS",
            "APPROX",
            "UNSUPP",
            "UNRESOLVED",
            "DROPPED",
        ];
        let rows: Vec<[String; 7]> = self
            .resources
            .iter()
            .map(|r| {
                [
                    format!("{}/{}", r.kind, r.name),
                    format!("{}#{}", r.source.file, r.source.path),
                    r.counts.fields.to_string(),
                    r.counts.approximated.to_string(),
                    r.counts.unsupported.to_string(),
                    r.counts.unresolved.to_string(),
                    r.counts.dropped.to_string(),
                ]
            })
            .collect();
        table_lines(head, &rows, &mut s);
        self.table_attention(&mut s);
        for e in &self.errors {
            let _ = writeln!(s, "error: [{}] {e}", e.label());
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "\n{} resources, {} fields ({} mapped, {} approximated, {} unsupported), {} unresolved, {} dropped, {} follow-ups, {} errors",
            self.resources.len(),
            t.fields,
            t.mapped,
            t.approximated,
            t.unsupported,
            t.unresolved,
            t.dropped,
            self.follow_ups.len(),
            self.errors.len()
        );
        s
    }

    /// Notes, changes, renames, skipped resources and follow-ups, one line each.
    fn table_attention(&self, s: &mut String) {
        for r in &self.resources {
            for n in r.notes.iter().filter(|n| n.kind != NoteKind::Renamed) {
                let at = if n.path.is_empty() {
                    &n.source
                } else {
                    &n.path
                };
                let _ = writeln!(
                    s,
                    "{}: {}/{}: {at}: {}",
                    n.kind.as_str(),
                    r.kind,
                    r.name,
                    n.message
                );
            }
            for c in &r.changes {
                let _ = writeln!(
                    s,
                    "{}: {}/{}: {}: {}",
                    c.disposition, r.kind, r.name, c.path, c.message
                );
            }
        }
        for r in &self.resources {
            for n in r.notes.iter().filter(|n| n.kind == NoteKind::Renamed) {
                let _ = writeln!(s, "renamed: {}/{}: {}", r.kind, r.name, n.message);
            }
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(
                s,
                "skipped: {} input resources that are not ECS objects or not importable (see --report)",
                self.skipped.len()
            );
        }
        if !self.follow_ups.is_empty() {
            let _ = writeln!(s, "\nFollow-ups:");
            for (i, f) in self.follow_ups.iter().enumerate() {
                let _ = writeln!(s, "{:>3}. [{}] {}", i + 1, f.topic, f.text);
            }
        }
    }
}
