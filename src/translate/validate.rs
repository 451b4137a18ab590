//! Checks ECS makes when a task definition is registered, and Cluster policy. Pure: the same
//! checks run in `render` and in the controllers (where they become a `Ready=False` condition
//! naming the field). The CRD's CEL rules reject the simplest of them at `kubectl apply`.

use super::resources;
use crate::api::cluster::ClusterPolicy;
use crate::api::ecs::{Compatibility, NetworkMode};
use crate::api::task_definition::TaskDefinitionSpec;
use std::collections::BTreeSet;

/// One problem, naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// JSON path inside the spec.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// All problems of a spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<ValidationError>);

fn err(out: &mut Vec<ValidationError>, path: impl Into<String>, message: impl Into<String>) {
    out.push(ValidationError {
        path: path.into(),
        message: message.into(),
    });
}

/// What ECS rejects at RegisterTaskDefinition.
pub fn task_definition(td: &TaskDefinitionSpec) -> Result<(), ValidationErrors> {
    let reg = &td.register;
    let mut out = Vec::new();
    let all = &reg.container_definitions;
    if all.is_empty() {
        err(
            &mut out,
            "containerDefinitions",
            "at least one container definition is required",
        );
    }
    if all.len() > 10 {
        err(
            &mut out,
            "containerDefinitions",
            "at most 10 containers per task definition",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, c) in all.iter().enumerate() {
        if !c.name.is_empty() && !seen.insert(c.name.as_str()) {
            err(
                &mut out,
                format!("containerDefinitions[{i}].name"),
                format!("container name `{}` is used twice", c.name),
            );
        }
    }
    if !all.is_empty() && !all.iter().any(|c| c.essential != Some(false)) {
        err(
            &mut out,
            "containerDefinitions",
            "at least one container must be essential",
        );
    }
    let names: BTreeSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let volumes: BTreeSet<&str> = reg
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| v.name.as_deref())
        .collect();
    for (i, c) in all.iter().enumerate() {
        let p = format!("containerDefinitions[{i}]");
        for (j, d) in c
            .depends_on
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, d)| !d.container_name.is_empty())
        {
            if !names.contains(d.container_name.as_str()) {
                err(
                    &mut out,
                    format!("{p}.dependsOn[{j}].containerName"),
                    format!("no container named `{}`", d.container_name),
                );
            } else if d.container_name == c.name {
                err(
                    &mut out,
                    format!("{p}.dependsOn[{j}].containerName"),
                    "a container cannot depend on itself",
                );
            }
        }
        for (j, m) in c.mount_points.iter().flatten().enumerate() {
            if let Some(v) = m.source_volume.as_deref().filter(|v| !v.is_empty()) {
                if !volumes.contains(v) {
                    err(
                        &mut out,
                        format!("{p}.mountPoints[{j}].sourceVolume"),
                        format!("no volume named `{v}` in volumes"),
                    );
                }
            }
        }
        for (j, v) in c.volumes_from.iter().flatten().enumerate() {
            if let Some(s) = v.source_container.as_deref().filter(|s| !s.is_empty()) {
                if !names.contains(s) {
                    err(
                        &mut out,
                        format!("{p}.volumesFrom[{j}].sourceContainer"),
                        format!("no container named `{s}`"),
                    );
                }
            }
        }
        for (j, pm) in c.port_mappings.iter().flatten().enumerate() {
            if reg.network_mode == Some(NetworkMode::Awsvpc) {
                if let (Some(h), Some(cp)) = (pm.host_port, pm.container_port) {
                    if h != 0 && h != cp {
                        err(
                            &mut out,
                            format!("{p}.portMappings[{j}].hostPort"),
                            "with networkMode awsvpc, hostPort must be omitted or equal containerPort",
                        );
                    }
                }
            }
        }
    }
    let compat = reg.requires_compatibilities.as_deref().unwrap_or_default();
    // ECS treats an empty size as unset (the CLI's skeleton has "").
    let set =
        |s: &Option<crate::api::quantity::TaskSize>| s.clone().filter(|s| !s.0.trim().is_empty());
    let (cpu, memory) = (set(&reg.cpu), set(&reg.memory));
    if compat.contains(&Compatibility::Fargate) {
        match (cpu.as_ref(), memory.as_ref()) {
            (Some(cpu), Some(mem)) => match (cpu.cpu_units(), mem.memory_mib()) {
                (Some(c), Some(m)) if resources::fargate_memory_valid(c, m) => {}
                (Some(c), Some(m)) => err(
                    &mut out,
                    "memory",
                    format!("cpu {c} units with {m} MiB is not a valid Fargate combination"),
                ),
                (None, _) => err(
                    &mut out,
                    "cpu",
                    format!("`{cpu}` is not a CPU amount (\"256\", \"1 vCPU\")"),
                ),
                (_, None) => err(
                    &mut out,
                    "memory",
                    format!("`{mem}` is not a memory amount (\"512\", \"2 GB\")"),
                ),
            },
            _ => err(
                &mut out,
                "cpu",
                "requiresCompatibilities FARGATE: task-level cpu and memory are required",
            ),
        }
        if reg.network_mode.is_some_and(|n| n != NetworkMode::Awsvpc) {
            err(
                &mut out,
                "networkMode",
                "requiresCompatibilities FARGATE: networkMode must be awsvpc",
            );
        }
    } else {
        if let Some(cpu) = &cpu {
            if cpu.cpu_units().is_none() {
                err(
                    &mut out,
                    "cpu",
                    format!("`{cpu}` is not a CPU amount (\"256\", \"1 vCPU\")"),
                );
            }
        }
        if let Some(mem) = &memory {
            if mem.memory_mib().is_none() {
                err(
                    &mut out,
                    "memory",
                    format!("`{mem}` is not a memory amount (\"512\", \"2 GB\")"),
                );
            }
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(out))
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}

/// What a Cluster's policy forbids in a task definition (with the role actually used).
pub fn policy(
    td: &TaskDefinitionSpec,
    task_role: Option<&str>,
    policy: &ClusterPolicy,
) -> Result<(), ValidationErrors> {
    let reg = &td.register;
    let mut out = Vec::new();
    if let Some(role) = task_role {
        if !policy.allowed_task_role_arns.is_empty()
            && !policy.allowed_task_role_arns.iter().any(|p| glob(p, role))
        {
            err(
                &mut out,
                "taskRoleArn",
                format!("role `{role}` is not allowed by the Cluster policy (allowedTaskRoleArns)"),
            );
        }
    }
    let host_ns = policy.allow_host_namespaces == Some(true);
    if !host_ns {
        if reg.network_mode == Some(NetworkMode::Host) {
            err(
                &mut out,
                "networkMode",
                "host networking is not allowed by the Cluster policy (allowHostNamespaces)",
            );
        }
        if reg.pid_mode == Some(crate::api::ecs::PidMode::Host) {
            err(
                &mut out,
                "pidMode",
                "the host PID namespace is not allowed by the Cluster policy (allowHostNamespaces)",
            );
        }
        if reg.ipc_mode == Some(crate::api::ecs::IpcMode::Host) {
            err(
                &mut out,
                "ipcMode",
                "the host IPC namespace is not allowed by the Cluster policy (allowHostNamespaces)",
            );
        }
    }
    if policy.allow_host_volumes != Some(true) {
        for (i, v) in reg.volumes.iter().flatten().enumerate() {
            if v.host
                .as_ref()
                .and_then(|h| h.source_path.as_deref())
                .is_some_and(|p| !p.is_empty())
            {
                err(
                    &mut out,
                    format!("volumes[{i}].host"),
                    "host volumes are not allowed by the Cluster policy (allowHostVolumes)",
                );
            }
        }
    }
    for (i, c) in reg.container_definitions.iter().enumerate() {
        if c.privileged == Some(true) && policy.allow_privileged_containers != Some(true) {
            err(
                &mut out,
                format!("containerDefinitions[{i}].privileged"),
                "privileged containers are not allowed by the Cluster policy (allowPrivilegedContainers)",
            );
        }
        if !policy.allowed_image_prefixes.is_empty()
            && !policy
                .allowed_image_prefixes
                .iter()
                .any(|p| c.image.starts_with(p.as_str()))
        {
            err(
                &mut out,
                format!("containerDefinitions[{i}].image"),
                format!(
                    "image `{}` is not allowed by the Cluster policy (allowedImagePrefixes)",
                    c.image
                ),
            );
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(json: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn fargate_sizes_in_every_form() {
        let ok = td(
            serde_json::json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "2 GB", "containerDefinitions": [{"name": "a", "image": "i"}]}),
        );
        assert!(task_definition(&ok).is_ok());
        let bad = td(
            serde_json::json!({"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "4096", "containerDefinitions": [{"name": "a", "image": "i"}]}),
        );
        let e = task_definition(&bad).unwrap_err();
        assert_eq!(e.0[0].path, "memory");
        assert!(e.0[0].message.contains("not a valid Fargate combination"));
    }

    #[test]
    fn names_dependencies_and_mounts() {
        let bad = td(serde_json::json!({"containerDefinitions": [
            {"name": "a", "image": "i", "essential": false, "dependsOn": [{"containerName": "zz", "condition": "START"}],
             "mountPoints": [{"sourceVolume": "nope", "containerPath": "/x"}]},
            {"name": "a", "image": "i", "essential": false}
        ]}));
        let e = task_definition(&bad).unwrap_err().0;
        let paths: Vec<_> = e.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.contains(&"containerDefinitions[1].name"));
        assert!(paths.contains(&"containerDefinitions"));
        assert!(paths.contains(&"containerDefinitions[0].dependsOn[0].containerName"));
        assert!(paths.contains(&"containerDefinitions[0].mountPoints[0].sourceVolume"));
    }

    #[test]
    fn policy_knobs() {
        let t = td(
            serde_json::json!({"networkMode": "host", "containerDefinitions": [{"name": "a", "image": "docker.io/x", "privileged": true}]}),
        );
        let p = ClusterPolicy {
            allowed_task_role_arns: vec!["arn:aws:iam::1:role/team-a-*".into()],
            allowed_image_prefixes: vec!["public.ecr.aws/".into()],
            ..Default::default()
        };
        let e = policy(&t, Some("arn:aws:iam::1:role/team-b-app"), &p)
            .unwrap_err()
            .0;
        let paths: Vec<_> = e.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "taskRoleArn",
                "networkMode",
                "containerDefinitions[0].privileged",
                "containerDefinitions[0].image"
            ]
        );
        assert!(
            policy(
                &t,
                Some("arn:aws:iam::1:role/team-a-app"),
                &ClusterPolicy {
                    allowed_task_role_arns: vec!["arn:aws:iam::1:role/team-a-*".into()],
                    allow_host_namespaces: Some(true),
                    allow_privileged_containers: Some(true),
                    ..Default::default()
                }
            )
            .is_ok()
        );
    }
}
