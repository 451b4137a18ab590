//! Task definitions. A family is one TaskDefinition (its `spec` is the RegisterTaskDefinition
//! body); each revision is the ControllerRevision `<family>.<N>` the operator registers, labelled
//! `ecs.tidewater.dev/status=INACTIVE` once deregistered.
//!
//! RegisterTaskDefinition validates the body with the plan the operator runs (so an invalid
//! body changes nothing), creates or replaces the family's TaskDefinition, then watches it until
//! the operator reports the revision of that generation (at most [`REGISTER_WAIT`]), and
//! answers with the revision holding the body. Registrations of one family are serialised in
//! the server (the operator registers the spec it sees: a body replaced before it was
//! registered would get no revision), so concurrent calls each get their own revision. Each
//! call registers a new revision, as on ECS, even of a body identical to the latest revision's:
//! the call's id goes on the TaskDefinition (annotation `ecs.tidewater.dev/registration`), and
//! the operator registers a revision for each new id. Differences from ECS: revisions beyond the
//! operator's `--revision-history-limit` that nothing uses are deleted, where ECS keeps them.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::ApiError;
use super::arn::Scope;
use super::pagination::{self, Page};
use super::{Ctx, FIELD_MANAGER, copy_members, epoch, include_tags, parse, put};
use crate::api::task_definition::{TaskDefinitionSpec, TaskDefinitionStatus};
use crate::api::{TaskDefinition, TaskDefinitionSpec as Spec};
use crate::controller::revisions::{self, REGISTERED_BY, Revision, STATUS};
use crate::translate::{self, labels, names};

/// How long RegisterTaskDefinition waits for the operator to register the revision.
pub const REGISTER_WAIT: Duration = Duration::from_secs(10);
/// Annotation on a revision: when it was deregistered (RFC 3339).
pub const DEREGISTERED_AT: &str = "ecs.tidewater.dev/deregistered-at";

/// A revision with its object (creation time, annotations).
pub struct Registered {
    /// The revision.
    pub revision: Revision,
    /// Its ControllerRevision.
    pub object: ControllerRevision,
}

/// The registered revisions of the namespace (of `family` only, when given).
pub async fn revisions_of(
    ctx: &Ctx<'_>,
    family: Option<&str>,
) -> Result<Vec<Registered>, ApiError> {
    let mut selector = REGISTERED_BY.to_string();
    if let Some(label) = family.and_then(names::label_value) {
        selector.push_str(&format!(",{}={label}", labels::FAMILY));
    }
    let list = ctx
        .api::<ControllerRevision>()
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ctx.kube(e))?;
    let mut out: Vec<Registered> = list
        .items
        .into_iter()
        .filter_map(|object| {
            let revision = revisions::from_object(&object)?;
            Some(Registered { revision, object })
        })
        .filter(|r| family.is_none_or(|f| r.revision.family == f))
        .collect();
    out.sort_by(|a, b| {
        (&a.revision.family, a.revision.number).cmp(&(&b.revision.family, b.revision.number))
    });
    Ok(out)
}

/// The revision `reference` (`family`, `family:N`, ARN) names: that one, or the latest ACTIVE.
pub async fn resolve(ctx: &Ctx<'_>, reference: &str) -> Result<Option<Registered>, ApiError> {
    let (family, number) = ctx.scope.task_definition_ref(reference)?;
    let revs = revisions_of(ctx, Some(&family)).await?;
    Ok(match number {
        Some(n) => revs.into_iter().find(|r| r.revision.number == n),
        None => revs.into_iter().rev().find(|r| r.revision.active),
    })
}

/// The TaskDefinition output shape of a revision.
pub fn output(scope: &Scope, r: &Registered) -> Value {
    let rev = &r.revision;
    let mut td = json!({});
    let members: Vec<(&str, &str)> = SPEC_MEMBERS.iter().map(|m| (*m, *m)).collect();
    copy_members(&rev.spec, &mut td, &members);
    td["family"] = json!(rev.family);
    td["taskDefinitionArn"] = json!(scope.task_definition(&rev.family, rev.number));
    td["revision"] = json!(rev.number);
    td["status"] = json!(if rev.active { "ACTIVE" } else { "INACTIVE" });
    put(
        &mut td,
        "registeredAt",
        epoch(r.object.metadata.creation_timestamp.as_ref()),
    );
    let deregistered = r
        .object
        .annotations()
        .get(DEREGISTERED_AT)
        .map(String::as_str);
    put(&mut td, "deregisteredAt", super::epoch_of(deregistered));
    with_defaults(td)
}

/// The RegisterTaskDefinition members the TaskDefinition output carries unchanged (all but
/// `tags`, which ECS returns apart).
const SPEC_MEMBERS: &[&str] = &[
    "containerDefinitions",
    "cpu",
    "enableFaultInjection",
    "ephemeralStorage",
    "executionRoleArn",
    "inferenceAccelerators",
    "ipcMode",
    "memory",
    "networkMode",
    "pidMode",
    "placementConstraints",
    "proxyConfiguration",
    "requiresCompatibilities",
    "runtimePlatform",
    "taskRoleArn",
    "volumes",
];

/// The defaults ECS fills in when it describes a task definition: empty lists, `essential`,
/// container `cpu` 0, port mapping protocol and host port, and the launch types it validated
/// against (`compatibilities`).
pub fn with_defaults(mut td: Value) -> Value {
    let mode = td["networkMode"].as_str().unwrap_or("bridge").to_string();
    for key in ["volumes", "placementConstraints", "requiresAttributes"] {
        if td.get(key).is_none() {
            td[key] = json!([]);
        }
    }
    let fargate = mode == "awsvpc" && td.get("cpu").is_some() && td.get("memory").is_some();
    td["compatibilities"] = if fargate {
        json!(["EC2", "FARGATE"])
    } else {
        json!(["EC2"])
    };
    if let Some(containers) = td["containerDefinitions"].as_array_mut() {
        for c in containers {
            container_defaults(c, &mode);
        }
    }
    td
}

fn container_defaults(c: &mut Value, mode: &str) {
    if c.get("cpu").is_none() {
        c["cpu"] = json!(0);
    }
    if c.get("essential").is_none() {
        c["essential"] = json!(true);
    }
    for key in ["portMappings", "environment", "mountPoints", "volumesFrom"] {
        if c.get(key).is_none() {
            c[key] = json!([]);
        }
    }
    for p in c["portMappings"].as_array_mut().into_iter().flatten() {
        if p.get("protocol").is_none() {
            p["protocol"] = json!("tcp");
        }
        if p.get("hostPort").is_none() && (mode == "awsvpc" || mode == "host") {
            p["hostPort"] = p["containerPort"].clone();
        }
    }
}

/// RegisterTaskDefinition.
pub async fn register(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let spec: Spec = parse(body.clone())?;
    let family = spec
        .register
        .family
        .clone()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::Client("Family must be specified.".into()))?;
    if let Err(errors) = translate::plan::task_definition(&family, &spec) {
        return Err(ApiError::Client(errors.to_string()));
    }
    let wanted = serde_json::to_value(&spec.register).unwrap_or_default();
    // One registration of a family at a time (in this server): the operator registers the
    // spec it sees, so a body replaced before it was registered would never get a revision.
    let lock = family_lock(&ctx.caller.namespace, &family);
    let _one_at_a_time = lock.lock().await;
    let call = uuid::Uuid::new_v4().to_string();
    let (name, generation) = write_family(ctx, &family, spec, &call).await?;
    let number = wait_registered(ctx, &name, generation, &call).await?;
    let registered = holding(ctx, &family, &wanted, number).await?;
    let tags = super::tags::revision_tags(&registered);
    Ok(json!({"taskDefinition": output(&ctx.scope, &registered), "tags": tags}))
}

/// The lock serialising the registrations of `family` in `namespace`.
fn family_lock(namespace: &str, family: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    type Locks = std::sync::Mutex<BTreeMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>;
    static LOCKS: std::sync::OnceLock<Locks> = std::sync::OnceLock::new();
    let locks = LOCKS.get_or_init(Locks::default);
    let mut locks = locks.lock().unwrap_or_else(|e| e.into_inner());
    // Forget the families nobody registers right now (bounded memory).
    locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
    locks
        .entry(format!("{namespace}/{family}"))
        .or_default()
        .clone()
}

/// The newest revision of `family` holding `spec`: the one the operator registered for this
/// call. None holds it when another writer (kubectl, another server replica) replaced the
/// spec before the operator registered it: a `ServerException` the client may retry.
async fn holding(
    ctx: &Ctx<'_>,
    family: &str,
    spec: &Value,
    number: i64,
) -> Result<Registered, ApiError> {
    let mut revs = revisions_of(ctx, Some(family)).await?;
    let at = revs
        .iter()
        .rposition(|r| r.revision.spec == *spec)
        .ok_or_else(|| {
            ApiError::Server(format!(
                "the task definition of family {family} was replaced (now {family}:{number}) \
                 before the operator registered this one; retry"
            ))
        })?;
    Ok(revs.swap_remove(at))
}

/// Creates or replaces the family's TaskDefinition with `spec`, for the RegisterTaskDefinition
/// call `call`: (object name, generation). A concurrent write of the same family (409) is
/// retried on the fresh object.
async fn write_family(
    ctx: &Ctx<'_>,
    family: &str,
    spec: TaskDefinitionSpec,
    call: &str,
) -> Result<(String, i64), ApiError> {
    let mut attempt = 0;
    loop {
        match write_family_once(ctx, family, spec.clone(), call).await {
            Err(kube::Error::Api(s)) if s.code == 409 && attempt < 4 => attempt += 1,
            Ok(td) => return Ok((td.name_any(), td.metadata.generation.unwrap_or(1))),
            Err(e) => return Err(register_error(ctx, e)),
        }
    }
}

async fn write_family_once(
    ctx: &Ctx<'_>,
    family: &str,
    spec: TaskDefinitionSpec,
    call: &str,
) -> Result<TaskDefinition, kube::Error> {
    let for_call = |td: &mut TaskDefinition| {
        td.metadata
            .annotations
            .get_or_insert_default()
            .insert(revisions::REGISTRATION.into(), call.into());
    };
    let api = ctx.api::<TaskDefinition>();
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let existing = api.list(&ListParams::default()).await?;
    let current = existing
        .items
        .into_iter()
        .find(|td| translate::task_definition::family(&td.spec, &td.name_any()) == family);
    match current {
        Some(mut td) => {
            td.spec = spec;
            td.status = None;
            for_call(&mut td);
            api.replace(&td.name_any(), &pp, &td).await
        }
        None => {
            let mut td = TaskDefinition::new(&names::dns_subdomain(family), spec);
            for_call(&mut td);
            api.create(&pp, &td).await
        }
    }
}

/// The apiserver refusing a task definition (its CEL rules) is a `ClientException`, as ECS
/// refuses invalid task definitions.
fn register_error(ctx: &Ctx<'_>, e: kube::Error) -> ApiError {
    match ctx.kube(e) {
        ApiError::InvalidParameter(m) => ApiError::Client(m),
        other => other,
    }
}

/// Watches TaskDefinition `name` until the operator reported `generation` (or a later one) and
/// registered a revision for the call `call`: the revision registered, or the operator's
/// refusal as a `ClientException`.
async fn wait_registered(
    ctx: &Ctx<'_>,
    name: &str,
    generation: i64,
    call: &str,
) -> Result<i64, ApiError> {
    let seen = |td: Option<&TaskDefinition>| {
        td.and_then(|t| t.status.as_ref())
            .is_some_and(|s| answers_call(s, generation, call))
    };
    let waited = tokio::time::timeout(
        REGISTER_WAIT,
        await_condition(ctx.api::<TaskDefinition>(), name, seen),
    )
    .await;
    let td = match waited {
        Ok(Ok(Some(td))) => td,
        Ok(Ok(None)) => {
            return Err(ApiError::Server(format!(
                "TaskDefinition {name} was deleted"
            )));
        }
        Ok(Err(e)) => {
            return Err(ApiError::Server(format!(
                "watching TaskDefinition {name}: {e}"
            )));
        }
        Err(_) => {
            return Err(ApiError::Server(format!(
                "the Tidewater operator did not register TaskDefinition {name} within {}s",
                REGISTER_WAIT.as_secs()
            )));
        }
    };
    registered_number(&td.status.unwrap_or_default())
}

/// Whether a status answers the call `call` that wrote `generation`: a revision registered for
/// it, or the operator's refusal of that generation.
fn answers_call(status: &TaskDefinitionStatus, generation: i64, call: &str) -> bool {
    let seen = status.common.observed_generation >= Some(generation);
    let refused = status
        .common
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "False");
    seen && (status.registration.as_deref() == Some(call) || refused)
}

/// The revision a status reports, or the operator's refusal.
fn registered_number(status: &TaskDefinitionStatus) -> Result<i64, ApiError> {
    let ready = status.common.conditions.iter().find(|c| c.type_ == "Ready");
    match (ready, status.revision) {
        (Some(c), _) if c.status == "False" => Err(ApiError::Client(c.message.clone())),
        (_, Some(n)) => Ok(n),
        _ => Err(ApiError::Server("no revision was registered".into())),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DescribeRequest {
    task_definition: String,
    include: Vec<String>,
}

/// DescribeTaskDefinition.
pub async fn describe(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: DescribeRequest = parse(body)?;
    let found = resolve(ctx, &req.task_definition)
        .await?
        .ok_or_else(|| ApiError::Client("Unable to describe task definition.".into()))?;
    let mut out = json!({"taskDefinition": output(&ctx.scope, &found)});
    if include_tags(&req.include) {
        out["tags"] = super::tags::revision_tags(&found);
    }
    Ok(out)
}

/// DeregisterTaskDefinition: the revision is labelled INACTIVE (with the time).
pub async fn deregister(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: DescribeRequest = parse(body)?;
    let (_, number) = ctx.scope.task_definition_ref(&req.task_definition)?;
    if number.is_none() {
        return Err(ApiError::Client(
            "Invalid revision number. Number: the revision must be given (family:revision)".into(),
        ));
    }
    let missing = || ApiError::Client("The specified task definition does not exist.".into());
    let mut found = resolve(ctx, &req.task_definition)
        .await?
        .ok_or_else(missing)?;
    if found.revision.active {
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let patch = json!({"metadata": {
            "labels": {STATUS: "INACTIVE"},
            "annotations": {DEREGISTERED_AT: now},
        }});
        let pp = PatchParams::apply(FIELD_MANAGER);
        found.object = ctx
            .api::<ControllerRevision>()
            .patch(&found.object.name_any(), &pp.clone(), &Patch::Merge(&patch))
            .await
            .map_err(|e| ctx.kube(e))?;
        found.revision.active = false;
    }
    Ok(json!({"taskDefinition": output(&ctx.scope, &found)}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ListRequest {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
}

/// ListTaskDefinitions: ARNs by family, then revision (ASC by default); `familyPrefix` is the
/// full family name, as ECS documents it.
pub async fn list(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let max = pagination::max_results(&body, pagination::MAX_RESULTS)?;
    let req: ListRequest = parse(body)?;
    let want_active = match req.status.as_deref().unwrap_or("ACTIVE") {
        "ACTIVE" => Some(true),
        "INACTIVE" => Some(false),
        _ => None, // DELETE_IN_PROGRESS: revisions are deleted at once here.
    };
    let mut revs: Vec<Revision> = revisions_of(ctx, req.family_prefix.as_deref())
        .await?
        .into_iter()
        .map(|r| r.revision)
        .filter(|r| want_active == Some(r.active))
        .collect();
    let descending = req.sort.as_deref() == Some("DESC");
    if descending {
        revs.reverse();
    }
    let key = |r: &Revision| format!("{}:{:012}", r.family, r.number);
    let Page { items, next_token } =
        pagination::page(revs, key, req.next_token.as_deref(), max, descending)?;
    let arns: Vec<String> = items
        .iter()
        .map(|r| ctx.scope.task_definition(&r.family, r.number))
        .collect();
    let mut out = json!({"taskDefinitionArns": arns});
    put(&mut out, "nextToken", next_token.map(Value::from));
    Ok(out)
}

/// ListTaskDefinitionFamilies: families beginning with `familyPrefix`; `status` ACTIVE (some
/// ACTIVE revision), INACTIVE (none) or ALL (default).
pub async fn list_families(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let max = pagination::max_results(&body, pagination::MAX_RESULTS)?;
    let req: ListRequest = parse(body)?;
    let mut families: BTreeMap<String, bool> = BTreeMap::new();
    for r in revisions_of(ctx, None).await? {
        *families.entry(r.revision.family).or_default() |= r.revision.active;
    }
    let prefix = req.family_prefix.unwrap_or_default();
    let status = req.status.unwrap_or_else(|| "ALL".into());
    let names: Vec<String> = families
        .into_iter()
        .filter(|(f, _)| f.starts_with(&prefix))
        .filter(|(_, active)| match status.as_str() {
            "ACTIVE" => *active,
            "INACTIVE" => !*active,
            _ => true,
        })
        .map(|(f, _)| f)
        .collect();
    pagination::listing("families", names, req.next_token.as_deref(), max)
}

#[cfg(test)]
mod tests {
    use super::super::shape_check;
    use super::*;

    /// A RegisterTaskDefinition call is answered once the operator registered a revision for
    /// it (its id in the status), or refused the generation it wrote; not by an earlier
    /// revision of the same body.
    #[test]
    fn a_register_call_waits_for_its_own_revision() {
        let status = |observed: i64, registration: Option<&str>, ready: &str| {
            serde_json::from_value::<TaskDefinitionStatus>(json!({
                "observedGeneration": observed, "registration": registration,
                "conditions": [{"type": "Ready", "status": ready, "reason": "r", "message": "m",
                    "lastTransitionTime": "2026-11-27T07:00:00Z"}],
            }))
            .unwrap()
        };
        assert!(answers_call(&status(3, Some("c2"), "True"), 3, "c2"));
        assert!(!answers_call(&status(3, Some("c1"), "True"), 3, "c2"));
        assert!(!answers_call(&status(2, Some("c2"), "True"), 3, "c2"));
        assert!(answers_call(&status(3, Some("c1"), "False"), 3, "c2"));
        assert!(!answers_call(&status(2, Some("c1"), "False"), 3, "c2"));
    }

    /// ECS describes a registered task definition with its defaults filled in ("essential ...
    /// If the essential parameter of a container is marked as true ...", container `cpu` 0,
    /// port mappings with `protocol` tcp and, in awsvpc mode, `hostPort` = `containerPort`),
    /// `compatibilities` and no `tags` member (those are answered apart).
    #[test]
    fn a_revision_is_described_with_ecs_defaults() {
        let spec = json!({
            "family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "requiresCompatibilities": ["FARGATE"], "tags": [{"key": "team", "value": "a"}],
            "containerDefinitions": [{"name": "app", "image": "nginx",
                                      "portMappings": [{"containerPort": 80}]}],
        });
        let object = revisions::to_object("web", "web", 2, &spec);
        let registered = Registered {
            revision: revisions::from_object(&object).unwrap(),
            object,
        };
        let scope = Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        };
        let out = output(&scope, &registered);
        assert_eq!(
            out,
            json!({
                "family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                "requiresCompatibilities": ["FARGATE"],
                "containerDefinitions": [{"name": "app", "image": "nginx", "cpu": 0,
                    "essential": true, "environment": [], "mountPoints": [], "volumesFrom": [],
                    "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}]}],
                "taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2",
                "revision": 2, "status": "ACTIVE", "volumes": [], "placementConstraints": [],
                "requiresAttributes": [], "compatibilities": ["EC2", "FARGATE"],
            })
        );
        let answer = json!({"taskDefinition": out, "tags": revision_tags_of(&registered)});
        assert_eq!(
            shape_check::check("RegisterTaskDefinition", &answer),
            Ok(())
        );
    }

    fn revision_tags_of(r: &Registered) -> Value {
        super::super::tags::revision_tags(r)
    }

    #[test]
    fn the_operator_refusal_is_a_client_exception() {
        let status: TaskDefinitionStatus = serde_json::from_value(json!({
            "revision": 1, "observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "False", "reason": "InvalidSpec",
                            "message": "containerDefinitions[0].image: required",
                            "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        }))
        .unwrap();
        let e = registered_number(&status).unwrap_err();
        assert_eq!(
            (e.type_name(), e.to_string()),
            (
                "ClientException",
                "containerDefinitions[0].image: required".into()
            )
        );
        let ok: TaskDefinitionStatus =
            serde_json::from_value(json!({"revision": 4, "observedGeneration": 2})).unwrap();
        assert_eq!(registered_number(&ok).unwrap(), 4);
    }
}
