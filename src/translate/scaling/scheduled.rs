//! Application Auto Scaling scheduled actions, carried out by the operator: which capacity bounds
//! are in force at a time, and when they change next. Pure: the caller passes the clock.
//!
//! Each firing of an action sets the bounds it names (`ScalableTargetAction` MinCapacity and/or
//! MaxCapacity) and they stay until another firing changes them: Application Auto Scaling "does
//! not keep track of previous values and revert back to those previous values after the end
//! time". So the bounds in force are, for each of min and max, those of the latest firing of an
//! action that sets it, else the scalable target's own.

use super::Capacity;
use crate::api::service::AutoScaling;
use crate::translate::schedule::{ActionTimes, ScheduleError};
use crate::translate::{Warnings, idx};
use chrono::{DateTime, Utc};

/// The bounds in force at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InForce {
    /// The bounds.
    pub capacity: Capacity,
    /// The actions whose values are in force, by name.
    pub actions: Vec<String>,
    /// When the next firing is due, if any.
    pub next: Option<DateTime<Utc>>,
}

/// Parse every action's schedule; an action that does not parse is reported (unsupported) and
/// never fires.
pub fn parse_all(a: &AutoScaling, w: &mut Warnings) -> Vec<Option<ActionTimes>> {
    a.scheduled_actions
        .iter()
        .enumerate()
        .map(|(i, s)| match times(s) {
            Ok(t) => Some(t),
            Err(e) => {
                w.unsupported(
                    format!("{}.Schedule", idx("autoScaling.scheduledActions", i)),
                    format!("{e}; the action is never carried out"),
                );
                None
            }
        })
        .collect()
}

fn times(
    s: &crate::api::generated::autoscaling::PutScheduledActionRequest,
) -> Result<ActionTimes, ScheduleError> {
    ActionTimes::parse(
        s.schedule.as_deref().unwrap_or_default(),
        s.timezone.as_deref(),
        s.start_time.as_deref(),
        s.end_time.as_deref(),
    )
}

/// The bounds in force at `now` for actions that all exist since `since`, and the next firing.
pub fn in_force(a: &AutoScaling, since: DateTime<Utc>, now: DateTime<Utc>) -> InForce {
    in_force_since(a, &|_| since, now)
}

/// The bounds in force at `now`, each action existing since `since(name)` (it fires only after
/// it was put), and the next firing. Invalid schedules are skipped (see [`parse_all`]); with
/// `ScheduledScalingSuspended` no action fires.
pub fn in_force_since(
    a: &AutoScaling,
    since: &dyn Fn(&str) -> DateTime<Utc>,
    now: DateTime<Utc>,
) -> InForce {
    let base = Capacity::of(a);
    let suspended = a
        .scalable_target
        .suspended_state
        .as_ref()
        .is_some_and(|s| s.scheduled_scaling_suspended == Some(true));
    let parsed = parse_all(a, &mut Warnings::default());
    if suspended || parsed.is_empty() {
        return InForce {
            capacity: base,
            actions: Vec::new(),
            next: None,
        };
    }
    // (firing time, index) of the latest action setting min, and max.
    let mut min: Option<(DateTime<Utc>, usize)> = None;
    let mut max: Option<(DateTime<Utc>, usize)> = None;
    let mut next: Option<DateTime<Utc>> = None;
    for (i, t) in parsed.iter().enumerate() {
        let Some(t) = t else { continue };
        let action = a.scheduled_actions[i].scalable_target_action.as_ref();
        let since = since(&a.scheduled_actions[i].scheduled_action_name);
        if let Some(fired) = t.last_firing(since, now) {
            if action.is_some_and(|x| x.min_capacity.is_some()) {
                min = min.max(Some((fired, i)));
            }
            if action.is_some_and(|x| x.max_capacity.is_some()) {
                max = max.max(Some((fired, i)));
            }
        }
        if let Some(n) = t.next_firing(since, now) {
            next = Some(next.map_or(n, |m| m.min(n)));
        }
    }
    let value = |pick: Option<(DateTime<Utc>, usize)>, get: fn(&_) -> Option<i32>| {
        pick.and_then(|(_, i)| {
            a.scheduled_actions[i]
                .scalable_target_action
                .as_ref()
                .and_then(get)
        })
    };
    let lo = value(min, |x| x.min_capacity).unwrap_or(base.min).max(0);
    let hi = value(max, |x| x.max_capacity).unwrap_or(base.max);
    let mut actions: Vec<String> = [min, max]
        .into_iter()
        .flatten()
        .map(|(_, i)| a.scheduled_actions[i].scheduled_action_name.clone())
        .collect();
    actions.dedup();
    InForce {
        capacity: Capacity {
            min: lo,
            max: hi.max(lo),
        },
        actions,
        next,
    }
}
