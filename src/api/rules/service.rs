//! CreateService rules.

use super::{Admission::*, Rule};

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

pub(super) const RULES: &[&Rule] = &[
    &SERVICE_NAME,
    &DESIRED_COUNT_NOT_NEGATIVE,
    &DAEMON_DESIRED_COUNT,
    &DAEMON_MAXIMUM_PERCENT,
    &DAEMON_FARGATE,
    &DAEMON_DEPLOYMENT_CONTROLLER,
    &CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY,
    &LAUNCH_TYPE_OR_CAPACITY_PROVIDERS,
    &DAEMON_AUTO_SCALING,
    &MIN_CAPACITY_AT_MOST_MAX,
    &CAPACITY_PROVIDER_STRATEGY_SIZE,
    &CAPACITY_PROVIDER_BASE_RANGE,
    &CAPACITY_PROVIDER_WEIGHT_RANGE,
    &ONE_CAPACITY_PROVIDER_BASE,
    &LOAD_BALANCER_CONTAINER,
    &LOAD_BALANCER_CONTAINER_PORT,
];
