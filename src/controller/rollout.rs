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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// Kubernetes Event reason.
    pub reason: &'static str,
    /// Warning rather than Normal.
    pub warning: bool,
    /// ECS wording.
    pub message: String,
}

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

/// Compute the next status from the previous one and what the cluster shows.
pub fn observe(prev: &ServiceStatus, obs: &Observation) -> Outcome {
    let now = seconds(obs.now);
    let svc = &obs.service;
    let primary_id = deployment_id(&obs.primary);
    let mut events: Vec<NewEvent> = Vec::new();
    let mut deployments: Vec<ServiceDeployment> = Vec::new();

    // The PRIMARY: carried over, revived (a rollback to an older template), or new.
    let mut primary = match prev.deployments.iter().find(|d| d.id == primary_id) {
        Some(d) if d.status == "PRIMARY" => d.clone(),
        Some(d) if d.rollout_state.as_deref() == Some("FAILED") => {
            // A failed template applied again (no rollback possible): stays FAILED.
            ServiceDeployment {
                status: "PRIMARY".into(),
                ..d.clone()
            }
        }
        _ => ServiceDeployment {
            id: primary_id.clone(),
            status: "PRIMARY".into(),
            task_definition: obs.task_definition.clone(),
            rollout_state: Some("IN_PROGRESS".into()),
            rollout_state_reason: Some(
                obs.reason
                    .clone()
                    .unwrap_or_else(|| "ECS deployment in progress.".into()),
            ),
            created_at: Some(now.clone()),
            updated_at: Some(now.clone()),
            ..ServiceDeployment::default()
        },
    };

    let count = |number: &str| {
        let pods: Vec<&PodFacts> = obs.pods.iter().filter(|p| p.deployment == number).collect();
        let running = pods.iter().filter(|p| live(p)).filter(|p| p.ready).count() as i32;
        let pending = pods.iter().filter(|p| live(p)).filter(|p| !p.ready).count() as i32;
        let failed = pods.iter().map(|p| p.restarts).sum::<i32>()
            + pods.iter().filter(|p| p.failed).count() as i32;
        (running, pending, failed)
    };

    // Older deployments: ACTIVE while they have tasks, then INACTIVE.
    let mut others: Vec<ServiceDeployment> = Vec::new();
    for d in prev.deployments.iter().filter(|d| d.id != primary_id) {
        let number = d.id.trim_start_matches("ecs-svc/");
        let (running, pending, _) = count(number);
        let mut d = d.clone();
        let tasks = running + pending;
        let new_status = if tasks > 0 { "ACTIVE" } else { "INACTIVE" };
        if d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS") {
            d.rollout_state = Some("STOPPED".into());
            d.rollout_state_reason = Some(format!("replaced by deployment {primary_id}."));
        }
        if (
            d.status.as_str(),
            d.running_count,
            d.pending_count,
            d.desired_count,
        ) != (new_status, running, pending, tasks)
        {
            d.status = new_status.into();
            d.running_count = running;
            d.pending_count = pending;
            d.desired_count = tasks;
            d.updated_at = Some(now.clone());
        }
        others.push(d);
    }
    let draining = others.iter().any(|d| d.status == "ACTIVE");

    // The PRIMARY's counts and rollout state.
    let (running, pending, failed) = count(&obs.primary);
    let before = (
        primary.running_count,
        primary.pending_count,
        primary.failed_tasks,
        primary.desired_count,
    );
    primary.running_count = running;
    primary.pending_count = pending;
    primary.failed_tasks = failed;
    primary.desired_count = obs.desired;
    let mut rollback_to = None;
    if primary.rollout_state.as_deref() == Some("IN_PROGRESS") {
        let workload_done = obs
            .workload
            .as_ref()
            .is_none_or(|w| w.observed && w.updated == w.replicas && w.available >= w.replicas);
        let deadline = obs.workload.as_ref().is_some_and(|w| w.deadline_exceeded);
        let too_many_failures = failed >= failure_threshold(obs.desired);
        if running == obs.desired && pending == 0 && !draining && workload_done {
            primary.rollout_state = Some("COMPLETED".into());
            primary.rollout_state_reason = Some("ECS deployment completed.".into());
            events.push(NewEvent {
                reason: "DeploymentCompleted",
                warning: false,
                message: format!("(service {svc}) (deployment {primary_id}) deployment completed."),
            });
        } else if obs.circuit_breaker && (too_many_failures || deadline) {
            let why = if too_many_failures {
                format!(
                    "tasks failed to start ({failed} failed, threshold {}).",
                    failure_threshold(obs.desired)
                )
            } else {
                "tasks did not become healthy before the progress deadline.".to_string()
            };
            primary.rollout_state = Some("FAILED".into());
            primary.rollout_state_reason = Some(format!("ECS deployment circuit breaker: {why}"));
            events.push(NewEvent {
                reason: "DeploymentFailed",
                warning: true,
                message: format!(
                    "(service {svc}) (deployment {primary_id}) deployment failed: {why}"
                ),
            });
            if obs.rollback {
                if let Some(target) = rollback_target(prev, &obs.primary) {
                    events.push(NewEvent {
                        reason: "RollingBack",
                        warning: true,
                        message: format!(
                            "(service {svc}) (deployment {primary_id}) deployment failed: rolling back to taskDefinition {target}."
                        ),
                    });
                    rollback_to = Some(target);
                } else {
                    events.push(NewEvent {
                        reason: "RollbackImpossible",
                        warning: true,
                        message: format!(
                            "(service {svc}) (deployment {primary_id}) cannot roll back: no earlier deployment completed."
                        ),
                    });
                }
            }
        }
    }
    if before
        != (
            primary.running_count,
            primary.pending_count,
            primary.failed_tasks,
            primary.desired_count,
        )
        || primary.updated_at.is_none()
    {
        primary.updated_at = Some(now.clone());
    }

    // Started / stopped tasks (over every deployment).
    let prev_tasks: i32 = prev
        .deployments
        .iter()
        .map(|d| d.running_count + d.pending_count)
        .sum();
    let tasks_now: i32 = running
        + pending
        + others
            .iter()
            .map(|d| d.running_count + d.pending_count)
            .sum::<i32>();
    if tasks_now > prev_tasks {
        let n = tasks_now - prev_tasks;
        // Name the tasks no earlier event named, newest first.
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
        events.push(NewEvent {
            reason: "TasksStarted",
            warning: false,
            message: format!(
                "(service {svc}) has started {n} tasks: {}.",
                names.join(" ")
            ),
        });
    } else if tasks_now < prev_tasks {
        events.push(NewEvent {
            reason: "TasksStopped",
            warning: false,
            message: format!(
                "(service {svc}) has stopped {} running tasks.",
                prev_tasks - tasks_now
            ),
        });
    }
    if let Some(msg) = obs
        .pods
        .iter()
        .filter(|p| live(p))
        .find_map(|p| p.unschedulable.clone())
    {
        events.push(NewEvent {
            reason: "UnableToPlace",
            warning: true,
            message: format!(
                "(service {svc}) was unable to place a task because no node met all of its requirements. Reason: {msg}"
            ),
        });
    }

    let primary_done = primary.rollout_state.as_deref() == Some("COMPLETED");
    let steady = primary_done && running == obs.desired && pending == 0 && !draining;
    let was_steady = prev
        .events
        .first()
        .is_some_and(|e| e.message.ends_with("has reached a steady state."));
    if steady && (!was_steady || !events.is_empty()) {
        events.push(NewEvent {
            reason: "SteadyState",
            warning: false,
            message: format!("(service {svc}) has reached a steady state."),
        });
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

    let failed_now = primary.rollout_state.as_deref() == Some("FAILED");
    let progressing = primary.rollout_state.as_deref() == Some("IN_PROGRESS");
    if rollback_to.is_some() {
        primary.status = "INACTIVE".into();
    }
    deployments.push(primary);
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

    let mut log: Vec<ServiceEvent> = events
        .iter()
        .rev()
        .map(|e| ServiceEvent {
            id: format!("{:08x}", stable_hash(&format!("{now}{}", e.message))),
            created_at: now.clone(),
            message: e.message.clone(),
        })
        .collect();
    log.extend(prev.events.iter().cloned());
    log.truncate(MAX_EVENTS);

    let running_total: i32 = deployments.iter().map(|d| d.running_count).sum();
    let pending_total: i32 = deployments.iter().map(|d| d.pending_count).sum();
    Outcome {
        status: ServiceStatus {
            task_definition: Some(obs.task_definition.clone()),
            desired_count: obs.desired,
            running_count: running_total,
            pending_count: pending_total,
            deployments,
            events: log,
            common: prev.common.clone(),
        },
        events,
        steady,
        progressing,
        failed: failed_now,
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
