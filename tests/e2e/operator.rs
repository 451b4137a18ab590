//! End-to-end tests: the operator (`tidewater run`) on the real control plane (issue 4).
//!
//! Every test starts its own operator process (the real binary) watching only the test's
//! namespace, with its leader Lease there too, so tests run in parallel without sharing an
//! operator. [`Operator`] is the harness; other test modules use it as well.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment};
use k8s_openapi::api::core::v1::Service as KService;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::Condition;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tidewater::api::{Service, TaskDefinition};

use crate::support::{self, Ctx, WAIT, wait_for};

/// A running operator process, stopped (SIGTERM, then kill) on drop.
pub struct Operator {
    child: Option<Child>,
    /// `host:port` of its HTTP endpoint.
    pub addr: String,
    /// Its log file.
    pub log: PathBuf,
}

impl Operator {
    /// Start `tidewater run` for `ns` with extra arguments, using `$KUBECONFIG` (or
    /// `kubeconfig` when given), and wait until it is ready.
    pub async fn start(ns: &str, extra: &[&str]) -> Result<Operator> {
        Self::start_with(ns, extra, None).await
    }

    /// As [`Operator::start`], with another kubeconfig (e.g. a ServiceAccount token).
    pub async fn start_with(
        ns: &str,
        extra: &[&str],
        kubeconfig: Option<&std::path::Path>,
    ) -> Result<Operator> {
        let log = std::env::temp_dir().join(format!(
            "tidewater-operator-{ns}-{}.log",
            support::random_suffix()
        ));
        let file = std::fs::File::create(&log)?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidewater"));
        cmd.args([
            "run",
            "--namespace",
            ns,
            "--http-addr",
            "127.0.0.1:0",
            "--leader-election-namespace",
            ns,
            "--log-format",
            "json",
        ])
        .args(if extra.contains(&"--poll-seconds") {
            &[][..]
        } else {
            &["--poll-seconds", "1"][..]
        })
        .args(extra)
        .env(
            "KUBECONFIG",
            kubeconfig
                .map(PathBuf::from)
                .unwrap_or_else(support::kubeconfig_path),
        )
        .env("RUST_LOG", "info,tidewater=debug")
        .stdout(Stdio::null())
        .stderr(file);
        let child = cmd.spawn().context("spawning tidewater run")?;
        let mut op = Operator {
            child: Some(child),
            addr: String::new(),
            log: log.clone(),
        };
        // The log names the address once bound.
        let deadline = Instant::now() + Duration::from_secs(30);
        while op.addr.is_empty() {
            if Instant::now() > deadline {
                bail!("operator did not report its address; log:\n{}", op.logs());
            }
            if let Some(status) = op.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("operator exited with {status}; log:\n{}", op.logs());
            }
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            for line in text.lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line)
                    && let Some(a) = v["addr"].as_str()
                {
                    op.addr = a.to_string();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(op)
    }

    /// Wait until `/readyz` answers 200 and the operator leads.
    pub async fn wait_leading(&self) -> Result<()> {
        eventually(
            "operator leads and is ready",
            Duration::from_secs(60),
            || {
                let ok = self.get("/readyz").map(|(c, _)| c == 200).unwrap_or(false)
                    && self.metric("tidewater_leader") == Some(1.0);
                async move { Ok(ok) }
            },
        )
        .await
    }

    /// GET a path of the HTTP endpoint: status code and body.
    pub fn get(&self, path: &str) -> Result<(u16, String)> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| anyhow!("bad response: {text}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        Ok((code, body))
    }

    /// The value of an unlabelled (or first matching) series of `/metrics`.
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, body) = self.get("/metrics").ok()?;
        metric_sum(&body, prefix)
    }

    /// The log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kill the process with SIGKILL (no cleanup: the Lease is not released) and reap it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Send SIGTERM and wait for the exit status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(s)) = child.try_wait() {
                return Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- operator log {} ----\n{}",
                self.log.display(),
                tail(&self.logs(), 80)
            );
        }
        self.stop();
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Sum of every series of `/metrics` text whose name (with labels) starts with `prefix`.
pub fn metric_sum(text: &str, prefix: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.starts_with(prefix) {
            let v: f64 = line.rsplit(' ').next()?.parse().ok()?;
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

/// Poll an async check until it holds (for what no watch shows, e.g. a list or metrics).
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = check().await;
        if let Ok(true) = last {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what} (last result: {last:?})");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Apply YAML with kubectl (server-side, in the test namespace).
pub fn apply(ctx: &Ctx, yaml: &str) -> Result<String> {
    support::kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=e2e",
            "-f",
            "-",
            "-n",
            &ctx.ns,
        ],
        Some(yaml.as_bytes()),
    )
    .ok()
}

/// A small task definition; `image` makes revisions differ, `labels` become pod annotations.
pub fn task_definition(name: &str, image: &str, docker_labels: Value) -> String {
    let td = json!({
        "apiVersion": "ecs.tidewater.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "family": name,
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{
                "name": "app",
                "image": image,
                "essential": true,
                "portMappings": [{"containerPort": 8080, "name": "http"}],
                "dockerLabels": docker_labels,
            }],
        },
    });
    serde_json::to_string(&td).unwrap()
}

/// A Service of `desired` tasks running `task_definition`.
pub fn service(name: &str, task_definition: &str, desired: i32, extra: Value) -> String {
    let mut spec = json!({
        "serviceName": name,
        "taskDefinition": task_definition,
        "desiredCount": desired,
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    serde_json::to_string(&json!({
        "apiVersion": "ecs.tidewater.dev/v1alpha1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .unwrap()
}

fn status_of<K: Resource + serde::Serialize>(o: &K) -> Value {
    serde_json::to_value(o)
        .map(|v| v["status"].clone())
        .unwrap_or(Value::Null)
}

/// A condition on the JSON status of an object.
pub fn status_matches<K>(f: impl Fn(&Value) -> bool) -> impl Condition<K>
where
    K: Resource + serde::Serialize,
{
    move |o: Option<&K>| o.is_some_and(|o| f(&status_of(o)))
}

/// Condition `type_` of a JSON status has `status` (`"True"`/`"False"`).
pub fn condition(st: &Value, type_: &str) -> Option<(String, String, String)> {
    st["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

fn ready(st: &Value) -> bool {
    condition(st, "Ready").is_some_and(|c| c.0 == "True")
}

fn owned_by(meta: &kube::api::ObjectMeta, kind: &str, name: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| r.kind == kind && r.name == name && r.controller == Some(true))
}

/// Wait until the ecs Service is steady with `n` running tasks.
async fn steady(ctx: &Ctx, name: &str, n: i64) -> Result<Service> {
    let api: Api<Service> = ctx.api();
    let s = wait_for(
        &api,
        name,
        status_matches(move |st: &Value| {
            ready(st) && st["runningCount"] == n && st["desiredCount"] == n
        }),
        WAIT,
    )
    .await?;
    s.ok_or_else(|| anyhow!("service {name} gone"))
}

fn events_of(ctx: &Ctx, name: &str) -> Result<String> {
    ctx.kubectl(&[
        "get",
        "events.events.k8s.io",
        "--field-selector",
        &format!("regarding.name={name}"),
        "-o",
        "jsonpath={range .items[*]}{.reason}: {.note}{\"\\n\"}{end}",
    ])
    .ok()
}

#[tokio::test]
async fn task_definition_revisions_are_registered_kept_and_pruned() {
    support::run("op-revisions", |ctx| async move {
        let op = Operator::start(&ctx.ns, &["--revision-history-limit", "2"]).await?;
        op.wait_leading().await?;
        let tds: Api<TaskDefinition> = ctx.api();
        let revs: Api<ControllerRevision> = ctx.api();
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        wait_for(
            &tds,
            "web",
            status_matches(|st: &Value| {
                st["taskDefinition"] == "web:1" && st["status"] == "ACTIVE"
            }),
            WAIT,
        )
        .await?;
        // Applying the same spec again registers nothing.
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        // A Service pins web:1, so web:1 survives pruning.
        apply(&ctx, &service("pinned", "web:1", 1, json!({})))?;
        steady(&ctx, "pinned", 1).await?;
        for (i, image) in ["nginx:1.1", "nginx:1.2", "nginx:1.3"].iter().enumerate() {
            apply(&ctx, &task_definition("web", image, json!({})))?;
            let want = format!("web:{}", i + 2);
            wait_for(
                &tds,
                "web",
                status_matches(move |st: &Value| st["taskDefinition"] == want),
                WAIT,
            )
            .await?;
        }
        eventually(
            "history pruned to the limit plus the pinned revision",
            WAIT,
            || {
                let revs = revs.clone();
                async move {
                    let mut names: Vec<String> = revs
                        .list(&Default::default())
                        .await?
                        .items
                        .iter()
                        .map(|r| r.name_any())
                        .collect();
                    names.sort();
                    Ok(names == ["web.1", "web.3", "web.4"])
                }
            },
        )
        .await?;
        let r4 = revs.get("web.4").await?;
        ensure!(r4.revision == 4);
        ensure!(owned_by(&r4.metadata, "TaskDefinition", "web"));
        ensure!(
            r4.data.as_ref().unwrap().0["spec"]["containerDefinitions"][0]["image"] == "nginx:1.3"
        );
        // The pinned Service still runs web:1.
        let s: Api<Service> = ctx.api();
        ensure!(
            s.get("pinned")
                .await?
                .status
                .unwrap()
                .task_definition
                .as_deref()
                == Some("web:1")
        );
        let ev = events_of(&ctx, "web")?;
        ensure!(
            ev.contains("RevisionRegistered: registered task definition web:4"),
            "events: {ev}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_service_runs_scales_and_rolls_out_new_revisions() {
    support::run("op-service", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        let extra = json!({
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc", "containerName": "app", "containerPort": 8080}],
            "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200, "deploymentCircuitBreaker": {"enable": true, "rollback": true}},
        });
        apply(&ctx, &service("web", "web", 2, extra.clone()))?;
        let s = steady(&ctx, "web", 2).await?;
        let st = s.status.clone().unwrap();
        ensure!(st.task_definition.as_deref() == Some("web:1"));
        ensure!(st.deployments.len() == 1 && st.deployments[0].status == "PRIMARY");
        ensure!(st.deployments[0].rollout_state.as_deref() == Some("COMPLETED"));
        ensure!(st.events.iter().any(|e| e.message == "(service web) has reached a steady state."), "{:?}", st.events);
        ensure!(st.events.iter().any(|e| e.message.starts_with("(service web) has started ")), "{:?}", st.events);
        ensure!(st.common.observed_generation == s.metadata.generation);

        // Children: owned, server-side applied by one field manager.
        let d: Deployment = ctx.api().get("web").await?;
        ensure!(owned_by(&d.metadata, "Service", "web"));
        ensure!(d.spec.as_ref().unwrap().replicas == Some(2));
        let managers: Vec<String> = d.metadata.managed_fields.iter().flatten().filter(|m| m.operation.as_deref() == Some("Apply")).filter_map(|m| m.manager.clone()).collect();
        ensure!(managers == ["tidewater"], "managers: {managers:?}");
        let ks: KService = ctx.api().get("web").await?;
        ensure!(owned_by(&ks.metadata, "Service", "web"));
        ensure!(owned_by(&ctx.api::<PodDisruptionBudget>().get("web").await?.metadata, "Service", "web"));
        let tgb = ctx.kubectl(&["get", "targetgroupbindings", "-o", "json"]).ok()?;
        ensure!(tgb.contains("targetgroup/web/abc") && tgb.contains("\"kind\": \"Service\""), "{tgb}");

        // kubectl scale on the ecs Service (its scale subresource).
        ctx.kubectl(&["scale", "services.ecs.tidewater.dev/web", "--replicas=3"]).ok()?;
        steady(&ctx, "web", 3).await?;

        // A new revision rolls out.
        apply(&ctx, &task_definition("web", "nginx:2.0", json!({})))?;
        let api: Api<Service> = ctx.api();
        wait_for(&api, "web", status_matches(|st: &Value| st["taskDefinition"] == "web:2" && ready(st) && st["runningCount"] == 3 && st["deployments"].as_array().is_some_and(|d| d.iter().all(|d| d["status"] != "ACTIVE"))), WAIT).await?;
        let d: Deployment = ctx.api().get("web").await?;
        ensure!(d.spec.unwrap().template.spec.unwrap().containers[0].image.as_deref() == Some("nginx:2.0"));
        // Pinning web:1 goes back.
        apply(&ctx, &service("web", "web:1", 3, extra))?;
        wait_for(&api, "web", status_matches(|st: &Value| st["taskDefinition"] == "web:1" && ready(st)), WAIT).await?;

        // Status reached the user as Events too.
        let ev = events_of(&ctx, "web")?;
        ensure!(ev.contains("SteadyState: (service web) has reached a steady state."), "events: {ev}");

        // /metrics counts reconciles.
        ensure!(op.metric("tidewater_reconciles_total{kind=\"Service\"}").unwrap_or(0.0) > 0.0);
        ensure!(op.get("/healthz")?.0 == 200);

        // Deletion cascades through owner references.
        api.delete("web", &DeleteParams::foreground()).await?;
        eventually("children garbage-collected", WAIT, || {
            let ctx = ctx.clone();
            async move {
                let d = ctx.api::<Deployment>().get_opt("web").await?;
                let s = ctx.api::<KService>().get_opt("web").await?;
                Ok(d.is_none() && s.is_none())
            }
        })
        .await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn hand_edits_are_reverted_and_foreign_objects_are_never_overwritten() {
    support::run("op-drift", |ctx| async move {
        // Someone else's Service named like the one Tidewater would create.
        let foreign = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "api", "labels": {"owner": "someone-else"}},
            "spec": {"ports": [{"port": 1234}], "selector": {"app": "other"}},
        });
        ctx.api::<KService>().create(&PostParams::default(), &serde_json::from_value(foreign)?).await?;
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("api", "nginx:1.0", json!({})))?;
        apply(&ctx, &service("api", "api", 1, json!({"loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/abc", "containerName": "app", "containerPort": 8080}]})))?;
        let api: Api<Service> = ctx.api();
        let s = wait_for(&api, "api", status_matches(|st: &Value| condition(st, "Degraded").is_some_and(|c| c.0 == "True" && c.1 == "NotOwned")), WAIT).await?.unwrap();
        let (_, _, message) = condition(&status_of(&s), "Ready").unwrap();
        ensure!(message.contains("Service/api already exists and is not owned"), "{message}");
        let still: KService = ctx.api().get("api").await?;
        ensure!(still.spec.clone().unwrap().ports.unwrap()[0].port == 1234, "foreign Service was modified");
        ensure!(still.labels().get("owner").map(String::as_str) == Some("someone-else"));
        // The rest is still applied.
        let d: Deployment = ctx.api().get("api").await?;
        ensure!(owned_by(&d.metadata, "Service", "api"));

        // A hand edit of an owned object is reverted.
        let deployments: Api<Deployment> = ctx.api();
        deployments
            .patch("api", &PatchParams::apply("someone").force(), &Patch::Apply(json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 4}})))
            .await?;
        eventually("replicas reverted to desiredCount", WAIT, || {
            let deployments = deployments.clone();
            async move { Ok(deployments.get("api").await?.spec.unwrap().replicas == Some(1)) }
        })
        .await?;
        let ev = events_of(&ctx, "api")?;
        ensure!(ev.contains("NotOwned"), "events: {ev}");
        Ok(())
    })
    .await;
}

/// A child deleted by hand (`kubectl delete service web`) is put back at once, not at the next
/// resync (five minutes here): a deletion wakes its owner as a change does.
#[tokio::test]
async fn deleted_children_are_put_back_at_once() {
    support::run("op-deleted", |ctx| async move {
        let op = Operator::start(&ctx.ns, &["--resync-seconds", "300"]).await?;
        op.wait_leading().await?;
        let mut td: Value = serde_json::from_str(&task_definition("web", "nginx:1.0", json!({})))?;
        td["spec"]["taskRoleArn"] = json!("arn:aws:iam::123456789012:role/web");
        apply(&ctx, &td.to_string())?;
        let extra = json!({
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc", "containerName": "app", "containerPort": 8080}],
        });
        apply(&ctx, &service("web", "web", 1, extra))?;
        steady(&ctx, "web", 1).await?;
        // Every child but the Deployment (whose pods would wake the Service anyway), a
        // TargetGroupBinding (a third-party kind) among them.
        let kinds = ["service", "serviceaccount", "poddisruptionbudget", "targetgroupbindings.elbv2.k8s.aws"];
        let uids = |ctx: &Ctx| -> Result<Vec<String>> {
            let out = ctx.kubectl(&["get", &kinds.join(","), "-l", "app.kubernetes.io/managed-by=tidewater", "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.uid}{\"\\n\"}{end}"]).ok()?;
            Ok(out.lines().map(str::to_string).collect())
        };
        let before = uids(&ctx)?;
        let has = |kind: &str| before.iter().any(|l| l.starts_with(&format!("{kind}/")));
        ensure!(has("Service") && has("ServiceAccount") && has("TargetGroupBinding"), "children: {before:?}");
        let deleted = Instant::now();
        ctx.kubectl(&["delete", &kinds.join(","), "-l", "app.kubernetes.io/managed-by=tidewater", "--wait=false"]).ok()?;
        eventually("every deleted child put back", Duration::from_secs(20), || {
            let after = uids(&ctx);
            let before = before.clone();
            async move {
                let after = after?;
                let kinds_of = |v: &[String]| v.iter().map(|l| l.split('=').next().unwrap_or_default().to_string()).collect::<Vec<_>>();
                Ok(kinds_of(&after) == kinds_of(&before) && after.iter().all(|l| !before.contains(l)))
            }
        })
        .await?;
        eprintln!("[e2e]   deleted children put back in {:.1} s", deleted.elapsed().as_secs_f64());

        // A hand edit of the TargetGroupBinding is reverted at once too.
        let tgb = before.iter().find_map(|l| l.strip_prefix("TargetGroupBinding/")?.split('=').next()).unwrap_or_default().to_string();
        let port = |ctx: &Ctx| ctx.kubectl(&["get", "targetgroupbindings.elbv2.k8s.aws", &tgb, "-o", "jsonpath={.spec.serviceRef.port}"]).ok();
        let ours = port(&ctx)?;
        ctx.kubectl(&["patch", "targetgroupbindings.elbv2.k8s.aws", &tgb, "--type=merge", "-p", r#"{"spec":{"serviceRef":{"port":9999}}}"#]).ok()?;
        eventually("the TargetGroupBinding edit reverted", Duration::from_secs(20), || {
            let now = port(&ctx);
            let ours = ours.clone();
            async move { Ok(now? == ours) }
        })
        .await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn the_circuit_breaker_fails_a_bad_revision_and_rolls_back() {
    support::run("op-breaker", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        let mut svc: Value = serde_json::from_str(&service("web", "web", 2, json!({
            "healthCheckGracePeriodSeconds": 2,
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200, "deploymentCircuitBreaker": {"enable": true, "rollback": true}},
        })))?;
        svc["metadata"]["annotations"] = json!({"ecs.tidewater.dev/progress-deadline-seconds": "5"});
        apply(&ctx, &svc.to_string())?;
        steady(&ctx, "web", 2).await?;
        // healthCheckGracePeriodSeconds is part of the Deployment's progress deadline.
        let d: Deployment = ctx.api().get("web").await?;
        ensure!(d.spec.unwrap().progress_deadline_seconds == Some(7));

        // Revision 2's tasks never become healthy.
        apply(&ctx, &task_definition("web", "nginx:broken", json!({"tidewater.dev/simulate-unhealthy": "true"})))?;
        let api: Api<Service> = ctx.api();
        wait_for(&api, "web", status_matches(|st: &Value| st["deployments"].as_array().is_some_and(|ds| ds.iter().any(|d| d["taskDefinition"] == "web:2" && d["rolloutState"] == "FAILED"))), Duration::from_secs(120)).await?;
        // Rolled back to web:1, steady again, and the events say so.
        let s = wait_for(&api, "web", status_matches(|st: &Value| st["taskDefinition"] == "web:1" && ready(st) && st["runningCount"] == 2), Duration::from_secs(120)).await?.unwrap();
        let st = s.status.unwrap();
        ensure!(st.events.iter().any(|e| e.message.contains("deployment failed: rolling back to taskDefinition web:1")), "{:?}", st.events);
        let d: Deployment = ctx.api().get("web").await?;
        ensure!(d.spec.unwrap().template.spec.unwrap().containers[0].image.as_deref() == Some("nginx:1.0"));
        let ev = events_of(&ctx, "web")?;
        ensure!(ev.contains("RollingBack"), "events: {ev}");
        // And the failed revision is not retried on the next resyncs.
        tokio::time::sleep(Duration::from_secs(3)).await;
        ensure!(api.get("web").await?.status.unwrap().task_definition.as_deref() == Some("web:1"));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_hpa_owns_replicas_and_the_operator_does_not_fight_it() {
    support::run("op-hpa", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        let mut svc: Value = serde_json::from_str(&service("web", "web", 2, json!({})))?;
        svc["spec"]["autoScaling"] = json!({
            "scalableTarget": {"MinCapacity": 2, "MaxCapacity": 6},
            "scalingPolicies": [{"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 60, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}],
        });
        apply(&ctx, &svc.to_string())?;
        let deployments: Api<Deployment> = ctx.api();
        wait_for(&deployments, "web", kube::runtime::wait::conditions::is_created(), WAIT).await?;
        let hpa = ctx.kubectl(&["get", "hpa", "web", "-o", "jsonpath={.metadata.ownerReferences[0].kind}/{.spec.scaleTargetRef.kind}"]).ok()?;
        ensure!(hpa == "Service/Deployment", "{hpa}");
        // What the HPA would do: scale the Deployment. The operator leaves it.
        ctx.kubectl(&["scale", "deployment/web", "--replicas=5"]).ok()?;
        let api: Api<Service> = ctx.api();
        wait_for(&api, "web", status_matches(|st: &Value| st["desiredCount"] == 5), WAIT).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        ensure!(deployments.get("web").await?.spec.unwrap().replicas == Some(5));
        let owners: Vec<String> = deployments.get("web").await?.metadata.managed_fields.unwrap_or_default().into_iter().filter(|m| m.manager.as_deref() == Some("tidewater")).map(|m| serde_json::to_string(&m.fields_v1).unwrap_or_default()).collect();
        ensure!(owners.iter().all(|f| !f.contains("\"f:replicas\"")), "tidewater owns replicas: {owners:?}");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn cluster_policy_defaults_and_counts() {
    support::run("op-cluster", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, r#"{"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "default"},
            "spec": {"capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
                     "policy": {"allowedImagePrefixes": ["public.ecr.aws/"]}}}"#)?;
        apply(&ctx, &task_definition("good", "public.ecr.aws/nginx/nginx:1", json!({})))?;
        apply(&ctx, &task_definition("bad", "docker.io/library/nginx:1", json!({})))?;
        apply(&ctx, &service("good", "good", 2, json!({})))?;
        apply(&ctx, &service("bad", "bad", 1, json!({})))?;
        let api: Api<Service> = ctx.api();
        let bad = wait_for(&api, "bad", status_matches(|st: &Value| condition(st, "Ready").is_some_and(|c| c.1 == "PolicyViolation")), WAIT).await?.unwrap();
        let (_, _, msg) = condition(&status_of(&bad), "Ready").unwrap();
        ensure!(msg.contains("image"), "{msg}");
        ensure!(ctx.api::<Deployment>().get_opt("bad").await?.is_none(), "a Deployment was created despite the policy");
        steady(&ctx, "good", 2).await?;
        // The Cluster default capacity provider: Fargate nodes.
        let d: Deployment = ctx.api().get("good").await?;
        let template = d.spec.unwrap().template;
        let provider = template.metadata.unwrap().labels.unwrap_or_default().get("ecs.tidewater.dev/capacity-provider").cloned();
        ensure!(provider.as_deref() == Some("FARGATE"), "capacity provider {provider:?}");
        let affinity = serde_json::to_string(&template.spec.unwrap().affinity)?;
        ensure!(affinity.contains("eks.amazonaws.com/compute-type") && affinity.contains("fargate"), "{affinity}");
        let clusters: Api<tidewater::api::Cluster> = ctx.api();
        wait_for(&clusters, "default", status_matches(|st: &Value| st["activeServicesCount"] == 2 && st["runningTasksCount"] == 2 && st["pendingTasksCount"] == 0 && ready(st)), WAIT).await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_missing_task_definition_is_reported_then_resolved() {
    support::run("op-missing", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &service("web", "web:1", 1, json!({})))?;
        let api: Api<Service> = ctx.api();
        wait_for(
            &api,
            "web",
            status_matches(|st: &Value| {
                condition(st, "Ready")
                    .is_some_and(|c| c.1 == "TaskDefinitionNotFound" && c.2.contains("web:1"))
            }),
            WAIT,
        )
        .await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        steady(&ctx, "web", 1).await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn two_replicas_never_lead_together() {
    support::run("op-leader", |ctx| async move {
        let mut first = Operator::start(&ctx.ns, &[]).await?;
        first.wait_leading().await?;
        let second = Operator::start(&ctx.ns, &[]).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        ensure!(
            second.metric("tidewater_leader") == Some(0.0),
            "second replica leads too"
        );
        ensure!(
            second.get("/readyz")?.0 == 200,
            "a standby replica is ready"
        );
        // Graceful shutdown releases the Lease; the standby takes over at once.
        let status = first.stop().ok_or_else(|| anyhow!("no exit status"))?;
        ensure!(status.success(), "operator exit status {status}");
        second.wait_leading().await?;
        let lease = ctx
            .kubectl(&[
                "get",
                "lease",
                "tidewater",
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ])
            .ok()?;
        ensure!(!lease.is_empty());
        Ok(())
    })
    .await;
}

/// Write requests (POST, PUT, PATCH, DELETE) the API server counted for the kinds a Service
/// touches, from its `apiserver_request_total` metrics.
fn apiserver_writes() -> Result<std::collections::BTreeMap<String, f64>> {
    let text = support::kubectl(&["get", "--raw", "/metrics"]).ok()?;
    let kinds = [
        "deployments",
        "daemonsets",
        "services",
        "serviceaccounts",
        "ingresses",
        "horizontalpodautoscalers",
        "poddisruptionbudgets",
        "targetgroupbindings",
        "controllerrevisions",
        "taskdefinitions",
        "clusters",
        "events",
    ];
    let mut sum = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{") && !l.contains("dry_run=\"All\""))
    {
        let verb = [
            "verb=\"POST\"",
            "verb=\"PUT\"",
            "verb=\"PATCH\"",
            "verb=\"DELETE\"",
            "verb=\"APPLY\"",
        ]
        .iter()
        .any(|v| line.contains(v));
        let resource = kinds
            .iter()
            .any(|k| line.contains(&format!("resource=\"{k}\"")));
        if verb && resource {
            let key = line.split(' ').next().unwrap_or_default().to_string();
            *sum.entry(key).or_insert(0.0) += line
                .rsplit(' ')
                .next()
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0);
        }
    }
    Ok(sum)
}

#[tokio::test]
async fn a_converged_service_makes_no_writes_on_resync() {
    // Counted cluster-wide: no other test may run meanwhile.
    support::run_alone("op-nowrite", |ctx| async move {
        let op = Operator::start(&ctx.ns, &["--resync-seconds", "1"]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({"com.example.team": "shop"})))?;
        let extra = json!({
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/abc", "containerName": "app", "containerPort": 8080}],
            "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200},
        });
        let mut svc: Value = serde_json::from_str(&service("web", "web", 2, extra))?;
        svc["spec"]["ingress"] = json!({"host": "shop.example.com"});
        apply(&ctx, &svc.to_string())?;
        steady(&ctx, "web", 2).await?;
        // Let everything settle: no namespace of another test still terminating.
        eventually("no namespace terminating", Duration::from_secs(120), || async {
            let out = support::kubectl(&["get", "namespaces", "-o", "jsonpath={.items[*].status.phase}"]).ok()?;
            Ok(!out.contains("Terminating"))
        })
        .await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let reconciles_before = op.metric("tidewater_reconciles_total{kind=\"Service\"}").unwrap_or(0.0);
        let writes = |op: &Operator| {
            ["patch", "patch_status", "create", "delete", "event"]
                .iter()
                .map(|v| op.metric(&format!("tidewater_api_requests_total{{verb=\"{v}\"}}")).unwrap_or(0.0))
                .sum::<f64>()
        };
        let ours_before = writes(&op);
        let before = apiserver_writes()?;
        tokio::time::sleep(Duration::from_secs(8)).await;
        let after = apiserver_writes()?;
        let changed: Vec<String> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k} +{}", v - before.get(k).copied().unwrap_or(0.0)))
            .collect();
        let (before, after) = (before.values().sum::<f64>(), after.values().sum::<f64>());
        let reconciles_after = op.metric("tidewater_reconciles_total{kind=\"Service\"}").unwrap_or(0.0);
        let ours_after = writes(&op);
        eprintln!(
            "no-write check: {} Service reconciles, {} apiserver write requests, {} operator requests",
            reconciles_after - reconciles_before,
            after - before,
            ours_after - ours_before
        );
        ensure!(reconciles_after - reconciles_before >= 3.0, "the resyncs did not run");
        ensure!(after - before == 0.0, "{} write requests during converged resyncs: {changed:#?}",
            after - before);
        ensure!(ours_after - ours_before == 0.0, "the operator made {} write requests", ours_after - ours_before);
        Ok(())
    })
    .await;
}
