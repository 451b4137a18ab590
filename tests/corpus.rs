//! Every real task definition and service definition of the corpus (tests/fixtures/corpus,
//! copied from shared/corpus with its origins in SOURCES.tsv) renders without error, and every
//! warning names a field the table marks approximated or unsupported.

use std::path::Path;
use tidewater::render;
use tidewater::translate::fields::{Disposition, Request, lookup};

fn corpus(dir: &str) -> Vec<std::path::PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/corpus")
        .join(dir);
    let files = render::collect_files(&[d]).unwrap();
    assert!(!files.is_empty(), "no corpus files in {dir}");
    files
}

fn request_of(resource: &str) -> Request {
    match resource.split('/').next().unwrap() {
        "TaskDefinition" => Request::RegisterTaskDefinition,
        "Service" => Request::CreateService,
        "Task" | "ScheduledTask" => Request::RunTask,
        "Cluster" => Request::CreateCluster,
        other => panic!("unexpected resource {other}"),
    }
}

fn check_warnings(out: &render::Output, file: &Path) {
    for w in &out.warnings {
        let path = &w.warning.path;
        if w.warning
            .message
            .contains("not a field of this ECS request shape")
            || w.warning.message.contains("where ECS expects a list")
        {
            continue; // unknown input fields: reported, not in the table by definition
        }
        let (request, path) = match path.strip_prefix("autoScaling.scalableTarget.") {
            Some(p) => (Request::RegisterScalableTarget, p.to_string()),
            None => (request_of(&w.resource), path.clone()),
        };
        if path == "taskDefinition" && w.warning.message.contains("not in the input") {
            continue; // a service rendered without its task definition
        }
        let row = lookup(request, &path).unwrap_or_else(|| {
            panic!(
                "{}: warning on {} has no table row: {}",
                file.display(),
                path,
                w
            )
        });
        assert_ne!(
            row.disposition,
            Disposition::Mapped,
            "{}: warning on a mapped field: {}",
            file.display(),
            w
        );
    }
}

/// Corpus files ECS itself rejects (documentation skeletons and fragments, a typo), with the
/// ECS rule `render` rejects them by.
const REJECTED_BY_ECS: &[(&str, &str)] = &[
    // Keys in the wrong case ("ContainerPort", "Protcol"): the port mapping is empty.
    (
        "taskdefs/013-firelens-logstash-awsvpc.json",
        "each port mapping needs containerPort",
    ),
    // `generate-cli-skeleton` output: empty names, zero sizes.
    (
        "taskdefs/058-docs-register-skeleton-all-fields.json",
        "Container.name should not be null or empty.",
    ),
    (
        "services/010-docs-create-service-skeleton.json",
        "0 should be less than or equal to 65535 and greater than or equal to 1",
    ),
];

/// Whether `file` is rejected as ECS rejects it (then it is not rendered further).
fn rejected_by_ecs(file: &Path, out: &render::Output) -> bool {
    let Some((_, reason)) = REJECTED_BY_ECS.iter().find(|(f, _)| file.ends_with(f)) else {
        return false;
    };
    assert!(
        out.errors.iter().any(|e| e.message.contains(reason)),
        "{}: expected an error containing {reason:?}, got {:?}",
        file.display(),
        out.errors
    );
    true
}

#[test]
fn every_corpus_task_definition_renders() {
    let mut rendered = 0;
    for file in corpus("taskdefs") {
        let out = render::render_files(std::slice::from_ref(&file), Some("corpus"));
        if rejected_by_ecs(&file, &out) || skeleton(&file) {
            continue;
        }
        assert!(
            out.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            out.errors
        );
        assert!(!out.objects.is_empty(), "{}: no objects", file.display());
        check_warnings(&out, &file);
        rendered += 1;
    }
    assert!(rendered >= 40, "only {rendered} task definitions");
}

#[test]
fn every_corpus_service_renders() {
    let mut rendered = 0;
    for file in corpus("services") {
        let out = render::render_files(std::slice::from_ref(&file), Some("corpus"));
        if rejected_by_ecs(&file, &out) || skeleton(&file) {
            continue;
        }
        assert!(
            out.errors.is_empty(),
            "{}: {:?}",
            file.display(),
            out.errors
        );
        assert!(
            out.objects
                .iter()
                .any(|o| o["kind"] == "Deployment" || o["kind"] == "DaemonSet"),
            "{}: no workload",
            file.display()
        );
        check_warnings(&out, &file);
        rendered += 1;
    }
    assert!(rendered >= 10, "only {rendered} services");
}

/// The `generate-cli-skeleton` documents (every field present, with zeros and empty strings)
/// are not valid requests: ECS rejects them, and the objects they would make are rejected by
/// the apiserver (port 0, empty names). Render reports them as errors, each naming a path.
fn skeleton(file: &std::path::Path) -> bool {
    if !file.display().to_string().contains("skeleton") {
        return false;
    }
    let out = render::render_files(std::slice::from_ref(&file.to_path_buf()), Some("corpus"));
    assert!(
        !out.errors.is_empty(),
        "{}: skeleton accepted",
        file.display()
    );
    for e in &out.errors {
        assert!(!e.path.is_empty() && e.path != ".", "{e}");
    }
    true
}
