//! End-to-end tests of the ECS API operations (issue 13) on the real control plane, with the
//! operator running: every operation called through `ecs_api::ops::dispatch` with a caller on
//! the test's admin client, every answer checked against the ECS output model, and the same
//! objects checked through the Kubernetes API and `kubectl get ecs`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment};
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::ResourceExt;
use kube::api::Api;
use serde_json::{Value, json};
use tidewater::api::{Service, Task, TaskDefinition};
use tidewater::ecs_api::Caller;
use tidewater::ecs_api::ops::{dispatch, shape_check};

use crate::ecs_api::{
    AccessKeyCreds, EcsApiServer, aws, boto3, create_access_key, ecs_full_access_rules, sdk_go,
};
use crate::operator::Operator;
use crate::support::{self, Ctx};

const REGION: &str = "eu-west-1";
const ACCOUNT: &str = "123456789012";

fn caller(ctx: &Ctx) -> Caller {
    Caller {
        namespace: ctx.ns.clone(),
        region: REGION.into(),
        account_id: ACCOUNT.into(),
        access_key_id: "AKIDE2ETEST".into(),
        client: ctx.client.clone(),
    }
}

fn arn(resource: &str) -> String {
    format!("arn:aws:ecs:{REGION}:{ACCOUNT}:{resource}")
}

/// Calls `operation`; the answer must match the ECS output model.
async fn call(c: &Caller, operation: &str, body: Value) -> Result<Value> {
    let out = dispatch(c, operation, body.clone())
        .await
        .map_err(|e| anyhow!("{operation} {body}: {}: {e}", e.type_name()))?;
    if let Err(errors) = shape_check::check(operation, &out) {
        bail!("{operation}: the answer does not match the ECS model: {errors:#?}\n{out:#}");
    }
    Ok(out)
}

/// Calls `operation`, which must fail with `type_name`; returns the message.
async fn refused(c: &Caller, operation: &str, body: Value, type_name: &str) -> Result<String> {
    match dispatch(c, operation, body.clone()).await {
        Ok(out) => bail!("{operation} {body} answered {out} where {type_name} was expected"),
        Err(e) if e.type_name() == type_name => Ok(e.to_string()),
        Err(e) => bail!(
            "{operation}: {} ({e}) where {type_name} was expected",
            e.type_name()
        ),
    }
}

/// What `aws ecs wait services-stable` checks, by polling DescribeServices (every 500 ms).
pub async fn wait_stable(c: &Caller, cluster: &str, service: &str) -> Result<Value> {
    let deadline = Instant::now() + support::WAIT;
    loop {
        let out = call(
            c,
            "DescribeServices",
            json!({"cluster": cluster, "services": [service]}),
        )
        .await?;
        let s = &out["services"][0];
        ensure!(out["failures"] == json!([]), "failures: {out}");
        ensure!(s["status"] == "ACTIVE", "status: {s}");
        let stable = s["deployments"].as_array().map(Vec::len) == Some(1)
            && s["runningCount"] == s["desiredCount"];
        if stable {
            return Ok(s.clone());
        }
        if Instant::now() > deadline {
            bail!("service {service} not stable: {s:#}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The answer to a `forceNewDeployment`: a new PRIMARY deployment in progress, and the one
/// that was PRIMARY (`before`) still ACTIVE.
fn forced_in_progress(service: &Value, before: &Value) -> Result<()> {
    let d = &service["deployments"];
    ensure!(
        d.as_array().map(Vec::len) == Some(2)
            && d[0]["status"] == "PRIMARY"
            && d[0]["rolloutState"] == "IN_PROGRESS"
            && d[0]["id"] != *before
            && d[1]["status"] == "ACTIVE"
            && d[1]["id"] == *before
            && d[0]["taskDefinition"] == d[1]["taskDefinition"],
        "{service:#}"
    );
    Ok(())
}

/// A stable `service` (as DescribeServices shows it) whose one deployment is not `before`, and
/// whose running pods (`running` of them) all belong to that deployment: the forced deployment
/// replaced every task.
async fn replaced_by(ctx: &Ctx, service: &Value, before: &Value, running: usize) -> Result<()> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::ListParams;
    let primary = service["deployments"][0]["id"].as_str().unwrap_or_default();
    ensure!(
        service["deployments"].as_array().map(Vec::len) == Some(1) && primary != *before,
        "{service:#}"
    );
    let number = primary.trim_start_matches("ecs-svc/");
    let name = service["serviceName"].as_str().unwrap_or_default();
    let pods = ctx
        .api::<Pod>()
        .list(&ListParams::default().labels(&format!("ecs.tidewater.dev/service={name}")))
        .await?;
    let deployments: Vec<&str> = pods
        .items
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            p.labels()
                .get("ecs.tidewater.dev/deployment")
                .map_or("", String::as_str)
        })
        .collect();
    ensure!(
        deployments.len() == running && deployments.iter().all(|d| *d == number),
        "pods of deployments {deployments:?}, not only {number}"
    );
    Ok(())
}

/// What `aws ecs wait tasks-running` / `tasks-stopped` check.
pub async fn wait_task(c: &Caller, cluster: &str, task: &str, last: &str) -> Result<Value> {
    let deadline = Instant::now() + support::WAIT;
    loop {
        let out = call(
            c,
            "DescribeTasks",
            json!({"cluster": cluster, "tasks": [task]}),
        )
        .await?;
        ensure!(out["failures"] == json!([]), "failures: {out}");
        let t = &out["tasks"][0];
        if t["lastStatus"] == last {
            return Ok(t.clone());
        }
        ensure!(
            last == "STOPPED" || t["lastStatus"] != "STOPPED",
            "task stopped: {t:#}"
        );
        if Instant::now() > deadline {
            bail!("task {task} not {last}: {t:#}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn task_definition(image: &str) -> Value {
    json!({
        "family": "web",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "app", "image": image, "essential": true,
            "portMappings": [{"containerPort": 8080}],
        }],
        "tags": [{"key": "team", "value": "shop"}],
    })
}

/// The image the Deployment of service `name` runs.
async fn deployed_image(ctx: &Ctx, name: &str) -> Result<String> {
    let d = ctx.api::<Deployment>().get(name).await?;
    let spec = d
        .spec
        .and_then(|s| s.template.spec)
        .context("pod template")?;
    Ok(spec.containers[0].image.clone().unwrap_or_default())
}

#[tokio::test]
async fn every_operation_through_dispatch() {
    support::run("ecsapi-ops", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        let c = caller(&ctx);
        clusters(&c).await.context("clusters")?;
        task_definitions(&ctx, &c)
            .await
            .context("task_definitions")?;
        services(&ctx, &c).await.context("services")?;
        tasks(&ctx, &c).await.context("tasks")?;
        tags(&c).await.context("tags")?;
        teardown(&ctx, &c).await.context("teardown")?;
        Ok(())
    })
    .await;
}

async fn clusters(c: &Caller) -> Result<()> {
    let body = json!({"clusterName": "prod", "tags": [{"key": "env", "value": "prod"}]});
    let created = call(c, "CreateCluster", body.clone()).await?;
    ensure!(
        created["cluster"]["clusterArn"] == arn("cluster/prod"),
        "{created}"
    );
    ensure!(created["cluster"]["status"] == "ACTIVE");
    // Idempotent, as ECS.
    let again = call(c, "CreateCluster", body).await?;
    ensure!(again["cluster"]["clusterArn"] == arn("cluster/prod"));
    let list = call(c, "ListClusters", json!({})).await?;
    ensure!(
        list["clusterArns"] == json!([arn("cluster/prod")]),
        "{list}"
    );
    let described = call(
        c,
        "DescribeClusters",
        json!({"clusters": ["prod", arn("cluster/nope"), "default"], "include": ["TAGS"]}),
    )
    .await?;
    ensure!(
        described["clusters"].as_array().map(Vec::len) == Some(2),
        "{described}"
    );
    ensure!(described["clusters"][0]["tags"] == json!([{"key": "env", "value": "prod"}]));
    ensure!(described["clusters"][1]["clusterName"] == "default");
    ensure!(
        described["failures"] == json!([{"arn": arn("cluster/nope"), "reason": "MISSING"}]),
        "{described}"
    );
    let msg = refused(
        c,
        "DescribeServices",
        json!({"cluster": "nope", "services": ["web"]}),
        "ClusterNotFoundException",
    )
    .await?;
    ensure!(msg == "Cluster not found.");
    let msg = refused(
        c,
        "DescribeClusters",
        json!({"clusters": ["arn:aws:ecs:us-east-1:123456789012:cluster/prod"]}),
        "InvalidParameterException",
    )
    .await?;
    ensure!(msg == "Invalid Region in ARN");
    Ok(())
}

async fn task_definitions(ctx: &Ctx, c: &Caller) -> Result<()> {
    let one = call(c, "RegisterTaskDefinition", task_definition("nginx:1.0")).await?;
    ensure!(
        one["taskDefinition"]["taskDefinitionArn"] == arn("task-definition/web:1"),
        "{one}"
    );
    ensure!(one["taskDefinition"]["status"] == "ACTIVE");
    ensure!(one["tags"] == json!([{"key": "team", "value": "shop"}]));
    let two = call(c, "RegisterTaskDefinition", task_definition("nginx:2.0")).await?;
    ensure!(two["taskDefinition"]["revision"] == 2, "{two}");
    // Invalid bodies change nothing: ECS's rules, checked before anything is written.
    let mut bad = task_definition("nginx:3.0");
    bad["containerDefinitions"][0]["essential"] = json!(false);
    refused(c, "RegisterTaskDefinition", bad, "ClientException").await?;
    let described = call(
        c,
        "DescribeTaskDefinition",
        json!({"taskDefinition": "web", "include": ["TAGS"]}),
    )
    .await?;
    ensure!(described["taskDefinition"]["revision"] == 2, "{described}");
    ensure!(described["taskDefinition"]["containerDefinitions"][0]["image"] == "nginx:2.0");
    let first = call(
        c,
        "DescribeTaskDefinition",
        json!({"taskDefinition": arn("task-definition/web:1")}),
    )
    .await?;
    ensure!(first["taskDefinition"]["containerDefinitions"][0]["image"] == "nginx:1.0");
    refused(
        c,
        "DescribeTaskDefinition",
        json!({"taskDefinition": "web:9"}),
        "ClientException",
    )
    .await?;
    // Pagination: one per page.
    let page = call(c, "ListTaskDefinitions", json!({"maxResults": 1})).await?;
    ensure!(
        page["taskDefinitionArns"] == json!([arn("task-definition/web:1")]),
        "{page}"
    );
    let token = page["nextToken"].as_str().context("nextToken")?;
    let rest = call(
        c,
        "ListTaskDefinitions",
        json!({"maxResults": 1, "nextToken": token}),
    )
    .await?;
    ensure!(
        rest["taskDefinitionArns"] == json!([arn("task-definition/web:2")]),
        "{rest}"
    );
    ensure!(rest.get("nextToken").is_none(), "{rest}");
    let desc = call(
        c,
        "ListTaskDefinitions",
        json!({"familyPrefix": "web", "sort": "DESC"}),
    )
    .await?;
    ensure!(
        desc["taskDefinitionArns"][0] == arn("task-definition/web:2"),
        "{desc}"
    );
    let families = call(
        c,
        "ListTaskDefinitionFamilies",
        json!({"familyPrefix": "w"}),
    )
    .await?;
    ensure!(families["families"] == json!(["web"]), "{families}");
    // The same revisions through the Kubernetes API.
    let revs = ctx
        .api::<ControllerRevision>()
        .list(&Default::default())
        .await?;
    let mut names: Vec<String> = revs
        .items
        .iter()
        .filter_map(|r| r.metadata.name.clone())
        .collect();
    names.sort();
    ensure!(names == ["web.1", "web.2"], "{names:?}");
    let td = ctx.api::<TaskDefinition>().get("web").await?;
    ensure!(td.status.and_then(|s| s.task_definition).as_deref() == Some("web:2"));
    Ok(())
}

async fn services(ctx: &Ctx, c: &Caller) -> Result<()> {
    let body = json!({
        "serviceName": "web", "cluster": "prod", "taskDefinition": "web:1", "desiredCount": 2,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
        "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 50},
    });
    let created = call(c, "CreateService", body.clone()).await?;
    ensure!(
        created["service"]["serviceArn"] == arn("service/prod/web"),
        "{created}"
    );
    ensure!(created["service"]["deployments"].as_array().map(Vec::len) == Some(1));
    let msg = refused(c, "CreateService", body, "InvalidParameterException").await?;
    ensure!(msg == "Creation of service was not idempotent.");
    let steady = wait_stable(c, "prod", "web").await?;
    ensure!(
        steady["runningCount"] == 2 && steady["taskDefinition"] == arn("task-definition/web:1")
    );
    ensure!(deployed_image(ctx, "web").await? == "nginx:1.0");
    // A new revision: the answer already shows the new PRIMARY deployment.
    let updated = call(
        c,
        "UpdateService",
        json!({"cluster": arn("cluster/prod"), "service": arn("service/prod/web"), "taskDefinition": "web"}),
    )
    .await?;
    ensure!(
        updated["service"]["deployments"].as_array().map(Vec::len) == Some(2),
        "{updated}"
    );
    let rolled = wait_stable(c, "prod", "web").await?;
    ensure!(
        rolled["taskDefinition"] == arn("task-definition/web:2"),
        "{rolled}"
    );
    ensure!(deployed_image(ctx, "web").await? == "nginx:2.0");
    let svc = ctx.api::<Service>().get("web").await?;
    ensure!(
        svc.spec.create.task_definition.as_deref() == Some("web:2"),
        "pinned: {:?}",
        svc.spec.create.task_definition
    );
    // Scale.
    let scaled = call(
        c,
        "UpdateService",
        json!({"cluster": "prod", "service": "web", "desiredCount": 3}),
    )
    .await?;
    ensure!(scaled["service"]["desiredCount"] == 3);
    let three = wait_stable(c, "prod", "web").await?;
    ensure!(three["runningCount"] == 3, "{three}");
    // A forced new deployment of the same revision: answered as a new PRIMARY in progress;
    // stable again once the operator's new deployment runs every task.
    let before = three["deployments"][0]["id"].clone();
    let forced = call(
        c,
        "UpdateService",
        json!({"cluster": "prod", "service": "web", "forceNewDeployment": true}),
    )
    .await?;
    forced_in_progress(&forced["service"], &before)?;
    let stable = wait_stable(c, "prod", "web").await?;
    replaced_by(ctx, &stable, &before, 3).await?;
    let d = ctx.api::<Deployment>().get("web").await?;
    let annotations = d
        .spec
        .and_then(|s| s.template.metadata)
        .and_then(|m| m.annotations)
        .unwrap_or_default();
    ensure!(
        annotations.contains_key("ecs.tidewater.dev/force-new-deployment"),
        "{annotations:?}"
    );
    let described = call(
        c,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["web", "nope"], "include": ["TAGS"]}),
    )
    .await?;
    ensure!(
        described["failures"]
            == json!([{"arn": arn("service/prod/web").replace("/web", "/nope"), "reason": "MISSING"}]),
        "{described}"
    );
    let list = call(c, "ListServices", json!({"cluster": "prod"})).await?;
    ensure!(
        list["serviceArns"] == json!([arn("service/prod/web")]),
        "{list}"
    );
    refused(
        c,
        "UpdateService",
        json!({"cluster": "prod", "service": "nope", "desiredCount": 1}),
        "ServiceNotFoundException",
    )
    .await?;
    refused(
        c,
        "UpdateService",
        json!({"cluster": "prod", "service": "web", "taskDefinition": "web:7"}),
        "ClientException",
    )
    .await?;
    let kubectl = ctx.kubectl(&["get", "ecs"]).ok()?;
    ensure!(
        kubectl.contains("service.ecs.tidewater.dev/web")
            && kubectl.contains("taskdefinition.ecs.tidewater.dev/web"),
        "{kubectl}"
    );
    Ok(())
}

async fn tasks(ctx: &Ctx, c: &Caller) -> Result<()> {
    let service_tasks = call(
        c,
        "ListTasks",
        json!({"cluster": "prod", "serviceName": "web"}),
    )
    .await?;
    let arns = service_tasks["taskArns"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(arns.len() == 3, "{service_tasks}");
    let described = call(
        c,
        "DescribeTasks",
        json!({"cluster": "prod", "tasks": arns}),
    )
    .await?;
    ensure!(
        described["tasks"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["lastStatus"] == "RUNNING")),
        "{described}"
    );
    let ran = call(
        c,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web", "startedBy": "e2e", "launchType": "FARGATE",
               "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}),
    )
    .await?;
    let task_arn = ran["tasks"][0]["taskArn"]
        .as_str()
        .context("taskArn")?
        .to_string();
    ensure!(
        ran["tasks"][0]["taskDefinitionArn"] == arn("task-definition/web:2"),
        "{ran}"
    );
    let running = wait_task(c, "prod", &task_arn, "RUNNING").await?;
    ensure!(running["startedBy"] == "e2e");
    let listed = call(
        c,
        "ListTasks",
        json!({"cluster": "prod", "startedBy": "e2e"}),
    )
    .await?;
    ensure!(listed["taskArns"] == json!([task_arn]), "{listed}");
    let stopped = call(
        c,
        "StopTask",
        json!({"cluster": "prod", "task": task_arn, "reason": "e2e done"}),
    )
    .await?;
    ensure!(stopped["task"]["desiredStatus"] == "STOPPED", "{stopped}");
    let done = wait_task(c, "prod", &task_arn, "STOPPED").await?;
    ensure!(
        done["stoppedReason"] == "e2e done" && done["stopCode"] == "UserInitiated",
        "{done}"
    );
    let listed = call(
        c,
        "ListTasks",
        json!({"cluster": "prod", "desiredStatus": "STOPPED"}),
    )
    .await?;
    ensure!(listed["taskArns"] == json!([task_arn]), "{listed}");
    let missing = call(
        c,
        "DescribeTasks",
        json!({"cluster": "prod", "tasks": ["nope-0"]}),
    )
    .await?;
    ensure!(missing["failures"][0]["reason"] == "MISSING", "{missing}");
    let tasks = ctx.api::<Task>().list(&Default::default()).await?;
    ensure!(tasks.items.len() == 1);
    Ok(())
}

async fn tags(c: &Caller) -> Result<()> {
    let resources = [
        arn("cluster/prod"),
        arn("service/prod/web"),
        arn("task-definition/web:2"),
    ];
    for resource in &resources {
        call(
            c,
            "TagResource",
            json!({"resourceArn": resource, "tags": [{"key": "owner", "value": "e2e"}]}),
        )
        .await?;
        let tags = call(c, "ListTagsForResource", json!({"resourceArn": resource})).await?;
        ensure!(
            tags["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!({"key": "owner", "value": "e2e"}))),
            "{resource}: {tags}"
        );
        call(
            c,
            "UntagResource",
            json!({"resourceArn": resource, "tagKeys": ["owner"]}),
        )
        .await?;
        let tags = call(c, "ListTagsForResource", json!({"resourceArn": resource})).await?;
        ensure!(!tags.to_string().contains("owner"), "{resource}: {tags}");
    }
    refused(
        c,
        "ListTagsForResource",
        json!({"resourceArn": arn("service/prod/nope")}),
        "ResourceNotFoundException",
    )
    .await?;
    Ok(())
}

async fn teardown(ctx: &Ctx, c: &Caller) -> Result<()> {
    refused(
        c,
        "DeleteCluster",
        json!({"cluster": "prod"}),
        "ClusterContainsServicesException",
    )
    .await?;
    let msg = refused(
        c,
        "DeleteService",
        json!({"cluster": "prod", "service": "web"}),
        "InvalidParameterException",
    )
    .await?;
    ensure!(msg == "The service cannot be stopped while it is scaled above 0.");
    let deleted = call(
        c,
        "DeleteService",
        json!({"cluster": "prod", "service": "web", "force": true}),
    )
    .await?;
    ensure!(deleted["service"]["status"] == "DRAINING", "{deleted}");
    crate::operator::eventually("the service is gone", support::WAIT, || {
        let api: Api<Service> = ctx.api();
        async move { Ok(api.get_opt("web").await?.is_none()) }
    })
    .await?;
    let gone = call(
        c,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["web"]}),
    )
    .await?;
    // DeleteService: "Services in the DRAINING or INACTIVE status can still be viewed with the
    // DescribeServices API operation."
    let services = &gone["services"];
    ensure!(
        gone["failures"] == json!([])
            && services.as_array().map(Vec::len) == Some(1)
            && services[0]["status"] == "INACTIVE"
            && services[0]["serviceArn"] == arn("service/prod/web")
            && services[0]["runningCount"] == 0,
        "{gone}"
    );
    ensure!(
        shape_check::check("DescribeServices", &gone).is_ok(),
        "{gone}"
    );
    // Recorded only as INACTIVE: never listed, and a name never used is MISSING.
    let list = call(c, "ListServices", json!({"cluster": "prod"})).await?;
    ensure!(list["serviceArns"] == json!([]), "{list}");
    let never = call(
        c,
        "DescribeServices",
        json!({"cluster": "prod", "services": ["never"]}),
    )
    .await?;
    ensure!(never["failures"][0]["reason"] == "MISSING", "{never}");
    refused(
        c,
        "UpdateService",
        json!({"cluster": "prod", "service": "web", "desiredCount": 1}),
        "ServiceNotActiveException",
    )
    .await?;
    let dereg = call(
        c,
        "DeregisterTaskDefinition",
        json!({"taskDefinition": "web:1"}),
    )
    .await?;
    ensure!(dereg["taskDefinition"]["status"] == "INACTIVE", "{dereg}");
    let inactive = call(c, "ListTaskDefinitions", json!({"status": "INACTIVE"})).await?;
    ensure!(
        inactive["taskDefinitionArns"] == json!([arn("task-definition/web:1")]),
        "{inactive}"
    );
    let rev = ctx.api::<ControllerRevision>().get("web.1").await?;
    ensure!(
        rev.metadata
            .labels
            .unwrap_or_default()
            .get("ecs.tidewater.dev/status")
            .map(String::as_str)
            == Some("INACTIVE")
    );
    refused(
        c,
        "RunTask",
        json!({"cluster": "prod", "taskDefinition": "web:1"}),
        "ClientException",
    )
    .await?;
    let deleted = call(c, "DeleteCluster", json!({"cluster": "prod"})).await?;
    ensure!(deleted["cluster"]["status"] == "INACTIVE", "{deleted}");
    Ok(())
}

/// p50 / p95 / max of durations, in milliseconds.
fn percentiles(mut d: Vec<Duration>) -> String {
    d.sort();
    let at = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    format!(
        "p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        at(0.5),
        at(0.95),
        at(1.0)
    )
}

/// Times `n` sequential calls made by `make(i)`.
async fn timed<F, Fut>(n: usize, mut make: F) -> Result<(Duration, Vec<Duration>)>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    let start = Instant::now();
    let mut each = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        make(i).await?;
        each.push(t.elapsed());
    }
    Ok((start.elapsed(), each))
}

/// Benchmark (figures printed with `support::report`): RegisterTaskDefinition throughput (each
/// call waits for the operator to register the revision) and DescribeServices of 100 services
/// (10 calls of 10, ECS's limit per call), through the operations.
#[tokio::test]
async fn benchmark_register_and_describe_100_services() {
    support::run("ecsapi-bench", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        let c = caller(&ctx);
        let n = 20;
        let (total, each) = timed(n, |i| {
            call(&c, "RegisterTaskDefinition", task_definition(&format!("nginx:1.{i}")))
        })
        .await?;
        support::report(&format!(
            "ecs-api bench (dispatch): RegisterTaskDefinition x{n} sequential: {:.1}/s ({})",
            n as f64 / total.as_secs_f64(),
            percentiles(each)
        ));
        let (total, each) = timed(100, |i| {
            let body = json!({"serviceName": format!("svc-{i:03}"), "taskDefinition": "web",
                              "desiredCount": 0});
            call(&c, "CreateService", body)
        })
        .await?;
        support::report(&format!(
            "ecs-api bench (dispatch): CreateService x100 sequential: {:.1}/s ({})",
            100.0 / total.as_secs_f64(),
            percentiles(each)
        ));
        let mut rounds = Vec::new();
        let mut calls = Vec::new();
        for _ in 0..5 {
            let (total, each) = timed(10, |i| {
                let names: Vec<String> = (0..10).map(|j| format!("svc-{:03}", i * 10 + j)).collect();
                call(&c, "DescribeServices", json!({"services": names}))
            })
            .await?;
            rounds.push(total);
            calls.extend(each);
        }
        support::report(&format!(
            "ecs-api bench (dispatch): DescribeServices of 100 services (10 calls of 10): {} per 100; per call {}",
            percentiles(rounds),
            percentiles(calls)
        ));
        // Concurrent registrations of one family: each answer holds its own body.
        let (total, _) = timed(1, |_| async {
            let calls = (0..4).map(|i| {
                let mut td = task_definition(&format!("busybox:{i}"));
                td["family"] = json!("conc");
                call(&c, "RegisterTaskDefinition", td)
            });
            let answers = futures::future::join_all(calls).await;
            let mut revisions = Vec::new();
            for (i, a) in answers.into_iter().enumerate() {
                let a = a?;
                let td = &a["taskDefinition"];
                ensure!(td["containerDefinitions"][0]["image"] == format!("busybox:{i}"), "{a}");
                revisions.push(td["revision"].as_i64().unwrap_or_default());
            }
            revisions.sort();
            revisions.dedup();
            ensure!(revisions.len() == 4, "{revisions:?}");
            Ok(Value::Null)
        })
        .await?;
        support::report(&format!(
            "ecs-api bench (dispatch): 4 concurrent RegisterTaskDefinition of one family: {:.0} ms",
            total.as_secs_f64() * 1000.0
        ));
        // ListServices pages of 30: 30, 30, 30, 10, every service once, in order.
        let (mut seen, mut token, mut pages) = (Vec::new(), None::<String>, Vec::new());
        loop {
            let mut body = json!({"maxResults": 30});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let page = call(&c, "ListServices", body).await?;
            let arns = page["serviceArns"].as_array().cloned().unwrap_or_default();
            pages.push(arns.len());
            seen.extend(arns);
            match page["nextToken"].as_str() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        ensure!(pages == [30, 30, 30, 10], "{pages:?}");
        let want: Vec<Value> = (0..100).map(|i| json!(arn(&format!("service/default/svc-{i:03}")))).collect();
        ensure!(seen == want);
        // ListServices defaults to 10 per page, as ECS.
        let first = call(&c, "ListServices", json!({})).await?;
        ensure!(first["serviceArns"].as_array().map(Vec::len) == Some(10) && first["nextToken"].is_string());
        Ok(())
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The lifecycle of issue 13 through the real clients: the AWS CLI, boto3 and the AWS SDK for
// Go v2 (the SDK ecspresso is built on), against `tidewater ecs-api`.
// ---------------------------------------------------------------------------------------------

/// One of the real clients.
#[derive(Clone, Copy, Debug)]
enum Client {
    /// `aws ecs <operation> --cli-input-json ...`, `aws ecs wait ...` (the CLI's waiters).
    AwsCli,
    /// `boto3.client('ecs').<operation>(**input)`, its waiters; every raw answer is checked
    /// against the ECS model.
    Boto3,
    /// hack/ecs-sdk-go: the SDK's operations (its deserializers reject a wrong type) and
    /// waiters.
    SdkGo,
}

/// `RegisterTaskDefinition` → `register-task-definition` (or with `_` for boto3).
fn words(operation: &str, sep: char) -> String {
    let mut out = String::new();
    for (i, ch) in operation.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push(sep);
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// Marker of the raw answers the boto3 runner prints on stderr.
const RAW: &str = "RAW-ECS-ANSWER ";

/// The boto3 prelude: every raw answer body goes to stderr, for the model check.
const BOTO3_HOOK: &str = "def _raw(http_response, model, **kw):\n    \
    print('RAW-ECS-ANSWER ' + json.dumps({'op': model.name, 'body': http_response.text}), file=sys.stderr)\n\
ecs.meta.events.register('after-call.ecs', _raw)\n";

impl Client {
    /// Calls `operation` with `input`; the answer as JSON.
    fn call(
        self,
        s: &EcsApiServer,
        key: &AccessKeyCreds,
        operation: &str,
        input: &Value,
    ) -> Result<Value> {
        let input_text = input.to_string();
        let out = match self {
            Client::AwsCli => {
                let op = words(operation, '-');
                aws(s, key, &["ecs", &op, "--cli-input-json", &input_text])
            }
            Client::Boto3 => {
                let script = format!(
                    "{BOTO3_HOOK}print(json.dumps(ecs.{}(**json.loads({input_text:?})), default=str))",
                    words(operation, '_')
                );
                boto3(s, key, &script)
            }
            Client::SdkGo => sdk_go(s, key, &["call", operation, &input_text]),
        };
        let answer = out.ok_json()?;
        check_raw_answers(self, &out.stderr)?;
        Ok(answer)
    }

    /// Runs the client's waiter `waiter` (`services-stable`, `tasks-running`, `tasks-stopped`).
    fn wait(
        self,
        s: &EcsApiServer,
        key: &AccessKeyCreds,
        waiter: &str,
        cluster: &str,
        ids: &[&str],
    ) -> Result<()> {
        let what = if waiter.starts_with("services-") {
            "services"
        } else {
            "tasks"
        };
        let out = match self {
            Client::AwsCli => {
                let flag = format!("--{what}");
                let mut args = vec!["ecs", "wait", waiter, "--cluster", cluster, &flag];
                args.extend(ids);
                aws(s, key, &args)
            }
            Client::Boto3 => {
                let script = format!(
                    "{BOTO3_HOOK}ecs.get_waiter('{}').wait(cluster='{cluster}', {what}={ids:?}, WaiterConfig={{'Delay': 1, 'MaxAttempts': 120}})",
                    waiter.replace('-', "_")
                );
                boto3(s, key, &script)
            }
            Client::SdkGo => {
                let flag = format!("--{what}");
                let mut args = vec!["wait", waiter, "--cluster", cluster, &flag];
                let joined = ids.join(",");
                args.push(&joined);
                args.extend(["--timeout", "3m"]);
                sdk_go(s, key, &args)
            }
        };
        out.ok_json().map(|_| ())?;
        check_raw_answers(self, &out.stderr)
    }
}

/// Every raw answer boto3 printed matches the ECS output model (and boto3 printed some).
fn check_raw_answers(client: Client, stderr: &str) -> Result<()> {
    let raw: Vec<&str> = stderr.lines().filter_map(|l| l.strip_prefix(RAW)).collect();
    ensure!(
        !matches!(client, Client::Boto3) || !raw.is_empty(),
        "boto3 printed no raw answer: {stderr}"
    );
    for line in raw {
        let v: Value = serde_json::from_str(line)?;
        let op = v["op"].as_str().unwrap_or_default();
        let body: Value = serde_json::from_str(v["body"].as_str().unwrap_or("{}"))?;
        if let Err(errors) = shape_check::check(op, &body) {
            bail!("{op}: the raw answer does not match the ECS model: {errors:#?}");
        }
    }
    Ok(())
}

/// RBAC of the lifecycle key: the Tidewater resources, and what the operations read or change
/// besides (revisions, the pods of tasks, the record of deleted services); no right on
/// Deployments (`forceNewDeployment` goes through the operator).
fn lifecycle_rules() -> Vec<PolicyRule> {
    let rule = |group: &str, resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|r| r.to_string()).collect()),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    };
    let mut rules = ecs_full_access_rules();
    rules.push(rule(
        "apps",
        &["controllerrevisions"],
        &["get", "list", "watch", "patch"],
    ));
    rules.push(rule("", &["pods"], &["get", "list", "delete"]));
    rules.push(PolicyRule {
        resource_names: Some(vec![tidewater::ecs_api::ops::inactive::CONFIG_MAP.into()]),
        ..rule("", &["configmaps"], &["get", "patch"])
    });
    rules.push(rule("", &["configmaps"], &["create"]));
    rules
}

/// The Service and TaskDefinition as the Kubernetes API shows them agree with what the client
/// was told; `kubectl get ecs` lists them.
async fn consistent(ctx: &Ctx, service: &Value) -> Result<()> {
    let svc = ctx.api::<Service>().get("web").await?;
    let st = svc.status.clone().unwrap_or_default();
    let td = service["taskDefinition"].as_str().unwrap_or_default();
    ensure!(
        td.ends_with(&format!(
            "task-definition/{}",
            st.task_definition.clone().unwrap_or_default()
        )),
        "kube status {:?} vs ECS {td}",
        st.task_definition
    );
    ensure!(
        service["runningCount"] == st.running_count && service["desiredCount"] == st.desired_count,
        "kube status {}/{} vs ECS {service}",
        st.running_count,
        st.desired_count
    );
    let d = ctx.api::<Deployment>().get("web").await?;
    ensure!(d.spec.and_then(|s| s.replicas) == Some(st.desired_count));
    let listed = ctx.kubectl(&["get", "ecs", "-o", "name"]).ok()?;
    ensure!(
        listed.contains("service.ecs.tidewater.dev/web")
            && listed.contains("taskdefinition.ecs.tidewater.dev/web"),
        "{listed}"
    );
    Ok(())
}

/// register → create service → wait services-stable → update with a new revision → wait stable
/// (the Deployment rolled) → scale → force a new deployment → wait stable (new tasks) →
/// run-task → describe-tasks → stop-task → delete service → wait services-inactive →
/// deregister, with `client`; each step checked through the Kubernetes API as well.
async fn lifecycle(ctx: Ctx, client: Client) -> Result<()> {
    let op = Operator::start(&ctx.ns, &[]).await?;
    op.wait_leading().await?;
    let server = EcsApiServer::start().await?;
    let key = create_access_key(&ctx, "deployer", lifecycle_rules()).await?;
    let (s, k) = (&server, &key);
    let arn = |r: &str| {
        format!(
            "arn:aws:ecs:{}:{}:{r}",
            crate::ecs_api::REGION,
            crate::ecs_api::ACCOUNT_ID
        )
    };
    client.call(s, k, "CreateCluster", &json!({"clusterName": "prod"}))?;
    let one = client.call(
        s,
        k,
        "RegisterTaskDefinition",
        &task_definition("nginx:1.0"),
    )?;
    ensure!(
        one["taskDefinition"]["taskDefinitionArn"] == arn("task-definition/web:1"),
        "{one}"
    );
    let td = ctx.api::<TaskDefinition>().get("web").await?;
    ensure!(td.status.and_then(|s| s.task_definition).as_deref() == Some("web:1"));
    let create = json!({"cluster": "prod", "serviceName": "web", "taskDefinition": "web", "desiredCount": 2,
        "launchType": "FARGATE", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}});
    client.call(s, k, "CreateService", &create)?;
    client.wait(s, k, "services-stable", "prod", &["web"])?;
    let described = client.call(
        s,
        k,
        "DescribeServices",
        &json!({"cluster": "prod", "services": ["web"]}),
    )?;
    consistent(&ctx, &described["services"][0]).await?;
    ensure!(deployed_image(&ctx, "web").await? == "nginx:1.0");
    // A new revision, rolled out.
    let two = client.call(
        s,
        k,
        "RegisterTaskDefinition",
        &task_definition("nginx:2.0"),
    )?;
    ensure!(two["taskDefinition"]["revision"] == 2, "{two}");
    // "Registers a new task definition": every call, even with the body of the latest.
    let again = client.call(
        s,
        k,
        "RegisterTaskDefinition",
        &task_definition("nginx:2.0"),
    )?;
    ensure!(again["taskDefinition"]["revision"] == 3, "{again}");
    let updated = client.call(
        s,
        k,
        "UpdateService",
        &json!({"cluster": "prod", "service": "web", "taskDefinition": "web"}),
    )?;
    ensure!(
        updated["service"]["taskDefinition"] == arn("task-definition/web:3"),
        "{updated}"
    );
    client.wait(s, k, "services-stable", "prod", &["web"])?;
    ensure!(
        deployed_image(&ctx, "web").await? == "nginx:2.0",
        "the Deployment did not roll"
    );
    let described = client.call(
        s,
        k,
        "DescribeServices",
        &json!({"cluster": "prod", "services": ["web"]}),
    )?;
    consistent(&ctx, &described["services"][0]).await?;
    // Scale.
    client.call(
        s,
        k,
        "UpdateService",
        &json!({"cluster": "prod", "service": "web", "desiredCount": 3}),
    )?;
    client.wait(s, k, "services-stable", "prod", &["web"])?;
    let described = client.call(
        s,
        k,
        "DescribeServices",
        &json!({"cluster": "prod", "services": ["web"]}),
    )?;
    ensure!(described["services"][0]["runningCount"] == 3, "{described}");
    consistent(&ctx, &described["services"][0]).await?;
    // The usual redeploy of the same image tag: update-service --force-new-deployment, then
    // the client's services-stable waiter, which returns only once new tasks replaced the old.
    let before = described["services"][0]["deployments"][0]["id"].clone();
    let forced = client.call(
        s,
        k,
        "UpdateService",
        &json!({"cluster": "prod", "service": "web", "forceNewDeployment": true}),
    )?;
    forced_in_progress(&forced["service"], &before)?;
    client.wait(s, k, "services-stable", "prod", &["web"])?;
    let described = client.call(
        s,
        k,
        "DescribeServices",
        &json!({"cluster": "prod", "services": ["web"]}),
    )?;
    replaced_by(&ctx, &described["services"][0], &before, 3).await?;
    consistent(&ctx, &described["services"][0]).await?;
    tasks_lifecycle(&ctx, client, s, k).await?;
    // Delete and deregister.
    let deleted = client.call(
        s,
        k,
        "DeleteService",
        &json!({"cluster": "prod", "service": "web", "force": true}),
    )?;
    ensure!(deleted["service"]["status"] == "DRAINING", "{deleted}");
    // The usual teardown: the client's services-inactive waiter (which fails on MISSING).
    client.wait(s, k, "services-inactive", "prod", &["web"])?;
    ensure!(
        ctx.api::<Service>().get_opt("web").await?.is_none(),
        "INACTIVE while the Service resource exists"
    );
    let dereg = client.call(
        s,
        k,
        "DeregisterTaskDefinition",
        &json!({"taskDefinition": "web:1"}),
    )?;
    ensure!(dereg["taskDefinition"]["status"] == "INACTIVE", "{dereg}");
    let rev = ctx.api::<ControllerRevision>().get("web.1").await?;
    ensure!(
        rev.labels()
            .get("ecs.tidewater.dev/status")
            .map(String::as_str)
            == Some("INACTIVE")
    );
    Ok(())
}

/// run-task → wait tasks-running → describe-tasks → stop-task → wait tasks-stopped.
async fn tasks_lifecycle(
    ctx: &Ctx,
    client: Client,
    s: &EcsApiServer,
    k: &AccessKeyCreds,
) -> Result<()> {
    let ran = client.call(
        s,
        k,
        "RunTask",
        &json!({"cluster": "prod", "taskDefinition": "web", "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}),
    )?;
    let task = ran["tasks"][0]["taskArn"]
        .as_str()
        .context("taskArn")?
        .to_string();
    client.wait(s, k, "tasks-running", "prod", &[&task])?;
    let described = client.call(
        s,
        k,
        "DescribeTasks",
        &json!({"cluster": "prod", "tasks": [task]}),
    )?;
    ensure!(
        described["tasks"][0]["lastStatus"] == "RUNNING",
        "{described}"
    );
    let id = task.rsplit('/').next().unwrap_or_default().to_string();
    let owner = id
        .rsplit_once('-')
        .map(|(o, _)| o.to_string())
        .unwrap_or_default();
    let t = ctx.api::<Task>().get(&owner).await?;
    let recorded = t.status.map(|s| s.tasks).unwrap_or_default();
    ensure!(
        recorded
            .iter()
            .any(|r| r.task_id == id && r.last_status == "RUNNING"),
        "{recorded:?}"
    );
    client.call(
        s,
        k,
        "StopTask",
        &json!({"cluster": "prod", "task": task, "reason": "lifecycle test"}),
    )?;
    client.wait(s, k, "tasks-stopped", "prod", &[&task])?;
    let stopped = client.call(
        s,
        k,
        "DescribeTasks",
        &json!({"cluster": "prod", "tasks": [task]}),
    )?;
    ensure!(
        stopped["tasks"][0]["stoppedReason"] == "lifecycle test",
        "{stopped}"
    );
    Ok(())
}

#[tokio::test]
async fn lifecycle_with_the_aws_cli() {
    support::run("ecsapi-cli", |ctx| lifecycle(ctx, Client::AwsCli)).await;
}

#[tokio::test]
async fn lifecycle_with_boto3() {
    support::run("ecsapi-boto3", |ctx| lifecycle(ctx, Client::Boto3)).await;
}

#[tokio::test]
async fn lifecycle_with_the_aws_sdk_for_go() {
    support::run("ecsapi-sdkgo", |ctx| lifecycle(ctx, Client::SdkGo)).await;
}

/// The benchmark through the API with a real client: one boto3 process (so that no process
/// start is measured) times 20 RegisterTaskDefinition calls, 100 CreateService calls and 5
/// rounds of DescribeServices of the 100 services (10 calls of 10), against `tidewater ecs-api`.
#[tokio::test]
async fn benchmark_through_the_api_with_boto3() {
    support::run("ecsapi-bench-http", |ctx| async move {
        let op = Operator::start(&ctx.ns, &[]).await?;
        op.wait_leading().await?;
        let server = EcsApiServer::start().await?;
        let key = create_access_key(&ctx, "bench", lifecycle_rules()).await?;
        let td = task_definition("nginx:IMAGE").to_string();
        let script = format!(
            "import time\n\
             def timed(n, f):\n    out = []\n    for i in range(n):\n        t = time.perf_counter(); f(i); out.append(time.perf_counter() - t)\n    return out\n\
             td = {td:?}\n\
             reg = timed(20, lambda i: ecs.register_task_definition(**json.loads(td.replace('IMAGE', str(i)))))\n\
             create = timed(100, lambda i: ecs.create_service(serviceName='svc-%03d' % i, taskDefinition='web', desiredCount=0))\n\
             rounds = []\n\
             for r in range(5):\n    rounds.append(sum(timed(10, lambda i: ecs.describe_services(services=['svc-%03d' % (i * 10 + j) for j in range(10)]))))\n\
             calls = timed(50, lambda i: ecs.describe_services(services=['svc-%03d' % ((i % 10) * 10 + j) for j in range(10)]))\n\
             print(json.dumps({{'register': reg, 'create': create, 'rounds': rounds, 'calls': calls}}))"
        );
        let out = boto3(&server, &key, &script).ok_json()?;
        let secs = |k: &str| -> Vec<Duration> {
            out[k].as_array().into_iter().flatten().filter_map(Value::as_f64).map(Duration::from_secs_f64).collect()
        };
        let rate = |d: &[Duration]| d.len() as f64 / d.iter().sum::<Duration>().as_secs_f64();
        let (reg, create) = (secs("register"), secs("create"));
        support::report(&format!(
            "ecs-api bench (boto3 over HTTP): RegisterTaskDefinition x20 sequential: {:.1}/s ({})",
            rate(&reg), percentiles(reg.clone())
        ));
        support::report(&format!(
            "ecs-api bench (boto3 over HTTP): CreateService x100 sequential: {:.1}/s ({})",
            rate(&create), percentiles(create.clone())
        ));
        support::report(&format!(
            "ecs-api bench (boto3 over HTTP): DescribeServices of 100 services (10 calls of 10): {} per 100; per call of 10 {}",
            percentiles(secs("rounds")), percentiles(secs("calls"))
        ));
        Ok(())
    })
    .await;
}
