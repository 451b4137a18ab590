//! The field disposition table: what Tidewater does with every input field of the ECS and
//! Application Auto Scaling requests it accepts.
//!
//! An entry covers its path and everything below it (`volumes[].fsxWindowsFileServerVolumeConfiguration`
//! covers all of that shape's members). A test checks that every leaf of the committed field
//! inventory (`api/field-inventory.tsv`, derived from the API models) is covered, and
//! `docs/field-coverage.md` is generated from this table.
//!
//! - `Mapped`: carried over exactly (the note says where to).
//! - `Approximated`: carried over with a change in meaning. With [`When::Always`] every use is
//!   reported (by [`super::walk`]); with [`When::Rule`] the translation rule reports the cases
//!   that change meaning.
//! - `Unsupported`: not carried over; every use is reported with the reason.

/// What happens to a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Disposition {
    /// Carried over exactly.
    Mapped,
    /// Carried over with a change in meaning, reported.
    Approximated,
    /// Not carried over, reported with the reason.
    Unsupported,
}

impl Disposition {
    /// Lowercase name used in warnings and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Mapped => "mapped",
            Disposition::Approximated => "approximated",
            Disposition::Unsupported => "unsupported",
        }
    }
}

/// When an approximated field is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Whenever the field is present.
    Always,
    /// When the translation rule finds the meaning changes.
    Rule,
}

/// The request shapes the table covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Request {
    /// `TaskDefinition` spec.
    RegisterTaskDefinition,
    /// `Service` spec.
    CreateService,
    /// `Cluster` spec.
    CreateCluster,
    /// `Task` and `ScheduledTask` spec.
    RunTask,
    /// `Service.spec.autoScaling.scalableTarget`.
    RegisterScalableTarget,
    /// `Service.spec.autoScaling.scalingPolicies[]`.
    PutScalingPolicy,
    /// `Service.spec.autoScaling.scheduledActions[]`.
    PutScheduledAction,
}

impl Request {
    /// All requests, in table order.
    pub const ALL: [Request; 7] = [
        Request::RegisterTaskDefinition,
        Request::CreateService,
        Request::CreateCluster,
        Request::RunTask,
        Request::RegisterScalableTarget,
        Request::PutScalingPolicy,
        Request::PutScheduledAction,
    ];

    /// The model's operation name.
    pub fn as_str(self) -> &'static str {
        match self {
            Request::RegisterTaskDefinition => "RegisterTaskDefinition",
            Request::CreateService => "CreateService",
            Request::CreateCluster => "CreateCluster",
            Request::RunTask => "RunTask",
            Request::RegisterScalableTarget => "RegisterScalableTarget",
            Request::PutScalingPolicy => "PutScalingPolicy",
            Request::PutScheduledAction => "PutScheduledAction",
        }
    }

    /// Parse the operation name.
    pub fn parse(s: &str) -> Option<Request> {
        Request::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The request the path belongs to.
    pub request: Request,
    /// Path inside the request, lists as `[]`, maps as `{}`; covers everything below it.
    pub path: &'static str,
    /// What happens to it.
    pub disposition: Disposition,
    /// For approximated fields: when the change is reported.
    pub when: When,
    /// Where it goes, what changes, or why it is not supported.
    pub note: &'static str,
}

impl Field {
    /// Whether it is reported whenever it is present: unsupported, or always approximated.
    pub fn always_reports(&self) -> bool {
        self.disposition == Unsupported
            || (self.disposition == Approximated && self.when == When::Always)
    }
}

use Disposition::*;
use Request::*;

const fn m(request: Request, path: &'static str, note: &'static str) -> Field {
    Field {
        request,
        path,
        disposition: Mapped,
        when: When::Rule,
        note,
    }
}
const fn a(request: Request, path: &'static str, note: &'static str) -> Field {
    Field {
        request,
        path,
        disposition: Approximated,
        when: When::Always,
        note,
    }
}
const fn r(request: Request, path: &'static str, note: &'static str) -> Field {
    Field {
        request,
        path,
        disposition: Approximated,
        when: When::Rule,
        note,
    }
}
const fn u(request: Request, path: &'static str, note: &'static str) -> Field {
    Field {
        request,
        path,
        disposition: Unsupported,
        when: When::Always,
        note,
    }
}

const TD: Request = RegisterTaskDefinition;
const SVC: Request = CreateService;
const CL: Request = CreateCluster;
const RT: Request = RunTask;
const ST: Request = RegisterScalableTarget;
const SP: Request = PutScalingPolicy;
const SA: Request = PutScheduledAction;

/// The table.
pub static FIELDS: &[Field] = &[
    // ---- RegisterTaskDefinition: task level
    m(
        TD,
        "family",
        "label ecs.tidewater.dev/family; PodTemplate name when nothing runs the task definition; defaults to metadata.name",
    ),
    m(
        TD,
        "taskRoleArn",
        "ServiceAccount named after the workload, annotated eks.amazonaws.com/role-arn (IRSA; for EKS Pod Identity create an association for it)",
    ),
    a(
        TD,
        "executionRoleArn",
        "not used on Kubernetes: images are pulled with the node's credentials and secrets come from Kubernetes Secrets; grant the node role ECR pull rights",
    ),
    r(
        TD,
        "networkMode",
        "awsvpc: pod network (one IP per task, as in ECS); host: hostNetwork; bridge and none have no Kubernetes equivalent and use the pod network (reported)",
    ),
    m(
        TD,
        "containerDefinitions",
        "pod containers (see the container rows)",
    ),
    m(TD, "volumes[].name", "pod volume name (sanitised)"),
    m(
        TD,
        "volumes[].host.sourcePath",
        "hostPath volume, type DirectoryOrCreate; a host volume without sourcePath is an emptyDir",
    ),
    r(
        TD,
        "volumes[].dockerVolumeConfiguration.scope",
        "task: emptyDir; shared: a PersistentVolumeClaim named after the volume, which must exist (reported)",
    ),
    r(
        TD,
        "volumes[].dockerVolumeConfiguration.autoprovision",
        "shared volumes are never created by Tidewater: the PersistentVolumeClaim must exist (reported)",
    ),
    u(
        TD,
        "volumes[].dockerVolumeConfiguration.driver",
        "Docker volume drivers do not exist on Kubernetes; use a CSI driver and a StorageClass",
    ),
    u(
        TD,
        "volumes[].dockerVolumeConfiguration.driverOpts",
        "Docker volume driver options do not exist on Kubernetes; use StorageClass parameters",
    ),
    u(
        TD,
        "volumes[].dockerVolumeConfiguration.labels",
        "Docker volume labels do not exist on Kubernetes",
    ),
    a(
        TD,
        "volumes[].efsVolumeConfiguration",
        "EFS CSI driver: one PersistentVolumeClaim per file system, root directory and access point, so each volume mounts its own directory: efs-<fileSystemId>-<accessPointId> with an access point (its path is the root; volumeHandle fileSystemId::accessPointId), efs-<fileSystemId>-<rootDirectory>-<hash> for a root directory other than / (volumeHandle fileSystemId:rootDirectory), else efs-<fileSystemId> (volumeHandle fileSystemId); create the PersistentVolume and claim with the EFS CSI driver; transit encryption and IAM authorization are PersistentVolume mount options",
    ),
    u(
        TD,
        "volumes[].fsxWindowsFileServerVolumeConfiguration",
        "FSx for Windows File Server volumes need the SMB CSI driver and a PersistentVolume; not created by Tidewater",
    ),
    u(
        TD,
        "volumes[].s3filesVolumeConfiguration",
        "S3 Files volumes have no Kubernetes counterpart in Tidewater; use the Mountpoint for S3 CSI driver",
    ),
    a(
        TD,
        "volumes[].configuredAtLaunch",
        "the volume comes from the Service's or Task's volumeConfigurations (an ephemeral EBS claim); without one it is an emptyDir",
    ),
    r(
        TD,
        "placementConstraints[].type",
        "memberOf: required node affinity",
    ),
    r(
        TD,
        "placementConstraints[].expression",
        "cluster query language → node affinity on node labels (ecs.instance-type → node.kubernetes.io/instance-type, ecs.availability-zone → topology.kubernetes.io/zone, ...); expressions that cannot be expressed are reported",
    ),
    m(
        TD,
        "requiresCompatibilities[]",
        "checked at registration (Fargate sizes); the capacity used comes from the Service/Task launch type or capacity provider strategy, else FARGATE when only FARGATE is listed",
    ),
    r(
        TD,
        "cpu",
        "task size (CPU units or vCPU): the CPU requests of the containers that run together sum to it, in proportion to the CPU shares ECS gives them (their cpu, at least 2), so the CPU weights are ECS's; each container's CPU limit is the task size; with several containers the task-wide cap needs pod-level resources (not used) and is reported",
    ),
    r(
        TD,
        "memory",
        "task size (MiB or GB): the memory requests of the containers that run together sum to it (containers without memory or memoryReservation share what the others leave; what none reserves is added to the essential ones, up to their memory) and each container is limited to its memory or the task size; with several containers the task-wide cap needs pod-level resources (not used) and the split is reported",
    ),
    r(
        TD,
        "tags[].key",
        "pod labels of the Services and Tasks that propagate them (propagateTags TASK_DEFINITION) when valid label keys and values, else annotations (reported)",
    ),
    r(
        TD,
        "tags[].value",
        "label value, or annotation when not a valid label value (reported)",
    ),
    m(TD, "pidMode", "host: hostPID; task: shareProcessNamespace"),
    r(
        TD,
        "ipcMode",
        "host: hostIPC; task: the pod's shared IPC namespace (default); none cannot be expressed (reported)",
    ),
    u(
        TD,
        "proxyConfiguration",
        "App Mesh proxy configuration (iptables redirection by the ECS agent) has no Kubernetes counterpart; use a service mesh's injector",
    ),
    u(
        TD,
        "inferenceAccelerators",
        "Elastic Inference accelerators are retired and have no Kubernetes counterpart",
    ),
    a(
        TD,
        "ephemeralStorage.sizeInGiB",
        "ephemeral-storage limit on the first essential container (Kubernetes accounts ephemeral storage per container)",
    ),
    m(
        TD,
        "runtimePlatform.cpuArchitecture",
        "node selector kubernetes.io/arch (X86_64 → amd64, ARM64 → arm64)",
    ),
    r(
        TD,
        "runtimePlatform.operatingSystemFamily",
        "node selector kubernetes.io/os (LINUX → linux, WINDOWS_* → windows; the Windows version is not selected, reported)",
    ),
    u(
        TD,
        "enableFaultInjection",
        "ECS fault injection endpoints do not exist on Kubernetes; use a chaos tool",
    ),
    u(
        TD,
        "trustedExecutionConfiguration",
        "ECS trusted execution (confidential sandboxes) has no Kubernetes counterpart in Tidewater; use a RuntimeClass",
    ),
    // ---- RegisterTaskDefinition: containers
    m(
        TD,
        "containerDefinitions[].name",
        "container name (sanitised)",
    ),
    m(TD, "containerDefinitions[].image", "container image"),
    a(
        TD,
        "containerDefinitions[].repositoryCredentials",
        "imagePullSecrets: a kubernetes.io/dockerconfigjson Secret named after credentialsParameter by the secrets naming rule, which must exist",
    ),
    m(
        TD,
        "containerDefinitions[].cpu",
        "CPU request (the container's reservation and CPU weight): units ÷ 1024 (256 → 250m); with a task size, its share of the task in proportion to its cpu; not a limit (with a task size, the task size is)",
    ),
    m(
        TD,
        "containerDefinitions[].memory",
        "memory limit in MiB (and the request when memoryReservation is not set)",
    ),
    m(
        TD,
        "containerDefinitions[].memoryReservation",
        "memory request in MiB",
    ),
    a(
        TD,
        "containerDefinitions[].links",
        "containers of a pod share localhost: each link alias resolves to 127.0.0.1 through hostAliases",
    ),
    r(
        TD,
        "containerDefinitions[].portMappings[].containerPort",
        "containerPort (0, which is no port, is left out and reported)",
    ),
    r(
        TD,
        "containerDefinitions[].portMappings[].hostPort",
        "hostPort when networkMode is host or bridge with a static port; dynamic (0) and awsvpc host ports are not used (bridge: reported)",
    ),
    m(
        TD,
        "containerDefinitions[].portMappings[].protocol",
        "port protocol TCP/UDP",
    ),
    m(
        TD,
        "containerDefinitions[].portMappings[].name",
        "port name (sanitised to an IANA service name)",
    ),
    m(
        TD,
        "containerDefinitions[].portMappings[].appProtocol",
        "appProtocol of the Service port (http, kubernetes.io/h2c, grpc)",
    ),
    r(
        TD,
        "containerDefinitions[].portMappings[].containerPortRange",
        "one container port per port of the range, up to 100 ports (larger ranges are reported and left out)",
    ),
    r(
        TD,
        "containerDefinitions[].essential",
        "Kubernetes restarts an exited container instead of stopping the task; a non-essential long-running container is reported",
    ),
    r(
        TD,
        "containerDefinitions[].restartPolicy.enabled",
        "containers of Service pods are restarted in place by the kubelet (false is reported); those of Task and ScheduledTask pods (restartPolicy Never) are not (true is reported)",
    ),
    u(
        TD,
        "containerDefinitions[].restartPolicy.ignoredExitCodes",
        "Kubernetes restarts containers regardless of exit code",
    ),
    u(
        TD,
        "containerDefinitions[].restartPolicy.restartAttemptPeriod",
        "the kubelet's restart back-off is not configurable per container",
    ),
    m(TD, "containerDefinitions[].entryPoint", "command"),
    m(TD, "containerDefinitions[].command", "args"),
    m(TD, "containerDefinitions[].environment", "env"),
    a(
        TD,
        "containerDefinitions[].environmentFiles",
        "envFrom a ConfigMap named after the S3 object (the ConfigMap must be created from the file)",
    ),
    m(TD, "containerDefinitions[].mountPoints", "volumeMounts"),
    r(
        TD,
        "containerDefinitions[].volumesFrom",
        "the source container's volume mounts are repeated; its image's anonymous volumes are not shared (reported)",
    ),
    m(
        TD,
        "containerDefinitions[].linuxParameters.capabilities",
        "securityContext.capabilities add/drop",
    ),
    u(
        TD,
        "containerDefinitions[].linuxParameters.devices",
        "host devices cannot be mapped into containers; use a device plugin (e.g. the Neuron or NVIDIA plugin) and request its resource",
    ),
    a(
        TD,
        "containerDefinitions[].linuxParameters.initProcessEnabled",
        "shareProcessNamespace: the pod's pause process is PID 1 and reaps zombies (containers also see each other's processes)",
    ),
    u(
        TD,
        "containerDefinitions[].linuxParameters.maxSwap",
        "swap is configured per node on Kubernetes",
    ),
    u(
        TD,
        "containerDefinitions[].linuxParameters.swappiness",
        "swap is configured per node on Kubernetes",
    ),
    m(
        TD,
        "containerDefinitions[].linuxParameters.sharedMemorySize",
        "a memory-backed emptyDir of that size mounted at /dev/shm",
    ),
    m(
        TD,
        "containerDefinitions[].linuxParameters.tmpfs[].containerPath",
        "a memory-backed emptyDir mounted there",
    ),
    m(
        TD,
        "containerDefinitions[].linuxParameters.tmpfs[].size",
        "emptyDir sizeLimit (MiB)",
    ),
    u(
        TD,
        "containerDefinitions[].linuxParameters.tmpfs[].mountOptions",
        "emptyDir volumes take no mount options",
    ),
    a(
        TD,
        "containerDefinitions[].secrets",
        "env from a Kubernetes Secret named by the secrets naming rule (Secrets Manager ARN → secret name without the random suffix, JSON key → Secret key; SSM parameter → its path), which must exist or be synced by External Secrets Operator: with the Cluster's secretStore, an ExternalSecret reads each value from the store of its service (secretsManager or parameterStore; a reference whose service has no store is reported)",
    ),
    a(
        TD,
        "containerDefinitions[].dependsOn",
        "HEALTHY: the dependency runs as a native sidecar started first, whose startup probe holds the dependents back; START: a native sidecar (restarted whenever it exits) when the dependency is essential or an init container or sidecar waits for it, else a regular container listed before its dependents (the kubelet starts containers in order but does not wait for one to have started; reported); COMPLETE/SUCCESS: an init container, which must succeed",
    ),
    a(
        TD,
        "containerDefinitions[].startTimeout",
        "Kubernetes waits for sidecars and init containers without a time limit",
    ),
    r(
        TD,
        "containerDefinitions[].stopTimeout",
        "terminationGracePeriodSeconds of the pod: the largest stopTimeout, 30 s counted for containers without one (one per pod: reported when containers differ)",
    ),
    u(
        TD,
        "containerDefinitions[].versionConsistency",
        "Kubernetes resolves image tags when a node pulls; pin images by digest for consistency",
    ),
    r(
        TD,
        "containerDefinitions[].hostname",
        "pod hostname, the first container's (one per pod: reported when containers differ, including containers that set none, or the name is not a DNS label)",
    ),
    r(
        TD,
        "containerDefinitions[].user",
        "securityContext runAsUser/runAsGroup for numeric uid[:gid]; user names cannot be resolved (reported)",
    ),
    m(TD, "containerDefinitions[].workingDirectory", "workingDir"),
    u(
        TD,
        "containerDefinitions[].disableNetworking",
        "containers of a pod always share its network namespace",
    ),
    m(
        TD,
        "containerDefinitions[].privileged",
        "securityContext.privileged",
    ),
    m(
        TD,
        "containerDefinitions[].readonlyRootFilesystem",
        "securityContext.readOnlyRootFilesystem",
    ),
    r(
        TD,
        "containerDefinitions[].dnsServers",
        "pod dnsConfig nameservers with dnsPolicy None (one per pod: merged across containers, reported when they differ, including containers that set none)",
    ),
    r(
        TD,
        "containerDefinitions[].dnsSearchDomains",
        "pod dnsConfig searches (one per pod: merged across containers, reported when they differ, including containers that set none)",
    ),
    r(
        TD,
        "containerDefinitions[].extraHosts",
        "pod hostAliases (one per pod: every container sees all of them, reported when the containers' lists differ, including containers that set none)",
    ),
    r(
        TD,
        "containerDefinitions[].dockerSecurityOptions",
        "no-new-privileges → allowPrivilegeEscalation false; apparmor:P → appArmorProfile; label:... → seLinuxOptions; others reported",
    ),
    m(TD, "containerDefinitions[].interactive", "stdin"),
    m(TD, "containerDefinitions[].pseudoTerminal", "tty"),
    a(
        TD,
        "containerDefinitions[].dockerLabels",
        "pod annotations (containers have no labels on Kubernetes); invalid keys are left out; a key set differently by several containers keeps the last value (reported)",
    ),
    u(
        TD,
        "containerDefinitions[].ulimits",
        "ulimits are set by the node's container runtime, not per pod",
    ),
    a(
        TD,
        "containerDefinitions[].logConfiguration",
        "stdout/stderr are collected by the cluster's log agent (e.g. Fluent Bit for CloudWatch); the driver and options are kept as pod annotations for that agent",
    ),
    r(
        TD,
        "containerDefinitions[].healthCheck",
        "exec probes (CMD → command, CMD-SHELL → /bin/sh -c; interval, timeout, retries → periodSeconds, timeoutSeconds, failureThreshold); startPeriod → a startup probe. Readiness for essential containers, liveness for those of Service tasks; non-essential containers get none, or only a startup probe when others wait for them to be HEALTHY (reported); a sidecar others wait for only to start gets startPeriod as liveness initialDelaySeconds (reported)",
    ),
    r(
        TD,
        "containerDefinitions[].systemControls",
        "pod securityContext.sysctls (one per pod, as on ECS with awsvpc: merged across containers, the last container's value wins and different values are reported; sysctls Kubernetes treats as unsafe must be allowed on the kubelet, reported)",
    ),
    m(
        TD,
        "containerDefinitions[].resourceRequirements[].type",
        "GPU → nvidia.com/gpu limit; NeuronDevice → aws.amazon.com/neurondevice limit; InferenceAccelerator is unsupported (reported)",
    ),
    m(
        TD,
        "containerDefinitions[].resourceRequirements[].value",
        "the resource count",
    ),
    u(
        TD,
        "containerDefinitions[].resourceRequirements[].sharingStrategy",
        "NVIDIA MPS sharing is configured in the NVIDIA device plugin, not per pod",
    ),
    a(
        TD,
        "containerDefinitions[].firelensConfiguration",
        "the log router runs as a sidecar container; awsfirelens log routes are kept as annotations for it, but the ECS agent's generated Fluent Bit configuration is not reproduced",
    ),
    u(
        TD,
        "containerDefinitions[].credentialSpecs",
        "gMSA credential specs need a GMSACredentialSpec resource and Windows nodes",
    ),
    // ---- CreateService
    m(
        SVC,
        "cluster",
        "the Cluster of that name in the namespace (defaults and policy)",
    ),
    m(
        SVC,
        "serviceName",
        "name of the Deployment/DaemonSet and companions (sanitised); defaults to metadata.name",
    ),
    m(
        SVC,
        "taskDefinition",
        "family (follows the latest revision) or family:revision (pinned) of a TaskDefinition in the namespace",
    ),
    m(
        SVC,
        "desiredCount",
        "replicas; with autoScaling the operator starts desiredCount tasks (within the bounds in force) and sets the running count once on every later change of desiredCount, then the HPA or KEDA ScaledObject moves it",
    ),
    r(
        SVC,
        "loadBalancers[].targetGroupArn",
        "a TargetGroupBinding (AWS Load Balancer Controller) keeping the existing target group, with the target type the network mode requires: awsvpc: ip, through a ClusterIP Service (the pod IPs are the targets, as in ECS); bridge and host: instance, through a NodePort Service (the nodes at the node port are the targets, kube-proxy forwards to a task: reported)",
    ),
    a(
        SVC,
        "loadBalancers[].loadBalancerName",
        "Classic Load Balancer: a Service of type LoadBalancer (a new load balancer; the existing one is not reused)",
    ),
    m(
        SVC,
        "loadBalancers[].containerName",
        "the Service's target port (the container's port)",
    ),
    m(
        SVC,
        "loadBalancers[].containerPort",
        "the Service's port and target port",
    ),
    u(
        SVC,
        "loadBalancers[].advancedConfiguration",
        "blue/green listener rules are not reproduced; Tidewater rolls out in place",
    ),
    a(
        SVC,
        "serviceRegistries",
        "Cloud Map registration becomes a headless Service named after the service (DNS <service>.<namespace>.svc instead of the Cloud Map name)",
    ),
    r(
        SVC,
        "launchType",
        "FARGATE: Fargate node selector and toleration (eks.amazonaws.com/compute-type=fargate); EC2: any non-Fargate node; EXTERNAL and MANAGED_INSTANCES are reported",
    ),
    r(
        SVC,
        "capacityProviderStrategy[].capacityProvider",
        "FARGATE: Fargate nodes; FARGATE_SPOT: SPOT nodes (eks.amazonaws.com/capacityType=SPOT, reported); an EC2 capacity provider: nodes labelled eks.amazonaws.com/nodegroup=<name>",
    ),
    r(
        SVC,
        "capacityProviderStrategy[].weight",
        "preferred node affinity weights between providers (the scheduler prefers, ECS splits exactly: reported when several providers are used)",
    ),
    r(
        SVC,
        "capacityProviderStrategy[].base",
        "no per-provider minimum on Kubernetes (reported when set)",
    ),
    a(
        SVC,
        "platformVersion",
        "Fargate platform versions do not exist on Kubernetes",
    ),
    u(
        SVC,
        "role",
        "the legacy ECS service role for load balancers is not needed; the AWS Load Balancer Controller uses its own role",
    ),
    r(
        SVC,
        "deploymentConfiguration.maximumPercent",
        "rolling update maxSurge: desiredCount × maximumPercent ÷ 100 rounded down, less desiredCount; with autoScaling the percentage maximumPercent − 100, which Kubernetes rounds up (reported unless a multiple of 100)",
    ),
    r(
        SVC,
        "deploymentConfiguration.minimumHealthyPercent",
        "rolling update maxUnavailable (the healthy count rounded up as ECS does; with autoScaling the percentage 100 − minimumHealthyPercent, which Kubernetes rounds down: the same bound) and a PodDisruptionBudget (maxUnavailable, or minAvailable as a percentage with autoScaling); DAEMON: the DaemonSet's maxUnavailable percentage, rounded up by Kubernetes (reported unless 0 or 100); when neither a task may be added nor removed, or the budget would allow no eviction, one may be unavailable (reported)",
    ),
    m(
        SVC,
        "deploymentConfiguration.deploymentCircuitBreaker",
        "the operator watches the rollout: failed tasks past the ECS threshold mark the deployment FAILED and, with rollback, restore the last COMPLETED revision",
    ),
    u(
        SVC,
        "deploymentConfiguration.alarms",
        "CloudWatch alarms are not watched during rollouts",
    ),
    r(
        SVC,
        "deploymentConfiguration.strategy",
        "ROLLING: rolling update; BLUE_GREEN, LINEAR and CANARY are rolled out as ROLLING (reported)",
    ),
    u(
        SVC,
        "deploymentConfiguration.bakeTimeInMinutes",
        "no bake time: a rollout completes when the new pods are available",
    ),
    u(
        SVC,
        "deploymentConfiguration.lifecycleHooks",
        "deployment lifecycle hooks (Lambda) are not called",
    ),
    u(
        SVC,
        "deploymentConfiguration.linearConfiguration",
        "linear traffic shifting is not reproduced",
    ),
    u(
        SVC,
        "deploymentConfiguration.canaryConfiguration",
        "canary traffic shifting is not reproduced",
    ),
    u(
        SVC,
        "deploymentConfiguration.earlySuccessCriteria",
        "early success criteria are not evaluated",
    ),
    r(
        SVC,
        "placementConstraints[].type",
        "distinctInstance: required pod anti-affinity per node; memberOf: required node affinity",
    ),
    r(
        SVC,
        "placementConstraints[].expression",
        "cluster query language → node affinity (see the task definition row)",
    ),
    r(
        SVC,
        "placementStrategy[].type",
        "spread: topology spread (ScheduleAnyway); random: the default scheduler; binpack has no per-pod counterpart (reported)",
    ),
    r(
        SVC,
        "placementStrategy[].field",
        "attribute:ecs.availability-zone → topology.kubernetes.io/zone, instanceId/host → kubernetes.io/hostname, other attributes → that node label",
    ),
    a(
        SVC,
        "networkConfiguration.awsvpcConfiguration.subnets",
        "pods get IPs from the nodes' subnets (use VPC CNI custom networking to choose subnets)",
    ),
    a(
        SVC,
        "networkConfiguration.awsvpcConfiguration.securityGroups",
        "security groups for pods need a SecurityGroupPolicy (VPC CNI) selecting the pods",
    ),
    u(
        SVC,
        "networkConfiguration.awsvpcConfiguration.assignPublicIp",
        "pods do not get public IPs",
    ),
    r(
        SVC,
        "healthCheckGracePeriodSeconds",
        "liveness initialDelaySeconds and a startup probe at least that long (failures are ignored after each container start, not once per task; reported when essential containers have health checks); added to the Deployment's progress deadline, which the circuit breaker watches",
    ),
    m(
        SVC,
        "schedulingStrategy",
        "REPLICA: Deployment; DAEMON: DaemonSet",
    ),
    r(
        SVC,
        "deploymentController.type",
        "ECS: rolling update by the operator; CODE_DEPLOY and EXTERNAL are reported and rolled out in place",
    ),
    r(
        SVC,
        "tags[].key",
        "labels on every created object (and on the pods with propagateTags SERVICE) when valid, else annotations of the Deployment or DaemonSet (and of the pods with propagateTags SERVICE) (reported)",
    ),
    r(
        SVC,
        "tags[].value",
        "label value, else annotation (reported)",
    ),
    m(
        SVC,
        "enableECSManagedTags",
        "Tidewater always sets its managed labels (cluster, service, family, revision)",
    ),
    m(
        SVC,
        "propagateTags",
        "TASK_DEFINITION or SERVICE: that resource's tags become pod labels, or pod annotations where they are no valid labels; NONE or absent: none",
    ),
    a(
        SVC,
        "enableExecuteCommand",
        "kubectl exec replaces ECS Exec; access is granted by RBAC (pods/exec), not per service",
    ),
    u(
        SVC,
        "clientToken",
        "apply is idempotent; no token is needed",
    ),
    a(
        SVC,
        "serviceConnectConfiguration.enabled",
        "Service Connect becomes a ClusterIP Service per services[] entry",
    ),
    a(
        SVC,
        "serviceConnectConfiguration.namespace",
        "the Kubernetes namespace replaces the Cloud Map namespace",
    ),
    m(
        SVC,
        "serviceConnectConfiguration.services[].portName",
        "the Service's target port (the named container port)",
    ),
    m(
        SVC,
        "serviceConnectConfiguration.services[].discoveryName",
        "the Service name (sanitised)",
    ),
    m(
        SVC,
        "serviceConnectConfiguration.services[].clientAliases[].port",
        "the Service port",
    ),
    a(
        SVC,
        "serviceConnectConfiguration.services[].clientAliases[].dnsName",
        "clients use <service>.<namespace>.svc instead of the alias",
    ),
    u(
        SVC,
        "serviceConnectConfiguration.services[].clientAliases[].testTrafficRules",
        "test traffic routing (blue/green) is not reproduced",
    ),
    m(
        SVC,
        "serviceConnectConfiguration.services[].ingressPortOverride",
        "the Service's target port",
    ),
    u(
        SVC,
        "serviceConnectConfiguration.services[].timeout",
        "the Service Connect proxy's timeouts are not reproduced (Services have no proxy)",
    ),
    u(
        SVC,
        "serviceConnectConfiguration.services[].tls",
        "Service Connect TLS is not reproduced; use a service mesh for mTLS",
    ),
    u(
        SVC,
        "serviceConnectConfiguration.logConfiguration",
        "there is no Service Connect proxy whose logs to route",
    ),
    u(
        SVC,
        "serviceConnectConfiguration.accessLogConfiguration",
        "there is no Service Connect proxy that writes access logs",
    ),
    u(
        SVC,
        "serviceConnectConfiguration.containerConfigurations",
        "there is no Service Connect proxy container to configure",
    ),
    a(
        SVC,
        "volumeConfigurations",
        "managed EBS volumes become generic ephemeral volumes (a PersistentVolumeClaim per pod with storage class gp3 unless volumeType names another, sizeInGiB as the request); encryption, IOPS, throughput, snapshot and tags belong to the StorageClass",
    ),
    u(
        SVC,
        "vpcLatticeConfigurations",
        "VPC Lattice target groups are not registered; use the AWS Gateway API Controller",
    ),
    u(
        SVC,
        "gatewayConnectors",
        "gateway connectors are not reproduced",
    ),
    u(
        SVC,
        "monitoring",
        "ECS service monitoring metrics are not reproduced; use the cluster's metrics pipeline",
    ),
    a(
        SVC,
        "availabilityZoneRebalancing",
        "the scheduler spreads new pods but does not move running ones; use the descheduler to rebalance",
    ),
    // ---- CreateCluster
    m(
        CL,
        "clusterName",
        "the ECS cluster name Services and Tasks refer to; defaults to metadata.name",
    ),
    a(
        CL,
        "settings",
        "Container Insights is enabled on the EKS cluster (CloudWatch Observability add-on), not per ECS cluster",
    ),
    u(
        CL,
        "configuration.executeCommandConfiguration",
        "ECS Exec logging/encryption: kubectl exec is audited by the API server audit log",
    ),
    u(
        CL,
        "configuration.managedStorageConfiguration",
        "managed storage keys belong to StorageClasses and the EKS cluster",
    ),
    m(
        CL,
        "capacityProviders",
        "the capacity providers workloads of the cluster may name",
    ),
    m(
        CL,
        "defaultCapacityProviderStrategy",
        "applied to workloads with neither launchType nor capacityProviderStrategy",
    ),
    a(
        CL,
        "serviceConnectDefaults.namespace",
        "the Kubernetes namespace replaces the Cloud Map namespace",
    ),
    r(
        CL,
        "tags",
        "labels on the Cluster's objects when valid (reported otherwise)",
    ),
    // ---- RunTask
    m(RT, "cluster", "the Cluster of that name in the namespace"),
    m(
        RT,
        "taskDefinition",
        "family or family:revision of a TaskDefinition in the namespace",
    ),
    m(RT, "count", "that many pods (restartPolicy Never)"),
    m(
        RT,
        "overrides.containerOverrides[].name",
        "the container the override applies to",
    ),
    m(
        RT,
        "overrides.containerOverrides[].command",
        "args of that container",
    ),
    m(
        RT,
        "overrides.containerOverrides[].environment",
        "env of that container (overrides by name)",
    ),
    a(
        RT,
        "overrides.containerOverrides[].environmentFiles",
        "envFrom ConfigMaps named after the S3 objects",
    ),
    m(
        RT,
        "overrides.containerOverrides[].cpu",
        "CPU request of that container (as containerDefinitions[].cpu)",
    ),
    m(
        RT,
        "overrides.containerOverrides[].memory",
        "memory limit of that container",
    ),
    m(
        RT,
        "overrides.containerOverrides[].memoryReservation",
        "memory request of that container",
    ),
    m(
        RT,
        "overrides.containerOverrides[].resourceRequirements[].type",
        "GPU/NeuronDevice limits of that container",
    ),
    m(
        RT,
        "overrides.containerOverrides[].resourceRequirements[].value",
        "the resource count",
    ),
    u(
        RT,
        "overrides.containerOverrides[].resourceRequirements[].sharingStrategy",
        "NVIDIA MPS sharing is configured in the device plugin",
    ),
    r(
        RT,
        "overrides.cpu",
        "task CPU size, shared out among the containers as the task definition's cpu (reported as there)",
    ),
    r(
        RT,
        "overrides.memory",
        "task memory size, shared out among the containers as the task definition's memory (reported as there)",
    ),
    a(
        RT,
        "overrides.executionRoleArn",
        "not used (see executionRoleArn)",
    ),
    m(
        RT,
        "overrides.taskRoleArn",
        "the task's ServiceAccount role",
    ),
    u(
        RT,
        "overrides.inferenceAcceleratorOverrides",
        "Elastic Inference is retired",
    ),
    a(
        RT,
        "overrides.ephemeralStorage",
        "ephemeral-storage limit on the first essential container",
    ),
    m(RT, "group", "label ecs.tidewater.dev/group"),
    m(RT, "startedBy", "annotation ecs.tidewater.dev/started-by"),
    m(
        RT,
        "referenceId",
        "annotation ecs.tidewater.dev/reference-id",
    ),
    r(RT, "launchType", "as for Services"),
    r(RT, "capacityProviderStrategy", "as for Services"),
    a(
        RT,
        "platformVersion",
        "Fargate platform versions do not exist on Kubernetes",
    ),
    r(RT, "placementConstraints", "as for Services"),
    r(RT, "placementStrategy", "as for Services"),
    a(
        RT,
        "networkConfiguration.awsvpcConfiguration.subnets",
        "pods get IPs from the nodes' subnets",
    ),
    a(
        RT,
        "networkConfiguration.awsvpcConfiguration.securityGroups",
        "security groups for pods need a SecurityGroupPolicy (VPC CNI)",
    ),
    u(
        RT,
        "networkConfiguration.awsvpcConfiguration.assignPublicIp",
        "pods do not get public IPs",
    ),
    r(
        RT,
        "tags",
        "pod labels when valid, else pod annotations (reported)",
    ),
    m(RT, "enableECSManagedTags", "managed labels are always set"),
    m(
        RT,
        "propagateTags",
        "TASK_DEFINITION: the task definition's tags become pod labels (annotations where no valid labels), the task's own tags winning; SERVICE, which ECS rejects for RunTask, is reported",
    ),
    a(RT, "enableExecuteCommand", "kubectl exec, granted by RBAC"),
    u(RT, "clientToken", "apply is idempotent; no token is needed"),
    a(
        RT,
        "volumeConfigurations",
        "managed EBS volumes become generic ephemeral volumes (see the Service row)",
    ),
    // ---- Application Auto Scaling (Service.spec.autoScaling)
    m(ST, "ServiceNamespace", "implied (ecs)"),
    m(ST, "ResourceId", "implied (the Service)"),
    m(
        ST,
        "ScalableDimension",
        "implied (desired count → the Deployment's replicas)",
    ),
    r(
        ST,
        "MinCapacity",
        "hpa: HorizontalPodAutoscaler minReplicas (0 becomes 1, reported: an HPA cannot scale to zero); keda: ScaledObject minReplicaCount (0 scales to zero, except on CPU/memory triggers alone, reported); changed by scheduled actions at their times",
    ),
    m(
        ST,
        "MaxCapacity",
        "hpa: HorizontalPodAutoscaler maxReplicas; keda: ScaledObject maxReplicaCount; changed by scheduled actions at their times",
    ),
    u(
        ST,
        "RoleARN",
        "hpa needs no IAM role; keda reads AWS with its TriggerAuthentication (pod identity of the KEDA operator)",
    ),
    r(
        ST,
        "SuspendedState",
        "hpa and keda: DynamicScalingInSuspended → scale-down selectPolicy Disabled; DynamicScalingOutSuspended → scale-up Disabled; ScheduledScalingSuspended → the operator carries out no scheduled action",
    ),
    r(
        ST,
        "Tags",
        "labels on the HorizontalPodAutoscaler or ScaledObject; a tag that is not a valid label is reported and left out",
    ),
    m(
        SP,
        "PolicyName",
        "named in the HorizontalPodAutoscaler's or ScaledObject's annotations",
    ),
    m(SP, "ServiceNamespace", "implied (ecs)"),
    m(SP, "ResourceId", "implied (the Service)"),
    m(SP, "ScalableDimension", "implied"),
    r(
        SP,
        "PolicyType",
        "TargetTrackingScaling → an HPA metric (hpa) or a KEDA trigger (keda); a policy of another type without its configuration is reported and left out",
    ),
    r(
        SP,
        "TargetTrackingScalingPolicyConfiguration.TargetValue",
        "hpa and keda: averageUtilization for CPU/memory (whole percent; a fraction is reported); keda: targetMetricValue of aws-cloudwatch, queueLength of aws-sqs-queue",
    ),
    r(
        SP,
        "TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification",
        "ECSServiceAverageCPUUtilization/MemoryUtilization (and HighResolution) → hpa: Resource metric cpu/memory Utilization; keda: cpu/memory trigger. ALBRequestCountPerTarget → keda: aws-cloudwatch trigger on the target group's RequestCountPerTarget (Sum per minute, metricType Value), reported for its AWS identity; hpa: unsupported, reported, left out",
    ),
    r(
        SP,
        "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification",
        "keda: aws-cloudwatch trigger (namespace, metricName, dimensions, statistic, unit; metricType Value), SQS ApproximateNumberOfMessagesVisible → aws-sqs-queue (backlog per task), metric math unsupported; reported; hpa: unsupported, reported, left out",
    ),
    r(
        SP,
        "TargetTrackingScalingPolicyConfiguration.ScaleOutCooldown",
        "hpa and keda: scaleUp stabilizationWindowSeconds (reported: a stabilization window delays the scale-out itself)",
    ),
    r(
        SP,
        "TargetTrackingScalingPolicyConfiguration.ScaleInCooldown",
        "hpa and keda: scaleDown stabilizationWindowSeconds (reported: the highest recommendation of the window is followed)",
    ),
    r(
        SP,
        "TargetTrackingScalingPolicyConfiguration.DisableScaleIn",
        "hpa and keda: scaleDown selectPolicy Disabled when every carried policy disables scale-in; reported otherwise",
    ),
    u(
        SP,
        "StepScalingPolicyConfiguration",
        "step scaling runs on a CloudWatch alarm that is not part of the policy: with hpa and keda alike there is nothing to scale on; left out",
    ),
    u(
        SP,
        "PredictiveScalingPolicyConfiguration",
        "predictive scaling has no Kubernetes counterpart (hpa or keda)",
    ),
    m(
        SA,
        "ScheduledActionName",
        "named in the HorizontalPodAutoscaler's or ScaledObject's annotations",
    ),
    m(SA, "ServiceNamespace", "implied"),
    m(SA, "ResourceId", "implied"),
    m(SA, "ScalableDimension", "implied"),
    a(
        SA,
        "Schedule",
        "at(...), rate(...) and cron(...) carried out by the operator at their times (hpa and keda alike), changing the bounds of the HPA or ScaledObject; an action fires only after it first appeared in the spec (recorded on the Deployment), a rate without StartTime counts from then; a later change of the scalable target's MinCapacity/MaxCapacity does not replace bounds a firing set, where Application Auto Scaling keeps whichever came last",
    ),
    m(
        SA,
        "Timezone",
        "the time zone of at(...) and cron(...) (IANA name; UTC by default)",
    ),
    m(
        SA,
        "StartTime",
        "first firing of a recurring action; nothing fires before it",
    ),
    m(
        SA,
        "EndTime",
        "nothing fires after it; the bounds it set stay",
    ),
    m(
        SA,
        "ScalableTargetAction",
        "new minimum/maximum of the HPA or ScaledObject at the scheduled time; without a scaler the running count is brought into the new bounds",
    ),
];

/// Normalise a concrete path (`containerDefinitions[2].name`, `dockerLabels.foo`) to the table's
/// form (`containerDefinitions[].name`).
pub fn normalise(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '[' {
            while chars.peek().is_some_and(|c| *c != ']') {
                chars.next();
            }
        }
    }
    out
}

/// The row covering a path (longest matching prefix), if any.
pub fn lookup(request: Request, path: &str) -> Option<&'static Field> {
    let norm = normalise(path);
    // Longest first: the whole path, then each shorter prefix ending before `.`, `[` or `{`.
    let cuts = norm
        .char_indices()
        .filter(|(_, c)| matches!(c, '.' | '[' | '{'))
        .map(|(i, _)| i)
        .rev();
    std::iter::once(norm.len())
        .chain(cuts)
        .find_map(|end| row(request, &norm[..end]))
}

/// The row whose path (without a trailing `[]`/`{}`) is exactly `path`: one hash lookup.
pub fn row(request: Request, path: &str) -> Option<&'static Field> {
    INDEX.get(&(request, path)).copied()
}

/// A multiply-rotate hash taking eight bytes at a time (rustc's FxHash): the table's keys are
/// short, fixed and not chosen by users, so a fast hash serves. The walk of every spec hashes
/// each path it meets ([`reporting`]), so this counts.
#[derive(Clone, Copy, Default)]
pub struct WordHash(u64);

impl WordHash {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for WordHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.add(u64::from_le_bytes(w.try_into().expect("eight bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        // The product's high bits are its best: the table takes its slot from the low bits.
        self.0.rotate_left(26)
    }
}

type FastHash = std::hash::BuildHasherDefault<WordHash>;

/// Rows by request and path without a trailing `[]`/`{}` (built once; the table is static).
static INDEX: std::sync::LazyLock<
    std::collections::HashMap<(Request, &'static str), &'static Field, FastHash>,
> = std::sync::LazyLock::new(|| {
    let mut index =
        std::collections::HashMap::with_capacity_and_hasher(FIELDS.len(), FastHash::default());
    for f in FIELDS {
        index.entry((f.request, trimmed(f.path))).or_insert(f);
    }
    index
});

/// Whether a row that always reports (unsupported, or approximated whenever present) is at
/// `path` (in table form, without a trailing `[]`/`{}`) or below it: the walk of a spec
/// ([`super::walk`]) leaves out what cannot report.
pub fn reports_at_or_below(request: Request, path: &str) -> bool {
    REPORTING.contains(&(request, path))
}

/// The paths of the rows [`row`] finds that always report, and every path above them.
static REPORTING: std::sync::LazyLock<
    std::collections::HashSet<(Request, &'static str), FastHash>,
> = std::sync::LazyLock::new(|| {
    let mut set = std::collections::HashSet::default();
    for (&(request, path), f) in INDEX.iter() {
        if !f.always_reports() {
            continue;
        }
        set.insert((request, path));
        for (i, c) in path.char_indices() {
            if c == '.' || c == '[' {
                set.insert((request, &path[..i]));
            }
        }
    }
    set
});

/// What the walk ([`super::walk`]) finds at `path` in one look-up: `None` when no row that
/// always reports is at or below it ([`reports_at_or_below`] is false), else the row at `path`
/// when it always reports.
pub fn reporting(request: Request, path: &str) -> Option<Option<&'static Field>> {
    REPORTING_ROWS.get(&(request, path)).copied()
}

/// [`REPORTING`] with the row of each path that always reports.
static REPORTING_ROWS: std::sync::LazyLock<
    std::collections::HashMap<(Request, &'static str), Option<&'static Field>, FastHash>,
> = std::sync::LazyLock::new(|| {
    REPORTING
        .iter()
        .map(|&(request, path)| {
            let row = row(request, path).filter(|r| r.always_reports());
            ((request, path), row)
        })
        .collect()
});

/// [`reporting`] as a tree of path segments, so that a walk going down a spec asks for one
/// segment below where it is (a member name or `[]`) instead of hashing its whole path.
pub mod tree {
    use super::{Field, REPORTING_ROWS, Request};

    /// A place in the tree: a path [`super::reporting`] answers for.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Node(u32);

    /// What is at a path: its place in the tree, and its row when that always reports.
    pub type Found = (Node, Option<&'static Field>);

    struct Place {
        row: Option<&'static Field>,
        /// Members below: (name, place).
        members: Vec<(&'static str, u32)>,
        /// Open addressing over `members` by [`slot`] of the name: index + 1, 0 when free
        /// (a power of two long, at least twice the members).
        slots: Vec<u32>,
        /// The elements of a list (`[]`).
        elements: Option<u32>,
    }

    /// The tree of every request's rows that always report, and the paths above them.
    pub struct Tree {
        places: Vec<Place>,
        /// The spec of each request (the empty path), by [`Request`] order.
        roots: Vec<u32>,
    }

    static TREE: std::sync::LazyLock<Tree> = std::sync::LazyLock::new(build);

    /// The tree.
    pub fn get() -> &'static Tree {
        &TREE
    }

    fn build() -> Tree {
        let mut tree = Tree {
            places: Vec::new(),
            roots: Vec::new(),
        };
        for _ in Request::ALL {
            let root = tree.place();
            tree.roots.push(root);
        }
        let mut paths: Vec<_> = REPORTING_ROWS.iter().collect();
        paths.sort_by_key(|((request, path), _)| (*request as usize, *path));
        for (&(request, path), &row) in paths {
            let mut at = tree.roots[request as usize];
            for segment in segments(path) {
                at = match segment {
                    "[]" => match tree.places[at as usize].elements {
                        Some(next) => next,
                        None => {
                            let next = tree.place();
                            tree.places[at as usize].elements = Some(next);
                            next
                        }
                    },
                    name => match tree.find(at, name) {
                        Some(next) => next,
                        None => {
                            let next = tree.place();
                            tree.places[at as usize].members.push((name, next));
                            next
                        }
                    },
                };
            }
            tree.places[at as usize].row = row;
        }
        for place in &mut tree.places {
            place.slots = slots(&place.members);
        }
        tree
    }

    /// `a[].b` as `a`, `[]`, `b`.
    fn segments(path: &'static str) -> impl Iterator<Item = &'static str> {
        path.split('.').flat_map(|part| {
            let name = part.trim_end_matches("[]");
            let lists = (part.len() - name.len()) / 2;
            std::iter::once(name)
                .filter(|n| !n.is_empty())
                .chain(std::iter::repeat_n("[]", lists))
        })
    }

    /// Where a name's search starts: its length and its first and last bytes.
    fn slot(name: &str) -> usize {
        let b = name.as_bytes();
        let (first, last) = (b.first().copied(), b.last().copied());
        let (first, last) = (first.unwrap_or(0) as usize, last.unwrap_or(0) as usize);
        (b.len() * 31 + first * 7 + last * 3).wrapping_mul(0x9e37_79b9)
    }

    fn slots(members: &[(&'static str, u32)]) -> Vec<u32> {
        let mut slots = vec![0; (members.len() * 2).next_power_of_two().max(2)];
        let mask = slots.len() - 1;
        for (i, (name, _)) in members.iter().enumerate() {
            let mut s = slot(name) & mask;
            while slots[s] != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = i as u32 + 1;
        }
        slots
    }

    impl Tree {
        fn place(&mut self) -> u32 {
            self.places.push(Place {
                row: None,
                members: Vec::new(),
                slots: Vec::new(),
                elements: None,
            });
            (self.places.len() - 1) as u32
        }

        /// While the tree is built.
        fn find(&self, at: u32, name: &str) -> Option<u32> {
            let members = &self.places[at as usize].members;
            members
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, next)| *next)
        }

        fn found(&self, at: u32) -> Found {
            (Node(at), self.places[at as usize].row)
        }

        /// The spec of `request` itself.
        pub fn root(&self, request: Request) -> Node {
            Node(self.roots[request as usize])
        }

        /// The member `name` of the value at `at`: what [`super::reporting`] answers for the
        /// path `at.name` when `name` has no `.` or `[` (else `None` is not an answer: ask it).
        pub fn member(&self, at: Node, name: &str) -> Option<Found> {
            let place = &self.places[at.0 as usize];
            let mask = place.slots.len().checked_sub(1)?;
            let mut s = slot(name) & mask;
            loop {
                let i = *place.slots.get(s)? as usize;
                let (n, next) = place.members.get(i.checked_sub(1)?)?;
                if n.len() == name.len() && *n == name {
                    return Some(self.found(*next));
                }
                s = (s + 1) & mask;
            }
        }

        /// The elements of the list at `at`: what [`super::reporting`] answers for `at[]`.
        pub fn elements(&self, at: Node) -> Option<Found> {
            self.places[at.0 as usize]
                .elements
                .map(|next| self.found(next))
        }
    }
}

/// A table path without its trailing `[]` or `{}`.
pub fn trimmed(path: &str) -> &str {
    path.trim_end_matches("[]").trim_end_matches("{}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_drops_indices() {
        assert_eq!(
            normalise("containerDefinitions[3].portMappings[0].hostPort"),
            "containerDefinitions[].portMappings[].hostPort"
        );
    }

    #[test]
    fn lookup_takes_the_longest_prefix() {
        let f = lookup(
            RegisterTaskDefinition,
            "containerDefinitions[0].linuxParameters.tmpfs[1].mountOptions[0]",
        )
        .unwrap();
        assert_eq!(
            f.path,
            "containerDefinitions[].linuxParameters.tmpfs[].mountOptions"
        );
        let f = lookup(
            RegisterTaskDefinition,
            "volumes[0].fsxWindowsFileServerVolumeConfiguration.rootDirectory",
        )
        .unwrap();
        assert_eq!(f.disposition, Unsupported);
        assert!(lookup(RegisterTaskDefinition, "nonsense").is_none());
    }

    #[test]
    fn no_duplicate_rows() {
        let mut seen = std::collections::HashSet::new();
        for f in FIELDS {
            assert!(
                seen.insert((f.request, f.path)),
                "duplicate row {:?} {}",
                f.request,
                f.path
            );
        }
    }
}
