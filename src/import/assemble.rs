//! What CloudFormation and Terraform share once their values are resolved: Application Auto
//! Scaling resources folded into the Service they scale, scheduled rules made ScheduledTasks, and
//! references to clusters and task definitions normalised.

use super::{Imported, Kind, Note, NoteKind, Skipped, Source};
use crate::translate::reference;
use serde_json::{Map, Value, json};

pub use crate::translate::reference::{cluster_name, service_of};

/// Which part of a Service's `autoScaling` a resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `scalableTarget` (RegisterScalableTarget).
    Target,
    /// `scalingPolicies[]` (PutScalingPolicy).
    Policy,
    /// `scheduledActions[]` (PutScheduledAction).
    Action,
}

/// One converted Application Auto Scaling resource, waiting for its Service.
#[derive(Clone, Debug)]
pub struct Piece {
    /// The ECS service name taken from the resource ID (`service/CLUSTER/SERVICE`).
    pub service: String,
    /// Which part.
    pub part: Part,
    /// The converted request body (PascalCase, as Application Auto Scaling takes it).
    pub value: Map<String, Value>,
    /// (path in `value`, path in the input).
    pub fields: Vec<(String, String)>,
    /// Notes with paths relative to `value`.
    pub notes: Vec<Note>,
    /// Where it came from.
    pub source: Source,
}

/// Members of the Application Auto Scaling requests implied by the Service they are put on.
pub const IMPLIED: &[&str] = &["ServiceNamespace", "ResourceId", "ScalableDimension"];

fn prefix(p: &str, path: &str) -> String {
    if path.is_empty() {
        p.to_string()
    } else {
        format!("{p}.{path}")
    }
}

/// Fold the pieces into the Services they scale. A piece whose Service is not among the
/// imported objects is skipped (and said so).
pub fn attach(objects: &mut [Imported], pieces: Vec<Piece>, skipped: &mut Vec<Skipped>) {
    let mut pieces = pieces;
    // Targets first so that policies find them.
    pieces.sort_by_key(|p| match p.part {
        Part::Target => 0,
        Part::Policy => 1,
        Part::Action => 2,
    });
    for piece in pieces {
        let Some(svc) = objects
            .iter_mut()
            .find(|o| o.kind == Kind::Service && o.ecs_name == piece.service)
        else {
            skipped.push(Skipped {
                file: piece.source.file.clone(),
                path: piece.source.path.clone(),
                what: piece.source.what.clone(),
                reason: format!(
                    "scales the ECS service `{}`, which is not among the imported objects: import it together with that service",
                    piece.service
                ),
            });
            continue;
        };
        let spec = svc.spec.as_object_mut().expect("service spec is an object");
        let has_target = spec
            .get("autoScaling")
            .is_some_and(|a| a.get("scalableTarget").is_some());
        if piece.part != Part::Target && !has_target {
            skipped.push(Skipped {
                file: piece.source.file.clone(),
                path: piece.source.path.clone(),
                what: piece.source.what.clone(),
                reason: format!(
                    "no scalable target (MinCapacity/MaxCapacity) for the ECS service `{}` in the input: import it together with its scalable target",
                    piece.service
                ),
            });
            continue;
        }
        let auto = spec
            .entry("autoScaling")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("autoScaling is an object");
        let base = match piece.part {
            Part::Target => {
                auto.insert("scalableTarget".into(), Value::Object(piece.value));
                "autoScaling.scalableTarget".to_string()
            }
            Part::Policy | Part::Action => {
                let key = if piece.part == Part::Policy {
                    "scalingPolicies"
                } else {
                    "scheduledActions"
                };
                let list = auto
                    .entry(key)
                    .or_insert_with(|| json!([]))
                    .as_array_mut()
                    .expect("a list");
                list.push(Value::Object(piece.value));
                format!("autoScaling.{key}[{}]", list.len() - 1)
            }
        };
        svc.fields.extend(
            piece
                .fields
                .into_iter()
                .map(|(p, s)| (prefix(&base, &p), s)),
        );
        svc.notes.extend(piece.notes.into_iter().map(|mut n| {
            n.path = prefix(&base, &n.path);
            n
        }));
    }
}

/// Remove the implied members from a converted Application Auto Scaling body (and their
/// fields).
pub fn drop_implied(value: &mut Map<String, Value>, fields: &mut Vec<(String, String)>) {
    for k in IMPLIED {
        value.remove(*k);
    }
    fields.retain(|(p, _)| !IMPLIED.iter().any(|k| p == k));
}

/// A ScheduledTask spec from a schedule and a converted RunTask body.
pub struct Schedule {
    /// `cron(...)` / `rate(...)`.
    pub expression: String,
    /// IANA time zone.
    pub timezone: Option<String>,
    /// `ENABLED` / `DISABLED`.
    pub state: Option<String>,
}

/// Build a ScheduledTask from its parts; `notes` gets what was assumed about the state.
pub fn scheduled_task(
    name: String,
    schedule: Schedule,
    mut run: Map<String, Value>,
    fields: Vec<(String, String)>,
    mut notes: Vec<Note>,
    source: Source,
    schedule_source: &str,
) -> Imported {
    normalise_service(&mut run);
    let mut fields = fields;
    run.insert(
        "scheduleExpression".into(),
        Value::String(schedule.expression),
    );
    fields.push((
        "scheduleExpression".into(),
        format!("{schedule_source}.ScheduleExpression"),
    ));
    if let Some(tz) = schedule.timezone {
        run.insert("scheduleExpressionTimezone".into(), Value::String(tz));
    }
    if let Some(state) = schedule.state {
        let s = match state.as_str() {
            "DISABLED" => "DISABLED",
            "ENABLED" => "ENABLED",
            other => {
                notes.push(Note {
                    kind: NoteKind::Assumed,
                    path: "state".into(),
                    source: format!("{schedule_source}.State"),
                    message: format!("state `{other}` is read as ENABLED"),
                });
                "ENABLED"
            }
        };
        run.insert("state".into(), Value::String(s.into()));
    }
    Imported {
        kind: Kind::ScheduledTask,
        ecs_name: name,
        spec: Value::Object(run),
        source,
        fields,
        notes,
    }
}

/// Post-process a converted CreateService (or RunTask) body: the task definition and cluster
/// references as Tidewater names them (no ARNs).
pub fn normalise_service(spec: &mut Map<String, Value>) {
    if let Some(Value::String(td)) = spec.get_mut("taskDefinition") {
        *td = reference::without_arn(td);
    }
    if let Some(Value::String(c)) = spec.get_mut("cluster") {
        *c = reference::cluster_name(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids() {
        assert_eq!(service_of("service/prod/web"), Some("web".into()));
        assert_eq!(service_of("table/t"), None);
        assert_eq!(
            cluster_name("arn:aws:ecs:us-east-1:1:cluster/prod"),
            "prod".to_string()
        );
    }
}
