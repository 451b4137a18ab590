//! `tidewater import`: every corpus file imports; importing raw ECS JSON then rendering gives the
//! same objects as rendering the raw JSON; golden manifests and reports for CloudFormation
//! (YAML with short-form intrinsics, JSON), Terraform and bad input; the CLI's files, report
//! formats and exit code.
//!
//! Golden files are `tests/golden/import/NAME.expected.yaml` (manifests and the JSON report) and
//! a few `NAME.report.{json,md}`; `TIDEWATER_UPDATE=1` rewrites them (review the diff).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use tidewater::import::{self, Import, InputFile, Options};
use tidewater::render;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Paths relative to the repository root, so that reports are the same everywhere.
fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(root().join(path)).ok()
}

fn run(paths: &[&str], params: &[(&str, &str)], namespace: Option<&str>) -> Import {
    let abs: Vec<PathBuf> = paths.iter().map(|p| root().join(p)).collect();
    let files = import::collect_files(&abs).unwrap();
    assert!(!files.is_empty(), "no input in {paths:?}");
    let inputs: Vec<InputFile> = files
        .iter()
        .map(|f| InputFile {
            file: rel(f),
            text: std::fs::read_to_string(f).unwrap(),
        })
        .collect();
    let opts = Options {
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        namespace: namespace.map(str::to_string),
    };
    import::import(&inputs, &opts, &read)
}

fn params_file(path: &str) -> Vec<(String, String)> {
    read(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn corpus() -> Vec<PathBuf> {
    let files = import::collect_files(&[root().join("tests/fixtures/corpus")]).unwrap();
    assert!(files.len() >= 60, "only {} corpus files", files.len());
    files
}

/// Corpus files ECS itself rejects even once the import has dropped their empty placeholders
/// (`generate-cli-skeleton` output: zero health check intervals, sizes, ...).
const REJECTED_BY_ECS: &[&str] =
    &["tests/fixtures/corpus/taskdefs/058-docs-register-skeleton-all-fields.json"];

#[test]
fn every_corpus_file_imports() {
    let mut manifests = 0;
    for file in corpus() {
        let name = rel(&file);
        let out = run(&[&name], &[], Some("corpus"));
        if REJECTED_BY_ECS.contains(&name.as_str()) {
            assert!(
                !out.report.errors.is_empty(),
                "{name}: imported without error"
            );
            continue;
        }
        assert!(
            out.report.errors.is_empty(),
            "{name}: {:#?}",
            out.report.errors
        );
        assert!(!out.manifests.is_empty(), "{name}: no manifests");
        for m in &out.manifests {
            render::recognise(&name, &m.value).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(m.value["metadata"]["namespace"], "corpus");
        }
        manifests += out.manifests.len();
    }
    assert!(manifests >= 90, "only {manifests} manifests");
}

fn docs(out: &Import, file: &str) -> Vec<(String, Value)> {
    out.manifests
        .iter()
        .map(|m| (file.to_string(), m.value.clone()))
        .collect()
}

#[test]
fn import_then_render_gives_the_objects_of_render() {
    let mut checked = 0;
    let mut skipped = Vec::new();
    for file in corpus() {
        let name = rel(&file);
        if !(name.contains("/taskdefs/") || name.contains("/services/")) {
            continue;
        }
        let raw = render::render_files(std::slice::from_ref(&file), None);
        let out = run(&[&name], &[], None);
        // Raw bodies the CRDs reject (generate-cli-skeleton output: empty placeholders in
        // required members, a container depending on itself) are made valid by the import, so
        // their render differs; they are few and said so in the report.
        let cleaned = out.report.resources.iter().any(|r| {
            r.notes
                .iter()
                .any(|n| n.message.starts_with("list item dropped"))
        });

        let imported = render::render_documents(&docs(&out, &name), None);
        if (cleaned && raw.objects != imported.objects) || REJECTED_BY_ECS.contains(&name.as_str())
        {
            skipped.push(name);
            continue;
        }
        // The same problems, at the same ECS paths (the manifest nests them under `spec`).
        let at = |es: &[render::InputError]| -> Vec<(String, String)> {
            es.iter()
                .map(|e| (e.path.trim_start_matches("spec.").into(), e.message.clone()))
                .collect()
        };
        assert_eq!(
            at(&raw.errors),
            at(&imported.errors),
            "{name}: errors differ"
        );
        pretty_assertions::assert_eq!(raw.objects, imported.objects, "{name}: objects differ");
        checked += 1;
    }
    assert!(checked >= 55, "only {checked} round trips");
    assert_eq!(
        skipped,
        vec![
            // Raw, ECS rejects them (an empty port mapping); the import drops the empty items
            // and they render. (services/010, a skeleton with port 0, is rejected both ways.)
            "tests/fixtures/corpus/taskdefs/013-firelens-logstash-awsvpc.json",
            "tests/fixtures/corpus/taskdefs/058-docs-register-skeleton-all-fields.json"
        ],
        "inputs the import had to clean"
    );
}

#[test]
fn import_output_is_stable_when_imported_again() {
    // Importing the manifests import wrote (Tidewater manifests are accepted) changes nothing.
    let out = run(&["tests/fixtures/import/cfn-queue-worker.json"], &[], None);
    let yaml = import::to_yaml(&out.manifests);
    let again = import::import(
        &[InputFile {
            file: "out.yaml".into(),
            text: yaml.clone(),
        }],
        &Options::default(),
        &|_| None,
    );
    assert!(again.report.errors.is_empty(), "{:?}", again.report.errors);
    let specs = |i: &Import| -> Vec<Value> {
        i.manifests
            .iter()
            .map(|m| m.value["spec"].clone())
            .collect()
    };
    assert_eq!(specs(&out), specs(&again));
}

struct Case {
    name: &'static str,
    inputs: &'static [&'static str],
    params: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "cfn-web-service",
        inputs: &["tests/fixtures/import/cfn-web-service.yaml"],
        params: None,
    },
    Case {
        name: "cfn-web-service-production",
        inputs: &["tests/fixtures/import/cfn-web-service.yaml"],
        params: Some("tests/fixtures/import/cfn-web-service.production.params"),
    },
    Case {
        name: "cfn-queue-worker",
        inputs: &["tests/fixtures/import/cfn-queue-worker.json"],
        params: None,
    },
    Case {
        name: "tf-web",
        inputs: &["tests/fixtures/import/tf-web"],
        params: None,
    },
    Case {
        name: "tf-batch",
        inputs: &["tests/fixtures/import/tf-batch"],
        params: None,
    },
    Case {
        name: "aws-cli",
        inputs: &[
            "tests/fixtures/corpus/taskdefs/061-kecs-service-with-secrets.json",
            "tests/fixtures/corpus/services/005-kecs-service-with-secrets-circuitbreaker.json",
        ],
        params: None,
    },
    Case {
        name: "bad",
        inputs: &["tests/fixtures/import/bad"],
        params: None,
    },
];

fn case(c: &Case) -> Import {
    let params = c.params.map(params_file).unwrap_or_default();
    let params: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    run(c.inputs, &params, None)
}

fn check(expected_path: &Path, actual: &str) {
    if std::env::var_os("TIDEWATER_UPDATE").is_some() {
        std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
        std::fs::write(expected_path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(expected_path).unwrap_or_default();
    pretty_assertions::assert_eq!(expected, actual, "{} differs", expected_path.display());
}

#[test]
fn golden_manifests_and_reports() {
    let dir = root().join("tests/golden/import");
    for c in CASES {
        let out = case(c);
        let manifests: Vec<Value> = out.manifests.iter().map(|m| m.value.clone()).collect();
        let report: Value = serde_json::from_str(&out.report.to_json()).unwrap();
        let doc = serde_json::json!({ "manifests": manifests, "report": report });
        check(
            &dir.join(format!("{}.expected.yaml", c.name)),
            &serde_yaml_ng::to_string(&doc).unwrap(),
        );
    }
    let web = case(&CASES[1]);
    check(
        &dir.join("cfn-web-service-production.report.md"),
        &web.report.to_markdown(),
    );
    check(
        &dir.join("cfn-web-service-production.report.txt"),
        &web.report.to_table(),
    );
    let worker = case(&CASES[2]);
    check(
        &dir.join("cfn-queue-worker.report.json"),
        &worker.report.to_json(),
    );
}

fn manifest<'a>(out: &'a Import, kind: &str, name: &str) -> &'a Value {
    &out.manifests
        .iter()
        .find(|m| m.kind.as_str() == kind && m.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no {kind}/{name} in {:?}",
                out.manifests.iter().map(|m| &m.name).collect::<Vec<_>>()
            )
        })
        .value
}

#[test]
fn cloudformation_intrinsics_parameters_and_conditions() {
    let staging = case(&CASES[0]);
    let td = manifest(&staging, "TaskDefinition", "shop-web-staging");
    assert_eq!(td["spec"]["cpu"], "512", "Fn::FindInMap on the default");
    assert_eq!(
        td["spec"]["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4.2"
    );
    let env = &td["spec"]["containerDefinitions"][0]["environment"];
    assert_eq!(
        env.as_array().unwrap().len(),
        2,
        "Fn::If with AWS::NoValue removes the entry: {env}"
    );
    assert_eq!(
        td["spec"]["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-group"],
        "/ecs/shop-web-staging"
    );
    let svc = manifest(&staging, "Service", "web");
    assert_eq!(
        svc["spec"]["cluster"], "shop-staging",
        "!Ref to the cluster resource is its name"
    );
    assert_eq!(
        svc["spec"]["taskDefinition"], "shop-web-staging",
        "!Ref to the task definition is its family"
    );
    assert!(
        svc["spec"].get("loadBalancers").is_none(),
        "HasTargetGroup is unknown: false branch"
    );
    assert_eq!(
        svc["spec"]["autoScaling"]["scalableTarget"]["MaxCapacity"],
        4
    );

    let prod = case(&CASES[1]);
    let svc = manifest(&prod, "Service", "web");
    assert_eq!(
        svc["spec"]["loadBalancers"][0]["targetGroupArn"],
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-web/0123456789abcdef"
    );
    assert_eq!(
        svc["spec"]["autoScaling"]["scalableTarget"]["MaxCapacity"],
        12
    );
    let td = manifest(&prod, "TaskDefinition", "shop-web-production");
    assert_eq!(
        td["spec"]["taskRoleArn"], "arn:aws:iam::123456789012:role/shop-web-production",
        "an IAM role's ARN from its RoleName"
    );
    assert_eq!(
        td["spec"]["containerDefinitions"][0]["environment"][2]["name"],
        "SENTRY_ENABLED"
    );
    let job = manifest(&prod, "ScheduledTask", "shop-nightly-report-production");
    assert_eq!(job["spec"]["cluster"], "shop-production");
    assert_eq!(
        job["spec"]["overrides"]["containerOverrides"][0]["environment"][0]["name"],
        "FULL"
    );
}

#[test]
fn terraform_variables_locals_and_functions() {
    let web = case(&CASES[3]);
    let td = manifest(&web, "TaskDefinition", "checkout-staging");
    let c = &td["spec"]["containerDefinitions"][0];
    assert_eq!(
        c["image"], "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:3.2.1",
        "from terraform.tfvars"
    );
    assert_eq!(
        c["environment"][1],
        serde_json::json!({"name": "LOG_LEVEL", "value": "debug"})
    );
    assert_eq!(
        c["logConfiguration"]["options"]["awslogs-group"],
        "/ecs/checkout-staging"
    );
    assert_eq!(td["spec"]["cpu"], "512");
    let cluster = manifest(&web, "Cluster", "payments-staging");
    assert_eq!(
        cluster["spec"]["defaultCapacityProviderStrategy"][0]["capacityProvider"],
        "FARGATE"
    );
    let svc = manifest(&web, "Service", "checkout");
    assert_eq!(svc["spec"]["cluster"], "payments-staging");
    assert_eq!(
        svc["spec"]["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"],
        true
    );
    assert_eq!(
        svc["spec"]["autoScaling"]["scheduledActions"][0]["ScheduledActionName"],
        "checkout-night"
    );
    let job = manifest(&web, "ScheduledTask", "checkout-staging-reconcile");
    assert_eq!(job["spec"]["taskDefinition"], "checkout-staging");

    let batch = case(&CASES[4]);
    let export = manifest(&batch, "TaskDefinition", "nightly-export");
    assert_eq!(
        export["spec"]["containerDefinitions"][0]["cpu"], 512,
        "heredoc interpolation"
    );
    assert_eq!(
        export["spec"]["volumes"][0]["host"]["sourcePath"],
        "/var/lib/export"
    );
    let templated = manifest(&batch, "TaskDefinition", "templated");
    assert_eq!(
        templated["spec"]["containerDefinitions"][0]["portMappings"][1]["containerPort"], 9090,
        "templatefile()"
    );
    let router = manifest(&batch, "TaskDefinition", "log-router");
    assert_eq!(
        router["spec"]["containerDefinitions"][0]["firelensConfiguration"]["type"], "fluentbit",
        "file()"
    );
    let sched = manifest(&batch, "ScheduledTask", "nightly-export");
    assert_eq!(sched["spec"]["scheduleExpressionTimezone"], "Europe/Berlin");

    let pinned = run(
        &["tests/fixtures/import/tf-batch"],
        &[("exporter_version", "9.9")],
        None,
    );
    let export = manifest(&pinned, "TaskDefinition", "nightly-export");
    assert_eq!(
        export["spec"]["containerDefinitions"][0]["image"],
        "registry.example.com/export:9.9"
    );
}

#[test]
fn bad_input_is_reported_with_file_and_path_and_the_rest_is_imported() {
    let out = case(&CASES[6]);
    let errors: BTreeSet<(String, String, String)> = out
        .report
        .errors
        .iter()
        .map(|e| {
            (
                e.label().to_string(),
                e.file().to_string(),
                e.path().to_string(),
            )
        })
        .collect();
    let expect = |label: &str, file: &str, path: &str| {
        assert!(
            errors.contains(&(
                label.into(),
                format!("tests/fixtures/import/bad/{file}"),
                path.into()
            )),
            "missing {label} {file} {path} in {errors:#?}"
        );
    };
    expect("syntax", "invalid-json.json", ".");
    expect("syntax", "invalid-template.yaml", "line 8, column 10");
    expect("syntax", "tf/invalid.tf", "line 5, column 13");
    expect("unknown-shape", "unknown-shape.json", ".");
    expect(
        "missing-field",
        "partly-valid.yaml",
        "Resources.NoImage.Properties.ContainerDefinitions[0]",
    );
    expect(
        "invalid-value",
        "partly-valid.yaml",
        "Resources.BadCount.Properties.DesiredCount",
    );
    expect(
        "invalid-value",
        "partly-valid.yaml",
        "Resources.BadCount.Properties.LaunchType",
    );
    assert_eq!(
        out.manifests
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>(),
        vec!["still-imported"]
    );
    assert!(out.failed());
}

#[test]
fn follow_ups_are_concrete_and_stated_once() {
    let out = case(&CASES[1]);
    let texts: Vec<&str> = out
        .report
        .follow_ups
        .iter()
        .map(|f| f.text.as_str())
        .collect();
    let unique: BTreeSet<&str> = texts.iter().copied().collect();
    assert_eq!(texts.len(), unique.len(), "{texts:#?}");
    let has = |needle: &str| {
        assert_eq!(
            texts.iter().filter(|t| t.contains(needle)).count(),
            1,
            "one follow-up containing {needle:?} in {texts:#?}"
        )
    };
    has("IAM role `arn:aws:iam::123456789012:role/shop-web-production`");
    has("system:serviceaccount:<namespace>:web");
    has("External Secrets Operator");
    has("Install the AWS Load Balancer Controller");
    has("targetgroup/shop-web/0123456789abcdef");
    has("Install the Amazon EFS CSI driver");
    has("volumeHandle `fs-0123abcd::fsap-0456ef`");
    has("EKS Fargate profile");
    has("metrics-server");
    // Two workloads sharing a role and a node group: still one follow-up each.
    let worker = case(&CASES[2]);
    let texts: Vec<&str> = worker
        .report
        .follow_ups
        .iter()
        .map(|f| f.text.as_str())
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("role/queue-worker"))
            .count(),
        1,
        "{texts:#?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("node group named `batch-workers`"))
            .count(),
        1,
        "{texts:#?}"
    );
}

#[test]
fn every_field_has_a_disposition_from_the_table() {
    for c in &CASES[..6] {
        let out = case(c);
        for r in &out.report.resources {
            assert!(
                !r.fields.is_empty(),
                "{}: {}/{} has no fields",
                c.name,
                r.kind,
                r.name
            );
            for f in &r.fields {
                assert!(
                    ["mapped", "approximated", "unsupported"].contains(&f.disposition.as_str())
                        || f.path == "revision",
                    "{}: {}/{}: {} has no table row",
                    c.name,
                    r.kind,
                    r.name,
                    f.path
                );
            }
        }
    }
}

#[test]
fn renames_are_reported() {
    let out = case(&CASES[2]);
    let svc = out
        .report
        .resources
        .iter()
        .find(|r| r.kind == "Service")
        .unwrap();
    assert_eq!(svc.ecs_name, "QueueWorker");
    assert!(svc.name.starts_with("queueworker-"));
    assert!(
        svc.notes
            .iter()
            .any(|n| n.kind == import::NoteKind::Renamed)
    );
}

fn cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .arg("import")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn cli_writes_files_reports_and_fails_on_errors() {
    let tmp = std::env::temp_dir().join(format!("tidewater-import-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let out_dir = tmp.join("out");
    let json = tmp.join("report.json");
    let md = tmp.join("report.md");
    let o = cli(&[
        "-f",
        "tests/fixtures/import/cfn-queue-worker.json",
        "-o",
        out_dir.to_str().unwrap(),
        "--report",
        json.to_str().unwrap(),
        "-p",
        "QueueUrl=https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        vec![
            "cluster-batch.yaml",
            "scheduledtask-queue-cleanup.yaml",
            "service-queueworker-009df6.yaml",
            "taskdefinition-queue-worker.yaml"
        ]
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["resources"], 4);
    assert_eq!(
        report["summary"]["fields"]["unresolved"], 0,
        "--param resolved QueueUrl"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("RESOURCE") && stderr.contains("Follow-ups:"),
        "{stderr}"
    );

    let o = cli(&[
        "-f",
        "tests/fixtures/import/bad",
        "--report",
        md.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("error: [syntax] tests/fixtures/import/bad/invalid-json.json"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("name: still-imported"), "{stdout}");
    assert!(
        std::fs::read_to_string(&md)
            .unwrap()
            .starts_with("# Tidewater import report")
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
