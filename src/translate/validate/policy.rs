//! Cluster policy: what a Cluster forbids in the task definitions run in it (not an ECS rule; a
//! Tidewater platform control, reported as `PolicyViolation`).

use super::{ValidationError, result};
use crate::api::cluster::ClusterPolicy;
use crate::api::ecs::{IpcMode, NetworkMode, PidMode};
use crate::api::task_definition::TaskDefinitionSpec;

use super::ValidationErrors;

fn err(out: &mut Vec<ValidationError>, path: impl Into<String>, message: impl Into<String>) {
    out.push(ValidationError {
        path: path.into(),
        message: message.into(),
    });
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
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
    let mut out = Vec::new();
    task_role_allowed(task_role, policy, &mut out);
    if policy.allow_host_namespaces != Some(true) {
        host_namespaces(td, &mut out);
    }
    if policy.allow_host_volumes != Some(true) {
        host_volumes(td, &mut out);
    }
    containers_allowed(td, policy, &mut out);
    result(out)
}

fn task_role_allowed(role: Option<&str>, policy: &ClusterPolicy, out: &mut Vec<ValidationError>) {
    let Some(role) = role else { return };
    if !policy.allowed_task_role_arns.is_empty()
        && !policy.allowed_task_role_arns.iter().any(|p| glob(p, role))
    {
        err(
            out,
            "taskRoleArn",
            format!("role `{role}` is not allowed by the Cluster policy (allowedTaskRoleArns)"),
        );
    }
}

fn host_namespaces(td: &TaskDefinitionSpec, out: &mut Vec<ValidationError>) {
    let reg = &td.register;
    if reg.network_mode == Some(NetworkMode::Host) {
        err(
            out,
            "networkMode",
            "host networking is not allowed by the Cluster policy (allowHostNamespaces)",
        );
    }
    if reg.pid_mode == Some(PidMode::Host) {
        err(
            out,
            "pidMode",
            "the host PID namespace is not allowed by the Cluster policy (allowHostNamespaces)",
        );
    }
    if reg.ipc_mode == Some(IpcMode::Host) {
        err(
            out,
            "ipcMode",
            "the host IPC namespace is not allowed by the Cluster policy (allowHostNamespaces)",
        );
    }
}

fn host_volumes(td: &TaskDefinitionSpec, out: &mut Vec<ValidationError>) {
    for (i, v) in td.register.volumes.iter().flatten().enumerate() {
        if v.host
            .as_ref()
            .and_then(|h| h.source_path.as_deref())
            .is_some_and(|p| !p.is_empty())
        {
            err(
                out,
                format!("volumes[{i}].host"),
                "host volumes are not allowed by the Cluster policy (allowHostVolumes)",
            );
        }
    }
}

fn containers_allowed(
    td: &TaskDefinitionSpec,
    policy: &ClusterPolicy,
    out: &mut Vec<ValidationError>,
) {
    for (i, c) in td.register.container_definitions.iter().enumerate() {
        if c.privileged == Some(true) && policy.allow_privileged_containers != Some(true) {
            err(
                out,
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
                out,
                format!("containerDefinitions[{i}].image"),
                format!(
                    "image `{}` is not allowed by the Cluster policy (allowedImagePrefixes)",
                    c.image
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(json: serde_json::Value) -> TaskDefinitionSpec {
        serde_json::from_value(json).unwrap()
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
