//! Deleted services stay INACTIVE for a while, as on ECS: "Services in the DRAINING or INACTIVE
//! status can still be viewed with the DescribeServices API operation" (DeleteService), and
//! `aws ecs wait services-inactive` succeeds on INACTIVE but fails on MISSING.
//!
//! A Service resource is gone once its children are (DRAINING until then: its
//! `deletionTimestamp`), so DeleteService records the service in the namespace's ConfigMap
//! [`CONFIG_MAP`] (one key per service, `<cluster>.<service>`), and DescribeServices answers
//! INACTIVE from it for a service that no longer exists. Records are kept
//! [`RETENTION_SECONDS`], at most [`MAX_KEPT`] (the oldest go first).
//!
//! Best effort: a key without the rights on that ConfigMap still deletes and describes services
//! (a deleted one is then MISSING, as before); the failure is logged.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Map, Value, json};

use super::{Ctx, FIELD_MANAGER};

/// The ConfigMap of the namespace that holds its deleted services.
pub const CONFIG_MAP: &str = "tidewater-ecs-inactive-services";
/// How long a deleted service is described as INACTIVE: an hour.
pub const RETENTION_SECONDS: i64 = 3600;
/// Records kept per namespace at most.
pub const MAX_KEPT: usize = 200;
/// The records' size at most, in bytes: a ConfigMap holds at most 1 MiB.
pub const MAX_BYTES: usize = 768 * 1024;

/// The key of a service's record (ECS cluster and service names are letters, digits, `-` and
/// `_`, which ConfigMap keys allow).
pub fn key(cluster: &str, service: &str) -> String {
    format!("{cluster}.{service}")
}

/// The record of a service deleted at `now`, from its DescribeServices output: INACTIVE, with no
/// task, no deployment and no event left (the events are most of an output's size).
pub fn record(output: &Value, now: Timestamp) -> String {
    let mut service = output.clone();
    service["status"] = json!("INACTIVE");
    for count in ["desiredCount", "runningCount", "pendingCount"] {
        service[count] = json!(0);
    }
    service["deployments"] = json!([]);
    service["events"] = json!([]);
    json!({"deletedAt": now.to_string(), "service": service}).to_string()
}

/// A record read: when it was made, and the record.
fn read(record: &str) -> Option<(Timestamp, Value)> {
    let v: Value = serde_json::from_str(record).ok()?;
    let at = v["deletedAt"].as_str()?.parse().ok()?;
    Some((at, v))
}

/// When a record was made, if it can be read.
fn deleted_at(record: &str) -> Option<Timestamp> {
    read(record).map(|(at, _)| at)
}

/// Whether a record made at `at` is still kept at `now`.
fn kept(at: Timestamp, now: Timestamp) -> bool {
    now.as_second() - at.as_second() < RETENTION_SECONDS
}

/// The INACTIVE service `key` of `data` (a ConfigMap's data) at `now`, if recorded and kept.
pub fn find(data: &BTreeMap<String, String>, key: &str, now: Timestamp) -> Option<Value> {
    let (at, mut v) = read(data.get(key)?)?;
    kept(at, now).then(|| v["service"].take())
}

/// The merge patch of a ConfigMap's `data` that adds `record` under `key` and removes the
/// records no longer kept at `now`: expired or unreadable ones, and the oldest past
/// [`MAX_KEPT`] records or [`MAX_BYTES`].
pub fn data_patch(
    data: &BTreeMap<String, String>,
    key: &str,
    record: String,
    now: Timestamp,
) -> Map<String, Value> {
    let mut patch = Map::new();
    let mut others: Vec<(Timestamp, &String, usize)> = Vec::new();
    for (k, r) in data.iter().filter(|(k, _)| k.as_str() != key) {
        match deleted_at(r).filter(|at| kept(*at, now)) {
            Some(at) => others.push((at, k, k.len() + r.len())),
            None => {
                patch.insert(k.clone(), Value::Null);
            }
        }
    }
    // The newest first, kept while within both bounds (with the new record).
    others.sort_by(|a, b| b.cmp(a));
    let (mut count, mut bytes) = (1, key.len() + record.len());
    for (_, k, size) in others {
        count += 1;
        bytes += size;
        if count > MAX_KEPT || bytes > MAX_BYTES {
            patch.insert(k.clone(), Value::Null);
        }
    }
    patch.insert(key.to_string(), Value::String(record));
    patch
}

/// The records of the namespace (none when they cannot be read).
pub async fn load(ctx: &Ctx<'_>) -> BTreeMap<String, String> {
    match ctx.api::<ConfigMap>().get_opt(CONFIG_MAP).await {
        Ok(cm) => cm.and_then(|c| c.data).unwrap_or_default(),
        Err(e) => {
            tracing::warn!(error = %e, "deleted services cannot be read: they are MISSING");
            BTreeMap::new()
        }
    }
}

/// Record the deleted service `key` (best effort; see the module documentation).
pub async fn remember(ctx: &Ctx<'_>, key: &str, output: &Value) {
    if let Err(e) = write(ctx, key, output).await {
        tracing::warn!(error = %e, key, "the deleted service is not recorded: it will be MISSING, not INACTIVE");
    }
}

async fn write(ctx: &Ctx<'_>, key: &str, output: &Value) -> Result<(), kube::Error> {
    let api = ctx.api::<ConfigMap>();
    let now = Timestamp::now();
    let record = record(output, now);
    let existing = api.get_opt(CONFIG_MAP).await?;
    let data = existing
        .as_ref()
        .and_then(|c| c.data.clone())
        .unwrap_or_default();
    let patch = json!({"data": data_patch(&data, key, record.clone(), now)});
    let pp = PatchParams::apply(FIELD_MANAGER);
    if existing.is_some() {
        return api
            .patch(CONFIG_MAP, &pp, &Patch::Merge(&patch))
            .await
            .map(|_| ());
    }
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": CONFIG_MAP, "labels": {"app.kubernetes.io/managed-by": "tidewater"}},
        "data": {key: record},
    }))
    .expect("a ConfigMap");
    let pp_create = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    match api.create(&pp_create, &cm).await {
        // Created meanwhile by another DeleteService: add to it.
        Err(kube::Error::Api(s)) if s.code == 409 => api
            .patch(CONFIG_MAP, &pp, &Patch::Merge(&patch))
            .await
            .map(|_| ()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    /// DeleteService: "After all tasks have transitioned to either STOPPING or STOPPED status,
    /// the service status moves from DRAINING to INACTIVE. Services in the DRAINING or INACTIVE
    /// status can still be viewed with the DescribeServices API operation." The record is the
    /// service INACTIVE with no task, found for an hour.
    #[test]
    fn a_deleted_service_is_inactive_for_an_hour() {
        let output = json!({"serviceName": "web", "status": "DRAINING", "desiredCount": 3,
            "runningCount": 2, "pendingCount": 1, "deployments": [{"id": "ecs-svc/1"}]});
        let data = BTreeMap::from([(key("prod", "web"), record(&output, at(0)))]);
        let found = find(&data, "prod.web", at(3599));
        assert_eq!(
            found,
            Some(
                json!({"serviceName": "web", "status": "INACTIVE", "desiredCount": 0,
                "runningCount": 0, "pendingCount": 0, "deployments": [], "events": []})
            )
        );
        assert_eq!(find(&data, "prod.web", at(3600)), None);
        assert_eq!(find(&data, "prod.api", at(1)), None);
    }

    /// A new record removes the expired and unreadable ones, and the oldest past the bound.
    #[test]
    fn records_are_bounded_in_age_and_number() {
        let r = |t: i64| record(&json!({}), at(t));
        let mut data = BTreeMap::from([
            ("prod.old".to_string(), r(-4000)),
            ("prod.broken".to_string(), "{".to_string()),
            ("prod.web".to_string(), r(-10)),
        ]);
        let patch = data_patch(&data, "prod.web", r(0), at(0));
        assert_eq!(
            patch.keys().collect::<Vec<_>>(),
            ["prod.broken", "prod.old", "prod.web"]
        );
        assert_eq!(patch["prod.old"], Value::Null);
        assert_eq!(patch["prod.broken"], Value::Null);
        assert_eq!(patch["prod.web"], json!(r(0)));
        data.clear();
        for i in 0..MAX_KEPT {
            data.insert(format!("prod.s{i:03}"), r(i as i64 - 1000));
        }
        let patch = data_patch(&data, "prod.new", r(0), at(0));
        let removed: Vec<&String> = patch.keys().filter(|k| patch[*k].is_null()).collect();
        assert_eq!(removed, ["prod.s000"]);
        // Large records: the oldest go once the size bound is passed.
        let big = |t: i64| record(&json!({"x": "y".repeat(300 * 1024)}), at(t));
        let data = BTreeMap::from([
            ("prod.a".to_string(), big(-30)),
            ("prod.b".to_string(), big(-20)),
        ]);
        let patch = data_patch(&data, "prod.c", big(0), at(0));
        let removed: Vec<&String> = patch.keys().filter(|k| patch[*k].is_null()).collect();
        assert_eq!(removed, ["prod.a"]);
    }
}
