//! EventBridge schedule expressions → Kubernetes CronJob schedules.
//!
//! EventBridge (and ECS scheduled tasks) accept two recurring forms:
//!
//! * `rate(value unit)` — a fixed interval counted from the moment the rule
//!   was created;
//! * `cron(Minutes Hours Day-of-month Month Day-of-week Year)` — six fields,
//!   day-of-week numbered 1-7 with 1 = Sunday, `?` as "no specific value",
//!   plus the `L`, `W` and `#` extensions.
//!
//! A Kubernetes CronJob takes a standard five-field cron line (day-of-week
//! 0-6 with 0 = Sunday, no year, no `L`/`W`/`#`). This module converts what
//! can be converted, reports an approximation note when the result does not
//! fire at exactly the same instants, and returns a descriptive error for
//! everything else. It is pure: no I/O, no clock.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;

/// Result of converting an EventBridge schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    /// Five-field cron line for `CronJob.spec.schedule`.
    pub schedule: String,
    /// Set when the CronJob does not fire at exactly the instants the
    /// EventBridge expression would; explains the difference.
    pub approximation: Option<String>,
}

/// Why an EventBridge schedule expression could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "schedule expression is empty; expected `rate(value unit)` or `cron(minutes hours day-of-month month day-of-week year)`"
    )]
    Empty,

    #[error(
        "`{expression}` is not a recognized schedule expression; accepted forms are `rate(value unit)` (e.g. `rate(5 minutes)`) and `cron(minutes hours day-of-month month day-of-week year)` (e.g. `cron(0 12 * * ? *)`)"
    )]
    UnrecognizedForm { expression: String },

    #[error(
        "`{expression}` is a one-time `at(...)` schedule, which a CronJob cannot express; run it once as a Task instead"
    )]
    OneTimeSchedule { expression: String },

    #[error("{expression}: expected exactly two parts, `rate(value unit)`, e.g. `rate(5 minutes)`")]
    InvalidRateFormat { expression: String },

    #[error("{expression}: rate value `{value}` must be a positive whole number")]
    InvalidRateValue { expression: String, value: String },

    #[error("{expression}: rate unit `{unit}` is not supported; use minute(s), hour(s) or day(s)")]
    InvalidRateUnit { expression: String, unit: String },

    #[error(
        "{expression}: rate unit `{unit}` does not agree with value {value}; use the singular unit (minute, hour, day) only with 1 and the plural unit otherwise"
    )]
    RateUnitPlurality {
        expression: String,
        value: u64,
        unit: String,
    },

    #[error("{expression}: {reason}")]
    UnrepresentableRate { expression: String, reason: String },

    #[error(
        "{expression}: expected 6 fields (minutes hours day-of-month month day-of-week year), found {found}"
    )]
    CronFieldCount { expression: String, found: usize },

    #[error(
        "{expression}: year field `{year}` cannot be expressed in a Kubernetes CronJob (only `*` is supported)"
    )]
    UnsupportedYear { expression: String, year: String },

    #[error(
        "{expression}: {field} field `{value}` uses `{feature}` ({meaning}), which cannot be expressed in a Kubernetes CronJob"
    )]
    UnsupportedCronFeature {
        expression: String,
        field: &'static str,
        value: String,
        feature: &'static str,
        meaning: &'static str,
    },

    #[error("{expression}: {field} field `{value}` is invalid: {reason}")]
    InvalidCronField {
        expression: String,
        field: &'static str,
        value: String,
        reason: String,
    },

    #[error("{expression}: {reason}")]
    InvalidActionCron { expression: String, reason: String },

    #[error("{expression}: expected `at(yyyy-mm-ddThh:mm:ss)`")]
    InvalidAt { expression: String },

    #[error(
        "Timezone `{zone}` is not a canonical IANA time zone name (such as Etc/GMT+9 or Pacific/Tahiti)"
    )]
    InvalidTimezone { zone: String },

    #[error("{field} `{value}` is not a date and time (expected e.g. 2025-01-31T08:00:00Z)")]
    InvalidTime { field: &'static str, value: String },
}

impl ScheduleError {
    /// Stable snake_case label, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ScheduleError::Empty => "empty",
            ScheduleError::UnrecognizedForm { .. } => "unrecognized_form",
            ScheduleError::OneTimeSchedule { .. } => "one_time_schedule",
            ScheduleError::InvalidRateFormat { .. } => "invalid_rate_format",
            ScheduleError::InvalidRateValue { .. } => "invalid_rate_value",
            ScheduleError::InvalidRateUnit { .. } => "invalid_rate_unit",
            ScheduleError::RateUnitPlurality { .. } => "rate_unit_plurality",
            ScheduleError::UnrepresentableRate { .. } => "unrepresentable_rate",
            ScheduleError::CronFieldCount { .. } => "cron_field_count",
            ScheduleError::UnsupportedYear { .. } => "unsupported_year",
            ScheduleError::UnsupportedCronFeature { .. } => "unsupported_cron_feature",
            ScheduleError::InvalidCronField { .. } => "invalid_cron_field",
            ScheduleError::InvalidActionCron { .. } => "invalid_action_cron",
            ScheduleError::InvalidAt { .. } => "invalid_at",
            ScheduleError::InvalidTimezone { .. } => "invalid_timezone",
            ScheduleError::InvalidTime { .. } => "invalid_time",
        }
    }
}

/// Convert an EventBridge schedule expression (`rate(...)` or `cron(...)`)
/// into a Kubernetes CronJob schedule.
pub fn to_cron(expression: &str) -> Result<CronSchedule, ScheduleError> {
    let expr = expression.trim();
    if expr.is_empty() {
        return Err(ScheduleError::Empty);
    }
    if let Some(inner) = call_body(expr, "rate") {
        return rate_to_cron(expr, inner);
    }
    if let Some(inner) = call_body(expr, "cron") {
        return cron_to_cron(expr, inner);
    }
    if call_body(expr, "at").is_some() {
        return Err(ScheduleError::OneTimeSchedule {
            expression: expr.to_string(),
        });
    }
    Err(ScheduleError::UnrecognizedForm {
        expression: expr.to_string(),
    })
}

/// `name( body )` with `name` matched case-insensitively → `body`.
fn call_body<'a>(expr: &'a str, name: &str) -> Option<&'a str> {
    let head = expr.get(..name.len())?;
    if !head.eq_ignore_ascii_case(name) {
        return None;
    }
    let rest = expr[name.len()..].trim_start();
    let rest = rest.strip_prefix('(')?;
    let body = rest.strip_suffix(')')?;
    Some(body.trim())
}

// ---------------------------------------------------------------------------
// rate(...)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum RateUnit {
    Minutes,
    Hours,
    Days,
}

fn rate_to_cron(expr: &str, inner: &str) -> Result<CronSchedule, ScheduleError> {
    let (value, unit) = normalise_rate(parse_rate(expr, inner)?);
    let (schedule, note) = match unit {
        RateUnit::Minutes => minutes_schedule(expr, value)?,
        RateUnit::Hours => hours_schedule(expr, value)?,
        RateUnit::Days => days_schedule(expr, value)?,
    };
    Ok(CronSchedule {
        schedule,
        approximation: Some(note + &restart_note(value, unit)),
    })
}

/// `value unit` of a `rate(...)` body, checked: a positive whole number, a known unit, and the
/// singular unit exactly for 1.
fn parse_rate(expr: &str, inner: &str) -> Result<(u64, RateUnit), ScheduleError> {
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let [value_text, unit_text] = parts.as_slice() else {
        return Err(ScheduleError::InvalidRateFormat {
            expression: expr.to_string(),
        });
    };
    let value = parse_positive(value_text).ok_or_else(|| ScheduleError::InvalidRateValue {
        expression: expr.to_string(),
        value: value_text.to_string(),
    })?;
    let (unit, plural) = match unit_text.to_ascii_lowercase().as_str() {
        "minute" => (RateUnit::Minutes, false),
        "minutes" => (RateUnit::Minutes, true),
        "hour" => (RateUnit::Hours, false),
        "hours" => (RateUnit::Hours, true),
        "day" => (RateUnit::Days, false),
        "days" => (RateUnit::Days, true),
        _ => {
            return Err(ScheduleError::InvalidRateUnit {
                expression: expr.to_string(),
                unit: unit_text.to_string(),
            });
        }
    };
    if plural == (value == 1) {
        return Err(ScheduleError::RateUnitPlurality {
            expression: expr.to_string(),
            value,
            unit: unit_text.to_string(),
        });
    }
    Ok((value, unit))
}

/// Whole hours expressed in minutes become hours, whole days expressed in hours become days.
fn normalise_rate((mut value, mut unit): (u64, RateUnit)) -> (u64, RateUnit) {
    if unit == RateUnit::Minutes && value >= 60 && value % 60 == 0 {
        value /= 60;
        unit = RateUnit::Hours;
    }
    if unit == RateUnit::Hours && value >= 24 && value % 24 == 0 {
        value /= 24;
        unit = RateUnit::Days;
    }
    (value, unit)
}

fn unrepresentable(expr: &str, reason: String) -> ScheduleError {
    ScheduleError::UnrepresentableRate {
        expression: expr.to_string(),
        reason,
    }
}

/// `rate(N minutes)` with N below 60: every N minutes on the clock.
fn minutes_schedule(expr: &str, value: u64) -> Result<(String, String), ScheduleError> {
    if value >= 60 {
        return Err(unrepresentable(
            expr,
            format!(
                "an interval of {value} minutes is neither below an hour nor a whole number of hours, so no CronJob schedule repeats at that interval"
            ),
        ));
    }
    Ok(if value == 1 {
        (
            "* * * * *".to_string(),
            format!(
                "{expr} fires on the clock (at the start of every minute) rather than counting from when the rule was created"
            ),
        )
    } else {
        (
            format!("*/{value} * * * *"),
            format!(
                "{expr} fires on the clock (minute 0, {value}, {}, ... of each hour) rather than {value} minutes after the rule was created",
                value * 2
            ),
        )
    })
}

/// `rate(N hours)` with N below 24: every N hours on the clock.
fn hours_schedule(expr: &str, value: u64) -> Result<(String, String), ScheduleError> {
    if value >= 24 {
        return Err(unrepresentable(
            expr,
            format!(
                "an interval of {value} hours is neither below a day nor a whole number of days, so no CronJob schedule repeats at that interval"
            ),
        ));
    }
    Ok(if value == 1 {
        (
            "0 * * * *".to_string(),
            format!(
                "{expr} fires on the clock (minute 0 of every hour) rather than one hour after the rule was created"
            ),
        )
    } else {
        (
            format!("0 */{value} * * *"),
            format!(
                "{expr} fires on the clock (minute 0 of hour 0, {value}, {}, ... of each day) rather than {value} hours after the rule was created",
                value * 2
            ),
        )
    })
}

/// `rate(N days)` with N up to 31: midnight every N days of the month.
fn days_schedule(expr: &str, value: u64) -> Result<(String, String), ScheduleError> {
    if value > 31 {
        return Err(unrepresentable(
            expr,
            format!(
                "an interval of {value} days is longer than a month, so no CronJob schedule repeats at that interval"
            ),
        ));
    }
    Ok(if value == 1 {
        (
            "0 0 * * *".to_string(),
            format!(
                "{expr} fires on the clock (every day at midnight) rather than one day after the rule was created"
            ),
        )
    } else {
        (
            format!("0 0 */{value} * *"),
            format!(
                "{expr} fires on the clock (midnight on day 1, {}, ... of each month) rather than {value} days after the rule was created; the count restarts on the 1st of every month, so the gap around a month boundary is shorter",
                1 + value
            ),
        )
    })
}

/// Intervals that do not divide the enclosing period leave a short gap where the step restarts.
fn restart_note(value: u64, unit: RateUnit) -> String {
    let mut note = String::new();
    match unit {
        RateUnit::Minutes if value > 1 && 60 % value != 0 => {
            let _ = write!(
                note,
                "; {value} does not divide 60, so it also fires at minute 0 of every hour and the last gap of each hour is only {} minutes",
                60 - (59 / value) * value
            );
        }
        RateUnit::Hours if value > 1 && 24 % value != 0 => {
            let _ = write!(
                note,
                "; {value} does not divide 24, so it also fires at midnight every day and the last gap of each day is only {} hours",
                24 - (23 / value) * value
            );
        }
        _ => {}
    }
    note
}

/// A strictly positive decimal integer (no sign, no fraction).
fn parse_positive(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|v| *v > 0)
}

// ---------------------------------------------------------------------------
// cron(...)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Minutes => "minutes",
            Field::Hours => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    /// Inclusive numeric bounds, in EventBridge numbering.
    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minutes => (0, 59),
            Field::Hours => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
        }
    }

    /// Accepted names and their EventBridge numbers.
    fn names(self) -> &'static [(&'static str, u32)] {
        match self {
            Field::Month => &[
                ("JAN", 1),
                ("FEB", 2),
                ("MAR", 3),
                ("APR", 4),
                ("MAY", 5),
                ("JUN", 6),
                ("JUL", 7),
                ("AUG", 8),
                ("SEP", 9),
                ("OCT", 10),
                ("NOV", 11),
                ("DEC", 12),
            ],
            Field::DayOfWeek => &[
                ("SUN", 1),
                ("MON", 2),
                ("TUE", 3),
                ("WED", 4),
                ("THU", 5),
                ("FRI", 6),
                ("SAT", 7),
            ],
            _ => &[],
        }
    }

    fn allowed(self) -> String {
        let (lo, hi) = self.bounds();
        match self {
            Field::Month => format!("{lo}-{hi} or JAN-DEC"),
            Field::DayOfWeek => format!("{lo}-{hi} (1 = SUN) or SUN-SAT"),
            _ => format!("{lo}-{hi}"),
        }
    }
}

/// One value inside a field item: a number (EventBridge numbering) or a name.
enum Atom<'a> {
    Number(u32),
    Name(&'a str, u32),
}

fn cron_to_cron(expr: &str, inner: &str) -> Result<CronSchedule, ScheduleError> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    let [minutes, hours, dom, month, dow, year] = fields.as_slice() else {
        return Err(ScheduleError::CronFieldCount {
            expression: expr.to_string(),
            found: fields.len(),
        });
    };

    if *year != "*" {
        return Err(ScheduleError::UnsupportedYear {
            expression: expr.to_string(),
            year: year.to_string(),
        });
    }

    let out_minutes = convert_field(expr, Field::Minutes, minutes)?;
    let out_hours = convert_field(expr, Field::Hours, hours)?;
    let out_dom = convert_field(expr, Field::DayOfMonth, dom)?;
    let out_month = convert_field(expr, Field::Month, month)?;
    let out_dow = convert_field(expr, Field::DayOfWeek, dow)?;

    let dom_q = *dom == "?";
    let dow_q = *dow == "?";
    let approximation = match (dom_q, dow_q) {
        (true, true) => Some(format!(
            "{expr}: both day-of-month and day-of-week are `?` (EventBridge requires exactly one); treated as every day"
        )),
        (false, false) => {
            let dom_star = *dom == "*";
            let dow_star = *dow == "*";
            Some(if dom_star || dow_star {
                format!(
                    "{expr}: day-of-month `{dom}` and day-of-week `{dow}` are both given (EventBridge requires one of them to be `?`); `*` was treated as `?`"
                )
            } else {
                format!(
                    "{expr}: day-of-month `{dom}` and day-of-week `{dow}` are both given (EventBridge requires one of them to be `?`); the CronJob fires on days matching either of them"
                )
            })
        }
        _ => None,
    };

    Ok(CronSchedule {
        schedule: format!("{out_minutes} {out_hours} {out_dom} {out_month} {out_dow}"),
        approximation,
    })
}

fn convert_field(expr: &str, field: Field, text: &str) -> Result<String, ScheduleError> {
    let invalid = |reason: String| ScheduleError::InvalidCronField {
        expression: expr.to_string(),
        field: field.name(),
        value: text.to_string(),
        reason,
    };

    if text == "?" {
        return match field {
            Field::DayOfMonth | Field::DayOfWeek => Ok("*".to_string()),
            _ => Err(invalid(
                "`?` is only allowed in the day-of-month and day-of-week fields".to_string(),
            )),
        };
    }

    let mut out_items = Vec::new();
    for item in text.split(',') {
        if item.is_empty() {
            return Err(invalid("empty list element".to_string()));
        }
        check_unsupported(expr, field, text, item)?;
        out_items.push(convert_item(field, item).map_err(invalid)?);
    }
    Ok(out_items.join(","))
}

/// Reject the EventBridge-only `L`, `W` and `#` extensions with a specific
/// message.
fn check_unsupported(
    expr: &str,
    field: Field,
    text: &str,
    item: &str,
) -> Result<(), ScheduleError> {
    let unsupported = |feature: &'static str, meaning: &'static str| {
        Err(ScheduleError::UnsupportedCronFeature {
            expression: expr.to_string(),
            field: field.name(),
            value: text.to_string(),
            feature,
            meaning,
        })
    };
    if !matches!(field, Field::DayOfMonth | Field::DayOfWeek) {
        return Ok(());
    }
    let upper = item.to_ascii_uppercase();
    if upper.contains('#') {
        return unsupported("#", "the n-th given weekday of the month");
    }
    let digits_then = |suffix: char| {
        upper
            .strip_suffix(suffix)
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if field == Field::DayOfMonth {
        if upper == "LW" {
            return unsupported("LW", "the last weekday of the month");
        }
        if upper == "L" || upper.starts_with("L-") {
            return unsupported("L", "the last day of the month");
        }
        if digits_then('W') {
            return unsupported("W", "the weekday nearest to the given day");
        }
    } else if upper == "L" || digits_then('L') || upper.strip_suffix('L').is_some_and(is_day_name) {
        return unsupported("L", "the last given weekday of the month");
    }
    Ok(())
}

fn is_day_name(s: &str) -> bool {
    Field::DayOfWeek
        .names()
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case(s))
}

/// Convert one list element: `*`, `a`, `a-b`, each optionally followed by
/// `/step`. Returns the Kubernetes spelling or a reason for rejection.
fn convert_item(field: Field, item: &str) -> Result<String, String> {
    let (base, step) = match item.split_once('/') {
        Some((base, step)) => (base, Some(step)),
        None => (item, None),
    };

    if let Some(step) = step {
        let (lo, hi) = field.bounds();
        let span = hi - lo + 1;
        match step.parse::<u32>() {
            Ok(s) if step.bytes().all(|b| b.is_ascii_digit()) && s > 0 && s <= span => {}
            _ => {
                return Err(format!(
                    "step `{step}` must be a whole number between 1 and {span}"
                ));
            }
        }
    }

    let base_out = if base == "*" {
        "*".to_string()
    } else if let Some((a, b)) = base.split_once('-') {
        let start = parse_atom(field, a)?;
        let end = parse_atom(field, b)?;
        let (sv, ev) = (atom_value(&start), atom_value(&end));
        if sv > ev {
            return Err(format!(
                "range `{base}` runs backwards; Kubernetes needs the start to come before the end (split it into two ranges)"
            ));
        }
        format!(
            "{}-{}",
            render_atom(field, &start),
            render_atom(field, &end)
        )
    } else {
        let atom = parse_atom(field, base)?;
        render_atom(field, &atom)
    };

    Ok(match step {
        Some(step) => format!("{base_out}/{step}"),
        None => base_out,
    })
}

fn parse_atom(field: Field, text: &str) -> Result<Atom<'_>, String> {
    let (lo, hi) = field.bounds();
    if text.is_empty() {
        return Err(format!("a value is missing; expected {}", field.allowed()));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u32>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(Atom::Number(v)),
            _ => Err(format!(
                "`{text}` is out of range; expected {}",
                field.allowed()
            )),
        };
    }
    if let Some((_, v)) = field
        .names()
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
    {
        return Ok(Atom::Name(text, *v));
    }
    Err(format!(
        "`{text}` is not valid; expected {}",
        field.allowed()
    ))
}

fn atom_value(atom: &Atom<'_>) -> u32 {
    match atom {
        Atom::Number(v) | Atom::Name(_, v) => *v,
    }
}

/// Numbers are shifted for day-of-week (EventBridge 1-7 → Kubernetes 0-6);
/// names pass through unchanged.
fn render_atom(field: Field, atom: &Atom<'_>) -> String {
    match atom {
        Atom::Name(name, _) => name.to_string(),
        Atom::Number(v) if field == Field::DayOfWeek => (v - 1).to_string(),
        Atom::Number(v) => v.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Application Auto Scaling scheduled actions: when they fire
// ---------------------------------------------------------------------------

/// The recurrence of an Application Auto Scaling scheduled action (`Schedule`).
#[derive(Debug, Clone)]
pub enum Recurrence {
    /// `at(yyyy-mm-ddThh:mm:ss)`: once, at this instant.
    At(DateTime<Utc>),
    /// `rate(value unit)`: every interval, counted from the start time (or the creation).
    Rate(chrono::TimeDelta),
    /// `cron(minutes hours day-of-month month day-of-week year)` in a time zone.
    Cron(Box<croner::Cron>, Tz),
}

/// When one scheduled action fires: its `Schedule`, `Timezone`, `StartTime` and `EndTime`.
#[derive(Debug, Clone)]
pub struct ActionTimes {
    /// The recurrence.
    pub recurrence: Recurrence,
    /// `StartTime`: the first firing of a recurring action, and no firing before it.
    pub start: Option<DateTime<Utc>>,
    /// `EndTime`: no firing after it.
    pub end: Option<DateTime<Utc>>,
}

impl ActionTimes {
    /// Parse a PutScheduledAction's schedule fields. `Timezone` applies to `at` and `cron`
    /// (UTC by default); `StartTime` and `EndTime` are instants (RFC 3339, UTC when no offset).
    pub fn parse(
        schedule: &str,
        timezone: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<Self, ScheduleError> {
        let tz = parse_timezone(timezone)?;
        let recurrence = parse_recurrence(schedule.trim(), tz)?;
        Ok(ActionTimes {
            recurrence,
            start: start.map(|s| parse_instant("StartTime", s)).transpose()?,
            end: end.map(|s| parse_instant("EndTime", s)).transpose()?,
        })
    }

    /// The latest firing in `[since, now]`: `since` is when the action came into existence.
    pub fn last_firing(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let upper = self.end.map_or(now, |e| e.min(now));
        let latest = match &self.recurrence {
            Recurrence::At(t) => Some(*t).filter(|t| *t <= upper),
            Recurrence::Rate(every) => self
                .rate_anchor(since, *every)
                .filter(|(_, first)| *first <= upper)
                .and_then(|(anchor, _)| nth(anchor, *every, steps(upper - anchor, *every))),
            Recurrence::Cron(cron, tz) => {
                let prev = cron
                    .find_previous_occurrence(&upper.with_timezone(tz), true)
                    .ok()
                    .map(|t| t.with_timezone(&Utc))
                    .filter(|t| self.start.is_none_or(|s| *t >= s));
                prev.max(self.start.filter(|s| *s <= upper))
            }
        };
        latest.filter(|t| *t >= since)
    }

    /// The first firing strictly after `now`, if any.
    pub fn next_firing(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let next = match &self.recurrence {
            Recurrence::At(t) => Some(*t).filter(|t| *t > now),
            Recurrence::Rate(every) => {
                self.rate_anchor(since, *every).and_then(|(anchor, first)| {
                    if first > now {
                        Some(first)
                    } else {
                        nth(anchor, *every, steps(now - anchor, *every) + 1)
                    }
                })
            }
            Recurrence::Cron(cron, tz) => match self.start.filter(|s| *s > now) {
                Some(s) => Some(s),
                None => cron
                    .find_next_occurrence(&now.with_timezone(tz), false)
                    .ok()
                    .map(|t| t.with_timezone(&Utc)),
            },
        };
        next.filter(|t| self.end.is_none_or(|e| *t <= e))
    }

    /// A rate counts from `StartTime` (which is its first firing) or else from `since` (first
    /// firing one interval later); `None` when that is past the last representable time.
    fn rate_anchor(
        &self,
        since: DateTime<Utc>,
        every: chrono::TimeDelta,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        match self.start {
            Some(s) => Some((s, s)),
            None => since.checked_add_signed(every).map(|first| (since, first)),
        }
    }
}

/// Whole intervals in `span` (0 when negative).
fn steps(span: chrono::TimeDelta, every: chrono::TimeDelta) -> i64 {
    span.num_seconds().max(0) / every.num_seconds().max(1)
}

/// `anchor` plus `n` intervals; `None` past the last representable time (never an overflow).
fn nth(anchor: DateTime<Utc>, every: chrono::TimeDelta, n: i64) -> Option<DateTime<Utc>> {
    every
        .num_seconds()
        .checked_mul(n)
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|d| anchor.checked_add_signed(d))
}

fn parse_timezone(timezone: Option<&str>) -> Result<Tz, ScheduleError> {
    match timezone.map(str::trim).filter(|z| !z.is_empty()) {
        None => Ok(Tz::UTC),
        Some(z) => z.parse().map_err(|_| ScheduleError::InvalidTimezone {
            zone: z.to_string(),
        }),
    }
}

/// An instant: RFC 3339, or a date and time without offset (UTC), or epoch seconds.
fn parse_instant(field: &'static str, value: &str) -> Result<DateTime<Utc>, ScheduleError> {
    let v = value.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Ok(t.and_utc());
        }
    }
    v.parse::<f64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s.trunc() as i64, 0))
        .ok_or_else(|| ScheduleError::InvalidTime {
            field,
            value: value.to_string(),
        })
}

fn parse_recurrence(expr: &str, tz: Tz) -> Result<Recurrence, ScheduleError> {
    if expr.is_empty() {
        return Err(ScheduleError::Empty);
    }
    if let Some(inner) = call_body(expr, "at") {
        let local = NaiveDateTime::parse_from_str(inner, "%Y-%m-%dT%H:%M:%S").map_err(|_| {
            ScheduleError::InvalidAt {
                expression: expr.to_string(),
            }
        })?;
        let t =
            tz.from_local_datetime(&local)
                .earliest()
                .ok_or_else(|| ScheduleError::InvalidAt {
                    expression: expr.to_string(),
                })?;
        return Ok(Recurrence::At(t.with_timezone(&Utc)));
    }
    if let Some(inner) = call_body(expr, "rate") {
        let (value, unit) = parse_rate(expr, inner)?;
        let unit_secs = match unit {
            RateUnit::Minutes => 60,
            RateUnit::Hours => 3600,
            RateUnit::Days => 86400,
        };
        // Checked: `rate(200000000000 days)` is more seconds than a time span holds.
        return i64::try_from(value)
            .ok()
            .and_then(|v| v.checked_mul(unit_secs))
            .and_then(chrono::TimeDelta::try_seconds)
            .map(Recurrence::Rate)
            .ok_or_else(|| {
                unrepresentable(
                    expr,
                    format!("a rate of {value} is longer than a time span can be"),
                )
            });
    }
    if let Some(inner) = call_body(expr, "cron") {
        return Ok(Recurrence::Cron(Box::new(action_cron(expr, inner)?), tz));
    }
    Err(ScheduleError::UnrecognizedForm {
        expression: expr.to_string(),
    })
}

/// An Application Auto Scaling cron (six fields, day-of-week 1-7 with 1 = Sunday, `?`, `L`,
/// `W`, `#`, a year) as a croner pattern: seconds 0 prepended, Quartz weekday numbering.
fn action_cron(expr: &str, inner: &str) -> Result<croner::Cron, ScheduleError> {
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(ScheduleError::CronFieldCount {
            expression: expr.to_string(),
            found: fields.len(),
        });
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .year(croner::parser::Year::Required)
        .alternative_weekdays(true)
        .build()
        .parse(&format!("0 {}", fields.join(" ")))
        .map_err(|e| ScheduleError::InvalidActionCron {
            expression: expr.to_string(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(expr: &str) -> CronSchedule {
        to_cron(expr).unwrap_or_else(|e| panic!("{expr}: unexpected error: {e}"))
    }

    fn sched(expr: &str) -> String {
        ok(expr).schedule
    }

    fn err(expr: &str) -> ScheduleError {
        match to_cron(expr) {
            Ok(s) => panic!("{expr}: expected an error, got {s:?}"),
            Err(e) => e,
        }
    }

    fn assert_msg_contains(e: &ScheduleError, needles: &[&str]) {
        let msg = e.to_string();
        for n in needles {
            assert!(msg.contains(n), "message {msg:?} lacks {n:?}");
        }
    }

    // ---- rate: minutes ----------------------------------------------------

    #[test]
    fn rate_one_minute() {
        let s = ok("rate(1 minute)");
        assert_eq!(s.schedule, "* * * * *");
        assert!(s.approximation.is_some());
    }

    #[test]
    fn rate_minutes_dividing_sixty() {
        assert_eq!(sched("rate(5 minutes)"), "*/5 * * * *");
        assert_eq!(sched("rate(15 minutes)"), "*/15 * * * *");
        assert_eq!(sched("rate(30 minutes)"), "*/30 * * * *");
        assert_eq!(sched("rate(2 minutes)"), "*/2 * * * *");
    }

    #[test]
    fn rate_note_mentions_clock_phase() {
        let note = ok("rate(5 minutes)").approximation.unwrap();
        assert!(note.contains("rate(5 minutes)"), "{note}");
        assert!(note.contains("on the clock"), "{note}");
        assert!(note.contains("minute 0, 5, 10"), "{note}");
        assert!(note.contains("after the rule was created"), "{note}");
        assert!(!note.contains("does not divide"), "{note}");
    }

    #[test]
    fn rate_minutes_not_dividing_sixty_is_approximated() {
        let s = ok("rate(7 minutes)");
        assert_eq!(s.schedule, "*/7 * * * *");
        let note = s.approximation.unwrap();
        assert!(note.contains("does not divide 60"), "{note}");
        assert!(note.contains("minute 0 of every hour"), "{note}");
        // 0,7,...,56 then 60: last gap is 4 minutes.
        assert!(note.contains("only 4 minutes"), "{note}");
    }

    #[test]
    fn rate_minutes_multiple_of_sixty_become_hours() {
        assert_eq!(sched("rate(60 minutes)"), "0 * * * *");
        assert_eq!(sched("rate(120 minutes)"), "0 */2 * * *");
        assert_eq!(sched("rate(1440 minutes)"), "0 0 * * *");
        let note = ok("rate(120 minutes)").approximation.unwrap();
        assert!(note.contains("rate(120 minutes)"), "{note}");
    }

    #[test]
    fn rate_minutes_over_an_hour_not_whole_hours_is_error() {
        let e = err("rate(90 minutes)");
        assert_eq!(e.label(), "unrepresentable_rate");
        assert_msg_contains(&e, &["rate(90 minutes)", "90 minutes"]);
    }

    // ---- rate: hours ------------------------------------------------------

    #[test]
    fn rate_hours() {
        assert_eq!(sched("rate(1 hour)"), "0 * * * *");
        assert_eq!(sched("rate(2 hours)"), "0 */2 * * *");
        assert_eq!(sched("rate(6 hours)"), "0 */6 * * *");
        assert_eq!(sched("rate(12 hours)"), "0 */12 * * *");
        let note = ok("rate(6 hours)").approximation.unwrap();
        assert!(note.contains("on the clock"), "{note}");
        assert!(!note.contains("does not divide"), "{note}");
    }

    #[test]
    fn rate_hours_not_dividing_24_is_approximated() {
        let s = ok("rate(5 hours)");
        assert_eq!(s.schedule, "0 */5 * * *");
        let note = s.approximation.unwrap();
        assert!(note.contains("does not divide 24"), "{note}");
        assert!(note.contains("midnight"), "{note}");
        // 0,5,10,15,20 then 24: last gap is 4 hours.
        assert!(note.contains("only 4 hours"), "{note}");
    }

    #[test]
    fn rate_hours_multiple_of_24_become_days() {
        assert_eq!(sched("rate(24 hours)"), "0 0 * * *");
        assert_eq!(sched("rate(48 hours)"), "0 0 */2 * *");
    }

    #[test]
    fn rate_hours_over_a_day_not_whole_days_is_error() {
        let e = err("rate(30 hours)");
        assert_eq!(e.label(), "unrepresentable_rate");
        assert_msg_contains(&e, &["30 hours"]);
    }

    // ---- rate: days -------------------------------------------------------

    #[test]
    fn rate_one_day() {
        let s = ok("rate(1 day)");
        assert_eq!(s.schedule, "0 0 * * *");
        assert!(s.approximation.unwrap().contains("midnight"));
    }

    #[test]
    fn rate_days_restart_each_month() {
        let s = ok("rate(3 days)");
        assert_eq!(s.schedule, "0 0 */3 * *");
        let note = s.approximation.unwrap();
        assert!(note.contains("restarts"), "{note}");
        assert!(note.contains("month"), "{note}");
    }

    #[test]
    fn rate_days_longer_than_a_month_is_error() {
        let e = err("rate(45 days)");
        assert_eq!(e.label(), "unrepresentable_rate");
        assert_msg_contains(&e, &["45 days", "month"]);
    }

    // ---- rate: syntax -----------------------------------------------------

    #[test]
    fn rate_is_case_insensitive_and_trimmed() {
        assert_eq!(sched("  RATE(5 MINUTES)  "), "*/5 * * * *");
        assert_eq!(sched("Rate( 1 Hour )"), "0 * * * *");
        assert_eq!(sched("rate (2 Days)"), "0 0 */2 * *");
    }

    #[test]
    fn rate_singular_unit_with_value_other_than_one_is_error() {
        let e = err("rate(5 minute)");
        assert_eq!(e.label(), "rate_unit_plurality");
        assert_msg_contains(&e, &["minute", "singular", "5"]);
    }

    #[test]
    fn rate_plural_unit_with_one_is_error() {
        let e = err("rate(1 hours)");
        assert_eq!(e.label(), "rate_unit_plurality");
        assert_msg_contains(&e, &["hours", "plural"]);
    }

    #[test]
    fn rate_zero_is_error() {
        let e = err("rate(0 minutes)");
        assert_eq!(e.label(), "invalid_rate_value");
        assert_msg_contains(&e, &["`0`", "positive whole number"]);
    }

    #[test]
    fn rate_negative_is_error() {
        let e = err("rate(-5 minutes)");
        assert_eq!(e.label(), "invalid_rate_value");
        assert_msg_contains(&e, &["`-5`", "positive"]);
    }

    #[test]
    fn rate_non_numeric_is_error() {
        for expr in ["rate(five minutes)", "rate(1.5 hours)", "rate(+3 days)"] {
            let e = err(expr);
            assert_eq!(e.label(), "invalid_rate_value", "{expr}");
        }
        assert_msg_contains(&err("rate(five minutes)"), &["`five`"]);
    }

    #[test]
    fn rate_huge_value_is_error_not_panic() {
        let e = err("rate(99999999999999999999999 minutes)");
        assert_eq!(e.label(), "invalid_rate_value");
    }

    #[test]
    fn rate_unknown_unit_is_error() {
        let e = err("rate(5 seconds)");
        assert_eq!(e.label(), "invalid_rate_unit");
        assert_msg_contains(&e, &["`seconds`", "minute(s), hour(s) or day(s)"]);
        assert_eq!(err("rate(2 weeks)").label(), "invalid_rate_unit");
    }

    #[test]
    fn rate_wrong_part_count_is_error() {
        for expr in ["rate(5)", "rate()", "rate(5 minutes please)"] {
            let e = err(expr);
            assert_eq!(e.label(), "invalid_rate_format", "{expr}");
            assert_msg_contains(&e, &["rate(value unit)"]);
        }
    }

    // ---- cron: basics -----------------------------------------------------

    #[test]
    fn cron_simple_daily() {
        let s = ok("cron(0 12 * * ? *)");
        assert_eq!(s.schedule, "0 12 * * *");
        assert_eq!(s.approximation, None);
    }

    #[test]
    fn cron_question_mark_in_dom() {
        assert_eq!(sched("cron(15 10 ? * 6 *)"), "15 10 * * 5");
    }

    #[test]
    fn cron_is_case_insensitive_and_trimmed() {
        assert_eq!(sched("  CRON(0 8 ? * mon-fri *) "), "0 8 * * mon-fri");
        assert_eq!(sched("Cron( 0 8 1 * ? * )"), "0 8 1 * *");
    }

    #[test]
    fn cron_lists_ranges_and_steps_pass_through() {
        assert_eq!(sched("cron(0/15 * * * ? *)"), "0/15 * * * *");
        assert_eq!(sched("cron(0,30 8-17 ? * * *)"), "0,30 8-17 * * *");
        assert_eq!(
            sched("cron(*/10 9-17/2 1-15 1,6 ? *)"),
            "*/10 9-17/2 1-15 1,6 *"
        );
    }

    #[test]
    fn cron_month_names_pass_through() {
        assert_eq!(sched("cron(0 0 1 JAN,JUL ? *)"), "0 0 1 JAN,JUL *");
        assert_eq!(sched("cron(0 0 1 Mar-Sep ? *)"), "0 0 1 Mar-Sep *");
    }

    // ---- cron: day-of-week conversion ---------------------------------------

    #[test]
    fn cron_dow_single_numbers_shift_down() {
        assert_eq!(sched("cron(0 0 ? * 1 *)"), "0 0 * * 0");
        assert_eq!(sched("cron(0 0 ? * 7 *)"), "0 0 * * 6");
    }

    #[test]
    fn cron_dow_range_shifts() {
        assert_eq!(sched("cron(0 9 ? * 2-6 *)"), "0 9 * * 1-5");
    }

    #[test]
    fn cron_dow_list_shifts() {
        assert_eq!(sched("cron(0 9 ? * 1,7 *)"), "0 9 * * 0,6");
    }

    #[test]
    fn cron_dow_step_shifts_start_not_step() {
        assert_eq!(sched("cron(0 9 ? * 2/2 *)"), "0 9 * * 1/2");
        assert_eq!(sched("cron(0 9 ? * 1-7/3 *)"), "0 9 * * 0-6/3");
        assert_eq!(sched("cron(0 9 ? * */2 *)"), "0 9 * * */2");
    }

    #[test]
    fn cron_dow_names_pass_through() {
        assert_eq!(sched("cron(0 9 ? * MON-FRI *)"), "0 9 * * MON-FRI");
        assert_eq!(sched("cron(0 9 ? * SUN *)"), "0 9 * * SUN");
        assert_eq!(sched("cron(0 9 ? * MON,WED,FRI *)"), "0 9 * * MON,WED,FRI");
    }

    #[test]
    fn cron_dow_mixed_name_and_number() {
        assert_eq!(sched("cron(0 9 ? * SUN,7 *)"), "0 9 * * SUN,6");
    }

    // ---- cron: year -------------------------------------------------------

    #[test]
    fn cron_year_must_be_star() {
        let e = err("cron(0 12 * * ? 2027)");
        assert_eq!(e.label(), "unsupported_year");
        assert_eq!(
            e.to_string(),
            "cron(0 12 * * ? 2027): year field `2027` cannot be expressed in a Kubernetes CronJob (only `*` is supported)"
        );
        assert_eq!(
            err("cron(0 12 * * ? 2020-2030)").label(),
            "unsupported_year"
        );
        assert_eq!(err("cron(0 12 * * ? ?)").label(), "unsupported_year");
    }

    // ---- cron: unsupported extensions -------------------------------------

    #[test]
    fn cron_hash_is_error() {
        let e = err("cron(0 10 ? * 6#3 *)");
        assert_eq!(e.label(), "unsupported_cron_feature");
        assert_msg_contains(&e, &["day-of-week", "`6#3`", "`#`", "cannot be expressed"]);
    }

    #[test]
    fn cron_last_day_of_month_is_error() {
        let e = err("cron(0 10 L * ? *)");
        assert_eq!(e.label(), "unsupported_cron_feature");
        assert_msg_contains(&e, &["day-of-month", "`L`", "last day of the month"]);
    }

    #[test]
    fn cron_last_weekday_of_month_is_error() {
        let e = err("cron(0 10 ? * 6L *)");
        assert_eq!(e.label(), "unsupported_cron_feature");
        assert_msg_contains(&e, &["day-of-week", "`6L`", "`L`"]);
        assert_eq!(
            err("cron(0 10 ? * L *)").label(),
            "unsupported_cron_feature"
        );
        assert_eq!(
            err("cron(0 10 ? * FRIL *)").label(),
            "unsupported_cron_feature"
        );
    }

    #[test]
    fn cron_nearest_weekday_is_error() {
        let e = err("cron(0 10 15W * ? *)");
        assert_eq!(e.label(), "unsupported_cron_feature");
        assert_msg_contains(&e, &["`15W`", "`W`", "weekday nearest"]);
        let e = err("cron(0 10 LW * ? *)");
        assert_msg_contains(&e, &["`LW`"]);
    }

    #[test]
    fn cron_names_containing_l_or_w_are_not_mistaken_for_extensions() {
        assert_eq!(sched("cron(0 0 1 JUL ? *)"), "0 0 1 JUL *");
        assert_eq!(sched("cron(0 0 ? * WED *)"), "0 0 * * WED");
    }

    // ---- cron: both day fields ---------------------------------------------

    #[test]
    fn cron_both_day_fields_given_is_approximated() {
        let s = ok("cron(0 9 1 * 2 *)");
        assert_eq!(s.schedule, "0 9 1 * 1");
        let note = s.approximation.unwrap();
        assert!(note.contains("either"), "{note}");
        assert!(note.contains("`?`"), "{note}");
    }

    #[test]
    fn cron_star_in_both_day_fields_is_converted_with_note() {
        let s = ok("cron(0 9 * * MON *)");
        assert_eq!(s.schedule, "0 9 * * MON");
        assert!(s.approximation.unwrap().contains("treated as `?`"));
    }

    #[test]
    fn cron_both_day_fields_question_mark() {
        let s = ok("cron(0 9 ? * ? *)");
        assert_eq!(s.schedule, "0 9 * * *");
        assert!(s.approximation.unwrap().contains("every day"));
    }

    // ---- cron: validation -------------------------------------------------

    #[test]
    fn cron_wrong_field_count_is_error() {
        let e = err("cron(0 12 * * ?)");
        assert_eq!(e.label(), "cron_field_count");
        assert_msg_contains(&e, &["6 fields", "found 5"]);
        assert_eq!(err("cron(0 0 12 * * ? *)").label(), "cron_field_count");
        assert_eq!(err("cron()").label(), "cron_field_count");
    }

    #[test]
    fn cron_minutes_out_of_range() {
        let e = err("cron(60 12 * * ? *)");
        assert_eq!(e.label(), "invalid_cron_field");
        assert_msg_contains(&e, &["minutes field `60`", "0-59"]);
    }

    #[test]
    fn cron_hours_out_of_range() {
        let e = err("cron(0 24 * * ? *)");
        assert_msg_contains(&e, &["hours field `24`", "0-23"]);
    }

    #[test]
    fn cron_dom_out_of_range() {
        assert_msg_contains(
            &err("cron(0 0 0 * ? *)"),
            &["day-of-month field `0`", "1-31"],
        );
        assert_msg_contains(&err("cron(0 0 32 * ? *)"), &["day-of-month", "1-31"]);
    }

    #[test]
    fn cron_month_out_of_range_or_bad_name() {
        assert_msg_contains(&err("cron(0 0 1 13 ? *)"), &["month field `13`", "JAN-DEC"]);
        assert_msg_contains(&err("cron(0 0 1 JANUARY ? *)"), &["`JANUARY`", "1-12"]);
        assert_msg_contains(&err("cron(0 0 1 MON ? *)"), &["month", "`MON`"]);
    }

    #[test]
    fn cron_dow_out_of_range_or_bad_name() {
        let e = err("cron(0 0 ? * 0 *)");
        assert_msg_contains(&e, &["day-of-week field `0`", "1-7", "SUN-SAT"]);
        assert_msg_contains(&err("cron(0 0 ? * 8 *)"), &["day-of-week", "`8`"]);
        assert_msg_contains(&err("cron(0 0 ? * MONDAY *)"), &["`MONDAY`"]);
    }

    #[test]
    fn cron_question_mark_only_in_day_fields() {
        let e = err("cron(? 0 * * ? *)");
        assert_eq!(e.label(), "invalid_cron_field");
        assert_msg_contains(&e, &["minutes", "`?`", "day-of-month and day-of-week"]);
    }

    #[test]
    fn cron_bad_step() {
        assert_msg_contains(&err("cron(0/0 * * * ? *)"), &["step `0`"]);
        assert_msg_contains(&err("cron(0/x * * * ? *)"), &["step `x`"]);
        assert_msg_contains(&err("cron(0/61 * * * ? *)"), &["step `61`", "1 and 60"]);
    }

    #[test]
    fn cron_backwards_range() {
        let e = err("cron(0 17-8 * * ? *)");
        assert_msg_contains(&e, &["hours field `17-8`", "backwards"]);
        assert_msg_contains(&err("cron(0 0 ? * FRI-MON *)"), &["backwards"]);
    }

    #[test]
    fn cron_garbage_in_field() {
        let e = err("cron(abc 0 * * ? *)");
        assert_eq!(e.label(), "invalid_cron_field");
        assert_msg_contains(&e, &["`abc`"]);
        assert_msg_contains(&err("cron(1,,2 0 * * ? *)"), &["empty list element"]);
        assert_msg_contains(&err("cron(1- 0 * * ? *)"), &["missing"]);
    }

    #[test]
    fn cron_invalid_reports_whole_expression() {
        let e = err("cron(99 0 * * ? *)");
        assert!(e.to_string().starts_with("cron(99 0 * * ? *): "), "{e}");
    }

    // ---- other forms ------------------------------------------------------

    #[test]
    fn at_is_one_time_error() {
        let e = err("at(2025-06-01T12:00:00)");
        assert_eq!(e.label(), "one_time_schedule");
        assert_msg_contains(&e, &["one-time", "Task"]);
        assert_eq!(err("AT(2025-06-01T12:00:00)").label(), "one_time_schedule");
    }

    #[test]
    fn garbage_is_error_listing_forms() {
        for expr in [
            "every 5 minutes",
            "*/5 * * * *",
            "rate 5 minutes",
            "cron(0 12 * * ? *",
        ] {
            let e = err(expr);
            assert_eq!(e.label(), "unrecognized_form", "{expr}");
            assert_msg_contains(&e, &["rate(value unit)", "cron("]);
        }
    }

    #[test]
    fn empty_is_error() {
        assert_eq!(err("").label(), "empty");
        assert_eq!(err("   ").label(), "empty");
        assert!(err("").to_string().contains("empty"));
    }

    #[test]
    fn labels_are_snake_case_and_distinct() {
        let errors = [
            err(""),
            err("nonsense"),
            err("at(2025-01-01T00:00:00)"),
            err("rate(5)"),
            err("rate(0 minutes)"),
            err("rate(5 fortnights)"),
            err("rate(5 minute)"),
            err("rate(90 minutes)"),
            err("cron(0 0 * *)"),
            err("cron(0 0 * * ? 2030)"),
            err("cron(0 0 L * ? *)"),
            err("cron(61 0 * * ? *)"),
        ];
        let mut labels: Vec<&str> = errors.iter().map(|e| e.label()).collect();
        for l in &labels {
            assert!(
                l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{l}"
            );
        }
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), errors.len());
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(schedule: &str, now: &str) -> String {
        ActionTimes::parse(schedule, None, None, None)
            .unwrap()
            .next_firing(utc("2000-01-01T00:00:00Z"), utc(now))
            .unwrap()
            .to_rfc3339()
    }

    #[test]
    fn action_crons_use_eventbridge_fields() {
        // Day-of-week 1-7 with 1 = Sunday: 6#3 is the third Friday.
        assert_eq!(
            next("cron(0 10 ? * 6#3 *)", "2025-01-01T00:00:00Z"),
            "2025-01-17T10:00:00+00:00"
        );
        assert_eq!(
            next("cron(30 6 ? * MON *)", "2025-01-01T00:00:00Z"),
            "2025-01-06T06:30:00+00:00"
        );
        // L: the last day of the month.
        assert_eq!(
            next("cron(0 12 L * ? *)", "2025-02-01T00:00:00Z"),
            "2025-02-28T12:00:00+00:00"
        );
        // The year field.
        assert_eq!(
            next("cron(0 0 1 1 ? 2030)", "2025-06-01T00:00:00Z"),
            "2030-01-01T00:00:00+00:00"
        );
        assert!(matches!(
            ActionTimes::parse("cron(0 0 * *)", None, None, None),
            Err(ScheduleError::CronFieldCount { found: 4, .. })
        ));
        assert!(matches!(
            ActionTimes::parse("at(2025-01-01 10:00)", None, None, None),
            Err(ScheduleError::InvalidAt { .. })
        ));
    }

    #[test]
    fn rate_actions_without_a_start_time_count_from_since() {
        let t = ActionTimes::parse("rate(5 minutes)", None, None, None).unwrap();
        let since = utc("2025-01-01T00:00:00Z");
        assert_eq!(t.last_firing(since, utc("2025-01-01T00:04:59Z")), None);
        assert_eq!(
            t.last_firing(since, utc("2025-01-01T00:12:00Z")),
            Some(utc("2025-01-01T00:10:00Z"))
        );
        assert_eq!(
            t.next_firing(since, utc("2025-01-01T00:12:00Z")),
            Some(utc("2025-01-01T00:15:00Z"))
        );
    }
}
