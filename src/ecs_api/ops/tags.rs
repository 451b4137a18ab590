//! Tags. Clusters and Services keep their tags in `spec.tags` (as ECS's CreateCluster and
//! CreateService bodies do); a task definition revision and a Task have immutable specs, so
//! their tags, once changed through the API, live in the annotation [`TAGS`] (a JSON list of
//! `{key, value}`), which then replaces the tags of the spec.
//!
//! Difference from ECS: tagging a Service changes `spec.tags`, which Tidewater carries to the
//! labels of its Kubernetes objects (and of its pods with `propagateTags: SERVICE`, which
//! restarts them; ECS tags only new tasks).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::super::ApiError;
use super::arn::Tagged;
use super::task_definitions::Registered;
use super::{Ctx, FIELD_MANAGER, parse, tags_of};
use crate::api::{Cluster, Service, Task};

/// Annotation holding the tags of a revision or a Task once changed through the API.
pub const TAGS: &str = "ecs.tidewater.dev/tags";

/// The tags of an annotated object, if the API changed them.
pub fn annotated(annotations: &BTreeMap<String, String>) -> Option<Value> {
    annotations
        .get(TAGS)
        .and_then(|t| serde_json::from_str(t).ok())
}

/// The tags of a task definition revision.
pub fn revision_tags(r: &Registered) -> Value {
    annotated(r.object.annotations()).unwrap_or_else(|| tags_of(&r.revision.spec))
}

/// A tag list with `tags` added (replacing the values of the same keys), in key order of
/// first appearance.
pub fn added(current: &Value, tags: &Value) -> Value {
    let mut out: Vec<Value> = current.as_array().cloned().unwrap_or_default();
    for t in tags.as_array().into_iter().flatten() {
        match out.iter_mut().find(|o| o["key"] == t["key"]) {
            Some(o) => *o = t.clone(),
            None => out.push(t.clone()),
        }
    }
    Value::Array(out)
}

/// A tag list without the keys `keys`.
pub fn removed(current: &Value, keys: &[String]) -> Value {
    let out: Vec<Value> = current
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| !keys.iter().any(|k| t["key"] == k.as_str()))
        .cloned()
        .collect();
    Value::Array(out)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Request {
    resource_arn: String,
    tags: Value,
    tag_keys: Vec<String>,
}

/// TagResource.
pub async fn tag(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: Request = parse(body)?;
    let tags = req.tags.clone();
    if tags.as_array().is_some_and(|t| t.len() > 50) {
        return Err(ApiError::InvalidParameter(
            "Too many tags (at most 50).".into(),
        ));
    }
    change(ctx, &req.resource_arn, |current| added(current, &tags)).await?;
    Ok(json!({}))
}

/// UntagResource.
pub async fn untag(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: Request = parse(body)?;
    let keys = req.tag_keys.clone();
    change(ctx, &req.resource_arn, |current| removed(current, &keys)).await?;
    Ok(json!({}))
}

/// ListTagsForResource.
pub async fn list(ctx: &Ctx<'_>, body: Value) -> Result<Value, ApiError> {
    let req: Request = parse(body)?;
    let (current, _) = locate(ctx, &req.resource_arn).await?;
    Ok(json!({"tags": current}))
}

/// Where a resource's tags are written.
enum Target {
    /// `spec.tags` of this object.
    Spec(Api<DynamicObject>, String),
    /// The annotation of this object.
    Annotation(Api<DynamicObject>, String),
}

fn missing() -> ApiError {
    ApiError::Named(
        "ResourceNotFoundException",
        "The specified resource could not be found.".into(),
    )
}

/// The current tags of the resource `arn` names, and where to write them.
async fn locate(ctx: &Ctx<'_>, arn: &str) -> Result<(Value, Target), ApiError> {
    match ctx.scope.tagged(arn)? {
        Tagged::Cluster(name) => {
            let all = super::clusters::all(ctx).await?;
            let c = super::clusters::pick(&all, &name)
                .ok_or_else(|| ApiError::ClusterNotFound("Cluster not found.".into()))?;
            let spec = serde_json::to_value(&c.spec).unwrap_or_default();
            Ok((
                tags_of(&spec),
                Target::Spec(dynamic::<Cluster>(ctx), c.name_any()),
            ))
        }
        Tagged::Service { cluster, name } => {
            let svc = super::services::in_cluster(ctx, &cluster)
                .await?
                .into_iter()
                .find(|s| super::services::name_of(s) == name)
                .ok_or_else(missing)?;
            let spec = serde_json::to_value(&svc.spec).unwrap_or_default();
            Ok((
                tags_of(&spec),
                Target::Spec(dynamic::<Service>(ctx), svc.name_any()),
            ))
        }
        Tagged::TaskDefinition { family, revision } => {
            let found = super::task_definitions::resolve(ctx, &format!("{family}:{revision}"))
                .await?
                .ok_or_else(missing)?;
            let api = dynamic::<ControllerRevision>(ctx);
            Ok((
                revision_tags(&found),
                Target::Annotation(api, found.object.name_any()),
            ))
        }
        Tagged::Task { cluster, id } => {
            let owner = id
                .rsplit_once('-')
                .map(|(o, _)| o)
                .unwrap_or(&id)
                .to_string();
            let task = ctx
                .api::<Task>()
                .get_opt(&owner)
                .await
                .map_err(|e| ctx.kube(e))?;
            let task = task
                .filter(|t| super::tasks::cluster_of(t) == cluster)
                .ok_or_else(missing)?;
            let spec = serde_json::to_value(&task.spec).unwrap_or_default();
            let tags = annotated(task.annotations()).unwrap_or_else(|| tags_of(&spec));
            Ok((tags, Target::Annotation(dynamic::<Task>(ctx), owner)))
        }
    }
}

/// An untyped API for kind `K` in the caller's namespace (patches only).
fn dynamic<K>(ctx: &Ctx<'_>) -> Api<DynamicObject>
where
    K: Resource<DynamicType = ()> + DeserializeOwned,
{
    let ar = kube::discovery::ApiResource::erase::<K>(&());
    Api::namespaced_with(ctx.caller.client.clone(), &ctx.caller.namespace, &ar)
}

/// Reads the tags, applies `f`, writes them back.
async fn change(ctx: &Ctx<'_>, arn: &str, f: impl Fn(&Value) -> Value) -> Result<(), ApiError> {
    let (current, target) = locate(ctx, arn).await?;
    let next = f(&current);
    let pp = PatchParams::apply(FIELD_MANAGER);
    let (api, name, patch) = match target {
        Target::Spec(api, name) => (api, name, json!({"spec": {"tags": next}})),
        Target::Annotation(api, name) => {
            let text = serde_json::to_string(&next).unwrap_or_default();
            (
                api,
                name,
                json!({"metadata": {"annotations": {TAGS: text}}}),
            )
        }
    };
    api.patch(&name, &pp, &Patch::Merge(&patch))
        .await
        .map_err(|e| ctx.kube(e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "If existing tags on a resource aren't specified in the request parameters, they aren't
    /// changed." (TagResource) and "The keys of the tags to be removed." (UntagResource)
    #[test]
    fn tags_are_added_replaced_and_removed_by_key() {
        let current = json!([{"key": "team", "value": "a"}, {"key": "env", "value": "prod"}]);
        let next = added(
            &current,
            &json!([{"key": "team", "value": "b"}, {"key": "x", "value": "1"}]),
        );
        assert_eq!(
            next,
            json!([{"key": "team", "value": "b"}, {"key": "env", "value": "prod"}, {"key": "x", "value": "1"}])
        );
        assert_eq!(
            removed(&next, &["team".into(), "x".into()]),
            json!([{"key": "env", "value": "prod"}])
        );
    }
}
