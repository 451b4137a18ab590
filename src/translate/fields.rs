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
        "EFS CSI driver: a PersistentVolumeClaim named efs-<fileSystemId>[-<accessPointId>] is referenced; create the PersistentVolume (volumeHandle fileSystemId[:rootDirectory][:accessPointId]) and claim with the EFS CSI driver; transit encryption and IAM authorization are PersistentVolume mount options",
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
    m(
        TD,
        "cpu",
        "task size (CPU units or vCPU): every container's CPU limit, so the task cannot use more, as on Fargate",
    ),
    m(
        TD,
        "memory",
        "task size (MiB or GB): the memory limit of every container that sets none",
    ),
    r(
        TD,
        "tags[].key",
        "labels on the created objects when valid label keys and values (propagateTags), else annotations (reported)",
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
        "CPU request: units ÷ 1024 (256 → 250m)",
    ),
    m(
        TD,
        "containerDefinitions[].memory",
        "memory limit in MiB (and request when memoryReservation is not set)",
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
        "containers are restarted in place by the kubelet (the default for Services); false is reported",
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
        "env from a Kubernetes Secret named by the secrets naming rule (Secrets Manager ARN → secret name without the random suffix, JSON key → Secret key; SSM parameter → its path), which must exist or be synced by External Secrets Operator",
    ),
    a(
        TD,
        "containerDefinitions[].dependsOn",
        "START/HEALTHY: the dependency runs as a native sidecar started first (HEALTHY waits for its startup probe); COMPLETE/SUCCESS: it runs as an init container, which must succeed",
    ),
    a(
        TD,
        "containerDefinitions[].startTimeout",
        "Kubernetes waits for sidecars and init containers without a time limit",
    ),
    r(
        TD,
        "containerDefinitions[].stopTimeout",
        "terminationGracePeriodSeconds of the pod: the largest stopTimeout (reported when containers differ)",
    ),
    u(
        TD,
        "containerDefinitions[].versionConsistency",
        "Kubernetes resolves image tags when a node pulls; pin images by digest for consistency",
    ),
    r(
        TD,
        "containerDefinitions[].hostname",
        "pod hostname (one per pod: reported when containers differ or the name is not a DNS label)",
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
        "pod dnsConfig nameservers with dnsPolicy None (one per pod: merged across containers, reported when they differ)",
    ),
    r(
        TD,
        "containerDefinitions[].dnsSearchDomains",
        "pod dnsConfig searches (one per pod: merged across containers, reported when they differ)",
    ),
    r(
        TD,
        "containerDefinitions[].extraHosts",
        "pod hostAliases (one per pod: every container sees all of them, reported when several containers set them)",
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
        "pod annotations (containers have no labels on Kubernetes); invalid keys are left out",
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
        "liveness and readiness exec probes (CMD → command, CMD-SHELL → /bin/sh -c), interval → periodSeconds, timeout → timeoutSeconds, retries → failureThreshold; startPeriod → a startup probe",
    ),
    r(
        TD,
        "containerDefinitions[].systemControls",
        "pod securityContext.sysctls (one per pod: merged across containers; sysctls Kubernetes treats as unsafe must be allowed on the kubelet, reported)",
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
    m(
        SVC,
        "loadBalancers[].targetGroupArn",
        "a Service for the container port plus a TargetGroupBinding (AWS Load Balancer Controller) keeping the existing target group",
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
    m(
        SVC,
        "deploymentConfiguration.maximumPercent",
        "rolling update maxSurge (desiredCount × (maximumPercent − 100) ÷ 100, rounded down)",
    ),
    r(
        SVC,
        "deploymentConfiguration.minimumHealthyPercent",
        "rolling update maxUnavailable (rounded as ECS does) and a PodDisruptionBudget; when neither a task may be added nor removed, one may be unavailable (reported)",
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
    m(
        SVC,
        "healthCheckGracePeriodSeconds",
        "startup probe long enough to cover the grace period; added to the Deployment's progress deadline, which the circuit breaker watches",
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
        "labels on the created objects when valid, else annotations (reported)",
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
        "TASK_DEFINITION or SERVICE: that resource's tags become pod labels",
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
        "CPU request of that container",
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
    m(RT, "overrides.cpu", "task CPU size"),
    m(RT, "overrides.memory", "task memory size"),
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
    r(RT, "tags", "labels when valid, else annotations (reported)"),
    m(RT, "enableECSManagedTags", "managed labels are always set"),
    m(
        RT,
        "propagateTags",
        "TASK_DEFINITION: the task definition's tags become pod labels",
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
    FIELDS
        .iter()
        .filter(|f| f.request == request && covers(f.path, &norm))
        .max_by_key(|f| f.path.len())
}

fn covers(entry: &str, path: &str) -> bool {
    let entry = entry.trim_end_matches("[]").trim_end_matches("{}");
    path == entry
        || path.strip_prefix(entry).is_some_and(|rest| {
            rest.starts_with('.') || rest.starts_with('[') || rest.starts_with('{')
        })
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
