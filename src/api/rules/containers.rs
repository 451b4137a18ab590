//! RegisterTaskDefinition: container definition rules (names, images, essential containers,
//! dependencies, memory, health checks, timeouts, links, Linux parameters, volume references).

use super::{Admission::*, Rule, not_fargate};

pub const CONTAINER_NAME_REQUIRED: Rule = Rule {
    name: "container_name_required",
    message: "Container.name should not be null or empty.",
    admission: CelOn {
        node: "containerDefinitions[]",
        rule: "size(self.name) > 0",
    },
};
pub const CONTAINER_NAME_CHARACTERS: Rule = Rule {
    name: "container_name_characters",
    message: "Container.name contains invalid characters: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed.",
    admission: CelOn {
        node: "containerDefinitions[]",
        rule: "self.name.matches('^[a-zA-Z0-9_-]*$')",
    },
};
pub const CONTAINER_IMAGE_REQUIRED: Rule = Rule {
    name: "container_image_required",
    message: "Container.image should not be null or empty.",
    admission: CelOn {
        node: "containerDefinitions[]",
        rule: "size(self.image) > 0",
    },
};
pub const CONTAINER_NAMES_UNIQUE: Rule = Rule {
    name: "container_names_unique",
    message: "containerDefinitions: container names must be unique within a task definition",
    admission: Cel(
        "self.containerDefinitions.all(c, self.containerDefinitions.exists_one(d, d.name == c.name))",
    ),
};
pub const ESSENTIAL_CONTAINER_REQUIRED: Rule = Rule {
    name: "essential_container_required",
    message: "containerDefinitions: at least one container must be essential (essential defaults to true)",
    admission: Cel(
        "size(self.containerDefinitions) == 0 || self.containerDefinitions.exists(c, !has(c.essential) || c.essential)",
    ),
};
pub const DEPENDS_ON_KNOWN_CONTAINER: Rule = Rule {
    name: "depends_on_known_container",
    message: "containerDefinitions[].dependsOn: containerName must name a container of this task definition",
    admission: Cel(
        "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, self.containerDefinitions.exists(e, e.name == d.containerName)))",
    ),
};
pub const DEPENDS_ON_ITSELF: Rule = Rule {
    name: "depends_on_itself",
    message: "containerDefinitions[].dependsOn: a container cannot depend on itself",
    admission: CelOn {
        node: "containerDefinitions[]",
        rule: "!has(self.dependsOn) || self.dependsOn.all(d, d.containerName != self.name)",
    },
};
pub const DEPENDS_ON_AT_MOST_TEN: Rule = Rule {
    name: "depends_on_at_most_ten",
    message: "Too many: must have at most 10 items (dependencies per container)",
    admission: Schema,
};
pub const DEPENDENCY_CYCLE: Rule = Rule {
    name: "dependency_cycle",
    message: "containerDefinitions[].dependsOn: container dependencies must not form a cycle",
    admission: Reconcile,
};
pub const COMPLETE_OR_SUCCESS_ON_ESSENTIAL: Rule = Rule {
    name: "complete_or_success_on_essential",
    message: "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
    admission: Cel(
        "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, !(d.condition in ['COMPLETE', 'SUCCESS']) || self.containerDefinitions.all(e, e.name != d.containerName || (has(e.essential) && !e.essential))))",
    ),
};
pub const CONTAINER_MEMORY_MINIMUM: Rule = Rule {
    name: "container_memory_minimum",
    message: "containerDefinitions[]: memory and memoryReservation must be at least 4 MiB (the Docker daemon reserves a minimum of 4 MiB of memory for a container)",
    admission: CelOn {
        node: "containerDefinitions[]",
        rule: "(!has(self.memory) || self.memory >= 4) && (!has(self.memoryReservation) || self.memoryReservation >= 4)",
    },
};
pub const MEMORY_AT_LEAST_RESERVATION: Rule = Rule {
    name: "memory_at_least_reservation",
    message: "containerDefinitions[]: memory must be greater than or equal to memoryReservation",
    admission: CelOn {
        node: "containerDefinitions[]",
        rule: "!has(self.memory) || !has(self.memoryReservation) || self.memory >= self.memoryReservation",
    },
};
pub const CONTAINER_MEMORY_REQUIRED: Rule = Rule {
    name: "container_memory_required",
    message: "Invalid setting for container: at least one of 'memory' or 'memoryReservation' must be specified (the task has no 'memory' and requires EC2 or EXTERNAL)",
    admission: Cel(
        "!has(self.requiresCompatibilities) || !self.requiresCompatibilities.exists(x, x == 'EC2' || x == 'EXTERNAL') || (has(self.memory) && self.memory != '') || self.containerDefinitions.all(c, (has(c.memory) && c.memory > 0) || (has(c.memoryReservation) && c.memoryReservation > 0))",
    ),
};
pub const HEALTH_CHECK_INTERVAL: Rule = Rule {
    name: "health_check_interval",
    message: "containerDefinitions[].healthCheck.interval: you may specify between 5 and 300 seconds",
    admission: CelOn {
        node: "containerDefinitions[].healthCheck",
        rule: "!has(self.interval) || (self.interval >= 5 && self.interval <= 300)",
    },
};
pub const HEALTH_CHECK_TIMEOUT: Rule = Rule {
    name: "health_check_timeout",
    message: "containerDefinitions[].healthCheck.timeout: you may specify between 2 and 60 seconds",
    admission: CelOn {
        node: "containerDefinitions[].healthCheck",
        rule: "!has(self.timeout) || (self.timeout >= 2 && self.timeout <= 60)",
    },
};
pub const HEALTH_CHECK_RETRIES: Rule = Rule {
    name: "health_check_retries",
    message: "containerDefinitions[].healthCheck.retries: you may specify between 1 and 10 retries",
    admission: CelOn {
        node: "containerDefinitions[].healthCheck",
        rule: "!has(self.retries) || (self.retries >= 1 && self.retries <= 10)",
    },
};
pub const HEALTH_CHECK_START_PERIOD: Rule = Rule {
    name: "health_check_start_period",
    message: "containerDefinitions[].healthCheck.startPeriod: you can specify between 0 and 300 seconds",
    admission: CelOn {
        node: "containerDefinitions[].healthCheck",
        rule: "!has(self.startPeriod) || (self.startPeriod >= 0 && self.startPeriod <= 300)",
    },
};
pub const FARGATE_STOP_TIMEOUT: Rule = Rule {
    name: "fargate_stop_timeout",
    message: "containerDefinitions[].stopTimeout: the valid values for Fargate are 2-120 seconds",
    admission: Cel(concat!(
        not_fargate!(),
        "self.containerDefinitions.all(c, !has(c.stopTimeout) || (c.stopTimeout >= 2 && c.stopTimeout <= 120))"
    )),
};
pub const FARGATE_START_TIMEOUT: Rule = Rule {
    name: "fargate_start_timeout",
    message: "containerDefinitions[].startTimeout: the valid values for Fargate are 2-120 seconds",
    admission: Cel(concat!(
        not_fargate!(),
        "self.containerDefinitions.all(c, !has(c.startTimeout) || (c.startTimeout >= 2 && c.startTimeout <= 120))"
    )),
};
pub const LINKS_ONLY_IN_BRIDGE_MODE: Rule = Rule {
    name: "links_only_in_bridge_mode",
    message: "containerDefinitions[].links: only supported if the network mode of a task definition is bridge",
    admission: Cel(
        "!has(self.networkMode) || self.networkMode == 'bridge' || self.containerDefinitions.all(c, !has(c.links) || size(c.links) == 0)",
    ),
};
pub const FARGATE_PRIVILEGED: Rule = Rule {
    name: "fargate_privileged",
    message: "containerDefinitions[].privileged: not supported for tasks run on Fargate",
    admission: Cel(concat!(
        not_fargate!(),
        "self.containerDefinitions.all(c, !has(c.privileged) || !c.privileged)"
    )),
};
pub const FARGATE_LINUX_PARAMETERS: Rule = Rule {
    name: "fargate_linux_parameters",
    message: "containerDefinitions[].linuxParameters: devices, maxSwap, swappiness and sharedMemorySize are not supported on Fargate",
    admission: Cel(concat!(
        not_fargate!(),
        "self.containerDefinitions.all(c, !has(c.linuxParameters) || ((!has(c.linuxParameters.devices) || size(c.linuxParameters.devices) == 0) && !has(c.linuxParameters.maxSwap) && !has(c.linuxParameters.swappiness) && !has(c.linuxParameters.sharedMemorySize)))"
    )),
};
pub const FARGATE_CAPABILITIES: Rule = Rule {
    name: "fargate_capabilities",
    message: "containerDefinitions[].linuxParameters.capabilities.add: tasks launched on Fargate only support adding the SYS_PTRACE kernel capability",
    admission: Reconcile,
};
pub const SWAPPINESS_RANGE: Rule = Rule {
    name: "swappiness_range",
    message: "containerDefinitions[].linuxParameters.swappiness: accepted values are whole numbers between 0 and 100",
    admission: CelOn {
        node: "containerDefinitions[].linuxParameters",
        rule: "!has(self.swappiness) || (self.swappiness >= 0 && self.swappiness <= 100)",
    },
};
pub const MAX_SWAP_NOT_NEGATIVE: Rule = Rule {
    name: "max_swap_not_negative",
    message: "containerDefinitions[].linuxParameters.maxSwap: accepted values are 0 or any positive integer",
    admission: CelOn {
        node: "containerDefinitions[].linuxParameters",
        rule: "!has(self.maxSwap) || self.maxSwap >= 0",
    },
};
pub const AWSLOGS_REQUIRED_OPTIONS: Rule = Rule {
    name: "awslogs_required_options",
    message: "Log driver awslogs requires options: awslogs-region, awslogs-group",
    admission: CelOn {
        node: "containerDefinitions[].logConfiguration",
        rule: "self.logDriver != 'awslogs' || (has(self.options) && 'awslogs-group' in self.options && 'awslogs-region' in self.options)",
    },
};
pub const FARGATE_AWSLOGS_STREAM_PREFIX: Rule = Rule {
    name: "fargate_awslogs_stream_prefix",
    message: "logConfiguration.options: awslogs-stream-prefix is required when using Fargate",
    admission: Cel(concat!(
        not_fargate!(),
        "self.containerDefinitions.all(c, !has(c.logConfiguration) || c.logConfiguration.logDriver != 'awslogs' || (has(c.logConfiguration.options) && 'awslogs-stream-prefix' in c.logConfiguration.options))"
    )),
};
pub const MOUNT_POINT_KNOWN_VOLUME: Rule = Rule {
    name: "mount_point_known_volume",
    message: "mountPoints[].sourceVolume: must be a volume name referenced in the name parameter of task definition volume",
    admission: Reconcile,
};
pub const VOLUMES_FROM_KNOWN_CONTAINER: Rule = Rule {
    name: "volumes_from_known_container",
    message: "volumesFrom[].sourceContainer: must name another container within the same task definition",
    admission: Reconcile,
};

pub(super) const RULES: &[&Rule] = &[
    &CONTAINER_NAME_REQUIRED,
    &CONTAINER_NAME_CHARACTERS,
    &CONTAINER_IMAGE_REQUIRED,
    &CONTAINER_NAMES_UNIQUE,
    &ESSENTIAL_CONTAINER_REQUIRED,
    &DEPENDS_ON_KNOWN_CONTAINER,
    &DEPENDS_ON_ITSELF,
    &DEPENDS_ON_AT_MOST_TEN,
    &DEPENDENCY_CYCLE,
    &COMPLETE_OR_SUCCESS_ON_ESSENTIAL,
    &CONTAINER_MEMORY_MINIMUM,
    &MEMORY_AT_LEAST_RESERVATION,
    &CONTAINER_MEMORY_REQUIRED,
    &HEALTH_CHECK_INTERVAL,
    &HEALTH_CHECK_TIMEOUT,
    &HEALTH_CHECK_RETRIES,
    &HEALTH_CHECK_START_PERIOD,
    &FARGATE_STOP_TIMEOUT,
    &FARGATE_START_TIMEOUT,
    &LINKS_ONLY_IN_BRIDGE_MODE,
    &FARGATE_PRIVILEGED,
    &FARGATE_LINUX_PARAMETERS,
    &FARGATE_CAPABILITIES,
    &SWAPPINESS_RANGE,
    &MAX_SWAP_NOT_NEGATIVE,
    &AWSLOGS_REQUIRED_OPTIONS,
    &FARGATE_AWSLOGS_STREAM_PREFIX,
    &MOUNT_POINT_KNOWN_VOLUME,
    &VOLUMES_FROM_KNOWN_CONTAINER,
];
