//! One ECS container definition → one Kubernetes container.

use super::secrets::{self, SecretRef};
use super::{Warnings, at, idx, names, resources, volumes};
use crate::api::ecs::{
    ContainerDefinition, ContainerOverride, KeyValuePair, PortMapping, TransportProtocol,
};
use k8s_openapi::api::core::v1::{
    AppArmorProfile, Capabilities, ConfigMapEnvSource, Container, ContainerPort, EnvFromSource,
    EnvVar, EnvVarSource, ResourceRequirements, SELinuxOptions, SecretKeySelector, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::{BTreeMap, BTreeSet};

/// Task-level facts a container needs.
#[derive(Clone, Debug, Default)]
pub struct TaskFacts {
    /// networkMode bridge (or unset on EC2).
    pub bridge: bool,
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

/// One converted container and what it produced besides.
#[derive(Clone, Debug, Default)]
pub struct Converted {
    /// The Kubernetes container: no probes, and only extended resources (CPU and memory are
    /// shared out for the whole task by [`resources::allocate`]).
    pub container: Container,
    /// Secret references and appProtocols.
    pub extras: ContainerExtras,
}

/// Convert container `i` of the task definition.
pub fn container(
    all: &[ContainerDefinition],
    i: usize,
    facts: &TaskFacts,
    overrides: Option<&ContainerOverride>,
    path: &str,
    w: &mut Warnings,
) -> Converted {
    let c = &all[i];
    let mut extras = ContainerExtras::default();
    let mut k = Container {
        name: names::dns_label(&c.name),
        image: Some(c.image.clone()),
        command: c.entry_point.clone().filter(|v| !v.is_empty()),
        args: overrides
            .and_then(|o| o.command.clone())
            .or_else(|| c.command.clone().filter(|v| !v.is_empty())),
        working_dir: c.working_directory.clone().filter(|s| !s.is_empty()),
        stdin: c.interactive.filter(|b| *b),
        tty: c.pseudo_terminal.filter(|b| *b),
        ..Container::default()
    };
    let env = environment(c, overrides, &mut extras);
    k.env = (!env.is_empty()).then_some(env);
    let env_from = environment_files(c, overrides);
    k.env_from = (!env_from.is_empty()).then_some(env_from);
    let ports = ports(c, facts, path, &mut extras, w);
    k.ports = (!ports.is_empty()).then_some(ports);
    k.resources = extended_resources(c, overrides);
    k.security_context = security_context(c, path, w);
    // Mounts (memory volumes are added by the task definition rule).
    let m = volumes::mounts(all, i, path, w);
    k.volume_mounts = (!m.is_empty()).then_some(m);
    Converted {
        container: k,
        extras,
    }
}

/// Plain variables (with RunTask overrides merged by name), then secrets.
fn environment(
    c: &ContainerDefinition,
    overrides: Option<&ContainerOverride>,
    extras: &mut ContainerExtras,
) -> Vec<EnvVar> {
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
    env
}

/// Environment files (and their RunTask overrides) as ConfigMap sources.
fn environment_files(
    c: &ContainerDefinition,
    overrides: Option<&ContainerOverride>,
) -> Vec<EnvFromSource> {
    let files = c.environment_files.iter().flatten().chain(
        overrides
            .and_then(|o| o.environment_files.as_ref())
            .into_iter()
            .flatten(),
    );
    files
        .map(|f| EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: env_file_config_map(&f.value),
                optional: None,
            }),
            ..EnvFromSource::default()
        })
        .collect()
}

/// Container ports of the port mappings (ranges expanded).
fn ports(
    c: &ContainerDefinition,
    facts: &TaskFacts,
    path: &str,
    extras: &mut ContainerExtras,
    w: &mut Warnings,
) -> Vec<ContainerPort> {
    let mut ports = Vec::new();
    for (j, pm) in c.port_mappings.iter().flatten().enumerate() {
        let p = idx(&at(path, "portMappings"), j);
        let protocol = match pm.protocol {
            Some(TransportProtocol::Udp) => "UDP",
            _ => "TCP",
        };
        let numbers = port_numbers(pm, &p, w);
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
                name: (n == 0)
                    .then(|| pm.name.as_deref().filter(|s| !s.is_empty()))
                    .flatten()
                    .map(names::port_name),
                host_ip: None,
            });
        }
    }
    ports
}

/// The container port numbers of one mapping: its port, or its range of up to 100 ports.
fn port_numbers(pm: &PortMapping, p: &str, w: &mut Warnings) -> Vec<i32> {
    let mut numbers = Vec::new();
    if let Some(cp) = pm.container_port {
        if cp > 0 {
            numbers.push(cp);
        } else {
            w.approximated(
                at(p, "containerPort"),
                "containerPort 0 is not a port; the mapping is left out",
            );
        }
    }
    if let Some(range) = pm.container_port_range.as_deref() {
        match parse_range(range) {
            Some((a, b)) if b - a < 100 => numbers.extend(a..=b),
            _ => w.approximated(
                at(p, "containerPortRange"),
                format!("range `{range}` is larger than 100 ports or malformed; it is left out"),
            ),
        }
    }
    numbers
}

/// What a container asks for of the task's CPU and memory (after RunTask overrides).
pub fn demand(
    c: &ContainerDefinition,
    o: Option<&ContainerOverride>,
    lifetime: resources::Lifetime,
) -> resources::Demand {
    let positive = |v: Option<i32>| v.filter(|v| *v > 0).map(|v| v as u64);
    resources::Demand {
        name: names::dns_label(&c.name),
        cpu: positive(o.and_then(|o| o.cpu).or(c.cpu)),
        memory: positive(o.and_then(|o| o.memory).or(c.memory)),
        memory_reservation: positive(
            o.and_then(|o| o.memory_reservation)
                .or(c.memory_reservation),
        ),
        essential: c.essential != Some(false),
        lifetime,
    }
}

/// GPU and Neuron device limits (CPU and memory are shared out per task).
fn extended_resources(
    c: &ContainerDefinition,
    o: Option<&ContainerOverride>,
) -> Option<ResourceRequirements> {
    let mut limits = BTreeMap::new();
    let reqs = o
        .and_then(|o| o.resource_requirements.as_ref())
        .or(c.resource_requirements.as_ref());
    for rr in reqs.into_iter().flatten() {
        if let Some(res) = resources::extended_resource(rr.r#type.as_str())
            && let Some(v) = rr.value.clone().filter(|v| !v.is_empty())
        {
            limits.insert(res.to_string(), Quantity(v));
        }
    }
    (!limits.is_empty()).then(|| ResourceRequirements {
        limits: Some(limits),
        ..ResourceRequirements::default()
    })
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A regular container.
    Main,
    /// Others wait for it to start (START on an essential container, HEALTHY): a native
    /// sidecar, started first and restarted whenever it exits.
    Sidecar,
    /// Others wait for it to finish (COMPLETE/SUCCESS): an init container.
    Init,
}

/// The arrangement of a task's containers in a pod.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Arrangement {
    /// The role of each container definition.
    pub roles: Vec<Role>,
    /// Init containers and sidecars, dependencies first.
    pub init_order: Vec<usize>,
    /// Regular containers, START dependencies first (the kubelet starts them in this order).
    pub main_order: Vec<usize>,
    /// Containers others wait on to be HEALTHY: their startup probe holds the others back.
    pub awaited_healthy: BTreeSet<usize>,
}

/// Arrange the containers by their `dependsOn`. COMPLETE/SUCCESS make the dependency an init
/// container; HEALTHY a native sidecar; START a native sidecar when the dependency is essential
/// (it runs for the life of the task) or an init container or sidecar waits for it, else the
/// dependency stays a regular container started before its dependents (a native sidecar that
/// exits would be restarted forever).
pub fn arrange(all: &[ContainerDefinition], w: &mut Warnings) -> Arrangement {
    let index: BTreeMap<&str, usize> = all
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let roles = roles(all, &index);
    report_start_dependencies(all, &index, &roles, w);
    let by_role = |main: bool| -> Vec<usize> {
        (0..all.len())
            .filter(|i| (roles[*i] == Role::Main) == main)
            .collect()
    };
    let awaited_healthy = all
        .iter()
        .flat_map(|c| c.depends_on.iter().flatten())
        .filter(|d| d.condition == crate::api::ecs::ContainerCondition::Healthy)
        .filter_map(|d| index.get(d.container_name.as_str()).copied())
        .collect();
    Arrangement {
        init_order: dependency_order(all, &index, by_role(false)),
        main_order: dependency_order(all, &index, by_role(true)),
        roles,
        awaited_healthy,
    }
}

/// The role of each container: what its dependents need, raised until nothing changes (a
/// sidecar or init container starts before the regular containers, so what it waits on must too).
fn roles(all: &[ContainerDefinition], index: &BTreeMap<&str, usize>) -> Vec<Role> {
    use crate::api::ecs::ContainerCondition::*;
    let mut roles = vec![Role::Main; all.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (i, c) in all.iter().enumerate() {
            for d in c.depends_on.iter().flatten() {
                let Some(&j) = index.get(d.container_name.as_str()) else {
                    continue;
                };
                let want = match d.condition {
                    Complete | Success => Role::Init,
                    Healthy => Role::Sidecar,
                    Start if all[j].essential != Some(false) || roles[i] != Role::Main => {
                        Role::Sidecar
                    }
                    Start => Role::Main,
                };
                if want > roles[j] {
                    roles[j] = want;
                    changed = true;
                }
            }
        }
    }
    roles
}

/// START dependencies on non-essential containers: what they became.
fn report_start_dependencies(
    all: &[ContainerDefinition],
    index: &BTreeMap<&str, usize>,
    roles: &[Role],
    w: &mut Warnings,
) {
    for (i, c) in all.iter().enumerate() {
        for (k, d) in c.depends_on.iter().flatten().enumerate() {
            let Some(&j) = index.get(d.container_name.as_str()) else {
                continue;
            };
            if d.condition != crate::api::ecs::ContainerCondition::Start
                || all[j].essential != Some(false)
            {
                continue;
            }
            let path = idx(&at(&idx("containerDefinitions", i), "dependsOn"), k);
            let name = &all[j].name;
            match roles[j] {
                Role::Main => w.approximated(path, format!(
                    "`{name}` is not essential and may exit, so it stays a regular container (a native sidecar would be restarted whenever it exits), listed before this one: the kubelet starts a pod's containers in order but does not wait for `{name}` to have started"
                )),
                Role::Sidecar => w.approximated(path, format!(
                    "`{name}` runs as a native sidecar because a container that starts before the regular ones waits for it: if it exits, Kubernetes restarts it"
                )),
                Role::Init => {}
            }
        }
    }
}

/// `members` ordered so that each comes after the members it depends on (stable by index; a
/// cycle keeps the definition order).
fn dependency_order(
    all: &[ContainerDefinition],
    index: &BTreeMap<&str, usize>,
    members: Vec<usize>,
) -> Vec<usize> {
    let mut order = Vec::new();
    let mut placed = BTreeSet::new();
    for _ in 0..=members.len() {
        for &i in &members {
            if placed.contains(&i) {
                continue;
            }
            let ready = all[i].depends_on.iter().flatten().all(|d| {
                index
                    .get(d.container_name.as_str())
                    .is_none_or(|j| !members.contains(j) || placed.contains(j) || *j == i)
            });
            if ready {
                placed.insert(i);
                order.push(i);
            }
        }
    }
    order.extend(members.iter().filter(|i| !placed.contains(i)));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(v: serde_json::Value) -> Vec<ContainerDefinition> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn start_on_essential_is_a_sidecar_and_on_non_essential_a_regular_container_first() {
        let all = defs(serde_json::json!([
            {"name": "app", "image": "a", "dependsOn": [
                {"containerName": "proxy", "condition": "START"},
                {"containerName": "seed", "condition": "START"}]},
            {"name": "proxy", "image": "p"},
            {"name": "seed", "image": "s", "essential": false}
        ]));
        let mut w = Warnings::default();
        let a = arrange(&all, &mut w);
        assert_eq!(
            a,
            Arrangement {
                roles: vec![Role::Main, Role::Sidecar, Role::Main],
                init_order: vec![1],
                main_order: vec![2, 0],
                awaited_healthy: BTreeSet::new(),
            }
        );
        let w = w.into_vec();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].path, "containerDefinitions[0].dependsOn[1]");
    }

    #[test]
    fn what_a_sidecar_or_init_container_waits_on_starts_before_it() {
        let all = defs(serde_json::json!([
            {"name": "app", "image": "a", "dependsOn": [
                {"containerName": "db", "condition": "HEALTHY"},
                {"containerName": "migrate", "condition": "SUCCESS"}]},
            {"name": "db", "image": "d", "dependsOn": [{"containerName": "seed", "condition": "START"}]},
            {"name": "migrate", "image": "m", "essential": false,
             "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]},
            {"name": "seed", "image": "s", "essential": false}
        ]));
        let mut w = Warnings::default();
        let a = arrange(&all, &mut w);
        assert_eq!(
            a,
            Arrangement {
                roles: vec![Role::Main, Role::Sidecar, Role::Init, Role::Sidecar],
                init_order: vec![3, 1, 2],
                main_order: vec![0],
                awaited_healthy: BTreeSet::from([1]),
            }
        );
        let w = w.into_vec();
        assert_eq!(w.len(), 1);
        assert!(w[0].message.contains("runs as a native sidecar because"));
    }

    #[test]
    fn demand_takes_container_overrides() {
        let c =
            &defs(serde_json::json!([{"name": "a", "image": "a", "cpu": 256, "memory": 512}]))[0];
        let o = ContainerOverride {
            cpu: Some(512),
            memory_reservation: Some(128),
            ..ContainerOverride::default()
        };
        assert_eq!(
            demand(c, Some(&o), resources::Lifetime::Task),
            resources::Demand {
                name: "a".into(),
                cpu: Some(512),
                memory: Some(512),
                memory_reservation: Some(128),
                essential: true,
                lifetime: resources::Lifetime::Task,
            }
        );
    }
}
