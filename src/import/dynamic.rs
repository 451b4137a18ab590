//! CloudFormation dynamic references to secrets and parameters (`{{resolve:secretsmanager:...}}`,
//! `{{resolve:ssm-secure:...}}`, `{{resolve:ssm:...}}`) in a task definition's container
//! environment or log options: CloudFormation would write the secret's value into the task
//! definition; the import never does (it cannot, and must not). They become ECS secret
//! references instead: `containerDefinitions[].secrets[]` (or `logConfiguration.secretOptions[]`)
//! whose `valueFrom` names the secret or parameter, read when the task starts. A value that
//! embeds a reference in other text cannot be a secret: it is left out (reported).

use super::{Imported, Note, NoteKind};
use serde_json::{Map, Value, json};

/// A dynamic reference read as an ECS secret reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRef {
    /// `valueFrom`: the secret's ARN (with JSON key, version stage and version ID) or name, or
    /// the parameter's name or ARN.
    pub value_from: String,
    /// What the reference asked for that ECS cannot: the parameter version.
    pub dropped: Option<String>,
}

/// The marker of a dynamic reference.
pub const MARKER: &str = "{{resolve:";

/// Read a whole-value dynamic reference to Secrets Manager or SSM Parameter Store.
/// `secret_arn_prefix` (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:`) makes a secret name
/// the ARN ECS takes.
pub fn parse(value: &str, secret_arn_prefix: &str) -> Option<SecretRef> {
    let inner = value.strip_prefix(MARKER)?.strip_suffix("}}")?;
    if inner.contains("{{") || inner.contains("}}") {
        return None;
    }
    let (service, rest) = inner.split_once(':')?;
    match service {
        "secretsmanager" => secret(rest, secret_arn_prefix),
        "ssm" | "ssm-secure" => parameter(rest),
        _ => None,
    }
}

/// `secret-id:SecretString:json-key:version-stage:version-id` (all but the ID optional).
fn secret(rest: &str, arn_prefix: &str) -> Option<SecretRef> {
    let parts: Vec<&str> = rest.split(':').collect();
    let (id, selectors) = if rest.starts_with("arn:") {
        (
            parts.get(..7)?.join(":"),
            parts.get(7..).unwrap_or_default(),
        )
    } else {
        (
            parts.first()?.to_string(),
            parts.get(1..).unwrap_or_default(),
        )
    };
    if id.is_empty() {
        return None;
    }
    let at = |i: usize| selectors.get(i).copied().unwrap_or("");
    let (key, stage, version) = (at(1), at(2), at(3));
    // ECS takes the full ARN of a Secrets Manager secret.
    let arn = if id.starts_with("arn:") {
        id
    } else {
        format!("{arn_prefix}{id}")
    };
    let value_from = if key.is_empty() && stage.is_empty() && version.is_empty() {
        arn
    } else {
        format!("{arn}:{key}:{stage}:{version}")
    };
    Some(SecretRef {
        value_from,
        dropped: None,
    })
}

/// `parameter-name:version` (version optional).
fn parameter(rest: &str) -> Option<SecretRef> {
    let (name, version) = match rest.rsplit_once(':') {
        Some((n, v)) if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) => (n, Some(v)),
        _ => (rest, None),
    };
    if name.is_empty() {
        return None;
    }
    Some(SecretRef {
        value_from: name.to_string(),
        dropped: version.map(|v| format!("version {v}")),
    })
}

/// Move the dynamic references of a converted task definition's containers into secrets.
pub fn to_secrets(obj: &mut Imported, secret_arn_prefix: &str) {
    let Some(containers) = obj
        .spec
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    let mut moves = Moves::default();
    for (ci, c) in containers.iter_mut().enumerate() {
        let base = format!("containerDefinitions[{ci}]");
        if let Some(c) = c.as_object_mut() {
            moves.environment(c, &base, secret_arn_prefix, &obj.fields);
            moves.log_options(c, &base, secret_arn_prefix, &obj.fields);
        }
    }
    moves.apply(obj);
}

/// What moving the references changes in an object's fields and notes.
#[derive(Default)]
struct Moves {
    /// Field path prefixes to forget (their items were renumbered or moved).
    forget: Vec<String>,
    /// Fields to add: (ECS path, input path).
    fields: Vec<(String, String)>,
    notes: Vec<Note>,
}

fn source_of(fields: &[(String, String)], path: &str) -> String {
    fields
        .iter()
        .find(|(p, _)| p == path)
        .map(|(_, s)| s.clone())
        .unwrap_or_default()
}

impl Moves {
    /// `environment[]` entries holding a reference → `secrets[]`.
    fn environment(
        &mut self,
        c: &mut Map<String, Value>,
        base: &str,
        prefix: &str,
        fields: &[(String, String)],
    ) {
        let Some(Value::Array(env)) = c.get("environment").cloned() else {
            return;
        };
        if !env.iter().any(|e| text(e, "value").contains(MARKER)) {
            return;
        }
        self.forget.push(format!("{base}.environment["));
        let mut kept = Vec::new();
        let mut secrets = c
            .get("secrets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (j, e) in env.into_iter().enumerate() {
            let from = format!("{base}.environment[{j}]");
            let value = text(&e, "value");
            if !value.contains(MARKER) {
                let to = format!("{base}.environment[{}]", kept.len());
                self.renumber(fields, &from, &to);
                kept.push(e);
                continue;
            }
            let to = format!("{base}.secrets[{}]", secrets.len());
            let name = text(&e, "name");
            if let Some(r) = self.secret(&value, prefix, fields, &from, &to, "value") {
                self.fields.push((
                    format!("{to}.name"),
                    source_of(fields, &format!("{from}.name")),
                ));
                secrets.push(json!({"name": name, "valueFrom": r}));
            }
        }
        set_list(c, "environment", kept);
        set_list(c, "secrets", secrets);
    }

    /// `logConfiguration.options` holding a reference → `logConfiguration.secretOptions[]`.
    fn log_options(
        &mut self,
        c: &mut Map<String, Value>,
        base: &str,
        prefix: &str,
        fields: &[(String, String)],
    ) {
        let Some(log) = c.get_mut("logConfiguration").and_then(Value::as_object_mut) else {
            return;
        };
        let Some(Value::Object(options)) = log.get("options").cloned() else {
            return;
        };
        let mut secret_options = log
            .get("secretOptions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut kept = Map::new();
        for (k, v) in options {
            let value = v.as_str().unwrap_or_default().to_string();
            if !value.contains(MARKER) {
                kept.insert(k, v);
                continue;
            }
            let from = format!("{base}.logConfiguration.options.{k}");
            let to = format!(
                "{base}.logConfiguration.secretOptions[{}]",
                secret_options.len()
            );
            self.forget.push(from.clone());
            if let Some(r) = self.secret(&value, prefix, fields, &from, &to, "") {
                secret_options.push(json!({"name": k, "valueFrom": r}));
            }
        }
        if kept.is_empty() {
            log.remove("options");
        } else {
            log.insert("options".into(), Value::Object(kept));
        }
        if !secret_options.is_empty() {
            log.insert("secretOptions".into(), Value::Array(secret_options));
        }
    }

    /// The `valueFrom` of a reference at `from` moved to `to`, noted; `None` (noted) when the
    /// value is not one whole reference.
    fn secret(
        &mut self,
        value: &str,
        prefix: &str,
        fields: &[(String, String)],
        from: &str,
        to: &str,
        member: &str,
    ) -> Option<String> {
        let value_path = if member.is_empty() {
            from.to_string()
        } else {
            format!("{from}.{member}")
        };
        let source = source_of(fields, &value_path);
        let Some(r) = parse(value, prefix) else {
            self.notes.push(Note {
                kind: NoteKind::Unresolved,
                path: value_path,
                source,
                message: format!("`{value}` embeds a CloudFormation dynamic reference in other text (or one to a service other than Secrets Manager or SSM Parameter Store): an ECS secret holds a whole value, and the import never writes secret values; left out"),
            });
            return None;
        };
        let version = r
            .dropped
            .map(|d| format!("; {d} is not kept (ECS reads the parameter's current version)"))
            .unwrap_or_default();
        // A secret name completed into an ARN with an unknown region or account.
        let kind = if r.value_from.contains("${") {
            NoteKind::Unresolved
        } else {
            NoteKind::Assumed
        };
        self.notes.push(Note {
            kind,
            path: to.to_string(),
            source: source.clone(),
            message: format!("CloudFormation dynamic reference `{value}`: a secret reference (valueFrom `{}`) read when the task starts, not a value in the task definition{version}", r.value_from),
        });
        self.fields.push((format!("{to}.valueFrom"), source));
        Some(r.value_from)
    }

    /// Keep the fields of a list item under its new index.
    fn renumber(&mut self, fields: &[(String, String)], from: &str, to: &str) {
        for (p, s) in fields {
            if let Some(rest) = p.strip_prefix(from) {
                self.fields.push((format!("{to}{rest}"), s.clone()));
            }
        }
    }

    fn apply(self, obj: &mut Imported) {
        if self.notes.is_empty() {
            return;
        }
        obj.fields
            .retain(|(p, _)| !self.forget.iter().any(|f| p.starts_with(f.as_str())));
        obj.fields.extend(self.fields);
        obj.notes.extend(self.notes);
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn set_list(c: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if items.is_empty() {
        c.remove(key);
    } else {
        c.insert(key.into(), Value::Array(items));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:";

    #[test]
    fn references_become_value_from() {
        let r = |s: &str| parse(s, PREFIX).map(|r| r.value_from);
        assert_eq!(
            r("{{resolve:secretsmanager:db}}"),
            Some(format!("{PREFIX}db"))
        );
        assert_eq!(
            r("{{resolve:secretsmanager:db:SecretString:password}}"),
            Some(format!("{PREFIX}db:password::"))
        );
        assert_eq!(
            r(
                "{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:1:secret:db-AbC:SecretString:user:AWSCURRENT}}"
            ),
            Some("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC:user:AWSCURRENT:".into())
        );
        assert_eq!(
            r("{{resolve:ssm-secure:/app/token:3}}"),
            Some("/app/token".into())
        );
        assert_eq!(r("{{resolve:ssm:/app/url}}"), Some("/app/url".into()));
        assert_eq!(r("x{{resolve:ssm:/app/url}}"), None);
        assert_eq!(r("{{resolve:other:x}}"), None);
    }
}
