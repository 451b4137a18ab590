//! Task reconciler (RunTask): `count` pods started once, never restarted or recreated, and a
//! status in the terms of `describe-tasks`.
//!
//! Flow: fetch (caches) → not started yet: resolve the task definition revision, the Cluster and
//! its policy (the `overrides.taskRoleArn` included), build the pods with the pure translation
//! and create them (server-side apply, owned objects only), and record the task ids in status so
//! that no later reconcile (nor a restarted operator) starts them again → started: observe the
//! pods ([`observe`], pure), write the status first, then stop (delete) the pods whose essential
//! container exited → conditions and Events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::Value;

use crate::api::Task;
use crate::api::cluster::ClusterSpec;
use crate::api::common::TranslationWarning;
use crate::api::task::{ContainerState, TaskState, TaskStatus};
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate;
use crate::translate::plan::Workload;

use super::apply::{self, Owner};
use super::awaiting;
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
use super::lookup;
use super::revisions::Revision;
use super::service;
use super::status;

/// `stoppedReason` of a task whose essential container exited (the ECS wording).
pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";
/// `stoppedReason` of a task whose pod was deleted by someone else.
pub const POD_DELETED: &str = "Task stopped by user (its pod was deleted)";

/// `lastStatus` values.
pub mod last_status {
    /// Not placed on a node yet.
    pub const PROVISIONING: &str = "PROVISIONING";
    /// Placed; not every container is running yet.
    pub const PENDING: &str = "PENDING";
    /// Every container is running.
    pub const RUNNING: &str = "RUNNING";
    /// Stopped, for good.
    pub const STOPPED: &str = "STOPPED";
}

/// `stopCode` values (ECS `TaskStopCode`).
pub mod stop_code {
    /// An essential container exited.
    pub const ESSENTIAL_CONTAINER_EXITED: &str = "EssentialContainerExited";
    /// The task could not be started.
    pub const TASK_FAILED_TO_START: &str = "TaskFailedToStart";
    /// Someone stopped the task (deleted its pod).
    pub const USER_INITIATED: &str = "UserInitiated";
    /// The platform stopped the task (eviction, node shutdown, preemption).
    pub const TERMINATION_NOTICE: &str = "TerminationNotice";
}

use last_status::{PENDING, PROVISIONING, RUNNING, STOPPED};

// ---------------------------------------------------------------------------------------------
// Pure part: pod facts → task state, summary, conditions, Events.
// ---------------------------------------------------------------------------------------------

/// What a container is doing, as the pod status says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Run {
    /// Not started (or waiting to restart).
    Waiting {
        /// Kubernetes reason (`ContainerCreating`, `ErrImagePull`, ...).
        reason: Option<String>,
        /// Kubernetes message.
        message: Option<String>,
    },
    /// Running.
    Running,
    /// Exited.
    Terminated {
        /// Exit code.
        exit_code: i32,
        /// Kubernetes reason (`Completed`, `Error`, `OOMKilled`, ...).
        reason: Option<String>,
        /// Kubernetes message.
        message: Option<String>,
    },
}

/// One container of a task's pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerFacts {
    /// Container name.
    pub name: String,
    /// Its state.
    pub run: Run,
    /// A plain init container (a dependency with condition COMPLETE/SUCCESS): expected to exit.
    pub init: bool,
}

/// What the operator needs to know about one task's pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodFacts {
    /// Pod name (the task id).
    pub name: String,
    /// Bound to a node.
    pub scheduled: bool,
    /// Pod phase.
    pub phase: String,
    /// Being deleted.
    pub deleting: bool,
    /// Pod-level reason (`Evicted`, ...).
    pub reason: Option<String>,
    /// Pod-level message.
    pub message: Option<String>,
    /// Why the scheduler cannot place it, if it cannot.
    pub unschedulable: Option<String>,
    /// Containers: main containers first, then init containers and sidecars.
    pub containers: Vec<ContainerFacts>,
}

impl PodFacts {
    /// Every container ended: the phase is final.
    pub fn finished(&self) -> bool {
        self.phase == "Succeeded" || self.phase == "Failed"
    }
}

/// Which containers are essential: `None` means all of them (ECS's default).
pub type Essential<'a> = Option<&'a BTreeSet<String>>;

fn is_essential(essential: Essential<'_>, name: &str) -> bool {
    essential.is_none_or(|e| e.contains(name))
}

/// One task as observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    /// Its state, for status.
    pub state: TaskState,
    /// Its pod must be deleted now (an essential container exited while others run).
    pub stop: bool,
}

fn container_state(c: &ContainerFacts) -> ContainerState {
    let reason = |r: &Option<String>, m: &Option<String>| match (r.as_deref(), m.as_deref()) {
        (Some("OOMKilled"), _) => {
            Some("OutOfMemoryError: Container killed due to memory usage".to_string())
        }
        (Some("Completed" | "Error") | None, None) => None,
        (Some("Completed" | "Error") | None, Some(m)) => Some(m.to_string()),
        (Some(r), None) => Some(r.to_string()),
        (Some(r), Some(m)) => Some(format!("{r}: {m}")),
    };
    match &c.run {
        Run::Waiting { reason: r, message } => ContainerState {
            name: c.name.clone(),
            last_status: PENDING.into(),
            exit_code: None,
            reason: match r.as_deref() {
                Some("ContainerCreating" | "PodInitializing") => None,
                _ => reason(r, message),
            },
        },
        Run::Running => ContainerState {
            name: c.name.clone(),
            last_status: RUNNING.into(),
            exit_code: None,
            reason: None,
        },
        Run::Terminated {
            exit_code,
            reason: r,
            message,
        } => ContainerState {
            name: c.name.clone(),
            last_status: STOPPED.into(),
            exit_code: Some(*exit_code),
            reason: reason(r, message),
        },
    }
}

/// Containers of a stopped task: every container is STOPPED (those still running are being
/// stopped along with the task).
fn stopped_containers(cs: Vec<ContainerState>) -> Vec<ContainerState> {
    cs.into_iter()
        .map(|mut c| {
            c.last_status = STOPPED.into();
            c
        })
        .collect()
}

fn stopped(
    id: &str,
    containers: Vec<ContainerState>,
    reason: impl Into<String>,
    code: &str,
) -> TaskState {
    TaskState {
        task_id: id.to_string(),
        last_status: STOPPED.into(),
        desired_status: STOPPED.into(),
        stopped_reason: Some(reason.into()),
        stop_code: Some(code.to_string()),
        containers: stopped_containers(containers),
    }
}

/// A task recorded STOPPED stays STOPPED with what was recorded; exit codes still unknown are
/// filled in from the pod while it exists, and a pod still running is stopped (again).
fn still_stopped(recorded: &TaskState, pod: Option<&PodFacts>) -> Observed {
    let mut state = recorded.clone();
    if let Some(pod) = pod {
        for c in state
            .containers
            .iter_mut()
            .filter(|c| c.exit_code.is_none())
        {
            let seen = pod.containers.iter().find(|f| f.name == c.name);
            if let Some(f) = seen.filter(|f| matches!(f.run, Run::Terminated { .. })) {
                let s = container_state(f);
                c.exit_code = s.exit_code;
                c.reason = c.reason.take().or(s.reason);
            }
        }
    }
    let stop = pod.is_some_and(|p| !p.deleting && !p.finished());
    Observed { state, stop }
}

/// The state of a task whose pod finished: an essential container exited, or the pod failed
/// (evicted, preempted, could not start).
fn finished_state(
    id: &str,
    pod: &PodFacts,
    containers: Vec<ContainerState>,
    essential_exited: bool,
) -> TaskState {
    if essential_exited {
        return stopped(
            id,
            containers,
            ESSENTIAL_EXITED,
            stop_code::ESSENTIAL_CONTAINER_EXITED,
        );
    }
    let why = match (pod.reason.as_deref(), pod.message.as_deref()) {
        (Some(r), Some(m)) => format!("{r}: {m}"),
        (Some(r), None) => r.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => format!("Task failed: its pod ended with phase {}", pod.phase),
    };
    let code = match pod.reason.as_deref() {
        Some("Evicted" | "Preempting" | "Terminated" | "NodeLost" | "Shutdown") => {
            stop_code::TERMINATION_NOTICE
        }
        _ if pod
            .containers
            .iter()
            .any(|c| !c.init && matches!(c.run, Run::Terminated { .. })) =>
        {
            stop_code::ESSENTIAL_CONTAINER_EXITED
        }
        _ => stop_code::TASK_FAILED_TO_START,
    };
    stopped(id, containers, why, code)
}

/// The state of a task whose pod runs: PROVISIONING until placed, RUNNING once every container
/// runs, else PENDING.
fn live_state(id: &str, pod: &PodFacts, containers: Vec<ContainerState>) -> TaskState {
    let last = if !pod.scheduled {
        PROVISIONING
    } else if pod.phase == "Running"
        && pod
            .containers
            .iter()
            .all(|c| c.init || !matches!(c.run, Run::Waiting { .. }))
    {
        RUNNING
    } else {
        PENDING
    };
    TaskState {
        task_id: id.to_string(),
        last_status: last.into(),
        desired_status: RUNNING.into(),
        stopped_reason: None,
        stop_code: None,
        containers,
    }
}

/// The state of task `id` from its previous state and its pod (`None`: the pod is gone).
///
/// A STOPPED task stays STOPPED with what was recorded (exit codes still unknown are filled in
/// from the pod while it exists). An essential container that exited stops the task; a
/// non-essential one does not.
pub fn observe(
    id: &str,
    prev: Option<&TaskState>,
    pod: Option<&PodFacts>,
    essential: Essential<'_>,
) -> Observed {
    if let Some(p) = prev.filter(|p| p.last_status == STOPPED) {
        return still_stopped(p, pod);
    }
    let Some(pod) = pod else {
        let containers = prev.map(|p| p.containers.clone()).unwrap_or_default();
        return Observed {
            state: stopped(id, containers, POD_DELETED, stop_code::USER_INITIATED),
            stop: false,
        };
    };
    let containers: Vec<ContainerState> = pod.containers.iter().map(container_state).collect();
    let essential_exited = pod.containers.iter().any(|c| {
        !c.init && is_essential(essential, &c.name) && matches!(c.run, Run::Terminated { .. })
    });
    let (state, stop) = if pod.finished() {
        (finished_state(id, pod, containers, essential_exited), false)
    } else if essential_exited {
        let state = stopped(
            id,
            containers,
            ESSENTIAL_EXITED,
            stop_code::ESSENTIAL_CONTAINER_EXITED,
        );
        (state, !pod.deleting)
    } else if pod.deleting {
        let state = stopped(id, containers, POD_DELETED, stop_code::USER_INITIATED);
        (state, false)
    } else {
        (live_state(id, pod, containers), false)
    };
    Observed { state, stop }
}

/// Whether a stopped task failed: an essential container exited non-zero, it could not start, or
/// the platform stopped it before any essential container exited.
pub fn failed(t: &TaskState, essential: Essential<'_>) -> bool {
    if t.last_status != STOPPED {
        return false;
    }
    let codes: Vec<i32> = t
        .containers
        .iter()
        .filter(|c| is_essential(essential, &c.name))
        .filter_map(|c| c.exit_code)
        .collect();
    match t.stop_code.as_deref() {
        Some(stop_code::TASK_FAILED_TO_START) => true,
        Some(stop_code::USER_INITIATED) => codes.iter().any(|c| *c != 0),
        _ => codes.is_empty() || codes.iter().any(|c| *c != 0),
    }
}

/// Top-level `lastStatus`: STOPPED once every task stopped, else the least advanced state of
/// the tasks still running.
pub fn summary_status(tasks: &[TaskState]) -> Option<String> {
    if tasks.is_empty() {
        return None;
    }
    let rank = |s: &str| match s {
        PROVISIONING => 0,
        PENDING => 1,
        RUNNING => 2,
        _ => 3,
    };
    tasks
        .iter()
        .map(|t| t.last_status.as_str())
        .min_by_key(|s| rank(s))
        .map(String::from)
}

/// Top-level `stoppedReason` once every task stopped: that of the first failed task, else of
/// the first task.
pub fn summary_reason(tasks: &[TaskState], essential: Essential<'_>) -> Option<String> {
    if tasks.is_empty() || tasks.iter().any(|t| t.last_status != STOPPED) {
        return None;
    }
    tasks
        .iter()
        .find(|t| failed(t, essential))
        .or(tasks.first())
        .and_then(|t| t.stopped_reason.clone())
}

/// `app exit code 3, sidecar STOPPED` for an Event.
pub fn exit_codes(t: &TaskState) -> String {
    t.containers
        .iter()
        .map(|c| match c.exit_code {
            Some(code) => format!("{} exit code {code}", c.name),
            None => format!("{} {}", c.name, c.last_status),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The standard conditions for the observed tasks. `unschedulable` explains a PROVISIONING task.
pub fn task_conditions(
    tasks: &[TaskState],
    essential: Essential<'_>,
    unschedulable: Option<&str>,
) -> Vec<Wanted> {
    let total = tasks.len();
    let count = |s: &str| tasks.iter().filter(|t| t.last_status == s).count();
    let (running, stopped_n) = (count(RUNNING), count(STOPPED));
    let failures: Vec<&TaskState> = tasks.iter().filter(|t| failed(t, essential)).collect();
    let degraded_msg = failures
        .iter()
        .map(|t| {
            format!(
                "task {} stopped: {} ({})",
                t.task_id,
                t.stopped_reason.as_deref().unwrap_or("unknown"),
                exit_codes(t)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let degraded_reason = if failures.iter().any(|t| {
        t.stop_code.as_deref() == Some(stop_code::TASK_FAILED_TO_START)
            && t.stopped_reason
                .as_deref()
                .is_some_and(|r| r.contains("is not owned by this resource"))
    }) {
        "NotOwned"
    } else {
        "TaskFailed"
    };
    let degraded = (!failures.is_empty()).then_some((degraded_reason, degraded_msg.as_str()));
    if total == 0 {
        return conditions::standard(false, true, None, "Starting", "starting the tasks");
    }
    if running == total {
        let msg = format!("{total} of {total} task(s) RUNNING");
        return conditions::standard(true, false, None, "Running", &msg);
    }
    if stopped_n == total {
        let msg = format!(
            "all {total} task(s) STOPPED: {}",
            summary_reason(tasks, essential).unwrap_or_default()
        );
        return conditions::standard(false, false, degraded, "Stopped", &msg);
    }
    let starting: Vec<String> = tasks
        .iter()
        .filter(|t| t.last_status == PROVISIONING || t.last_status == PENDING)
        .map(|t| format!("{} {}", t.task_id, t.last_status))
        .collect();
    if !starting.is_empty() {
        let mut msg = format!(
            "{running} of {total} task(s) RUNNING; {}",
            starting.join(", ")
        );
        if let Some(u) = unschedulable {
            msg.push_str(&format!(" ({u})"));
        }
        let reason = if count(PROVISIONING) > 0 {
            "Provisioning"
        } else {
            "Pending"
        };
        return conditions::standard(false, true, degraded, reason, &msg);
    }
    let msg = format!("{running} of {total} task(s) RUNNING, {stopped_n} STOPPED");
    conditions::standard(false, false, degraded, "PartiallyStopped", &msg)
}

pub use super::status::Note;

/// Events for what changed between two observations: tasks that stopped, and every task
/// reaching RUNNING.
pub fn notes(old: &[TaskState], new: &[TaskState], essential: Essential<'_>) -> Vec<Note> {
    let mut out = Vec::new();
    for t in new.iter().filter(|t| t.last_status == STOPPED) {
        let was = old.iter().find(|o| o.task_id == t.task_id);
        if was.is_some_and(|o| o.last_status == STOPPED) {
            continue;
        }
        out.push(Note {
            warning: failed(t, essential),
            reason: "TaskStopped",
            message: format!(
                "task {} stopped: {} ({})",
                t.task_id,
                t.stopped_reason.as_deref().unwrap_or("unknown"),
                exit_codes(t)
            ),
        });
    }
    let all_running =
        |ts: &[TaskState]| !ts.is_empty() && ts.iter().all(|t| t.last_status == RUNNING);
    if all_running(new) && !all_running(old) {
        out.push(Note {
            warning: false,
            reason: "TasksRunning",
            message: format!(
                "{} task(s) RUNNING: {}",
                new.len(),
                new.iter()
                    .map(|t| t.task_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Pods → facts.
// ---------------------------------------------------------------------------------------------

fn run_of(s: Option<&ContainerStatus>) -> Run {
    let state = s.and_then(|s| s.state.as_ref());
    if let Some(t) = state.and_then(|st| st.terminated.as_ref()) {
        return Run::Terminated {
            exit_code: t.exit_code,
            reason: t.reason.clone(),
            message: t.message.clone(),
        };
    }
    if state.and_then(|st| st.running.as_ref()).is_some() {
        return Run::Running;
    }
    let w = state.and_then(|st| st.waiting.as_ref());
    Run::Waiting {
        reason: w.and_then(|w| w.reason.clone()),
        message: w.and_then(|w| w.message.clone()),
    }
}

/// The facts of a pod.
pub fn pod_facts(p: &Pod) -> PodFacts {
    let spec = p.spec.clone().unwrap_or_default();
    let st = p.status.clone().unwrap_or_default();
    let find = |list: &Option<Vec<ContainerStatus>>, name: &str| {
        list.iter().flatten().find(|c| c.name == name).cloned()
    };
    let mut containers: Vec<ContainerFacts> = spec
        .containers
        .iter()
        .map(|c| ContainerFacts {
            name: c.name.clone(),
            run: run_of(find(&st.container_statuses, &c.name).as_ref()),
            init: false,
        })
        .collect();
    containers.extend(
        spec.init_containers
            .iter()
            .flatten()
            .map(|c| ContainerFacts {
                name: c.name.clone(),
                run: run_of(find(&st.init_container_statuses, &c.name).as_ref()),
                init: c.restart_policy.as_deref() != Some("Always"),
            }),
    );
    let unschedulable = st
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .and_then(|c| c.message.clone());
    PodFacts {
        name: p.name_any(),
        scheduled: spec.node_name.as_deref().is_some_and(|n| !n.is_empty()),
        phase: st.phase.clone().unwrap_or_else(|| "Pending".into()),
        deleting: p.metadata.deletion_timestamp.is_some(),
        reason: st.reason.clone(),
        message: st.message.clone(),
        unschedulable,
        containers,
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution and build, shared with ScheduledTask.
// ---------------------------------------------------------------------------------------------

/// A RunTask resolved against the namespace: revision, its spec, the Cluster.
pub struct Resolved {
    /// The revision run.
    pub revision: Revision,
    /// Its spec.
    pub task_definition: TaskDefinitionSpec,
    /// The Cluster, if one exists.
    pub cluster: Option<ClusterSpec>,
}

impl Resolved {
    /// Names of the essential containers (`essential` defaults to true).
    pub fn essential(&self) -> BTreeSet<String> {
        essential_of(&self.task_definition)
    }
}

fn essential_of(td: &TaskDefinitionSpec) -> BTreeSet<String> {
    td.register
        .container_definitions
        .iter()
        .filter(|c| c.essential != Some(false))
        .map(|c| c.name.clone())
        .collect()
}

/// Plan a Task or ScheduledTask from the caches (the plan `render` shows): its task definition
/// (`family`, `family:N`, ARN; INACTIVE only if in `running`) resolved and validated, its
/// Cluster's policy checked with the RunTask's `overrides.taskRoleArn` when given, the objects
/// and every warning (the task definition's own included).
pub fn plan_run(
    ctx: &Context,
    namespace: &str,
    workload: &Workload<'_>,
    running: &BTreeSet<String>,
) -> Result<(Resolved, Vec<translate::Object>, Vec<translate::Warning>), Error> {
    let plan = lookup::plan(&ctx.stores, namespace, workload, running)?;
    let mut warnings = plan.warnings.clone();
    warnings.extend(plan.task_definition_warnings());
    let resolved = Resolved {
        revision: plan.task_definition.origin,
        task_definition: plan.task_definition.spec,
        cluster: plan.cluster,
    };
    Ok((resolved, plan.objects, warnings))
}

/// The cached object of `desired` (a Pod, ServiceAccount or CronJob), as JSON.
pub fn cached_json(ctx: &Context, ns: &str, desired: &Value) -> Option<Value> {
    let name = desired["metadata"]["name"].as_str().unwrap_or_default();
    let s = &ctx.stores;
    fn v<K: serde::Serialize>(o: Option<Arc<K>>) -> Option<Value> {
        o.map(|o| serde_json::to_value(&*o).expect("objects serialise"))
    }
    match desired["kind"].as_str().unwrap_or_default() {
        "Pod" => v(cached(&s.pods, ns, name)),
        "ServiceAccount" => v(cached(&s.service_accounts, ns, name)),
        "CronJob" => v(cached(&s.cron_jobs, ns, name)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The reconciler.
// ---------------------------------------------------------------------------------------------

/// What a RunTask translates to.
struct Translated {
    resolved: Resolved,
    objects: Vec<Value>,
    warnings: Vec<translate::Warning>,
}

/// Resolve the task definition revision and the Cluster, validate, check the Cluster policy
/// and translate the RunTask into pods (owned by the Task): [`plan_run`], the plan `render` shows.
fn resolve_and_translate(
    ctx: &Context,
    task: &Task,
    running: &BTreeSet<String>,
    owner: &Owner,
) -> Result<Translated, Error> {
    let ns = task.namespace().unwrap_or_default();
    let name = task.name_any();
    let workload = Workload::Task {
        name: &name,
        run: &task.spec.run,
    };
    let (resolved, objects, warnings) = plan_run(ctx, &ns, &workload, running)?;
    Ok(Translated {
        objects: objects
            .iter()
            .map(|o| apply::with_owner(o.to_value(), owner))
            .collect(),
        resolved,
        warnings,
    })
}

/// Tasks started by this reconcile.
struct Started {
    /// `family:N` run.
    task_definition: String,
    /// Its essential containers.
    essential: BTreeSet<String>,
    /// Translation warnings.
    warnings: Vec<TranslationWarning>,
    /// Pods created, by name (the cache may not hold them yet).
    fresh: BTreeMap<String, Pod>,
    /// Pods not created because an object of the same name is not ours: (task id, why).
    refused: Vec<(String, Error)>,
}

impl Started {
    /// The tasks as first recorded, in index order: PROVISIONING, or STOPPED when refused.
    fn tasks(&self) -> Vec<TaskState> {
        let mut ids: Vec<String> = self.fresh.keys().cloned().collect();
        ids.extend(self.refused.iter().map(|(id, _)| id.clone()));
        ids.sort_by_key(|id| {
            id.rsplit('-')
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(0)
        });
        ids.iter()
            .map(|id| match self.refused.iter().find(|(r, _)| r == id) {
                Some((_, e)) => stopped(
                    id,
                    Vec::new(),
                    format!("Task failed to start: {e}"),
                    stop_code::TASK_FAILED_TO_START,
                ),
                None => TaskState {
                    task_id: id.clone(),
                    last_status: PROVISIONING.into(),
                    desired_status: RUNNING.into(),
                    ..TaskState::default()
                },
            })
            .collect()
    }

    /// The `TasksStarted` Event, when pods were created.
    fn note(&self) -> Option<Note> {
        (!self.fresh.is_empty()).then(|| {
            Note::normal(
                "TasksStarted",
                format!(
                    "started {} task(s) of taskDefinition {}: {}",
                    self.fresh.len(),
                    self.task_definition,
                    self.fresh.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }
}

/// What starting the tasks gave.
enum Start {
    /// Pods created (or found already created); refusals as stopped tasks.
    Started(Started),
    /// A pod of an earlier Task of the same name is still going away: try again shortly.
    Wait,
}

/// Whether `live` is the pod of a deleted Task of the same name, not yet garbage-collected.
fn earlier_pod(live: &Value, name: &str, owner: &Owner) -> bool {
    let foreign = apply::ownership(Some(live), &owner.uid) == apply::Ownership::Foreign;
    let old_task = live["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["kind"] == "Task" && r["name"] == name);
    foreign && (old_task || !live["metadata"]["deletionTimestamp"].is_null())
}

/// Start the tasks, once: create their pods (and ServiceAccount).
async fn start(
    task: &Task,
    ctx: &Context,
    prev: &TaskStatus,
    owner: &Owner,
) -> Result<Start, Error> {
    let ns = task.namespace().unwrap_or_default();
    let running: BTreeSet<String> = prev.task_definition.iter().cloned().collect();
    let t = resolve_and_translate(ctx, task, &running, owner)?;
    let mut fresh = BTreeMap::new();
    let mut refused = Vec::new();
    for desired in &t.objects {
        let live = cached_json(ctx, &ns, desired);
        let is_pod = desired["kind"] == "Pod";
        if live
            .as_ref()
            .is_some_and(|l| is_pod && earlier_pod(l, &task.name_any(), owner))
        {
            return Ok(Start::Wait);
        }
        match apply::reconcile_object(&ctx.client, &ns, desired, live, owner, &ctx.metrics).await {
            Ok(_) if is_pod => {
                let pod: Pod = serde_json::from_value(desired.clone())?;
                fresh.insert(pod.name_any(), pod);
            }
            Ok(_) => {}
            Err(e @ Error::NotOwned { .. }) if is_pod => {
                let id = desired["metadata"]["name"].as_str().unwrap_or_default();
                refused.push((id.to_string(), e));
            }
            // A ServiceAccount that is not ours: the pods would run with someone else's
            // identity. Nothing starts.
            Err(e) => return Err(e),
        }
    }
    Ok(Start::Started(Started {
        task_definition: t.resolved.revision.reference(),
        essential: t.resolved.essential(),
        warnings: status::warnings(&t.warnings),
        fresh,
        refused,
    }))
}

/// The pod `id` of `task`: from the cache, else (a pod the cache may not have seen yet) from the
/// API server. Only a pod this Task controls counts.
async fn find_pod(ctx: &Context, ns: &str, id: &str, uid: &str) -> Result<Option<Pod>, Error> {
    let controlled = |p: &Pod| {
        p.owner_references()
            .iter()
            .any(|r| r.uid == uid && r.controller == Some(true))
    };
    if let Some(p) = cached(&ctx.stores.pods, ns, id) {
        let p = p.object();
        return Ok(controlled(&p).then_some(p));
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    ctx.metrics.api_call("get");
    Ok(api.get_opt(id).await?.filter(controlled))
}

/// The essential containers of the revision a started Task runs.
fn essential_of_running(ctx: &Context, ns: &str, prev: &TaskStatus) -> Option<BTreeSet<String>> {
    prev.task_definition.as_deref().and_then(|r| {
        let running = BTreeSet::from([r.to_string()]);
        service::resolve_revision(ctx, ns, r, &running)
            .ok()
            .and_then(|rev| rev.task_definition().ok())
            .map(|td| essential_of(&td))
    })
}

/// The pod of task `entry`: ours from the cache, just created, or read from the API server; a
/// task stopped for good only looks at the cache.
async fn pod_of(
    ctx: &Context,
    ns: &str,
    uid: &str,
    entry: &TaskState,
    fresh: &BTreeMap<String, Pod>,
) -> Result<Option<Pod>, Error> {
    let ours = cached(&ctx.stores.pods, ns, &entry.task_id)
        .filter(|p| p.owner_references().iter().any(|r| r.uid == uid))
        .map(|p| p.object());
    if ours.is_some() || (entry.last_status == STOPPED && !fresh.contains_key(&entry.task_id)) {
        return Ok(ours);
    }
    match fresh.get(&entry.task_id) {
        Some(p) => Ok(Some(p.clone())),
        None => find_pod(ctx, ns, &entry.task_id, uid).await,
    }
}

/// The tasks as observed now.
#[derive(Debug, Default)]
struct Tasks {
    /// Their states, in order.
    states: Vec<TaskState>,
    /// Pods to delete (an essential container exited).
    to_stop: Vec<Pod>,
    /// Why the scheduler cannot place a task, if it cannot.
    unschedulable: Option<String>,
}

/// Observe every recorded task through its pod.
async fn observe_tasks(
    ctx: &Context,
    task: &Task,
    recorded: &[TaskState],
    fresh: &BTreeMap<String, Pod>,
    essential: Essential<'_>,
) -> Result<Tasks, Error> {
    let ns = task.namespace().unwrap_or_default();
    let uid = task.meta().uid.clone().unwrap_or_default();
    let mut out = Tasks::default();
    for entry in recorded {
        let pod = pod_of(ctx, &ns, &uid, entry, fresh).await?;
        let facts = pod.as_ref().map(pod_facts);
        if let Some(u) = facts.as_ref().and_then(|f| f.unschedulable.clone()) {
            out.unschedulable.get_or_insert(u);
        }
        let o = observe(&entry.task_id, Some(entry), facts.as_ref(), essential);
        if o.stop {
            out.to_stop.extend(pod);
        }
        out.states.push(o.state);
    }
    Ok(out)
}

/// The next status and the Events to publish (pure): `base` (the previous status, with the
/// tasks just started) with the observed tasks, their summary and conditions; Events for tasks
/// that stopped or all reached RUNNING, and for new warnings.
fn compute_status(
    prev: &TaskStatus,
    base: TaskStatus,
    tasks: &Tasks,
    essential: Essential<'_>,
    generation: Option<i64>,
    now: Timestamp,
) -> (TaskStatus, Vec<Note>) {
    let mut st = base;
    st.tasks = tasks.states.clone();
    st.last_status = summary_status(&st.tasks);
    st.stopped_reason = summary_reason(&st.tasks, essential);
    let wanted = task_conditions(&st.tasks, essential, tasks.unschedulable.as_deref());
    st.common = status::common(
        &prev.common,
        &wanted,
        st.common.warnings.clone(),
        generation,
        now,
    );
    let mut out = notes(&prev.tasks, &st.tasks, essential);
    out.extend(status::warnings_note(
        &prev.common.warnings,
        &st.common.warnings,
    ));
    (st, out)
}

/// Stop (delete) the pods whose essential container exited, with their grace period.
async fn stop_pods(ctx: &Context, ns: &str, pods: &[Pod]) -> Result<(), Error> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    for p in pods {
        let grace = p
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .map(|g| g.max(0) as u32);
        let dp = DeleteParams {
            grace_period_seconds: grace,
            preconditions: Some(Preconditions {
                uid: p.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        ctx.metrics.api_call("delete");
        match api.delete(&p.name_any(), &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// How soon to look again: never once every task stopped, at the resync interval while all
/// run, else soon.
fn requeue(ctx: &Context, st: &TaskStatus, tasks: &Tasks) -> Action {
    if st.last_status.as_deref() == Some(STOPPED) {
        Action::await_change()
    } else if tasks.to_stop.is_empty() && st.last_status.as_deref() == Some(RUNNING) {
        Action::requeue(ctx.settings.resync)
    } else {
        Action::requeue(ctx.settings.poll)
    }
}

/// Reconcile one Task: start its tasks once, observe them through their pods, write the status
/// (exit codes are recorded before the pods go), stop the pods whose essential container
/// exited, publish the Events.
pub async fn reconcile(task: Arc<Task>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("Task", &*task) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let ns = task.namespace().unwrap_or_default();
    let prev: TaskStatus = ctx
        .status_of(&*task, task.status.as_ref())
        .unwrap_or_default();
    let mut base = prev.clone();
    let started = if prev.tasks.is_empty() {
        match start(&task, &ctx, &prev, &Owner::of(&*task)).await {
            Ok(Start::Wait) => return Ok(Action::requeue(Duration::from_secs(1))),
            Ok(Start::Started(s)) => Some(s),
            // A task definition on its way is waited for quietly; anything else is reported.
            Err(e) => {
                return match awaiting::task_definition(&ctx, &*task, &e) {
                    Some(action) => Ok(action),
                    None => status::report(&ctx, &*task, &prev, e).await,
                };
            }
        }
    } else {
        None
    };
    if let Some(s) = &started {
        base.task_definition = Some(s.task_definition.clone());
        base.common.warnings = s.warnings.clone();
        base.tasks = s.tasks();
    }
    let essential = match &started {
        Some(s) => Some(s.essential.clone()),
        None => essential_of_running(&ctx, &ns, &prev),
    };
    let fresh = started
        .as_ref()
        .map(|s| s.fresh.clone())
        .unwrap_or_default();
    let tasks = observe_tasks(&ctx, &task, &base.tasks, &fresh, essential.as_ref()).await?;
    let generation = task.metadata.generation;
    let (st, notes) = compute_status(
        &prev,
        base,
        &tasks,
        essential.as_ref(),
        generation,
        Timestamp::now(),
    );
    status::write(&ctx, &*task, Some(&prev), &st).await?;
    ctx.publish(&*task, started.as_ref().and_then(Started::note).as_slice())
        .await;
    stop_pods(&ctx, &ns, &tasks.to_stop).await?;
    ctx.publish(&*task, &notes).await;
    Ok(requeue(&ctx, &st, &tasks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, run: Run) -> ContainerFacts {
        ContainerFacts {
            name: name.into(),
            run,
            init: false,
        }
    }

    fn exited(code: i32) -> Run {
        Run::Terminated {
            exit_code: code,
            reason: Some(if code == 0 { "Completed" } else { "Error" }.into()),
            message: None,
        }
    }

    fn pod(phase: &str, containers: Vec<ContainerFacts>) -> PodFacts {
        PodFacts {
            name: "job-0".into(),
            scheduled: phase != "Unscheduled",
            phase: if phase == "Unscheduled" {
                "Pending"
            } else {
                phase
            }
            .into(),
            containers,
            ..PodFacts::default()
        }
    }

    fn app_essential() -> BTreeSet<String> {
        BTreeSet::from(["app".to_string()])
    }

    fn waiting() -> Run {
        Run::Waiting {
            reason: Some("ContainerCreating".into()),
            message: None,
        }
    }

    #[test]
    fn tasks_go_through_provisioning_pending_running() {
        let e = app_essential();
        let unscheduled = pod("Unscheduled", vec![c("app", waiting())]);
        let o = observe("job-0", None, Some(&unscheduled), Some(&e));
        assert_eq!(o.state.last_status, PROVISIONING);
        assert_eq!(o.state.desired_status, RUNNING);
        assert_eq!(o.state.containers[0].last_status, PENDING);
        assert_eq!(o.state.containers[0].reason, None);
        let pending = pod("Pending", vec![c("app", waiting())]);
        assert_eq!(
            observe("job-0", None, Some(&pending), Some(&e))
                .state
                .last_status,
            PENDING
        );
        let running = pod(
            "Running",
            vec![c("app", Run::Running), c("sidecar", Run::Running)],
        );
        let o = observe("job-0", None, Some(&running), Some(&e));
        assert_eq!(o.state.last_status, RUNNING);
        assert!(!o.stop);
        let pulling = pod(
            "Pending",
            vec![c(
                "app",
                Run::Waiting {
                    reason: Some("ErrImagePull".into()),
                    message: Some("not found".into()),
                },
            )],
        );
        let o = observe("job-0", None, Some(&pulling), Some(&e));
        assert_eq!(
            o.state.containers[0].reason.as_deref(),
            Some("ErrImagePull: not found")
        );
    }

    #[test]
    fn an_essential_container_exiting_stops_the_task_and_its_pod() {
        let e = app_essential();
        let p = pod(
            "Running",
            vec![c("app", exited(3)), c("sidecar", Run::Running)],
        );
        let o = observe("job-0", None, Some(&p), Some(&e));
        assert!(o.stop, "the pod must be deleted");
        assert_eq!(o.state.last_status, STOPPED);
        assert_eq!(o.state.desired_status, STOPPED);
        assert_eq!(o.state.stopped_reason.as_deref(), Some(ESSENTIAL_EXITED));
        assert_eq!(
            o.state.stop_code.as_deref(),
            Some(stop_code::ESSENTIAL_CONTAINER_EXITED)
        );
        assert_eq!(o.state.containers[0].exit_code, Some(3));
        assert_eq!(o.state.containers[1].last_status, STOPPED);
        assert_eq!(o.state.containers[1].exit_code, None);
        assert!(failed(&o.state, Some(&e)));
        // Once recorded, the pod still running is stopped again (a delete that failed)...
        let again = observe("job-0", Some(&o.state), Some(&p), Some(&e));
        assert!(again.stop);
        assert_eq!(again.state, o.state);
        // ... but not while it is going away, and the exit codes survive the pod.
        let going = PodFacts {
            deleting: true,
            containers: vec![c("app", exited(3)), c("sidecar", exited(143))],
            ..p.clone()
        };
        let o2 = observe("job-0", Some(&o.state), Some(&going), Some(&e));
        assert!(!o2.stop);
        assert_eq!(o2.state.containers[1].exit_code, Some(143));
        let gone = observe("job-0", Some(&o2.state), None, Some(&e));
        assert_eq!(gone.state, o2.state);
        assert!(!gone.stop);
    }

    #[test]
    fn a_non_essential_container_exiting_does_not_stop_the_task() {
        let e = app_essential();
        let p = pod(
            "Running",
            vec![c("app", Run::Running), c("sidecar", exited(1))],
        );
        let o = observe("job-0", None, Some(&p), Some(&e));
        assert!(!o.stop);
        assert_eq!(o.state.last_status, RUNNING);
        assert_eq!(o.state.containers[1].exit_code, Some(1));
        // Without the task definition every container counts as essential.
        let o = observe("job-0", None, Some(&p), None);
        assert!(o.stop);
    }

    #[test]
    fn finished_pods_are_stopped_tasks() {
        let e = app_essential();
        let ok = pod("Succeeded", vec![c("app", exited(0))]);
        let o = observe("job-0", None, Some(&ok), Some(&e));
        assert_eq!(o.state.last_status, STOPPED);
        assert_eq!(o.state.stopped_reason.as_deref(), Some(ESSENTIAL_EXITED));
        assert!(!o.stop);
        assert!(!failed(&o.state, Some(&e)));
        let evicted = PodFacts {
            reason: Some("Evicted".into()),
            message: Some("The node was low on resource: memory.".into()),
            ..pod("Failed", vec![c("app", waiting())])
        };
        let o = observe("job-0", None, Some(&evicted), Some(&e));
        assert_eq!(
            o.state.stopped_reason.as_deref(),
            Some("Evicted: The node was low on resource: memory.")
        );
        assert_eq!(
            o.state.stop_code.as_deref(),
            Some(stop_code::TERMINATION_NOTICE)
        );
        assert!(failed(&o.state, Some(&e)));
        // An init container that completed is no essential exit.
        let init = ContainerFacts {
            init: true,
            ..c("migrate", exited(0))
        };
        let p = pod("Running", vec![c("app", Run::Running), init]);
        assert_eq!(
            observe("job-0", None, Some(&p), Some(&e)).state.last_status,
            RUNNING
        );
    }

    #[test]
    fn a_deleted_pod_stops_its_task_for_good() {
        let e = app_essential();
        let running = observe(
            "job-0",
            None,
            Some(&pod("Running", vec![c("app", Run::Running)])),
            Some(&e),
        )
        .state;
        let o = observe("job-0", Some(&running), None, Some(&e));
        assert_eq!(o.state.last_status, STOPPED);
        assert_eq!(o.state.stopped_reason.as_deref(), Some(POD_DELETED));
        assert_eq!(o.state.containers[0].last_status, STOPPED);
        assert!(!failed(&o.state, Some(&e)));
    }

    fn state(id: &str, last: &str) -> TaskState {
        TaskState {
            task_id: id.into(),
            last_status: last.into(),
            desired_status: RUNNING.into(),
            ..TaskState::default()
        }
    }

    #[test]
    fn summary_and_conditions() {
        let e = app_essential();
        let cond = |ws: &[Wanted], t: &str| {
            ws.iter()
                .find(|w| w.type_ == t)
                .map(|w| (w.status, w.reason.clone()))
                .unwrap()
        };
        let ts = vec![state("a", RUNNING), state("b", PENDING)];
        assert_eq!(summary_status(&ts).as_deref(), Some(PENDING));
        let w = task_conditions(&ts, Some(&e), None);
        assert_eq!(cond(&w, conditions::READY), (false, "Pending".into()));
        assert!(cond(&w, conditions::PROGRESSING).0);
        let ts = vec![state("a", RUNNING), state("b", RUNNING)];
        let w = task_conditions(&ts, Some(&e), None);
        assert_eq!(cond(&w, conditions::READY), (true, "Running".into()));
        assert!(!cond(&w, conditions::DEGRADED).0);
        let mut bad = stopped(
            "a",
            vec![ContainerState {
                name: "app".into(),
                last_status: STOPPED.into(),
                exit_code: Some(3),
                reason: None,
            }],
            ESSENTIAL_EXITED,
            stop_code::ESSENTIAL_CONTAINER_EXITED,
        );
        let mut good = bad.clone();
        good.task_id = "b".into();
        good.containers[0].exit_code = Some(0);
        let ts = vec![good.clone(), bad.clone()];
        assert_eq!(summary_status(&ts).as_deref(), Some(STOPPED));
        assert_eq!(
            summary_reason(&ts, Some(&e)).as_deref(),
            Some(ESSENTIAL_EXITED)
        );
        let w = task_conditions(&ts, Some(&e), None);
        assert_eq!(cond(&w, conditions::READY), (false, "Stopped".into()));
        assert!(!cond(&w, conditions::PROGRESSING).0);
        assert_eq!(cond(&w, conditions::DEGRADED), (true, "TaskFailed".into()));
        let w = task_conditions(&[good.clone()], Some(&e), None);
        assert!(!cond(&w, conditions::DEGRADED).0);
        // A sidecar's non-zero exit code does not make the task failed.
        bad.containers[0].exit_code = Some(0);
        bad.containers.push(ContainerState {
            name: "sidecar".into(),
            last_status: STOPPED.into(),
            exit_code: Some(137),
            reason: None,
        });
        assert!(!failed(&bad, Some(&e)));
        assert!(failed(&bad, None));
    }

    #[test]
    fn events_report_stops_and_running_once() {
        let e = app_essential();
        let old = vec![state("a", PENDING)];
        let running = vec![state("a", RUNNING)];
        let n = notes(&old, &running, Some(&e));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].reason, "TasksRunning");
        assert!(notes(&running, &running, Some(&e)).is_empty());
        let st = stopped(
            "a",
            vec![ContainerState {
                name: "app".into(),
                last_status: STOPPED.into(),
                exit_code: Some(3),
                reason: None,
            }],
            ESSENTIAL_EXITED,
            stop_code::ESSENTIAL_CONTAINER_EXITED,
        );
        let n = notes(&running, std::slice::from_ref(&st), Some(&e));
        assert_eq!(n.len(), 1);
        assert!(n[0].warning);
        assert_eq!(
            n[0].message,
            "task a stopped: Essential container in task exited (app exit code 3)"
        );
        assert!(
            notes(
                std::slice::from_ref(&st),
                std::slice::from_ref(&st),
                Some(&e)
            )
            .is_empty()
        );
    }

    #[test]
    fn the_status_summarises_the_tasks_and_keeps_the_started_ones_warnings() {
        use crate::api::common::CommonStatus;
        use crate::controller::testing::condition;
        let e = app_essential();
        let warning = TranslationWarning {
            path: "overrides.cpu".into(),
            disposition: "approximated".into(),
            message: "m".into(),
        };
        let base = TaskStatus {
            task_definition: Some("job:1".into()),
            common: CommonStatus {
                warnings: vec![warning.clone()],
                ..CommonStatus::default()
            },
            ..TaskStatus::default()
        };
        let tasks = Tasks {
            states: vec![state("job-0", RUNNING), state("job-1", RUNNING)],
            ..Tasks::default()
        };
        let now = Timestamp::from_second(100).unwrap();
        let (st, notes) =
            compute_status(&TaskStatus::default(), base, &tasks, Some(&e), Some(2), now);
        assert_eq!(
            st,
            TaskStatus {
                task_definition: Some("job:1".into()),
                last_status: Some(RUNNING.into()),
                stopped_reason: None,
                tasks: tasks.states.clone(),
                common: CommonStatus {
                    observed_generation: Some(2),
                    conditions: vec![
                        condition("Ready", "True", "Running", "2 of 2 task(s) RUNNING", 100),
                        condition("Progressing", "False", "Idle", "", 100),
                        condition("Degraded", "False", "AsExpected", "", 100),
                    ],
                    warnings: vec![warning],
                },
            }
        );
        assert_eq!(
            notes,
            vec![
                Note::normal("TasksRunning", "2 task(s) RUNNING: job-0, job-1"),
                Note::warning(
                    "TranslationWarnings",
                    "1 field(s) could not be carried over exactly: overrides.cpu (approximated): m;"
                ),
            ]
        );
    }
}
