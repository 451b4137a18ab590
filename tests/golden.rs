//! Whole-object golden tests: each `tests/golden/NAME.yaml` renders to exactly the objects and
//! warnings in `tests/golden/NAME.expected.yaml`. `make generate` (TIDEWATER_UPDATE=1) rewrites
//! them; review the diff.

use std::path::Path;
use tidewater::render;

fn golden(input: &Path) -> String {
    let out = render::render_files(&[input.to_path_buf()], None);
    assert!(
        out.errors.is_empty(),
        "{}: {:?}",
        input.display(),
        out.errors
    );
    let warnings: Vec<String> = out.warnings.iter().map(|w| w.to_string()).collect();
    let doc = serde_json::json!({ "warnings": warnings, "objects": out.objects });
    serde_yaml_ng::to_string(&doc).unwrap()
}

fn check(input: &Path, expected_path: &Path) {
    let actual = golden(input);
    if std::env::var_os("TIDEWATER_UPDATE").is_some() {
        std::fs::write(expected_path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(expected_path).unwrap_or_default();
    pretty_assertions::assert_eq!(
        expected,
        actual,
        "{} differs from {}",
        input.display(),
        expected_path.display()
    );
}

/// `tests/golden/NAME.yaml` against `tests/golden/NAME.expected.yaml`.
fn case(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    check(
        &dir.join(format!("{name}.yaml")),
        &dir.join(format!("{name}.expected.yaml")),
    );
}

/// One test per golden case, so one failure does not hide the others.
macro_rules! golden_cases {
    ($($test:ident => $name:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                case($name);
            }
        )*

        /// The golden cases that have a test above.
        const CASES: &[&str] = &[$($name),*];
    };
}

golden_cases! {
    commands_env_secrets => "commands-env-secrets",
    daemon_task_schedule => "daemon-task-schedule",
    health_dependencies => "health-dependencies",
    placement_scaling => "placement-scaling",
    ports_network => "ports-network",
    resources => "resources",
    volumes_security => "volumes-security",
}

#[test]
fn every_golden_input_has_its_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut inputs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && !n.ends_with(".expected.yaml"))
        .map(|n| n.trim_end_matches(".yaml").to_string())
        .collect();
    inputs.sort();
    assert_eq!(
        inputs, CASES,
        "add a line to golden_cases! for each tests/golden/NAME.yaml"
    );
}

#[test]
fn examples_render_to_their_golden_objects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    check(
        &root.join("examples"),
        &root.join("tests/golden/examples.expected.yaml"),
    );
}
