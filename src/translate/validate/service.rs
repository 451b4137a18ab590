//! CreateService rules, alone and with the service's task definition.

use super::{ValidationError, ValidationErrors, capacity_provider_strategy, ecs_name, result};
use crate::api::ecs::{DeploymentControllerType, LaunchType, SchedulingStrategy};
use crate::api::rules::service as rules;
use crate::api::service::ServiceSpec;
use crate::api::task_definition::TaskDefinitionSpec;

/// What ECS rejects at CreateService, from the request alone.
pub fn service(spec: &ServiceSpec) -> Result<(), ValidationErrors> {
    let mut out = Vec::new();
    let c = &spec.create;
    if let Some(n) = c.service_name.as_deref().filter(|n| !ecs_name(n)) {
        out.push(rules::SERVICE_NAME.with_value("serviceName", n));
    }
    if c.desired_count.is_some_and(|n| n < 0) {
        out.push(rules::DESIRED_COUNT_NOT_NEGATIVE.at("desiredCount"));
    }
    if c.scheduling_strategy == Some(SchedulingStrategy::Daemon) {
        daemon(spec, &mut out);
    }
    deployment(spec, &mut out);
    let strategy = c.capacity_provider_strategy.as_deref().unwrap_or_default();
    if c.launch_type.is_some() && !strategy.is_empty() {
        out.push(rules::LAUNCH_TYPE_OR_CAPACITY_PROVIDERS.at("launchType"));
    }
    capacity_provider_strategy("capacityProviderStrategy", strategy, &mut out);
    let target = spec.auto_scaling.as_ref().map(|a| &a.scalable_target);
    if let Some(t) = target
        && let (Some(min), Some(max)) = (t.min_capacity, t.max_capacity)
        && min > max
    {
        let path = "autoScaling.scalableTarget.MinCapacity";
        out.push(rules::MIN_CAPACITY_AT_MOST_MAX.at(path));
    }
    result(out)
}

fn daemon(spec: &ServiceSpec, out: &mut Vec<ValidationError>) {
    let c = &spec.create;
    if c.desired_count.is_some() {
        out.push(rules::DAEMON_DESIRED_COUNT.at("desiredCount"));
    }
    let max = c
        .deployment_configuration
        .as_ref()
        .and_then(|d| d.maximum_percent);
    if max.is_some_and(|m| m > 100) {
        out.push(rules::DAEMON_MAXIMUM_PERCENT.at("deploymentConfiguration.maximumPercent"));
    }
    if c.launch_type == Some(LaunchType::Fargate) {
        out.push(rules::DAEMON_FARGATE.at("schedulingStrategy"));
    }
    let controller = c.deployment_controller.as_ref().map(|d| d.r#type);
    if controller.is_some_and(|t| t != DeploymentControllerType::Ecs) {
        out.push(rules::DAEMON_DEPLOYMENT_CONTROLLER.at("schedulingStrategy"));
    }
    if spec.auto_scaling.is_some() {
        out.push(rules::DAEMON_AUTO_SCALING.at("autoScaling"));
    }
}

fn deployment(spec: &ServiceSpec, out: &mut Vec<ValidationError>) {
    let c = &spec.create;
    let controller = c.deployment_controller.as_ref().map(|d| d.r#type);
    let breaker = c
        .deployment_configuration
        .as_ref()
        .is_some_and(|d| d.deployment_circuit_breaker.is_some());
    if breaker && controller.is_some_and(|t| t != DeploymentControllerType::Ecs) {
        let path = "deploymentConfiguration.deploymentCircuitBreaker";
        out.push(rules::CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY.at(path));
    }
}

/// What ECS rejects at CreateService, with the service's task definition: the request's own
/// rules, and load balancers naming a container and port of the task definition.
pub fn service_with_task_definition(
    spec: &ServiceSpec,
    td: &TaskDefinitionSpec,
) -> Result<(), ValidationErrors> {
    let mut out = service(spec).err().map(|e| e.0).unwrap_or_default();
    let containers = &td.register.container_definitions;
    for (i, lb) in spec.create.load_balancers.iter().flatten().enumerate() {
        let Some(name) = lb.container_name.as_deref() else {
            continue;
        };
        let Some(c) = containers.iter().find(|c| c.name == name) else {
            let path = format!("loadBalancers[{i}].containerName");
            out.push(rules::LOAD_BALANCER_CONTAINER.with_value(path, name));
            continue;
        };
        let exposed = |port: i32| {
            c.port_mappings.iter().flatten().any(|p| {
                p.container_port == Some(port)
                    || p.container_port_range
                        .as_deref()
                        .is_some_and(|r| in_range(r, port))
            })
        };
        if lb.container_port.is_some_and(|p| !exposed(p)) {
            out.push(
                rules::LOAD_BALANCER_CONTAINER_PORT.at(format!("loadBalancers[{i}].containerPort")),
            );
        }
    }
    result(out)
}

/// Whether `port` is in a `first-last` port range.
fn in_range(range: &str, port: i32) -> bool {
    let bounds = range
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    bounds.is_some_and(|(a, b): (i32, i32)| (a..=b).contains(&port))
}
