//! `tidewater render`: manifests or raw ECS JSON in, the exact objects the operator would
//! create out, with warnings. Offline: the files are read here; recognising the documents
//! ([`crate::translate::input`]) and planning them ([`crate::translate::plan`], the same plan the
//! operator runs) is the pure core.

use crate::translate::plan::set;
use serde_json::Value;
use std::path::PathBuf;

pub use crate::translate::input::{InputError, Resource, documents, recognise};
pub use crate::translate::plan::set::{Output, ResourceWarning};

/// Expand files and directories (recursively, `*.yaml`, `*.yml`, `*.json`) in a stable order.
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p)?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            entries.sort();
            for e in entries {
                if e.is_dir() {
                    out.extend(collect_files(&[e])?);
                } else if e
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                {
                    out.push(e);
                }
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Render already-read documents: `(file, document)` pairs.
pub fn render_documents(docs: &[(String, Value)], namespace: Option<&str>) -> Output {
    set::plan_documents(docs, namespace)
}

/// Read and render files.
pub fn render_files(paths: &[PathBuf], namespace: Option<&str>) -> Output {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    match collect_files(paths) {
        Ok(files) => {
            for f in files {
                let name = f.display().to_string();
                match std::fs::read_to_string(&f) {
                    Ok(text) => match documents(&name, &text) {
                        Ok(ds) => docs.extend(ds.into_iter().map(|d| (name.clone(), d))),
                        Err(e) => errors.push(e),
                    },
                    Err(e) => errors.push(InputError {
                        file: name,
                        path: ".".into(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        Err(e) => errors.push(InputError {
            file: "-".into(),
            path: ".".into(),
            message: e.to_string(),
        }),
    }
    let mut out = render_documents(&docs, namespace);
    errors.extend(out.errors);
    out.errors = errors;
    out
}

/// Objects as a YAML stream.
pub fn to_yaml(objects: &[Value]) -> String {
    // Quoted for Kubernetes' YAML 1.1 reader (`on` stays a string).
    crate::yaml::to_stream(objects)
}

/// Objects as one `v1` `List`.
pub fn to_json_list(objects: &[Value]) -> String {
    let list =
        serde_json::json!({ "apiVersion": "v1", "kind": "List", "metadata": {}, "items": objects });
    serde_json::to_string_pretty(&list).expect("JSON values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(yaml: &str) -> Vec<(String, Value)> {
        documents("test.yaml", yaml)
            .unwrap()
            .into_iter()
            .map(|d| ("test.yaml".to_string(), d))
            .collect()
    }

    #[test]
    fn yaml_output_keeps_yaml_1_1_booleans_as_strings() {
        let out = to_yaml(&[serde_json::json!({"data": {"TLS": "on", "n": "0777"}})]);
        let back: Vec<serde_json::Value> = out
            .split("---\n")
            .filter(|d| !d.trim().is_empty())
            .map(|d| serde_yaml_ng::from_str(d).unwrap())
            .collect();
        assert_eq!(back[0]["data"]["TLS"], "on", "{out}");
        assert!(out.contains("'on'") || out.contains("\"on\""), "{out}");
    }

    #[test]
    fn a_run_task_role_override_is_checked_against_the_cluster_policy() {
        let input = r#"
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Cluster
metadata: {name: default}
spec: {policy: {allowedTaskRoleArns: ["arn:aws:iam::1:role/team-a-*"]}}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec: {taskRoleArn: "arn:aws:iam::1:role/team-a-job", containerDefinitions: [{name: job, image: job:1}]}
---
apiVersion: ecs.tidewater.dev/v1alpha1
kind: Task
metadata: {name: sneaky}
spec: {taskDefinition: job, overrides: {taskRoleArn: "arn:aws:iam::1:role/admin"}}
"#;
        let out = render_documents(&docs(input), None);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(
            out.errors[0].message.contains("PolicyViolation")
                && out.errors[0].message.contains("role/admin")
        );
        assert!(out.objects.is_empty());
    }

    #[test]
    fn task_definition_tags_that_are_not_labels_are_reported() {
        let input = r#"
apiVersion: ecs.tidewater.dev/v1alpha1
kind: TaskDefinition
metadata: {name: job}
spec: {tags: [{key: "cost center", value: x}], containerDefinitions: [{name: job, image: job:1}]}
"#;
        let out = render_documents(&docs(input), None);
        assert!(
            out.warnings.iter().any(|w| w.warning.path == "tags[0].key"),
            "{:?}",
            out.warnings
        );
    }
}
