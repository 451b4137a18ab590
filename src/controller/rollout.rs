//! A Service's deployments and events in ECS terms, computed from what the cluster shows (pods,
//! the Deployment's status): pure, so every rule is a plain test.
//!
//! - An ECS *deployment* is one pod template (task definition revision plus service settings);
//!   its id `ecs-svc/<n>` is a hash of the template, and its pods carry the label
//!   [`DEPLOYMENT_LABEL`]. The newest is PRIMARY; older ones with tasks left are ACTIVE;
//!   finished ones are kept a while as INACTIVE (the rollback memory).
//! - Rollout state: IN_PROGRESS until the PRIMARY runs `desiredCount` healthy tasks and nothing
//!   older is left (COMPLETED), or the circuit breaker trips (FAILED): failed tasks (restarts and
//!   failed pods) reach ECS's threshold (half the desired count, at least 3, at most 200), or
//!   the Deployment's progress deadline (which includes healthCheckGracePeriodSeconds) passes.
//! - Events use the ECS wording and are bounded ([`MAX_EVENTS`]).

use k8s_openapi::jiff::Timestamp;

use crate::api::service::{ServiceDeployment, ServiceEvent, ServiceStatus};
use crate::translate::names::stable_hash;

/// Pod label holding the deployment id's number.
pub const DEPLOYMENT_LABEL: &str = "ecs.tidewater.dev/deployment";
/// Events kept in status.
pub const MAX_EVENTS: usize = 50;
/// INACTIVE deployments kept in status.
pub const MAX_INACTIVE: usize = 5;

/// The deployment id for a pod template (as JSON text).
pub fn deployment_number(template: &str) -> String {
    stable_hash(template).to_string()
}

/// `ecs-svc/<n>`.
pub fn deployment_id(number: &str) -> String {
    format!("ecs-svc/{number}")
}

/// What one pod shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodFacts {
    /// Pod name (the task id).
    pub name: String,
    /// Its deployment number (label).
    pub deployment: String,
    /// Ready.
    pub ready: bool,
    /// Phase Failed.
    pub failed: bool,
    /// Phase Succeeded.
    pub succeeded: bool,
    /// Being deleted.
    pub terminating: bool,
    /// Sum of container restarts.
    pub restarts: i32,
    /// The scheduler could not place it; its message.
    pub unschedulable: Option<String>,
    /// Creation time (seconds), to name the newest tasks.
    pub created: i64,
}

/// What the Deployment (or DaemonSet) shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkloadFacts {
    /// Replicas the workload runs now (spec; an HPA may have changed it).
    pub replicas: i32,
    /// The controller has seen the latest spec.
    pub observed: bool,
    /// Pods of the latest template.
    pub updated: i32,
    /// Available pods.
    pub available: i32,
    /// Progressing=False with reason ProgressDeadlineExceeded.
    pub deadline_exceeded: bool,
}

/// Everything [`observe`] needs.
#[derive(Clone, Debug)]
pub struct Observation {
    /// ECS service name (for the wording).
    pub service: String,
    /// Deployment number of the template applied now.
    pub primary: String,
    /// `family:N` it runs.
    pub task_definition: String,
    /// Desired tasks.
    pub desired: i32,
    /// Pods of the service.
    pub pods: Vec<PodFacts>,
    /// The workload's status, once it exists.
    pub workload: Option<WorkloadFacts>,
    /// deploymentCircuitBreaker.enable.
    pub circuit_breaker: bool,
    /// deploymentCircuitBreaker.rollback.
    pub rollback: bool,
    /// Why the primary was started, for a new deployment (e.g. a rollback).
    pub reason: Option<String>,
    /// Now.
    pub now: Timestamp,
}

/// A service event to publish (also as a Kubernetes Event).
pub type NewEvent = super::status::Note;

/// The result of one observation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Counts, deployments and events (conditions and warnings are the caller's).
    pub status: ServiceStatus,
    /// Events new in this observation, oldest first.
    pub events: Vec<NewEvent>,
    /// The service runs `desiredCount` healthy tasks of the PRIMARY and nothing else.
    pub steady: bool,
    /// The PRIMARY rollout is in progress.
    pub progressing: bool,
    /// The PRIMARY rollout failed.
    pub failed: bool,
    /// `family:N` to roll back to (circuit breaker with rollback just tripped).
    pub rollback_to: Option<String>,
}

fn live(p: &PodFacts) -> bool {
    !p.terminating && !p.failed && !p.succeeded
}

/// ECS's circuit breaker threshold for `desired` tasks.
pub fn failure_threshold(desired: i32) -> i32 {
    ((desired + 1) / 2).clamp(3, 200)
}

fn seconds(now: Timestamp) -> String {
    Timestamp::from_second(now.as_second())
        .expect("a whole second is a valid time")
        .to_string()
}

/// The `family:N` a rollback from `failed_number` goes to: the newest COMPLETED deployment of
/// another template.
pub fn rollback_target(prev: &ServiceStatus, failed_number: &str) -> Option<String> {
    // Already rolling back (or rolled back): stay on that PRIMARY.
    if let Some(p) = prev.deployments.iter().find(|d| {
        d.status == "PRIMARY"
            && d.id != deployment_id(failed_number)
            && d.rollout_state.as_deref() != Some("FAILED")
    }) {
        return Some(p.task_definition.clone());
    }
    prev.deployments
        .iter()
        .filter(|d| d.rollout_state.as_deref() == Some("COMPLETED"))
        .filter(|d| d.id != deployment_id(failed_number))
        .max_by(|a, b| a.updated_at.cmp(&b.updated_at))
        .map(|d| d.task_definition.clone())
}

/// Whether the deployment of template `number` already failed (and should not be retried).
pub fn has_failed(prev: &ServiceStatus, number: &str) -> bool {
    prev.deployments
        .iter()
        .any(|d| d.id == deployment_id(number) && d.rollout_state.as_deref() == Some("FAILED"))
}

/// Task counts of one deployment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct TaskCounts {
    /// Live and ready.
    running: i32,
    /// Live, not ready.
    pending: i32,
    /// Container restarts plus failed pods.
    failed: i32,
}

/// The task counts of deployment `number`.
fn count(pods: &[PodFacts], number: &str) -> TaskCounts {
    let pods: Vec<&PodFacts> = pods.iter().filter(|p| p.deployment == number).collect();
    TaskCounts {
        running: pods.iter().filter(|p| live(p)).filter(|p| p.ready).count() as i32,
        pending: pods.iter().filter(|p| live(p)).filter(|p| !p.ready).count() as i32,
        failed: pods.iter().map(|p| p.restarts).sum::<i32>()
            + pods.iter().filter(|p| p.failed).count() as i32,
    }
}

/// The PRIMARY: carried over, revived (a rollback to an older template), or new.
fn primary_deployment(prev: &ServiceStatus, obs: &Observation, now: &str) -> ServiceDeployment {
    let primary_id = deployment_id(&obs.primary);
    match prev.deployments.iter().find(|d| d.id == primary_id) {
        Some(d) if d.status == "PRIMARY" => d.clone(),
        Some(d) if d.rollout_state.as_deref() == Some("FAILED") => {
            // A failed template applied again (no rollback possible): stays FAILED.
            ServiceDeployment {
                status: "PRIMARY".into(),
                ..d.clone()
            }
        }
        _ => ServiceDeployment {
            id: primary_id,
            status: "PRIMARY".into(),
            task_definition: obs.task_definition.clone(),
            rollout_state: Some("IN_PROGRESS".into()),
            rollout_state_reason: Some(
                obs.reason
                    .clone()
                    .unwrap_or_else(|| "ECS deployment in progress.".into()),
            ),
            created_at: Some(now.to_string()),
            updated_at: Some(now.to_string()),
            ..ServiceDeployment::default()
        },
    }
}

/// Older deployments: ACTIVE while they have tasks, then INACTIVE. A PRIMARY replaced while in
/// progress keeps its rolloutState (ECS's DeploymentRolloutState has only IN_PROGRESS, COMPLETED
/// and FAILED) and says in its reason which deployment replaced it.
fn older_deployments(prev: &ServiceStatus, obs: &Observation, now: &str) -> Vec<ServiceDeployment> {
    let primary_id = deployment_id(&obs.primary);
    let mut others = Vec::new();
    for d in prev.deployments.iter().filter(|d| d.id != primary_id) {
        let c = count(&obs.pods, d.id.trim_start_matches("ecs-svc/"));
        let mut d = d.clone();
        let tasks = c.running + c.pending;
        let new_status = if tasks > 0 { "ACTIVE" } else { "INACTIVE" };
        if d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS") {
            d.rollout_state_reason = Some(format!("replaced by deployment {primary_id}."));
        }
        let before = (
            d.status.as_str(),
            d.running_count,
            d.pending_count,
            d.desired_count,
        );
        if before != (new_status, c.running, c.pending, tasks) {
            d.status = new_status.into();
            d.running_count = c.running;
            d.pending_count = c.pending;
            d.desired_count = tasks;
            d.updated_at = Some(now.to_string());
        }
        others.push(d);
    }
    others
}

/// The circuit breaker tripped on the PRIMARY: FAILED, and a rollback when enabled and possible.
/// Returns the `family:N` to roll back to.
fn trip_breaker(
    primary: &mut ServiceDeployment,
    prev: &ServiceStatus,
    obs: &Observation,
    why: String,
    events: &mut Vec<NewEvent>,
) -> Option<String> {
    let (svc, primary_id) = (&obs.service, &primary.id);
    events.push(NewEvent::warning(
        "DeploymentFailed",
        format!("(service {svc}) (deployment {primary_id}) deployment failed: {why}"),
    ));
    let target = obs
        .rollback
        .then(|| rollback_target(prev, &obs.primary))
        .flatten();
    match &target {
        Some(target) => events.push(NewEvent::warning(
            "RollingBack",
            format!(
                "(service {svc}) (deployment {primary_id}) deployment failed: rolling back to taskDefinition {target}."
            ),
        )),
        None if obs.rollback => events.push(NewEvent::warning(
            "RollbackImpossible",
            format!(
                "(service {svc}) (deployment {primary_id}) cannot roll back: no earlier deployment completed."
            ),
        )),
        None => {}
    }
    primary.rollout_state = Some("FAILED".into());
    primary.rollout_state_reason = Some(format!("ECS deployment circuit breaker: {why}"));
    target
}

/// Move an IN_PROGRESS PRIMARY on: COMPLETED once it runs `desired` healthy tasks, nothing
/// older is left and the workload is done; FAILED when the circuit breaker trips. Returns the
/// `family:N` to roll back to.
fn advance_primary(
    primary: &mut ServiceDeployment,
    prev: &ServiceStatus,
    obs: &Observation,
    draining: bool,
    events: &mut Vec<NewEvent>,
) -> Option<String> {
    if primary.rollout_state.as_deref() != Some("IN_PROGRESS") {
        return None;
    }
    let c = count(&obs.pods, &obs.primary);
    let workload_done = obs
        .workload
        .as_ref()
        .is_none_or(|w| w.observed && w.updated == w.replicas && w.available >= w.replicas);
    let deadline = obs.workload.as_ref().is_some_and(|w| w.deadline_exceeded);
    let threshold = failure_threshold(obs.desired);
    let too_many_failures = c.failed >= threshold;
    if c.running == obs.desired && c.pending == 0 && !draining && workload_done {
        primary.rollout_state = Some("COMPLETED".into());
        primary.rollout_state_reason = Some("ECS deployment completed.".into());
        events.push(NewEvent::normal(
            "DeploymentCompleted",
            format!(
                "(service {}) (deployment {}) deployment completed.",
                obs.service, primary.id
            ),
        ));
        None
    } else if obs.circuit_breaker && (too_many_failures || deadline) {
        let why = if too_many_failures {
            format!(
                "tasks failed to start ({} failed, threshold {threshold}).",
                c.failed
            )
        } else {
            "tasks did not become healthy before the progress deadline.".to_string()
        };
        trip_breaker(primary, prev, obs, why, events)
    } else {
        None
    }
}

/// The PRIMARY's counts and rollout state, `updated_at` moved when its counts changed.
/// Returns the `family:N` to roll back to.
fn update_primary(
    primary: &mut ServiceDeployment,
    prev: &ServiceStatus,
    obs: &Observation,
    draining: bool,
    now: &str,
    events: &mut Vec<NewEvent>,
) -> Option<String> {
    let counts = |d: &ServiceDeployment| {
        (
            d.running_count,
            d.pending_count,
            d.failed_tasks,
            d.desired_count,
        )
    };
    let before = counts(primary);
    let c = count(&obs.pods, &obs.primary);
    primary.running_count = c.running;
    primary.pending_count = c.pending;
    primary.failed_tasks = c.failed;
    primary.desired_count = obs.desired;
    let rollback_to = advance_primary(primary, prev, obs, draining, events);
    if before != counts(primary) || primary.updated_at.is_none() {
        primary.updated_at = Some(now.to_string());
    }
    rollback_to
}

/// Tasks started or stopped (over every deployment; a started task is named once, newest
/// first), and tasks the scheduler cannot place.
fn task_events(prev: &ServiceStatus, obs: &Observation, tasks_now: i32) -> Vec<NewEvent> {
    let svc = &obs.service;
    let mut events = Vec::new();
    let prev_tasks: i32 = prev
        .deployments
        .iter()
        .map(|d| d.running_count + d.pending_count)
        .sum();
    if tasks_now > prev_tasks {
        let n = tasks_now - prev_tasks;
        let named = |p: &PodFacts| {
            let tag = format!("(task {})", p.name);
            prev.events.iter().any(|e| e.message.contains(&tag))
        };
        let mut newest: Vec<&PodFacts> = obs.pods.iter().filter(|p| live(p) && !named(p)).collect();
        newest.sort_by_key(|p| (std::cmp::Reverse(p.created), p.name.clone()));
        let names: Vec<String> = newest
            .iter()
            .take(n as usize)
            .map(|p| format!("(task {})", p.name))
            .collect();
        events.push(NewEvent::normal(
            "TasksStarted",
            format!(
                "(service {svc}) has started {n} tasks: {}.",
                names.join(" ")
            ),
        ));
    } else if tasks_now < prev_tasks {
        events.push(NewEvent::normal(
            "TasksStopped",
            format!(
                "(service {svc}) has stopped {} running tasks.",
                prev_tasks - tasks_now
            ),
        ));
    }
    let unschedulable = obs
        .pods
        .iter()
        .filter(|p| live(p))
        .find_map(|p| p.unschedulable.clone());
    if let Some(msg) = unschedulable {
        events.push(NewEvent::warning(
            "UnableToPlace",
            format!(
                "(service {svc}) was unable to place a task because no node met all of its requirements. Reason: {msg}"
            ),
        ));
    }
    events
}

/// The deployments as listed: PRIMARY, ACTIVE, then at most [`MAX_INACTIVE`] INACTIVE ones.
fn deployment_list(
    primary: ServiceDeployment,
    others: Vec<ServiceDeployment>,
) -> Vec<ServiceDeployment> {
    let mut deployments = vec![primary];
    let mut inactive = 0;
    for d in others {
        if d.status == "INACTIVE" {
            inactive += 1;
            if inactive > MAX_INACTIVE {
                continue;
            }
        }
        deployments.push(d);
    }
    deployments.sort_by_key(|d| match d.status.as_str() {
        "PRIMARY" => 0,
        "ACTIVE" => 1,
        _ => 2,
    });
    deployments
}

/// The service event log: new events (newest first) before the previous ones, bounded.
fn event_log(prev: &ServiceStatus, events: &[NewEvent], now: &str) -> Vec<ServiceEvent> {
    let mut log: Vec<ServiceEvent> = events
        .iter()
        .rev()
        .map(|e| ServiceEvent {
            id: format!("{:08x}", stable_hash(&format!("{now}{}", e.message))),
            created_at: now.to_string(),
            message: e.message.clone(),
        })
        .collect();
    log.extend(prev.events.iter().cloned());
    log.truncate(MAX_EVENTS);
    log
}

/// Compute the next status from the previous one and what the cluster shows.
pub fn observe(prev: &ServiceStatus, obs: &Observation) -> Outcome {
    let now = seconds(obs.now);
    let mut primary = primary_deployment(prev, obs, &now);
    let others = older_deployments(prev, obs, &now);
    let draining = others.iter().any(|d| d.status == "ACTIVE");
    let mut events = Vec::new();
    let rollback_to = update_primary(&mut primary, prev, obs, draining, &now, &mut events);
    let older_tasks: i32 = others
        .iter()
        .map(|d| d.running_count + d.pending_count)
        .sum();
    let tasks_now = primary.running_count + primary.pending_count + older_tasks;
    events.extend(task_events(prev, obs, tasks_now));

    let primary_done = primary.rollout_state.as_deref() == Some("COMPLETED");
    let steady = primary_done
        && primary.running_count == obs.desired
        && primary.pending_count == 0
        && !draining;
    let was_steady = prev
        .events
        .first()
        .is_some_and(|e| e.message.ends_with("has reached a steady state."));
    if steady && (!was_steady || !events.is_empty()) {
        events.push(NewEvent::normal(
            "SteadyState",
            format!("(service {}) has reached a steady state.", obs.service),
        ));
    }
    // Repeats of the newest few messages are not recorded again.
    let recent: Vec<&str> = prev
        .events
        .iter()
        .take(3)
        .map(|e| e.message.as_str())
        .collect();
    events.retain(|e| {
        !(matches!(e.reason, "UnableToPlace" | "SteadyState")
            && recent.contains(&e.message.as_str()))
    });

    let failed = primary.rollout_state.as_deref() == Some("FAILED");
    let progressing = primary.rollout_state.as_deref() == Some("IN_PROGRESS");
    if rollback_to.is_some() {
        primary.status = "INACTIVE".into();
    }
    let deployments = deployment_list(primary, others);
    Outcome {
        status: ServiceStatus {
            task_definition: Some(obs.task_definition.clone()),
            desired_count: obs.desired,
            running_count: deployments.iter().map(|d| d.running_count).sum(),
            pending_count: deployments.iter().map(|d| d.pending_count).sum(),
            deployments,
            events: event_log(prev, &events, &now),
            // The Service's reconcile sets what the applied template includes.
            forced_new_deployment: None,
            common: prev.common.clone(),
        },
        events,
        steady,
        progressing,
        failed,
        rollback_to,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, deployment: &str, ready: bool) -> PodFacts {
        PodFacts {
            name: name.into(),
            deployment: deployment.into(),
            ready,
            ..PodFacts::default()
        }
    }

    fn obs(primary: &str, td: &str, desired: i32, pods: Vec<PodFacts>, t: i64) -> Observation {
        Observation {
            service: "web".into(),
            primary: primary.into(),
            task_definition: td.into(),
            desired,
            pods,
            workload: None,
            circuit_breaker: true,
            rollback: true,
            reason: None,
            now: Timestamp::from_second(t).unwrap(),
        }
    }

    fn messages(o: &Outcome) -> Vec<String> {
        o.events.iter().map(|e| e.message.clone()).collect()
    }

    #[test]
    fn a_first_deployment_starts_completes_and_reaches_steady_state() {
        let start = observe(
            &ServiceStatus::default(),
            &obs(
                "1",
                "web:1",
                2,
                vec![pod("a", "1", false), pod("b", "1", false)],
                100,
            ),
        );
        assert!(start.progressing);
        assert_eq!(start.status.pending_count, 2);
        assert_eq!(start.status.deployments[0].status, "PRIMARY");
        assert_eq!(start.status.deployments[0].id, "ecs-svc/1");
        assert_eq!(
            messages(&start),
            vec!["(service web) has started 2 tasks: (task a) (task b)."]
        );

        let done = observe(
            &start.status,
            &obs(
                "1",
                "web:1",
                2,
                vec![pod("a", "1", true), pod("b", "1", true)],
                110,
            ),
        );
        assert!(done.steady && !done.progressing);
        assert_eq!(done.status.running_count, 2);
        assert_eq!(
            done.status.deployments[0].rollout_state.as_deref(),
            Some("COMPLETED")
        );
        assert_eq!(
            messages(&done),
            vec![
                "(service web) (deployment ecs-svc/1) deployment completed.",
                "(service web) has reached a steady state."
            ]
        );
        // Newest first in status.
        assert_eq!(
            done.status.events[0].message,
            "(service web) has reached a steady state."
        );

        // Nothing changed: nothing new, the status is identical (no write).
        let again = observe(
            &done.status,
            &obs(
                "1",
                "web:1",
                2,
                vec![pod("a", "1", true), pod("b", "1", true)],
                500,
            ),
        );
        assert!(again.events.is_empty(), "{:?}", again.events);
        assert_eq!(again.status, done.status);
    }

    /// ECS API reference, Deployment.rolloutState: "When a service deployment is started, it
    /// begins in an IN_PROGRESS state. When the service reaches a steady state, the deployment
    /// transitions to a COMPLETED state. If the service fails to reach a steady state and
    /// circuit breaker is turned on, the deployment transitions to a FAILED state." There is no
    /// other state: a deployment replaced while in progress stays IN_PROGRESS.
    #[test]
    fn a_deployment_replaced_in_progress_keeps_a_state_of_the_ecs_model() {
        let started = observe(
            &ServiceStatus::default(),
            &obs("1", "web:1", 1, vec![pod("a", "1", false)], 100),
        );
        let replaced = observe(
            &started.status,
            &obs(
                "2",
                "web:2",
                1,
                vec![pod("a", "1", false), pod("b", "2", false)],
                101,
            ),
        );
        let old = replaced
            .status
            .deployments
            .iter()
            .find(|d| d.id == "ecs-svc/1")
            .expect("the replaced deployment is listed");
        assert_eq!(old.status, "ACTIVE");
        assert_eq!(old.rollout_state.as_deref(), Some("IN_PROGRESS"));
        assert_eq!(
            old.rollout_state_reason.as_deref(),
            Some("replaced by deployment ecs-svc/2.")
        );
        for d in &replaced.status.deployments {
            let state = d.rollout_state.as_deref().unwrap_or("IN_PROGRESS");
            assert!(
                ["IN_PROGRESS", "COMPLETED", "FAILED"].contains(&state),
                "{state}"
            );
        }
    }

    #[test]
    fn tasks_started_one_at_a_time_are_each_named_once() {
        let one = observe(
            &ServiceStatus::default(),
            &obs("1", "web:1", 2, vec![pod("a", "1", false)], 100),
        );
        let two = observe(
            &one.status,
            &obs(
                "1",
                "web:1",
                2,
                vec![pod("a", "1", false), pod("b", "1", false)],
                100,
            ),
        );
        assert_eq!(
            messages(&one),
            vec!["(service web) has started 1 tasks: (task a)."]
        );
        assert_eq!(
            messages(&two),
            vec!["(service web) has started 1 tasks: (task b)."]
        );
    }

    #[test]
    fn a_new_revision_drains_the_old_deployment() {
        let steady = {
            let a = observe(
                &ServiceStatus::default(),
                &obs("1", "web:1", 1, vec![pod("a", "1", true)], 100),
            );
            observe(
                &a.status,
                &obs("1", "web:1", 1, vec![pod("a", "1", true)], 101),
            )
            .status
        };
        let rolling = observe(
            &steady,
            &obs(
                "2",
                "web:2",
                1,
                vec![pod("a", "1", true), pod("b", "2", false)],
                200,
            ),
        );
        assert_eq!(rolling.status.deployments.len(), 2);
        assert_eq!(rolling.status.deployments[0].task_definition, "web:2");
        assert_eq!(rolling.status.deployments[1].status, "ACTIVE");
        assert!(rolling.progressing && !rolling.steady);
        let done = observe(
            &rolling.status,
            &obs("2", "web:2", 1, vec![pod("b", "2", true)], 210),
        );
        assert!(done.steady);
        assert_eq!(done.status.deployments[1].status, "INACTIVE");
        assert!(
            messages(&done).contains(&"(service web) has stopped 1 running tasks.".to_string())
        );
    }

    #[test]
    fn the_circuit_breaker_fails_and_rolls_back() {
        let steady = {
            let a = observe(
                &ServiceStatus::default(),
                &obs(
                    "1",
                    "web:1",
                    2,
                    vec![pod("a", "1", true), pod("b", "1", true)],
                    100,
                ),
            );
            a.status
        };
        assert_eq!(
            steady.deployments[0].rollout_state.as_deref(),
            Some("COMPLETED")
        );
        let mut bad = pod("c", "2", false);
        bad.restarts = 3;
        let o = observe(
            &steady,
            &obs(
                "2",
                "web:2",
                2,
                vec![pod("a", "1", true), pod("b", "1", true), bad],
                200,
            ),
        );
        assert!(o.failed);
        assert_eq!(o.rollback_to.as_deref(), Some("web:1"));
        assert!(has_failed(&o.status, "2"));
        assert!(
            messages(&o)
                .iter()
                .any(|m| m.contains("deployment failed: rolling back to taskDefinition web:1"))
        );
        // While it rolls back, the failed template keeps pointing at the rollback target.
        let mut rolling_back = o.status.clone();
        rolling_back.deployments[0].status = "INACTIVE".into();
        rolling_back.deployments.insert(
            0,
            ServiceDeployment {
                id: "ecs-svc/1".into(),
                status: "PRIMARY".into(),
                task_definition: "web:1".into(),
                rollout_state: Some("IN_PROGRESS".into()),
                ..ServiceDeployment::default()
            },
        );
        assert_eq!(
            rollback_target(&rolling_back, "2").as_deref(),
            Some("web:1")
        );
        // The rollback: template 1 is applied again and completes.
        let back = observe(
            &o.status,
            &obs(
                "1",
                "web:1",
                2,
                vec![pod("a", "1", true), pod("b", "1", true)],
                210,
            ),
        );
        assert_eq!(back.status.deployments[0].id, "ecs-svc/1");
        assert!(back.steady, "{:?}", back.status.deployments);
    }

    #[test]
    fn the_progress_deadline_trips_the_breaker_without_rollback() {
        let mut o = obs("1", "web:1", 1, vec![pod("a", "1", false)], 100);
        o.rollback = false;
        o.workload = Some(WorkloadFacts {
            replicas: 1,
            observed: true,
            updated: 1,
            available: 0,
            deadline_exceeded: true,
        });
        let out = observe(&ServiceStatus::default(), &o);
        assert!(out.failed && out.rollback_to.is_none());
        assert_eq!(out.status.deployments[0].status, "PRIMARY");
        // Sticky: the next observation keeps FAILED and says nothing new.
        let again = observe(&out.status, &o);
        assert!(again.failed);
        assert!(again.events.is_empty());
        // Without the circuit breaker it just keeps trying.
        o.circuit_breaker = false;
        assert!(observe(&ServiceStatus::default(), &o).progressing);
    }

    #[test]
    fn thresholds_and_bounds() {
        assert_eq!(failure_threshold(1), 3);
        assert_eq!(failure_threshold(10), 5);
        assert_eq!(failure_threshold(1000), 200);
        let mut status = ServiceStatus::default();
        for i in 0..80 {
            let pods = (0..(i % 3))
                .map(|k| pod(&format!("p{k}"), "1", true))
                .collect();
            status = observe(&status, &obs("1", "web:1", 2, pods, 100 + i)).status;
        }
        assert!(status.events.len() <= MAX_EVENTS);
    }

    #[test]
    fn unplaceable_tasks_are_reported_once() {
        let mut p = pod("a", "1", false);
        p.unschedulable = Some("0/3 nodes are available".into());
        let first = observe(
            &ServiceStatus::default(),
            &obs("1", "web:1", 1, vec![p.clone()], 100),
        );
        assert!(first.events.iter().any(|e| e.reason == "UnableToPlace"));
        let second = observe(&first.status, &obs("1", "web:1", 1, vec![p], 110));
        assert!(second.events.is_empty(), "{:?}", second.events);
    }
}
