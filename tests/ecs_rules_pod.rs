//! ECS rules of the pod template: what a task definition's containers become, one test per
//! rule, each quoting the ECS documentation sentence it enforces and asserting whole objects
//! (every container's full `resources`, full probes, the container lists).

use serde_json::{Value, json};
use std::path::Path;
use tidewater::api::ecs::RunTaskRequest;
use tidewater::api::quantity::TaskSize;
use tidewater::api::scheduled_task::ScheduledTaskSpec;
use tidewater::api::service::ServiceSpec;
use tidewater::api::task_definition::TaskDefinitionSpec;
use tidewater::render::{self, Resource};
use tidewater::translate::scheduled_task;
use tidewater::translate::service::{self, ServiceInput};
use tidewater::translate::task::{self, RunInput};
use tidewater::translate::task_definition::{PodContext, pod_template};
use tidewater::translate::{Object, Warning, Warnings};

fn td(v: Value) -> TaskDefinitionSpec {
    serde_json::from_value(v).expect("task definition parses")
}

/// The pod spec (as JSON) and warnings of a task definition run by a Service.
fn render_pod(spec: &TaskDefinitionSpec, ctx: &PodContext<'_>) -> (Value, Vec<Warning>) {
    let mut w = Warnings::default();
    let build = pod_template(spec, ctx, &mut w);
    let spec = serde_json::to_value(build.template.spec.unwrap()).unwrap();
    (spec, w.into_vec())
}

fn service_ctx() -> PodContext<'static> {
    PodContext {
        family: "f".into(),
        service_account: "f".into(),
        ..PodContext::default()
    }
}

/// `name → resources` of every container (init containers included).
fn resources(spec: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for list in ["initContainers", "containers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            out.insert(c["name"].as_str().unwrap().into(), c["resources"].clone());
        }
    }
    Value::Object(out)
}

fn container<'a>(spec: &'a Value, name: &str) -> &'a Value {
    ["initContainers", "containers"]
        .iter()
        .flat_map(|l| spec[*l].as_array().into_iter().flatten())
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

fn names(spec: &Value, list: &str) -> Vec<String> {
    spec[list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn warning_at<'a>(w: &'a [Warning], path: &str) -> &'a Warning {
    w.iter()
        .find(|w| w.path == path)
        .unwrap_or_else(|| panic!("no warning at {path}: {w:#?}"))
}

// "The number of CPU units used by the task." / "The amount (in MiB) of memory used by the
// task." (RegisterTaskDefinition cpu, memory) and "the only requirement is that the total amount
// of CPU reserved for all containers within a task be lower than the task-level cpu value"
// (ContainerDefinition cpu): the task size is one total the containers share, so the pod
// reserves exactly the task size, never once per container. CPU is shared in proportion to the
// CPU shares ECS gives the containers: "Linux containers share unallocated CPU units with other
// containers on the container instance with the same ratio as their allocated amount" and "Null,
// zero, and CPU values of 1 are passed to Docker as 2" (512 : 2 : 2 here); memory by
// reservation, the containers without one sharing the rest.
#[test]
fn task_size_is_a_total_shared_by_the_containers() {
    let spec = td(json!({
        "family": "f", "cpu": "1024", "memory": "2048",
        "containerDefinitions": [
            {"name": "app", "image": "app", "cpu": 512, "memory": 1024},
            {"name": "log", "image": "log", "essential": false},
            {"name": "xray", "image": "xray", "essential": false}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(
        resources(&pod),
        json!({
            "app": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "993m", "memory": "1Gi"}},
            "log": {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "4m", "memory": "512Mi"}},
            "xray": {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "3m", "memory": "512Mi"}}
        })
    );
    assert_eq!(
        warning_at(&w, "memory").message,
        "the task size (2048 MiB) is shared out as the containers' requests (app 1024, log 512, xray 512 MiB): containers without their own memory (log, xray) share what the others leave, in equal parts rounded to whole units; each container is limited to its own memory or the task size, but Kubernetes cannot cap the containers together at the task size without pod-level resources (not used), so together they may use up to 5120 MiB"
    );
    assert!(w.iter().any(|w| w.path == "cpu"));
}

// "If you specify memoryReservation, then that value is subtracted from the available memory
// resources for the container instance where the container is placed. Otherwise, the value of
// memory is used." (ContainerDefinition memoryReservation): a single container reserves the
// whole task; its memoryReservation is what it reserves inside it, memory its hard limit.
#[test]
fn a_single_container_reserves_the_whole_task_within_its_hard_limit() {
    let spec = td(json!({
        "family": "f", "cpu": "512", "memory": "1024",
        "containerDefinitions": [{"name": "app", "image": "app", "cpu": 128, "memoryReservation": 256}]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(
        resources(&pod),
        json!({"app": {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}}})
    );
    assert!(w.is_empty(), "{w:#?}");
    let hard = td(json!({
        "family": "f", "cpu": "512", "memory": "1024",
        "containerDefinitions": [{"name": "app", "image": "app", "memory": 256}]
    }));
    let (pod, w) = render_pod(&hard, &service_ctx());
    assert_eq!(
        resources(&pod),
        json!({"app": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "500m", "memory": "256Mi"}}})
    );
    assert_eq!(
        warning_at(&w, "memory").message,
        "the task size (1024 MiB) is shared out as the containers' requests (app 256 MiB): the containers' memory limits allow only 256 MiB, so the pod reserves that much"
    );
}

// "COMPLETE - This condition validates that a dependent container runs to completion (exits)
// before permitting other containers to start." (ContainerDependency condition): a container
// that has exited no longer uses the task's resources, so an init container reserves what the
// sidecars running alongside it leave, and its request is not added to the others'.
#[test]
fn a_run_to_completion_container_reserves_what_runs_alongside_it_leaves() {
    let spec = td(json!({
        "family": "f", "cpu": "1024", "memory": "2048",
        "containerDefinitions": [
            {"name": "app", "image": "app", "dependsOn": [
                {"containerName": "proxy", "condition": "START"},
                {"containerName": "migrate", "condition": "SUCCESS"}]},
            {"name": "proxy", "image": "proxy", "cpu": 256, "memory": 512},
            {"name": "migrate", "image": "app", "essential": false,
             "dependsOn": [{"containerName": "proxy", "condition": "START"}]}
        ]
    }));
    let (pod, _) = render_pod(&spec, &service_ctx());
    assert_eq!(names(&pod, "initContainers"), ["proxy", "migrate"]);
    assert_eq!(
        resources(&pod),
        json!({
            "proxy": {"limits": {"cpu": "1", "memory": "512Mi"}, "requests": {"cpu": "993m", "memory": "512Mi"}},
            "migrate": {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "7m", "memory": "1536Mi"}},
            "app": {"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "7m", "memory": "1536Mi"}}
        })
    );
}

/// Kubernetes' effective request of a pod: the larger of the long-running containers' sum and
/// each init container with the sidecars started before it.
fn effective_request(spec: &Value, key: &str, parse: fn(&str) -> u64) -> u64 {
    let request = |c: &Value| c["resources"]["requests"][key].as_str().map_or(0, parse);
    let mut sidecars = 0;
    let mut peak = 0;
    for c in spec["initContainers"].as_array().into_iter().flatten() {
        if c["restartPolicy"] == "Always" {
            sidecars += request(c);
        } else {
            peak = peak.max(sidecars + request(c));
        }
    }
    let running = sidecars
        + spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(request)
            .sum::<u64>();
    running.max(peak)
}

/// The memory limits of the long-running containers, summed (MiB).
fn running_memory_limits(spec: &Value) -> u64 {
    let lists = [("initContainers", true), ("containers", false)];
    lists
        .iter()
        .flat_map(|(l, sidecars_only)| {
            spec[*l]
                .as_array()
                .into_iter()
                .flatten()
                .filter(move |c| !sidecars_only || c["restartPolicy"] == "Always")
        })
        .map(|c| c["resources"]["limits"]["memory"].as_str().map_or(0, mib))
        .sum()
}

fn millicores(q: &str) -> u64 {
    match q.strip_suffix('m') {
        Some(m) => m.parse().unwrap(),
        None => q.parse::<u64>().unwrap() * 1000,
    }
}

fn mib(q: &str) -> u64 {
    match q.strip_suffix("Gi") {
        Some(g) => g.parse::<u64>().unwrap() * 1024,
        None => q.strip_suffix("Mi").unwrap().parse().unwrap(),
    }
}

// "The number of CPU units used by the task." / "The amount (in MiB) of memory used by the
// task." (RegisterTaskDefinition cpu, memory): over every real task definition of the corpus,
// the pod reserves exactly the task size (memory: unless the containers' hard limits allow
// less, which the pod cannot reserve).
#[test]
fn every_corpus_pod_reserves_exactly_the_task_size() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/taskdefs");
    let mut sized = 0;
    for file in render::collect_files(&[dir]).unwrap() {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.display().to_string();
        for doc in render::documents(&name, &text).unwrap() {
            for (resource, _) in render::recognise(&name, &doc).unwrap() {
                let Resource::TaskDefinition { spec, .. } = resource else {
                    continue;
                };
                let (pod, _) = render_pod(&spec, &service_ctx());
                let reg = &spec.register;
                let cpu = reg.cpu.as_ref().and_then(TaskSize::cpu_units);
                let memory = reg.memory.as_ref().and_then(TaskSize::memory_mib);
                if let Some(units) = cpu.filter(|u| *u > 0) {
                    let task = (units * 1000).div_ceil(1024);
                    assert_eq!(effective_request(&pod, "cpu", millicores), task, "{name}");
                    sized += 1;
                }
                if let Some(task) = memory.filter(|m| *m > 0) {
                    let reservable = task.min(running_memory_limits(&pod));
                    assert_eq!(effective_request(&pod, "memory", mib), reservable, "{name}");
                }
            }
        }
    }
    assert!(
        sized >= 10,
        "only {sized} corpus task definitions with a task size"
    );
}

// "The number of times to retry a failed health check before the container is considered
// unhealthy." (HealthCheck retries) and "If a health check succeeds within the startPeriod, then
// the container is considered healthy and any subsequent failures count toward the maximum
// number of retries." (HealthCheck startPeriod): readiness and liveness fail after `retries`
// failures; the start period is a startup probe, which a success ends.
#[test]
fn retries_consecutive_failures_make_a_container_unhealthy() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [{"name": "app", "image": "app", "memory": 512, "healthCheck": {
            "command": ["CMD", "/bin/check"], "interval": 10, "timeout": 2, "retries": 4, "startPeriod": 25}}]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    let probe = |threshold: i32| json!({"exec": {"command": ["/bin/check"]}, "failureThreshold": threshold, "periodSeconds": 10, "timeoutSeconds": 2});
    let app = container(&pod, "app");
    assert_eq!(app["readinessProbe"], probe(4));
    assert_eq!(app["livenessProbe"], probe(4));
    assert_eq!(app["startupProbe"], probe(3 + 4));
    assert!(w.is_empty(), "{w:#?}");
}

// "The health status for the task. It's determined by the health of the essential containers
// in the task." (Task healthStatus) and "UNHEALTHY-One or more essential containers have failed
// their health check." (HealthCheck): a non-essential container's health check neither takes
// the pod out of endpoints nor restarts it.
#[test]
fn only_essential_containers_decide_task_health() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [
            {"name": "app", "image": "app", "memory": 512},
            {"name": "agent", "image": "agent", "memory": 128, "essential": false,
             "healthCheck": {"command": ["CMD-SHELL", "agent health"]}}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(
        container(&pod, "agent"),
        &json!({"image": "agent", "name": "agent",
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "128Mi"}}})
    );
    assert_eq!(
        warning_at(&w, "containerDefinitions[1].healthCheck").message,
        "the health of a non-essential container does not count toward the task's: it gets no probe (its health status is not reported)"
    );
}

// "If a task is run manually, and not as part of a service, the task will continue its
// lifecycle regardless of its health status." (HealthCheck): the pods of a Task get no liveness
// (nor a startup probe, which also restarts); readiness still shows the health.
#[test]
fn a_standalone_task_keeps_running_whatever_its_health() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [{"name": "app", "image": "app", "memory": 512, "healthCheck": {
            "command": ["CMD", "/bin/check"], "startPeriod": 60}}]
    }));
    let run: RunTaskRequest = serde_json::from_value(json!({"taskDefinition": "f"})).unwrap();
    let t = task::translate(RunInput {
        name: "job",
        run: &run,
        task_definition_name: "f",
        task_definition: &spec,
        revision: Some(1),
        cluster: None,
    });
    let Some(Object::Pod(p)) = t.objects.first() else {
        panic!("no pod: {:?}", t.objects)
    };
    let pod = serde_json::to_value(p.spec.as_ref().unwrap()).unwrap();
    let app = container(&pod, "app");
    assert_eq!(app.get("livenessProbe"), None);
    assert_eq!(app.get("startupProbe"), None);
    assert_eq!(
        app["readinessProbe"],
        json!({"exec": {"command": ["/bin/check"]}, "failureThreshold": 3, "periodSeconds": 30, "timeoutSeconds": 5})
    );
    assert_eq!(pod["restartPolicy"], "Never");

    // A ScheduledTask runs the same standalone tasks.
    let scheduled: ScheduledTaskSpec = serde_json::from_value(
        json!({"scheduleExpression": "rate(1 hour)", "taskDefinition": "f"}),
    )
    .unwrap();
    let t = scheduled_task::translate(
        &scheduled,
        RunInput {
            name: "nightly",
            run: &scheduled.run,
            task_definition_name: "f",
            task_definition: &spec,
            revision: Some(1),
            cluster: None,
        },
    )
    .unwrap();
    let Some(Object::CronJob(cj)) = t.objects.first() else {
        panic!("no cronjob: {:?}", t.objects)
    };
    let job = cj
        .spec
        .as_ref()
        .unwrap()
        .job_template
        .spec
        .as_ref()
        .unwrap();
    let cron_pod = serde_json::to_value(job.template.spec.as_ref().unwrap()).unwrap();
    assert_eq!(container(&cron_pod, "app"), app);
}

// "The period of time, in seconds, that the Amazon ECS service scheduler ignores unhealthy
// Elastic Load Balancing, VPC Lattice, and container health checks after a task has first
// started." (CreateService healthCheckGracePeriodSeconds): liveness is held back for the whole
// period (initialDelaySeconds), not only until a first success; reported because the delay
// applies after every container start.
#[test]
fn grace_period_ignores_health_check_failures_for_the_whole_period() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [{"name": "app", "image": "app", "memory": 512, "healthCheck": {
            "command": ["CMD", "/bin/check"], "interval": 10}}]
    }));
    let svc: ServiceSpec =
        serde_json::from_value(json!({"taskDefinition": "f", "healthCheckGracePeriodSeconds": 60}))
            .unwrap();
    let t = service::translate(ServiceInput {
        name: "web",
        spec: &svc,
        task_definition_name: "f",
        task_definition: &spec,
        revision: Some(1),
        cluster: None,
    });
    let Some(Object::Deployment(d)) = t
        .objects
        .iter()
        .find(|o| matches!(o, Object::Deployment(_)))
    else {
        panic!("no deployment")
    };
    let pod =
        serde_json::to_value(d.spec.as_ref().unwrap().template.spec.as_ref().unwrap()).unwrap();
    let app = container(&pod, "app");
    let probe =
        json!({"exec": {"command": ["/bin/check"]}, "periodSeconds": 10, "timeoutSeconds": 5});
    let with = |extra: Value| {
        let mut p = probe.clone();
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    assert_eq!(
        app["livenessProbe"],
        with(json!({"failureThreshold": 3, "initialDelaySeconds": 60}))
    );
    assert_eq!(
        app["startupProbe"],
        with(json!({"failureThreshold": 6 + 3}))
    );
    assert_eq!(app["readinessProbe"], with(json!({"failureThreshold": 3})));
    assert!(
        warning_at(&t.warnings, "healthCheckGracePeriodSeconds")
            .message
            .starts_with(
                "container health check failures are ignored for the period after each start"
            )
    );
}

// "START - This condition emulates the behavior of links and volumes today. It validates that a
// dependent container is started before permitting other containers to start." and "If the
// essential parameter of a container is marked as false, its failure doesn't affect the rest of
// the containers in a task." (ContainerDependency condition, ContainerDefinition essential): a
// non-essential dependency may exit; as a native sidecar it would be restarted forever, so it
// stays a regular container listed (and so started) before its dependent.
#[test]
fn start_on_a_non_essential_container_keeps_it_a_regular_container_started_first() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [
            {"name": "app", "image": "app", "memory": 512,
             "dependsOn": [{"containerName": "seed", "condition": "START"}]},
            {"name": "seed", "image": "seed", "memory": 64, "essential": false}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(names(&pod, "containers"), ["seed", "app"]);
    assert_eq!(pod.get("initContainers"), None);
    assert_eq!(container(&pod, "seed").get("restartPolicy"), None);
    assert_eq!(
        warning_at(&w, "containerDefinitions[0].dependsOn[0]").message,
        "`seed` is not essential and may exit, so it stays a regular container (a native sidecar would be restarted whenever it exits), listed before this one: the kubelet starts a pod's containers in order but does not wait for `seed` to have started"
    );
}

// "START - ... It validates that a dependent container is started before permitting other
// containers to start." and "HEALTHY - This condition validates that the dependent container
// passes its Docker health check before permitting other containers to start."
// (ContainerDependency condition): an essential dependency runs as a native sidecar; only
// HEALTHY holds the dependents back with a startup probe.
#[test]
fn start_and_healthy_on_essential_containers_are_native_sidecars() {
    let check = json!({"command": ["CMD", "/bin/check"], "interval": 5, "startPeriod": 10});
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [
            {"name": "app", "image": "app", "memory": 512, "dependsOn": [
                {"containerName": "proxy", "condition": "START"},
                {"containerName": "db", "condition": "HEALTHY"}]},
            {"name": "proxy", "image": "proxy", "memory": 64, "healthCheck": check},
            {"name": "db", "image": "db", "memory": 64, "healthCheck": check}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(names(&pod, "initContainers"), ["proxy", "db"]);
    let probe = |extra: Value| {
        let mut p =
            json!({"exec": {"command": ["/bin/check"]}, "periodSeconds": 5, "timeoutSeconds": 5});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };
    let proxy = container(&pod, "proxy");
    assert_eq!(proxy["restartPolicy"], "Always");
    assert_eq!(proxy.get("startupProbe"), None);
    assert_eq!(
        proxy["livenessProbe"],
        probe(json!({"failureThreshold": 3, "initialDelaySeconds": 10}))
    );
    assert_eq!(
        proxy["readinessProbe"],
        probe(json!({"failureThreshold": 3}))
    );
    let db = container(&pod, "db");
    assert_eq!(db["restartPolicy"], "Always");
    assert_eq!(
        db["startupProbe"],
        probe(json!({"failureThreshold": 2 + 3}))
    );
    assert_eq!(db["livenessProbe"], probe(json!({"failureThreshold": 3})));
    assert_eq!(
        warning_at(&w, "containerDefinitions[1].healthCheck.startPeriod").message,
        "a sidecar others wait for only to start gets no startup probe (it would hold them back): liveness ignores failures for startPeriod seconds (initialDelaySeconds), even after a success"
    );
}

// "For tasks that use the awsvpc network mode including Fargate, if you set systemControls for
// any container, it applies to all containers in the task. If you set different systemControls
// for multiple containers in a single task, the container that's started last determines which
// systemControls take effect." (SystemControl): one value per pod, the last container's;
// different values are reported at every path that sets them.
#[test]
fn different_sysctls_of_several_containers_are_reported() {
    let spec = td(json!({
        "family": "f", "networkMode": "awsvpc",
        "containerDefinitions": [
            {"name": "a", "image": "a", "memory": 64,
             "systemControls": [{"namespace": "net.ipv4.tcp_keepalive_time", "value": "100"}]},
            {"name": "b", "image": "b", "memory": 64,
             "systemControls": [{"namespace": "net.ipv4.tcp_keepalive_time", "value": "200"}]}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(
        pod["securityContext"],
        json!({"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "200"}]})
    );
    for p in [
        "containerDefinitions[0].systemControls[0]",
        "containerDefinitions[1].systemControls[0]",
    ] {
        assert_eq!(
            warning_at(&w, p).message,
            "one per pod: containers set `net.ipv4.tcp_keepalive_time` to different values (containerDefinitions[0].systemControls[0], containerDefinitions[1].systemControls[0]); the pod uses `200`, the last one's"
        );
    }
}

// "A list of DNS servers that are presented to the container." (ContainerDefinition dnsServers)
// and "Time duration (in seconds) to wait before the container is forcefully killed if it
// doesn't exit normally on its own. ... if the parameter is not specified, the default value of
// 30 seconds is used." (ContainerDefinition stopTimeout): per-container values that Kubernetes
// sets once per pod are reported when the containers' own values differ, containers that set
// none included.
#[test]
fn per_container_values_merged_into_the_pod_are_reported_when_they_differ() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [
            {"name": "a", "image": "a", "memory": 64, "dnsServers": ["10.0.0.2"], "stopTimeout": 90},
            {"name": "b", "image": "b", "memory": 64}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(pod["dnsConfig"], json!({"nameservers": ["10.0.0.2"]}));
    assert_eq!(pod["dnsPolicy"], "None");
    assert_eq!(pod["terminationGracePeriodSeconds"], 90);
    assert_eq!(
        warning_at(&w, "containerDefinitions[0].dnsServers").message,
        "one per pod: every container of the task gets dnsServers 10.0.0.2 (set by containerDefinitions[0].dnsServers)"
    );
    assert_eq!(
        warning_at(&w, "containerDefinitions[0].stopTimeout").message,
        "one per pod: every container of the task gets terminationGracePeriodSeconds 90 (the longest stopTimeout; 30 s for containers without one) (set by containerDefinitions[0].stopTimeout)"
    );
    let same = td(json!({
        "family": "f",
        "containerDefinitions": [
            {"name": "a", "image": "a", "memory": 64, "dnsServers": ["10.0.0.2"], "stopTimeout": 30},
            {"name": "b", "image": "b", "memory": 64, "dnsServers": ["10.0.0.2"]}
        ]
    }));
    let (_, w) = render_pod(&same, &service_ctx());
    assert!(w.is_empty(), "{w:#?}");
}

// "The CPU override for the task." (TaskOverride cpu) of "The number of CPU units used by the
// task." (RegisterTaskDefinition cpu):
// a task size set by RunTask overrides is shared out the same way, and reported at the override.
#[test]
fn a_task_size_override_is_shared_out_and_reported_there() {
    let spec = td(json!({
        "family": "f", "cpu": "256", "memory": "512",
        "containerDefinitions": [
            {"name": "a", "image": "a"}, {"name": "b", "image": "b", "essential": false}]
    }));
    let run: RunTaskRequest = serde_json::from_value(json!({
        "taskDefinition": "f", "overrides": {"cpu": "2048"}
    }))
    .unwrap();
    let t = task::translate(RunInput {
        name: "job",
        run: &run,
        task_definition_name: "f",
        task_definition: &spec,
        revision: Some(1),
        cluster: None,
    });
    let Some(Object::Pod(p)) = t.objects.first() else {
        panic!("no pod")
    };
    let pod = serde_json::to_value(p.spec.as_ref().unwrap()).unwrap();
    assert_eq!(
        resources(&pod),
        json!({
            "a": {"limits": {"cpu": "2", "memory": "512Mi"}, "requests": {"cpu": "1", "memory": "256Mi"}},
            "b": {"limits": {"cpu": "2", "memory": "512Mi"}, "requests": {"cpu": "1", "memory": "256Mi"}}
        })
    );
    assert!(
        warning_at(&t.warnings, "overrides.cpu")
            .message
            .starts_with(
                "the task size (2048 CPU units) is shared out as the containers' requests (a 1024, b 1024 CPU units)"
            )
    );
}

// "HEALTHY - This condition validates that the dependent container passes its Docker health
// check before permitting other containers to start. ... This condition is confirmed only at
// task startup." (ContainerDependency condition) and "It's determined by the health of the
// essential containers in the task." (Task healthStatus): a non-essential dependency awaited
// HEALTHY gets only the startup probe that holds its dependents back.
#[test]
fn healthy_on_a_non_essential_container_is_confirmed_only_at_startup() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [
            {"name": "app", "image": "app", "memory": 512,
             "dependsOn": [{"containerName": "cache", "condition": "HEALTHY"}]},
            {"name": "cache", "image": "cache", "memory": 64, "essential": false,
             "healthCheck": {"command": ["CMD", "/bin/ping"], "retries": 2}}
        ]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(
        container(&pod, "cache"),
        &json!({
            "image": "cache", "name": "cache", "restartPolicy": "Always",
            "resources": {"limits": {"memory": "64Mi"}, "requests": {"memory": "64Mi"}},
            "startupProbe": {"exec": {"command": ["/bin/ping"]}, "failureThreshold": 2,
                             "periodSeconds": 30, "timeoutSeconds": 5}
        })
    );
    assert_eq!(
        warning_at(&w, "containerDefinitions[1].healthCheck").message,
        "the health of a non-essential container does not count toward the task's: only a startup probe holds back the containers waiting for it to be HEALTHY (no liveness or readiness probe)"
    );
}

// "When you enable a restart policy for a container, Amazon ECS can restart the container if it
// exits, without needing to replace the task." (ContainerRestartPolicy): the kubelet restarts
// the containers of Service pods in place, but the pods of standalone tasks run with
// restartPolicy Never, so an enabled restart policy is reported.
#[test]
fn an_enabled_restart_policy_restarts_only_service_pods_in_place() {
    let spec = td(json!({
        "family": "f",
        "containerDefinitions": [{"name": "app", "image": "app", "memory": 64,
                                  "restartPolicy": {"enabled": true}}]
    }));
    let (pod, w) = render_pod(&spec, &service_ctx());
    assert_eq!(pod.get("restartPolicy"), None);
    assert_eq!(
        warning_at(&w, "containerDefinitions[0].restartPolicy.enabled").message,
        "restarted in place by the kubelet in Service pods; the pods of a Task or ScheduledTask run with restartPolicy Never and their containers are not restarted"
    );
}
