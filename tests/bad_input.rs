//! Bad input to `render`: generated cases (mutations of valid inputs: wrong types, numbers out
//! of range, duplicate keys and names, broken documents, hostile files ...). Each case asserts
//! the outcome (the exit code of the real binary for some, the errors of the library for the
//! rest), that an error names the file and the JSON path, and that nothing crashes or hangs (a
//! timeout per case). Counts per class are printed (`cargo test --test bad_input -- --nocapture`).

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tidewater::render;

const TIMEOUT: Duration = Duration::from_secs(20);

/// What a case must produce.
#[derive(Clone, Debug)]
enum Expect {
    /// An error naming this file (relative to the case directory) and exactly this path.
    Error { file: String, path: String },
    /// An error naming this file at this path or a path above it (type errors: the exact path
    /// comes with the spec reader's `serde_path_to_error` paths).
    ErrorWithin { file: String, path: String },
    /// An error naming the file and this path, and objects for the rest of the input.
    ErrorAndObjects { file: String, path: String },
    /// No error (a valid input among the mutations; guards the mutations themselves).
    Clean,
    /// No error, and a warning naming this path (what differs from ECS, never silent).
    Warning { path: String },
}

/// How a case is run.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Runner {
    /// `render_files` in-process.
    Library,
    /// The `tidewater render` binary; the exit code is asserted.
    Binary,
}

#[derive(Clone, Debug)]
struct Case {
    class: &'static str,
    name: String,
    /// Files of the case directory: (relative name, bytes).
    files: Vec<(String, Vec<u8>)>,
    /// Arguments after `render` (`{dir}` is replaced by the case directory); default `-f` each file.
    args: Option<Vec<String>>,
    stdin: Option<Vec<u8>>,
    /// Set up special files (FIFOs, symlinks, sparse files) in the case directory.
    setup: Option<fn(&Path)>,
    expect: Expect,
    runner: Runner,
}

fn case(
    class: &'static str,
    name: impl Into<String>,
    file: &str,
    text: impl Into<Vec<u8>>,
    expect: Expect,
) -> Case {
    Case {
        class,
        name: name.into(),
        files: vec![(file.into(), text.into())],
        args: None,
        stdin: None,
        setup: None,
        expect,
        runner: Runner::Library,
    }
}

fn err(file: &str, path: &str) -> Expect {
    Expect::Error {
        file: file.into(),
        path: path.into(),
    }
}

fn within(file: &str, path: &str) -> Expect {
    Expect::ErrorWithin {
        file: file.into(),
        path: path.into(),
    }
}

/// A valid RegisterTaskDefinition body.
fn task_definition() -> Value {
    json!({
        "family": "web",
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{
            "name": "web",
            "image": "nginx:1.27",
            "cpu": 128,
            "memory": 256,
            "memoryReservation": 128,
            "essential": true,
            "portMappings": [{"containerPort": 80, "protocol": "tcp", "name": "http"}],
            "environment": [{"name": "MODE", "value": "prod"}],
            "command": ["nginx", "-g", "daemon off;"],
            "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30, "retries": 3},
            "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
            "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]
        }],
        "volumes": [{"name": "data"}]
    })
}

/// A valid CreateService body.
fn service() -> Value {
    json!({
        "serviceName": "web",
        "taskDefinition": "web",
        "desiredCount": 2,
        "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 50},
        "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1", "containerName": "web", "containerPort": 80}],
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
    })
}

fn manifest(kind: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// `value` with `path` (`a.b[0].c`) set to `new`.
fn set(mut value: Value, path: &str, new: Value) -> Value {
    let mut at = &mut value;
    for part in path.split('.') {
        let (key, index) = match part.split_once('[') {
            Some((k, i)) => (k, Some(i.trim_end_matches(']').parse::<usize>().unwrap())),
            None => (part, None),
        };
        at = &mut at[key];
        if let Some(i) = index {
            at = &mut at[i];
        }
    }
    *at = new;
    value
}

fn pretty(v: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(v).unwrap()
}

fn yaml(v: &Value) -> Vec<u8> {
    serde_yaml_ng::to_string(v).unwrap().into_bytes()
}

/// Wrong types at many paths of a task definition and a service, as raw JSON and as manifests.
/// Task definition paths and wrong-typed values (JSON text).
const TD_TYPES: &[(&str, &[&str])] = &[
    ("family", &[r#"5"#, r#"{}"#, r#"[]"#]),
    ("networkMode", &[r#"5"#, r#""bridgey""#, r#"[]"#]),
    ("cpu", &[r#"{}"#, r#"[]"#]),
    ("containerDefinitions[0].name", &[r#"5"#, r#"{}"#, r#"[]"#]),
    (
        "containerDefinitions[0].image",
        &[r#"5"#, r#"{}"#, r#"[1]"#],
    ),
    (
        "containerDefinitions[0].cpu",
        &[r#""abc""#, r#"{}"#, r#"[]"#, r#"1.5"#],
    ),
    (
        "containerDefinitions[0].memory",
        &[r#""abc""#, r#"{}"#, r#"true"#],
    ),
    (
        "containerDefinitions[0].memoryReservation",
        &[r#""abc""#, r#"[]"#],
    ),
    (
        "containerDefinitions[0].essential",
        &[r#""yes please""#, r#"5"#, r#"[]"#],
    ),
    (
        "containerDefinitions[0].portMappings[0].containerPort",
        &[r#""abc""#, r#"{}"#, r#"[]"#],
    ),
    (
        "containerDefinitions[0].portMappings[0].protocol",
        &[r#""sctp-ish""#, r#"5"#],
    ),
    (
        "containerDefinitions[0].environment[0].name",
        &[r#"5"#, r#"{}"#, r#"[]"#],
    ),
    (
        "containerDefinitions[0].environment",
        &[r#""MODE=prod""#, r#"5"#],
    ),
    ("containerDefinitions[0].command", &[r#"5"#, r#"{"a": 1}"#]),
    (
        "containerDefinitions[0].healthCheck.interval",
        &[r#""abc""#, r#"[]"#],
    ),
    (
        "containerDefinitions[0].healthCheck.command",
        &[r#"5"#, r#"{}"#],
    ),
    (
        "containerDefinitions[0].ulimits[0].softLimit",
        &[r#""abc""#, r#"{}"#],
    ),
    (
        "containerDefinitions[0].mountPoints[0].containerPath",
        &[r#"5"#, r#"[]"#],
    ),
    ("containerDefinitions", &[r#""web""#, r#"5"#]),
    ("volumes[0].name", &[r#"5"#, r#"{}"#]),
];
/// Service paths and wrong-typed values (JSON text).
const SERVICE_TYPES: &[(&str, &[&str])] = &[
    ("desiredCount", &[r#""two""#, r#"{}"#, r#"2.5"#]),
    (
        "deploymentConfiguration.maximumPercent",
        &[r#""abc""#, r#"[]"#],
    ),
    ("deploymentConfiguration", &[r#""fast""#, r#"5"#]),
    ("loadBalancers[0].containerPort", &[r#""abc""#, r#"{}"#]),
    ("launchType", &[r#""SPACESHIP""#, r#"5"#]),
    ("schedulingStrategy", &[r#""SOMETIMES""#]),
    (
        "networkConfiguration.awsvpcConfiguration.subnets",
        &[r#""subnet-1""#, r#"5"#],
    ),
];

fn wrong_types() -> Vec<Case> {
    let mut out = Vec::new();
    for (base, paths, kind) in [
        (task_definition(), TD_TYPES, "TaskDefinition"),
        (service(), SERVICE_TYPES, "Service"),
    ] {
        for (path, values) in paths {
            for (i, bad) in values.iter().enumerate() {
                let bad: Value = serde_json::from_str(bad).unwrap();
                let raw = set(base.clone(), path, bad.clone());
                let name = format!("{kind} {path} = {bad}");
                out.push(case(
                    "wrong type",
                    format!("raw {name}"),
                    "input.json",
                    pretty(&raw),
                    within("input.json", path),
                ));
                if i == 0 {
                    let m = manifest(kind, "web", raw);
                    out.push(case(
                        "wrong type",
                        format!("manifest {name}"),
                        "input.yaml",
                        yaml(&m),
                        within("input.yaml", &format!("spec.{path}")),
                    ));
                }
            }
        }
    }
    out
}

/// Numbers out of the range of the field or of what Kubernetes accepts.
fn out_of_range() -> Vec<Case> {
    let td: &[(&str, Value)] = &[
        (
            "containerDefinitions[0].portMappings[0].containerPort",
            json!(70000),
        ),
        (
            "containerDefinitions[0].portMappings[0].containerPort",
            json!(65536),
        ),
        (
            "containerDefinitions[0].portMappings[0].containerPort",
            json!(4294967296u64),
        ),
        (
            "containerDefinitions[0].portMappings[0].hostPort",
            json!(99999),
        ),
        ("containerDefinitions[0].cpu", json!(4294967296u64)),
        ("containerDefinitions[0].cpu", json!(-5_000_000_000i64)),
        ("containerDefinitions[0].memory", json!(1e30)),
        ("containerDefinitions[0].memory", json!(-1)),
        (
            "containerDefinitions[0].healthCheck.retries",
            json!(1u64 << 40),
        ),
        (
            "containerDefinitions[0].ulimits[0].softLimit",
            json!(1u64 << 40),
        ),
    ];
    let svc: &[(&str, Value)] = &[
        ("desiredCount", json!(-1)),
        ("desiredCount", json!(-2147483648i64)),
        ("desiredCount", json!(1u64 << 33)),
        ("deploymentConfiguration.maximumPercent", json!(1u64 << 40)),
        ("loadBalancers[0].containerPort", json!(0)),
        ("loadBalancers[0].containerPort", json!(70000)),
    ];
    let mut out = Vec::new();
    for (path, bad) in td {
        let raw = set(task_definition(), path, bad.clone());
        let expect = if bad
            .as_i64()
            .is_some_and(|n| (i32::MIN as i64..=i32::MAX as i64).contains(&n))
        {
            err("td.json", path)
        } else {
            within("td.json", path)
        };
        out.push(case(
            "out of range",
            format!("TaskDefinition {path} = {bad}"),
            "td.json",
            pretty(&raw),
            expect.clone(),
        ));
        let m = manifest("TaskDefinition", "web", raw);
        let expect = match expect {
            Expect::Error { .. } => err("td.yaml", &format!("spec.{path}")),
            _ => within("td.yaml", &format!("spec.{path}")),
        };
        out.push(case(
            "out of range",
            format!("manifest TaskDefinition {path} = {bad}"),
            "td.yaml",
            yaml(&m),
            expect,
        ));
    }
    for (path, bad) in svc {
        let raw = set(service(), path, bad.clone());
        let expect = if bad
            .as_i64()
            .is_some_and(|n| (i32::MIN as i64..=i32::MAX as i64).contains(&n))
        {
            err("svc.json", path)
        } else {
            within("svc.json", path)
        };
        out.push(case(
            "out of range",
            format!("Service {path} = {bad}"),
            "svc.json",
            pretty(&raw),
            expect,
        ));
    }
    // Large but valid numbers must not overflow anywhere (desiredCount × maximumPercent ...).
    let big = set(
        set(service(), "desiredCount", json!(i32::MAX)),
        "deploymentConfiguration.maximumPercent",
        json!(i32::MAX),
    );
    let mut c = case(
        "out of range",
        "desiredCount × maximumPercent at i32::MAX",
        "svc.json",
        pretty(&big),
        Expect::Clean,
    );
    c.files.push(("td.json".into(), pretty(&task_definition())));
    out.push(c);
    out
}

/// Values that would make objects the apiserver rejects.
fn invalid_values() -> Vec<Case> {
    let td: &[(&str, Value)] = &[
        ("containerDefinitions[0].environment[0].name", json!("A=B")),
        (
            "containerDefinitions[0].environment[0].name",
            json!("bell\u{7}"),
        ),
        (
            "containerDefinitions[0].environment[0].name",
            json!("naïve"),
        ),
        (
            "containerDefinitions[0].environment[0].name",
            json!("tab\there"),
        ),
    ];
    let mut out = Vec::new();
    for (path, bad) in td {
        let raw = set(task_definition(), path, bad.clone());
        out.push(case(
            "invalid value",
            format!("{path} = {bad}"),
            "td.json",
            pretty(&raw),
            err("td.json", path),
        ));
    }
    let mut dup_ports = task_definition();
    dup_ports["containerDefinitions"][0]["portMappings"] =
        json!([{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]);
    out.push(case(
        "duplicate name",
        "port mapping names",
        "td.json",
        pretty(&dup_ports),
        err("td.json", "containerDefinitions[0].portMappings[1].name"),
    ));
    for tz in ["Mars/Olympus", "UTC+25", "../../etc/passwd", ""] {
        let spec = json!({"scheduleExpression": "cron(0 12 * * ? *)", "scheduleExpressionTimezone": tz, "taskDefinition": "web"});
        let m = manifest("ScheduledTask", "nightly", spec);
        out.push(case(
            "invalid value",
            format!("time zone {tz:?}"),
            "job.yaml",
            yaml(&m),
            err("job.yaml", "spec.scheduleExpressionTimezone"),
        ));
    }
    out
}

/// The same key twice, at many paths, written as JSON and as YAML.
fn duplicate_keys() -> Vec<Case> {
    let json_cases: &[(&str, &str)] = &[
        (
            r#"{"family": "a", "family": "b", "containerDefinitions": [{"name": "a", "image": "x"}]}"#,
            "family",
        ),
        (
            r#"{"family": "a", "containerDefinitions": [{"name": "a", "name": "b", "image": "x"}]}"#,
            "containerDefinitions[0].name",
        ),
        (
            r#"{"family": "a", "containerDefinitions": [{"name": "a", "image": "x", "cpu": 1, "cpu": 2}]}"#,
            "containerDefinitions[0].cpu",
        ),
        (
            r#"{"family": "a", "containerDefinitions": [{"name": "a", "image": "x", "portMappings": [{"containerPort": 80, "containerPort": 81}]}]}"#,
            "containerDefinitions[0].portMappings[0].containerPort",
        ),
        (
            r#"{"family": "a", "containerDefinitions": [{"name": "a", "image": "x", "environment": [{"name": "A", "value": "1", "value": "2"}]}]}"#,
            "containerDefinitions[0].environment[0].value",
        ),
        (
            r#"{"family": "a", "containerDefinitions": [{"name": "a", "image": "x"}], "containerDefinitions": []}"#,
            "containerDefinitions",
        ),
        (
            r#"{"serviceName": "a", "desiredCount": 1, "desiredCount": 100}"#,
            "desiredCount",
        ),
        (
            r#"{"serviceName": "a", "deploymentConfiguration": {"maximumPercent": 200, "maximumPercent": 100}}"#,
            "deploymentConfiguration.maximumPercent",
        ),
        (
            r#"{"services": [{"serviceName": "a"}, {"serviceName": "b", "serviceName": "c"}]}"#,
            "services[1].serviceName",
        ),
        (
            r#"{"taskDefinition": {"family": "a", "family": "a", "containerDefinitions": []}}"#,
            "taskDefinition.family",
        ),
    ];
    let mut out = Vec::new();
    for (text, path) in json_cases {
        out.push(case(
            "duplicate key",
            format!("JSON {path}"),
            "dup.json",
            *text,
            err("dup.json", path),
        ));
        // JSON is YAML's flow style: the same text read as a .yaml file.
        out.push(case(
            "duplicate key",
            format!("YAML flow {path}"),
            "dup.yaml",
            *text,
            err("dup.yaml", path),
        ));
    }
    let yaml_cases: &[(&str, &str)] = &[
        (
            "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nkind: Service\nmetadata: {name: a}\n",
            "kind",
        ),
        (
            "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata:\n  name: a\n  name: b\n",
            "metadata.name",
        ),
        (
            "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {name: a}\nspec:\n  containerDefinitions:\n  - name: a\n    image: x\n    image: y\n",
            "spec.containerDefinitions[0].image",
        ),
        (
            "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {name: a}\nspec:\n  cpu: '256'\n  cpu: '512'\n",
            "spec.cpu",
        ),
        (
            "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: Service\nmetadata: {name: a}\nspec:\n  desiredCount: 1\n  desiredCount: 2\n",
            "spec.desiredCount",
        ),
        ("a: 1\na: 2\n", "a"),
    ];
    for (text, path) in yaml_cases {
        out.push(case(
            "duplicate key",
            format!("YAML {path}"),
            "dup.yaml",
            *text,
            err("dup.yaml", path),
        ));
    }
    out
}

const GOOD: &str = "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {name: good}\nspec: {containerDefinitions: [{name: good, image: 'good:1'}]}\n";

/// Text that is not YAML or JSON, or not a document Tidewater reads.
fn syntax() -> Vec<Case> {
    let broken: &[(&str, &[u8], &str)] = &[
        ("unclosed JSON", b"{\"family\": \"a\"", "."),
        ("unclosed list", b"a: [1, 2\n", "."),
        ("tab indentation", b"a:\n\tb: 1\n", "."),
        ("bad indentation", b"a:\n  b: 1\n c: 2\n", "."),
        ("empty file", b"", "."),
        ("only comments", b"# nothing\n", "."),
        ("only separators", b"---\n---\n", "."),
        ("a scalar", b"hello\n", "."),
        ("a list", b"- a\n- b\n", "."),
        ("null", b"null\n", "."),
        ("invalid UTF-8", b"family: \xff\xfe\n", "."),
        ("invalid UTF-8 in JSON", b"{\"family\": \"\xc3\x28\"}", "."),
        ("NUL bytes", b"family: a\0b\n", "."),
        ("deep list nesting", &[b'['; 100_000], "."),
        ("deep map nesting", "{a: ".repeat(50_000).as_bytes().to_vec().leak(), "."),
        ("unknown anchor", b"a: *nothing\n", "."),
        ("billion laughs", b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n", "."),
        ("not finite", b"{\"family\": \"a\", \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"x\", \"cpu\": .inf}]}", "containerDefinitions[0].cpu"),
        ("unknown shape", b"{\"hello\": \"world\"}", "."),
    ];
    let mut out = Vec::new();
    for (name, text, path) in broken {
        out.push(case(
            "syntax",
            *name,
            "bad.yaml",
            text.to_vec(),
            err("bad.yaml", path),
        ));
    }
    let manifests: &[(&str, String, &str)] = &[
        ("unknown kind", "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: Gadget\nmetadata: {name: a}\n".into(), "kind"),
        ("missing kind", "apiVersion: ecs.tidewater.dev/v1alpha1\nmetadata: {name: a}\n".into(), "kind"),
        ("bad apiVersion", "apiVersion: ecs.tidewater.dev/v1\nkind: TaskDefinition\nmetadata: {name: a}\n".into(), "apiVersion"),
        ("core apiVersion", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n".into(), "apiVersion"),
        ("missing name", "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {}\n".into(), "metadata.name"),
        ("name a number", "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {name: 5}\n".into(), "metadata.name"),
        ("spec a string", "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {name: a}\nspec: hello\n".into(), "spec"),
        ("spec a list", "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: Service\nmetadata: {name: a}\nspec: [1]\n".into(), "spec[0]"),
    ];
    for (name, text, path) in manifests {
        out.push(case(
            "bad manifest",
            *name,
            "m.yaml",
            text.clone(),
            err("m.yaml", path),
        ));
    }
    out
}

/// One broken document, service or file among good ones: reported, and the rest rendered.
fn partial() -> Vec<Case> {
    let both = |file: &str, path: &str| Expect::ErrorAndObjects {
        file: file.into(),
        path: path.into(),
    };
    let mut out = vec![
        case(
            "partial",
            "broken YAML between good documents",
            "multi.yaml",
            format!(
                "{GOOD}---\nfoo: [unclosed\n---\n{}",
                GOOD.replace("good", "other")
            ),
            both("multi.yaml", "."),
        ),
        case(
            "partial",
            "duplicate key in the second document",
            "multi.yaml",
            format!("{GOOD}---\na: 1\na: 2\n"),
            both("multi.yaml", "a"),
        ),
        case(
            "partial",
            "unknown kind in the first document",
            "multi.yaml",
            format!(
                "apiVersion: ecs.tidewater.dev/v1alpha1\nkind: Gadget\nmetadata: {{name: g}}\n---\n{GOOD}"
            ),
            both("multi.yaml", "kind"),
        ),
        case(
            "partial",
            "out-of-range port in one document",
            "multi.yaml",
            format!(
                "{GOOD}---\n{}",
                String::from_utf8(yaml(&set(
                    manifest("TaskDefinition", "p", task_definition()),
                    "spec.containerDefinitions[0].portMappings[0].containerPort",
                    json!(70000)
                )))
                .unwrap()
            ),
            both(
                "multi.yaml",
                "spec.containerDefinitions[0].portMappings[0].containerPort",
            ),
        ),
    ];
    for (i, bad) in [json!("abc"), json!(-1), json!({})].into_iter().enumerate() {
        let svcs = json!({"services": [service(), set(set(service(), "serviceName", json!("bad")), "desiredCount", bad.clone()), set(service(), "serviceName", json!("api"))]});
        let path = "services[1]";
        let expect = if i == 1 {
            both("svcs.json", "services[1].desiredCount")
        } else {
            Expect::ErrorAndObjects {
                file: "svcs.json".into(),
                path: format!("{path}.desiredCount"),
            }
        };
        out.push(case(
            "partial",
            format!("describe-services with one bad service ({bad})"),
            "svcs.json",
            pretty(&svcs),
            expect,
        ));
    }
    let mut two = case(
        "partial",
        "a broken file next to a good one",
        "bad.yaml",
        "a: [",
        both("bad.yaml", "."),
    );
    two.files.push(("good.yaml".into(), GOOD.into()));
    out.push(two);
    out
}

/// Two resources of the same kind and name.
fn duplicate_resources() -> Vec<Case> {
    let mut out = vec![case(
        "duplicate name",
        "same TaskDefinition twice in one file",
        "a.yaml",
        format!("{GOOD}---\n{GOOD}"),
        err("a.yaml", "metadata.name"),
    )];
    let mut two = case(
        "duplicate name",
        "same TaskDefinition in two files",
        "a.yaml",
        GOOD,
        err("b.yaml", "metadata.name"),
    );
    two.files.push(("b.yaml".into(), GOOD.into()));
    out.push(two);
    let mut raw = case(
        "duplicate name",
        "same family as two raw bodies",
        "a.json",
        pretty(&task_definition()),
        err("b.json", "."),
    );
    raw.files
        .push(("b.json".into(), pretty(&task_definition())));
    out.push(raw);
    let svcs = json!({"services": [service(), service()]});
    out.push(case(
        "duplicate name",
        "same service twice in describe-services",
        "svcs.json",
        pretty(&svcs),
        err("svcs.json", "."),
    ));
    let mut dup_containers = task_definition();
    dup_containers["containerDefinitions"] =
        json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]);
    let m = manifest("TaskDefinition", "web", dup_containers);
    out.push(case(
        "duplicate name",
        "two containers with one name",
        "td.yaml",
        yaml(&m),
        err("td.yaml", "spec.containerDefinitions[1].name"),
    ));
    out
}

/// Huge lists and strings.
fn huge() -> Vec<Case> {
    let mut many = task_definition();
    let c = many["containerDefinitions"][0].clone();
    many["containerDefinitions"] = Value::Array(
        (0..5000)
            .map(|i| set(c.clone(), "name", json!(format!("c{i}"))))
            .collect(),
    );
    let mut env = task_definition();
    env["containerDefinitions"][0]["environment"] = Value::Array(
        (0..100_000)
            .map(|i| json!({"name": format!("V{i}"), "value": "x"}))
            .collect(),
    );
    let mut name = task_definition();
    name["family"] = json!("f".repeat(1_000_000));
    vec![
        case(
            "huge",
            "5000 containers",
            "td.yaml",
            yaml(&manifest("TaskDefinition", "web", many)),
            err("td.yaml", "spec.containerDefinitions"),
        ),
        case(
            "huge",
            "deep block nesting",
            "deep.yaml",
            (0..3000)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>(),
            err("deep.yaml", "."),
        ),
        case(
            "huge",
            "1000 flow levels",
            "deep.yaml",
            "{a: ".repeat(1000),
            err("deep.yaml", "."),
        ),
        case(
            "huge",
            "100000 environment variables",
            "td.json",
            pretty(&env),
            Expect::Clean,
        ),
        case(
            "huge",
            // ECS: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and
            // hyphens are allowed."
            "a 1 MB family name",
            "td.json",
            pretty(&name),
            Expect::Error {
                file: "td.json".into(),
                path: "family".into(),
            },
        ),
    ]
}

/// A task definition and a Service of it, as one manifest file.
fn with_service(service: Value) -> Vec<u8> {
    let td = manifest("TaskDefinition", "web", task_definition());
    let mut out = yaml(&td);
    out.extend(b"---\n");
    out.extend(yaml(&manifest("Service", "web", service)));
    out
}

/// User numbers at the ends of their ranges where Tidewater multiplies or adds them: checked
/// arithmetic, never a wrap-around or an overflow panic.
fn arithmetic() -> Vec<Case> {
    let scheduled = |schedule: &str| {
        set(
            service(),
            "autoScaling",
            json!({
                "scalableTarget": {"MinCapacity": 1, "MaxCapacity": 4},
                "scheduledActions": [{
                    "ScheduledActionName": "far",
                    "Schedule": schedule,
                    "ScalableTargetAction": {"MinCapacity": 2}
                }]
            }),
        )
    };
    let checked = |name: &str, svc: Value, expect: Expect| {
        case(
            "checked arithmetic",
            name,
            "svc.yaml",
            with_service(svc),
            expect,
        )
    };
    vec![
        // "healthCheckGracePeriodSeconds ... Valid values are 0 through 2147483647": the
        // startup probe covers it in failures of `interval` seconds (no i32 overflow).
        checked(
            "grace period of i32::MAX seconds",
            set(service(), "healthCheckGracePeriodSeconds", json!(i32::MAX)),
            Expect::Warning {
                path: "healthCheckGracePeriodSeconds".into(),
            },
        ),
        // More seconds than a time span holds: reported on the schedule, not a panic.
        checked(
            "rate of 200000000000 days",
            scheduled("rate(200000000000 days)"),
            Expect::Warning {
                path: "autoScaling.scheduledActions[0].Schedule".into(),
            },
        ),
        checked(
            "rate of u64::MAX minutes",
            scheduled("rate(18446744073709551615 minutes)"),
            Expect::Warning {
                path: "autoScaling.scheduledActions[0].Schedule".into(),
            },
        ),
        // Past the last representable date from now: never fires, no overflow.
        checked(
            "rate of 100000000 days",
            scheduled("rate(100000000 days)"),
            Expect::Clean,
        ),
    ]
}

fn fifo(dir: &Path) {
    let path = dir.join("pipe.yaml");
    let ok = Command::new("mkfifo")
        .arg(&path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mkfifo");
}

fn oversized(dir: &Path) {
    let f = std::fs::File::create(dir.join("big.yaml")).unwrap();
    f.set_len(render::MAX_FILE_BYTES + 1).unwrap();
}

fn symlink_out(dir: &Path) {
    let outside = dir.parent().unwrap().join(format!(
        "{}-secret.yaml",
        dir.file_name().unwrap().to_string_lossy()
    ));
    // The name marks the object: it must never be rendered (hack/bad-input-classes.py looks for it).
    std::fs::write(&outside, GOOD.replace("good", "outside-secret")).unwrap();
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("d/link.yaml")).unwrap();
    std::fs::write(dir.join("d/good.yaml"), GOOD.replace("good", "inside")).unwrap();
}

fn symlink_dir(dir: &Path) {
    std::fs::create_dir_all(dir.join("d")).unwrap();
    std::os::unix::fs::symlink("/", dir.join("d/root.yaml")).unwrap();
    std::fs::write(dir.join("d/good.yaml"), GOOD).unwrap();
}

/// Special files and standard input, through the binary.
fn files() -> Vec<Case> {
    let bin = |name: &str, args: &[&str], setup: Option<fn(&Path)>, expect: Expect| Case {
        class: "files",
        name: name.into(),
        files: vec![],
        args: Some(args.iter().map(|s| s.to_string()).collect()),
        stdin: None,
        setup,
        expect,
        runner: Runner::Binary,
    };
    let mut stdin_bad = bin(
        "stdin: duplicate key",
        &["-f", "-"],
        None,
        err("<stdin>", "spec.cpu"),
    );
    stdin_bad.stdin = Some(b"apiVersion: ecs.tidewater.dev/v1alpha1\nkind: TaskDefinition\nmetadata: {name: a}\nspec:\n  cpu: '1'\n  cpu: '2'\n".to_vec());
    let mut stdin_good = bin("stdin: a good manifest", &["-f", "-"], None, Expect::Clean);
    stdin_good.stdin = Some(GOOD.as_bytes().to_vec());
    let mut stdin_utf8 = bin(
        "stdin: invalid UTF-8",
        &["-f", "-"],
        None,
        err("<stdin>", "."),
    );
    stdin_utf8.stdin = Some(b"a: \xff\n".to_vec());
    vec![
        bin(
            "FIFO",
            &["-f", "{dir}/pipe.yaml"],
            Some(fifo),
            err("pipe.yaml", "."),
        ),
        bin(
            "character device",
            &["-f", "/dev/null"],
            None,
            err("/dev/null", "."),
        ),
        bin(
            "oversized file",
            &["-f", "{dir}/big.yaml"],
            Some(oversized),
            err("big.yaml", "."),
        ),
        bin(
            "missing file",
            &["-f", "{dir}/nothing.yaml"],
            None,
            err("nothing.yaml", "."),
        ),
        bin(
            "directory with a symlink out",
            &["-f", "{dir}/d"],
            Some(symlink_out),
            Expect::ErrorAndObjects {
                file: "d/link.yaml".into(),
                path: ".".into(),
            },
        ),
        bin(
            "directory with a symlink to a directory",
            &["-f", "{dir}/d"],
            Some(symlink_dir),
            Expect::ErrorAndObjects {
                file: "d/root.yaml".into(),
                path: ".".into(),
            },
        ),
        stdin_bad,
        stdin_good,
        stdin_utf8,
    ]
}

fn all_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = [
        wrong_types(),
        out_of_range(),
        invalid_values(),
        duplicate_keys(),
        syntax(),
        partial(),
        duplicate_resources(),
        huge(),
        arithmetic(),
        files(),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Every fifth library case also runs through the binary (the exit code is asserted).
    for (i, c) in cases.iter_mut().enumerate() {
        if c.runner == Runner::Library && i % 5 == 0 {
            c.runner = Runner::Binary;
        }
    }
    cases
}

/// The outcome of one case: errors as `file: path: message` lines, objects, exit code.
struct Outcome {
    errors: Vec<(String, String, String)>,
    warnings: Vec<String>,
    objects: usize,
    code: Option<i32>,
}

fn run_library(dir: &Path, c: &Case) -> Outcome {
    let paths: Vec<PathBuf> = c.files.iter().map(|(f, _)| dir.join(f)).collect();
    let out = render::render_files(&paths, None);
    Outcome {
        errors: out
            .errors
            .iter()
            .map(|e| (e.file.clone(), e.path.clone(), e.message.clone()))
            .collect(),
        warnings: out.warnings.iter().map(|w| w.to_string()).collect(),
        objects: out.objects.len(),
        code: None,
    }
}

fn run_binary(dir: &Path, c: &Case) -> Outcome {
    let args: Vec<String> = match &c.args {
        Some(a) => a
            .iter()
            .map(|s| s.replace("{dir}", &dir.display().to_string()))
            .collect(),
        None => c
            .files
            .iter()
            .flat_map(|(f, _)| ["-f".to_string(), dir.join(f).display().to_string()])
            .collect(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .arg("render")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = c.stdin.clone().unwrap_or_default();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("error: "))
        .map(|l| {
            let mut parts = l.splitn(3, ": ");
            let file = parts.next().unwrap_or_default().to_string();
            let path = parts.next().unwrap_or_default().to_string();
            (file, path, parts.next().unwrap_or_default().to_string())
        })
        .collect();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let warnings = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("warning: "))
        .map(str::to_string)
        .collect();
    Outcome {
        errors,
        warnings,
        objects: stdout.matches("\nkind: ").count() + usize::from(stdout.starts_with("kind: ")),
        code: out.status.code(),
    }
}

/// Whether an error names `file` (the case file, or its full path) and `path` (exactly, or, for
/// `within`, a path at or above it).
fn names(
    errors: &[(String, String, String)],
    dir: &Path,
    file: &str,
    path: &str,
    exact: bool,
) -> bool {
    errors.iter().any(|(f, p, _)| {
        let file_ok = f == file || Path::new(f) == dir.join(file);
        let path_ok = p == path
            || (!exact
                && (p == "."
                    || p == "spec"
                    || path.starts_with(&format!("{p}."))
                    || path.starts_with(&format!("{p}["))));
        file_ok && path_ok
    })
}

fn check(dir: &Path, c: &Case, o: &Outcome) -> Result<(), String> {
    let failed = |why: &str| {
        Err(format!(
            "{why}: errors {:?}, {} objects, exit {:?}",
            o.errors, o.objects, o.code
        ))
    };
    let exit_ok = |want_error: bool| o.code.is_none_or(|code| (code != 0) == want_error);
    match &c.expect {
        Expect::Clean if !o.errors.is_empty() || !exit_ok(false) => failed("expected no error"),
        Expect::Clean => Ok(()),
        Expect::Warning { .. } if !o.errors.is_empty() || !exit_ok(false) => {
            failed("expected no error")
        }
        Expect::Warning { path } if !o.warnings.iter().any(|w| w.contains(path.as_str())) => {
            failed(&format!(
                "no warning names {path}: warnings {:?}",
                o.warnings
            ))
        }
        Expect::Warning { .. } => Ok(()),
        Expect::Error { file, path } | Expect::ErrorAndObjects { file, path }
            if !names(&o.errors, dir, file, path, true) =>
        {
            failed(&format!("no error names {file}: {path}"))
        }
        Expect::ErrorWithin { file, path } if !names(&o.errors, dir, file, path, false) => {
            failed(&format!("no error names {file} at or above {path}"))
        }
        Expect::ErrorAndObjects { .. } if o.objects == 0 => {
            failed("the good part was not rendered")
        }
        _ if !exit_ok(true) => failed("exit code 0 with an error"),
        _ => Ok(()),
    }
}

/// Run one case in its own directory and thread, within the timeout; panics are failures.
fn run(root: &Path, i: usize, c: &Case) -> Result<(), String> {
    let dir = root.join(format!("case-{i}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (f, bytes) in &c.files {
        std::fs::write(dir.join(f), bytes).unwrap();
    }
    if let Some(setup) = c.setup {
        setup(&dir);
    }
    let (tx, rx) = mpsc::channel();
    let (case, d) = (c.clone(), dir.clone());
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            let outcome = std::panic::catch_unwind(|| match case.runner {
                Runner::Library => run_library(&d, &case),
                Runner::Binary => run_binary(&d, &case),
            });
            let _ = tx.send(
                outcome
                    .map_err(|_| "crashed (panic)".to_string())
                    .and_then(|o| check(&d, &case, &o)),
            );
        })
        .unwrap();
    rx.recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| Err(format!("hung (no answer in {TIMEOUT:?})")))
}

#[test]
fn every_bad_input_gets_a_clear_answer() {
    let root = std::env::temp_dir().join(format!("tidewater-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let cases = all_cases();
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let started = Instant::now();
    for (i, c) in cases.iter().enumerate() {
        let result = run(&root, i, c);
        let entry = counts.entry(c.class).or_default();
        entry.1 += 1;
        match result {
            Ok(()) => entry.0 += 1,
            Err(e) => failures.push(format!("[{}] {} ({:?}): {e}", c.class, c.name, c.runner)),
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    let binary = cases.iter().filter(|c| c.runner == Runner::Binary).count();
    println!(
        "bad input: {} cases ({binary} through the binary) in {:?}",
        cases.len(),
        started.elapsed()
    );
    for (class, (passed, total)) in &counts {
        println!("  {class:<16} {passed}/{total}");
    }
    assert!(cases.len() >= 200, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// With `TIDEWATER_BAD_INPUT_DUMP=DIR`, every case is written to `DIR/render/NNN/` (its files and
/// special files; `NNN.stdin` and `NNN.json` next to it: class, name, arguments, expectation) for
/// `hack/bad-input-classes.py`, which runs them through any `tidewater` binary and counts the
/// outcomes per class.
#[test]
fn dump_cases_for_the_class_driver() {
    let Some(root) = std::env::var_os("TIDEWATER_BAD_INPUT_DUMP") else {
        return;
    };
    let root = PathBuf::from(root).join("render");
    let _ = std::fs::remove_dir_all(&root);
    for (i, c) in all_cases().iter().enumerate() {
        let dir = root.join(format!("{i:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (f, bytes) in &c.files {
            std::fs::write(dir.join(f), bytes).unwrap();
        }
        if let Some(setup) = c.setup {
            setup(&dir);
        }
        if let Some(stdin) = &c.stdin {
            std::fs::write(root.join(format!("{i:03}.stdin")), stdin).unwrap();
        }
        let args: Vec<String> = c.args.clone().unwrap_or_else(|| {
            c.files
                .iter()
                .flat_map(|(f, _)| ["-f".to_string(), format!("{{dir}}/{f}")])
                .collect()
        });
        let (kind, file, path) = match &c.expect {
            Expect::Error { file, path } => ("error", file.as_str(), path.as_str()),
            Expect::ErrorWithin { file, path } => ("within", file.as_str(), path.as_str()),
            Expect::ErrorAndObjects { file, path } => {
                ("error+objects", file.as_str(), path.as_str())
            }
            Expect::Clean => ("clean", "", ""),
            Expect::Warning { path } => ("warning", "", path.as_str()),
        };
        let meta = json!({
            "class": c.class, "name": c.name, "args": args, "stdin": c.stdin.is_some(),
            "expect": {"kind": kind, "file": file, "path": path},
            "forbidden": ["outside-secret"],
        });
        std::fs::write(root.join(format!("{i:03}.json")), pretty(&meta)).unwrap();
    }
}

/// Every object of the goldens, the corpus and the examples passes Kubernetes' validation
/// rules (render drops and reports any that would not; here none may be dropped).
#[test]
fn every_rendered_object_is_valid_kubernetes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for dir in ["examples", "tests/golden", "tests/fixtures/corpus"] {
        for file in render::collect_files(&[root.join(dir)]).unwrap() {
            let name = file.display().to_string();
            if name.contains("skeleton")
                || name.ends_with(".expected.yaml")
                || name.contains("/import/")
            {
                continue;
            }
            let out = render::render_files(std::slice::from_ref(&file), None);
            for o in &out.objects {
                let bad = tidewater::translate::k8s_valid::check(o);
                // The check render runs (on the typed object) is this check.
                assert_eq!(tidewater::translate::k8s_valid::check_object(o), bad);
                assert!(bad.is_empty(), "{name}: {}: {bad:?}", o["metadata"]["name"]);
                checked += 1;
            }
            assert!(
                out.errors
                    .iter()
                    .all(|e| !e.message.contains("apiserver would reject")),
                "{name}: {:?}",
                out.errors
            );
        }
    }
    assert!(checked > 100, "only {checked} objects");
}

/// The API server does not enforce `format: int32` (kubernetes/kubernetes#136091): without
/// bounds it stores `2147483648` in an `int32` field, which the operator's typed watch cannot
/// read, and the list of the whole kind fails with it (kube-rs/kube#774): one bad object would
/// stall every object of its kind. Every integer of every CRD carries bounds its Rust type holds.
#[test]
fn the_apiserver_stores_no_integer_the_operator_cannot_read() {
    /// Integers of `schema` whose bounds are missing or wider than their Rust type's.
    fn unbounded(schema: &Value, path: &str, bad: &mut Vec<String>, seen: &mut usize) {
        match schema {
            Value::Object(m) => {
                if m.get("type") == Some(&json!("integer")) {
                    *seen += 1;
                    let (min, max) = (m.get("minimum"), m.get("maximum"));
                    let fits = match m.get("format").and_then(Value::as_str) {
                        // JSON decoding in the API server refuses what is past int64.
                        Some("int64") => true,
                        Some("int32") => {
                            min.and_then(Value::as_f64)
                                .is_some_and(|x| x >= f64::from(i32::MIN))
                                && max
                                    .and_then(Value::as_f64)
                                    .is_some_and(|x| x <= f64::from(i32::MAX))
                        }
                        _ => false,
                    };
                    if !fits {
                        bad.push(format!("{path}: {m:?}"));
                    }
                }
                for (k, v) in m {
                    unbounded(v, &format!("{path}.{k}"), bad, seen);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| unbounded(v, path, bad, seen)),
            _ => {}
        }
    }
    let (mut bad, mut seen) = (Vec::new(), 0);
    for crd in tidewater::api::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        for v in &crd.spec.versions {
            let schema = serde_json::to_value(&v.schema).unwrap();
            unbounded(&schema, &name, &mut bad, &mut seen);
        }
    }
    assert!(seen > 100, "only {seen} integers");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
