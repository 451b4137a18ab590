//! A task definition (with the context of what runs it) → a pod template.

use super::containers::{self, Role, TaskFacts};
use super::secrets::SecretRef;
use super::{Warnings, at, identity, idx, labels, names, placement, volumes};
use crate::api::ecs::{IpcMode, NetworkMode, PidMode, TaskOverride};
use crate::api::task_definition::TaskDefinitionSpec;
use k8s_openapi::api::core::v1::{
    Container, HostAlias, LocalObjectReference, PodDNSConfig, PodSecurityContext, PodSpec,
    PodTemplateSpec, Sysctl,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// What runs the task definition, as far as the pod template is concerned.
#[derive(Clone, Debug, Default)]
pub struct PodContext<'a> {
    /// The ECS family (resolved: `family` or metadata.name).
    pub family: String,
    /// The revision, when known.
    pub revision: Option<i64>,
    /// Name for the ServiceAccount of the task role.
    pub service_account: String,
    /// Labels identifying the workload (the selector), added to the template.
    pub selector: BTreeMap<String, String>,
    /// More labels (tags, capacity provider), added to the template.
    pub labels: BTreeMap<String, String>,
    /// healthCheckGracePeriodSeconds.
    pub grace: Option<i32>,
    /// RunTask overrides.
    pub overrides: Option<&'a TaskOverride>,
    /// Pods run once (RunTask): restartPolicy Never.
    pub run_once: bool,
    /// Volumes configured at launch.
    pub launch_volumes: BTreeMap<String, volumes::LaunchVolume>,
}

/// The pod template and what goes with it.
#[derive(Clone, Debug, Default)]
pub struct PodBuild {
    /// The template.
    pub template: PodTemplateSpec,
    /// The task role, if any (taskRoleArn or its override).
    pub task_role_arn: Option<String>,
    /// Secrets referenced.
    pub secret_refs: Vec<SecretRef>,
    /// appProtocol per container port.
    pub app_protocols: BTreeMap<i32, String>,
    /// Ports by (ECS container name, container port) → port name, for Services.
    pub ports: Vec<(String, i32, Option<String>, String)>,
}

/// Build the pod template. Warnings are about the task definition's fields.
pub fn pod_template(td: &TaskDefinitionSpec, ctx: &PodContext<'_>, w: &mut Warnings) -> PodBuild {
    let reg = &td.register;
    let all = &reg.container_definitions;
    let cpu = ctx
        .overrides
        .and_then(|o| o.cpu.clone())
        .map(Into::into)
        .or(reg.cpu.clone());
    let memory = ctx
        .overrides
        .and_then(|o| o.memory.clone())
        .map(Into::into)
        .or(reg.memory.clone());
    let facts = TaskFacts {
        task_cpu: cpu
            .as_ref()
            .and_then(|c: &crate::api::quantity::TaskSize| c.cpu_units())
            .filter(|c| *c > 0),
        task_memory: memory
            .as_ref()
            .and_then(|m: &crate::api::quantity::TaskSize| m.memory_mib())
            .filter(|m| *m > 0),
        host_network: reg.network_mode == Some(NetworkMode::Host),
        bridge: matches!(reg.network_mode, Some(NetworkMode::Bridge) | None),
        grace: ctx.grace,
    };
    let mut spec = PodSpec::default();
    let mut build = PodBuild::default();
    let mut annotations = BTreeMap::new();

    match reg.network_mode {
        Some(NetworkMode::Host) => {
            spec.host_network = Some(true);
            spec.dns_policy = Some("ClusterFirstWithHostNet".into());
        }
        Some(NetworkMode::Bridge) => w.approximated(
            "networkMode",
            "bridge: the task's containers share the pod's network namespace (localhost) and the pod gets its own IP",
        ),
        Some(NetworkMode::None) => w.approximated("networkMode", "none: pods always have a network interface; the pod network is used"),
        Some(NetworkMode::Awsvpc) | None => {}
    }
    match reg.pid_mode {
        Some(PidMode::Host) => spec.host_pid = Some(true),
        Some(PidMode::Task) => spec.share_process_namespace = Some(true),
        None => {}
    }
    match reg.ipc_mode {
        Some(IpcMode::Host) => spec.host_ipc = Some(true),
        Some(IpcMode::None) => w.approximated(
            "ipcMode",
            "none: the pod's containers share one private IPC namespace",
        ),
        Some(IpcMode::Task) | None => {}
    }

    // Containers.
    let (roles, order) = containers::roles(all);
    let container_overrides = ctx.overrides.and_then(|o| o.container_overrides.as_ref());
    let mut main = Vec::new();
    let mut init: BTreeMap<usize, Container> = BTreeMap::new();
    let mut volumes_out = volumes::volumes(
        reg.volumes.as_deref().unwrap_or_default(),
        &ctx.launch_volumes,
        "volumes",
        w,
    );
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut nameservers: Vec<String> = Vec::new();
    let mut searches: Vec<String> = Vec::new();
    let mut sysctls: Vec<Sysctl> = Vec::new();
    let mut pull_secrets: Vec<LocalObjectReference> = Vec::new();
    let mut hostname: Option<String> = None;
    let mut grace: Option<i64> = None;
    let first_essential = all.iter().position(|c| c.essential != Some(false));

    for (i, c) in all.iter().enumerate() {
        let path = idx("containerDefinitions", i);
        let ov = container_overrides.and_then(|os| {
            os.iter()
                .find(|o| o.name.as_deref() == Some(c.name.as_str()))
        });
        let (mut k, extras) = containers::container(all, i, &facts, ov, &path, w);
        build.secret_refs.extend(extras.secret_refs);
        build.app_protocols.extend(extras.app_protocols);
        for p in k.ports.iter().flatten() {
            build.ports.push((
                c.name.clone(),
                p.container_port,
                p.name.clone(),
                p.protocol.clone().unwrap_or_default(),
            ));
        }
        let (mvols, mmounts) = volumes::memory_volumes(c, &k.name);
        volumes_out.extend(mvols);
        if !mmounts.is_empty() {
            k.volume_mounts.get_or_insert_with(Vec::new).extend(mmounts);
        }
        if Some(i) == first_essential {
            let eph = ctx
                .overrides
                .and_then(|o| o.ephemeral_storage.as_ref())
                .or(reg.ephemeral_storage.as_ref());
            if let Some(e) = eph {
                let res = k.resources.get_or_insert_with(Default::default);
                res.limits.get_or_insert_with(BTreeMap::new).insert(
                    "ephemeral-storage".into(),
                    super::resources::gib(e.size_in_gi_b.max(0) as u64),
                );
            }
        }
        if c.linux_parameters
            .as_ref()
            .and_then(|l| l.init_process_enabled)
            == Some(true)
        {
            spec.share_process_namespace = Some(true);
        }
        for link in c.links.iter().flatten() {
            let (target, alias) = link
                .split_once(':')
                .unwrap_or((link.as_str(), link.as_str()));
            let hosts = aliases.entry("127.0.0.1".into()).or_default();
            for h in [target, alias] {
                if !hosts.iter().any(|x| x == h) {
                    hosts.push(h.into());
                }
            }
        }
        if let Some(hosts) = c.extra_hosts.as_ref().filter(|h| !h.is_empty()) {
            if all
                .iter()
                .filter(|o| o.extra_hosts.as_ref().is_some_and(|h| !h.is_empty()))
                .count()
                > 1
            {
                w.approximated(
                    at(&path, "extraHosts"),
                    "pod hostAliases apply to every container of the task",
                );
            }
            for h in hosts {
                aliases
                    .entry(h.ip_address.clone())
                    .or_default()
                    .push(h.hostname.clone());
            }
        }
        for (field, list, out) in [
            ("dnsServers", &c.dns_servers, &mut nameservers),
            ("dnsSearchDomains", &c.dns_search_domains, &mut searches),
        ] {
            if let Some(values) = list.as_ref().filter(|v| !v.is_empty()) {
                if !out.is_empty() && out != values {
                    w.approximated(
                        at(&path, field),
                        "one DNS configuration per pod: the containers' lists are merged",
                    );
                }
                for v in values {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
            }
        }
        for (j, sc) in c.system_controls.iter().flatten().enumerate() {
            if let (Some(n), Some(v)) = (sc.namespace.as_ref(), sc.value.as_ref()) {
                if !is_safe_sysctl(n) {
                    w.approximated(idx(&at(&path, "systemControls"), j), format!("sysctl `{n}` is unsafe on Kubernetes and must be allowed on the kubelet (--allowed-unsafe-sysctls)"));
                }
                if !sysctls.iter().any(|s| &s.name == n) {
                    sysctls.push(Sysctl {
                        name: n.clone(),
                        value: v.clone(),
                    });
                }
            }
        }
        if let Some(h) = c.hostname.as_deref().filter(|h| !h.is_empty()) {
            let label = names::dns_label(h);
            if label != h || hostname.as_ref().is_some_and(|o| o != &label) {
                w.approximated(
                    at(&path, "hostname"),
                    format!("pod hostname `{label}` (one per pod, a DNS label)"),
                );
            }
            hostname.get_or_insert(label);
        }
        if let Some(st) = c.stop_timeout {
            if grace.is_some_and(|g| g != i64::from(st)) {
                w.approximated(
                    at(&path, "stopTimeout"),
                    "one grace period per pod: the largest stopTimeout applies to every container",
                );
            }
            grace = Some(grace.map_or(i64::from(st), |g: i64| g.max(i64::from(st))));
        }
        if let Some(rc) = &c.repository_credentials {
            let name =
                names::dns_subdomain(&super::secrets::resolve(&rc.credentials_parameter).secret);
            let r = LocalObjectReference { name };
            if !pull_secrets.contains(&r) {
                pull_secrets.push(r);
            }
        }
        for (key, value) in c.docker_labels.iter().flatten() {
            if names::is_qualified_name(key) {
                annotations.insert(key.clone(), value.clone());
            }
        }
        if let Some(lc) = &c.log_configuration {
            let v =
                serde_json::json!({ "logDriver": lc.log_driver.as_str(), "options": lc.options });
            annotations.insert(format!("logs.ecs.tidewater.dev/{}", k.name), v.to_string());
        }
        if c.restart_policy.as_ref().is_some_and(|r| !r.enabled) && !ctx.run_once {
            w.approximated(
                at(&path, "restartPolicy.enabled"),
                "Service pods' containers are always restarted in place by the kubelet",
            );
        }
        match roles[i] {
            Role::Main => {
                if c.essential == Some(false) && !ctx.run_once {
                    w.approximated(at(&path, "essential"), "a non-essential container that exits is restarted by Kubernetes; ECS leaves it stopped");
                }
                main.push(k);
            }
            Role::Sidecar => {
                k.restart_policy = Some("Always".into());
                if k.startup_probe.is_none() {
                    if let Some(r) = &k.readiness_probe {
                        k.startup_probe = Some(k8s_openapi::api::core::v1::Probe {
                            failure_threshold: Some(r.failure_threshold.unwrap_or(1).max(30)),
                            ..r.clone()
                        });
                    }
                }
                init.insert(i, k);
            }
            Role::Init => {
                k.liveness_probe = None;
                k.readiness_probe = None;
                k.startup_probe = None;
                init.insert(i, k);
            }
        }
    }
    let init_ordered: Vec<Container> = order.iter().filter_map(|i| init.remove(i)).collect();
    spec.containers = main;
    spec.init_containers = (!init_ordered.is_empty()).then_some(init_ordered);
    spec.volumes = (!volumes_out.is_empty()).then_some(volumes_out);
    spec.host_aliases = (!aliases.is_empty()).then(|| {
        aliases
            .into_iter()
            .map(|(ip, hostnames)| HostAlias {
                ip,
                hostnames: Some(hostnames),
            })
            .collect()
    });
    if !nameservers.is_empty() || !searches.is_empty() {
        spec.dns_config = Some(PodDNSConfig {
            nameservers: (!nameservers.is_empty()).then_some(nameservers.clone()),
            searches: (!searches.is_empty()).then_some(searches),
            options: None,
        });
        if !nameservers.is_empty() {
            spec.dns_policy = Some("None".into());
        }
    }
    if !sysctls.is_empty() {
        spec.security_context = Some(PodSecurityContext {
            sysctls: Some(sysctls),
            ..PodSecurityContext::default()
        });
    }
    spec.hostname = hostname;
    spec.termination_grace_period_seconds = grace;
    spec.image_pull_secrets = (!pull_secrets.is_empty()).then_some(pull_secrets);
    if ctx.run_once {
        spec.restart_policy = Some("Never".into());
    }

    // Identity.
    let role = identity::task_role(
        ctx.overrides.and_then(|o| o.task_role_arn.as_deref()),
        reg.task_role_arn.as_deref(),
    )
    .map(str::to_string);
    if role.is_some() {
        spec.service_account_name = Some(ctx.service_account.clone());
    }
    build.task_role_arn = role;

    // Placement from the task definition.
    if let Some(rp) = &reg.runtime_platform {
        placement::runtime_platform(&mut spec, rp, "runtimePlatform", w);
    }
    placement::task_definition_constraints(
        &mut spec,
        reg.placement_constraints.as_deref().unwrap_or_default(),
        "placementConstraints",
        w,
    );

    let mut meta_labels = ctx.selector.clone();
    meta_labels.extend(ctx.labels.clone());
    if let Some(v) = names::label_value(&ctx.family) {
        meta_labels.insert(labels::FAMILY.into(), v);
    }
    if let Some(r) = ctx.revision {
        meta_labels.insert(labels::REVISION.into(), r.to_string());
    }
    build.template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(meta_labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    };
    build
}

/// Sysctls Kubernetes allows without kubelet configuration.
fn is_safe_sysctl(name: &str) -> bool {
    matches!(
        name,
        "kernel.shm_rmid_forced"
            | "net.ipv4.ip_local_port_range"
            | "net.ipv4.tcp_syncookies"
            | "net.ipv4.ping_group_range"
            | "net.ipv4.ip_unprivileged_port_start"
            | "net.ipv4.ip_local_reserved_ports"
            | "net.ipv4.tcp_keepalive_time"
            | "net.ipv4.tcp_fin_timeout"
            | "net.ipv4.tcp_keepalive_intvl"
            | "net.ipv4.tcp_keepalive_probes"
    )
}

/// The family of a task definition: `spec.family`, else the resource name.
pub fn family(td: &TaskDefinitionSpec, name: &str) -> String {
    td.register
        .family
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| name.to_string())
}
