//! RegisterTaskDefinition: task-level rules (container count, family, Fargate, task size,
//! volumes). Container and port mapping rules are in `containers` and `ports`.

use super::{Rule, ValidationError, ValidationErrors, containers, ecs_name, ports, result};
use crate::api::ecs::{Compatibility, NetworkMode, PidMode, RegisterTaskDefinitionRequest};
use crate::api::quantity::TaskSize;
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::resources;
use std::collections::BTreeSet;

/// The CEL condition "the task definition does not require FARGATE".
macro_rules! not_fargate {
    () => {
        "!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(x, x == 'FARGATE') || "
    };
}
pub(super) use not_fargate;

/// The task-level rules.
pub mod rules {
    use super::super::{Admission::*, Rule};

    pub const CONTAINER_DEFINITIONS_REQUIRED: Rule = Rule {
        name: "container_definitions_required",
        message: "Container list cannot be empty.",
        admission: Cel("size(self.containerDefinitions) > 0"),
    };
    pub const AT_MOST_TEN_CONTAINERS: Rule = Rule {
        name: "at_most_ten_containers",
        message: "Too many: must have at most 10 items (container definitions per task definition)",
        admission: Schema,
    };
    pub const FAMILY_NAME: Rule = Rule {
        name: "family_name",
        message: "family: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed",
        admission: Reconcile,
    };
    pub const FARGATE_REQUIRES_CPU: Rule = Rule {
        name: "fargate_requires_cpu",
        message: "Fargate requires that 'cpu' be defined at the task level.",
        admission: Cel(concat!(not_fargate!(), "(has(self.cpu) && self.cpu != '')")),
    };
    pub const FARGATE_REQUIRES_MEMORY: Rule = Rule {
        name: "fargate_requires_memory",
        message: "Fargate requires that 'memory' be defined at the task level.",
        admission: Cel(concat!(
            not_fargate!(),
            "(has(self.memory) && self.memory != '')"
        )),
    };
    pub const FARGATE_NETWORK_MODE: Rule = Rule {
        name: "fargate_network_mode",
        message: "Fargate only supports network mode 'awsvpc'.",
        admission: Cel(concat!(
            not_fargate!(),
            "!has(self.networkMode) || self.networkMode == 'awsvpc'"
        )),
    };
    pub const FARGATE_SIZE: Rule = Rule {
        name: "fargate_size",
        message: "No Fargate configuration exists for the given cpu and memory values (256: 512-2048 MiB; 512: 1-4 GB; 1024: 2-8 GB; 2048: 4-16 GB; 4096: 8-30 GB; 8192: 16-60 GB in 4 GB steps; 16384: 32-120 GB in 8 GB steps)",
        // Sizes written as plain numbers; other forms ("1 vCPU") are checked at registration.
        admission: Cel(concat!(
            not_fargate!(),
            "!has(self.cpu) || !has(self.memory) || !self.cpu.matches('^[0-9]+$') || !self.memory.matches('^[0-9]+$') || (int(self.cpu) == 256 && int(self.memory) in [512, 1024, 2048]) || (int(self.cpu) == 512 && int(self.memory) >= 1024 && int(self.memory) <= 4096 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 1024 && int(self.memory) >= 2048 && int(self.memory) <= 8192 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 2048 && int(self.memory) >= 4096 && int(self.memory) <= 16384 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 4096 && int(self.memory) >= 8192 && int(self.memory) <= 30720 && int(self.memory) % 1024 == 0) || (int(self.cpu) == 8192 && int(self.memory) >= 16384 && int(self.memory) <= 61440 && int(self.memory) % 4096 == 0) || (int(self.cpu) == 16384 && int(self.memory) >= 32768 && int(self.memory) <= 122880 && int(self.memory) % 8192 == 0)"
        )),
    };
    pub const FARGATE_PID_MODE: Rule = Rule {
        name: "fargate_pid_mode",
        message: "pidMode: on Fargate, the only valid value is task",
        admission: Cel(concat!(
            not_fargate!(),
            "!has(self.pidMode) || self.pidMode == 'task'"
        )),
    };
    pub const FARGATE_IPC_MODE: Rule = Rule {
        name: "fargate_ipc_mode",
        message: "ipcMode: not supported for tasks run on Fargate",
        admission: Cel(concat!(not_fargate!(), "!has(self.ipcMode)")),
    };
    pub const TASK_CPU_AMOUNT: Rule = Rule {
        name: "task_cpu_amount",
        message: "cpu: not a CPU amount (\"256\", \"1 vCPU\")",
        admission: Reconcile,
    };
    pub const TASK_CPU_RANGE: Rule = Rule {
        name: "task_cpu_range",
        message: "cpu: supported values are between 128 CPU units (0.125 vCPUs) and 196608 CPU units (192 vCPUs)",
        admission: Reconcile,
    };
    pub const TASK_MEMORY_AMOUNT: Rule = Rule {
        name: "task_memory_amount",
        message: "memory: not a memory amount (\"512\", \"2 GB\")",
        admission: Reconcile,
    };
    pub const CONTAINER_CPU_WITHIN_TASK_CPU: Rule = Rule {
        name: "container_cpu_within_task_cpu",
        message: "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.",
        admission: Reconcile,
    };
    pub const CONTAINER_MEMORY_WITHIN_TASK_MEMORY: Rule = Rule {
        name: "container_memory_within_task_memory",
        message: "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.",
        admission: Reconcile,
    };
    pub const EPHEMERAL_STORAGE_SIZE: Rule = Rule {
        name: "ephemeral_storage_size",
        message: "ephemeralStorage.sizeInGiB: the minimum supported value is 21 GiB and the maximum supported value is 200 GiB",
        admission: Cel(
            "!has(self.ephemeralStorage) || (self.ephemeralStorage.sizeInGiB >= 21 && self.ephemeralStorage.sizeInGiB <= 200)",
        ),
    };
    pub const VOLUME_NAMES_UNIQUE: Rule = Rule {
        name: "volume_names_unique",
        message: "volumes: volume names must be unique within a task definition",
        admission: Reconcile,
    };
    pub const VOLUME_NAME: Rule = Rule {
        name: "volume_name",
        message: "volumes[].name: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed",
        admission: Reconcile,
    };
    pub const FARGATE_HOST_SOURCE_PATH: Rule = Rule {
        name: "fargate_host_source_path",
        message: "volumes[].host.sourcePath: not supported on Fargate",
        admission: Reconcile,
    };
}

pub(super) const RULES: &[&Rule] = &[
    &rules::CONTAINER_DEFINITIONS_REQUIRED,
    &rules::AT_MOST_TEN_CONTAINERS,
    &rules::FAMILY_NAME,
    &rules::FARGATE_REQUIRES_CPU,
    &rules::FARGATE_REQUIRES_MEMORY,
    &rules::FARGATE_NETWORK_MODE,
    &rules::FARGATE_SIZE,
    &rules::FARGATE_PID_MODE,
    &rules::FARGATE_IPC_MODE,
    &rules::TASK_CPU_AMOUNT,
    &rules::TASK_CPU_RANGE,
    &rules::TASK_MEMORY_AMOUNT,
    &rules::CONTAINER_CPU_WITHIN_TASK_CPU,
    &rules::CONTAINER_MEMORY_WITHIN_TASK_MEMORY,
    &rules::EPHEMERAL_STORAGE_SIZE,
    &rules::VOLUME_NAMES_UNIQUE,
    &rules::VOLUME_NAME,
    &rules::FARGATE_HOST_SOURCE_PATH,
];

/// Whether the task definition requires FARGATE.
pub(super) fn fargate(reg: &RegisterTaskDefinitionRequest) -> bool {
    reg.requires_compatibilities
        .as_deref()
        .unwrap_or_default()
        .contains(&Compatibility::Fargate)
}

/// A task size that is set (ECS treats `""`, as in the CLI's skeleton, as unset).
pub(super) fn size(s: &Option<TaskSize>) -> Option<&TaskSize> {
    s.as_ref().filter(|s| !s.0.trim().is_empty())
}

/// What ECS rejects at RegisterTaskDefinition.
pub fn task_definition(td: &TaskDefinitionSpec) -> Result<(), ValidationErrors> {
    let reg = &td.register;
    let mut out = Vec::new();
    container_count(reg, &mut out);
    family(reg, &mut out);
    fargate_task(reg, &mut out);
    task_size(reg, &mut out);
    container_sums(reg, &mut out);
    volumes(reg, &mut out);
    containers::check(reg, &mut out);
    ports::check(reg, &mut out);
    result(out)
}

fn container_count(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    let n = reg.container_definitions.len();
    if n == 0 {
        out.push(rules::CONTAINER_DEFINITIONS_REQUIRED.at("containerDefinitions"));
    }
    if n > 10 {
        out.push(rules::AT_MOST_TEN_CONTAINERS.at("containerDefinitions"));
    }
}

fn family(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    // An empty family is unset in Tidewater: it defaults to metadata.name.
    if let Some(f) = reg.family.as_deref().filter(|f| !ecs_name(f)) {
        out.push(rules::FAMILY_NAME.with_value("family", f));
    }
}

fn fargate_task(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    if !fargate(reg) {
        return;
    }
    if size(&reg.cpu).is_none() {
        out.push(rules::FARGATE_REQUIRES_CPU.at("cpu"));
    }
    if size(&reg.memory).is_none() {
        out.push(rules::FARGATE_REQUIRES_MEMORY.at("memory"));
    }
    if reg.network_mode.is_some_and(|n| n != NetworkMode::Awsvpc) {
        out.push(rules::FARGATE_NETWORK_MODE.at("networkMode"));
    }
    if reg.pid_mode.is_some_and(|p| p != PidMode::Task) {
        out.push(rules::FARGATE_PID_MODE.at("pidMode"));
    }
    if reg.ipc_mode.is_some() {
        out.push(rules::FARGATE_IPC_MODE.at("ipcMode"));
    }
    if let (Some(c), Some(m)) = (
        size(&reg.cpu).and_then(TaskSize::cpu_units),
        size(&reg.memory).and_then(TaskSize::memory_mib),
    ) && !resources::fargate_memory_valid(c, m)
    {
        out.push(rules::FARGATE_SIZE.at("memory"));
    }
}

fn task_size(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    if let Some(c) = size(&reg.cpu).filter(|c| c.cpu_units().is_none()) {
        out.push(rules::TASK_CPU_AMOUNT.with_value("cpu", &c.0));
    }
    let cpu = size(&reg.cpu).and_then(TaskSize::cpu_units);
    if !fargate(reg) && cpu.is_some_and(|c| !(128..=196_608).contains(&c)) {
        out.push(rules::TASK_CPU_RANGE.at("cpu"));
    }
    if let Some(m) = size(&reg.memory).filter(|m| m.memory_mib().is_none()) {
        out.push(rules::TASK_MEMORY_AMOUNT.with_value("memory", &m.0));
    }
    if reg
        .ephemeral_storage
        .as_ref()
        .is_some_and(|e| !(21..=200).contains(&e.size_in_gi_b))
    {
        out.push(rules::EPHEMERAL_STORAGE_SIZE.at("ephemeralStorage.sizeInGiB"));
    }
}

/// Container reservations within the task size: cpu units, and memory (the reservation, else
/// the hard limit, as ECS counts it).
fn container_sums(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    let all = &reg.container_definitions;
    if let Some(task) = size(&reg.cpu).and_then(TaskSize::cpu_units) {
        let sum: u64 = all.iter().map(|c| c.cpu.unwrap_or(0).max(0) as u64).sum();
        if sum > task {
            out.push(rules::CONTAINER_CPU_WITHIN_TASK_CPU.at("containerDefinitions"));
        }
    }
    if let Some(task) = size(&reg.memory).and_then(TaskSize::memory_mib) {
        let sum: u64 = all
            .iter()
            .map(|c| c.memory_reservation.or(c.memory).unwrap_or(0).max(0) as u64)
            .sum();
        if sum > task {
            out.push(rules::CONTAINER_MEMORY_WITHIN_TASK_MEMORY.at("containerDefinitions"));
        }
    }
}

fn volumes(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    let mut seen = BTreeSet::new();
    for (i, v) in reg.volumes.iter().flatten().enumerate() {
        let name = v.name.as_deref().unwrap_or_default();
        if !name.is_empty() && !seen.insert(name) {
            out.push(rules::VOLUME_NAMES_UNIQUE.at(format!("volumes[{i}].name")));
        }
        if !ecs_name(name) {
            out.push(rules::VOLUME_NAME.with_value(format!("volumes[{i}].name"), name));
        }
        let source = v.host.as_ref().and_then(|h| h.source_path.as_deref());
        if fargate(reg) && source.is_some_and(|p| !p.is_empty()) {
            out.push(rules::FARGATE_HOST_SOURCE_PATH.at(format!("volumes[{i}].host.sourcePath")));
        }
    }
}
