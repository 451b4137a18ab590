//! Translation speed and output size: every task definition and service of the corpus rendered
//! (the pure core the operator runs on every reconcile), and a synthetic namespace of many
//! Services. Prints its figures; run with `cargo bench --bench translate`.
//!
//! It also compares, per task definition, the pure core (a parsed task definition to its pod
//! template) with the full translation path `render` and every reconcile run (ECS's checks, the
//! pod template, the warnings, the field-table walk): issue 12 wants it within 2× of the core.
//! `render` end to end (reading the document, Kubernetes checks of input and output) is shown
//! beside it.
//!
//! Not a test: numbers vary by machine, so nothing here asserts on time.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use serde_json::{Value, json};

/// The allocator of the `tidewater` binary (src/main.rs), so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn corpus() -> Vec<(String, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut docs = Vec::new();
    for dir in ["taskdefs", "services"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let name = f.display().to_string();
            if let Ok(ds) = tidewater::render::documents(&name, &text) {
                docs.extend(ds.into_iter().map(|d| (name.clone(), d)));
            }
        }
    }
    docs
}

fn synthetic(services: usize) -> Vec<(String, Value)> {
    let mut docs = Vec::new();
    for i in 0..services {
        docs.push((
            "synthetic".to_string(),
            json!({
                "apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "TaskDefinition",
                "metadata": {"name": format!("app-{i}")},
                "spec": {"family": format!("app-{i}"), "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                    "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27",
                        "portMappings": [{"containerPort": 8080}],
                        "environment": [{"name": "N", "value": i.to_string()}],
                        "healthCheck": {"command": ["CMD-SHELL", "true"]}}]}
            }),
        ));
        docs.push((
            "synthetic".to_string(),
            json!({
                "apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Service",
                "metadata": {"name": format!("app-{i}")},
                "spec": {"taskDefinition": format!("app-{i}"), "desiredCount": 3,
                    "loadBalancers": [{"targetGroupArn": format!("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/app-{i}/0123"), "containerName": "app", "containerPort": 8080}],
                    "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200}}
            }),
        ));
    }
    docs
}

fn measure(label: &str, docs: &[(String, Value)], rounds: usize) {
    // Warm up once.
    let out = tidewater::render::render_documents(docs, None);
    let objects = out.objects.len();
    let bytes: usize = out.objects.iter().map(|o| o.to_string().len()).sum();
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(tidewater::render::render_documents(black_box(docs), None));
    }
    let per_round = start.elapsed() / rounds as u32;
    let inputs = docs.len();
    println!(
        "{label:<28} {inputs:>6} inputs -> {objects:>6} objects ({:>7.1} KiB JSON, {:>4} warnings): {:>9.3} ms per render, {:>7.1} µs per input",
        bytes as f64 / 1024.0,
        out.warnings.len(),
        per_round.as_secs_f64() * 1e3,
        per_round.as_secs_f64() * 1e6 / inputs.max(1) as f64,
    );
}

/// The task definitions of `docs`: the document as render reads it, and the parsed spec the
/// pure core takes with its family.
type TaskDefinitionInput = (
    (String, Value),
    tidewater::api::task_definition::TaskDefinitionSpec,
    String,
);

fn task_definitions(docs: &[(String, Value)]) -> Vec<TaskDefinitionInput> {
    use tidewater::translate::input::{Resource, recognise_each};
    let mut out = Vec::new();
    for (file, doc) in docs {
        for (resource, _) in recognise_each(file, doc).into_iter().flatten() {
            if let Resource::TaskDefinition { name, spec } = resource {
                let family = tidewater::translate::task_definition::family(&spec, &name);
                out.push(((file.clone(), doc.clone()), *spec, family));
            }
        }
    }
    out
}

/// Task definitions per second: the pure core, the full translation path and `render` end to
/// end, and their ratios to the core.
///
/// The full translation path is what issue 12 measured at 5,500 a second: what `render` and
/// every reconcile run on a parsed spec (ECS's checks, the pod template, the warnings, the
/// field-table walk; [`tidewater::translate::plan::task_definition`]). `render` end to end adds
/// what only `render` does: reading the JSON document into the spec (noting what it does not
/// read), the Kubernetes checks of the document and of the emitted objects, and the set's
/// bookkeeping.
fn core_vs_full(label: &str, docs: &[(String, Value)], rounds: usize) {
    use tidewater::translate::Warnings;
    use tidewater::translate::task_definition::{PodContext, pod_template};
    let tds = task_definitions(docs);
    let n = (tds.len() * rounds) as f64;
    // The three alternate round by round, so that all see the same load on a shared machine.
    let (mut core, mut full, mut render) = (0.0, 0.0, 0.0);
    for _ in 0..rounds {
        let start = Instant::now();
        for (_, spec, family) in &tds {
            let ctx = PodContext {
                family: family.clone(),
                service_account: family.clone(),
                ..PodContext::default()
            };
            black_box(pod_template(
                black_box(spec),
                &ctx,
                &mut Warnings::default(),
            ));
        }
        core += start.elapsed().as_secs_f64();
        let start = Instant::now();
        for (_, spec, family) in &tds {
            let _ = black_box(tidewater::translate::plan::task_definition(
                black_box(family),
                black_box(spec),
            ));
        }
        full += start.elapsed().as_secs_f64();
        let start = Instant::now();
        for (doc, _, _) in &tds {
            black_box(tidewater::render::render_documents(
                std::slice::from_ref(black_box(doc)),
                None,
            ));
        }
        render += start.elapsed().as_secs_f64();
    }
    let (core, full, render) = (n / core, n / full, n / render);
    println!(
        "{label:<28} {:>6} task definitions: pure core {core:>9.0}/s; full translation path {full:>9.0}/s, {:.2}x the core's time (goal <= 2); render end to end {render:>9.0}/s, {:.2}x",
        tds.len(),
        core / full,
        core / render,
    );
    stages(&tds, rounds, 1e6 / core);
}

/// The full path's stages, in µs per task definition (and in cores' times).
fn stages(tds: &[TaskDefinitionInput], rounds: usize, core_us: f64) {
    use tidewater::translate::k8s_valid;
    use tidewater::translate::plan::set;
    let n = (tds.len() * rounds) as f64;
    let time = |f: &mut dyn FnMut(&(String, Value))| {
        let start = Instant::now();
        for _ in 0..rounds {
            for (doc, _, _) in tds {
                f(doc);
            }
        }
        start.elapsed().as_secs_f64() * 1e6 / n
    };
    let check_input = time(&mut |(_, doc)| {
        black_box(k8s_valid::check_input(black_box(doc)));
    });
    let recognise = time(&mut |(file, doc)| {
        black_box(set::recognise_documents([(file.as_str(), doc)]));
    });
    let plan = time(&mut |(file, doc)| {
        let r = set::recognise_documents([(file.as_str(), doc)]);
        black_box(set::plan_recognised(r, None));
    }) - recognise;
    let plan_all = || -> Vec<_> {
        tds.iter()
            .map(|((file, doc), _, _)| {
                set::plan_recognised(set::recognise_documents([(file.as_str(), doc)]), None)
            })
            .collect()
    };
    let outputs = plan_all();
    let start = Instant::now();
    for _ in 0..rounds {
        for out in &outputs {
            for o in &out.objects {
                black_box(k8s_valid::check_object(black_box(o)));
            }
        }
    }
    let check = start.elapsed().as_secs_f64() * 1e6 / n;
    let mut dropped = 0.0;
    for _ in 0..rounds {
        let outputs = plan_all();
        let start = Instant::now();
        drop(black_box(outputs));
        dropped += start.elapsed().as_secs_f64();
    }
    let dropped = dropped * 1e6 / n;
    let part = |us: f64| format!("{us:.2} µs ({:.2}x)", us / core_us);
    println!(
        "{:<28} render's stages per task definition: check_input {}, recognise {}, plan {}, k8s check {}; core {core_us:.2} µs",
        "",
        part(check_input),
        part(recognise),
        part(plan),
        part(check),
    );
    println!(
        "{:<28} of the plan, dropping its output {}",
        "",
        part(dropped)
    );
    let [validate, report, to_value, reconcile] = plan_parts(tds, rounds);
    println!(
        "{:<28} in the plan: validate {}, pod template and warnings {}; PodTemplate to JSON (when printed) {}",
        "",
        part(validate),
        part(report),
        part(to_value),
    );
    println!(
        "{:<28} a TaskDefinition reconcile's translation of its parsed spec (ECS's checks, pod template, warnings): {}",
        "",
        part(reconcile),
    );
}

/// µs per task definition: ECS's checks, the pod template with the warnings, the PodTemplate
/// object to JSON, and what a TaskDefinition reconcile runs on the spec the watch parsed
/// ([`tidewater::translate::plan::task_definition`]).
fn plan_parts(tds: &[TaskDefinitionInput], rounds: usize) -> [f64; 4] {
    use tidewater::translate::task_definition::PodContext;
    use tidewater::translate::{Object, service, validate};
    let n = (tds.len() * rounds) as f64;
    let ctx = |family: &String| PodContext {
        family: family.clone(),
        service_account: family.clone(),
        ..PodContext::default()
    };
    let start = Instant::now();
    for _ in 0..rounds {
        for (_, spec, _) in tds {
            let _ = black_box(validate::task_definition(black_box(spec)));
        }
    }
    let validate = start.elapsed().as_secs_f64() * 1e6 / n;
    let start = Instant::now();
    for _ in 0..rounds {
        for (_, spec, family) in tds {
            black_box(service::task_definition_report(
                black_box(spec),
                &ctx(family),
            ));
        }
    }
    let report = start.elapsed().as_secs_f64() * 1e6 / n;
    let objects: Vec<Object> = tds
        .iter()
        .map(|(_, spec, family)| {
            let build = service::task_definition_report(spec, &ctx(family)).0;
            Object::PodTemplate(k8s_openapi::api::core::v1::PodTemplate {
                metadata: Default::default(),
                template: Some(build.template),
            })
        })
        .collect();
    let start = Instant::now();
    for _ in 0..rounds {
        for o in &objects {
            black_box(black_box(o).to_value());
        }
    }
    let to_value = start.elapsed().as_secs_f64() * 1e6 / n;
    let start = Instant::now();
    for _ in 0..rounds {
        for (_, spec, family) in tds {
            let _ = black_box(tidewater::translate::plan::task_definition(
                black_box(family),
                black_box(spec),
            ));
        }
    }
    let reconcile = start.elapsed().as_secs_f64() * 1e6 / n;
    [validate, report, to_value, reconcile]
}

/// The full path alone, or one of its stages, for profiling (`TRANSLATE_BENCH=full`).
fn full_only(docs: &[(String, Value)]) {
    use tidewater::translate::plan::set;
    use tidewater::translate::task_definition::{PodContext, pod_template};
    use tidewater::translate::{k8s_valid, service};
    let rounds: usize = std::env::var("TRANSLATE_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2000);
    let tds = task_definitions(docs);
    // TRANSLATE_PART: `core` the pure core alone (as `core_vs_full` runs it); `recognise`,
    // `plan` (recognise and plan), `report` (pod template and warnings of the parsed spec),
    // `check` (k8s check of the planned objects), `check_input`, `walk` (the field-table walk),
    // `validate` (ECS's checks) one stage alone.
    let part = std::env::var("TRANSLATE_PART").unwrap_or_else(|_| "full".into());
    let planned: Vec<_> = tds
        .iter()
        .map(|((file, doc), _, _)| {
            set::plan_recognised(set::recognise_documents([(file.as_str(), doc)]), None)
        })
        .collect();
    let start = Instant::now();
    for _ in 0..rounds {
        for ((input, spec, family), planned) in tds.iter().zip(&planned) {
            let (file, doc) = input;
            let ctx = || PodContext {
                family: family.clone(),
                service_account: family.clone(),
                ..PodContext::default()
            };
            match part.as_str() {
                "core" => {
                    black_box(pod_template(
                        black_box(spec),
                        &ctx(),
                        &mut tidewater::translate::Warnings::default(),
                    ));
                }
                "recognise" => {
                    black_box(set::recognise_documents([(file.as_str(), black_box(doc))]));
                }
                "plan" => {
                    let r = set::recognise_documents([(file.as_str(), black_box(doc))]);
                    black_box(set::plan_recognised(r, None));
                }
                "report" => {
                    black_box(service::task_definition_report(black_box(spec), &ctx()));
                }
                "check" => {
                    for o in &planned.objects {
                        black_box(k8s_valid::check_object(black_box(o)));
                    }
                }
                "walk" => {
                    let mut w = tidewater::translate::Warnings::default();
                    tidewater::translate::walk::report_serialised(
                        tidewater::translate::fields::Request::RegisterTaskDefinition,
                        &black_box(spec).register,
                        &mut w,
                    );
                    black_box(w);
                }
                "validate" => {
                    let _ = black_box(tidewater::translate::validate::task_definition(black_box(
                        spec,
                    )));
                }
                "check_input" => {
                    black_box(k8s_valid::check_input(black_box(doc)));
                }
                _ => {
                    black_box(tidewater::render::render_documents(
                        std::slice::from_ref(black_box(input)),
                        None,
                    ));
                }
            }
        }
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / (tds.len() * rounds) as f64;
    println!("{part} only: {us:.2} µs per task definition ({rounds} rounds)");
}

fn main() {
    // `cargo test --benches` runs bench targets once as tests; keep that quick.
    let quick =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { 20 };
    println!("translation benchmark ({rounds} rounds each)");
    // TRANSLATE_BENCH=core runs only the core against the full path (for profiling);
    // TRANSLATE_BENCH=full only the full path of the corpus's task definitions, for
    // TRANSLATE_ROUNDS rounds (for profiling it alone).
    if std::env::var("TRANSLATE_BENCH").as_deref() == Ok("full") {
        return full_only(&corpus());
    }
    if std::env::var("TRANSLATE_BENCH").as_deref() != Ok("core") {
        measure("corpus (taskdefs+services)", &corpus(), rounds);
        measure("synthetic 100 services", &synthetic(100), rounds);
        measure("synthetic 1000 services", &synthetic(1000), rounds.min(5));
    }
    let rounds = if quick { 1 } else { 200 };
    core_vs_full("corpus task definitions", &corpus(), rounds);
    core_vs_full(
        "synthetic task definitions",
        &synthetic(100),
        (rounds / 4).max(1),
    );
}
