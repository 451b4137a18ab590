//! `render` shows exactly what the operator does: both run the one plan of
//! `tidewater::translate::plan`, `render` over the input documents, the operator over its caches
//! (TaskDefinitions, their registered revisions, Clusters). These tests run both over the same
//! data and compare, and pin the rules where the copies of that step used to differ.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde_json::{Value, json};
use tidewater::api::task_definition::TaskDefinitionStatus;
use tidewater::api::{Cluster, TaskDefinition};
use tidewater::controller::compact::Compact;
use tidewater::controller::error::Error;
use tidewater::controller::lookup::Caches;
use tidewater::controller::revisions::{self, Revision};
use tidewater::render::{self, InputError, Resource};
use tidewater::translate::plan::{self, Plan, PlanError, set};
use tidewater::translate::reference::TaskDefinitionRef;
use tidewater::translate::task_definition::family;

const NAMESPACE: &str = "plan";

/// The operator's caches holding `resources` as the operator would have them: every
/// TaskDefinition with its revision registered (the number `render` gives it), every Cluster.
struct Cache {
    task_definitions: Writer<Compact<TaskDefinition>>,
    revisions: Writer<Compact<ControllerRevision>>,
    clusters: Writer<Cluster>,
}

impl Cache {
    fn of(resources: &[Resource]) -> Cache {
        let mut c = Cache {
            task_definitions: Writer::default(),
            revisions: Writer::default(),
            clusters: Writer::default(),
        };
        for r in resources {
            match r {
                Resource::TaskDefinition { name, spec } => {
                    let family = family(spec, name);
                    let n = set::revision(spec);
                    let mut td = TaskDefinition::new(name, (**spec).clone());
                    td.metadata.namespace = Some(NAMESPACE.into());
                    let uid = format!("uid-of-{name}");
                    td.metadata.uid = Some(uid.clone());
                    td.status = Some(TaskDefinitionStatus {
                        revision: Some(n),
                        ..TaskDefinitionStatus::default()
                    });
                    let registered = serde_json::to_value(&spec.register).unwrap();
                    let mut cr = revisions::to_object(name, &family, n, &registered);
                    cr.metadata.namespace = Some(NAMESPACE.into());
                    // Registered by the TaskDefinition: owned by it, as the operator does.
                    cr.metadata.owner_references = Some(vec![OwnerReference {
                        api_version: "ecs.tidewater.dev/v1alpha1".into(),
                        kind: "TaskDefinition".into(),
                        name: name.clone(),
                        uid,
                        controller: Some(true),
                        block_owner_deletion: Some(true),
                    }]);
                    c.task_definitions
                        .apply_watcher_event(&Event::Apply(Compact::new(td)));
                    c.revisions
                        .apply_watcher_event(&Event::Apply(Compact::new(cr)));
                }
                Resource::Cluster { name, spec } => {
                    let mut cl = Cluster::new(name, (**spec).clone());
                    cl.metadata.namespace = Some(NAMESPACE.into());
                    c.clusters.apply_watcher_event(&Event::Apply(cl));
                }
                _ => {}
            }
        }
        c
    }

    /// What the reconciler of `r` plans (`None` for a TaskDefinition or Cluster).
    fn plan(&self, r: &Resource) -> Option<Result<Plan<Revision>, PlanError>> {
        let workload = set::workload_of(r)?;
        let (tds, revs, clusters) = (
            self.task_definitions.as_reader(),
            self.revisions.as_reader(),
            self.clusters.as_reader(),
        );
        let running = BTreeSet::new();
        let indexes = tidewater::controller::index::Indexes::default();
        indexes.task_definitions.rebuild(&tds);
        indexes.revisions.rebuild(&revs);
        let caches = Caches {
            task_definitions: &tds,
            revisions: &revs,
            clusters: &clusters,
            indexes: &indexes,
            namespace: NAMESPACE,
            running: &running,
        };
        Some(plan::plan(&caches, &workload))
    }
}

fn docs(file: &str, yaml: &str) -> Vec<(String, Value)> {
    render::documents(file, yaml)
        .unwrap()
        .into_iter()
        .map(|d| (file.to_string(), d))
        .collect()
}

fn resources(docs: &[(String, Value)]) -> Vec<Resource> {
    docs.iter()
        .flat_map(|(f, d)| render::recognise(f, d).unwrap())
        .map(|(r, _)| r)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The rules where render and the operator used to differ.
// ---------------------------------------------------------------------------------------------

const PRIVILEGED_IN_PROD: &str = r#"
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Cluster
metadata: {name: prod}
spec: {policy: {allowedImagePrefixes: ["registry.example.com/"]}}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: TaskDefinition
metadata: {name: web}
spec: {containerDefinitions: [{name: web, image: "registry.example.com/web:1", privileged: true}]}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Service
metadata: {name: web}
spec: {taskDefinition: web, cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod"}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Task
metadata: {name: once}
spec: {taskDefinition: "web:1", cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/prod"}
"#;

/// CreateService and RunTask `cluster`: "The short name or full Amazon Resource Name (ARN) of
/// the cluster that you run your service on. If you do not specify a cluster, the default
/// cluster is assumed." A Cluster named by its ARN is that Cluster, and its policy applies in
/// `render` as in the operator.
#[test]
fn a_cluster_named_by_arn_applies_its_policy() {
    let input = docs("prod.yaml", PRIVILEGED_IN_PROD);
    let out = render::render_documents(&input, None);
    let violation = "PolicyViolation: containerDefinitions[0].privileged: privileged containers are not allowed by the Cluster policy (allowPrivilegedContainers)";
    let error = |resource: &str| InputError {
        file: "prod.yaml".into(),
        path: "spec".into(),
        message: format!("{resource}: {violation}"),
    };
    assert_eq!(out.errors, vec![error("Service/web"), error("Task/once")]);
    assert_eq!(out.objects, Vec::<Value>::new());

    let rs = resources(&input);
    let cache = Cache::of(&rs);
    for r in &rs {
        if let Some(planned) = cache.plan(r) {
            let e = Error::from(planned.unwrap_err());
            assert!(
                matches!(&e, Error::Policy(_)) && e.to_string() == violation,
                "{}: {e:?}",
                r.describe()
            );
        }
    }
}

const EMPTY_ROLE_OVERRIDE: &str = r#"
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Cluster
metadata: {name: default}
spec: {policy: {allowedTaskRoleArns: ["arn:aws:iam::123456789012:role/team-a-*"]}}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec:
  taskRoleArn: "arn:aws:iam::123456789012:role/team-a-job"
  containerDefinitions: [{name: job, image: "job:1"}]
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Task
metadata: {name: nightly}
spec: {taskDefinition: job, overrides: {taskRoleArn: ""}}
"#;

/// RunTask `overrides.taskRoleArn` (TaskOverride): "The Amazon Resource Name (ARN) of the role
/// that containers in this task can assume." An empty override names no role: the task
/// definition's role is assumed, the Cluster policy checks that role, and the ServiceAccount
/// carries it — in `render` as in the operator.
#[test]
fn an_empty_task_role_override_runs_the_task_definition_role() {
    let input = docs("job.yaml", EMPTY_ROLE_OVERRIDE);
    let out = render::render_documents(&input, None);
    assert_eq!(out.errors, vec![]);
    let sa: Vec<&Value> = out
        .objects
        .iter()
        .filter(|o| o["kind"] == "ServiceAccount")
        .map(|o| o.json())
        .collect();
    let expected = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": "nightly",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/team-a-job"},
            "labels": {
                "app.kubernetes.io/managed-by": "tidewater",
                "app.kubernetes.io/name": "nightly"
            }
        }
    });
    assert_eq!(sa, vec![&expected]);
    let pod = out.objects.iter().find(|o| o["kind"] == "Pod").unwrap();
    assert_eq!(pod["spec"]["serviceAccountName"], "nightly");

    let rs = resources(&input);
    let planned = Cache::of(&rs).plan(&rs[2]).unwrap().unwrap();
    let objects: Vec<Value> = planned.objects.iter().map(|o| o.to_value()).collect();
    assert_eq!(objects, out.objects);
}

/// "If a revision isn't specified, the latest ACTIVE revision is used." (RunTask
/// taskDefinition) The family ends at the first `:`; a revision that is not a number names none.
#[test]
fn a_reference_reads_the_same_everywhere() {
    let r = |s: &str| TaskDefinitionRef::parse(s);
    assert_eq!(
        r("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
        TaskDefinitionRef {
            family: "web".into(),
            revision: Some(7)
        }
    );
    assert_eq!(
        revisions::parse_reference("web:latest"),
        ("web".into(), None)
    );
}

// ---------------------------------------------------------------------------------------------
// Every example and every corpus file: render and the operator plan the same.
// ---------------------------------------------------------------------------------------------

/// A task definition of each family a workload names that the input lacks (so that both sides
/// plan the workload), with the revision it names.
fn missing_task_definitions(rs: &[Resource]) -> Vec<(String, Value)> {
    let have: BTreeSet<String> = rs
        .iter()
        .filter_map(|r| match r {
            Resource::TaskDefinition { name, spec } => Some(family(spec, name)),
            _ => None,
        })
        .collect();
    let mut added = BTreeMap::new();
    for r in rs {
        let Some(reference) =
            set::workload_of(r).and_then(|w| w.task_definition().map(String::from))
        else {
            continue;
        };
        let t = TaskDefinitionRef::parse(&reference);
        // An invalid family (a template's `<PLACEHOLDER>`) cannot be registered: render plans
        // a placeholder for it and the operator reports it missing.
        let valid = t
            .family
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if reference.is_empty() || have.contains(&t.family) || !valid {
            continue;
        }
        // The containers and ports its load balancers name (ECS checks that they exist).
        let mut containers: BTreeMap<String, BTreeSet<i32>> =
            BTreeMap::from([("app".to_string(), BTreeSet::from([8080]))]);
        if let Resource::Service { spec, .. } = r {
            for lb in spec.create.load_balancers.iter().flatten() {
                if let (Some(c), Some(p)) = (&lb.container_name, lb.container_port) {
                    containers.entry(c.clone()).or_default().insert(p);
                }
            }
        }
        let definitions: Vec<Value> = containers
            .iter()
            .map(|(name, ports)| {
                let ports: Vec<Value> = ports.iter().map(|p| json!({"containerPort": p})).collect();
                json!({"name": name, "image": "app:1", "portMappings": ports})
            })
            .collect();
        added.entry(t.family.clone()).or_insert_with(|| {
            json!({
                "family": t.family,
                "revision": t.revision.unwrap_or(1),
                "containerDefinitions": definitions,
            })
        });
    }
    added
        .into_values()
        .map(|v| ("added-task-definitions.json".to_string(), v))
        .collect()
}

/// Unknown input members (reported by `render` while reading; the CRD schema prunes them).
fn read_note(w: &render::ResourceWarning) -> bool {
    w.warning
        .message
        .contains("not a field of this ECS request shape")
        || w.warning.message.contains("where ECS expects a list")
}

fn same_plan(label: &str, docs: Vec<(String, Value)>) -> usize {
    let mut docs = docs;
    let rs = resources(&docs);
    docs.extend(missing_task_definitions(&rs));
    let rs = resources(&docs);
    let out = render::render_documents(&docs, None);
    assert_eq!(out.errors, vec![], "{label}: render errors");
    let cache = Cache::of(&rs);

    let mut objects = Vec::new();
    let mut warnings = BTreeSet::new();
    let mut placeholders = BTreeSet::new();
    for r in &rs {
        if let Resource::TaskDefinition { name, spec } = r {
            for w in plan::task_definition(name, spec).unwrap() {
                warnings.insert((r.describe(), w));
            }
            continue;
        }
        let Some(planned) = cache.plan(r) else {
            continue;
        };
        match planned {
            Ok(p) => {
                objects.extend(p.objects.iter().map(|o| o.to_value()));
                warnings.extend(p.warnings.into_iter().map(|w| (r.describe(), w)));
            }
            // No taskDefinition: the operator reports it, render runs a placeholder.
            Err(PlanError::Invalid(e)) if e.to_string() == "taskDefinition: required" => {
                placeholders.insert(r.describe());
            }
            Err(PlanError::TaskDefinitionNotFound(_)) => {
                placeholders.insert(r.describe());
            }
            Err(e) => panic!("{label}: {}: the operator fails: {e}", r.describe()),
        }
    }
    // Render's objects, less those of the placeholders.
    let input_set = set::InputSet::new(&rs);
    let mut rendered: Vec<Value> = out
        .objects
        .iter()
        .filter(|o| o["kind"] != "PodTemplate")
        .map(|o| o.json().clone())
        .collect();
    for r in rs.iter().filter(|r| placeholders.contains(&r.describe())) {
        let p = plan::plan(&input_set, &set::workload_of(r).unwrap()).unwrap();
        for o in p.objects {
            let v = o.to_value();
            let at = rendered.iter().position(|x| *x == v).unwrap();
            rendered.remove(at);
        }
    }
    pretty_assertions::assert_eq!(rendered, objects, "{label}: objects differ");
    let rendered_warnings: BTreeSet<_> = out
        .warnings
        .iter()
        .filter(|w| !read_note(w) && !placeholders.contains(&w.resource))
        .map(|w| (w.resource.clone(), w.warning.clone()))
        .collect();
    pretty_assertions::assert_eq!(rendered_warnings, warnings, "{label}: warnings differ");
    objects.len()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    render::collect_files(&[dir.to_path_buf()]).unwrap()
}

fn read(paths: &[PathBuf]) -> Vec<(String, Value)> {
    paths
        .iter()
        .flat_map(|p| {
            let name = p.display().to_string();
            docs(&name, &std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

#[test]
fn render_and_the_operator_plan_the_examples_alike() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let n = same_plan("examples", read(&files(&root.join("examples"))));
    assert!(n >= 10, "only {n} objects planned");
}

/// Corpus files ECS itself rejects (see tests/corpus.rs).
const REJECTED_BY_ECS: &[&str] = &[
    "taskdefs/013-firelens-logstash-awsvpc.json",
    "taskdefs/058-docs-register-skeleton-all-fields.json",
    "services/010-docs-create-service-skeleton.json",
];

#[test]
fn render_and_the_operator_plan_every_corpus_file_alike() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut planned = 0;
    for dir in ["taskdefs", "services"] {
        for file in files(&corpus.join(dir)) {
            if REJECTED_BY_ECS.iter().any(|f| file.ends_with(f)) {
                // Rejected by render as by ECS (tests/corpus.rs checks the reasons); the
                // operator never sees them: the CRD or its task definition check refuses them.
                let out = render::render_documents(&read(std::slice::from_ref(&file)), None);
                assert!(!out.errors.is_empty(), "{}: not rejected", file.display());
                continue;
            }
            same_plan(
                &file.display().to_string(),
                read(std::slice::from_ref(&file)),
            );
            planned += 1;
        }
    }
    assert!(planned >= 50, "only {planned} corpus files");
}
