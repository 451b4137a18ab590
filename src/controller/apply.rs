//! Server-side apply of children: one field manager, owner references, an ownership check
//! before any write, and no write at all when the live object already matches.

use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GetParams, GroupVersionKind, Patch, PatchParams,
};
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};

use super::error::Error;
use super::metrics::Metrics;

/// The one field manager Tidewater applies with.
pub const FIELD_MANAGER: &str = "tidewater";

/// The owner every child of a custom resource points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// `ecs.tidewater.dev/v1alpha1`.
    pub api_version: String,
    /// Kind of the owner.
    pub kind: String,
    /// Name of the owner.
    pub name: String,
    /// UID of the owner.
    pub uid: String,
}

impl Owner {
    /// The owner of children of `obj`.
    pub fn of<K: Resource<DynamicType = ()>>(obj: &K) -> Self {
        Owner {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            name: obj.meta().name.clone().unwrap_or_default(),
            uid: obj.meta().uid.clone().unwrap_or_default(),
        }
    }

    /// The controller owner reference, as JSON.
    pub fn reference(&self) -> Value {
        json!({
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": true,
            "blockOwnerDeletion": true,
        })
    }
}

/// How a live object relates to an owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// No such object.
    Absent,
    /// Its controller owner reference is ours.
    Owned,
    /// It exists and something else controls it (or nothing does).
    Foreign,
}

/// The ownership of `live` (a JSON object) with respect to `owner_uid`.
pub fn ownership(live: Option<&Value>, owner_uid: &str) -> Ownership {
    let Some(live) = live else {
        return Ownership::Absent;
    };
    let owned = live["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["uid"] == owner_uid && r["controller"] == true);
    if owned {
        Ownership::Owned
    } else {
        Ownership::Foreign
    }
}

/// `desired` with the owner reference set and the `managed-by` label added.
pub fn with_owner(mut desired: Value, owner: &Owner) -> Value {
    let meta = &mut desired["metadata"];
    meta["ownerReferences"] = json!([owner.reference()]);
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    meta["labels"]["app.kubernetes.io/managed-by"] = json!(crate::translate::labels::MANAGED_BY);
    desired
}

/// Whether every field of `desired` is present in `live` with the same value. Fields the API
/// server leaves out when they hold their zero value (`""`, `0`, `false`, empty lists and maps)
/// match a missing field; quantities compare by value (`1024Mi` equals `1Gi`); lists must have
/// the same length and match element by element.
pub fn contains(live: &Value, desired: &Value) -> bool {
    contains_at(live, desired, "")
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

fn is_quantity_key(key: &str) -> bool {
    matches!(
        key,
        "cpu" | "memory" | "ephemeral-storage" | "storage" | "sizeLimit"
    ) || key.starts_with("hugepages-")
}

fn contains_at(live: &Value, desired: &Value, key: &str) -> bool {
    match (desired, live) {
        (d, Value::Null) => is_zero(d),
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => contains_at(lv, dv, k),
            None => is_zero(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(dv, lv)| contains_at(lv, dv, key))
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        (Value::String(d), Value::String(l)) if d != l && is_quantity_key(key) => {
            match (parse_quantity(d), parse_quantity(l)) {
                (Some(a), Some(b)) => (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()) * 4.0,
                _ => false,
            }
        }
        (d, l) => d == l,
    }
}

/// A Kubernetes quantity as a number (`250m` → 0.25, `1Gi` → 1073741824).
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0f64.powi(2),
        "Gi" => 1024.0f64.powi(3),
        "Ti" => 1024.0f64.powi(4),
        "Pi" => 1024.0f64.powi(5),
        "Ei" => 1024.0f64.powi(6),
        e if e.starts_with(['e', 'E']) => 10f64.powi(e[1..].parse().ok()?),
        _ => return None,
    };
    Some(n * mult)
}

/// The plural resource name of a kind Tidewater creates.
pub fn plural(kind: &str) -> String {
    match kind {
        "Ingress" => "ingresses".into(),
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers".into(),
        "PodDisruptionBudget" => "poddisruptionbudgets".into(),
        k => format!("{}s", k.to_ascii_lowercase()),
    }
}

/// The API resource of a JSON object with `apiVersion` and `kind`.
pub fn api_resource(obj: &Value) -> ApiResource {
    let api_version = obj["apiVersion"].as_str().unwrap_or("v1");
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural(kind))
}

/// What [`reconcile_object`] did.
#[derive(Clone, Debug, PartialEq)]
pub enum Applied {
    /// The live object already matched: no request was made.
    Unchanged,
    /// The object was created or brought back in line: the object as the API server returned it.
    Written(Box<Value>),
}

/// Bring one child in line with `desired` (which carries its owner reference already).
/// `live` is the cached object when the kind is cached; `None` means "not cached": the object's
/// metadata is read first, so that an object that exists but is not ours is never overwritten
/// (an object of ours read that way is applied without comparing: the cache was behind).
pub async fn reconcile_object(
    client: &Client,
    namespace: &str,
    desired: &Value,
    live: Option<Value>,
    owner: &Owner,
    metrics: &Metrics,
) -> Result<Applied, Error> {
    let ar = api_resource(desired);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let name = desired["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let live = match live {
        Some(l) => Some(l),
        None => {
            metrics.api_call("get");
            // Only the metadata (ownership) is needed, and the API server's watch cache is as
            // fresh as this check can be: the object may appear just after any read.
            match api.get_metadata_opt_with(&name, &GetParams::any()).await {
                Ok(o) => o.map(|o| json!({"metadata": o.metadata})),
                Err(e) => return Err(missing_kind(e, &ar)),
            }
        }
    };
    match ownership(live.as_ref(), &owner.uid) {
        Ownership::Foreign => Err(Error::NotOwned {
            kind: ar.kind.clone(),
            name,
        }),
        Ownership::Owned if contains(live.as_ref().expect("owned is live"), desired) => {
            Ok(Applied::Unchanged)
        }
        _ => {
            metrics.api_call("patch");
            let written = api
                .patch(
                    &name,
                    &PatchParams::apply(FIELD_MANAGER).force(),
                    &Patch::Apply(desired),
                )
                .await
                .map_err(|e| missing_kind(e, &ar))?;
            Ok(Applied::Written(Box::new(
                serde_json::to_value(written).expect("objects serialise"),
            )))
        }
    }
}

/// A 404 on a kind from another project's CRD means the CRD is not installed.
fn missing_kind(e: kube::Error, ar: &ApiResource) -> Error {
    match &e {
        kube::Error::Api(s) if s.code == 404 && !ar.group.is_empty() && !is_builtin(&ar.group) => {
            Error::MissingCrd {
                kind: ar.kind.clone(),
                group: ar.group.clone(),
            }
        }
        _ => Error::Kube(e),
    }
}

fn is_builtin(group: &str) -> bool {
    matches!(
        group,
        "apps" | "batch" | "autoscaling" | "policy" | "networking.k8s.io"
    )
}

/// What applying a list of children gave.
#[derive(Debug, Default)]
pub struct Children {
    /// Objects created or brought back in line.
    pub written: usize,
    /// Objects not ours (or of a kind not installed): not touched, reported.
    pub refused: super::status::Refusals,
    /// The objects written, as the API server returned them (fresher than the caches).
    pub fresh: Vec<Value>,
}

impl Children {
    /// The object of `kind` and `name` this apply wrote, if it wrote it.
    pub fn fresh(&self, kind: &str, name: &str) -> Option<&Value> {
        self.fresh
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    }
}

/// Kinds the other children refer to by name (pods run as the ServiceAccount and mount the
/// Secrets of the ExternalSecrets; a ScaledObject names its TriggerAuthentication): applied
/// before the others, so that nothing waits on a reference that is not there yet.
const REFERENCED_KINDS: &[&str] = &["ServiceAccount", "ExternalSecret", "TriggerAuthentication"];

/// Apply every desired object; objects that exist and are not ours (or whose kind is not
/// installed) are refused, not touched. `live` gives the cached object of a desired one (`None`:
/// not in the cache, read before writing). The children of one owner (a handful) are applied
/// at once, in two waves (first the [`REFERENCED_KINDS`], then the rest), so that a reconcile
/// costs the latency of its slowest children rather than the sum of them all; refusals are
/// reported in the order of `objects`.
pub async fn apply_all(
    ctx: &super::context::Context,
    namespace: &str,
    objects: &[Value],
    owner: &Owner,
    live: impl Fn(&Value) -> Option<Value>,
) -> Result<Children, Error> {
    let (c, m) = (&ctx.client, &ctx.metrics);
    let referenced = |o: &Value| REFERENCED_KINDS.iter().any(|k| o["kind"] == *k);
    let mut results: Vec<Option<Result<Applied, Error>>> = objects.iter().map(|_| None).collect();
    for wave in [true, false] {
        let applies: Vec<_> = objects
            .iter()
            .enumerate()
            .filter(|(_, o)| referenced(o) == wave)
            .map(|(i, desired)| {
                let apply = reconcile_object(c, namespace, desired, live(desired), owner, m);
                async move { (i, apply.await) }
            })
            .collect();
        for (i, r) in futures::future::join_all(applies).await {
            results[i] = Some(r);
        }
    }
    let mut out = Children::default();
    for r in results.into_iter().flatten() {
        match r {
            Ok(Applied::Written(o)) => {
                out.written += 1;
                out.fresh.push(*o);
            }
            Ok(Applied::Unchanged) => {}
            Err(e @ (Error::NotOwned { .. } | Error::MissingCrd { .. })) => out.refused.0.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Delete children of `owner` that are no longer desired. `live` is what the cache holds.
pub async fn prune<K>(
    client: &Client,
    namespace: &str,
    live: &[std::sync::Arc<K>],
    keep: &std::collections::BTreeSet<String>,
    owner: &Owner,
    metrics: &Metrics,
) -> Result<usize, Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let mut n = 0;
    for o in live {
        let controlled = o
            .owner_references()
            .iter()
            .any(|r| r.uid == owner.uid && r.controller == Some(true));
        if !controlled || keep.contains(&o.name_any()) || o.meta().deletion_timestamp.is_some() {
            continue;
        }
        metrics.api_call("delete");
        match api.delete(&o.name_any(), &DeleteParams::background()).await {
            Ok(_) => n += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// [`prune`] for a third-party kind (`ar`) cached as dynamic objects.
pub async fn prune_dynamic(
    client: &Client,
    namespace: &str,
    ar: &ApiResource,
    live: &[std::sync::Arc<super::watch::CachedDynamic>],
    keep: &std::collections::BTreeSet<String>,
    owner: &Owner,
    metrics: &Metrics,
) -> Result<usize, Error> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, ar);
    let mut n = 0;
    for o in live {
        let controlled = o
            .owner_references()
            .iter()
            .any(|r| r.uid == owner.uid && r.controller == Some(true));
        if !controlled || keep.contains(&o.name_any()) || o.meta().deletion_timestamp.is_some() {
            continue;
        }
        metrics.api_call("delete");
        match api.delete(&o.name_any(), &DeleteParams::background()).await {
            Ok(_) => n += 1,
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare_by_value() {
        assert_eq!(parse_quantity("250m"), Some(0.25));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("2"), Some(2.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("abc"), None);
        let live = json!({"resources": {"limits": {"memory": "1Gi", "cpu": "500m"}}});
        let desired = json!({"resources": {"limits": {"memory": "1024Mi", "cpu": "0.5"}}});
        assert!(contains(&live, &desired));
        let more = json!({"resources": {"limits": {"memory": "2Gi"}}});
        assert!(!contains(&live, &more));
    }

    #[test]
    fn defaults_and_zero_values_match() {
        let live = json!({"spec": {"replicas": 2, "strategy": {"type": "RollingUpdate"}, "ports": [{"port": 80, "protocol": "TCP"}]}});
        let desired =
            json!({"spec": {"replicas": 2, "ports": [{"port": 80}], "paused": false, "x": ""}});
        assert!(contains(&live, &desired));
        assert!(!contains(&live, &json!({"spec": {"replicas": 3}})));
        // A list must keep its length: an added element is drift.
        assert!(!contains(&json!({"a": [1, 2]}), &json!({"a": [1]})));
        assert!(!contains(&json!({"a": "x"}), &json!({"a": "y"})));
        // Strings outside quantities are exact.
        assert!(!contains(&json!({"value": "1.0"}), &json!({"value": "1"})));
    }

    #[test]
    fn ownership_needs_the_controller_reference() {
        let ours = json!({"metadata": {"ownerReferences": [{"uid": "u1", "controller": true}]}});
        let theirs = json!({"metadata": {"ownerReferences": [{"uid": "u2", "controller": true}]}});
        let none = json!({"metadata": {}});
        assert_eq!(ownership(Some(&ours), "u1"), Ownership::Owned);
        assert_eq!(ownership(Some(&theirs), "u1"), Ownership::Foreign);
        assert_eq!(ownership(Some(&none), "u1"), Ownership::Foreign);
        assert_eq!(ownership(None, "u1"), Ownership::Absent);
    }

    #[test]
    fn plurals_and_resources() {
        let tgb = json!({"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding"});
        let ar = api_resource(&tgb);
        assert_eq!(ar.plural, "targetgroupbindings");
        assert_eq!(ar.group, "elbv2.k8s.aws");
        assert_eq!(
            api_resource(&json!({"apiVersion": "v1", "kind": "Service"})).plural,
            "services"
        );
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("ServiceAccount"), "serviceaccounts");
    }

    #[test]
    fn owner_reference_and_label_are_set() {
        let owner = Owner {
            api_version: "ecs.tidewater.dev/v1alpha1".into(),
            kind: "Service".into(),
            name: "web".into(),
            uid: "u1".into(),
        };
        let v = with_owner(json!({"metadata": {"name": "web"}}), &owner);
        assert_eq!(v["metadata"]["ownerReferences"][0]["controller"], true);
        assert_eq!(
            v["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "tidewater"
        );
    }
}
