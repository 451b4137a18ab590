//! A task definition (with the context of what runs it) → a pod template.

use super::containers::{self, Arrangement, Role, TaskFacts};
use super::secrets::SecretRef;
use super::{Warnings, at, identity, idx, labels, names, placement, probes, resources, volumes};
use crate::api::ecs::{
    ContainerDefinition, ContainerOverride, IpcMode, NetworkMode, PidMode, TaskOverride,
};
use crate::api::quantity::TaskSize;
use crate::api::task_definition::TaskDefinitionSpec;
use k8s_openapi::api::core::v1::{
    Container, HostAlias, LocalObjectReference, PodDNSConfig, PodSecurityContext, PodSpec,
    PodTemplateSpec, Sysctl, Volume,
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
    /// The container ports, for Services.
    pub ports: Vec<PodPort>,
}

/// A container port of the pod, for Services.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodPort {
    /// The ECS container name.
    pub container: String,
    /// The container port.
    pub port: i32,
    /// The port name, if any.
    pub name: Option<String>,
    /// TCP or UDP.
    pub protocol: String,
}

/// Build the pod template. Warnings are about the task definition's fields.
pub fn pod_template(td: &TaskDefinitionSpec, ctx: &PodContext<'_>, w: &mut Warnings) -> PodBuild {
    let reg = &td.register;
    let all = &reg.container_definitions;
    let mut spec = namespaces(td, w);
    let arrangement = containers::arrange(all, w);
    let mut built = build_containers(td, ctx, w);
    share_resources(td, ctx, &arrangement, &mut built.containers, w);
    let pod_wide = PodWide::collect(all, w);
    place_containers(&mut spec, built.containers, &arrangement, ctx, all, w);
    let mut volumes_out = volumes::volumes(
        reg.volumes.as_deref().unwrap_or_default(),
        &ctx.launch_volumes,
        "volumes",
        w,
    );
    volumes_out.extend(built.memory_volumes);
    spec.volumes = (!volumes_out.is_empty()).then_some(volumes_out);
    let annotations = pod_wide.apply(&mut spec);
    if ctx.run_once {
        spec.restart_policy = Some("Never".into());
    }
    let role = task_role(td, ctx, &mut spec);
    if let Some(rp) = &reg.runtime_platform {
        placement::runtime_platform(&mut spec, rp, "runtimePlatform", w);
    }
    placement::task_definition_constraints(
        &mut spec,
        reg.placement_constraints.as_deref().unwrap_or_default(),
        "placementConstraints",
        w,
    );
    PodBuild {
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(template_labels(ctx)),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..ObjectMeta::default()
            }),
            spec: Some(spec),
        },
        task_role_arn: role,
        secret_refs: built.secret_refs,
        app_protocols: built.app_protocols,
        ports: built.ports,
    }
}

/// Network, PID and IPC namespaces.
fn namespaces(td: &TaskDefinitionSpec, w: &mut Warnings) -> PodSpec {
    let reg = &td.register;
    let mut spec = PodSpec::default();
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
    spec
}

/// The containers converted one by one, in definition order, with what they produced.
#[derive(Clone, Debug, Default)]
struct BuiltContainers {
    containers: Vec<Container>,
    memory_volumes: Vec<Volume>,
    secret_refs: Vec<SecretRef>,
    app_protocols: BTreeMap<i32, String>,
    ports: Vec<PodPort>,
}

/// The RunTask override of a container, if any.
fn container_override<'a>(ctx: &PodContext<'a>, name: &str) -> Option<&'a ContainerOverride> {
    ctx.overrides
        .and_then(|o| o.container_overrides.as_ref())
        .and_then(|os| os.iter().find(|o| o.name.as_deref() == Some(name)))
}

/// Convert every container definition (without probes, CPU and memory).
fn build_containers(
    td: &TaskDefinitionSpec,
    ctx: &PodContext<'_>,
    w: &mut Warnings,
) -> BuiltContainers {
    let reg = &td.register;
    let all = &reg.container_definitions;
    let facts = TaskFacts {
        bridge: matches!(reg.network_mode, Some(NetworkMode::Bridge) | None),
    };
    let mut built = BuiltContainers::default();
    for (i, c) in all.iter().enumerate() {
        let path = idx("containerDefinitions", i);
        let ov = container_override(ctx, &c.name);
        let converted = containers::container(all, i, &facts, ov, &path, w);
        let mut k = converted.container;
        built.secret_refs.extend(converted.extras.secret_refs);
        built.app_protocols.extend(converted.extras.app_protocols);
        for p in k.ports.iter().flatten() {
            built.ports.push(PodPort {
                container: c.name.clone(),
                port: p.container_port,
                name: p.name.clone(),
                protocol: p.protocol.clone().unwrap_or_default(),
            });
        }
        let (mvols, mmounts) = volumes::memory_volumes(c, &k.name);
        built.memory_volumes.extend(mvols);
        if !mmounts.is_empty() {
            k.volume_mounts.get_or_insert_with(Vec::new).extend(mmounts);
        }
        match c.restart_policy.as_ref().map(|r| r.enabled) {
            Some(false) if !ctx.run_once => w.approximated(
                at(&path, "restartPolicy.enabled"),
                "Service pods' containers are always restarted in place by the kubelet",
            ),
            Some(true) => w.approximated(
                at(&path, "restartPolicy.enabled"),
                "restarted in place by the kubelet in Service pods; the pods of a Task or ScheduledTask run with restartPolicy Never and their containers are not restarted",
            ),
            _ => {}
        }
        built.containers.push(k);
    }
    built
}

/// The task size after RunTask overrides.
fn task_size(td: &TaskDefinitionSpec, ctx: &PodContext<'_>) -> resources::TaskSize {
    let reg = &td.register;
    let over = |f: fn(&TaskOverride) -> Option<String>| ctx.overrides.and_then(f).map(TaskSize);
    let cpu = over(|o| o.cpu.clone()).or(reg.cpu.clone());
    let memory = over(|o| o.memory.clone()).or(reg.memory.clone());
    resources::TaskSize {
        cpu: cpu.and_then(|c| c.cpu_units()).filter(|c| *c > 0),
        memory: memory.and_then(|m| m.memory_mib()).filter(|m| *m > 0),
    }
}

/// CPU and memory: the task size shared out among the containers (see
/// [`resources::allocate`]); ephemeral storage on the first essential container.
fn share_resources(
    td: &TaskDefinitionSpec,
    ctx: &PodContext<'_>,
    arrangement: &Arrangement,
    out: &mut [Container],
    w: &mut Warnings,
) {
    let reg = &td.register;
    let all = &reg.container_definitions;
    let demands: Vec<resources::Demand> = all
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ov = container_override(ctx, &c.name);
            containers::demand(c, ov, lifetime(arrangement, i))
        })
        .collect();
    let shared = resources::allocate(task_size(td, ctx), &demands, ["cpu", "memory"], w);
    for (k, r) in out.iter_mut().zip(shared) {
        let res = k.resources.get_or_insert_with(Default::default);
        for (mine, theirs) in [(&mut res.requests, r.requests), (&mut res.limits, r.limits)] {
            if let Some(theirs) = theirs {
                mine.get_or_insert_with(BTreeMap::new).extend(theirs);
            }
        }
    }
    let eph = ctx
        .overrides
        .and_then(|o| o.ephemeral_storage.as_ref())
        .or(reg.ephemeral_storage.as_ref());
    let first_essential = all.iter().position(|c| c.essential != Some(false));
    if let (Some(e), Some(i)) = (eph, first_essential) {
        let res = out[i].resources.get_or_insert_with(Default::default);
        res.limits.get_or_insert_with(BTreeMap::new).insert(
            "ephemeral-storage".into(),
            resources::gib(e.size_in_gi_b.max(0) as u64),
        );
    }
}

/// When container `i` runs: an init container runs before the regular containers, alongside
/// the sidecars started before it.
fn lifetime(arrangement: &Arrangement, i: usize) -> resources::Lifetime {
    if arrangement.roles[i] != Role::Init {
        return resources::Lifetime::Task;
    }
    let alongside = arrangement
        .init_order
        .iter()
        .take_while(|j| **j != i)
        .filter(|j| arrangement.roles[**j] == Role::Sidecar)
        .copied()
        .collect();
    resources::Lifetime::BeforeMain { alongside }
}

/// Put the containers in the pod by role and order, with their probes.
fn place_containers(
    spec: &mut PodSpec,
    mut built: Vec<Container>,
    arrangement: &Arrangement,
    ctx: &PodContext<'_>,
    all: &[ContainerDefinition],
    w: &mut Warnings,
) {
    for (i, c) in all.iter().enumerate() {
        let path = idx("containerDefinitions", i);
        let role = arrangement.roles[i];
        let essential = c.essential != Some(false);
        if role == Role::Main && !essential && !ctx.run_once {
            w.approximated(at(&path, "essential"), "a non-essential container that exits is restarted by Kubernetes; ECS leaves it stopped");
        }
        let k = &mut built[i];
        if role == Role::Sidecar {
            k.restart_policy = Some("Always".into());
        }
        let Some(hc) = &c.health_check else { continue };
        let awaited_healthy = arrangement.awaited_healthy.contains(&i);
        let using = probes::HealthUse {
            essential: essential && role != Role::Init,
            run_once: ctx.run_once,
            awaited_healthy,
            start_sidecar: role == Role::Sidecar && !awaited_healthy,
            grace: ctx.grace,
        };
        let p = probes::probes(hc, using, &path, w);
        if role != Role::Init {
            k.liveness_probe = p.liveness;
            k.readiness_probe = p.readiness;
            k.startup_probe = p.startup;
        }
    }
    let mut take = |order: &[usize]| -> Vec<Container> {
        order
            .iter()
            .map(|i| std::mem::take(&mut built[*i]))
            .collect()
    };
    let init = take(&arrangement.init_order);
    spec.containers = take(&arrangement.main_order);
    spec.init_containers = (!init.is_empty()).then_some(init);
}

/// The ServiceAccount of the task role (taskRoleArn or its override), if any.
fn task_role(td: &TaskDefinitionSpec, ctx: &PodContext<'_>, spec: &mut PodSpec) -> Option<String> {
    let role = identity::task_role(
        ctx.overrides.and_then(|o| o.task_role_arn.as_deref()),
        td.register.task_role_arn.as_deref(),
    )
    .map(str::to_string);
    if role.is_some() {
        spec.service_account_name = Some(ctx.service_account.clone());
    }
    role
}

/// Labels of the pod template: the selector, the context's labels, family and revision.
fn template_labels(ctx: &PodContext<'_>) -> BTreeMap<String, String> {
    let mut meta_labels = ctx.selector.clone();
    meta_labels.extend(ctx.labels.clone());
    if let Some(v) = names::label_value(&ctx.family) {
        meta_labels.insert(labels::FAMILY.into(), v);
    }
    if let Some(r) = ctx.revision {
        meta_labels.insert(labels::REVISION.into(), r.to_string());
    }
    meta_labels
}

/// Values ECS sets per container and Kubernetes once per pod, merged from the containers.
#[derive(Clone, Debug, Default)]
struct PodWide {
    host_aliases: Vec<HostAlias>,
    nameservers: Vec<String>,
    searches: Vec<String>,
    sysctls: Vec<Sysctl>,
    hostname: Option<String>,
    termination_grace: Option<i64>,
    pull_secrets: Vec<LocalObjectReference>,
    annotations: BTreeMap<String, String>,
    share_process_namespace: bool,
}

impl PodWide {
    /// Merge the per-container values, reporting containers whose own value differs from the
    /// pod's.
    fn collect(all: &[ContainerDefinition], w: &mut Warnings) -> PodWide {
        PodWide {
            host_aliases: host_aliases(all, w),
            nameservers: merged_list(all, "dnsServers", |c| c.dns_servers.as_ref(), w),
            searches: merged_list(
                all,
                "dnsSearchDomains",
                |c| c.dns_search_domains.as_ref(),
                w,
            ),
            sysctls: sysctls(all, w),
            hostname: hostname(all, w),
            termination_grace: termination_grace(all, w),
            pull_secrets: pull_secrets(all),
            annotations: annotations(all, w),
            share_process_namespace: all.iter().any(|c| {
                c.linux_parameters
                    .as_ref()
                    .and_then(|l| l.init_process_enabled)
                    == Some(true)
            }),
        }
    }

    /// Set them on the pod; the pod annotations are returned.
    fn apply(self, spec: &mut PodSpec) -> BTreeMap<String, String> {
        if self.share_process_namespace {
            spec.share_process_namespace = Some(true);
        }
        spec.host_aliases = non_empty(self.host_aliases);
        if !self.nameservers.is_empty() || !self.searches.is_empty() {
            if !self.nameservers.is_empty() {
                spec.dns_policy = Some("None".into());
            }
            spec.dns_config = Some(PodDNSConfig {
                nameservers: non_empty(self.nameservers),
                searches: non_empty(self.searches),
                options: None,
            });
        }
        if !self.sysctls.is_empty() {
            spec.security_context = Some(PodSecurityContext {
                sysctls: Some(self.sysctls),
                ..PodSecurityContext::default()
            });
        }
        spec.hostname = self.hostname;
        spec.termination_grace_period_seconds = self.termination_grace;
        spec.image_pull_secrets = non_empty(self.pull_secrets);
        self.annotations
    }
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Report, at every container that sets `field`, that the pod has one value (`shown`) for all
/// its containers, when the containers' own values (`own`, what each would have on ECS) are not
/// all that value.
fn report_one_per_pod<T: PartialEq>(
    own: &[Option<T>],
    setters: &[usize],
    pod: &T,
    field: &str,
    shown: &str,
    w: &mut Warnings,
) {
    if own.iter().all(|o| o.as_ref() == Some(pod)) {
        return;
    }
    let paths: Vec<String> = setters
        .iter()
        .map(|i| at(&idx("containerDefinitions", *i), field))
        .collect();
    for p in &paths {
        w.approximated(
            p.clone(),
            format!(
                "one per pod: every container of the task gets {shown} (set by {})",
                paths.join(", ")
            ),
        );
    }
}

/// dnsServers or dnsSearchDomains: the containers' lists merged.
fn merged_list(
    all: &[ContainerDefinition],
    field: &str,
    get: fn(&ContainerDefinition) -> Option<&Vec<String>>,
    w: &mut Warnings,
) -> Vec<String> {
    let own: Vec<Option<Vec<String>>> = all
        .iter()
        .map(|c| get(c).filter(|v| !v.is_empty()).cloned())
        .collect();
    let mut merged: Vec<String> = Vec::new();
    for v in own.iter().flatten().flatten() {
        if !merged.contains(v) {
            merged.push(v.clone());
        }
    }
    let setters: Vec<usize> = (0..all.len()).filter(|i| own[*i].is_some()).collect();
    if !merged.is_empty() {
        let shown = format!("{field} {}", merged.join(", "));
        report_one_per_pod(&own, &setters, &merged, field, &shown, w);
    }
    merged
}

/// hostAliases: each link alias → 127.0.0.1 (containers of a pod share localhost), then
/// extraHosts.
fn host_aliases(all: &[ContainerDefinition], w: &mut Warnings) -> Vec<HostAlias> {
    let mut aliases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for link in all.iter().flat_map(|c| c.links.iter().flatten()) {
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
    let own: Vec<Option<Vec<(String, String)>>> = all
        .iter()
        .map(|c| {
            c.extra_hosts.as_ref().filter(|h| !h.is_empty()).map(|h| {
                h.iter()
                    .map(|e| (e.ip_address.clone(), e.hostname.clone()))
                    .collect()
            })
        })
        .collect();
    let mut merged: Vec<(String, String)> = Vec::new();
    for e in own.iter().flatten().flatten() {
        if !merged.contains(e) {
            merged.push(e.clone());
            aliases.entry(e.0.clone()).or_default().push(e.1.clone());
        }
    }
    let setters: Vec<usize> = (0..all.len()).filter(|i| own[*i].is_some()).collect();
    if !merged.is_empty() {
        report_one_per_pod(
            &own,
            &setters,
            &merged,
            "extraHosts",
            "the hostAliases of all containers' extraHosts",
            w,
        );
    }
    aliases
        .into_iter()
        .map(|(ip, hostnames)| HostAlias {
            ip,
            hostnames: Some(hostnames),
        })
        .collect()
}

/// systemControls: one sysctl list per pod. As on ECS with awsvpc, where the container started
/// last decides, the last container setting a sysctl wins; different values are reported.
fn sysctls(all: &[ContainerDefinition], w: &mut Warnings) -> Vec<Sysctl> {
    let mut set_by: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (i, c) in all.iter().enumerate() {
        for (j, sc) in c.system_controls.iter().flatten().enumerate() {
            let (Some(n), Some(v)) = (sc.namespace.as_ref(), sc.value.as_ref()) else {
                continue;
            };
            let path = idx(&at(&idx("containerDefinitions", i), "systemControls"), j);
            if !is_safe_sysctl(n) {
                w.approximated(path.clone(), format!("sysctl `{n}` is unsafe on Kubernetes and must be allowed on the kubelet (--allowed-unsafe-sysctls)"));
            }
            if !order.contains(n) {
                order.push(n.clone());
            }
            set_by.entry(n.clone()).or_default().push((path, v.clone()));
        }
    }
    let mut out = Vec::new();
    for n in order {
        let setters = &set_by[&n];
        let value = setters.last().map(|s| s.1.clone()).unwrap_or_default();
        if setters.iter().any(|s| s.1 != value) {
            let paths: Vec<&str> = setters.iter().map(|s| s.0.as_str()).collect();
            for (p, _) in setters {
                w.approximated(p.clone(), format!("one per pod: containers set `{n}` to different values ({}); the pod uses `{value}`, the last one's", paths.join(", ")));
            }
        }
        out.push(Sysctl { name: n, value });
    }
    out
}

/// hostname: the first container's, as a DNS label.
fn hostname(all: &[ContainerDefinition], w: &mut Warnings) -> Option<String> {
    let own: Vec<Option<String>> = all
        .iter()
        .map(|c| {
            c.hostname
                .as_deref()
                .filter(|h| !h.is_empty())
                .map(names::dns_label)
        })
        .collect();
    let setters: Vec<usize> = (0..all.len()).filter(|i| own[*i].is_some()).collect();
    let label = own[*setters.first()?].clone()?;
    for &i in &setters {
        let h = all[i].hostname.as_deref().unwrap_or_default();
        if names::dns_label(h) != h {
            w.approximated(
                at(&idx("containerDefinitions", i), "hostname"),
                format!("`{h}` is not a DNS label: the pod hostname is `{label}`"),
            );
        }
    }
    let shown = format!("hostname `{label}`");
    report_one_per_pod(&own, &setters, &label, "hostname", &shown, w);
    Some(label)
}

/// ECS waits this long (seconds) for a container without stopTimeout.
const STOP_TIMEOUT: i64 = 30;

/// stopTimeout: one grace period per pod, the longest of the containers' (30 s for those
/// without one).
fn termination_grace(all: &[ContainerDefinition], w: &mut Warnings) -> Option<i64> {
    let setters: Vec<usize> = (0..all.len())
        .filter(|i| all[*i].stop_timeout.is_some())
        .collect();
    if setters.is_empty() {
        return None;
    }
    let own: Vec<Option<i64>> = all
        .iter()
        .map(|c| Some(c.stop_timeout.map_or(STOP_TIMEOUT, i64::from)))
        .collect();
    let grace = own.iter().flatten().copied().max()?;
    let shown = format!(
        "terminationGracePeriodSeconds {grace} (the longest stopTimeout; {STOP_TIMEOUT} s for containers without one)"
    );
    report_one_per_pod(&own, &setters, &grace, "stopTimeout", &shown, w);
    Some(grace)
}

/// repositoryCredentials: the pull Secrets of all containers.
fn pull_secrets(all: &[ContainerDefinition]) -> Vec<LocalObjectReference> {
    let mut out: Vec<LocalObjectReference> = Vec::new();
    for rc in all.iter().filter_map(|c| c.repository_credentials.as_ref()) {
        let name = names::dns_subdomain(&super::secrets::resolve(&rc.credentials_parameter).secret);
        let r = LocalObjectReference { name };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// Pod annotations: dockerLabels (one set per pod: a key set differently by several
/// containers is reported, the last wins) and each container's log configuration.
fn annotations(all: &[ContainerDefinition], w: &mut Warnings) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut set_by: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in all.iter().enumerate() {
        for (key, value) in c.docker_labels.iter().flatten() {
            if !names::is_qualified_name(key) {
                continue;
            }
            if let Some(prev) = out
                .insert(key.clone(), value.clone())
                .filter(|p| p != value)
            {
                let first = idx("containerDefinitions", set_by[key]);
                w.approximated(at(&idx("containerDefinitions", i), "dockerLabels"), format!("one set of annotations per pod: label `{key}` is also set by {first} (to `{prev}`); this container's value is kept"));
            }
            set_by.insert(key.clone(), i);
        }
        if let Some(lc) = &c.log_configuration {
            let v =
                serde_json::json!({ "logDriver": lc.log_driver.as_str(), "options": lc.options });
            out.insert(
                format!("logs.ecs.tidewater.dev/{}", names::dns_label(&c.name)),
                v.to_string(),
            );
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(v: serde_json::Value) -> Vec<ContainerDefinition> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn equal_values_of_every_container_are_not_reported() {
        let all = defs(serde_json::json!([
            {"name": "a", "image": "a", "hostname": "web", "dnsSearchDomains": ["corp"]},
            {"name": "b", "image": "b", "hostname": "web", "dnsSearchDomains": ["corp"]}
        ]));
        let mut w = Warnings::default();
        assert_eq!(hostname(&all, &mut w), Some("web".into()));
        assert_eq!(
            merged_list(
                &all,
                "dnsSearchDomains",
                |c| c.dns_search_domains.as_ref(),
                &mut w
            ),
            ["corp"]
        );
        assert!(w.into_vec().is_empty());
    }

    #[test]
    fn stop_timeout_counts_ecs_default_for_containers_without_one() {
        let all = defs(serde_json::json!([
            {"name": "a", "image": "a", "stopTimeout": 10},
            {"name": "b", "image": "b"}
        ]));
        let mut w = Warnings::default();
        assert_eq!(termination_grace(&all, &mut w), Some(30));
        let w = w.into_vec();
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].path, "containerDefinitions[0].stopTimeout");
    }

    #[test]
    fn a_docker_label_set_differently_keeps_the_last_value() {
        let all = defs(serde_json::json!([
            {"name": "a", "image": "a", "dockerLabels": {"team": "x"}},
            {"name": "b", "image": "b", "dockerLabels": {"team": "y"}}
        ]));
        let mut w = Warnings::default();
        assert_eq!(
            annotations(&all, &mut w),
            BTreeMap::from([("team".to_string(), "y".to_string())])
        );
        assert_eq!(w.into_vec()[0].path, "containerDefinitions[1].dockerLabels");
    }
}
