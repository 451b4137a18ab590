//! RegisterTaskDefinition: container definition rules (names, images, essential containers,
//! dependencies, memory, health checks, timeouts, links, Linux parameters, volume references).

use super::ValidationError;
use super::task_definition::{fargate, size};
use crate::api::ecs::{
    Compatibility, ContainerCondition, ContainerDefinition, LogDriver, NetworkMode,
    RegisterTaskDefinitionRequest,
};
use crate::api::rules::containers::*;
use std::collections::{BTreeMap, BTreeSet};

/// `containerDefinitions[i]`.
fn at(i: usize) -> String {
    format!("containerDefinitions[{i}]")
}

/// Every container rule.
pub(super) fn check(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    names_and_images(reg, out);
    dependencies(reg, out);
    dependency_cycle(reg, out);
    memory(reg, out);
    for (i, c) in reg.container_definitions.iter().enumerate() {
        health_check(i, c, out);
        linux_parameters(i, c, out);
        if fargate(reg) {
            fargate_container(i, c, out);
        }
    }
    links(reg, out);
    awslogs(reg, out);
    volume_references(reg, out);
}

fn awslogs(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    for (i, c) in reg.container_definitions.iter().enumerate() {
        let Some(lc) = c
            .log_configuration
            .as_ref()
            .filter(|l| l.log_driver == LogDriver::Awslogs)
        else {
            continue;
        };
        let has = |k: &str| lc.options.as_ref().is_some_and(|o| o.contains_key(k));
        let path = || format!("{}.logConfiguration.options", at(i));
        if !has("awslogs-group") || !has("awslogs-region") {
            out.push(AWSLOGS_REQUIRED_OPTIONS.at(path()));
        }
        if fargate(reg) && !has("awslogs-stream-prefix") {
            out.push(FARGATE_AWSLOGS_STREAM_PREFIX.at(path()));
        }
    }
}

fn names_and_images(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    let all = &reg.container_definitions;
    let mut seen = BTreeSet::new();
    for (i, c) in all.iter().enumerate() {
        if c.name.is_empty() {
            out.push(CONTAINER_NAME_REQUIRED.at(format!("{}.name", at(i))));
        } else if !super::ecs_name(&c.name) {
            out.push(CONTAINER_NAME_CHARACTERS.with_value(format!("{}.name", at(i)), &c.name));
        }
        if c.image.is_empty() {
            out.push(CONTAINER_IMAGE_REQUIRED.at(format!("{}.image", at(i))));
        }
        if !seen.insert(c.name.as_str()) {
            out.push(CONTAINER_NAMES_UNIQUE.at(format!("{}.name", at(i))));
        }
    }
    if !all.is_empty() && !all.iter().any(|c| c.essential != Some(false)) {
        out.push(ESSENTIAL_CONTAINER_REQUIRED.at("containerDefinitions"));
    }
}

fn dependencies(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    if !any_dependency(reg) {
        return;
    }
    let by_name: BTreeMap<&str, &ContainerDefinition> = reg
        .container_definitions
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    for (i, c) in reg.container_definitions.iter().enumerate() {
        if c.depends_on.as_ref().is_some_and(|d| d.len() > 10) {
            out.push(DEPENDS_ON_AT_MOST_TEN.at(format!("{}.dependsOn", at(i))));
        }
        for (j, d) in c.depends_on.iter().flatten().enumerate() {
            let path = || format!("{}.dependsOn[{j}].containerName", at(i));
            match by_name.get(d.container_name.as_str()) {
                None => out.push(DEPENDS_ON_KNOWN_CONTAINER.with_value(path(), &d.container_name)),
                Some(_) if d.container_name == c.name => out.push(DEPENDS_ON_ITSELF.at(path())),
                Some(target) => {
                    let exits = matches!(
                        d.condition,
                        ContainerCondition::Complete | ContainerCondition::Success
                    );
                    if exits && target.essential != Some(false) {
                        out.push(COMPLETE_OR_SUCCESS_ON_ESSENTIAL.at(path()));
                    }
                }
            }
        }
    }
}

/// A cycle of two or more containers (a container depending on itself is its own rule).
fn dependency_cycle(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    if !any_dependency(reg) {
        return;
    }
    let all = &reg.container_definitions;
    let edges: BTreeMap<&str, Vec<&str>> = all
        .iter()
        .map(|c| {
            let targets = c.depends_on.iter().flatten();
            let targets = targets
                .map(|d| d.container_name.as_str())
                .filter(|t| *t != c.name);
            (c.name.as_str(), targets.collect())
        })
        .collect();
    for (i, c) in all.iter().enumerate() {
        // Depth-first from the container's dependencies: reaching it again is a cycle.
        let mut stack: Vec<&str> = edges[c.name.as_str()].clone();
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if n == c.name {
                out.push(DEPENDENCY_CYCLE.at(format!("{}.dependsOn", at(i))));
                break;
            }
            if seen.insert(n) {
                stack.extend(edges.get(n).into_iter().flatten());
            }
        }
    }
}

/// Whether a container depends on another (most task definitions have none: their checks
/// are skipped).
fn any_dependency(reg: &RegisterTaskDefinitionRequest) -> bool {
    reg.container_definitions
        .iter()
        .any(|c| c.depends_on.as_ref().is_some_and(|d| !d.is_empty()))
}

fn memory(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    // ECS also checks this when requiresCompatibilities is omitted (validated as EC2); Tidewater
    // only when EC2 or EXTERNAL is required explicitly, as manifests written for Kubernetes
    // often leave sizes out.
    let ec2 = reg
        .requires_compatibilities
        .iter()
        .flatten()
        .any(|c| matches!(c, Compatibility::Ec2 | Compatibility::External));
    let task_memory = !ec2 || size(&reg.memory).is_some();
    for (i, c) in reg.container_definitions.iter().enumerate() {
        let (hard, soft) = (c.memory, c.memory_reservation);
        if hard.is_some_and(|m| m < 4) {
            out.push(CONTAINER_MEMORY_MINIMUM.at(format!("{}.memory", at(i))));
        }
        if soft.is_some_and(|m| m < 4) {
            out.push(CONTAINER_MEMORY_MINIMUM.at(format!("{}.memoryReservation", at(i))));
        }
        if let (Some(h), Some(s)) = (hard, soft)
            && h < s
        {
            out.push(MEMORY_AT_LEAST_RESERVATION.at(format!("{}.memory", at(i))));
        }
        let positive = |m: Option<i32>| m.is_some_and(|m| m > 0);
        if !task_memory && !positive(hard) && !positive(soft) {
            out.push(CONTAINER_MEMORY_REQUIRED.at(format!("{}.memory", at(i))));
        }
    }
}

fn health_check(i: usize, c: &ContainerDefinition, out: &mut Vec<ValidationError>) {
    let Some(h) = &c.health_check else { return };
    let bounds = [
        ("interval", h.interval, 5..=300, &HEALTH_CHECK_INTERVAL),
        ("timeout", h.timeout, 2..=60, &HEALTH_CHECK_TIMEOUT),
        ("retries", h.retries, 1..=10, &HEALTH_CHECK_RETRIES),
        (
            "startPeriod",
            h.start_period,
            0..=300,
            &HEALTH_CHECK_START_PERIOD,
        ),
    ];
    for (field, value, range, rule) in bounds {
        if value.is_some_and(|v| !range.contains(&v)) {
            out.push(rule.at(format!("{}.healthCheck.{field}", at(i))));
        }
    }
}

fn linux_parameters(i: usize, c: &ContainerDefinition, out: &mut Vec<ValidationError>) {
    let Some(lp) = &c.linux_parameters else {
        return;
    };
    if lp.swappiness.is_some_and(|s| !(0..=100).contains(&s)) {
        out.push(SWAPPINESS_RANGE.at(format!("{}.linuxParameters.swappiness", at(i))));
    }
    if lp.max_swap.is_some_and(|s| s < 0) {
        out.push(MAX_SWAP_NOT_NEGATIVE.at(format!("{}.linuxParameters.maxSwap", at(i))));
    }
}

fn fargate_container(i: usize, c: &ContainerDefinition, out: &mut Vec<ValidationError>) {
    let timeouts = [
        ("stopTimeout", c.stop_timeout, &FARGATE_STOP_TIMEOUT),
        ("startTimeout", c.start_timeout, &FARGATE_START_TIMEOUT),
    ];
    for (field, value, rule) in timeouts {
        if value.is_some_and(|v| !(2..=120).contains(&v)) {
            out.push(rule.at(format!("{}.{field}", at(i))));
        }
    }
    if c.privileged == Some(true) {
        out.push(FARGATE_PRIVILEGED.at(format!("{}.privileged", at(i))));
    }
    let Some(lp) = &c.linux_parameters else {
        return;
    };
    let devices = lp.devices.as_ref().is_some_and(|d| !d.is_empty());
    if devices
        || lp.max_swap.is_some()
        || lp.swappiness.is_some()
        || lp.shared_memory_size.is_some()
    {
        out.push(FARGATE_LINUX_PARAMETERS.at(format!("{}.linuxParameters", at(i))));
    }
    let added = lp.capabilities.as_ref().and_then(|k| k.add.as_ref());
    for (j, cap) in added.into_iter().flatten().enumerate() {
        if cap != "SYS_PTRACE" {
            out.push(
                FARGATE_CAPABILITIES.at(format!("{}.linuxParameters.capabilities.add[{j}]", at(i))),
            );
        }
    }
}

fn links(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    if reg.network_mode.is_none_or(|n| n == NetworkMode::Bridge) {
        return;
    }
    for (i, c) in reg.container_definitions.iter().enumerate() {
        if c.links.as_ref().is_some_and(|l| !l.is_empty()) {
            out.push(LINKS_ONLY_IN_BRIDGE_MODE.at(format!("{}.links", at(i))));
        }
    }
}

fn volume_references(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    let references = |c: &ContainerDefinition| {
        c.mount_points.as_ref().is_some_and(|m| !m.is_empty())
            || c.volumes_from.as_ref().is_some_and(|v| !v.is_empty())
    };
    if !reg.container_definitions.iter().any(references) {
        return;
    }
    let names: BTreeSet<&str> = reg
        .container_definitions
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let volumes: BTreeSet<&str> = reg
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| v.name.as_deref())
        .collect();
    for (i, c) in reg.container_definitions.iter().enumerate() {
        for (j, m) in c.mount_points.iter().flatten().enumerate() {
            let source = m.source_volume.as_deref().unwrap_or_default();
            if !source.is_empty() && !volumes.contains(source) {
                let path = format!("{}.mountPoints[{j}].sourceVolume", at(i));
                out.push(MOUNT_POINT_KNOWN_VOLUME.with_value(path, source));
            }
        }
        for (j, v) in c.volumes_from.iter().flatten().enumerate() {
            let source = v.source_container.as_deref().unwrap_or_default();
            if !source.is_empty() && !names.contains(source) {
                let path = format!("{}.volumesFrom[{j}].sourceContainer", at(i));
                out.push(VOLUMES_FROM_KNOWN_CONTAINER.with_value(path, source));
            }
        }
    }
}
