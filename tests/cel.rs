//! The CRDs' CEL rules, evaluated client-side (kube's CEL support) on the invalid fixtures and
//! the examples. The same files are checked against the real apiserver by the e2e suite.

use std::path::Path;
use tidewater::render;

fn docs(dir: &str) -> Vec<(String, String, serde_json::Value)> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    for f in render::collect_files(&[d]).unwrap() {
        let text = std::fs::read_to_string(&f).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
            .unwrap_or_default()
            .to_string();
        for doc in render::documents(&f.display().to_string(), &text).unwrap() {
            out.push((f.display().to_string(), expect.clone(), doc));
        }
    }
    assert!(!out.is_empty(), "no documents in {dir}");
    out
}

fn cel(kind: &str, spec: &serde_json::Value) -> Result<(), String> {
    let violations = tidewater::api::cel_violations(kind, spec);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(format!("{violations:?}"))
    }
}

/// The messages of the CEL rules, from the CRDs.
fn rule_messages() -> Vec<String> {
    let yaml = tidewater::api::crd_yaml();
    yaml.lines()
        .filter_map(|l| l.trim().strip_prefix("message: "))
        .map(|m| m.trim_matches('\'').replace("''", "'"))
        .collect()
}

#[test]
fn invalid_fixtures_are_rejected_by_their_cel_rule() {
    let messages = rule_messages();
    let mut checked = 0;
    for (file, expect, doc) in docs("tests/fixtures/invalid") {
        if !messages.iter().any(|m| m.contains(&expect)) {
            continue; // an OpenAPI schema failure, checked by the apiserver in e2e
        }
        let err = cel(doc["kind"].as_str().unwrap(), &doc["spec"])
            .expect_err(&format!("{file}: accepted"));
        assert!(
            err.contains(&expect),
            "{file}: expected `{expect}`, got {err}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} CEL fixtures");
}

#[test]
fn examples_pass_every_cel_rule() {
    for (file, _, doc) in docs("examples") {
        if let Err(e) = cel(doc["kind"].as_str().unwrap(), &doc["spec"]) {
            panic!("{file}: {e}");
        }
    }
}

#[test]
fn fargate_sizes_written_with_units_are_left_to_registration() {
    let spec = serde_json::json!({"requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "3 GB",
        "containerDefinitions": [{"name": "a", "image": "i"}]});
    assert!(cel("TaskDefinition", &spec).is_ok());
    let bad = serde_json::json!({"requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "512",
        "containerDefinitions": [{"name": "a", "image": "i"}]});
    assert!(
        cel("TaskDefinition", &bad)
            .unwrap_err()
            .contains("No Fargate configuration exists")
    );
}
