//! Smoke tests of the local control plane itself, the CRDs, admission of the fixtures and
//! examples, and the renderer's output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::wait::conditions;
use serde_json::json;

use crate::support::{
    self, Ctx, WAIT, kubectl, kubectl_stdin, repo_root, run, wait_for, yaml_files,
};

const ZONE: &str = "topology.kubernetes.io/zone";

fn deployment(name: &str, replicas: i32, spread_zones: bool) -> Result<Deployment> {
    let mut spec = json!({
        "containers": [{
            "name": "app",
            "image": "public.ecr.aws/docker/library/nginx:1.27",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}
        }]
    });
    if spread_zones {
        spec["topologySpreadConstraints"] = json!([{
            "maxSkew": 1,
            "topologyKey": ZONE,
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": name}}
        }]);
    }
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec}
        }
    }))?)
}

/// All replicas updated, ready and available, as observed for the current generation.
fn deployment_ready(want: i32) -> impl Fn(Option<&Deployment>) -> bool {
    move |d: Option<&Deployment>| {
        let Some(d) = d else { return false };
        let Some(s) = &d.status else { return false };
        s.observed_generation >= d.metadata.generation
            && s.updated_replicas == Some(want)
            && s.ready_replicas == Some(want)
            && s.available_replicas == Some(want)
    }
}

/// Pods of `app=<name>` that are not being deleted.
async fn live_pods(ctx: &Ctx, app: &str) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = ctx.api();
    let list = pods
        .list(&ListParams::default().labels(&format!("app={app}")))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect())
}

async fn node_labels(ctx: &Ctx) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    let nodes: Api<Node> = ctx.cluster_api();
    Ok(nodes
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|n| {
            (
                n.metadata.name.unwrap_or_default(),
                n.metadata.labels.unwrap_or_default(),
            )
        })
        .collect())
}

#[tokio::test]
async fn deployment_spreads_over_three_zones() {
    run("spread", |ctx| async move {
        let deployments: Api<Deployment> = ctx.api();
        deployments
            .create(&PostParams::default(), &deployment("web", 3, true)?)
            .await?;
        wait_for(&deployments, "web", deployment_ready(3), WAIT).await?;

        let pods = live_pods(&ctx, "web").await?;
        ensure!(pods.len() == 3, "expected 3 pods, found {}", pods.len());
        let labels = node_labels(&ctx).await?;
        let mut zones = BTreeSet::new();
        for pod in &pods {
            let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
            ensure!(
                phase.as_deref() == Some("Running"),
                "pod {:?} is {phase:?}",
                pod.metadata.name
            );
            let node = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .context("running pod without a node")?;
            let zone = labels
                .get(&node)
                .and_then(|l| l.get(ZONE))
                .with_context(|| format!("node {node} has no zone label"))?;
            zones.insert(zone.clone());
        }
        ensure!(
            zones.len() == 3,
            "pods are not spread over 3 zones: {zones:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_deployment_garbage_collects_replicasets_and_pods() {
    run("gc", |ctx| async move {
        let deployments: Api<Deployment> = ctx.api();
        let created = deployments
            .create(&PostParams::default(), &deployment("gc", 2, false)?)
            .await?;
        let uid = created.metadata.uid.clone().context("no uid")?;
        wait_for(&deployments, "gc", deployment_ready(2), WAIT).await?;

        let replicasets: Api<ReplicaSet> = ctx.api();
        let owned: Vec<ReplicaSet> = replicasets
            .list(&ListParams::default())
            .await?
            .items
            .into_iter()
            .filter(|rs| {
                rs.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid)
            })
            .collect();
        ensure!(
            owned.len() == 1,
            "expected one ReplicaSet owned by the Deployment, found {}",
            owned.len()
        );
        let pods = live_pods(&ctx, "gc").await?;
        ensure!(pods.len() == 2, "expected 2 pods, found {}", pods.len());

        // Default propagation for apps/v1 is background: the garbage collector does the work.
        deployments.delete("gc", &DeleteParams::default()).await?;
        wait_for(&deployments, "gc", conditions::is_deleted(&uid), WAIT).await?;
        for rs in &owned {
            let name = rs.metadata.name.as_deref().unwrap_or_default();
            let rs_uid = rs.metadata.uid.as_deref().unwrap_or_default();
            wait_for(&replicasets, name, conditions::is_deleted(rs_uid), WAIT).await?;
        }
        let pod_api: Api<Pod> = ctx.api();
        for pod in &pods {
            let name = pod.metadata.name.as_deref().unwrap_or_default();
            let pod_uid = pod.metadata.uid.as_deref().unwrap_or_default();
            wait_for(&pod_api, name, conditions::is_deleted(pod_uid), WAIT).await?;
        }
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn job_completes() {
    run("job", |ctx| async move {
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once"},
            "spec": {
                "backoffLimit": 0,
                "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "task", "image": "public.ecr.aws/docker/library/busybox:1.37", "command": ["true"]}]
                }}
            }
        }))?;
        let jobs: Api<Job> = ctx.api();
        jobs.create(&PostParams::default(), &job).await?;
        wait_for(&jobs, "once", conditions::is_job_completed(), WAIT).await?;
        let done = jobs.get("once").await?;
        ensure!(
            done.status.and_then(|s| s.succeeded) == Some(1),
            "job completed without a succeeded pod"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn daemonset_runs_one_pod_per_non_fargate_node() {
    run("ds", |ctx| async move {
        let labels = node_labels(&ctx).await?;
        let eligible: BTreeSet<String> = labels
            .iter()
            .filter(|(_, l)| l.get("eks.amazonaws.com/compute-type").map(String::as_str) != Some("fargate"))
            .map(|(n, _)| n.clone())
            .collect();
        ensure!(eligible.len() >= 6, "expected at least 6 non-fargate nodes, found {eligible:?}");

        let ds: DaemonSet = serde_json::from_value(json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "agent"}},
                "template": {
                    "metadata": {"labels": {"app": "agent"}},
                    "spec": {"containers": [{"name": "agent", "image": "public.ecr.aws/docker/library/busybox:1.37"}]}
                }
            }
        }))?;
        let daemonsets: Api<DaemonSet> = ctx.api();
        daemonsets.create(&PostParams::default(), &ds).await?;
        let want = eligible.len() as i32;
        wait_for(
            &daemonsets,
            "agent",
            move |d: Option<&DaemonSet>| {
                d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
                    s.desired_number_scheduled == want && s.number_ready == want && s.number_available == Some(want)
                })
            },
            WAIT,
        )
        .await?;

        let pods = live_pods(&ctx, "agent").await?;
        let on: BTreeSet<String> = pods
            .iter()
            .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
            .collect();
        ensure!(pods.len() == eligible.len(), "{} pods for {} nodes", pods.len(), eligible.len());
        ensure!(on == eligible, "daemon pods are on {on:?}, expected {eligible:?}");
        Ok(())
    })
    .await;
}

/// A kubeconfig that authenticates with `token` only (no client certificate, which would win).
pub(crate) fn token_kubeconfig(dir: &Path, token: &str) -> Result<std::path::PathBuf> {
    let server = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ])
    .ok()?;
    let ca = kubectl(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "-o",
        "jsonpath={.clusters[0].cluster.certificate-authority-data}",
    ])
    .ok()?;
    ensure!(
        !server.is_empty() && !ca.is_empty(),
        "admin kubeconfig lacks server or CA data"
    );
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": "sa"}}],
        "current-context": "sa"
    });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_json::to_vec(&config)?)?;
    Ok(path)
}

fn as_token_user(kubeconfig: &Path, args: &[&str]) -> support::KubectlOutput {
    let mut all = vec!["--kubeconfig", kubeconfig.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    // `--kubeconfig` wins over the KUBECONFIG variable the helper sets.
    kubectl(&all)
}

#[tokio::test]
async fn service_account_token_is_subject_to_rbac() {
    run("rbac", |ctx| async move {
        ctx.kubectl(&["create", "serviceaccount", "robot"]).ok()?;
        let token = ctx
            .kubectl(&["create", "token", "robot", "--duration=10m"])
            .ok()?;
        let token = token.trim();
        ensure!(
            token.split('.').count() == 3,
            "`kubectl create token` did not print a JWT"
        );

        let dir = std::env::temp_dir().join(format!("tidewater-e2e-{}", ctx.ns));
        std::fs::create_dir_all(&dir)?;
        let kc = token_kubeconfig(&dir, token)?;
        let ns = ctx.ns.as_str();

        let who = as_token_user(
            &kc,
            &[
                "auth",
                "whoami",
                "-o",
                "jsonpath={.status.userInfo.username}",
            ],
        )
        .ok()?;
        ensure!(
            who == format!("system:serviceaccount:{ns}:robot"),
            "token authenticates as {who:?}"
        );

        let can = as_token_user(&kc, &["auth", "can-i", "list", "configmaps", "-n", ns]);
        ensure!(
            !can.success() && can.stdout.trim() == "no",
            "a fresh ServiceAccount may list configmaps: {can:?}"
        );
        let denied = as_token_user(&kc, &["get", "configmaps", "-n", ns]);
        ensure!(
            !denied.success() && denied.stderr.contains("Forbidden"),
            "expected Forbidden, got {denied:?}"
        );

        ctx.kubectl(&[
            "create",
            "role",
            "cm-reader",
            "--verb=get,list,watch",
            "--resource=configmaps",
        ])
        .ok()?;
        ctx.kubectl(&[
            "create",
            "rolebinding",
            "robot-cm-reader",
            "--role=cm-reader",
            &format!("--serviceaccount={ns}:robot"),
        ])
        .ok()?;
        // The RBAC authorizer reads through an informer: allow it a moment to see the binding.
        support::eventually("the RoleBinding to take effect", WAIT, || {
            let out = as_token_user(&kc, &["auth", "can-i", "list", "configmaps", "-n", ns]);
            Ok(out.success() && out.stdout.trim() == "yes")
        })
        .await?;
        as_token_user(&kc, &["get", "configmaps", "-n", ns]).ok()?;
        // Still nothing beyond the role.
        let secrets = as_token_user(&kc, &["auth", "can-i", "list", "secrets", "-n", ns]);
        ensure!(
            secrets.stdout.trim() == "no",
            "the role grants too much: {secrets:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
    .await;
}

/// Names of the CustomResourceDefinitions in a (possibly multi-document) YAML file.
fn crd_names(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    let mut names = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let value: serde_json::Value = serde::Deserialize::deserialize(doc)
            .with_context(|| format!("parsing {}", path.display()))?;
        if value.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition")
            && let Some(name) = value.pointer("/metadata/name").and_then(|n| n.as_str())
        {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

#[tokio::test]
async fn crds_are_established_and_documented() {
    run("crds", |ctx| async move {
        let files = yaml_files(&repo_root().join("crds"));
        ensure!(!files.is_empty(), "no CRD YAML files in crds/");
        let crds: Api<CustomResourceDefinition> = ctx.cluster_api();
        let mut count = 0;
        for file in &files {
            for name in crd_names(file)? {
                count += 1;
                wait_for(&crds, &name, conditions::is_crd_established(), WAIT)
                    .await
                    .with_context(|| {
                        format!(
                            "CRD {name} from {} (installed by hack/e2e.sh)",
                            file.display()
                        )
                    })?;
            }
        }
        ensure!(count > 0, "crds/ holds no CustomResourceDefinition");

        let explain = kubectl(&[
            "explain",
            "taskdefinitions.spec.containerDefinitions",
            "--api-version=ecs.tidewater.dev/v1alpha1",
        ])
        .ok()?;
        ensure!(
            explain.contains("FIELD") && explain.contains("DESCRIPTION"),
            "kubectl explain printed no field documentation:\n{explain}"
        );
        let fields = explain
            .split_once("FIELDS:")
            .map(|(_, f)| f.trim())
            .unwrap_or_default();
        ensure!(
            !fields.is_empty(),
            "kubectl explain lists no fields:\n{explain}"
        );
        Ok(())
    })
    .await;
}

/// The `# expect: <substring>` header of an invalid fixture.
fn expected_error(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)?;
    let first = text.lines().next().unwrap_or_default();
    match first.trim().strip_prefix("# expect:") {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        _ => bail!(
            "{} does not start with `# expect: <substring>`",
            path.display()
        ),
    }
}

#[tokio::test]
async fn invalid_fixtures_are_rejected_by_admission() {
    run("invalid", |ctx| async move {
        let files = yaml_files(&repo_root().join("tests/fixtures/invalid"));
        ensure!(!files.is_empty(), "no fixtures in tests/fixtures/invalid/");
        let mut problems = Vec::new();
        for file in &files {
            let expect = expected_error(file)?;
            let out = ctx.kubectl(&["apply", "--dry-run=server", "-f", file.to_str().unwrap()]);
            if out.success() {
                problems.push(format!(
                    "{}: accepted, expected an error containing {expect:?}",
                    file.display()
                ));
            } else if !out.stderr.contains(&expect) {
                problems.push(format!(
                    "{}: rejected, but stderr lacks {expect:?}:\n{}",
                    file.display(),
                    out.stderr.trim()
                ));
            }
        }
        ensure!(
            problems.is_empty(),
            "{} of {} fixtures misbehaved:\n{}",
            problems.len(),
            files.len(),
            problems.join("\n")
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn examples_are_accepted_by_admission() {
    run("examples", |ctx| async move {
        let files = yaml_files(&repo_root().join("examples"));
        ensure!(!files.is_empty(), "no examples/*.yaml");
        let mut problems = Vec::new();
        for file in &files {
            let out = ctx.kubectl(&["apply", "--dry-run=server", "-f", file.to_str().unwrap()]);
            if !out.success() {
                problems.push(format!("{}:\n{}", file.display(), out.stderr.trim()));
            }
        }
        ensure!(
            problems.is_empty(),
            "{} of {} examples rejected:\n{}",
            problems.len(),
            files.len(),
            problems.join("\n")
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn rendered_objects_are_accepted_by_the_apiserver() {
    run("render", |ctx| async move {
        let examples = repo_root().join("examples");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"))
            .args(["render", "-f"])
            .arg(&examples)
            .current_dir(repo_root())
            .output()
            .context("running tidewater render")?;
        ensure!(
            out.status.success(),
            "`tidewater render -f examples/` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        ensure!(
            !out.stdout.iter().all(u8::is_ascii_whitespace),
            "`tidewater render` printed nothing"
        );
        let ns = ctx.ns.clone();
        kubectl_stdin(
            &["apply", "--dry-run=server", "-n", &ns, "-f", "-"],
            Some(&out.stdout),
        )
        .ok()?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn horizontal_pod_autoscaler_scales_on_simulated_cpu_usage() {
    run("hpa", |ctx| async move {
        // kwok reports 90m CPU per container (see hack/cluster/kwok.yaml) against a 100m request:
        // 90% utilisation with a 50% target must scale the Deployment up through metrics-server.
        let mut target = deployment("busy", 1, false)?;
        if let Some(meta) = target
            .spec
            .as_mut()
            .and_then(|s| s.template.metadata.as_mut())
        {
            meta.annotations = Some(
                [(
                    "tidewater.dev/simulated-cpu-usage".to_string(),
                    "90m".to_string(),
                )]
                .into(),
            );
        }
        let deployments: Api<Deployment> = ctx.api();
        deployments.create(&PostParams::default(), &target).await?;
        wait_for(&deployments, "busy", deployment_ready(1), WAIT).await?;

        let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "busy"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
                "minReplicas": 1,
                "maxReplicas": 3,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}
                }}]
            }
        }))?;
        let hpas: Api<HorizontalPodAutoscaler> = ctx.api();
        hpas.create(&PostParams::default(), &hpa).await?;
        let scaled = wait_for(
            &hpas,
            "busy",
            |h: Option<&HorizontalPodAutoscaler>| {
                h.and_then(|h| h.status.as_ref()).is_some_and(|s| {
                    s.desired_replicas >= 2
                        && s.conditions
                            .iter()
                            .flatten()
                            .any(|c| c.type_ == "ScalingActive" && c.status == "True")
                })
            },
            Duration::from_secs(120),
        )
        .await?;
        let status = scaled
            .and_then(|h| h.status)
            .context("HPA without status")?;
        let utilisation = status
            .current_metrics
            .iter()
            .flatten()
            .find_map(|m| m.resource.as_ref())
            .and_then(|r| r.current.average_utilization);
        ensure!(
            utilisation.is_some_and(|u| u >= 80),
            "expected ~90% CPU utilisation from the simulated usage, got {utilisation:?}"
        );
        wait_for(
            &deployments,
            "busy",
            |d: Option<&Deployment>| {
                d.and_then(|d| d.spec.as_ref())
                    .and_then(|s| s.replicas)
                    .is_some_and(|r| r >= 2)
            },
            WAIT,
        )
        .await?;
        Ok(())
    })
    .await;
}
