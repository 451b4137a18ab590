//! One ECS container definition → one Kubernetes container.

use super::secrets::{self, SecretRef};
use super::{Warnings, at, idx, names, probes, resources, volumes};
use crate::api::ecs::{ContainerDefinition, ContainerOverride, KeyValuePair, TransportProtocol};
use k8s_openapi::api::core::v1::{
    AppArmorProfile, Capabilities, ConfigMapEnvSource, Container, ContainerPort, EnvFromSource,
    EnvVar, EnvVarSource, ResourceRequirements, SELinuxOptions, SecretKeySelector, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::{BTreeMap, BTreeSet};

/// Task-level facts a container needs.
#[derive(Clone, Debug, Default)]
pub struct TaskFacts {
    /// Task CPU units, if set.
    pub task_cpu: Option<u64>,
    /// Task memory MiB, if set.
    pub task_memory: Option<u64>,
    /// networkMode host.
    pub host_network: bool,
    /// networkMode bridge (or unset on EC2).
    pub bridge: bool,
    /// healthCheckGracePeriodSeconds of the Service.
    pub grace: Option<i32>,
}

/// What converting a container produced besides the container.
#[derive(Clone, Debug, Default)]
pub struct ContainerExtras {
    /// Secret references (for External Secrets).
    pub secret_refs: Vec<SecretRef>,
    /// appProtocol per container port, for Services.
    pub app_protocols: BTreeMap<i32, String>,
}

fn env_vars(vars: &[KeyValuePair]) -> Vec<EnvVar> {
    vars.iter()
        .filter_map(|kv| {
            Some(EnvVar {
                name: kv.name.clone().filter(|n| !n.is_empty())?,
                value: kv.value.clone(),
                value_from: None,
            })
        })
        .collect()
}

/// Merge overriding variables by name (RunTask overrides).
fn merge_env(base: &mut Vec<EnvVar>, extra: Vec<EnvVar>) {
    for e in extra {
        match base.iter_mut().find(|b| b.name == e.name) {
            Some(b) => *b = e,
            None => base.push(e),
        }
    }
}

/// ConfigMap name for an environment file in S3 (`arn:aws:s3:::bucket/path/app.env`).
pub fn env_file_config_map(value: &str) -> String {
    let object = value.strip_prefix("arn:aws:s3:::").unwrap_or(value);
    names::dns_subdomain(&object.replace('/', "-").to_ascii_lowercase())
}

fn parse_range(r: &str) -> Option<(i32, i32)> {
    let (a, b) = r.split_once('-')?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a >= 1 && b <= 65535 && a <= b).then_some((a, b))
}

/// Convert container `i` of the task definition.
pub fn container(
    all: &[ContainerDefinition],
    i: usize,
    facts: &TaskFacts,
    overrides: Option<&ContainerOverride>,
    path: &str,
    w: &mut Warnings,
) -> (Container, ContainerExtras) {
    let c = &all[i];
    let mut extras = ContainerExtras::default();
    let name = names::dns_label(&c.name);
    let mut k = Container {
        name,
        image: Some(c.image.clone()),
        command: c.entry_point.clone().filter(|v| !v.is_empty()),
        args: c.command.clone().filter(|v| !v.is_empty()),
        working_dir: c.working_directory.clone().filter(|s| !s.is_empty()),
        stdin: c.interactive.filter(|b| *b),
        tty: c.pseudo_terminal.filter(|b| *b),
        ..Container::default()
    };
    if let Some(args) = overrides.and_then(|o| o.command.clone()) {
        k.args = Some(args);
    }

    // Environment: plain variables, secrets, environment files.
    let mut env = env_vars(c.environment.as_deref().unwrap_or_default());
    if let Some(o) = overrides.and_then(|o| o.environment.as_deref()) {
        merge_env(&mut env, env_vars(o));
    }
    for s in c.secrets.iter().flatten() {
        let r = secrets::resolve(&s.value_from);
        env.push(EnvVar {
            name: s.name.clone(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: r.secret.clone(),
                    key: r.key.clone(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            }),
        });
        extras.secret_refs.push(r);
    }
    k.env = (!env.is_empty()).then_some(env);
    let files = c.environment_files.iter().flatten().chain(
        overrides
            .and_then(|o| o.environment_files.as_ref())
            .into_iter()
            .flatten(),
    );
    let env_from: Vec<EnvFromSource> = files
        .map(|f| EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: env_file_config_map(&f.value),
                optional: None,
            }),
            ..EnvFromSource::default()
        })
        .collect();
    k.env_from = (!env_from.is_empty()).then_some(env_from);

    // Ports.
    let mut ports = Vec::new();
    for (j, pm) in c.port_mappings.iter().flatten().enumerate() {
        let p = idx(&at(path, "portMappings"), j);
        let protocol = match pm.protocol {
            Some(TransportProtocol::Udp) => "UDP",
            _ => "TCP",
        };
        let mut numbers = Vec::new();
        if let Some(cp) = pm.container_port {
            if cp > 0 {
                numbers.push(cp);
            } else {
                w.approximated(
                    at(&p, "containerPort"),
                    "containerPort 0 is not a port; the mapping is left out",
                );
            }
        }
        if let Some(range) = pm.container_port_range.as_deref() {
            match parse_range(range) {
                Some((a, b)) if b - a < 100 => numbers.extend(a..=b),
                _ => w.approximated(
                    at(&p, "containerPortRange"),
                    format!(
                        "range `{range}` is larger than 100 ports or malformed; it is left out"
                    ),
                ),
            }
        }
        let host_port = match (pm.host_port.filter(|h| *h > 0), facts.bridge) {
            (Some(h), true) => Some(h),
            _ => None,
        };
        for (n, number) in numbers.iter().enumerate() {
            if let Some(app) = pm.app_protocol {
                extras
                    .app_protocols
                    .insert(*number, app.as_str().to_string());
            }
            ports.push(ContainerPort {
                container_port: *number,
                host_port: if numbers.len() == 1 { host_port } else { None },
                protocol: Some(protocol.into()),
                name: if n == 0 {
                    pm.name
                        .as_deref()
                        .filter(|s| !s.is_empty())
                        .map(names::port_name)
                } else {
                    None
                },
                host_ip: None,
            });
        }
    }
    k.ports = (!ports.is_empty()).then_some(ports);

    // Resources.
    k.resources = Some(container_resources(c, facts, overrides));

    // Security context.
    k.security_context = security_context(c, path, w);

    // Health check.
    if let Some(hc) = &c.health_check {
        let pr = probes::probes(hc, facts.grace);
        k.liveness_probe = pr.liveness;
        k.readiness_probe = pr.readiness;
        k.startup_probe = pr.startup;
    }

    // Mounts (memory volumes are added by the task definition rule).
    let m = volumes::mounts(all, i, path, w);
    k.volume_mounts = (!m.is_empty()).then_some(m);
    (k, extras)
}

fn container_resources(
    c: &ContainerDefinition,
    facts: &TaskFacts,
    o: Option<&ContainerOverride>,
) -> ResourceRequirements {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    let cpu = o
        .and_then(|o| o.cpu)
        .or(Some(c.cpu.unwrap_or(0)))
        .filter(|c| *c > 0);
    if let Some(units) = cpu {
        requests.insert("cpu".to_string(), resources::cpu(units as u64));
    }
    if let Some(task_cpu) = facts.task_cpu {
        limits.insert("cpu".to_string(), resources::cpu(task_cpu));
    }
    let memory = o.and_then(|o| o.memory).or(c.memory).filter(|m| *m > 0);
    let reservation = o
        .and_then(|o| o.memory_reservation)
        .or(c.memory_reservation)
        .filter(|m| *m > 0);
    if let Some(m) = memory.or(facts.task_memory.map(|m| m as i32)) {
        limits.insert("memory".to_string(), resources::memory_mib(m as u64));
    }
    if let Some(r) = reservation.or(memory) {
        requests.insert("memory".to_string(), resources::memory_mib(r as u64));
    }
    let reqs = o
        .and_then(|o| o.resource_requirements.as_ref())
        .or(c.resource_requirements.as_ref());
    for rr in reqs.into_iter().flatten() {
        if let Some(res) = resources::extended_resource(rr.r#type.as_str()) {
            if let Some(v) = rr.value.clone().filter(|v| !v.is_empty()) {
                limits.insert(res.to_string(), Quantity(v));
            }
        }
    }
    ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        claims: None,
    }
}

fn security_context(
    c: &ContainerDefinition,
    path: &str,
    w: &mut Warnings,
) -> Option<SecurityContext> {
    let mut sc = SecurityContext {
        privileged: c.privileged.filter(|p| *p),
        read_only_root_filesystem: c.readonly_root_filesystem.filter(|p| *p),
        ..SecurityContext::default()
    };
    if let Some(caps) = c
        .linux_parameters
        .as_ref()
        .and_then(|l| l.capabilities.as_ref())
    {
        let norm = |v: &Option<Vec<String>>| {
            v.as_ref().filter(|v| !v.is_empty()).map(|v| {
                v.iter()
                    .map(|c| c.trim_start_matches("CAP_").to_string())
                    .collect::<Vec<_>>()
            })
        };
        sc.capabilities = Some(Capabilities {
            add: norm(&caps.add),
            drop: norm(&caps.drop),
        });
    }
    if let Some(user) = c.user.as_deref().filter(|u| !u.is_empty()) {
        let (u, g) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user, None),
        };
        match (u.parse::<i64>(), g.map(|g| g.parse::<i64>())) {
            (Ok(uid), None) => sc.run_as_user = Some(uid),
            (Ok(uid), Some(Ok(gid))) => {
                sc.run_as_user = Some(uid);
                sc.run_as_group = Some(gid);
            }
            _ => w.approximated(
                at(path, "user"),
                format!("user `{user}` is a name; Kubernetes needs numeric ids, so the image's default user runs (set runAsUser)"),
            ),
        }
    }
    for (j, opt) in c.docker_security_options.iter().flatten().enumerate() {
        let p = idx(&at(path, "dockerSecurityOptions"), j);
        let lower = opt.to_ascii_lowercase();
        if lower == "no-new-privileges" || lower == "no-new-privileges:true" {
            sc.allow_privilege_escalation = Some(false);
        } else if let Some(profile) = opt.strip_prefix("apparmor:") {
            sc.app_armor_profile = Some(AppArmorProfile {
                type_: "Localhost".into(),
                localhost_profile: Some(profile.into()),
            });
        } else if let Some(label) = opt.strip_prefix("label:") {
            let mut se = sc.se_linux_options.take().unwrap_or_default();
            match label.split_once(':') {
                Some(("user", v)) => se.user = Some(v.into()),
                Some(("role", v)) => se.role = Some(v.into()),
                Some(("type", v)) => se.type_ = Some(v.into()),
                Some(("level", v)) => se.level = Some(v.into()),
                _ => w.approximated(
                    p.clone(),
                    format!("SELinux option `{opt}` is not carried over"),
                ),
            }
            sc.se_linux_options = Some(SELinuxOptions { ..se });
        } else {
            w.approximated(
                p,
                format!("security option `{opt}` has no Kubernetes counterpart and is left out"),
            );
        }
    }
    (sc != SecurityContext::default()).then_some(sc)
}

/// How the containers of a task are arranged on Kubernetes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A regular container.
    Main,
    /// Others wait for it to start (START/HEALTHY): a native sidecar, started first.
    Sidecar,
    /// Others wait for it to finish (COMPLETE/SUCCESS): an init container.
    Init,
}

/// The role of each container, and the order of init containers and sidecars (dependencies first).
pub fn roles(all: &[ContainerDefinition]) -> (Vec<Role>, Vec<usize>) {
    use crate::api::ecs::ContainerCondition::*;
    let index: BTreeMap<&str, usize> = all
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut roles = vec![Role::Main; all.len()];
    // Seed: what others wait on; then anything an init/sidecar waits on must start before it too.
    let mut changed = true;
    let mut first = true;
    while changed {
        changed = false;
        for (i, c) in all.iter().enumerate() {
            if !first && roles[i] == Role::Main {
                continue;
            }
            for d in c.depends_on.iter().flatten() {
                let Some(&j) = index.get(d.container_name.as_str()) else {
                    continue;
                };
                let want = match d.condition {
                    Complete | Success => Role::Init,
                    Start | Healthy => Role::Sidecar,
                };
                if roles[j] == Role::Main || (roles[j] == Role::Sidecar && want == Role::Init) {
                    roles[j] = want;
                    changed = true;
                }
            }
        }
        if first {
            first = false;
            changed = true;
        }
    }
    // Topological order of non-main containers, stable by index.
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    let pending: Vec<usize> = (0..all.len()).filter(|i| roles[*i] != Role::Main).collect();
    for _ in 0..=pending.len() {
        for &i in &pending {
            if placed.contains(&i) {
                continue;
            }
            let ready = all[i].depends_on.iter().flatten().all(|d| {
                index
                    .get(d.container_name.as_str())
                    .is_none_or(|j| roles[*j] == Role::Main || placed.contains(j) || *j == i)
            });
            if ready {
                placed.insert(i);
                order.push(i);
            }
        }
    }
    for &i in &pending {
        if !placed.contains(&i) {
            order.push(i); // a cycle: keep the definition order
        }
    }
    (roles, order)
}
