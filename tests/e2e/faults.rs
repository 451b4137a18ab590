//! Fault tests (issue 11): the operator under kill -9s during convergence, an API server outage,
//! an etcd restart and the loss of its leader. Each prints its timings (`--nocapture` shows them;
//! hack/e2e.sh output keeps them on failure) and asserts the end state, never a duration beyond
//! a generous ceiling. They stop control-plane components, so each runs alone (`run_alone`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment};
use k8s_openapi::api::core::v1::Service as KService;
use kube::ResourceExt;
use kube::api::ListParams;
use serde_json::json;
use tidewater::api::Service;

use crate::operator::{Operator, apply, eventually, service, task_definition};
use crate::support::{self, Ctx};

/// Stop (`kill NAME`) or start (`start NAME`) one control-plane component.
fn cluster(args: &[&str]) -> Result<()> {
    let out = Command::new(support::repo_root().join("hack/cluster.sh"))
        .args(args)
        .env("TIDEWATER_CLUSTER_DIR", support::cluster_dir())
        .output()
        .context("running hack/cluster.sh")?;
    ensure!(
        out.status.success(),
        "hack/cluster.sh {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Waits until the API server answers `/readyz` again.
async fn apiserver_ready() -> Result<()> {
    eventually("kube-apiserver ready", Duration::from_secs(120), || async {
        Ok(support::kubectl(&["get", "--raw", "/readyz"]).success())
    })
    .await
}

/// `n` task definitions and Services (each with a target group), as one YAML stream.
fn workloads(n: usize) -> String {
    let mut docs = Vec::new();
    for i in 0..n {
        let name = format!("svc-{i}");
        docs.push(task_definition(&name, "nginx:1.0", json!({})));
        let lb = json!({"loadBalancers": [{
            "targetGroupArn": format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{name}/0123456789abcdef"),
            "containerName": "app", "containerPort": 8080}]});
        docs.push(service(&name, &name, 1, lb));
    }
    docs.join("\n---\n")
}

/// Every Service of the namespace runs `desired` tasks and says so.
async fn all_steady(ctx: &Ctx, n: usize, timeout: Duration) -> Result<()> {
    let api = ctx.api::<Service>();
    eventually("every Service steady", timeout, || {
        let api = api.clone();
        async move {
            let list = api.list(&ListParams::default()).await?;
            let steady = list
                .items
                .iter()
                .filter(|s| {
                    s.status.as_ref().is_some_and(|st| {
                        st.running_count == s.spec.create.desired_count.unwrap_or(1)
                            && st.desired_count == st.running_count
                    })
                })
                .count();
            Ok(list.items.len() == n && steady == n)
        }
    })
    .await
}

/// Names of the objects of a kind that are controlled by a Service of this namespace, by owner;
/// fails on an object owned by a Service that does not exist (an orphan of a crash).
fn by_owner<K: kube::Resource>(
    objects: &[K],
    services: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, usize>> {
    let mut out = BTreeMap::new();
    for o in objects {
        let Some(owner) = o
            .meta()
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true) && r.kind == "Service")
        else {
            continue;
        };
        match services.get(&owner.name) {
            Some(uid) if *uid == owner.uid => *out.entry(owner.name.clone()).or_insert(0) += 1,
            _ => bail!(
                "{} is owned by Service {} ({}), which does not exist",
                o.meta().name.clone().unwrap_or_default(),
                owner.name,
                owner.uid
            ),
        }
    }
    Ok(out)
}

/// Exactly one Deployment, Kubernetes Service and TargetGroupBinding per Service,
/// none orphaned, and one revision per task definition.
async fn exactly_one_of_each(ctx: &Ctx, n: usize) -> Result<()> {
    let lp = ListParams::default();
    let services: BTreeMap<String, String> = ctx
        .api::<Service>()
        .list(&lp)
        .await?
        .items
        .iter()
        .map(|s| (s.name_any(), s.uid().unwrap_or_default()))
        .collect();
    ensure!(
        services.len() == n,
        "{} Services, expected {n}",
        services.len()
    );
    let counts = [
        (
            "Deployment",
            by_owner(&ctx.api::<Deployment>().list(&lp).await?.items, &services)?,
        ),
        (
            "Service",
            by_owner(&ctx.api::<KService>().list(&lp).await?.items, &services)?,
        ),
    ];
    for (kind, owned) in &counts {
        ensure!(
            owned.len() == n && owned.values().all(|c| *c == 1),
            "{kind} children per Service: {owned:?}"
        );
    }
    let tgbs = ctx
        .kubectl(&["get", "targetgroupbindings", "-o", "name"])
        .ok()?;
    ensure!(tgbs.lines().count() == n, "TargetGroupBindings: {tgbs}");
    let revisions = ctx.api::<ControllerRevision>().list(&lp).await?.items;
    let mut per_family: BTreeMap<String, usize> = BTreeMap::new();
    for r in &revisions {
        let family = r
            .labels()
            .get("ecs.tidewater.dev/family")
            .cloned()
            .unwrap_or_else(|| r.name_any());
        *per_family.entry(family).or_insert(0) += 1;
    }
    ensure!(
        per_family.len() == n && per_family.values().all(|c| *c == 1),
        "revisions per family: {per_family:?}"
    );
    Ok(())
}

#[tokio::test]
async fn kill_9_during_convergence_leaves_one_of_each_child() {
    support::run_alone("fault-kill9", |ctx| async move {
        const N: usize = 20;
        const KILLS: usize = 5;
        let args = ["--leader-elect", "false"];
        let mut op = Operator::start(&ctx.ns, &args).await?;
        let t0 = Instant::now();
        apply(&ctx, &workloads(N))?;
        for _ in 0..KILLS {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            op.kill();
            op = Operator::start(&ctx.ns, &args).await?;
        }
        let last_start = Instant::now();
        all_steady(&ctx, N, Duration::from_secs(240)).await?;
        exactly_one_of_each(&ctx, N).await?;
        support::report(&format!(
            "fault kill -9: {KILLS} kills during the convergence of {N} Services; converged {:.1?} after the last restart ({:.1?} in all); exactly one of each child, no orphans, one revision per task definition",
            last_start.elapsed(),
            t0.elapsed()
        ));
        Ok(())
    })
    .await;
}

/// Scale `svc-0` to `count` and wait until it runs that many tasks.
async fn scale_and_converge(ctx: &Ctx, count: i32, timeout: Duration) -> Result<Duration> {
    let t0 = Instant::now();
    ctx.kubectl(&[
        "patch",
        "services.ecs.tidewater.dev",
        "svc-0",
        "--type=merge",
        "-p",
        &json!({"spec": {"desiredCount": count}}).to_string(),
    ])
    .ok()?;
    let api = ctx.api::<Service>();
    eventually("svc-0 scaled", timeout, || {
        let api = api.clone();
        async move {
            let s = api.get("svc-0").await?;
            Ok(s.status
                .is_some_and(|st| st.desired_count == count && st.running_count == count))
        }
    })
    .await?;
    Ok(t0.elapsed())
}

/// How long a change took after the API server turned ready, by who had to act.
struct Phases {
    /// Until svc-0's Deployment asks for the new count (the operator).
    applied: Duration,
    /// Until the Deployment reports them available (the controller-manager, the scheduler, kwok).
    available: Duration,
    /// Until the Service reports them running (the operator again).
    converged: Duration,
}

impl Phases {
    /// The operator's share: applying the change and reporting it.
    fn operator(&self) -> Duration {
        self.applied + self.converged.saturating_sub(self.available)
    }
}

/// Patch `svc-0` to `count` tasks and time each phase until it reports them running.
async fn scale_in_phases(ctx: &Ctx, count: i32, timeout: Duration) -> Result<Phases> {
    let t0 = Instant::now();
    ctx.kubectl(&[
        "patch",
        "services.ecs.tidewater.dev",
        "svc-0",
        "--type=merge",
        "-p",
        &json!({"spec": {"desiredCount": count}}).to_string(),
    ])
    .ok()?;
    let deployments = ctx.api::<Deployment>();
    let deployment = |f: fn(&Deployment) -> Option<i32>| {
        let api = deployments.clone();
        move || {
            let api = api.clone();
            async move { Ok(f(&api.get("svc-0").await?) == Some(count)) }
        }
    };
    eventually(
        "svc-0's Deployment scaled",
        timeout,
        deployment(|d| d.spec.as_ref()?.replicas),
    )
    .await?;
    let applied = t0.elapsed();
    eventually(
        "svc-0's Deployment available",
        timeout,
        deployment(|d| d.status.as_ref()?.available_replicas),
    )
    .await?;
    let available = t0.elapsed();
    let api = ctx.api::<Service>();
    eventually("svc-0 scaled", timeout, || {
        let api = api.clone();
        async move {
            let s = api.get("svc-0").await?;
            Ok(s.status
                .is_some_and(|st| st.desired_count == count && st.running_count == count))
        }
    })
    .await?;
    Ok(Phases {
        applied,
        available,
        converged: t0.elapsed(),
    })
}

/// The goal of issue 12: a change made as the API server turns ready converges within 10 s, as
/// far as the operator is concerned. What the controller-manager, the scheduler and kwok take
/// to recover (their own watch backoffs, up to a minute after a restart) is measured and printed
/// but not ours to bound. The operator's part includes the API server serving the CRDs again:
/// their watches answer only once the CRD handlers are rebuilt, seconds after /readyz.
const CAUGHT_UP_WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn an_apiserver_outage_is_survived_and_caught_up() {
    support::run_alone("fault-apiserver", |ctx| async move {
        let mut op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &workloads(3))?;
        all_steady(&ctx, 3, support::WAIT).await?;
        cluster(&["kill", "kube-apiserver"])?;
        let down = Instant::now();
        // Down for 3 s, then its start (2 to 5 s here). The leader renews its 15 s Lease every
        // 5 s, so it keeps the Lease through any outage of up to 10 s; a longer one would make
        // the leader exit by design (a coin toss on when it last renewed), which is not what
        // this test is about.
        tokio::time::sleep(Duration::from_secs(3)).await;
        cluster(&["start", "kube-apiserver"])?;
        apiserver_ready().await?;
        let outage = down.elapsed();
        let p = match scale_in_phases(&ctx, 2, Duration::from_secs(120)).await {
            Ok(p) => p,
            // Say whether the operator was still there (a leader that cannot renew its Lease
            // within 15 s exits, by design), with its log.
            Err(e) => bail!(
                "{e}; operator still running: {}; its log:\n{}",
                op.running(),
                op.logs()
            ),
        };
        ensure!(op.running(), "the operator exited during the outage:\n{}", op.logs());
        let figures = format!(
            "a change made once it was ready reached the Deployment in {:.1?}, was available in {:.1?} and reported running in {:.1?}: the operator's part {:.1?} (goal {CAUGHT_UP_WITHIN:?}), the controller-manager's, scheduler's and kwok's {:.1?}",
            p.applied,
            p.available,
            p.converged,
            p.operator(),
            p.available.saturating_sub(p.applied)
        );
        support::report(&format!(
            "fault apiserver: down {outage:.1?}; {figures}; operator still running"
        ));
        ensure!(
            p.operator() <= CAUGHT_UP_WITHIN,
            "{figures}; operator log:\n{}",
            op.logs()
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_etcd_restart_is_survived_and_caught_up() {
    support::run_alone("fault-etcd", |ctx| async move {
        let mut op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &workloads(3))?;
        all_steady(&ctx, 3, support::WAIT).await?;
        cluster(&["kill", "etcd"])?;
        let down = Instant::now();
        tokio::time::sleep(Duration::from_secs(5)).await;
        cluster(&["start", "etcd"])?;
        apiserver_ready().await?;
        let outage = down.elapsed();
        let caught_up = scale_and_converge(&ctx, 2, Duration::from_secs(120)).await?;
        ensure!(op.running(), "the operator exited during the etcd restart:\n{}", op.logs());
        support::report(&format!(
            "fault etcd: restarted after {outage:.1?}; a change made once the apiserver was ready converged in {caught_up:.1?}; operator still running"
        ));
        Ok(())
    })
    .await;
}

/// Which of the operators leads (by their `tidewater_leader` gauge), waiting up to `timeout`.
async fn leader_among(ops: &[&Operator], timeout: Duration) -> Result<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(i) = ops
            .iter()
            .position(|o| o.metric("tidewater_leader") == Some(1.0))
        {
            return Ok(i);
        }
        ensure!(
            Instant::now() < deadline,
            "no replica leads after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_leader_fails_over_on_kill_9_and_on_sigterm() {
    support::run_alone("fault-leader", |ctx| async move {
        let mut a = Operator::start(&ctx.ns, &[]).await?;
        a.wait_leading().await?;
        let mut b = Operator::start(&ctx.ns, &[]).await?;
        apply(&ctx, &workloads(1))?;
        all_steady(&ctx, 1, support::WAIT).await?;
        // kill -9: the Lease is not released, the standby takes over when it expires.
        let t0 = Instant::now();
        a.kill();
        ensure!(leader_among(&[&b], Duration::from_secs(60)).await? == 0);
        let kill_failover = t0.elapsed();
        let converged = scale_and_converge(&ctx, 2, support::WAIT).await?;
        // SIGTERM: the Lease is released, a new standby takes over at once.
        let c = Operator::start(&ctx.ns, &[]).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let t1 = Instant::now();
        let status = b.stop().context("no exit status")?;
        ensure!(status.success(), "the leader exited with {status} on SIGTERM");
        ensure!(leader_among(&[&c], Duration::from_secs(60)).await? == 0);
        let term_failover = t1.elapsed();
        scale_and_converge(&ctx, 1, support::WAIT).await?;
        support::report(&format!(
            "fault leader: kill -9 failover {kill_failover:.1?} (then a change converged in {converged:.1?}); SIGTERM failover {term_failover:.1?}"
        ));
        Ok(())
    })
    .await;
}
