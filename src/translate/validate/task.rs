//! RunTask rules, alone and with the task definition run.

use super::{ValidationErrors, capacity_provider_strategy, result};
use crate::api::ecs::RunTaskRequest;
use crate::api::rules::task as rules;
use crate::api::task_definition::TaskDefinitionSpec;

/// What ECS rejects at RunTask, from the request alone (also the RunTask of a ScheduledTask).
pub fn task(run: &RunTaskRequest) -> Result<(), ValidationErrors> {
    let mut out = Vec::new();
    if run.count.is_some_and(|n| !(1..=10).contains(&n)) {
        out.push(rules::RUN_TASK_COUNT.at("count"));
    }
    let strategy = run
        .capacity_provider_strategy
        .as_deref()
        .unwrap_or_default();
    if run.launch_type.is_some() && !strategy.is_empty() {
        out.push(rules::RUN_TASK_LAUNCH_TYPE_OR_CAPACITY_PROVIDERS.at("launchType"));
    }
    capacity_provider_strategy("capacityProviderStrategy", strategy, &mut out);
    result(out)
}

/// What ECS rejects at RunTask, with the task definition run: the request's own rules, and
/// container overrides naming a container of the task definition.
pub fn task_with_task_definition(
    run: &RunTaskRequest,
    td: &TaskDefinitionSpec,
) -> Result<(), ValidationErrors> {
    let mut out = task(run).err().map(|e| e.0).unwrap_or_default();
    let overrides = run
        .overrides
        .as_ref()
        .and_then(|o| o.container_overrides.as_ref());
    let containers = &td.register.container_definitions;
    for (i, o) in overrides.into_iter().flatten().enumerate() {
        let name = o.name.as_deref().unwrap_or_default();
        if !name.is_empty() && !containers.iter().any(|c| c.name == name) {
            let path = format!("overrides.containerOverrides[{i}].name");
            out.push(rules::CONTAINER_OVERRIDE_KNOWN_CONTAINER.with_value(path, name));
        }
    }
    result(out)
}
