//! `tidewater render`: manifests or raw ECS JSON in, the exact objects the operator would
//! create out, with warnings. Offline: the files are read here; recognising the documents
//! ([`crate::translate::input`]) and planning them ([`crate::translate::plan`], the same plan the
//! operator runs) is the pure core.

use crate::translate::k8s_valid;
use crate::translate::plan::set;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub use crate::translate::input::{InputError, Resource, documents, recognise};
pub use crate::translate::plan::set::{Output, ResourceWarning};

/// The largest input file (and standard input) `render` reads: 16 MiB. Larger files are
/// refused before they are read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The file name that means standard input (`-f -`, as kubectl).
pub const STDIN: &str = "-";

/// How errors name standard input.
pub const STDIN_NAME: &str = "<stdin>";

fn display(file: &Path) -> String {
    if file.as_os_str() == STDIN {
        STDIN_NAME.into()
    } else {
        file.display().to_string()
    }
}

fn error(file: &Path, path: &str, message: impl Into<String>) -> InputError {
    InputError {
        file: display(file),
        path: path.into(),
        message: message.into(),
    }
}

/// Expand files and directories (recursively, `*.yaml`, `*.yml`, `*.json`) in a stable order.
pub fn collect_files(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let (files, errors) = expand(paths);
    match errors.into_iter().next() {
        Some(e) => Err(std::io::Error::other(e.to_string())),
        None => Ok(files),
    }
}

/// Expand files and directories, with what could not be expanded. Inside a directory, a
/// symbolic link is followed only to a regular file within that directory; links to
/// directories or out of it are reported and not read.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<InputError>) {
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    for p in paths {
        if p.as_os_str() != STDIN && p.is_dir() {
            match p.canonicalize() {
                Ok(root) => walk(p, &root, &mut files, &mut errors),
                Err(e) => errors.push(error(p, ".", e.to_string())),
            }
        } else {
            files.push(p.clone());
        }
    }
    (files, errors)
}

fn walk(dir: &Path, root: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<InputError>) {
    let entries = std::fs::read_dir(dir).and_then(|r| {
        r.map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()
    });
    let mut entries = match entries {
        Ok(e) => e,
        Err(e) => return errors.push(error(dir, ".", e.to_string())),
    };
    entries.sort();
    for e in entries {
        let Ok(meta) = std::fs::symlink_metadata(&e) else {
            continue;
        };
        let wanted = e
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json");
        if meta.is_dir() {
            walk(&e, root, files, errors);
        } else if meta.file_type().is_symlink() {
            let target = e.canonicalize();
            match target {
                Ok(t) if t.starts_with(root) && t.is_file() => {
                    if wanted {
                        files.push(e)
                    }
                }
                _ if !wanted && !e.is_dir() => {}
                _ => errors.push(error(
                    &e,
                    ".",
                    format!(
                        "a symbolic link to a directory or out of {}: not followed",
                        root.display()
                    ),
                )),
            }
        } else if wanted {
            files.push(e);
        }
    }
}

/// The text of one input file (or standard input for `-`): regular files of at most
/// [`MAX_FILE_BYTES`] of UTF-8; FIFOs, devices and sockets are refused before they are opened.
pub fn read_input(file: &Path) -> Result<String, InputError> {
    let limit = MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    let read = if file.as_os_str() == STDIN {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut bytes)
    } else {
        let meta = std::fs::metadata(file).map_err(|e| error(file, ".", e.to_string()))?;
        if !meta.is_file() {
            return Err(error(
                file,
                ".",
                "not a regular file (a directory, FIFO, device or socket): not read",
            ));
        }
        if meta.len() > limit {
            return Err(error(
                file,
                ".",
                format!(
                    "{} bytes: larger than the {limit}-byte (16 MiB) input limit; not read",
                    meta.len()
                ),
            ));
        }
        std::fs::File::open(file).and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
    };
    read.map_err(|e| error(file, ".", e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(error(
            file,
            ".",
            format!("larger than the {limit}-byte (16 MiB) input limit; not read"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        error(
            file,
            ".",
            format!("not UTF-8 text: invalid byte at offset {at} (line {line})"),
        )
    })
}

/// Render already-read documents: `(file, document)` pairs. A document with ECS values that
/// would make objects the apiserver rejects is an error naming those values (and is not
/// rendered); two resources of the same kind and name are an error naming both files; an
/// emitted object the apiserver would reject is an error, not output.
pub fn render_documents(docs: &[(String, Value)], namespace: Option<&str>) -> Output {
    let mut errors = Vec::new();
    let mut accepted = Vec::new();
    for (file, doc) in docs {
        let bad = k8s_valid::check_input(doc);
        // A describe-services list keeps its good services: the objects of a bad one are
        // caught below.
        if bad.is_empty() || doc.get("services").is_some_and(Value::is_array) {
            accepted.push((file.as_str(), doc));
        }
        errors.extend(bad.into_iter().map(|b| InputError {
            file: file.clone(),
            path: b.path,
            message: b.message,
        }));
    }
    // Each document is recognised once, for the duplicates and for the plan.
    let recognised = set::recognise_documents(accepted);
    errors.extend(duplicates(&recognised));
    let mut out = set::plan_recognised(recognised, namespace);
    // Written only for an object the apiserver would reject.
    let origin = || {
        let files: std::collections::BTreeSet<&str> =
            docs.iter().map(|(f, _)| f.as_str()).collect();
        match files.len() {
            1 => files.first().copied().unwrap_or_default().to_string(),
            _ => "(rendered)".to_string(),
        }
    };
    out.objects.retain(|o| {
        let bad = k8s_valid::check_object(o);
        if bad.is_empty() {
            return true;
        }
        let origin = origin();
        let id = format!(
            "{}/{}",
            o["kind"].as_str().unwrap_or("?"),
            o["metadata"]["name"].as_str().unwrap_or("?")
        );
        errors.extend(bad.iter().map(|b| InputError {
            file: origin.clone(),
            path: format!("{id}: {}", b.path),
            message: format!(
                "{}; the apiserver would reject this object, so it is not output",
                b.message
            ),
        }));
        false
    });
    errors.append(&mut out.errors);
    out.errors = errors;
    out
}

/// Two input resources of the same kind and name (kubectl apply would keep only the last).
fn duplicates(docs: &[set::Recognised<'_>]) -> Vec<InputError> {
    if docs.iter().map(|d| d.resources.len()).sum::<usize>() < 2 {
        return Vec::new();
    }
    let mut seen: BTreeMap<String, (String, usize)> = BTreeMap::new();
    let mut errors = Vec::new();
    for (n, d) in docs.iter().enumerate() {
        for r in d.resources.iter().flatten() {
            let id = r.0.describe();
            match seen.get(&id) {
                Some((first, m)) => errors.push(InputError {
                    file: d.file.to_string(),
                    path: if d.doc.get("apiVersion").is_some() { "metadata.name".into() } else { ".".into() },
                    message: format!("{id} (document {}) is also defined in {first} (document {}); resources of one kind need distinct names", n + 1, m + 1),
                }),
                None => {
                    seen.insert(id, (d.file.to_string(), n));
                }
            }
        }
    }
    errors
}

/// Read and render files (`-` is standard input); every file, document and resource that
/// cannot be read is its own error and the others are still rendered.
pub fn render_files(paths: &[PathBuf], namespace: Option<&str>) -> Output {
    let (files, mut errors) = expand(paths);
    let mut docs = Vec::new();
    for f in files {
        let name = display(&f);
        match read_input(&f) {
            Ok(text) => {
                let read = crate::translate::input::documents_each(&name, &text);
                if read.is_empty() {
                    errors.push(error(
                        &f,
                        ".",
                        "no documents (an empty file, or only comments)",
                    ));
                }
                for d in read {
                    match d {
                        Ok(d) => docs.push((name.clone(), d)),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let mut out = render_documents(&docs, namespace);
    errors.append(&mut out.errors);
    out.errors = errors;
    out
}

/// Objects as a YAML stream.
pub fn to_yaml<V: std::borrow::Borrow<Value>>(objects: &[V]) -> String {
    // Quoted for Kubernetes' YAML 1.1 reader (`on` stays a string).
    // As `yaml::to_stream`, of values or emitted objects.
    objects
        .iter()
        .map(|v| format!("---\n{}", crate::yaml::to_string(v.borrow())))
        .collect()
}

/// Objects as one `v1` `List`.
pub fn to_json_list<V: serde::Serialize>(objects: &[V]) -> String {
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
