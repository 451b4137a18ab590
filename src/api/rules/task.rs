//! RunTask rules.

use super::{Admission::*, Rule};

pub const RUN_TASK_COUNT: Rule = Rule {
    name: "run_task_count",
    message: "count: you can specify up to 10 tasks for each call (1 to 10)",
    admission: Cel("!has(self.count) || (self.count >= 1 && self.count <= 10)"),
};
pub const RUN_TASK_LAUNCH_TYPE_OR_CAPACITY_PROVIDERS: Rule = Rule {
    name: "run_task_launch_type_or_capacity_providers",
    message: "launchType: if a launchType is specified, the capacityProviderStrategy parameter must be omitted",
    admission: Cel(
        "!has(self.launchType) || !has(self.capacityProviderStrategy) || size(self.capacityProviderStrategy) == 0",
    ),
};
pub const CONTAINER_OVERRIDE_KNOWN_CONTAINER: Rule = Rule {
    name: "container_override_known_container",
    message: "overrides.containerOverrides[].name: the container is not in the task definition",
    admission: Reconcile,
};

pub(super) const RULES: &[&Rule] = &[
    &RUN_TASK_COUNT,
    &RUN_TASK_LAUNCH_TYPE_OR_CAPACITY_PROVIDERS,
    &CONTAINER_OVERRIDE_KNOWN_CONTAINER,
];
