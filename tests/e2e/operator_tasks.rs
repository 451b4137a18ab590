//! End-to-end tests: the Task (RunTask) and ScheduledTask reconcilers on the real control plane
//! (issue 4), with the operator harness of `operator.rs`. kwok's simulated exit codes
//! (`tidewater.dev/simulated-exit-code.<container>`, docs/local-cluster.md) make containers exit.

use std::time::Duration;

use anyhow::{Result, anyhow, ensure};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};
use tidewater::api::{ScheduledTask, Task};

use crate::operator::{Operator, apply, condition, eventually, status_matches, task_definition};
use crate::support::{self, Ctx};

/// Every wait of these tests: they should finish well within a minute.
const T: Duration = Duration::from_secs(45);

fn task(name: &str, task_definition: &str, extra: Value) -> String {
    let mut spec = json!({"taskDefinition": task_definition});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({
        "apiVersion": "ecs.tidewater.dev/v1alpha1",
        "kind": "Task",
        "metadata": {"name": name},
        "spec": spec,
    })
    .to_string()
}

fn scheduled_task(name: &str, expression: &str, extra: Value) -> String {
    let mut spec = json!({"taskDefinition": "job", "scheduleExpression": expression});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({
        "apiVersion": "ecs.tidewater.dev/v1alpha1",
        "kind": "ScheduledTask",
        "metadata": {"name": name},
        "spec": spec,
    })
    .to_string()
}

fn owned_by(meta: &kube::api::ObjectMeta, kind: &str, name: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|r| r.kind == kind && r.name == name && r.controller == Some(true))
}

/// Pods of Task `name` (by its label).
async fn task_pods(ctx: &Ctx, name: &str) -> Result<Vec<Pod>> {
    let lp = ListParams::default().labels(&format!("ecs.tidewater.dev/task={name}"));
    Ok(ctx.api::<Pod>().list(&lp).await?.items)
}

fn events_of(ctx: &Ctx, name: &str) -> Result<String> {
    ctx.kubectl(&[
        "get",
        "events.events.k8s.io",
        "--field-selector",
        &format!("regarding.name={name}"),
        "-o",
        "jsonpath={range .items[*]}{.type} {.reason}: {.note}{\"\\n\"}{end}",
    ])
    .ok()
}

/// Write requests this operator made (its own request counters).
fn writes(op: &Operator) -> f64 {
    ["patch", "patch_status", "create", "delete", "event"]
        .iter()
        .map(|v| {
            op.metric(&format!("tidewater_api_requests_total{{verb=\"{v}\"}}"))
                .unwrap_or(0.0)
        })
        .sum()
}

/// With `--resync-seconds 1`: several reconciles of `kind` pass and none writes anything.
async fn no_writes_while_converged(op: &Operator, kind: &str) -> Result<()> {
    let reconciles = format!("tidewater_reconciles_total{{kind=\"{kind}\"}}");
    let (r0, w0) = (op.metric(&reconciles).unwrap_or(0.0), writes(op));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (r1, w1) = (op.metric(&reconciles).unwrap_or(0.0), writes(op));
    ensure!(
        r1 - r0 >= 2.0,
        "the {kind} resyncs did not run ({r0} -> {r1})"
    );
    ensure!(w1 == w0, "{} write request(s) while converged", w1 - w0);
    Ok(())
}

async fn events_contain(ctx: &Ctx, name: &str, needle: &str) -> Result<()> {
    eventually(&format!("an Event `{needle}` on {name}"), T, || {
        let ev = events_of(ctx, name);
        async move { Ok(ev?.contains(needle)) }
    })
    .await
    .map_err(|e| anyhow!("{e}; events: {}", events_of(ctx, name).unwrap_or_default()))
}

#[tokio::test]
async fn a_task_runs_count_pods_with_the_overrides_and_reports_them_running() {
    support::run("op-task-run", |ctx| async move {
        let op = Operator::start(&ctx.ns, &["--resync-seconds", "1"]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("job", "busybox:1.36", json!({})))?;
        apply(
            &ctx,
            &task(
                "job",
                "job",
                json!({
                    "count": 2,
                    "startedBy": "e2e",
                    "overrides": {"containerOverrides": [{
                        "name": "app",
                        "command": ["run", "--fast"],
                        "environment": [{"name": "MODE", "value": "fast"}],
                    }]},
                }),
            ),
        )?;
        let api: Api<Task> = ctx.api();
        let t = support::wait_for(
            &api,
            "job",
            status_matches(|st: &Value| {
                st["lastStatus"] == "RUNNING"
                    && st["tasks"].as_array().is_some_and(|ts| {
                        ts.len() == 2 && ts.iter().all(|t| t["lastStatus"] == "RUNNING")
                    })
                    && condition(st, "Ready").is_some_and(|c| c.0 == "True" && c.1 == "Running")
            }),
            T,
        )
        .await?
        .ok_or_else(|| anyhow!("task gone"))?;
        let st = t.status.clone().unwrap();
        ensure!(st.task_definition.as_deref() == Some("job:1"), "{st:?}");
        ensure!(st.common.observed_generation == t.metadata.generation);
        let ids: Vec<&str> = st.tasks.iter().map(|t| t.task_id.as_str()).collect();
        ensure!(ids == ["job-0", "job-1"], "{ids:?}");
        ensure!(st.tasks.iter().all(|t| t.desired_status == "RUNNING"
            && t.containers.len() == 1
            && t.containers[0].name == "app"
            && t.containers[0].last_status == "RUNNING"));
        ensure!(condition(&serde_json::to_value(&st)?, "Progressing").is_some_and(|c| c.0 == "False"));

        // Two pods, owned by the Task, run once, with the overrides applied.
        let pods = task_pods(&ctx, "job").await?;
        ensure!(pods.len() == 2, "{} pods", pods.len());
        for p in &pods {
            ensure!(owned_by(&p.metadata, "Task", "job"));
            ensure!(p.labels().get("app.kubernetes.io/managed-by").map(String::as_str) == Some("tidewater"));
            let spec = p.spec.clone().unwrap();
            ensure!(spec.restart_policy.as_deref() == Some("Never"));
            let app = &spec.containers[0];
            ensure!(app.args.as_deref() == Some(&["run".to_string(), "--fast".to_string()][..]), "{:?}", app.args);
            ensure!(
                app.env.iter().flatten().any(|e| e.name == "MODE" && e.value.as_deref() == Some("fast")),
                "{:?}",
                app.env
            );
            ensure!(p.annotations().get("ecs.tidewater.dev/started-by").map(String::as_str) == Some("e2e"));
        }
        events_contain(&ctx, "job", "TasksStarted: started 2 task(s) of taskDefinition job:1: job-0, job-1").await?;
        events_contain(&ctx, "job", "TasksRunning: 2 task(s) RUNNING").await?;
        no_writes_while_converged(&op, "Task").await?;

        // A RunTask is not edited afterwards: the spec is immutable.
        let err = api
            .patch(
                "job",
                &PatchParams::apply("e2e").force(),
                &Patch::Apply(json!({"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Task", "spec": {"taskDefinition": "job", "count": 3}})),
            )
            .await
            .err()
            .ok_or_else(|| anyhow!("changing a Task's spec was accepted"))?;
        ensure!(err.to_string().contains("spec is immutable"), "{err}");
        Ok(())
    })
    .await;
}

/// A task definition with an essential `app` that exits with 3 shortly after it starts and a
/// non-essential `sidecar` that keeps running.
fn exiting_task_definition() -> String {
    json!({
        "apiVersion": "ecs.tidewater.dev/v1alpha1",
        "kind": "TaskDefinition",
        "metadata": {"name": "batch"},
        "spec": {
            "family": "batch",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {"name": "app", "image": "busybox:1.36", "essential": true,
                 "dockerLabels": {"tidewater.dev/simulated-exit-code.app": "3",
                                  "tidewater.dev/simulated-run-seconds": "2"}},
                {"name": "sidecar", "image": "envoyproxy/envoy:v1.30", "essential": false},
            ],
        },
    })
    .to_string()
}

#[tokio::test]
async fn an_essential_container_exiting_stops_the_task_for_good() {
    support::run("op-task-exit", |ctx| async move {
        let mut op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &exiting_task_definition())?;
        apply(&ctx, &task("batch", "batch", json!({})))?;
        let api: Api<Task> = ctx.api();
        let stopped = |st: &Value| {
            st["lastStatus"] == "STOPPED"
                && st["stoppedReason"] == "Essential container in task exited"
                && st["tasks"][0]["lastStatus"] == "STOPPED"
                && st["tasks"][0]["desiredStatus"] == "STOPPED"
                && st["tasks"][0]["stopCode"] == "EssentialContainerExited"
                && st["tasks"][0]["containers"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["name"] == "app" && c["exitCode"] == 3))
        };
        let t = support::wait_for(&api, "batch", status_matches(stopped), T)
            .await?
            .ok_or_else(|| anyhow!("task gone"))?;
        let st = serde_json::to_value(t.status.clone().unwrap())?;
        let ready = condition(&st, "Ready").unwrap();
        ensure!(ready.0 == "False" && ready.1 == "Stopped", "{ready:?}");
        let degraded = condition(&st, "Degraded").unwrap();
        ensure!(degraded.0 == "True" && degraded.1 == "TaskFailed", "{degraded:?}");
        ensure!(degraded.2.contains("app exit code 3"), "{degraded:?}");
        ensure!(condition(&st, "Progressing").is_some_and(|c| c.0 == "False"));

        // The pod is deleted and never recreated; the exit codes stay in status.
        eventually("the stopped task's pod deleted", T, || {
            let ctx = ctx.clone();
            async move { Ok(task_pods(&ctx, "batch").await?.is_empty()) }
        })
        .await?;
        events_contain(&ctx, "batch", "Warning TaskStopped: task batch-0 stopped: Essential container in task exited (app exit code 3").await?;
        let w0 = writes(&op);
        tokio::time::sleep(Duration::from_secs(3)).await;
        ensure!(task_pods(&ctx, "batch").await?.is_empty(), "a pod was recreated");
        ensure!(writes(&op) == w0, "writes after the task stopped");

        // Nor after the operator restarts: the status says the task was started.
        op.stop();
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        ensure!(task_pods(&ctx, "batch").await?.is_empty(), "a pod was recreated after a restart");
        let after = api.get("batch").await?;
        ensure!(stopped(&serde_json::to_value(after.status.unwrap())?), "status changed");
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn deleting_a_task_deletes_its_pods() {
    support::run("op-task-gc", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("job", "busybox:1.36", json!({})))?;
        apply(&ctx, &task("job", "job", json!({"count": 2})))?;
        let api: Api<Task> = ctx.api();
        support::wait_for(
            &api,
            "job",
            status_matches(|st: &Value| st["lastStatus"] == "RUNNING"),
            T,
        )
        .await?;
        ensure!(task_pods(&ctx, "job").await?.len() == 2);
        api.delete("job", &DeleteParams::background()).await?;
        eventually("the Task's pods garbage-collected", T, || {
            let ctx = ctx.clone();
            async move { Ok(task_pods(&ctx, "job").await?.is_empty()) }
        })
        .await?;
        // No finalizer held the Task back.
        ensure!(
            api.get_opt("job").await?.is_none(),
            "the Task is still there"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_task_the_cluster_policy_forbids_starts_nothing() {
    support::run("op-task-policy", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, r#"{"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "default"},
            "spec": {"policy": {"allowedTaskRoleArns": ["arn:aws:iam::123456789012:role/team-a-*"]}}}"#)?;
        apply(&ctx, &task_definition("job", "busybox:1.36", json!({})))?;
        apply(&ctx, &task("sneaky", "job", json!({"overrides": {"taskRoleArn": "arn:aws:iam::123456789012:role/admin"}})))?;
        let api: Api<Task> = ctx.api();
        let t = support::wait_for(
            &api,
            "sneaky",
            status_matches(|st: &Value| {
                condition(st, "Ready").is_some_and(|c| c.0 == "False" && c.1 == "PolicyViolation")
            }),
            T,
        )
        .await?
        .unwrap();
        let st = serde_json::to_value(t.status.unwrap())?;
        let (_, _, msg) = condition(&st, "Degraded").unwrap();
        ensure!(msg.contains("role/admin"), "{msg}");
        ensure!(st["tasks"].is_null(), "tasks recorded: {st}");
        ensure!(task_pods(&ctx, "sneaky").await?.is_empty(), "a pod was created despite the policy");
        events_contain(&ctx, "sneaky", "Warning PolicyViolation").await?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn a_scheduled_task_becomes_a_cron_job_and_bad_expressions_are_reported() {
    support::run("op-schedtask", |ctx| async move {
        let op = Operator::start(&ctx.ns, &["--resync-seconds", "1"]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("job", "busybox:1.36", json!({})))?;
        apply(
            &ctx,
            &scheduled_task("every5", "rate(5 minutes)", json!({"count": 2})),
        )?;
        let api: Api<ScheduledTask> = ctx.api();
        let s = support::wait_for(
            &api,
            "every5",
            status_matches(|st: &Value| {
                st["schedule"] == "*/5 * * * *"
                    && condition(st, "Ready").is_some_and(|c| c.0 == "True" && c.1 == "Scheduled")
            }),
            T,
        )
        .await?
        .unwrap();
        let st = s.status.clone().unwrap();
        ensure!(st.common.observed_generation == s.metadata.generation);
        // rate() fires on the clock, not counted from creation: reported as approximated.
        ensure!(
            st.common
                .warnings
                .iter()
                .any(|w| w.path == "scheduleExpression" && w.disposition == "approximated"),
            "{:?}",
            st.common.warnings
        );
        let cjs: Api<CronJob> = ctx.api();
        let cj = cjs.get("every5").await?;
        ensure!(owned_by(&cj.metadata, "ScheduledTask", "every5"));
        let spec = cj.spec.clone().unwrap();
        ensure!(spec.schedule == "*/5 * * * *");
        ensure!(spec.suspend != Some(true));
        let job = spec.job_template.spec.unwrap();
        ensure!(job.completions == Some(2) && job.parallelism == Some(2));
        ensure!(job.template.spec.unwrap().restart_policy.as_deref() == Some("Never"));
        events_contain(
            &ctx,
            "every5",
            "Scheduled: rate(5 minutes) runs as CronJob schedule `*/5 * * * *`",
        )
        .await?;
        events_contain(&ctx, "every5", "Warning TranslationWarnings").await?;

        // DISABLED suspends the CronJob.
        apply(
            &ctx,
            &scheduled_task(
                "every5",
                "rate(5 minutes)",
                json!({"count": 2, "state": "DISABLED"}),
            ),
        )?;
        support::wait_for(
            &cjs,
            "every5",
            |o: Option<&CronJob>| {
                o.and_then(|c| c.spec.as_ref())
                    .is_some_and(|s| s.suspend == Some(true))
            },
            T,
        )
        .await?;
        support::wait_for(
            &api,
            "every5",
            status_matches(|st: &Value| {
                condition(st, "Ready").is_some_and(|c| c.0 == "True" && c.1 == "Disabled")
            }),
            T,
        )
        .await?;
        events_contain(&ctx, "every5", "Disabled: schedule DISABLED").await?;
        no_writes_while_converged(&op, "ScheduledTask").await?;
        // ENABLED again resumes it.
        apply(
            &ctx,
            &scheduled_task(
                "every5",
                "rate(5 minutes)",
                json!({"count": 2, "state": "ENABLED"}),
            ),
        )?;
        support::wait_for(
            &cjs,
            "every5",
            |o: Option<&CronJob>| {
                o.and_then(|c| c.spec.as_ref())
                    .is_some_and(|s| s.suspend == Some(false))
            },
            T,
        )
        .await?;
        events_contain(&ctx, "every5", "Enabled: schedule ENABLED").await?;

        // An expression a CronJob cannot express: a clear error, nothing applied.
        apply(
            &ctx,
            &scheduled_task("month-end", "cron(0 12 L * ? *)", json!({})),
        )?;
        let bad = support::wait_for(
            &api,
            "month-end",
            status_matches(|st: &Value| {
                condition(st, "Ready").is_some_and(|c| c.0 == "False" && c.1 == "InvalidSchedule")
                    && condition(st, "Degraded")
                        .is_some_and(|c| c.0 == "True" && c.1 == "InvalidSchedule")
            }),
            T,
        )
        .await?
        .unwrap();
        let (_, _, msg) = condition(&serde_json::to_value(bad.status.unwrap())?, "Ready").unwrap();
        ensure!(
            msg.starts_with("scheduleExpression: cron(0 12 L * ? *): day-of-month field `L`")
                && msg.contains("cannot be expressed in a Kubernetes CronJob"),
            "{msg}"
        );
        ensure!(
            cjs.get_opt("month-end").await?.is_none(),
            "a CronJob was created"
        );
        events_contain(
            &ctx,
            "month-end",
            "Warning InvalidSchedule: scheduleExpression: cron(0 12 L * ? *)",
        )
        .await?;
        Ok(())
    })
    .await;
}
