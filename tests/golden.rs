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

#[test]
fn golden_objects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut n = 0;
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    for input in inputs {
        let name = input.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".expected.yaml") || !name.ends_with(".yaml") {
            continue;
        }
        check(&input, &dir.join(name.replace(".yaml", ".expected.yaml")));
        n += 1;
    }
    assert!(n >= 6, "only {n} golden inputs");
}

#[test]
fn examples_render_to_their_golden_objects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    check(
        &root.join("examples"),
        &root.join("tests/golden/examples.expected.yaml"),
    );
}
