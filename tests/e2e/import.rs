//! End-to-end tests: `tidewater import` output against the real apiserver (issue 5). Every
//! corpus file and every import fixture is imported with the CLI and its manifests are applied
//! with `kubectl apply --dry-run=server` (CRDs with their CEL rules installed by hack/e2e.sh).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};

use crate::support::{kubectl_stdin, repo_root, run};

/// Run `tidewater import` with `args` (from the repository root); stdout and success.
fn import(args: &[&str]) -> Result<(Vec<u8>, bool, String)> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"))
        .arg("import")
        .args(args)
        .current_dir(repo_root())
        .output()
        .context("running tidewater import")?;
    Ok((
        out.stdout,
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// Corpus inputs (files), relative to the repository root.
fn corpus_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                walk(&e, out);
            } else if e
                .extension()
                .is_some_and(|x| x == "json" || x == "yaml" || x == "yml" || x == "tf")
            {
                out.push(e);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_root().join("tests/fixtures/corpus"), &mut files);
    files
        .into_iter()
        .map(|f| f.strip_prefix(repo_root()).unwrap().display().to_string())
        .collect()
}

/// Import with `args` into `ns` and apply the manifests with a server-side dry run; a problem
/// description when something fails.
fn import_and_apply(ns: &str, label: &str, args: &[&str], must_succeed: bool) -> Option<String> {
    let mut all = vec!["-q", "-n", ns];
    all.extend_from_slice(args);
    let (stdout, ok, stderr) = match import(&all) {
        Ok(r) => r,
        Err(e) => return Some(format!("{label}: {e:#}")),
    };
    if must_succeed && !ok {
        return Some(format!("{label}: import failed:\n{}", stderr.trim()));
    }
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Some(format!("{label}: import printed no manifests"));
    }
    let out = kubectl_stdin(
        &["apply", "--dry-run=server", "-n", ns, "-f", "-"],
        Some(&stdout),
    );
    if !out.success() {
        // Unresolved parameters stay visible placeholders (`${var.app_name}`) for the user to
        // fill, and the CRD rejects such names as ECS would: every other manifest must pass.
        let resolved = without_placeholders(&String::from_utf8_lossy(&stdout));
        let again = resolved.as_ref().map(|text| {
            kubectl_stdin(
                &["apply", "--dry-run=server", "-n", ns, "-f", "-"],
                Some(text.as_bytes()),
            )
        });
        if !again.is_some_and(|a| a.success()) {
            return Some(format!("{label}: rejected:\n{}", out.stderr.trim()));
        }
    }
    None
}

/// The YAML stream without its documents holding an unresolved `${...}` placeholder; `None`
/// when there is none to leave out.
fn without_placeholders(text: &str) -> Option<String> {
    let mut docs: Vec<String> = vec![String::new()];
    for line in text.lines() {
        if line == "---" {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    let total = docs.len();
    docs.retain(|d| !d.contains("${"));
    (docs.len() < total).then(|| docs.join("---\n"))
}

/// Corpus files whose container names are parameters the import cannot resolve alone.
const PLACEHOLDER_NAMES: &[&str] = &[
    "cloudformation/005-copilot-svc-prod.stack.yml",
    "cloudformation/007-copilot-worker-test.stack.yml",
    "cloudformation/008-copilot-windows-svc-test.stack.yml",
    "terraform/005-tfprovider-example-ecs-fargate.tf",
];

#[tokio::test]
async fn every_imported_corpus_file_is_accepted_by_the_apiserver() {
    run("import-corpus", |ctx| async move {
        let files = corpus_files();
        ensure!(files.len() >= 60, "only {} corpus files", files.len());
        let problems: Vec<String> = files
            .iter()
            .filter_map(|f| {
                // ECS rejects this skeleton (empty names, zero sizes); so does the import, and
                // what it did import must still be valid (tests/import.rs checks the reasons).
                let ok = !f.ends_with("taskdefs/058-docs-register-skeleton-all-fields.json");
                let problem = import_and_apply(&ctx.ns, f, &["-f", f], ok)?;
                // Container names left as unresolved parameters (`${var.app_name}`, Copilot's
                // workload name): the CRD rejects such names as ECS would, until the user
                // passes the parameters (imported_fixtures checks resolved ones).
                let unresolved_names = PLACEHOLDER_NAMES.iter().any(|p| f.ends_with(p))
                    && problem.contains("Container.name contains invalid characters");
                // Nothing of the skeleton is a valid request: nothing is imported.
                let rejected_whole = !ok && problem.ends_with("import printed no manifests");
                (!unresolved_names && !rejected_whole).then_some(problem)
            })
            .collect();
        ensure!(
            problems.is_empty(),
            "{} of {} imported corpus files misbehaved:\n{}",
            problems.len(),
            files.len(),
            problems.join("\n")
        );
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn imported_fixtures_are_accepted_by_the_apiserver() {
    run("import-fixtures", |ctx| async move {
        let params: Vec<String> = std::fs::read_to_string(
            repo_root().join("tests/fixtures/import/cfn-web-service.production.params"),
        )?
        .lines()
        .filter(|l| l.contains('='))
        .flat_map(|l| ["-p".to_string(), l.to_string()])
        .collect();
        let mut production: Vec<&str> = vec!["-f", "tests/fixtures/import/cfn-web-service.yaml"];
        production.extend(params.iter().map(String::as_str));
        let cases: Vec<(&str, Vec<&str>, bool)> = vec![
            (
                "cfn-web-service",
                vec!["-f", "tests/fixtures/import/cfn-web-service.yaml"],
                true,
            ),
            ("cfn-web-service (production)", production, true),
            (
                "cfn-queue-worker",
                vec!["-f", "tests/fixtures/import/cfn-queue-worker.json"],
                true,
            ),
            ("tf-web", vec!["-f", "tests/fixtures/import/tf-web"], true),
            (
                "tf-batch",
                vec!["-f", "tests/fixtures/import/tf-batch"],
                true,
            ),
            // Bad input: the import fails, but what it did import is valid.
            ("bad", vec!["-f", "tests/fixtures/import/bad"], false),
        ];
        let problems: Vec<String> = cases
            .iter()
            .filter_map(|(label, args, ok)| import_and_apply(&ctx.ns, label, args, *ok))
            .collect();
        ensure!(problems.is_empty(), "{}", problems.join("\n"));

        // What the imported manifests render to is accepted too (fully resolved inputs).
        let mut args = vec!["-q", "-n", ctx.ns.as_str()];
        args.extend(cases[1].1.iter().copied());
        let (manifests, ok, stderr) = import(&args)?;
        ensure!(ok, "import failed: {stderr}");
        let file = std::env::temp_dir().join(format!("tidewater-import-{}.yaml", ctx.ns));
        std::fs::write(&file, &manifests)?;
        let rendered = std::process::Command::new(env!("CARGO_BIN_EXE_tidewater"))
            .args(["render", "-n", &ctx.ns, "-f"])
            .arg(&file)
            .output()
            .context("running tidewater render")?;
        let _ = std::fs::remove_file(&file);
        ensure!(
            rendered.status.success(),
            "render of the imported manifests failed: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        kubectl_stdin(
            &["apply", "--dry-run=server", "-n", &ctx.ns, "-f", "-"],
            Some(&rendered.stdout),
        )
        .ok()?;
        Ok(())
    })
    .await;
}
