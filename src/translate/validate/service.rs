//! CreateService rules, alone and with the service's task definition.

use super::{
    Rule, ValidationError, ValidationErrors, capacity_provider_strategy, ecs_name, result,
};
use crate::api::ecs::{DeploymentControllerType, LaunchType, SchedulingStrategy};
use crate::api::service::ServiceSpec;
use crate::api::task_definition::TaskDefinitionSpec;

/// The CreateService rules.
pub mod rules {
    use super::super::{Admission::*, Rule};

    pub const SERVICE_NAME: Rule = Rule {
        name: "service_name",
        message: "serviceName: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed",
        admission: Reconcile,
    };
    pub const DESIRED_COUNT_NOT_NEGATIVE: Rule = Rule {
        name: "desired_count_not_negative",
        message: "desiredCount: must be 0 or more",
        admission: Cel("!has(self.desiredCount) || self.desiredCount >= 0"),
    };
    pub const DAEMON_DESIRED_COUNT: Rule = Rule {
        name: "daemon_desired_count",
        message: "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again",
        admission: Cel(
            "!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.desiredCount)",
        ),
    };
    pub const DAEMON_MAXIMUM_PERCENT: Rule = Rule {
        name: "daemon_maximum_percent",
        message: "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again",
        admission: Cel(
            "!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.deploymentConfiguration) || !has(self.deploymentConfiguration.maximumPercent) || self.deploymentConfiguration.maximumPercent <= 100",
        ),
    };
    pub const DAEMON_FARGATE: Rule = Rule {
        name: "daemon_fargate",
        message: "schedulingStrategy: tasks using the Fargate launch type don't support the DAEMON scheduling strategy",
        admission: Cel(
            "!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.launchType) || self.launchType != 'FARGATE'",
        ),
    };
    pub const DAEMON_DEPLOYMENT_CONTROLLER: Rule = Rule {
        name: "daemon_deployment_controller",
        message: "schedulingStrategy: the CODE_DEPLOY or EXTERNAL deployment controller types don't support the DAEMON scheduling strategy",
        admission: Cel(
            "!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.deploymentController) || self.deploymentController.type == 'ECS'",
        ),
    };
    pub const CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY: Rule = Rule {
        name: "circuit_breaker_rolling_update_only",
        message: "deploymentConfiguration.deploymentCircuitBreaker: the deployment circuit breaker can only be used for services using the rolling update (ECS) deployment type",
        admission: Cel(
            "!has(self.deploymentController) || self.deploymentController.type == 'ECS' || !has(self.deploymentConfiguration) || !has(self.deploymentConfiguration.deploymentCircuitBreaker)",
        ),
    };
    pub const LAUNCH_TYPE_OR_CAPACITY_PROVIDERS: Rule = Rule {
        name: "launch_type_or_capacity_providers",
        message: "launchType and capacityProviderStrategy are mutually exclusive",
        admission: Cel(
            "!has(self.launchType) || !has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0",
        ),
    };
    pub const DAEMON_AUTO_SCALING: Rule = Rule {
        name: "daemon_auto_scaling",
        message: "autoScaling: a DAEMON service runs one task per node and cannot be auto scaled",
        admission: Cel(
            "!has(self.schedulingStrategy) || self.schedulingStrategy != 'DAEMON' || !has(self.autoScaling)",
        ),
    };
    pub const MIN_CAPACITY_AT_MOST_MAX: Rule = Rule {
        name: "min_capacity_at_most_max",
        message: "autoScaling.scalableTarget: MinCapacity must not exceed MaxCapacity",
        admission: Cel(
            "!has(self.autoScaling) || !has(self.autoScaling.scalableTarget.MinCapacity) || !has(self.autoScaling.scalableTarget.MaxCapacity) || self.autoScaling.scalableTarget.MinCapacity <= self.autoScaling.scalableTarget.MaxCapacity",
        ),
    };
    pub const CAPACITY_PROVIDER_STRATEGY_SIZE: Rule = Rule {
        name: "capacity_provider_strategy_size",
        message: "capacityProviderStrategy: a capacity provider strategy can contain a maximum of 20 capacity providers",
        admission: Reconcile,
    };
    pub const CAPACITY_PROVIDER_BASE_RANGE: Rule = Rule {
        name: "capacity_provider_base_range",
        message: "capacityProviderStrategy[].base: the valid range is 0 to 100,000",
        admission: Reconcile,
    };
    pub const CAPACITY_PROVIDER_WEIGHT_RANGE: Rule = Rule {
        name: "capacity_provider_weight_range",
        message: "capacityProviderStrategy[].weight: the valid range is 0 to 1,000",
        admission: Reconcile,
    };
    pub const ONE_CAPACITY_PROVIDER_BASE: Rule = Rule {
        name: "one_capacity_provider_base",
        message: "capacityProviderStrategy[].base: only one capacity provider in a strategy can have a base defined",
        admission: Reconcile,
    };
    pub const LOAD_BALANCER_CONTAINER: Rule = Rule {
        name: "load_balancer_container",
        message: "loadBalancers[].containerName: the container does not exist in the task definition",
        admission: Reconcile,
    };
    pub const LOAD_BALANCER_CONTAINER_PORT: Rule = Rule {
        name: "load_balancer_container_port",
        message: "loadBalancers[].containerPort: the container did not have this container port defined",
        admission: Reconcile,
    };
}

pub(super) const RULES: &[&Rule] = &[
    &rules::SERVICE_NAME,
    &rules::DESIRED_COUNT_NOT_NEGATIVE,
    &rules::DAEMON_DESIRED_COUNT,
    &rules::DAEMON_MAXIMUM_PERCENT,
    &rules::DAEMON_FARGATE,
    &rules::DAEMON_DEPLOYMENT_CONTROLLER,
    &rules::CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY,
    &rules::LAUNCH_TYPE_OR_CAPACITY_PROVIDERS,
    &rules::DAEMON_AUTO_SCALING,
    &rules::MIN_CAPACITY_AT_MOST_MAX,
    &rules::CAPACITY_PROVIDER_STRATEGY_SIZE,
    &rules::CAPACITY_PROVIDER_BASE_RANGE,
    &rules::CAPACITY_PROVIDER_WEIGHT_RANGE,
    &rules::ONE_CAPACITY_PROVIDER_BASE,
    &rules::LOAD_BALANCER_CONTAINER,
    &rules::LOAD_BALANCER_CONTAINER_PORT,
];

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
