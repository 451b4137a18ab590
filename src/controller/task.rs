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
use crate::api::common::CommonStatus;
use crate::api::ecs::RunTaskRequest;
use crate::api::task::{ContainerState, TaskState, TaskStatus};
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate;

use super::apply::{self, Owner};
use super::conditions::{self, Wanted};
use super::context::{Context, cached};
use super::error::Error;
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
        let mut state = p.clone();
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
        return Observed { state, stop };
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
    if pod.finished() {
        let state = if essential_exited {
            stopped(
                id,
                containers,
                ESSENTIAL_EXITED,
                stop_code::ESSENTIAL_CONTAINER_EXITED,
            )
        } else {
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
        };
        return Observed { state, stop: false };
    }
    if essential_exited {
        return Observed {
            state: stopped(
                id,
                containers,
                ESSENTIAL_EXITED,
                stop_code::ESSENTIAL_CONTAINER_EXITED,
            ),
            stop: !pod.deleting,
        };
    }
    if pod.deleting {
        return Observed {
            state: stopped(id, containers, POD_DELETED, stop_code::USER_INITIATED),
            stop: false,
        };
    }
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
    Observed {
        state: TaskState {
            task_id: id.to_string(),
            last_status: last.into(),
            desired_status: RUNNING.into(),
            stopped_reason: None,
            stop_code: None,
            containers,
        },
        stop: false,
    }
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

/// An Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Warning or Normal.
    pub warning: bool,
    /// CamelCase reason.
    pub reason: &'static str,
    /// Text.
    pub message: String,
}

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

/// Resolve a RunTask's task definition (`family`, `family:N`, ARN; INACTIVE only if in
/// `running`), validate it, find its Cluster and check the Cluster policy with the RunTask's
/// `overrides.taskRoleArn` when given (as `render` does).
pub fn resolve_run(
    ctx: &Context,
    namespace: &str,
    run: &RunTaskRequest,
    running: &BTreeSet<String>,
) -> Result<Resolved, Error> {
    let reference = Some(run.task_definition.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::Invalid("taskDefinition: required".into()))?;
    let revision = service::resolve_revision(ctx, namespace, reference, running)?;
    let td = revision.task_definition()?;
    translate::validate::task_definition(&td)
        .map_err(|e| Error::Invalid(format!("task definition {}: {e}", revision.reference())))?;
    translate::validate::task_with_task_definition(run, &td)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    let cluster =
        service::cluster_of(ctx, namespace, run.cluster.as_deref()).map(|c| c.spec.clone());
    if let Some(policy) = cluster.as_ref().and_then(|c| c.policy.as_ref()) {
        let role = run
            .overrides
            .as_ref()
            .and_then(|o| o.task_role_arn.as_deref())
            .filter(|r| !r.is_empty())
            .or(td.register.task_role_arn.as_deref());
        translate::validate::policy(&td, role, policy)
            .map_err(|e| Error::Policy(format!("PolicyViolation: {e}")))?;
    }
    Ok(Resolved {
        revision,
        task_definition: td,
        cluster,
    })
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

/// Report a user error (unresolvable task definition, policy, invalid spec or schedule) in
/// status and as a Warning Event (once, when the status changes); nothing is applied.
pub async fn report_error<K, S>(
    obj: &K,
    ctx: &Context,
    prev: &S,
    common: impl Fn(&mut S) -> &mut CommonStatus,
    e: &Error,
    now: Timestamp,
) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: serde::Serialize + PartialEq + Clone,
{
    let generation = obj.meta().generation;
    let message = e.to_string();
    let wanted = conditions::standard(
        false,
        false,
        Some((e.reason(), &message)),
        e.reason(),
        &message,
    );
    let mut st = prev.clone();
    let mut old = prev.clone();
    let old_conditions = common(&mut old).conditions.clone();
    let c = common(&mut st);
    c.observed_generation = generation;
    c.conditions = conditions::merge(&old_conditions, &wanted, generation, now);
    if status::write(ctx, obj, Some(prev), &st).await? {
        ctx.event(obj, true, e.reason(), message).await;
    }
    ctx.metrics.failure(K::kind(&()).as_ref(), e.label());
    Ok(())
}

/// How soon to look again at an object that waits on the user (a missing task definition).
fn user_wait(ctx: &Context) -> Duration {
    ctx.settings.resync.min(Duration::from_secs(10))
}

// ---------------------------------------------------------------------------------------------
// The reconciler.
// ---------------------------------------------------------------------------------------------

/// What starting the tasks gave.
enum Start {
    /// Pods created (or found already created); refusals as stopped tasks.
    Started {
        resolved: Box<Resolved>,
        warnings: Vec<translate::Warning>,
        created: Vec<Value>,
        refused: Vec<(String, Error)>,
    },
    /// A pod of an earlier Task of the same name is still going away: try again shortly.
    Wait,
}

async fn start(
    task: &Task,
    ctx: &Context,
    prev: &TaskStatus,
    owner: &Owner,
) -> Result<Start, Error> {
    let ns = task.namespace().unwrap_or_default();
    let name = task.name_any();
    let running: BTreeSet<String> = prev.task_definition.iter().cloned().collect();
    let resolved = resolve_run(ctx, &ns, &task.spec.run, &running)?;
    let t = translate::task::translate(translate::task::RunInput {
        name: &name,
        run: &task.spec.run,
        task_definition_name: &resolved.revision.family,
        task_definition: &resolved.task_definition,
        revision: Some(resolved.revision.number),
        cluster: resolved.cluster.as_ref(),
    });
    let mut warnings = t.warnings;
    warnings.extend(translate::service::task_definition_warnings(
        &resolved.revision.family,
        &resolved.task_definition,
    ));
    let objects: Vec<Value> = t
        .objects
        .iter()
        .map(|o| apply::with_owner(o.to_value(), owner))
        .collect();
    let mut created = Vec::new();
    let mut refused = Vec::new();
    for desired in &objects {
        let live = cached_json(ctx, &ns, desired);
        let is_pod = desired["kind"] == "Pod";
        if let Some(l) = live.as_ref().filter(|_| is_pod) {
            // The pod of a deleted Task of the same name, not yet garbage-collected.
            let foreign = apply::ownership(Some(l), &owner.uid) == apply::Ownership::Foreign;
            let old_task = l["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["kind"] == "Task" && r["name"] == name.as_str());
            if foreign && (old_task || !l["metadata"]["deletionTimestamp"].is_null()) {
                return Ok(Start::Wait);
            }
        }
        match apply::reconcile_object(&ctx.client, &ns, desired, live, owner, &ctx.metrics).await {
            Ok(_) if is_pod => created.push(desired.clone()),
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
    Ok(Start::Started {
        resolved: Box::new(resolved),
        warnings,
        created,
        refused,
    })
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
        return Ok(controlled(&p).then(|| (*p).clone()));
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    ctx.metrics.api_call("get");
    Ok(api.get_opt(id).await?.filter(controlled))
}

/// Reconcile one Task.
pub async fn reconcile(task: Arc<Task>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = match ctx.begin("Task", &*task) {
        Ok(t) => t,
        Err(action) => return Ok(action),
    };
    let ns = task.namespace().unwrap_or_default();
    let owner = Owner::of(&*task);
    let prev: TaskStatus = ctx
        .status_of(&*task, task.status.as_ref())
        .unwrap_or_default();
    let generation = task.metadata.generation;
    let now = Timestamp::now();
    let mut st = prev.clone();
    let mut started_note = None;
    // Pods created by this reconcile that the cache may not hold yet.
    let mut fresh: BTreeMap<String, Pod> = BTreeMap::new();

    let essential: Option<BTreeSet<String>> = if prev.tasks.is_empty() {
        // Not started yet: start, once.
        match start(&task, &ctx, &prev, &owner).await {
            Ok(Start::Wait) => return Ok(Action::requeue(Duration::from_secs(1))),
            Ok(Start::Started {
                resolved,
                warnings,
                created,
                refused,
            }) => {
                st.task_definition = Some(resolved.revision.reference());
                st.common.warnings = status::warnings(&warnings);
                for p in &created {
                    let pod: Pod = serde_json::from_value(p.clone())?;
                    fresh.insert(pod.name_any(), pod);
                }
                let mut ids: Vec<String> = fresh.keys().cloned().collect();
                ids.extend(refused.iter().map(|(id, _)| id.clone()));
                ids.sort_by_key(|id| {
                    id.rsplit('-')
                        .next()
                        .and_then(|n| n.parse::<u32>().ok())
                        .unwrap_or(0)
                });
                st.tasks = ids
                    .iter()
                    .map(|id| match refused.iter().find(|(r, _)| r == id) {
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
                    .collect();
                if !fresh.is_empty() {
                    started_note = Some(format!(
                        "started {} task(s) of taskDefinition {}: {}",
                        fresh.len(),
                        resolved.revision.reference(),
                        fresh.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                Some(resolved.essential())
            }
            Err(e) if e.is_user_error() => {
                report_error(
                    &*task,
                    &ctx,
                    &prev,
                    |s: &mut TaskStatus| &mut s.common,
                    &e,
                    now,
                )
                .await?;
                return Ok(Action::requeue(user_wait(&ctx)));
            }
            Err(e) => return Err(e),
        }
    } else {
        // Started: the revision that was run says which containers are essential.
        prev.task_definition.as_deref().and_then(|r| {
            let running = BTreeSet::from([r.to_string()]);
            service::resolve_revision(&ctx, &ns, r, &running)
                .ok()
                .and_then(|rev| rev.task_definition().ok())
                .map(|td| essential_of(&td))
        })
    };
    let essential = essential.as_ref();

    // Observe.
    let uid = owner.uid.clone();
    let mut observed = Vec::new();
    let mut to_stop: Vec<Pod> = Vec::new();
    let mut unschedulable = None;
    for entry in st.tasks.clone() {
        let pod = if entry.last_status == STOPPED && !fresh.contains_key(&entry.task_id) {
            // Stopped for good: only a pod that is still around matters.
            cached(&ctx.stores.pods, &ns, &entry.task_id)
                .filter(|p| p.owner_references().iter().any(|r| r.uid == uid))
                .map(|p| (*p).clone())
        } else if let Some(p) = cached(&ctx.stores.pods, &ns, &entry.task_id)
            .filter(|p| p.owner_references().iter().any(|r| r.uid == uid))
        {
            Some((*p).clone())
        } else if let Some(p) = fresh.get(&entry.task_id) {
            Some(p.clone())
        } else {
            find_pod(&ctx, &ns, &entry.task_id, &uid).await?
        };
        let facts = pod.as_ref().map(pod_facts);
        if let Some(u) = facts.as_ref().and_then(|f| f.unschedulable.clone()) {
            unschedulable.get_or_insert(u);
        }
        let o = observe(&entry.task_id, Some(&entry), facts.as_ref(), essential);
        if o.stop {
            to_stop.extend(pod);
        }
        observed.push(o.state);
    }
    st.tasks = observed;
    st.last_status = summary_status(&st.tasks);
    st.stopped_reason = summary_reason(&st.tasks, essential);
    let wanted = task_conditions(&st.tasks, essential, unschedulable.as_deref());
    st.common.observed_generation = generation;
    st.common.conditions = conditions::merge(&prev.common.conditions, &wanted, generation, now);

    // Status first (the exit codes are recorded before the pods go), then stop, then Events.
    status::write(&ctx, &*task, Some(&prev), &st).await?;
    if let Some(note) = started_note {
        ctx.event(&*task, false, "TasksStarted", note).await;
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &ns);
    for p in &to_stop {
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
    for n in notes(&prev.tasks, &st.tasks, essential) {
        ctx.event(&*task, n.warning, n.reason, n.message).await;
    }
    if let Some(note) = status::new_warnings_note(&prev.common.warnings, &st.common.warnings) {
        ctx.event(&*task, true, "TranslationWarnings", note).await;
    }
    Ok(if st.last_status.as_deref() == Some(STOPPED) {
        // Done: nothing will change any more.
        Action::await_change()
    } else if to_stop.is_empty() && st.last_status.as_deref() == Some(RUNNING) {
        Action::requeue(ctx.settings.resync)
    } else {
        Action::requeue(ctx.settings.poll)
    })
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
}
