//! The simulated container behaviour of the local cluster's kwok stages (hack/cluster/kwok.yaml,
//! "Simulated failures" in docs/local-cluster.md): pods that never become Ready (and crash-loop),
//! containers that exit with a given code, and the default behaviour next to them.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use futures::TryStreamExt;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::wait::conditions;
use kube::runtime::watcher;
use serde_json::json;

use crate::support::{WAIT, run, wait_for};

const UNHEALTHY: &str = "tidewater.dev/simulate-unhealthy";
const EXIT_CODE: &str = "tidewater.dev/simulated-exit-code.";
const RUN_SECONDS: &str = "tidewater.dev/simulated-run-seconds";

/// A pod with the given containers (busybox images; kwok runs nothing) and annotations.
fn pod(
    name: &str,
    containers: &[&str],
    restart_policy: &str,
    annotations: &[(&str, &str)],
) -> Result<Pod> {
    let containers: Vec<_> = containers
        .iter()
        .map(|c| json!({"name": c, "image": "public.ecr.aws/docker/library/busybox:1.37"}))
        .collect();
    let annotations: BTreeMap<&str, &str> = annotations.iter().copied().collect();
    Ok(serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"restartPolicy": restart_policy, "containers": containers}
    }))?)
}

fn phase(p: &Pod) -> Option<&str> {
    p.status.as_ref()?.phase.as_deref()
}

/// The status of a pod condition (`"True"`, `"False"`), if the condition is there.
fn condition<'a>(p: &'a Pod, type_: &str) -> Option<&'a str> {
    p.status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .map(|c| c.status.as_str())
}

fn container<'a>(p: &'a Pod, name: &str) -> Option<&'a ContainerStatus> {
    p.status
        .as_ref()?
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == name)
}

fn statuses(p: &Pod) -> &[ContainerStatus] {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
}

fn is_running(c: &ContainerStatus) -> bool {
    c.state.as_ref().is_some_and(|s| s.running.is_some())
}

/// Anything that would make the pod count as healthy somewhere.
fn any_ready(p: &Pod) -> bool {
    condition(p, "Ready") == Some("True")
        || condition(p, "ContainersReady") == Some("True")
        || statuses(p).iter().any(|c| c.ready)
}

fn summary(p: &Pod) -> String {
    format!(
        "phase {:?}, Ready {:?}, ContainersReady {:?}, containers {:?}",
        phase(p),
        condition(p, "Ready"),
        condition(p, "ContainersReady"),
        statuses(p)
    )
}

/// Follows every version of the pod `name` for at most `timeout`, failing as soon as one is
/// Ready in any way. Returns the first version for which `done` holds, or, if none did, `None`
/// and the last version seen.
async fn watch_never_ready(
    api: &Api<Pod>,
    name: &str,
    timeout: Duration,
    done: impl Fn(&Pod) -> bool,
) -> Result<(Option<Pod>, Option<Pod>)> {
    let mut last: Option<Pod> = None;
    let stream = watcher::watch_object(api.clone(), name);
    let mut stream = std::pin::pin!(stream);
    let watching = async {
        while let Some(obj) = stream.try_next().await? {
            let Some(p) = obj else { continue };
            ensure!(!any_ready(&p), "pod {name} became Ready: {}", summary(&p));
            if done(&p) {
                return Ok(Some(p));
            }
            last = Some(p);
        }
        bail!("the watch of pod {name} ended")
    };
    match tokio::time::timeout(timeout, watching).await {
        Ok(Ok(done)) => Ok((done, None)),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok((None, last)),
    }
}

/// Waits until `done` holds for the pod, which must never be Ready meanwhile.
async fn never_ready_until(
    api: &Api<Pod>,
    name: &str,
    timeout: Duration,
    done: impl Fn(&Pod) -> bool,
) -> Result<Pod> {
    match watch_never_ready(api, name, timeout, done).await? {
        (Some(p), _) => Ok(p),
        (None, last) => bail!(
            "pod {name} (never Ready): not as expected after {timeout:?}; last seen: {}",
            last.as_ref()
                .map(summary)
                .unwrap_or_else(|| "<absent>".into())
        ),
    }
}

/// Watches the pod for `duration`: it must never be Ready. Returns its last version.
async fn never_ready_for(api: &Api<Pod>, name: &str, duration: Duration) -> Result<Pod> {
    let (_, last) = watch_never_ready(api, name, duration, |_| false).await?;
    match last {
        Some(p) => Ok(p),
        None => api.get(name).await.map_err(Into::into),
    }
}

#[tokio::test]
async fn unhealthy_pod_runs_but_never_becomes_ready() {
    run("unhealthy", |ctx| async move {
        let pods: Api<Pod> = ctx.api();
        // restartPolicy Always (a Deployment's): the containers crash-loop.
        pods.create(
            &PostParams::default(),
            &pod("sick", &["app", "envoy"], "Always", &[(UNHEALTHY, "true")])?,
        )
        .await?;
        // restartPolicy Never: running, never Ready, never restarted.
        pods.create(
            &PostParams::default(),
            &pod("sick-once", &["app"], "Never", &[(UNHEALTHY, "true")])?,
        )
        .await?;

        let sick_once = async {
            let started = never_ready_until(&pods, "sick-once", WAIT, |p| {
                phase(p) == Some("Running")
                    && statuses(p).len() == 1
                    && statuses(p).iter().all(is_running)
            })
            .await?;
            // Longer than a crash-loop cycle: still running, not Ready, no restart.
            let now = never_ready_for(&pods, "sick-once", Duration::from_secs(6)).await?;
            ensure!(
                phase(&now) == Some("Running")
                    && statuses(&now)
                        .iter()
                        .all(|c| is_running(c) && c.restart_count == 0),
                "sick-once changed: {}",
                summary(&now)
            );
            ensure!(
                condition(&started, "Ready") == Some("False")
                    && condition(&started, "ContainersReady") == Some("False"),
                "sick-once lacks Ready=False/ContainersReady=False: {}",
                summary(&started)
            );
            anyhow::Ok(())
        };

        // Running first (containers started, not Ready), then at least two crash/restart cycles.
        let sick = async {
            let running = never_ready_until(&pods, "sick", WAIT, |p| {
                phase(p) == Some("Running")
                    && statuses(p).len() == 2
                    && statuses(p).iter().all(is_running)
            })
            .await?;
            ensure!(
                condition(&running, "Ready") == Some("False")
                    && condition(&running, "ContainersReady") == Some("False"),
                "sick lacks Ready=False/ContainersReady=False: {}",
                summary(&running)
            );
            let crashed = never_ready_until(&pods, "sick", Duration::from_secs(60), |p| {
                statuses(p).iter().all(|c| c.restart_count >= 2)
            })
            .await?;
            ensure!(
                phase(&crashed) == Some("Running"),
                "sick: {}",
                summary(&crashed)
            );
            for c in statuses(&crashed) {
                let last = c
                    .last_state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .with_context(|| {
                        format!("container {} has no terminated lastState: {c:?}", c.name)
                    })?;
                ensure!(
                    last.exit_code == 1 && last.reason.as_deref() == Some("Error"),
                    "container {}: lastState {last:?}",
                    c.name
                );
            }
            // A crash-looping pod is still deleted promptly.
            let uid = crashed.metadata.uid.clone().context("no uid")?;
            pods.delete("sick", &DeleteParams::default()).await?;
            wait_for(&pods, "sick", conditions::is_deleted(&uid), WAIT).await?;
            anyhow::Ok(())
        };
        let (a, b) = tokio::join!(sick_once, sick);
        a.context("restartPolicy Never")?;
        b.context("restartPolicy Always")?;
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn container_with_exit_code_terminates_while_the_other_runs() {
    run("exit", |ctx| async move {
        let pods: Api<Pod> = ctx.api();
        let code = format!("{EXIT_CODE}app");
        pods.create(
            &PostParams::default(),
            &pod(
                "task",
                &["app", "sidecar"],
                "Never",
                &[(code.as_str(), "3")],
            )?,
        )
        .await?;
        let exited = wait_for(
            &pods,
            "task",
            |p: Option<&Pod>| {
                p.and_then(|p| container(p, "app"))
                    .and_then(|c| c.state.as_ref())
                    .is_some_and(|s| s.terminated.is_some())
            },
            WAIT,
        )
        .await?
        .context("pod task vanished")?;
        let app = container(&exited, "app").context("no status for app")?;
        let t = app
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .context("app not terminated")?;
        ensure!(
            t.exit_code == 3 && t.reason.as_deref() == Some("Error") && !app.ready,
            "app: {app:?}"
        );
        let (started, finished) = (
            t.started_at.as_ref().context("no startedAt")?.0,
            t.finished_at.as_ref().context("no finishedAt")?.0,
        );
        let ran = finished.duration_since(started).as_secs_f64();
        ensure!(
            (1.0..=5.0).contains(&ran),
            "app ran {ran}s (default 2s): {t:?}"
        );

        // The sidecar keeps running and the pod stays Running, not Ready; still so a moment later.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = pods.get("task").await?;
        let sidecar = container(&now, "sidecar").context("no status for sidecar")?;
        ensure!(is_running(sidecar), "sidecar: {sidecar:?}");
        ensure!(
            phase(&now) == Some("Running")
                && condition(&now, "Ready") == Some("False")
                && condition(&now, "ContainersReady") == Some("False"),
            "task: {}",
            summary(&now)
        );
        let app = container(&now, "app").context("no status for app")?;
        ensure!(
            app.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .map(|t| t.exit_code)
                == Some(3),
            "app: {app:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn pod_whose_containers_all_exit_completes() {
    run("exit-all", |ctx| async move {
        let pods: Api<Pod> = ctx.api();
        let (app, sidecar) = (format!("{EXIT_CODE}app"), format!("{EXIT_CODE}sidecar"));
        pods.create(
            &PostParams::default(),
            &pod(
                "done",
                &["app", "sidecar"],
                "Never",
                &[
                    (app.as_str(), "0"),
                    (sidecar.as_str(), "0"),
                    (RUN_SECONDS, "1"),
                ],
            )?,
        )
        .await?;
        pods.create(
            &PostParams::default(),
            &pod(
                "broken",
                &["app", "sidecar"],
                "Never",
                &[(app.as_str(), "0"), (sidecar.as_str(), "1")],
            )?,
        )
        .await?;
        let finished =
            |p: Option<&Pod>| p.is_some_and(|p| matches!(phase(p), Some("Succeeded" | "Failed")));
        let done = wait_for(&pods, "done", finished, WAIT)
            .await?
            .context("pod done vanished")?;
        ensure!(
            phase(&done) == Some("Succeeded"),
            "done: {}",
            summary(&done)
        );
        for c in statuses(&done) {
            let t = c.state.as_ref().and_then(|s| s.terminated.as_ref());
            ensure!(
                t.is_some_and(|t| t.exit_code == 0 && t.reason.as_deref() == Some("Completed")),
                "done/{}: {c:?}",
                c.name
            );
        }
        let broken = wait_for(&pods, "broken", finished, WAIT)
            .await?
            .context("pod broken vanished")?;
        ensure!(
            phase(&broken) == Some("Failed"),
            "broken: {}",
            summary(&broken)
        );
        let code = |name| {
            container(&broken, name)
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.terminated.as_ref())
                .map(|t| t.exit_code)
        };
        ensure!(
            code("app") == Some(0) && code("sidecar") == Some(1),
            "broken: {}",
            summary(&broken)
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn plain_pod_still_becomes_ready() {
    run("plain", |ctx| async move {
        let pods: Api<Pod> = ctx.api();
        pods.create(
            &PostParams::default(),
            &pod("plain", &["app", "sidecar"], "Always", &[])?,
        )
        .await?;
        let ready = wait_for(
            &pods,
            "plain",
            |p: Option<&Pod>| p.is_some_and(|p| condition(p, "Ready") == Some("True")),
            WAIT,
        )
        .await?
        .context("pod plain vanished")?;
        ensure!(
            phase(&ready) == Some("Running")
                && condition(&ready, "ContainersReady") == Some("True")
                && statuses(&ready).len() == 2
                && statuses(&ready).iter().all(|c| c.ready && is_running(c)),
            "plain: {}",
            summary(&ready)
        );
        // And it stays so (no simulation stage touches it).
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = pods.get("plain").await?;
        ensure!(
            condition(&later, "Ready") == Some("True")
                && statuses(&later).iter().all(|c| c.restart_count == 0),
            "plain changed: {}",
            summary(&later)
        );
        Ok(())
    })
    .await;
}
