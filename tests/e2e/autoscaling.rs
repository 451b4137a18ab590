//! End-to-end tests of `autoScaling` (issue 10): scheduled actions carried out by the operator at
//! their time, desiredCount under autoscaling, KEDA ScaledObjects accepted by KEDA's real CRDs
//! (installed by hack/e2e.sh from tests/fixtures/third-party-crds/keda), and a server-side dry
//! run of every HPA and ScaledObject rendered from the corpus. Run with `hack/e2e.sh autoscaling`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::api::Api;
use kube::runtime::wait::conditions::is_created;
use serde_json::{Value, json};
use tidewater::import::{self, InputFile, Options};
use tidewater::render;

use crate::operator::{Operator, apply, service, task_definition};
use crate::support::{self, WAIT, kubectl_stdin, repo_root, wait_for};

fn cpu_policy() -> Value {
    json!({"PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 60,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}})
}

fn hpa_bounds(h: &HorizontalPodAutoscaler) -> (i32, i32) {
    let s = h.spec.as_ref();
    (
        s.and_then(|s| s.min_replicas).unwrap_or(0),
        s.map_or(0, |s| s.max_replicas),
    )
}

#[tokio::test]
async fn a_scheduled_action_changes_the_hpa_bounds_at_its_time() {
    support::run("as-sched", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        // at(...) has whole seconds.
        let fire = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() + 20, 0)
            .context("time")?;
        let at = fire.format("at(%Y-%m-%dT%H:%M:%S)").to_string();
        let svc = service(
            "web",
            "web",
            1,
            json!({"autoScaling": {
                "scalableTarget": {"MinCapacity": 1, "MaxCapacity": 3},
                "scalingPolicies": [cpu_policy()],
                "scheduledActions": [{"ScheduledActionName": "peak", "Schedule": at,
                    "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 5}}],
            }}),
        );
        apply(&ctx, &svc)?;
        let hpas: Api<HorizontalPodAutoscaler> = ctx.api();
        let before = wait_for(&hpas, "web", is_created(), WAIT)
            .await?
            .context("HPA gone")?;
        let now = chrono::Utc::now();
        ensure!(now < fire, "the HPA appeared only after the action's time");
        ensure!(
            hpa_bounds(&before) == (1, 3),
            "before: {:?}",
            hpa_bounds(&before)
        );
        let started = Instant::now();
        let after = wait_for(
            &hpas,
            "web",
            |h: Option<&HorizontalPodAutoscaler>| h.is_some_and(|h| hpa_bounds(h) == (2, 5)),
            Duration::from_secs(60),
        )
        .await?
        .context("HPA gone")?;
        let seen = chrono::Utc::now();
        eprintln!(
            "scheduled action {at}: due {fire}, bounds changed at {seen} ({} ms late; waited {:?})",
            (seen - fire).num_milliseconds(),
            started.elapsed()
        );
        ensure!(seen >= fire, "the bounds changed before the action's time");
        ensure!(
            (seen - fire).num_seconds() < 10,
            "the bounds changed {}s after the action's time",
            (seen - fire).num_seconds()
        );
        let annotations = after.metadata.annotations.unwrap_or_default();
        ensure!(
            annotations.get("ecs.tidewater.dev/scheduled-actions-in-force")
                == Some(&"peak".to_string()),
            "{annotations:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn desired_count_starts_the_tasks_and_each_change_sets_the_running_count_once() {
    support::run("as-desired", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        let auto = json!({"autoScaling": {
            "scalableTarget": {"MinCapacity": 1, "MaxCapacity": 4},
            "scalingPolicies": [cpu_policy()],
        }});
        apply(&ctx, &service("web", "web", 3, auto.clone()))?;
        let deployments: Api<Deployment> = ctx.api();
        let replicas = |n: i32| {
            move |d: Option<&Deployment>| {
                d.and_then(|d| d.spec.as_ref()).and_then(|s| s.replicas) == Some(n)
            }
        };
        // ECS starts desiredCount tasks at once (within the bounds).
        wait_for(&deployments, "web", replicas(3), WAIT).await?;
        // Changing desiredCount sets the running count now, clamped to MaxCapacity.
        apply(&ctx, &service("web", "web", 9, auto.clone()))?;
        wait_for(&deployments, "web", replicas(4), WAIT).await?;
        // What the autoscaler does afterwards is left alone.
        ctx.kubectl(&["scale", "deployment/web", "--replicas=2"])
            .ok()?;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let d = deployments.get("web").await?;
        ensure!(
            d.spec.and_then(|s| s.replicas) == Some(2),
            "the operator re-asserted desiredCount over the autoscaler"
        );
        Ok(())
    })
    .await;
}

fn kubectl_json(ctx: &support::Ctx, args: &[&str]) -> Result<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    Ok(serde_json::from_str(&ctx.kubectl(&all).ok()?)?)
}

#[tokio::test]
async fn a_keda_cluster_gets_a_scaled_object_accepted_by_the_keda_crd() {
    support::run("as-keda", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        apply(
            &ctx,
            &json!({"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Cluster",
                "metadata": {"name": "default"}, "spec": {"autoscaler": "keda"}})
            .to_string(),
        )?;
        apply(&ctx, &task_definition("web", "nginx:1.0", json!({})))?;
        let alb = json!({"PolicyName": "requests", "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 500,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget",
                    "ResourceLabel": "app/web/778d41231b141a0f/targetgroup/web/943f017f100becff"}}});
        apply(
            &ctx,
            &service(
                "web",
                "web",
                2,
                json!({"loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/943f017f100becff",
                        "containerName": "app", "containerPort": 8080}],
                    "autoScaling": {"scalableTarget": {"MinCapacity": 0, "MaxCapacity": 6},
                        "scalingPolicies": [alb, cpu_policy()]}}),
            ),
        )?;
        let mut so = Value::Null;
        crate::operator::eventually("the ScaledObject", WAIT, || {
            let found = kubectl_json(&ctx, &["get", "scaledobjects.keda.sh", "web"]);
            if let Ok(v) = &found {
                so = v.clone();
            }
            async move { Ok(found.is_ok()) }
        })
        .await?;
        let types: Vec<&str> = so["spec"]["triggers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["type"].as_str())
            .collect();
        ensure!(types == ["aws-cloudwatch", "cpu"], "triggers: {types:?}");
        ensure!(so["spec"]["minReplicaCount"] == 0, "{so:#}");
        ensure!(so["spec"]["maxReplicaCount"] == 6, "{so:#}");
        ensure!(
            so["spec"]["triggers"][0]["metadata"]["dimensionValue"]
                == "targetgroup/web/943f017f100becff",
            "{so:#}"
        );
        ensure!(so["metadata"]["ownerReferences"][0]["kind"] == "Service");
        let ta = kubectl_json(&ctx, &["get", "triggerauthentications.keda.sh", "web-aws"])?;
        ensure!(ta["spec"]["podIdentity"]["provider"] == "aws", "{ta:#}");
        ensure!(
            ctx.kubectl(&["get", "hpa", "web"]).ok().is_err(),
            "an HPA was created for a keda Cluster"
        );
        Ok(())
    })
    .await;
}

/// Every corpus and import fixture rendered (with hpa, then with every Cluster on keda): the
/// autoscaling objects only.
fn rendered_scalers() -> Vec<Value> {
    let root = repo_root();
    let mut files = import::collect_files(&[root.join("tests/fixtures/corpus")]).unwrap();
    for f in ["cfn-queue-worker.json", "cfn-web-service.yaml"] {
        files.push(root.join("tests/fixtures/import").join(f));
    }
    // Tidewater manifests too: the examples and the golden inputs.
    let golden =
        import::collect_files(&[root.join("tests/golden"), root.join("examples")]).unwrap();
    files.extend(golden.into_iter().filter(|f| {
        let name = f.display().to_string();
        !name.contains(".expected.") && !name.contains("/golden/import/")
    }));
    let mut out = Vec::new();
    for keda in [false, true] {
        for file in &files {
            let name = file.strip_prefix(&root).unwrap().display().to_string();
            let text = std::fs::read_to_string(file).unwrap();
            let read = |p: &str| std::fs::read_to_string(root.join(p)).ok();
            let imported = import::import(
                &[InputFile {
                    file: name.clone(),
                    text,
                }],
                &Options::default(),
                &read,
            );
            let mut docs: Vec<(String, Value)> = imported
                .manifests
                .iter()
                .map(|m| (name.clone(), m.value.clone()))
                .collect();
            if keda {
                for (_, d) in docs.iter_mut().filter(|(_, d)| d["kind"] == "Service") {
                    d["spec"]["cluster"] = json!("keda");
                }
                docs.push((
                    name.clone(),
                    json!({"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Cluster",
                        "metadata": {"name": "keda"}, "spec": {"autoscaler": "keda"}}),
                ));
            }
            let r = render::render_documents(&docs, None);
            out.extend(
                r.objects
                    .into_iter()
                    .filter(|o| {
                        matches!(
                            o["kind"].as_str(),
                            Some(
                                "HorizontalPodAutoscaler"
                                    | "ScaledObject"
                                    | "TriggerAuthentication"
                            )
                        )
                    })
                    .map(Value::from),
            );
        }
    }
    out
}

#[tokio::test]
async fn every_rendered_autoscaler_of_the_corpus_passes_a_server_side_dry_run() {
    support::run("as-dry", |ctx| async move {
        let objects = rendered_scalers();
        let count = |k: &str| objects.iter().filter(|o| o["kind"] == k).count();
        let (hpas, scaled) = (count("HorizontalPodAutoscaler"), count("ScaledObject"));
        ensure!(
            hpas > 0 && scaled > 0,
            "{hpas} HPAs, {scaled} ScaledObjects"
        );
        eprintln!(
            "dry run of {hpas} HPAs, {scaled} ScaledObjects, {} TriggerAuthentications",
            count("TriggerAuthentication")
        );
        for o in &objects {
            let yaml = serde_json::to_string(o)?;
            kubectl_stdin(
                &["apply", "--dry-run=server", "-n", &ctx.ns, "-f", "-"],
                Some(yaml.as_bytes()),
            )
            .ok()
            .with_context(|| format!("{}/{}", o["kind"], o["metadata"]["name"]))?;
        }
        Ok(())
    })
    .await;
}
