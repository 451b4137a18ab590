//! One test per ECS rule of `translate::validate`, named after the rule, quoting the ECS
//! documentation it enforces. Each asserts the whole list of errors the Rust check reports and,
//! for rules the CRDs declare as CEL, that the CEL rule (evaluated client-side as the apiserver
//! would) rejects the same spec with the same message: the two are twins.

use serde_json::{Value, json};
use std::path::Path;
use tidewater::api::{ClusterSpec, ServiceSpec, TaskDefinitionSpec, TaskSpec};
use tidewater::render;
use tidewater::translate::validate::{self, Admission, Rule, ValidationError, ValidationErrors};

// ------------------------------------------------------------------------------------------
// Helpers

/// A valid task definition (EC2 or Fargate unspecified) with `fields` set at the top level.
fn td(fields: Value) -> Value {
    let mut base =
        json!({"memory": "512", "containerDefinitions": [{"name": "app", "image": "nginx"}]});
    merge(&mut base, fields);
    base
}

/// A valid Fargate task definition with `fields` set at the top level.
fn fargate(fields: Value) -> Value {
    td(merge_into(
        json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256"}),
        fields,
    ))
}

/// `fields` set on the one container of `spec`.
fn app(mut spec: Value, fields: Value) -> Value {
    merge(&mut spec["containerDefinitions"][0], fields);
    spec
}

fn merge(target: &mut Value, fields: Value) {
    for (k, v) in fields.as_object().expect("fields are an object") {
        target[k] = v.clone();
    }
}

fn merge_into(mut base: Value, fields: Value) -> Value {
    merge(&mut base, fields);
    base
}

/// The errors a rule reports at `paths`.
fn expected(rule: &Rule, paths: &[&str]) -> Vec<ValidationError> {
    paths
        .iter()
        .map(|p| ValidationError {
            path: p.to_string(),
            message: rule.message.to_string(),
        })
        .collect()
}

/// The error a rule reports at `path` about `value`.
fn with_value(rule: &Rule, path: &str, value: &str) -> Vec<ValidationError> {
    vec![rule.with_value(path, value)]
}

fn errors(r: Result<(), ValidationErrors>) -> Vec<ValidationError> {
    r.err().map(|e| e.0).unwrap_or_default()
}

/// The messages of the CEL rules a spec breaks (the CRD's rules, on the spec and below it).
fn cel_messages(kind: &str, spec: &Value) -> Vec<String> {
    let mut m: Vec<String> = tidewater::api::cel_violations(kind, spec)
        .into_iter()
        .map(|(_, message)| message)
        .collect();
    m.dedup();
    m
}

/// The CEL twin: a CEL rule rejects `spec` with exactly the rule's message; a rule checked only
/// at reconcile time leaves `spec` to the CRD.
fn assert_cel_twin(kind: &str, spec: &Value, rule: &Rule, broken: bool) {
    let cel = cel_messages(kind, spec);
    match rule.admission {
        Admission::Cel(_) | Admission::CelOn { .. } if !broken => {
            assert!(cel.is_empty(), "{}: CEL rejects {cel:?}", rule.name)
        }
        Admission::Cel(_) | Admission::CelOn { .. } => {
            assert_eq!(cel, vec![rule.message.to_string()], "CEL of {}", rule.name)
        }
        Admission::Reconcile => assert!(cel.is_empty(), "{}: CEL rejects {cel:?}", rule.name),
        Admission::Schema => {}
    }
}

fn check_td(spec: Value, rule: &Rule, paths: &[&str]) {
    check_td_errors(spec, rule, expected(rule, paths));
}

/// As `check_td`, with the whole expected error list.
fn check_td_errors(spec: Value, rule: &Rule, want: Vec<ValidationError>) {
    let parsed: TaskDefinitionSpec = serde_json::from_value(spec.clone()).unwrap();
    let broken = !want.is_empty();
    pretty_assertions::assert_eq!(errors(validate::task_definition(&parsed)), want);
    assert_cel_twin("TaskDefinition", &spec, rule, broken);
}

fn check_service(spec: Value, rule: &Rule, paths: &[&str]) {
    check_service_errors(spec, rule, expected(rule, paths));
}

fn check_service_errors(spec: Value, rule: &Rule, want: Vec<ValidationError>) {
    let parsed: ServiceSpec = serde_json::from_value(spec.clone()).unwrap();
    let broken = !want.is_empty();
    pretty_assertions::assert_eq!(errors(validate::service(&parsed)), want);
    assert_cel_twin("Service", &spec, rule, broken);
}

fn check_task(spec: Value, rule: &Rule, paths: &[&str]) {
    let parsed: TaskSpec = serde_json::from_value(spec.clone()).unwrap();
    pretty_assertions::assert_eq!(errors(validate::task(&parsed.run)), expected(rule, paths));
    assert_cel_twin("Task", &spec, rule, !paths.is_empty());
}

/// A valid task definition stays valid: the base of every test breaks no rule.
#[test]
fn the_base_specs_are_valid() {
    for spec in [td(json!({})), fargate(json!({}))] {
        let parsed: TaskDefinitionSpec = serde_json::from_value(spec.clone()).unwrap();
        assert_eq!(errors(validate::task_definition(&parsed)), vec![]);
        assert!(cel_messages("TaskDefinition", &spec).is_empty());
    }
}

use validate::rules as r;

// ------------------------------------------------------------------------------------------
// RegisterTaskDefinition: task level

/// "containerDefinitions: A list of container definitions in JSON format that describe the
/// different containers that make up your task." (ClientException: Container list cannot be
/// empty.)
#[test]
fn container_definitions_required() {
    check_td(
        td(json!({"containerDefinitions": []})),
        &r::CONTAINER_DEFINITIONS_REQUIRED,
        &["containerDefinitions"],
    );
}

/// Service quota "Container definitions per task definition: 10".
#[test]
fn at_most_ten_containers() {
    let containers: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx"}))
        .collect();
    check_td(
        td(json!({"containerDefinitions": containers})),
        &r::AT_MOST_TEN_CONTAINERS,
        &["containerDefinitions"],
    );
}

/// "family: ... Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens
/// are allowed."
#[test]
fn family_name() {
    check_td_errors(
        td(json!({"family": "web.app"})),
        &r::FAMILY_NAME,
        with_value(&r::FAMILY_NAME, "family", "web.app"),
    );
}

/// "cpu: ... This field is required for Fargate." (ClientException: Fargate requires that 'cpu'
/// be defined at the task level.)
#[test]
fn fargate_requires_cpu() {
    let mut spec = fargate(json!({}));
    spec.as_object_mut().unwrap().remove("cpu");
    check_td(spec, &r::FARGATE_REQUIRES_CPU, &["cpu"]);
}

/// "memory: ... If using the Fargate launch type, this field is required"
#[test]
fn fargate_requires_memory() {
    let mut spec = app(fargate(json!({})), json!({"memory": 512}));
    spec.as_object_mut().unwrap().remove("memory");
    check_td(spec, &r::FARGATE_REQUIRES_MEMORY, &["memory"]);
}

/// "networkMode: ... For Amazon ECS tasks on Fargate, the awsvpc network mode is required."
#[test]
fn fargate_network_mode() {
    check_td(
        fargate(json!({"networkMode": "bridge"})),
        &r::FARGATE_NETWORK_MODE,
        &["networkMode"],
    );
}

/// "memory: ... If using the Fargate launch type, this field is required and you must use one of
/// the following values. ... 512 (0.5 GB), 1024 (1 GB), 2048 (2 GB) - Available cpu values: 256
/// (.25 vCPU)" (ClientException: No Fargate configuration exists for given values)
#[test]
fn fargate_size() {
    check_td(
        fargate(json!({"memory": "4096"})),
        &r::FARGATE_SIZE,
        &["memory"],
    );
    // Sizes with units are checked by the Rust twin only (the CEL rule reads plain numbers).
    let parsed: TaskDefinitionSpec =
        serde_json::from_value(fargate(json!({"cpu": ".25 vCPU", "memory": "4 GB"}))).unwrap();
    assert_eq!(
        errors(validate::task_definition(&parsed)),
        expected(&r::FARGATE_SIZE, &["memory"])
    );
}

/// "pidMode: ... On Fargate for Linux containers, the only valid value is task."
#[test]
fn fargate_pid_mode() {
    check_td(
        fargate(json!({"pidMode": "host"})),
        &r::FARGATE_PID_MODE,
        &["pidMode"],
    );
}

/// "ipcMode: ... This parameter is not supported for Windows containers or tasks run on
/// Fargate."
#[test]
fn fargate_ipc_mode() {
    check_td(
        fargate(json!({"ipcMode": "task"})),
        &r::FARGATE_IPC_MODE,
        &["ipcMode"],
    );
}

/// "cpu: The number of CPU units used by the task. It can be expressed as an integer using CPU
/// units (for example, 1024) or as a string using vCPUs (for example, 1 vCPU or 1 vcpu)".
#[test]
fn task_cpu_amount() {
    check_td_errors(
        td(json!({"cpu": "lots"})),
        &r::TASK_CPU_AMOUNT,
        with_value(&r::TASK_CPU_AMOUNT, "cpu", "lots"),
    );
}

/// "cpu: ... If you're using the EC2 launch type or external launch type, this field is optional.
/// Supported values are between 128 CPU units (0.125 vCPUs) and 196608 CPU units (192 vCPUs)."
#[test]
fn task_cpu_range() {
    check_td(td(json!({"cpu": "64"})), &r::TASK_CPU_RANGE, &["cpu"]);
}

/// "memory: ... It can be expressed as an integer using MiB (for example, 1024) or as a string
/// using GB (for example, 1GB or 1 GB)".
#[test]
fn task_memory_amount() {
    check_td_errors(
        td(json!({"memory": "plenty"})),
        &r::TASK_MEMORY_AMOUNT,
        with_value(&r::TASK_MEMORY_AMOUNT, "memory", "plenty"),
    );
}

/// "the only requirement is that the total amount of CPU reserved for all containers within a
/// task be lower than the task-level cpu value."
#[test]
fn container_cpu_within_task_cpu() {
    check_td(
        app(td(json!({"cpu": "256"})), json!({"cpu": 512})),
        &r::CONTAINER_CPU_WITHIN_TASK_CPU,
        &["containerDefinitions"],
    );
}

/// "The total amount of memory reserved for all containers within a task must be lower than the
/// task memory value, if one is specified."
#[test]
fn container_memory_within_task_memory() {
    check_td(
        app(td(json!({})), json!({"memoryReservation": 1024})),
        &r::CONTAINER_MEMORY_WITHIN_TASK_MEMORY,
        &["containerDefinitions"],
    );
}

/// "sizeInGiB: ... The minimum supported value is 21 GiB and the maximum supported value is 200
/// GiB."
#[test]
fn ephemeral_storage_size() {
    check_td(
        fargate(json!({"ephemeralStorage": {"sizeInGiB": 10}})),
        &r::EPHEMERAL_STORAGE_SIZE,
        &["ephemeralStorage.sizeInGiB"],
    );
}

/// "name: The name of the volume. ... this name is referenced in the sourceVolume parameter of
/// the mountPoints object in the container definition." (a name refers to one volume)
#[test]
fn volume_names_unique() {
    check_td(
        td(json!({"volumes": [{"name": "data"}, {"name": "data"}]})),
        &r::VOLUME_NAMES_UNIQUE,
        &["volumes[1].name"],
    );
}

/// "name: The name of the volume. Up to 255 letters (uppercase and lowercase), numbers,
/// underscores, and hyphens are allowed."
#[test]
fn volume_name() {
    check_td_errors(
        td(json!({"volumes": [{"name": "my data"}]})),
        &r::VOLUME_NAME,
        with_value(&r::VOLUME_NAME, "volumes[0].name", "my data"),
    );
}

/// "If you're using the Fargate launch type, the sourcePath parameter is not supported."
#[test]
fn fargate_host_source_path() {
    let spec = fargate(json!({"volumes": [{"name": "data", "host": {"sourcePath": "/data"}}]}));
    check_td(
        spec,
        &r::FARGATE_HOST_SOURCE_PATH,
        &["volumes[0].host.sourcePath"],
    );
}

// ------------------------------------------------------------------------------------------
// RegisterTaskDefinition: containers

/// "name: The name of a container." (ClientException: Container.name should not be null or
/// empty.)
#[test]
fn container_name_required() {
    check_td(
        app(td(json!({})), json!({"name": ""})),
        &r::CONTAINER_NAME_REQUIRED,
        &["containerDefinitions[0].name"],
    );
}

/// "name: ... Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are
/// allowed."
#[test]
fn container_name_characters() {
    check_td_errors(
        app(td(json!({})), json!({"name": "web.app"})),
        &r::CONTAINER_NAME_CHARACTERS,
        with_value(
            &r::CONTAINER_NAME_CHARACTERS,
            "containerDefinitions[0].name",
            "web.app",
        ),
    );
}

/// "image: The image used to start a container." (ClientException: Container.image should not
/// be null or empty.)
#[test]
fn container_image_required() {
    check_td(
        app(td(json!({})), json!({"image": ""})),
        &r::CONTAINER_IMAGE_REQUIRED,
        &["containerDefinitions[0].image"],
    );
}

/// "If you're linking multiple containers together in a task definition, the name of one
/// container can be entered in the links of another container" (a name names one container).
#[test]
fn container_names_unique() {
    let spec = td(
        json!({"containerDefinitions": [{"name": "a", "image": "i"}, {"name": "a", "image": "i"}]}),
    );
    check_td(
        spec,
        &r::CONTAINER_NAMES_UNIQUE,
        &["containerDefinitions[1].name"],
    );
}

/// "All tasks must have at least one essential container."
#[test]
fn essential_container_required() {
    check_td(
        app(td(json!({})), json!({"essential": false})),
        &r::ESSENTIAL_CONTAINER_REQUIRED,
        &["containerDefinitions"],
    );
}

/// "containerName: The name of a container." (of this task definition)
#[test]
fn depends_on_known_container() {
    let spec = app(
        td(json!({})),
        json!({"dependsOn": [{"containerName": "db", "condition": "START"}]}),
    );
    check_td_errors(
        spec,
        &r::DEPENDS_ON_KNOWN_CONTAINER,
        with_value(
            &r::DEPENDS_ON_KNOWN_CONTAINER,
            "containerDefinitions[0].dependsOn[0].containerName",
            "db",
        ),
    );
}

/// "A container can contain multiple dependencies on other containers in a task definition."
#[test]
fn depends_on_itself() {
    let spec = app(
        td(json!({})),
        json!({"dependsOn": [{"containerName": "app", "condition": "START"}]}),
    );
    check_td(
        spec,
        &r::DEPENDS_ON_ITSELF,
        &["containerDefinitions[0].dependsOn[0].containerName"],
    );
}

/// The CRD's bound on dependsOn (`maxItems: 10`), which keeps CEL rule costs bounded.
#[test]
fn depends_on_at_most_ten() {
    let containers: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("c{i}"), "image": "i", "essential": false}))
        .collect();
    let deps: Vec<Value> = (0..11)
        .map(|i| json!({"containerName": format!("c{i}"), "condition": "START"}))
        .collect();
    let mut all = vec![json!({"name": "app", "image": "i", "dependsOn": deps})];
    all.extend(containers);
    let parsed: TaskDefinitionSpec =
        serde_json::from_value(td(json!({"containerDefinitions": all}))).unwrap();
    let errs = errors(validate::task_definition(&parsed));
    assert_eq!(
        errs,
        [
            expected(&r::AT_MOST_TEN_CONTAINERS, &["containerDefinitions"]),
            expected(
                &r::DEPENDS_ON_AT_MOST_TEN,
                &["containerDefinitions[0].dependsOn"]
            ),
        ]
        .concat()
    );
}

/// "When a dependency is defined for container startup, for container shutdown it is reversed."
/// (a cycle has no start order)
#[test]
fn dependency_cycle() {
    let spec = td(json!({"containerDefinitions": [
        {"name": "a", "image": "i", "dependsOn": [{"containerName": "b", "condition": "START"}]},
        {"name": "b", "image": "i", "dependsOn": [{"containerName": "a", "condition": "START"}]}
    ]}));
    check_td(
        spec,
        &r::DEPENDENCY_CYCLE,
        &[
            "containerDefinitions[0].dependsOn",
            "containerDefinitions[1].dependsOn",
        ],
    );
}

/// "COMPLETE - ... This condition can't be set on an essential container." (ClientException: A
/// dependency container with SUCCESS or COMPLETE condition cannot be an essential container)
#[test]
fn complete_or_success_on_essential() {
    let spec = td(json!({"containerDefinitions": [
        {"name": "app", "image": "i", "dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]},
        {"name": "migrate", "image": "i"}
    ]}));
    check_td(
        spec,
        &r::COMPLETE_OR_SUCCESS_ON_ESSENTIAL,
        &["containerDefinitions[0].dependsOn[0].containerName"],
    );
}

/// "The Docker 19.03.13-ce or earlier daemon reserves a minimum of 4 MiB of memory for a
/// container. So, don't specify less than 4 MiB of memory for your containers."
#[test]
fn container_memory_minimum() {
    let spec = app(td(json!({})), json!({"memory": 3, "memoryReservation": 2}));
    check_td(
        spec,
        &r::CONTAINER_MEMORY_MINIMUM,
        &[
            "containerDefinitions[0].memory",
            "containerDefinitions[0].memoryReservation",
        ],
    );
}

/// "If you specify both a container-level memory and memoryReservation value, memory must be
/// greater than memoryReservation." (ECS accepts equal values)
#[test]
fn memory_at_least_reservation() {
    let spec = app(
        td(json!({"memory": "1024"})),
        json!({"memory": 256, "memoryReservation": 512}),
    );
    check_td(
        spec,
        &r::MEMORY_AT_LEAST_RESERVATION,
        &["containerDefinitions[0].memory"],
    );
}

/// "If a task-level memory value is not specified, you must specify a non-zero integer for one or
/// both of memory or memoryReservation in a container definition."
#[test]
fn container_memory_required() {
    let mut spec = td(json!({"requiresCompatibilities": ["EC2"]}));
    spec.as_object_mut().unwrap().remove("memory");
    check_td(
        spec.clone(),
        &r::CONTAINER_MEMORY_REQUIRED,
        &["containerDefinitions[0].memory"],
    );
    // Without an explicit EC2 or EXTERNAL requirement, Tidewater does not require it.
    spec.as_object_mut()
        .unwrap()
        .remove("requiresCompatibilities");
    check_td(spec, &r::CONTAINER_MEMORY_REQUIRED, &[]);
}

/// "interval: ... You may specify between 5 and 300 seconds."
#[test]
fn health_check_interval() {
    let spec = app(
        td(json!({})),
        json!({"healthCheck": {"command": ["CMD", "true"], "interval": 2}}),
    );
    check_td(
        spec,
        &r::HEALTH_CHECK_INTERVAL,
        &["containerDefinitions[0].healthCheck.interval"],
    );
}

/// "timeout: ... You may specify between 2 and 60 seconds."
#[test]
fn health_check_timeout() {
    let spec = app(
        td(json!({})),
        json!({"healthCheck": {"command": ["CMD", "true"], "timeout": 61}}),
    );
    check_td(
        spec,
        &r::HEALTH_CHECK_TIMEOUT,
        &["containerDefinitions[0].healthCheck.timeout"],
    );
}

/// "retries: ... You may specify between 1 and 10 retries."
#[test]
fn health_check_retries() {
    let spec = app(
        td(json!({})),
        json!({"healthCheck": {"command": ["CMD", "true"], "retries": 0}}),
    );
    check_td(
        spec,
        &r::HEALTH_CHECK_RETRIES,
        &["containerDefinitions[0].healthCheck.retries"],
    );
}

/// "startPeriod: ... You can specify between 0 and 300 seconds."
#[test]
fn health_check_start_period() {
    let spec = app(
        td(json!({})),
        json!({"healthCheck": {"command": ["CMD", "true"], "startPeriod": 301}}),
    );
    check_td(
        spec,
        &r::HEALTH_CHECK_START_PERIOD,
        &["containerDefinitions[0].healthCheck.startPeriod"],
    );
}

/// "stopTimeout: ... For tasks that use the Fargate launch type, the max stop timeout value is
/// 120 seconds ... The valid values for Fargate are 2-120 seconds."
#[test]
fn fargate_stop_timeout() {
    check_td(
        app(fargate(json!({})), json!({"stopTimeout": 121})),
        &r::FARGATE_STOP_TIMEOUT,
        &["containerDefinitions[0].stopTimeout"],
    );
}

/// "startTimeout: ... The valid values for Fargate are 2-120 seconds."
#[test]
fn fargate_start_timeout() {
    check_td(
        app(fargate(json!({})), json!({"startTimeout": 1})),
        &r::FARGATE_START_TIMEOUT,
        &["containerDefinitions[0].startTimeout"],
    );
}

/// "links: ... This parameter is only supported if the network mode of a task definition is
/// bridge."
#[test]
fn links_only_in_bridge_mode() {
    let spec = td(json!({"networkMode": "awsvpc", "containerDefinitions": [
        {"name": "app", "image": "i", "links": ["db"]}, {"name": "db", "image": "i"}
    ]}));
    check_td(
        spec,
        &r::LINKS_ONLY_IN_BRIDGE_MODE,
        &["containerDefinitions[0].links"],
    );
}

/// "privileged: ... This parameter is not supported for Windows containers or tasks run on
/// Fargate."
#[test]
fn fargate_privileged() {
    check_td(
        app(fargate(json!({})), json!({"privileged": true})),
        &r::FARGATE_PRIVILEGED,
        &["containerDefinitions[0].privileged"],
    );
}

/// "If you're using tasks that use the Fargate launch type, the devices parameter isn't
/// supported." (likewise maxSwap, swappiness and sharedMemorySize)
#[test]
fn fargate_linux_parameters() {
    let spec = app(
        fargate(json!({})),
        json!({"linuxParameters": {"devices": [{"hostPath": "/dev/fuse"}]}}),
    );
    check_td(
        spec,
        &r::FARGATE_LINUX_PARAMETERS,
        &["containerDefinitions[0].linuxParameters"],
    );
}

/// "add: ... Tasks launched on Fargate only support adding the SYS_PTRACE kernel capability."
#[test]
fn fargate_capabilities() {
    let spec = app(
        fargate(json!({})),
        json!({"linuxParameters": {"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}}}),
    );
    check_td(
        spec,
        &r::FARGATE_CAPABILITIES,
        &["containerDefinitions[0].linuxParameters.capabilities.add[1]"],
    );
}

/// "swappiness: ... Accepted values are whole numbers between 0 and 100."
#[test]
fn swappiness_range() {
    let spec = app(
        td(json!({})),
        json!({"linuxParameters": {"maxSwap": 512, "swappiness": 101}}),
    );
    check_td(
        spec,
        &r::SWAPPINESS_RANGE,
        &["containerDefinitions[0].linuxParameters.swappiness"],
    );
}

/// "maxSwap: ... Accepted values are 0 or any positive integer."
#[test]
fn max_swap_not_negative() {
    let spec = app(td(json!({})), json!({"linuxParameters": {"maxSwap": -1}}));
    check_td(
        spec,
        &r::MAX_SWAP_NOT_NEGATIVE,
        &["containerDefinitions[0].linuxParameters.maxSwap"],
    );
}

/// "options: ... awslogs-region Required: Yes ... awslogs-group Required: Yes" (ClientException:
/// Log driver awslogs requires options: awslogs-region, awslogs-group)
#[test]
fn awslogs_required_options() {
    let spec = app(
        td(json!({})),
        json!({"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app"}}}),
    );
    check_td(
        spec,
        &r::AWSLOGS_REQUIRED_OPTIONS,
        &["containerDefinitions[0].logConfiguration.options"],
    );
}

/// "options: ... awslogs-stream-prefix Required: Yes, when using Fargate.Optional when using EC2."
#[test]
fn fargate_awslogs_stream_prefix() {
    let options = json!({"awslogs-group": "/ecs/app", "awslogs-region": "eu-west-1"});
    let spec = app(
        fargate(json!({})),
        json!({"logConfiguration": {"logDriver": "awslogs", "options": options}}),
    );
    check_td(
        spec,
        &r::FARGATE_AWSLOGS_STREAM_PREFIX,
        &["containerDefinitions[0].logConfiguration.options"],
    );
}

/// "sourceVolume: The name of the volume to mount. Must be a volume name referenced in the name
/// parameter of task definition volume."
#[test]
fn mount_point_known_volume() {
    let spec = app(
        td(json!({})),
        json!({"mountPoints": [{"sourceVolume": "data", "containerPath": "/d"}]}),
    );
    check_td_errors(
        spec,
        &r::MOUNT_POINT_KNOWN_VOLUME,
        with_value(
            &r::MOUNT_POINT_KNOWN_VOLUME,
            "containerDefinitions[0].mountPoints[0].sourceVolume",
            "data",
        ),
    );
}

/// "sourceContainer: The name of another container within the same task definition to mount
/// volumes from."
#[test]
fn volumes_from_known_container() {
    let spec = app(
        td(json!({})),
        json!({"volumesFrom": [{"sourceContainer": "db"}]}),
    );
    check_td_errors(
        spec,
        &r::VOLUMES_FROM_KNOWN_CONTAINER,
        with_value(
            &r::VOLUMES_FROM_KNOWN_CONTAINER,
            "containerDefinitions[0].volumesFrom[0].sourceContainer",
            "db",
        ),
    );
}

// ------------------------------------------------------------------------------------------
// RegisterTaskDefinition: port mappings

/// "containerPort: The port number on the container that's bound to the user-specified or
/// automatically assigned host port." (a mapping maps a container port or range)
#[test]
fn port_mapping_needs_container_port() {
    let spec = app(td(json!({})), json!({"portMappings": [{"hostPort": 8080}]}));
    check_td(
        spec,
        &r::PORT_MAPPING_NEEDS_CONTAINER_PORT,
        &["containerDefinitions[0].portMappings[0]"],
    );
}

/// "containerPortRange: The port number range on the container that's bound to the dynamically
/// mapped host port range."
#[test]
fn container_port_range_format() {
    let spec = app(
        td(json!({})),
        json!({"portMappings": [{"containerPortRange": "8000:8010"}]}),
    );
    check_td_errors(
        spec,
        &r::CONTAINER_PORT_RANGE_FORMAT,
        with_value(
            &r::CONTAINER_PORT_RANGE_FORMAT,
            "containerDefinitions[0].portMappings[0].containerPortRange",
            "8000:8010",
        ),
    );
}

/// "The containerPortRange valid values are between 1 and 65535. ... The first port in the range
/// must be less than last port in the range."
#[test]
fn container_port_range_order() {
    let spec = app(
        td(json!({})),
        json!({"portMappings": [{"containerPortRange": "8010-8000"}]}),
    );
    check_td_errors(
        spec,
        &r::CONTAINER_PORT_RANGE_ORDER,
        with_value(
            &r::CONTAINER_PORT_RANGE_ORDER,
            "containerDefinitions[0].portMappings[0].containerPortRange",
            "8010-8000",
        ),
    );
}

/// "You must use either the bridge network mode or the awsvpc network mode." (containerPortRange)
#[test]
fn container_port_range_network_mode() {
    let spec = app(
        td(json!({"networkMode": "host"})),
        json!({"portMappings": [{"containerPortRange": "8000-8010"}]}),
    );
    check_td(
        spec,
        &r::CONTAINER_PORT_RANGE_NETWORK_MODE,
        &["containerDefinitions[0].portMappings[0].containerPortRange"],
    );
}

/// "For task definitions that use the awsvpc network mode, only specify the containerPort. The
/// hostPort can be left blank or it must be the same value as the containerPort."
#[test]
fn awsvpc_host_port() {
    let spec = app(
        td(json!({"networkMode": "awsvpc"})),
        json!({"portMappings": [{"containerPort": 80, "hostPort": 8080}]}),
    );
    check_td(
        spec,
        &r::AWSVPC_HOST_PORT,
        &["containerDefinitions[0].portMappings[0].hostPort"],
    );
}

/// "If the network mode of a task definition is set to host, then host ports must either be
/// undefined or they must match the container port in the port mapping."
#[test]
fn host_mode_host_port() {
    let spec = app(
        td(json!({"networkMode": "host"})),
        json!({"portMappings": [{"containerPort": 80, "hostPort": 8080}]}),
    );
    check_td(
        spec,
        &r::HOST_MODE_HOST_PORT,
        &["containerDefinitions[0].portMappings[0].hostPort"],
    );
}

/// "If the network mode of a task definition is set to none, then you can't specify port
/// mappings."
#[test]
fn no_port_mappings_in_none_mode() {
    let spec = app(
        td(json!({"networkMode": "none"})),
        json!({"portMappings": [{"containerPort": 80}]}),
    );
    check_td(
        spec,
        &r::NO_PORT_MAPPINGS_IN_NONE_MODE,
        &["containerDefinitions[0].portMappings"],
    );
}

/// "You can't expose the same container port for multiple protocols. If you attempt this, an
/// error is returned."
#[test]
fn container_port_one_protocol() {
    let spec = app(
        td(json!({})),
        json!({"portMappings": [
            {"containerPort": 53, "protocol": "tcp"}, {"containerPort": 53, "protocol": "udp"}
        ]}),
    );
    check_td(
        spec,
        &r::CONTAINER_PORT_ONE_PROTOCOL,
        &["containerDefinitions[0].portMappings[1].containerPort"],
    );
}

/// The CRD's port bounds (`maximum: 65535`): port numbers are 16 bits.
#[test]
fn port_number_range() {
    let spec = app(
        td(json!({})),
        json!({"portMappings": [{"containerPort": 70000}]}),
    );
    check_td(
        spec,
        &r::PORT_NUMBER_RANGE,
        &["containerDefinitions[0].portMappings[0].containerPort"],
    );
}

/// "You can specify a maximum of 100 port ranges per container."
#[test]
fn port_mappings_at_most_100() {
    let mappings: Vec<Value> = (1..=101).map(|p| json!({"containerPort": p})).collect();
    let spec = app(td(json!({})), json!({"portMappings": mappings}));
    check_td(
        spec,
        &r::PORT_MAPPINGS_AT_MOST_100,
        &["containerDefinitions[0].portMappings"],
    );
}

// ------------------------------------------------------------------------------------------
// CreateService

fn svc(fields: Value) -> Value {
    merge_into(json!({"taskDefinition": "web"}), fields)
}

/// "serviceName: ... Up to 255 letters (uppercase and lowercase), numbers, underscores, and
/// hyphens are allowed."
#[test]
fn service_name() {
    check_service_errors(
        svc(json!({"serviceName": "web app"})),
        &r::SERVICE_NAME,
        with_value(&r::SERVICE_NAME, "serviceName", "web app"),
    );
}

/// "desiredCount: The number of instantiations of the specified task definition to place and
/// keep running in your service." (a number of tasks is not negative)
#[test]
fn desired_count_not_negative() {
    check_service(
        svc(json!({"desiredCount": -1})),
        &r::DESIRED_COUNT_NOT_NEGATIVE,
        &["desiredCount"],
    );
}

/// "desiredCount: ... If schedulingStrategy is DAEMON then this isn't required." (ECS:
/// InvalidParameterException: The daemon scheduling strategy does not support a desired count
/// for services.)
#[test]
fn daemon_desired_count() {
    check_service(
        svc(json!({"schedulingStrategy": "DAEMON", "desiredCount": 2})),
        &r::DAEMON_DESIRED_COUNT,
        &["desiredCount"],
    );
}

/// "The daemon scheduling strategy does not support values above 100 for maximumPercent on a
/// deployment configuration." (ECS InvalidParameterException)
#[test]
fn daemon_maximum_percent() {
    let spec = svc(
        json!({"schedulingStrategy": "DAEMON", "deploymentConfiguration": {"maximumPercent": 200}}),
    );
    check_service(
        spec,
        &r::DAEMON_MAXIMUM_PERCENT,
        &["deploymentConfiguration.maximumPercent"],
    );
}

/// "Tasks using the Fargate launch type or the CODE_DEPLOY or EXTERNAL deployment controller
/// types don't support the DAEMON scheduling strategy."
#[test]
fn daemon_fargate() {
    check_service(
        svc(json!({"schedulingStrategy": "DAEMON", "launchType": "FARGATE"})),
        &r::DAEMON_FARGATE,
        &["schedulingStrategy"],
    );
}

/// "Tasks using the Fargate launch type or the CODE_DEPLOY or EXTERNAL deployment controller
/// types don't support the DAEMON scheduling strategy."
#[test]
fn daemon_deployment_controller() {
    let spec =
        svc(json!({"schedulingStrategy": "DAEMON", "deploymentController": {"type": "EXTERNAL"}}));
    check_service(
        spec,
        &r::DAEMON_DEPLOYMENT_CONTROLLER,
        &["schedulingStrategy"],
    );
}

/// "The deployment circuit breaker can only be used for services using the rolling update (ECS)
/// deployment type."
#[test]
fn circuit_breaker_rolling_update_only() {
    let spec = svc(json!({"deploymentController": {"type": "CODE_DEPLOY"},
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}}));
    check_service(
        spec,
        &r::CIRCUIT_BREAKER_ROLLING_UPDATE_ONLY,
        &["deploymentConfiguration.deploymentCircuitBreaker"],
    );
}

/// "A service can use either a launch type or a capacity provider strategy. If a launchType is
/// specified, the capacityProviderStrategy parameter must be omitted."
#[test]
fn launch_type_or_capacity_providers() {
    let spec = svc(
        json!({"launchType": "FARGATE", "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}),
    );
    check_service(spec, &r::LAUNCH_TYPE_OR_CAPACITY_PROVIDERS, &["launchType"]);
}

/// "When you're using this strategy [DAEMON], you don't need to specify a desired number of
/// tasks, a task placement strategy, or use Service Auto Scaling policies."
#[test]
fn daemon_auto_scaling() {
    let spec = svc(
        json!({"schedulingStrategy": "DAEMON", "autoScaling": {"scalableTarget": {"MinCapacity": 1, "MaxCapacity": 2}}}),
    );
    check_service(spec, &r::DAEMON_AUTO_SCALING, &["autoScaling"]);
}

/// Application Auto Scaling RegisterScalableTarget: "MaxCapacity: The maximum value that you
/// plan to scale out to." (above MinCapacity, "the minimum value that you plan to scale in to")
#[test]
fn min_capacity_at_most_max() {
    let spec =
        svc(json!({"autoScaling": {"scalableTarget": {"MinCapacity": 3, "MaxCapacity": 2}}}));
    check_service(
        spec,
        &r::MIN_CAPACITY_AT_MOST_MAX,
        &["autoScaling.scalableTarget.MinCapacity"],
    );
}

/// "A capacity provider strategy can contain a maximum of 20 capacity providers."
#[test]
fn capacity_provider_strategy_size() {
    let items: Vec<Value> = (0..21)
        .map(|i| json!({"capacityProvider": format!("cp{i}"), "weight": 1}))
        .collect();
    check_service(
        svc(json!({"capacityProviderStrategy": items})),
        &r::CAPACITY_PROVIDER_STRATEGY_SIZE,
        &["capacityProviderStrategy"],
    );
}

/// "base: ... The valid range is 0 to 100,000"
#[test]
fn capacity_provider_base_range() {
    let spec = svc(
        json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 100001, "weight": 1}]}),
    );
    check_service(
        spec,
        &r::CAPACITY_PROVIDER_BASE_RANGE,
        &["capacityProviderStrategy[0].base"],
    );
}

/// "weight: ... The valid range is 0 to 1,000"
#[test]
fn capacity_provider_weight_range() {
    let spec =
        svc(json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1001}]}));
    check_service(
        spec,
        &r::CAPACITY_PROVIDER_WEIGHT_RANGE,
        &["capacityProviderStrategy[0].weight"],
    );
}

/// "Only one capacity provider in a strategy can have a base defined"
#[test]
fn one_capacity_provider_base() {
    let spec = svc(json!({"capacityProviderStrategy": [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
        {"capacityProvider": "FARGATE_SPOT", "base": 2, "weight": 1}
    ]}));
    check_service(
        spec,
        &r::ONE_CAPACITY_PROVIDER_BASE,
        &["capacityProviderStrategy[1].base"],
    );
}

fn with_task_definition(spec: Value) -> Vec<ValidationError> {
    let service: ServiceSpec = serde_json::from_value(spec).unwrap();
    let task: TaskDefinitionSpec = serde_json::from_value(app(
        td(json!({"networkMode": "awsvpc"})),
        json!({"portMappings": [{"containerPort": 8080}]}),
    ))
    .unwrap();
    errors(validate::service_with_task_definition(&service, &task))
}

/// "containerName: The name of the container (as it appears in a container definition) to
/// associate with the load balancer."
#[test]
fn load_balancer_container() {
    let spec = svc(
        json!({"loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 8080}]}),
    );
    assert_eq!(
        with_task_definition(spec),
        with_value(
            &r::LOAD_BALANCER_CONTAINER,
            "loadBalancers[0].containerName",
            "web"
        )
    );
}

/// "containerPort: ... This port must correspond to a containerPort in the task definition the
/// tasks in the service are using." (ECS: The container app did not have a container port 80
/// defined.)
#[test]
fn load_balancer_container_port() {
    let spec = svc(
        json!({"loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 80}]}),
    );
    assert_eq!(
        with_task_definition(spec),
        expected(
            &r::LOAD_BALANCER_CONTAINER_PORT,
            &["loadBalancers[0].containerPort"]
        )
    );
    let ok = svc(
        json!({"loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 8080}]}),
    );
    assert_eq!(with_task_definition(ok), vec![]);
}

// ------------------------------------------------------------------------------------------
// RunTask and CreateCluster

/// "count: The number of instantiations of the specified task to place on your cluster. You can
/// specify up to 10 tasks for each call."
#[test]
fn run_task_count() {
    check_task(
        json!({"taskDefinition": "job", "count": 11}),
        &r::RUN_TASK_COUNT,
        &["count"],
    );
}

/// "A task can use either a launch type or a capacity provider strategy. If a launchType is
/// specified, the capacityProviderStrategy parameter must be omitted."
#[test]
fn run_task_launch_type_or_capacity_providers() {
    let spec = json!({"taskDefinition": "job", "launchType": "EC2", "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]});
    check_task(
        spec,
        &r::RUN_TASK_LAUNCH_TYPE_OR_CAPACITY_PROVIDERS,
        &["launchType"],
    );
}

/// "name: The name of the container that receives the override." (a container of the task
/// definition run)
#[test]
fn container_override_known_container() {
    let run: TaskSpec = serde_json::from_value(json!({"taskDefinition": "job",
        "overrides": {"containerOverrides": [{"name": "worker", "command": ["x"]}]}}))
    .unwrap();
    let task: TaskDefinitionSpec = serde_json::from_value(td(json!({}))).unwrap();
    assert_eq!(
        errors(validate::task_with_task_definition(&run.run, &task)),
        with_value(
            &r::CONTAINER_OVERRIDE_KNOWN_CONTAINER,
            "overrides.containerOverrides[0].name",
            "worker"
        )
    );
}

/// "clusterName: ... Up to 255 letters (uppercase and lowercase), numbers, underscores, and
/// hyphens are allowed."
#[test]
fn cluster_name() {
    let spec: ClusterSpec = serde_json::from_value(json!({"clusterName": "prod/eu"})).unwrap();
    assert_eq!(
        errors(validate::cluster(&spec)),
        with_value(&r::CLUSTER_NAME, "clusterName", "prod/eu")
    );
}

// ------------------------------------------------------------------------------------------
// The rules as a whole

/// Every CEL rule the CRDs declare, on a spec or below it, is a [`Rule`] of the validation module
/// (same expression, same message), so `render` checks it too; each rule below a spec is declared
/// on its node.
#[test]
fn every_cel_rule_of_the_crds_has_a_rust_twin() {
    let twins: Vec<(&str, &str)> = validate::all_rules()
        .into_iter()
        .filter_map(|r| match r.admission {
            Admission::Cel(expr) | Admission::CelOn { rule: expr, .. } => Some((expr, r.message)),
            _ => None,
        })
        .collect();
    fn declared_rules<'a>(schema: &'a Value, out: &mut Vec<&'a Value>) {
        match schema {
            Value::Object(m) => {
                out.extend(
                    m.get("x-kubernetes-validations")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
                m.values().for_each(|v| declared_rules(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| declared_rules(v, out)),
            _ => {}
        }
    }
    let mut declared = 0;
    for crd in tidewater::api::crds() {
        let crd = serde_json::to_value(&crd).unwrap();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let mut rules = Vec::new();
        declared_rules(spec, &mut rules);
        for rule in rules {
            let (expr, message) = (
                rule["rule"].as_str().unwrap(),
                rule["message"].as_str().unwrap(),
            );
            if expr == "self == oldSelf" {
                continue; // Task immutability: a Kubernetes rule, not an ECS one
            }
            assert!(
                twins.contains(&(expr, message)),
                "no Rust twin for CEL rule {message:?}"
            );
            declared += 1;
        }
    }
    let cel_rules = twins.len();
    assert_eq!(
        declared, cel_rules,
        "every CEL rule of the module is declared on a CRD"
    );
    // Rules below a spec are the TaskDefinition's (`Admission::CelOn`).
    let crd = tidewater::api::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "TaskDefinition")
        .map(|c| serde_json::to_value(c).unwrap())
        .unwrap();
    for rule in validate::all_rules() {
        if let Admission::CelOn { node, rule: expr } = rule.admission {
            let mut at =
                &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
            for field in node.split('.') {
                at = match field.strip_suffix("[]") {
                    Some(list) => &at["properties"][list]["items"],
                    None => &at["properties"][field],
                };
            }
            assert!(
                at["x-kubernetes-validations"]
                    .as_array()
                    .is_some_and(|rules| rules.iter().any(|r| r["rule"] == expr)),
                "{} is not declared on {node}",
                rule.name
            );
        }
    }
}

/// Every rule has a test named after it, in this file.
#[test]
fn every_rule_has_its_test() {
    let source = include_str!("ecs_rules_validation.rs");
    for rule in validate::all_rules() {
        assert!(
            source.contains(&format!("fn {}()", rule.name)),
            "no test `{}`",
            rule.name
        );
    }
}

/// Each invalid fixture is rejected by `render` too, at the apiserver's message for CEL rules.
#[test]
fn invalid_fixtures_are_rejected_by_render() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid");
    let files = render::collect_files(&[dir]).unwrap();
    assert!(files.len() >= 40, "only {} fixtures", files.len());
    let cel: Vec<&str> = validate::all_rules().iter().map(|r| r.message).collect();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let expect = text
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("# expect: ")
            .to_string();
        let out = render::render_files(std::slice::from_ref(&file), None);
        assert!(
            !out.errors.is_empty(),
            "{}: rendered without error",
            file.display()
        );
        if cel.iter().any(|m| m.contains(&expect)) {
            assert!(
                out.errors.iter().any(|e| e.message.contains(&expect)),
                "{}: expected {expect:?}, got {:?}",
                file.display(),
                out.errors
            );
        }
    }
}

/// A wrong type names the exact JSON path, inside the flattened ECS request too.
#[test]
fn a_wrong_type_names_its_json_path() {
    let doc = json!({"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "TaskDefinition",
        "metadata": {"name": "web"},
        "spec": {"containerDefinitions": [{"name": "app", "image": "nginx", "cpu": "abc"}]}});
    let out = render::render_documents(&[("web.yaml".into(), doc)], None);
    assert_eq!(
        out.errors,
        vec![render::InputError {
            file: "web.yaml".into(),
            path: "spec.containerDefinitions[0].cpu".into(),
            message: "invalid type: string \"abc\", expected i32".into(),
        }]
    );
}

/// A number out of range says so, at its path.
#[test]
fn a_number_out_of_range_names_its_json_path() {
    let doc =
        json!({"serviceName": "web", "taskDefinition": "web", "desiredCount": 3_000_000_000u64});
    let out = render::render_documents(&[("svc.json".into(), doc)], None);
    assert_eq!(
        out.errors,
        vec![render::InputError {
            file: "svc.json".into(),
            path: "desiredCount".into(),
            message: "invalid value: integer `3000000000`, expected i32".into(),
        }]
    );
}
