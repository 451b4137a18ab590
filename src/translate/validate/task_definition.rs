//! RegisterTaskDefinition: task-level rules (container count, family, Fargate, task size,
//! volumes). Container and port mapping rules are in `containers` and `ports`.

use super::{ValidationError, ValidationErrors, containers, ecs_name, ports, result};
use crate::api::ecs::{Compatibility, NetworkMode, PidMode, RegisterTaskDefinitionRequest};
use crate::api::quantity::TaskSize;
use crate::api::rules::task_definition as rules;
use crate::api::task_definition::TaskDefinitionSpec;
use crate::translate::resources;
use std::collections::BTreeSet;

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
