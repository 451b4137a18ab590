//! Container health checks → probes.

use crate::api::ecs::HealthCheck;
use k8s_openapi::api::core::v1::{ExecAction, Probe};

/// ECS defaults: interval 30 s, timeout 5 s, retries 3, start period 0.
const INTERVAL: i32 = 30;
const TIMEOUT: i32 = 5;
const RETRIES: i32 = 3;

/// The probes for one container.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Probes {
    /// Restart when unhealthy (ECS replaces an unhealthy essential container's task).
    pub liveness: Option<Probe>,
    /// Ready when healthy (ECS counts healthy tasks during deployments).
    pub readiness: Option<Probe>,
    /// Covers startPeriod and the service's health check grace period.
    pub startup: Option<Probe>,
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

/// Probes for a health check. `grace` is the service's healthCheckGracePeriodSeconds.
pub fn probes(check: &HealthCheck, grace: Option<i32>) -> Probes {
    let Some(command) = exec_command(check) else {
        return Probes::default();
    };
    let interval = check.interval.unwrap_or(INTERVAL).max(1);
    let timeout = check.timeout.unwrap_or(TIMEOUT).max(1);
    let retries = check.retries.unwrap_or(RETRIES).max(1);
    let base = Probe {
        exec: Some(ExecAction {
            command: Some(command),
        }),
        period_seconds: Some(interval),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(retries),
        ..Probe::default()
    };
    let start = check.start_period.unwrap_or(0).max(grace.unwrap_or(0));
    let startup = (start > 0).then(|| Probe {
        failure_threshold: Some((start + interval - 1) / interval + retries),
        ..base.clone()
    });
    Probes {
        liveness: Some(base.clone()),
        readiness: Some(Probe {
            failure_threshold: Some(1),
            ..base
        }),
        startup,
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

    #[test]
    fn defaults_and_start_period() {
        let mut c = check(&["CMD", "true"]);
        let p = probes(&c, None);
        let l = p.liveness.unwrap();
        assert_eq!(
            (l.period_seconds, l.timeout_seconds, l.failure_threshold),
            (Some(30), Some(5), Some(3))
        );
        assert!(p.startup.is_none());
        c.interval = Some(10);
        c.start_period = Some(60);
        let s = probes(&c, None).startup.unwrap();
        assert_eq!(s.failure_threshold, Some(6 + 3));
        let s = probes(&c, Some(120)).startup.unwrap();
        assert_eq!(
            s.failure_threshold,
            Some(12 + 3),
            "grace period wins when longer"
        );
    }
}
