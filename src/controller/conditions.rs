//! Standard conditions (`Ready`, `Progressing`, `Degraded`) with `observedGeneration`, kept
//! stable: a condition whose status, reason and message did not change keeps its
//! `lastTransitionTime`, so an unchanged status compares equal and is not written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// `Ready`.
pub const READY: &str = "Ready";
/// `Progressing`.
pub const PROGRESSING: &str = "Progressing";
/// `Degraded`.
pub const DEGRADED: &str = "Degraded";

/// One condition to set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// Condition type.
    pub type_: &'static str,
    /// True or False.
    pub status: bool,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
}

impl Wanted {
    /// A condition.
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Wanted {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The three standard conditions for an outcome: ready, progressing, or degraded (with reason
/// and message).
pub fn standard(
    ready: bool,
    progressing: bool,
    degraded: Option<(&str, &str)>,
    ready_reason: &str,
    ready_message: &str,
) -> Vec<Wanted> {
    let mut out = vec![Wanted::new(READY, ready, ready_reason, ready_message)];
    out.push(if progressing {
        Wanted::new(PROGRESSING, true, "InProgress", ready_message)
    } else {
        Wanted::new(PROGRESSING, false, "Idle", "")
    });
    out.push(match degraded {
        Some((reason, message)) => Wanted::new(DEGRADED, true, reason, message),
        None => Wanted::new(DEGRADED, false, "AsExpected", ""),
    });
    out
}

/// The new condition list: `wanted` applied over `old`, with transition times preserved where
/// nothing changed.
pub fn merge(
    old: &[Condition],
    wanted: &[Wanted],
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    wanted
        .iter()
        .map(|w| {
            let status = if w.status { "True" } else { "False" };
            let prev = old.iter().find(|c| c.type_ == w.type_);
            let keep_time = prev.filter(|p| p.status == status);
            Condition {
                type_: w.type_.to_string(),
                status: status.to_string(),
                reason: w.reason.clone(),
                message: w.message.chars().take(32 * 1024).collect(),
                observed_generation: generation,
                last_transition_time: keep_time
                    .map(|p| p.last_transition_time.clone())
                    .unwrap_or(Time(now)),
            }
        })
        .collect()
}

/// The status of condition `type_` in `conds`, if set.
pub fn is_true(conds: &[Condition], type_: &str) -> Option<bool> {
    conds
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_is_kept_while_status_holds() {
        let t0 = Timestamp::from_second(1_000).unwrap();
        let t1 = Timestamp::from_second(2_000).unwrap();
        let w = standard(true, false, None, "SteadyState", "steady");
        let first = merge(&[], &w, Some(1), t0);
        let again = merge(&first, &w, Some(1), t1);
        assert_eq!(first, again);
        let w2 = standard(false, true, None, "RolloutInProgress", "rolling");
        let third = merge(&again, &w2, Some(2), t1);
        assert_eq!(third[0].last_transition_time, Time(t1));
        assert_eq!(third[0].observed_generation, Some(2));
        assert_eq!(is_true(&third, READY), Some(false));
        assert_eq!(is_true(&third, PROGRESSING), Some(true));
        assert_eq!(is_true(&third, DEGRADED), Some(false));
    }
}
