//! RegisterTaskDefinition: task-level rules (container count, family, Fargate, task size,
//! volumes). Container and port mapping rules are in `containers` and `ports`.

use super::{Admission::*, Rule, not_fargate};

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
    admission: CelOn {
        node: "ephemeralStorage",
        rule: "self.sizeInGiB >= 21 && self.sizeInGiB <= 200",
    },
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

pub(super) const RULES: &[&Rule] = &[
    &CONTAINER_DEFINITIONS_REQUIRED,
    &AT_MOST_TEN_CONTAINERS,
    &FAMILY_NAME,
    &FARGATE_REQUIRES_CPU,
    &FARGATE_REQUIRES_MEMORY,
    &FARGATE_NETWORK_MODE,
    &FARGATE_SIZE,
    &FARGATE_PID_MODE,
    &FARGATE_IPC_MODE,
    &TASK_CPU_AMOUNT,
    &TASK_CPU_RANGE,
    &TASK_MEMORY_AMOUNT,
    &CONTAINER_CPU_WITHIN_TASK_CPU,
    &CONTAINER_MEMORY_WITHIN_TASK_MEMORY,
    &EPHEMERAL_STORAGE_SIZE,
    &VOLUME_NAMES_UNIQUE,
    &VOLUME_NAME,
    &FARGATE_HOST_SOURCE_PATH,
];
