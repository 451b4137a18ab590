//! ScheduledTask → CronJob running the RunTask's `count` pods as one Job.

use super::task::{RunInput, RunTemplate, template};
use super::{Object, Translation, Warnings, labels, names, schedule};
use crate::api::scheduled_task::{ScheduleState, ScheduledTaskSpec};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Why a ScheduledTask cannot be translated.
pub type Error = schedule::ScheduleError;

/// Translate a ScheduledTask.
pub fn translate(spec: &ScheduledTaskSpec, input: RunInput<'_>) -> Result<Translation, Error> {
    let mut w = Warnings::default();
    let cron = schedule::to_cron(&spec.schedule_expression)?;
    if let Some(note) = &cron.approximation {
        w.approximated("scheduleExpression", note.clone());
    }
    let RunTemplate {
        template,
        service_account: sa,
        labels: object_labels,
    } = template(input, labels::SCHEDULED_TASK, &mut w);
    let count = input.run.count.unwrap_or(1).clamp(1, 10);
    let name = names::dns_label_max(input.name, 52);
    let mut objects: Vec<Object> = sa.into_iter().collect();
    objects.push(Object::CronJob(CronJob {
        metadata: ObjectMeta {
            name: Some(name),
            labels: Some(object_labels),
            ..ObjectMeta::default()
        },
        spec: Some(CronJobSpec {
            schedule: cron.schedule,
            time_zone: spec.schedule_expression_timezone.clone(),
            suspend: (spec.state == Some(ScheduleState::Disabled)).then_some(true),
            concurrency_policy: Some("Allow".into()),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec {
                    parallelism: Some(count),
                    completions: Some(count),
                    backoff_limit: Some(0),
                    template,
                    ..JobSpec::default()
                }),
            },
            ..CronJobSpec::default()
        }),
        status: None,
    }));
    Ok(Translation {
        objects,
        warnings: w.into_vec(),
    })
}
