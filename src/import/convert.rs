//! The resource-to-spec conversion the CloudFormation and Terraform readers share: once a
//! reader has evaluated a resource's body (its own spelling: PascalCase properties or snake_case
//! arguments), the same steps make it an ECS task definition, service or cluster, fold capacity
//! provider associations into their cluster, turn scalable targets, scaling policies and
//! scheduled actions into pieces of the Service they scale, and turn EventBridge targets into
//! ScheduledTasks.

use super::assemble::{self, Part, Piece, Schedule};
use super::model::{self, Api, Rename};
use super::report::FollowUp;
use super::{ImportError, Imported, Kind, Note, NoteKind, Parsed, Skipped, Source};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// How a reader spells ECS members: its renames, and how it names an ECS member in messages.
pub struct Spelling {
    /// Per-shape renames of the reader's member names.
    pub renames: &'static [Rename],
    /// `containerDefinitions` → the reader's spelling (`ContainerDefinitions`).
    pub field_name: fn(&str) -> String,
}

/// A converted body: the ECS request (or part of it), the (ECS path, input path) of its fields,
/// and what the conversion noted.
#[derive(Debug, Default)]
pub struct Converted {
    /// The body.
    pub body: Map<String, Value>,
    /// (path in the body, path in the input) of every field carried over.
    pub fields: Vec<(String, String)>,
    /// What was dropped or left unresolved.
    pub notes: Vec<Note>,
}

/// One evaluated input resource to convert.
pub struct Resource<'v> {
    /// The ECS name of the object it becomes.
    pub name: String,
    /// Its evaluated body (properties or arguments).
    pub body: &'v Value,
    /// Where it came from.
    pub source: Source,
    /// Path of the body in the input (`Resources.Web.Properties`, `aws_ecs_service.web`).
    pub at: String,
    /// What the reader already noted about it.
    pub notes: Vec<Note>,
}

/// A capacity provider association waiting for the clusters to be converted.
pub struct Association {
    /// The cluster it adds capacity providers to.
    pub cluster: String,
    /// The body without the cluster.
    pub body: Value,
    /// Where it came from.
    pub source: Source,
    /// Path of the body in the input.
    pub at: String,
    /// What the reader noted.
    pub notes: Vec<Note>,
}

/// An EventBridge (or EventBridge Scheduler) target that runs an ECS task.
pub struct Target {
    /// The ECS parameters (RunTask members in the reader's spelling), with the cluster (the
    /// target's ARN).
    pub params: Map<String, Value>,
    /// Path of the parameters in the input.
    pub params_at: String,
    /// Path of the target's ARN (the cluster) in the input.
    pub cluster_at: String,
    /// The target's JSON input (a TaskOverride).
    pub input: Option<String>,
    /// Path of the input in the input.
    pub input_at: String,
    /// Path of the rule or schedule the schedule's members come from.
    pub schedule_at: String,
}

/// What the conversion of one file or module collects.
#[derive(Default)]
pub struct Collected {
    /// Objects, errors, skipped resources and follow-ups.
    pub parsed: Parsed,
    /// Application Auto Scaling pieces, attached to their Services at the end.
    pub pieces: Vec<Piece>,
    /// Capacity provider associations, merged into their clusters at the end.
    pub associations: Vec<Association>,
}

impl Collected {
    /// Merge the associations into their clusters and attach the pieces to their Services.
    pub fn finish(
        mut self,
        spelling: &Spelling,
        placeholders: &BTreeMap<String, String>,
    ) -> Parsed {
        for a in std::mem::take(&mut self.associations) {
            let file = a.source.file.clone();
            let conversion = Conversion {
                spelling,
                placeholders,
                file: &file,
            };
            conversion.association(a, &mut self.parsed);
        }
        let out = &mut self.parsed;
        assemble::attach(&mut out.objects, self.pieces, &mut out.skipped);
        self.parsed
    }
}

/// The conversion of a reader's resources: its spelling, the placeholders it has made so far
/// (placeholder → why) and the file.
pub struct Conversion<'a> {
    /// The reader's spelling.
    pub spelling: &'a Spelling,
    /// Placeholder → why it is one.
    pub placeholders: &'a BTreeMap<String, String>,
    /// The file the resources are in.
    pub file: &'a str,
}

impl Conversion<'_> {
    /// Convert `value` at `source` into `shape`: missing required members and invalid values
    /// become errors, and every unresolved placeholder is explained.
    pub fn convert(
        &self,
        api: Api,
        shape: &str,
        value: &Value,
        source: &str,
        errors: &mut Vec<ImportError>,
    ) -> Option<Converted> {
        let placeholders = self.placeholders;
        let is = |s: &str| placeholders.keys().any(|p| s.contains(p.as_str()));
        let mut c = model::Converter::new(api, self.spelling.renames, &is);
        let body = c.convert(shape, value, source, "");
        let failed = !c.missing.is_empty() || !c.invalid.is_empty();
        for m in c.missing {
            let field = m.path.rsplit('.').next().unwrap_or(&m.path);
            errors.push(ImportError::MissingField {
                file: self.file.into(),
                path: m.source,
                field: (self.spelling.field_name)(field),
            });
        }
        for i in c.invalid {
            errors.push(ImportError::InvalidValue {
                file: self.file.into(),
                path: i.source,
                message: i.message,
            });
        }
        if failed {
            return None;
        }
        let notes = c.notes.into_iter().map(|n| self.explain(n)).collect();
        Some(Converted {
            body,
            fields: c.fields,
            notes,
        })
    }

    /// An unresolved note, with why its placeholders are placeholders.
    fn explain(&self, mut n: Note) -> Note {
        if n.kind == NoteKind::Unresolved {
            let why: Vec<&str> = self
                .placeholders
                .iter()
                .filter(|(p, _)| n.message.contains(p.as_str()))
                .map(|(_, w)| w.as_str())
                .collect();
            if !why.is_empty() {
                n.message = format!("{} ({})", n.message, why.join("; "));
            }
        }
        n
    }

    /// One ECS object of `kind` from a resource, converted into `shape`.
    pub fn object(
        &self,
        kind: Kind,
        shape: &str,
        r: Resource<'_>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Imported> {
        let Resource {
            name,
            body,
            source,
            at,
            mut notes,
        } = r;
        let c = self.convert(Api::Ecs, shape, body, &at, errors)?;
        notes.extend(c.notes);
        Some(Imported {
            kind,
            ecs_name: name,
            spec: Value::Object(c.body),
            source,
            fields: c.fields,
            notes,
        })
    }

    /// A task definition (RegisterTaskDefinition).
    pub fn task_definition(&self, r: Resource<'_>, out: &mut Parsed) {
        let obj = self.object(
            Kind::TaskDefinition,
            "RegisterTaskDefinitionRequest",
            r,
            &mut out.errors,
        );
        out.objects.extend(obj);
    }

    /// A service (CreateService), its task definition and cluster references normalised.
    pub fn service(&self, r: Resource<'_>, out: &mut Parsed) {
        if let Some(mut obj) =
            self.object(Kind::Service, "CreateServiceRequest", r, &mut out.errors)
        {
            if let Some(spec) = obj.spec.as_object_mut() {
                assemble::normalise_service(spec);
            }
            out.objects.push(obj);
        }
    }

    /// A cluster (CreateCluster).
    pub fn cluster(&self, r: Resource<'_>, out: &mut Parsed) {
        let obj = self.object(Kind::Cluster, "CreateClusterRequest", r, &mut out.errors);
        out.objects.extend(obj);
    }

    /// Capacity providers of a cluster: merged into the cluster imported from the same input,
    /// or a cluster of their own.
    pub fn association(&self, a: Association, out: &mut Parsed) {
        let cluster = a.cluster.clone();
        let r = Resource {
            name: a.cluster,
            body: &a.body,
            source: a.source,
            at: a.at,
            notes: a.notes,
        };
        let Some(obj) = self.object(Kind::Cluster, "CreateClusterRequest", r, &mut out.errors)
        else {
            return;
        };
        match out
            .objects
            .iter_mut()
            .find(|o| o.kind == Kind::Cluster && o.ecs_name == cluster)
        {
            Some(existing) => {
                if let (Some(spec), Value::Object(m)) = (existing.spec.as_object_mut(), obj.spec) {
                    spec.extend(m);
                }
                existing.fields.extend(obj.fields);
                existing.notes.extend(obj.notes);
            }
            None => out.objects.push(obj),
        }
    }

    /// An EC2 capacity provider: no Tidewater kind, a node group follow-up.
    pub fn capacity_provider(&self, name: &str, asg: &str, source: Source, out: &mut Parsed) {
        out.follow_ups.push(FollowUp::node_group(name, asg));
        out.skipped.push(Skipped {
            file: source.file,
            path: source.path,
            what: source.what,
            reason: format!("an EC2 capacity provider has no Tidewater kind: workloads using `{name}` are placed on nodes labelled eks.amazonaws.com/nodegroup={name} (see the follow-ups)"),
        });
    }

    /// The ECS service an Application Auto Scaling resource scales (`id_name` is how the reader
    /// spells the resource ID); a resource that scales something else is skipped.
    pub fn scaled_service(
        &self,
        resource_id: Option<&str>,
        namespace: &str,
        id_name: &str,
        source: &Source,
        out: &mut Parsed,
    ) -> Option<String> {
        let service = resource_id.and_then(assemble::service_of);
        let service = service.filter(|_| namespace == "ecs");
        if service.is_none() {
            out.skipped.push(Skipped {
                file: source.file.clone(),
                path: source.path.clone(),
                what: source.what.clone(),
                reason: format!(
                    "does not scale an ECS service ({id_name} `{}`)",
                    resource_id.unwrap_or_default()
                ),
            });
        }
        service
    }

    /// One Application Auto Scaling request of a service, converted into `shape`.
    pub fn piece(
        &self,
        service: &str,
        part: Part,
        shape: &str,
        r: Resource<'_>,
        collected: &mut Collected,
    ) {
        let Resource {
            body,
            source,
            at,
            mut notes,
            ..
        } = r;
        let errors = &mut collected.parsed.errors;
        let Some(c) = self.convert(Api::AutoScaling, shape, body, &at, errors) else {
            return;
        };
        let (mut value, mut fields) = (c.body, c.fields);
        notes.extend(c.notes);
        assemble::drop_implied(&mut value, &mut fields);
        collected.pieces.push(Piece {
            service: service.to_string(),
            part,
            value,
            fields,
            notes,
            source,
        });
    }

    /// A ScheduledTask from a schedule and the ECS target it runs.
    pub fn scheduled(
        &self,
        name: String,
        schedule: Schedule,
        target: Target,
        source: Source,
        mut notes: Vec<Note>,
        errors: &mut Vec<ImportError>,
    ) -> Option<Imported> {
        let c = self.convert(
            Api::Ecs,
            "RunTaskRequest",
            &Value::Object(target.params),
            &target.params_at,
            errors,
        )?;
        let (mut run, mut fields) = (c.body, c.fields);
        notes.extend(c.notes);
        // The cluster came from the target's ARN.
        for (p, s) in fields.iter_mut() {
            if p == "cluster" {
                *s = target.cluster_at.clone();
            }
        }
        if let Some(input) = &target.input {
            let overrides = self.task_override(input, &target.input_at, errors);
            if let Some(o) = overrides {
                run.insert("overrides".into(), Value::Object(o.body));
                fields.extend(o.fields);
                notes.extend(o.notes);
            }
        }
        Some(assemble::scheduled_task(
            name,
            schedule,
            run,
            fields,
            notes,
            source,
            &target.schedule_at,
        ))
    }

    /// The JSON `input` of an EventBridge target (a TaskOverride) as RunTask `overrides`, its
    /// fields and notes under `overrides.`; text that is not JSON is an error at `at`.
    fn task_override(
        &self,
        input: &str,
        at: &str,
        errors: &mut Vec<ImportError>,
    ) -> Option<Converted> {
        let v = match serde_json::from_str::<Value>(input) {
            Ok(v) => v,
            Err(e) => {
                errors.push(ImportError::InvalidValue {
                    file: self.file.into(),
                    path: at.to_string(),
                    message: format!("not JSON: {e}"),
                });
                return None;
            }
        };
        let mut c = self.convert(Api::Ecs, "TaskOverride", &v, at, errors)?;
        for (p, _) in c.fields.iter_mut() {
            *p = format!("overrides.{p}");
        }
        for n in c.notes.iter_mut() {
            n.path = format!("overrides.{}", n.path);
        }
        Some(c)
    }
}
