//! Container health checks → probes.

use super::{Warnings, at};
use crate::api::ecs::HealthCheck;
use crate::api::task_definition::TaskDefinitionSpec;
use k8s_openapi::api::core::v1::{ExecAction, Probe};

/// ECS defaults: interval 30 s, timeout 5 s, retries 3, start period 0.
const INTERVAL: i32 = 30;
const TIMEOUT: i32 = 5;
const RETRIES: i32 = 3;

/// The probes for one container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probes {
    /// Restart when unhealthy (ECS replaces a service task whose essential container is
    /// unhealthy).
    pub liveness: Option<Probe>,
    /// Ready when healthy (only essential containers decide a task's health).
    pub readiness: Option<Probe>,
    /// Holds liveness and readiness back for startPeriod (and the grace period), and holds the
    /// containers waiting for this one to be HEALTHY.
    pub startup: Option<Probe>,
}

/// What decides which probes a container's health check becomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthUse {
    /// The container is essential: its health is the task's.
    pub essential: bool,
    /// A standalone task (RunTask): it keeps running whatever its health.
    pub run_once: bool,
    /// Other containers wait for it to be HEALTHY.
    pub awaited_healthy: bool,
    /// A native sidecar others wait for only to start: a startup probe would hold them back.
    pub start_sidecar: bool,
    /// The Service's healthCheckGracePeriodSeconds.
    pub grace: Option<i32>,
}

/// The exec command of a health check: `CMD` runs the rest directly, `CMD-SHELL` through
/// `/bin/sh -c`, and a command without either marker is run as given (as Docker does).
pub fn exec_command(check: &HealthCheck) -> Option<Vec<String>> {
    let (first, rest) = check.command.split_first()?;
    Some(match first.as_str() {
        "CMD" => rest.to_vec(),
        "CMD-SHELL" => vec!["/bin/sh".into(), "-c".into(), rest.join(" ")],
        _ => check.command.clone(),
    })
}

/// Probes for a health check. `retries` consecutive failures make the container unhealthy, so
/// liveness and readiness fail after `retries` failures. Only essential containers get
/// readiness; only essential containers of Service tasks get liveness (a standalone task keeps
/// running whatever its health), held back by the grace period. startPeriod becomes a startup
/// probe (its failures do not count; a success ends it). `path` is the container's path.
pub fn probes(check: &HealthCheck, using: HealthUse, path: &str, w: &mut Warnings) -> Probes {
    let Some(command) = exec_command(check) else {
        return Probes::default();
    };
    let interval = check.interval.unwrap_or(INTERVAL).max(1);
    let retries = check.retries.unwrap_or(RETRIES).max(1);
    let base = Probe {
        exec: Some(ExecAction {
            command: Some(command),
        }),
        period_seconds: Some(interval),
        timeout_seconds: Some(check.timeout.unwrap_or(TIMEOUT).max(1)),
        failure_threshold: Some(retries),
        ..Probe::default()
    };
    let start_period = check.start_period.unwrap_or(0).max(0);
    let grace = using.grace.unwrap_or(0).max(0);
    let restarts = using.essential && !using.run_once;
    // A sidecar others wait for only to start has no startup probe: its liveness waits instead.
    let delay = if using.start_sidecar {
        grace.max(start_period)
    } else {
        grace
    };
    let liveness = restarts.then(|| Probe {
        initial_delay_seconds: (delay > 0).then_some(delay),
        ..base.clone()
    });
    if !using.essential {
        w.approximated(
            at(path, "healthCheck"),
            if using.awaited_healthy {
                "the health of a non-essential container does not count toward the task's: only a startup probe holds back the containers waiting for it to be HEALTHY (no liveness or readiness probe)"
            } else {
                "the health of a non-essential container does not count toward the task's: it gets no probe (its health status is not reported)"
            },
        );
    }
    if using.start_sidecar && start_period > 0 && liveness.is_some() {
        w.approximated(
            at(path, "healthCheck.startPeriod"),
            "a sidecar others wait for only to start gets no startup probe (it would hold them back): liveness ignores failures for startPeriod seconds (initialDelaySeconds), even after a success",
        );
    }
    let startup = startup_probe(&base, using, start_period, grace, restarts);
    Probes {
        liveness,
        readiness: using.essential.then_some(base),
        startup,
    }
}

/// A startup probe when something must wait for the first success: the containers awaiting
/// HEALTHY, or (for containers that are restarted when unhealthy) the start and grace periods,
/// long enough that `retries` failures after them still count.
fn startup_probe(
    base: &Probe,
    using: HealthUse,
    start_period: i32,
    grace: i32,
    restarts: bool,
) -> Option<Probe> {
    let interval = base.period_seconds.unwrap_or(INTERVAL);
    let retries = base.failure_threshold.unwrap_or(RETRIES);
    let covered = if restarts && !using.start_sidecar {
        start_period.max(grace)
    } else {
        start_period
    };
    let wanted = using.awaited_healthy || (restarts && !using.start_sidecar && covered > 0);
    // In i64: the grace period may be up to i32::MAX seconds (checked arithmetic, no overflow).
    let (covered, interval) = (i64::from(covered), i64::from(interval).max(1));
    let threshold = (covered + interval - 1) / interval + i64::from(retries);
    wanted.then(|| Probe {
        failure_threshold: Some(i32::try_from(threshold).unwrap_or(i32::MAX)),
        ..base.clone()
    })
}

/// healthCheckGracePeriodSeconds of a Service whose essential containers have health checks:
/// what differs from ECS, reported at `healthCheckGracePeriodSeconds`.
pub fn grace_period_warning(grace: Option<i32>, td: &TaskDefinitionSpec, w: &mut Warnings) {
    let checked = td
        .register
        .container_definitions
        .iter()
        .any(|c| c.essential != Some(false) && c.health_check.is_some());
    if grace.unwrap_or(0) > 0 && checked {
        w.approximated(
            "healthCheckGracePeriodSeconds",
            "container health check failures are ignored for the period after each start of a container (liveness initialDelaySeconds, and a startup probe at least that long), not once per task; a container still failing when it ends is restarted after `retries` further failures, where ECS replaces the task at once",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cmd: &[&str]) -> HealthCheck {
        HealthCheck {
            command: cmd.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn cmd_shell_runs_through_sh() {
        let c = check(&["CMD-SHELL", "curl -f http://localhost/ || exit 1"]);
        assert_eq!(
            exec_command(&c).unwrap(),
            vec!["/bin/sh", "-c", "curl -f http://localhost/ || exit 1"]
        );
    }

    #[test]
    fn cmd_runs_directly() {
        assert_eq!(
            exec_command(&check(&["CMD", "/bin/check", "--quick"])).unwrap(),
            vec!["/bin/check", "--quick"]
        );
    }

    fn essential() -> HealthUse {
        HealthUse {
            essential: true,
            ..HealthUse::default()
        }
    }

    #[test]
    fn defaults_and_start_period() {
        let mut c = check(&["CMD", "true"]);
        let mut w = Warnings::default();
        let p = probes(&c, essential(), "c", &mut w);
        let l = p.liveness.unwrap();
        assert_eq!(
            (l.period_seconds, l.timeout_seconds, l.failure_threshold),
            (Some(30), Some(5), Some(3))
        );
        assert_eq!(p.readiness.unwrap().failure_threshold, Some(3));
        assert!(p.startup.is_none());
        c.interval = Some(10);
        c.start_period = Some(60);
        let s = probes(&c, essential(), "c", &mut w).startup.unwrap();
        assert_eq!(s.failure_threshold, Some(6 + 3));
        let using = HealthUse {
            grace: Some(120),
            ..essential()
        };
        let p = probes(&c, using, "c", &mut w);
        assert_eq!(
            p.startup.unwrap().failure_threshold,
            Some(12 + 3),
            "grace period wins when longer"
        );
        assert_eq!(p.liveness.unwrap().initial_delay_seconds, Some(120));
        assert!(w.into_vec().is_empty());
    }

    #[test]
    fn standalone_tasks_get_no_liveness() {
        let c = check(&["CMD", "true"]);
        let using = HealthUse {
            run_once: true,
            ..essential()
        };
        let p = probes(&c, using, "c", &mut Warnings::default());
        assert!(p.liveness.is_none() && p.startup.is_none());
        assert!(p.readiness.is_some());
    }
}
