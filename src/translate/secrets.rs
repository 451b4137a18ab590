//! ECS secrets (Secrets Manager and SSM Parameter Store) → Kubernetes Secret references.
//!
//! The naming rule:
//! - Secrets Manager `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX[:JSON_KEY[:STAGE[:ID]]]`
//!   → Secret named after `NAME` (without the six-character random suffix), key `JSON_KEY`, or
//!   `value` for the whole secret.
//! - SSM `arn:aws:ssm:REGION:ACCOUNT:parameter/PATH` or a bare parameter name `/PATH`
//!   → Secret named after `PATH` (slashes become dashes), key `value`.
//!
//! Names are sanitised by [`super::names::dns_subdomain`]. With a secret store configured on the
//! Cluster, an External Secrets Operator `ExternalSecret` per Secret syncs the values.

use super::names;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Where a Kubernetes Secret key comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretRef {
    /// Kubernetes Secret name.
    pub secret: String,
    /// Key in the Secret.
    pub key: String,
    /// The remote secret (Secrets Manager name or SSM parameter path).
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
        let full = parts[6];
        let name = strip_random_suffix(full);
        let property = parts
            .get(7)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string());
        let version = parts
            .get(8)
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
            .or_else(|| {
                parts
                    .get(9)
                    .filter(|s| !s.is_empty())
                    .map(|s| format!("uuid/{s}"))
            });
        return SecretRef {
            secret: names::dns_subdomain(&name.replace('/', "-")),
            key: property.clone().unwrap_or_else(|| "value".into()),
            remote: name.to_string(),
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
    let remote = if path.starts_with('/') {
        path.clone()
    } else {
        format!("/{path}")
    };
    SecretRef {
        secret: names::dns_subdomain(path.trim_matches('/').replace('/', "-").as_str()),
        key: "value".into(),
        remote,
        property: None,
        version: None,
    }
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

/// External Secrets Operator objects for the references, one ExternalSecret per Secret.
pub fn external_secrets(
    refs: &[SecretRef],
    store: &str,
    store_kind: &str,
    labels: &BTreeMap<String, String>,
) -> Vec<Value> {
    let mut by_secret: BTreeMap<&str, Vec<&SecretRef>> = BTreeMap::new();
    for r in refs {
        by_secret.entry(r.secret.as_str()).or_default().push(r);
    }
    by_secret
        .into_iter()
        .map(|(secret, refs)| {
            let mut data: Vec<Value> = refs
                .iter()
                .map(|r| {
                    let mut remote = json!({ "key": r.remote });
                    if let Some(p) = &r.property {
                        remote["property"] = json!(p);
                    }
                    if let Some(v) = &r.version {
                        remote["version"] = json!(v);
                    }
                    json!({ "secretKey": r.key, "remoteRef": remote })
                })
                .collect();
            data.dedup();
            json!({
                "apiVersion": "external-secrets.io/v1",
                "kind": "ExternalSecret",
                "metadata": { "name": secret, "labels": labels },
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": { "name": store, "kind": store_kind },
                    "target": { "name": secret, "creationPolicy": "Owner" },
                    "data": data
                }
            })
        })
        .collect()
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
        assert_eq!(r.remote, "prod/db");
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
            ("prod-worker-api-key", "value", "/prod/worker/api-key")
        );
        let r = resolve("db-password");
        assert_eq!(
            (r.secret.as_str(), r.remote.as_str()),
            ("db-password", "/db-password")
        );
    }

    #[test]
    fn external_secret_groups_keys() {
        let refs = vec![
            resolve("arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:user::"),
            resolve("arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf:password::"),
        ];
        let out = external_secrets(&refs, "aws", "ClusterSecretStore", &BTreeMap::new());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["spec"]["data"].as_array().unwrap().len(), 2);
        assert_eq!(out[0]["spec"]["secretStoreRef"]["name"], "aws");
    }
}
