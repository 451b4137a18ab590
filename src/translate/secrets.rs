//! ECS secrets (Secrets Manager and SSM Parameter Store) → Kubernetes Secret references.
//!
//! The naming rule:
//! - Secrets Manager `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX[:JSON_KEY[:STAGE[:ID]]]`
//!   → Secret named after `NAME` (without the six-character random suffix), key `JSON_KEY`, or
//!   `value` for the whole secret.
//! - SSM `arn:aws:ssm:REGION:ACCOUNT:parameter/PATH` or a bare parameter name `/PATH`
//!   → Secret named after `PATH` (slashes become dashes), key `value`.
//!
//! Names are sanitised by [`super::names::dns_subdomain`]. With secret stores configured on the
//! Cluster, an External Secrets Operator `ExternalSecret` per Secret syncs the values, each value
//! from the store of its service (the ESO AWS provider serves one service per store).

use super::{Warnings, at, idx, names};
use crate::api::cluster::{SecretStoreRef, SecretStores};
use crate::api::ecs::RegisterTaskDefinitionRequest;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The AWS service holding a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SecretSource {
    /// AWS Secrets Manager.
    SecretsManager,
    /// AWS Systems Manager Parameter Store.
    ParameterStore,
}

impl SecretSource {
    /// The Cluster `secretStore` member naming the store of this service.
    pub fn store_field(self) -> &'static str {
        match self {
            SecretSource::SecretsManager => "secretsManager",
            SecretSource::ParameterStore => "parameterStore",
        }
    }

    /// The store configured for this service, if any.
    pub fn store(self, stores: &SecretStores) -> Option<SecretStoreRef> {
        match self {
            SecretSource::SecretsManager => stores.for_secrets_manager(),
            SecretSource::ParameterStore => stores.for_parameter_store(),
        }
    }
}

/// Where a Kubernetes Secret key comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretRef {
    /// Kubernetes Secret name.
    pub secret: String,
    /// Key in the Secret.
    pub key: String,
    /// The service holding the remote secret.
    pub source: SecretSource,
    /// The remote secret as the service's API takes it (Secrets Manager secret ARN or name,
    /// SSM parameter ARN or name).
    pub remote: String,
    /// JSON key inside the remote secret.
    pub property: Option<String>,
    /// Version stage or id.
    pub version: Option<String>,
}

/// Resolve an ECS `valueFrom` by the naming rule.
pub fn resolve(value_from: &str) -> SecretRef {
    let parts: Vec<&str> = value_from.split(':').collect();
    if value_from.starts_with("arn:") && parts.len() >= 7 && parts[2] == "secretsmanager" {
        let name = strip_random_suffix(parts[6]);
        let part = |i: usize| {
            parts
                .get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.to_string())
        };
        let property = part(7);
        let version = part(8).or_else(|| part(9).map(|id| format!("uuid/{id}")));
        return SecretRef {
            secret: names::dns_subdomain(&name.replace('/', "-")),
            key: property.clone().unwrap_or_else(|| "value".into()),
            source: SecretSource::SecretsManager,
            // The secret's ARN without the JSON key, stage and version id: the secret itself,
            // in whatever account and Region it lives.
            remote: parts[..7].join(":"),
            property,
            version,
        };
    }
    let path = if value_from.starts_with("arn:") && parts.len() >= 6 && parts[2] == "ssm" {
        parts[5..]
            .join(":")
            .trim_start_matches("parameter")
            .to_string()
    } else {
        value_from.to_string()
    };
    SecretRef {
        secret: names::dns_subdomain(path.trim_matches('/').replace('/', "-").as_str()),
        key: "value".into(),
        source: SecretSource::ParameterStore,
        // GetParameter takes the name or the ARN, as ECS does.
        remote: value_from.to_string(),
        property: None,
        version: None,
    }
}

/// Every secret reference of a task definition with its JSON path
/// (`containerDefinitions[i].secrets[j].valueFrom`).
pub fn references(td: &RegisterTaskDefinitionRequest) -> Vec<(String, SecretRef)> {
    let mut out = Vec::new();
    for (i, c) in td.container_definitions.iter().enumerate() {
        for (j, s) in c.secrets.iter().flatten().enumerate() {
            let p = idx(&at(&idx("containerDefinitions", i), "secrets"), j);
            out.push((at(&p, "valueFrom"), resolve(&s.value_from)));
        }
    }
    out
}

fn strip_random_suffix(name: &str) -> &str {
    match name.rsplit_once('-') {
        Some((base, suffix))
            if suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            base
        }
        _ => name,
    }
}

/// External Secrets Operator objects for the references, one ExternalSecret per Secret, each
/// value read from the store of its service. A reference whose service has no store is
/// reported at its path and gets no ExternalSecret entry.
pub fn external_secrets(
    refs: &[(String, SecretRef)],
    stores: &SecretStores,
    labels: &BTreeMap<String, String>,
    w: &mut Warnings,
) -> Vec<Value> {
    let mut by_secret: BTreeMap<&str, Vec<(&SecretRef, SecretStoreRef)>> = BTreeMap::new();
    for (path, r) in refs {
        let Some(store) = r.source.store(stores) else {
            w.approximated(
                path.clone(),
                format!(
                    "the Cluster's secretStore names no {} store: no ExternalSecret syncs Secret `{}`, which must exist",
                    r.source.store_field(),
                    r.secret
                ),
            );
            continue;
        };
        by_secret
            .entry(r.secret.as_str())
            .or_default()
            .push((r, store));
    }
    by_secret
        .into_iter()
        .map(|(secret, refs)| external_secret(secret, &refs, labels))
        .collect()
}

fn store_ref(store: &SecretStoreRef) -> Value {
    json!({
        "name": store.name,
        "kind": store.kind.as_deref().unwrap_or("ClusterSecretStore"),
    })
}

/// One ExternalSecret: its store is the first reference's; entries from another store name
/// theirs in `sourceRef`.
fn external_secret(
    secret: &str,
    refs: &[(&SecretRef, SecretStoreRef)],
    labels: &BTreeMap<String, String>,
) -> Value {
    let main = &refs[0].1;
    let mut data: Vec<Value> = Vec::new();
    for (r, store) in refs {
        let mut remote = json!({ "key": r.remote });
        if let Some(p) = &r.property {
            remote["property"] = json!(p);
        }
        if let Some(v) = &r.version {
            remote["version"] = json!(v);
        }
        let mut entry = json!({ "secretKey": r.key, "remoteRef": remote });
        if store != main {
            entry["sourceRef"] = json!({ "storeRef": store_ref(store) });
        }
        if !data.contains(&entry) {
            data.push(entry);
        }
    }
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": { "name": secret, "labels": labels },
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": store_ref(main),
            "target": { "name": secret, "creationPolicy": "Owner" },
            "data": data
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_manager_with_json_key() {
        let r = resolve(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::",
        );
        assert_eq!((r.secret.as_str(), r.key.as_str()), ("prod-db", "password"));
        assert_eq!(
            r.remote,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
        );
        assert_eq!(r.source, SecretSource::SecretsManager);
        assert_eq!(r.property.as_deref(), Some("password"));
    }

    #[test]
    fn secrets_manager_whole_secret_and_stage() {
        let r = resolve("arn:aws:secretsmanager:us-east-1:1:secret:api_token-a1B2c3");
        assert_eq!(r.key, "value");
        assert!(
            r.secret.starts_with("api-token-"),
            "sanitised: {}",
            r.secret
        );
        let r = resolve("arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf:user:AWSPREVIOUS:");
        assert_eq!(r.version.as_deref(), Some("AWSPREVIOUS"));
    }

    #[test]
    fn ssm_arn_and_name() {
        let r = resolve("arn:aws:ssm:us-east-1:123456789012:parameter/prod/worker/api-key");
        assert_eq!(
            (r.secret.as_str(), r.key.as_str(), r.remote.as_str()),
            (
                "prod-worker-api-key",
                "value",
                "arn:aws:ssm:us-east-1:123456789012:parameter/prod/worker/api-key"
            )
        );
        assert_eq!(r.source, SecretSource::ParameterStore);
        let r = resolve("db-password");
        assert_eq!(
            (r.secret.as_str(), r.remote.as_str()),
            ("db-password", "db-password")
        );
    }

    #[test]
    fn external_secret_groups_keys() {
        let refs: Vec<(String, SecretRef)> = [
            "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:user::",
            "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:password::",
        ]
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("p{i}"), resolve(v)))
        .collect();
        let stores = SecretStores {
            name: Some("aws".into()),
            ..SecretStores::default()
        };
        let mut w = Warnings::default();
        let out = external_secrets(&refs, &stores, &BTreeMap::new(), &mut w);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["spec"]["data"].as_array().unwrap().len(), 2);
        assert_eq!(out[0]["spec"]["secretStoreRef"]["name"], "aws");
        assert!(w.into_vec().is_empty());
    }
}
