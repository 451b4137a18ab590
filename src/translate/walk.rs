//! Reports every unsupported or always-approximated field present in a spec, from the table, so
//! that no field is dropped without a warning even where no translation rule looks at it.

use super::Warnings;
use super::fields::{self, Disposition, Request, When};
use serde_json::Value;

/// Spec members that belong to Tidewater (extensions) or are read-only describe output: not
/// request fields, so not walked.
const SKIPPED: &[&str] = &[
    "ingress",
    "policy",
    "scheduleExpression",
    "scheduleExpressionTimezone",
    "state",
    "secretStore",
    "autoscaler",
];

/// Walk a serialised spec of `request`, reporting table rows that must always be reported.
/// Paths are prefixed with `prefix` (for nested specs).
pub fn report(request: Request, spec: &Value, warnings: &mut Warnings) {
    let Value::Object(map) = spec else { return };
    for (key, value) in map {
        if SKIPPED.contains(&key.as_str()) {
            continue;
        }
        if request == Request::CreateService && key == "autoScaling" {
            walk_auto_scaling(value, warnings);
            continue;
        }
        walk(request, key, key, value, warnings);
    }
}

fn walk_auto_scaling(value: &Value, warnings: &mut Warnings) {
    let Value::Object(map) = value else { return };
    if let Some(target) = map.get("scalableTarget") {
        walk_root(
            Request::RegisterScalableTarget,
            "autoScaling.scalableTarget",
            target,
            warnings,
        );
    }
    for (key, request) in [
        ("scalingPolicies", Request::PutScalingPolicy),
        ("scheduledActions", Request::PutScheduledAction),
    ] {
        if let Some(Value::Array(items)) = map.get(key) {
            for (i, item) in items.iter().enumerate() {
                walk_root(request, &format!("autoScaling.{key}[{i}]"), item, warnings);
            }
        }
    }
}

fn walk_root(request: Request, prefix: &str, value: &Value, warnings: &mut Warnings) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        walk(request, &format!("{prefix}.{key}"), key, v, warnings);
    }
}

/// `concrete` is the path shown to the user; `norm` the path in table form.
fn walk(request: Request, concrete: &str, norm: &str, value: &Value, warnings: &mut Warnings) {
    let mut paths = Paths {
        concrete: concrete.to_string(),
        norm: norm.to_string(),
    };
    paths.walk(request, value, warnings);
}

/// The path being walked, in both forms, grown and cut back as the walk goes down and up.
struct Paths {
    /// The path shown to the user (`containerDefinitions[1].ulimits`).
    concrete: String,
    /// The path in table form (`containerDefinitions[].ulimits`).
    norm: String,
}

impl Paths {
    fn walk(&mut self, request: Request, value: &Value, warnings: &mut Warnings) {
        if !present(value) {
            return;
        }
        if let Some(row) = fields::row(request, &self.norm) {
            let always = row.disposition == Disposition::Unsupported
                || (row.disposition == Disposition::Approximated && row.when == When::Always);
            if always {
                if !warnings.has_path(&self.concrete) {
                    match row.disposition {
                        Disposition::Unsupported => {
                            warnings.unsupported(self.concrete.clone(), row.note)
                        }
                        _ => warnings.approximated(self.concrete.clone(), row.note),
                    }
                }
                return;
            }
        }
        let (concrete, norm) = (self.concrete.len(), self.norm.len());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.concrete.push('.');
                    self.concrete.push_str(k);
                    self.norm.push('.');
                    self.norm.push_str(k);
                    self.walk(request, v, warnings);
                    self.concrete.truncate(concrete);
                    self.norm.truncate(norm);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    use std::fmt::Write;
                    let _ = write!(self.concrete, "[{i}]");
                    self.norm.push_str("[]");
                    self.walk(request, v, warnings);
                    self.concrete.truncate(concrete);
                    self.norm.truncate(norm);
                }
            }
            _ => {}
        }
    }
}

/// Whether a value carries information: null, false, "" and empty collections do not.
pub fn present(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(m) => m.values().any(present),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unsupported_fields_are_reported_once_at_their_row() {
        let spec = json!({
            "family": "x",
            "containerDefinitions": [{"name": "a", "image": "i", "ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}]}],
            "proxyConfiguration": {"containerName": "envoy", "properties": [{"name": "a", "value": "b"}]},
            "enableFaultInjection": false
        });
        let mut w = Warnings::default();
        report(Request::RegisterTaskDefinition, &spec, &mut w);
        let paths: Vec<_> = w.into_vec().into_iter().map(|w| w.path).collect();
        assert_eq!(
            paths,
            vec!["containerDefinitions[0].ulimits", "proxyConfiguration"]
        );
    }

    #[test]
    fn auto_scaling_is_walked_with_its_own_requests() {
        let spec = json!({"autoScaling": {"scalableTarget": {"MinCapacity": 1, "RoleARN": "arn"},
            "scalingPolicies": [{"PolicyName": "p", "PredictiveScalingPolicyConfiguration": {"Mode": "ForecastOnly"}}]}});
        let mut w = Warnings::default();
        report(Request::CreateService, &spec, &mut w);
        let paths: Vec<_> = w.into_vec().into_iter().map(|w| w.path).collect();
        assert_eq!(
            paths,
            vec![
                "autoScaling.scalableTarget.RoleARN",
                "autoScaling.scalingPolicies[0].PredictiveScalingPolicyConfiguration"
            ]
        );
    }
}
