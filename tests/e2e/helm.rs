//! End-to-end tests: the Helm chart and least-privilege RBAC (issue 6).
//!
//! They run the pinned helm that `hack/cluster.sh helm` (`make helm`) builds into
//! `~/.cache/tidewater/bin/helm`; hack/e2e.sh builds it before the tests and exports its path as
//! `$TIDEWATER_HELM`. A missing helm fails the tests (it never skips them).
//!
//! Every release gets a random name and cluster-scoped objects are named after the release and
//! its namespace, so the tests run in parallel with each other and with the rest of the suite.
//! The CRDs are installed by hack/e2e.sh; installs here use `--skip-crds`, except the
//! install/upgrade/uninstall test, which goes through the chart's `crds/` path (Helm only
//! creates CRDs that are missing and never changes or deletes existing ones, so that is safe).
//!
//! The rules the chart must grant are the ones listed in docs/rbac.md; `expected_rules` below is
//! that list in the form `kubectl auth can-i --list` prints it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::support::{
    Ctx, TestNamespace, WAIT, eventually, kubeconfig_path, kubectl, kubectl_stdin, random_suffix,
    repo_root, run,
};

// ---------------------------------------------------------------------------------------------
// helm
// ---------------------------------------------------------------------------------------------

/// `$TIDEWATER_HELM`, else `helm` in the binary cache of hack/cluster.sh
/// (`$TIDEWATER_BIN_DIR`, else `$TIDEWATER_CACHE_DIR/bin`, else `~/.cache/tidewater/bin`).
fn helm_binary() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(path) = var("TIDEWATER_HELM") {
        return PathBuf::from(path);
    }
    let bin_dir = match var("TIDEWATER_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let cache = var("TIDEWATER_CACHE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(&var("HOME").unwrap_or_else(|| "/root".into()))
                        .join(".cache/tidewater")
                });
            cache.join("bin")
        }
    };
    bin_dir.join("helm")
}

fn chart_dir() -> PathBuf {
    repo_root().join("charts/tidewater")
}

fn chart() -> String {
    chart_dir().display().to_string()
}

#[derive(Debug)]
struct HelmOutput {
    args: Vec<String>,
    success: bool,
    stdout: String,
    stderr: String,
}

impl HelmOutput {
    fn ok(self) -> Result<String> {
        if self.success {
            Ok(self.stdout)
        } else {
            bail!(
                "`helm {}` failed:\n{}{}",
                self.args.join(" "),
                self.stdout,
                self.stderr.trim()
            )
        }
    }
}

/// Runs helm against the local cluster, with its cache/config/data in a directory of its own
/// (so a developer's ~/.config/helm never changes what the tests see).
fn helm_output(args: &[&str]) -> HelmOutput {
    let bin = helm_binary();
    if !bin.is_file() {
        panic!(
            "e2e: helm not found at {}: build it with `make helm` (hack/cluster.sh helm); \
             hack/e2e.sh does that before running the tests",
            bin.display()
        );
    }
    let home = std::env::temp_dir().join("tidewater-e2e-helm");
    let out = Command::new(&bin)
        .args(args)
        .env("KUBECONFIG", kubeconfig_path())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("e2e: running {}: {e}", bin.display()));
    HelmOutput {
        args: args.iter().map(|s| s.to_string()).collect(),
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn helm(args: &[&str]) -> Result<String> {
    helm_output(args).ok()
}

/// One release of the chart in a test namespace. Dropping it uninstalls it (best effort), so a
/// failed test leaves no ClusterRole behind (namespace deletion would not remove those).
struct Release {
    name: String,
    ns: String,
}

impl Release {
    fn new(ns: &str) -> Self {
        Release {
            name: format!("tw-{}", random_suffix()),
            ns: ns.to_string(),
        }
    }

    /// The chart's full name (release name + chart name): Deployment, ServiceAccount, Roles.
    fn fullname(&self) -> String {
        format!("{}-tidewater", self.name)
    }

    /// Name of the ClusterRole and ClusterRoleBinding.
    fn cluster_name(&self) -> String {
        format!("{}-{}", self.ns, self.fullname())
    }

    fn service_account(&self) -> String {
        self.fullname()
    }

    /// The user name of the ServiceAccount, for `--as`.
    fn user(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.ns,
            self.service_account()
        )
    }

    /// `helm install` with `--skip-crds` unless `with_crds`.
    fn install(&self, with_crds: bool, extra: &[&str]) -> Result<String> {
        let chart = chart();
        let mut args: Vec<&str> = vec![
            "install",
            self.name.as_str(),
            chart.as_str(),
            "-n",
            self.ns.as_str(),
        ];
        if !with_crds {
            args.push("--skip-crds");
        }
        args.extend_from_slice(extra);
        helm(&args)
    }

    fn upgrade(&self, extra: &[&str]) -> Result<String> {
        let chart = chart();
        let mut args: Vec<&str> = vec![
            "upgrade",
            self.name.as_str(),
            chart.as_str(),
            "-n",
            self.ns.as_str(),
        ];
        args.extend_from_slice(extra);
        helm(&args)
    }

    fn uninstall(&self) -> Result<String> {
        helm(&[
            "uninstall",
            &self.name,
            "-n",
            &self.ns,
            "--wait",
            "--timeout",
            "120s",
        ])
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        let out = helm_output(&[
            "uninstall",
            &self.name,
            "-n",
            &self.ns,
            "--ignore-not-found",
        ]);
        if !out.success {
            eprintln!(
                "e2e: uninstalling release {} in {} failed: {}",
                self.name,
                self.ns,
                out.stderr.trim()
            );
        }
        // In case the release record is gone but its cluster-scoped objects are not.
        let name = self.cluster_name();
        let _ = kubectl(&[
            "delete",
            "clusterrolebinding,clusterrole",
            &name,
            "--ignore-not-found",
        ]);
    }
}

// ---------------------------------------------------------------------------------------------
// Rendered manifests
// ---------------------------------------------------------------------------------------------

/// `helm template` of the chart as release `release` in namespace `ns`.
fn template(release: &str, ns: &str, extra: &[&str]) -> Result<String> {
    let chart = chart();
    let mut args: Vec<&str> = vec!["template", release, chart.as_str(), "-n", ns];
    args.extend_from_slice(extra);
    helm(&args)
}

/// The objects of a multi-document YAML stream (empty documents skipped).
fn documents(yaml: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(yaml) {
        let value = Value::deserialize(doc).context("parsing helm output")?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// `Kind` -> sorted `namespace/name` (or `name` when cluster-scoped).
fn by_kind(docs: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in docs {
        let kind = d["kind"].as_str().unwrap_or("?").to_string();
        let name = d["metadata"]["name"].as_str().unwrap_or("?");
        let id = match d["metadata"]["namespace"].as_str() {
            Some(ns) => format!("{ns}/{name}"),
            None => name.to_string(),
        };
        map.entry(kind).or_default().push(id);
    }
    for v in map.values_mut() {
        v.sort();
    }
    map
}

fn the_one<'a>(docs: &'a [Value], kind: &str) -> Result<&'a Value> {
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    ensure!(
        found.len() == 1,
        "expected one {kind}, found {}",
        found.len()
    );
    Ok(found[0])
}

/// The apiserver's verdict on the manifests, without persisting anything.
fn server_dry_run(yaml: &str) -> Result<String> {
    kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=tidewater-e2e-helm",
            "--dry-run=server",
            "-f",
            "-",
        ],
        Some(yaml.as_bytes()),
    )
    .ok()
}

/// The hardening every rendered operator Deployment must carry.
fn check_deployment_hardening(deploy: &Value) -> Result<()> {
    let pod = &deploy["spec"]["template"]["spec"];
    let psc = &pod["securityContext"];
    ensure!(psc["runAsNonRoot"] == true, "pod runAsNonRoot: {psc}");
    ensure!(
        psc["runAsUser"].as_i64().is_some_and(|u| u > 0),
        "pod runAsUser: {psc}"
    );
    ensure!(
        psc["seccompProfile"]["type"] == "RuntimeDefault",
        "pod seccompProfile: {psc}"
    );
    let containers = pod["containers"].as_array().context("containers")?;
    ensure!(containers.len() == 1, "one container expected");
    let c = &containers[0];
    let sc = &c["securityContext"];
    ensure!(
        sc["readOnlyRootFilesystem"] == true,
        "readOnlyRootFilesystem: {sc}"
    );
    ensure!(
        sc["allowPrivilegeEscalation"] == false,
        "allowPrivilegeEscalation: {sc}"
    );
    ensure!(sc["runAsNonRoot"] == true, "container runAsNonRoot: {sc}");
    ensure!(
        sc["capabilities"]["drop"] == json!(["ALL"]),
        "capabilities: {sc}"
    );
    ensure!(
        sc["seccompProfile"]["type"] == "RuntimeDefault",
        "container seccompProfile: {sc}"
    );
    ensure!(
        c["livenessProbe"]["httpGet"]["path"] == "/healthz",
        "liveness probe: {}",
        c["livenessProbe"]
    );
    ensure!(
        c["readinessProbe"]["httpGet"]["path"] == "/readyz",
        "readiness probe: {}",
        c["readinessProbe"]
    );
    ensure!(
        c["resources"]["requests"]["cpu"].is_string()
            && c["resources"]["requests"]["memory"].is_string()
            && c["resources"]["limits"]["memory"].is_string(),
        "resources: {}",
        c["resources"]
    );
    ensure!(
        c["ports"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["name"] == "http")),
        "http (metrics) port: {}",
        c["ports"]
    );
    Ok(())
}

fn container_args(deploy: &Value) -> Vec<String> {
    deploy["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// RBAC: `kubectl auth can-i --list`
// ---------------------------------------------------------------------------------------------

/// One line of `kubectl auth can-i --list`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CanRow {
    resource: String,
    urls: String,
    names: String,
    verbs: String,
}

/// `kubectl auth can-i --list` as `user` in `ns`. The table is aligned (tabwriter), so the
/// header's column offsets hold for every row.
fn can_i_list(user: &str, ns: &str) -> Result<Vec<CanRow>> {
    let out = kubectl(&["auth", "can-i", "--list", "--as", user, "-n", ns]).ok()?;
    let mut lines = out.lines();
    let header = lines
        .next()
        .context("empty `kubectl auth can-i --list` output")?;
    let col = |name: &str| {
        header
            .find(name)
            .with_context(|| format!("no column {name:?} in {header:?}"))
    };
    let (urls, names, verbs) = (
        col("Non-Resource URLs")?,
        col("Resource Names")?,
        col("Verbs")?,
    );
    let cell = |line: &str, from: usize, to: usize| {
        line.get(from.min(line.len())..to.min(line.len()))
            .unwrap_or("")
            .trim()
            .to_string()
    };
    Ok(lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| CanRow {
            resource: cell(l, 0, urls),
            urls: cell(l, urls, names),
            names: cell(l, names, verbs),
            verbs: cell(l, verbs, l.len()),
        })
        .collect())
}

/// (resource as can-i prints it, resource names as printed) -> verbs.
type Rules = BTreeMap<(String, String), BTreeSet<String>>;

fn verbs(list: &str) -> BTreeSet<String> {
    list.trim_matches(|c| c == '[' || c == ']')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// What `user` may do in `ns` beyond what the namespace's `default` ServiceAccount of
/// `baseline_ns` may do (the rights every authenticated identity has). Rights on non-resource
/// URLs beyond the baseline are an error.
fn extra_rules(user: &str, baseline_ns: &str, ns: &str) -> Result<Rules> {
    let mut baseline = can_i_list(&format!("system:serviceaccount:{baseline_ns}:default"), ns)?;
    let mut rules = Rules::new();
    for row in can_i_list(user, ns)? {
        if let Some(i) = baseline.iter().position(|b| *b == row) {
            baseline.remove(i);
            continue;
        }
        ensure!(
            row.urls == "[]" && !row.resource.is_empty(),
            "{user} has a non-resource URL right beyond the baseline in {ns}: {row:?}"
        );
        rules
            .entry((row.resource.clone(), row.names.clone()))
            .or_default()
            .extend(verbs(&row.verbs));
    }
    Ok(rules)
}

/// The rules of docs/rbac.md as can-i prints them: `watched` = the namespace is watched (or all
/// are), `nodes` = all-namespaces mode, `lease` = the Lease name when `ns` is the leader
/// election namespace.
fn expected_rules(watched: bool, nodes: bool, lease: Option<&str>) -> Rules {
    let mut rules = Rules::new();
    let mut add = |resources: &[&str], names: &str, vs: &[&str]| {
        for r in resources {
            rules
                .entry((r.to_string(), names.to_string()))
                .or_default()
                .extend(vs.iter().map(|v| v.to_string()));
        }
    };
    const ALL: &[&str] = &["get", "list", "watch", "create", "patch", "delete"];
    if watched {
        let ecs = [
            "taskdefinitions",
            "services",
            "clusters",
            "tasks",
            "scheduledtasks",
        ];
        let kinds: Vec<String> = ecs
            .iter()
            .map(|k| format!("{k}.ecs.tidewater.dev"))
            .collect();
        let status: Vec<String> = ecs
            .iter()
            .map(|k| format!("{k}.ecs.tidewater.dev/status"))
            .collect();
        add(
            &kinds.iter().map(String::as_str).collect::<Vec<_>>(),
            "[]",
            &["get", "list", "watch"],
        );
        add(
            &status.iter().map(String::as_str).collect::<Vec<_>>(),
            "[]",
            &["get", "patch", "update"],
        );
        add(
            &[
                "deployments.apps",
                "daemonsets.apps",
                "controllerrevisions.apps",
                "services",
                "serviceaccounts",
                "ingresses.networking.k8s.io",
                "horizontalpodautoscalers.autoscaling",
                "poddisruptionbudgets.policy",
                "cronjobs.batch",
            ],
            "[]",
            ALL,
        );
        add(
            &["pods"],
            "[]",
            &["get", "list", "watch", "create", "delete"],
        );
        add(
            &[
                "targetgroupbindings.elbv2.k8s.aws",
                "externalsecrets.external-secrets.io",
                "scaledobjects.keda.sh",
                "triggerauthentications.keda.sh",
            ],
            "[]",
            ALL,
        );
        add(&["deployments.apps/scale"], "[]", &["patch"]);
        add(&["events.events.k8s.io"], "[]", &["create", "patch"]);
    }
    if nodes {
        add(&["nodes"], "[]", &["get", "list", "watch"]);
    }
    if let Some(lease) = lease {
        add(&["leases.coordination.k8s.io"], "[]", &["create"]);
        add(
            &["leases.coordination.k8s.io"],
            &format!("[{lease}]"),
            &["get", "update"],
        );
    }
    rules
}

fn diff(want: &Rules, got: &Rules) -> String {
    let mut out = String::new();
    for (k, v) in got {
        if want.get(k) != Some(v) {
            out.push_str(&format!("  granted: {} {} {:?}\n", k.0, k.1, v));
        }
    }
    for (k, v) in want {
        if got.get(k) != Some(v) {
            out.push_str(&format!("  expected: {} {} {:?}\n", k.0, k.1, v));
        }
    }
    out
}

/// Checks that `user`'s rights in `ns` (beyond the baseline) are exactly `want`. RBAC changes
/// reach the authorizer through its informers a few milliseconds after the objects exist, so it
/// first waits until everything wanted is granted, then compares exactly.
async fn expect_rules(user: &str, baseline_ns: &str, ns: &str, want: &Rules) -> Result<()> {
    let mut last = Rules::new();
    let granted = eventually(&format!("the rights of {user} in {ns}"), WAIT, || {
        last = extra_rules(user, baseline_ns, ns)?;
        Ok(want
            .iter()
            .all(|(k, v)| last.get(k).is_some_and(|g| g.is_superset(v))))
    })
    .await;
    if let Err(e) = granted {
        bail!(
            "{e}\nthe rights of {user} in namespace {ns} lack some of docs/rbac.md:\n{}",
            diff(want, &last)
        );
    }
    ensure!(
        &last == want,
        "the rights of {user} in namespace {ns} differ from docs/rbac.md:\n{}",
        diff(want, &last)
    );
    Ok(())
}

/// The red lines, checked on the extra rules themselves (the exact comparison covers them
/// too; these give a precise message).
fn check_red_lines(rules: &Rules, where_: &str) -> Result<()> {
    for ((resource, names), vs) in rules {
        ensure!(
            !resource.contains('*') && !names.contains('*') && !vs.iter().any(|v| v.contains('*')),
            "wildcard in {where_}: {resource} {names} {vs:?}"
        );
        let base = resource.split('.').next().unwrap_or(resource);
        for forbidden in [
            "secrets",
            "configmaps",
            "pods/exec",
            "pods/attach",
            "pods/portforward",
            "pods/proxy",
            "serviceaccounts/token",
        ] {
            ensure!(
                base != forbidden && resource != forbidden,
                "{forbidden} granted in {where_}: {vs:?}"
            );
        }
        for v in ["escalate", "bind", "impersonate"] {
            ensure!(!vs.contains(v), "{v} granted on {resource} in {where_}");
        }
    }
    Ok(())
}

/// `kubectl auth can-i <args> --as user`: yes or no.
fn can_i(user: &str, args: &[&str]) -> Result<bool> {
    let mut all = vec!["auth", "can-i"];
    all.extend_from_slice(args);
    all.extend(["--as", user]);
    let out = kubectl(&all);
    match out.stdout.trim() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => bail!(
            "`kubectl {}`: unexpected answer {:?} {}",
            all.join(" "),
            out.stdout,
            out.stderr.trim()
        ),
    }
}

fn expect_can(user: &str, args: &[&str], want: bool) -> Result<()> {
    let got = can_i(user, args)?;
    ensure!(
        got == want,
        "kubectl auth can-i {} as {user}: {} (expected {})",
        args.join(" "),
        if got { "yes" } else { "no" },
        if want { "yes" } else { "no" }
    );
    Ok(())
}

/// Requests that must be denied in every mode.
fn expect_denied_everywhere(user: &str, namespaces: &[&str]) -> Result<()> {
    for &ns in namespaces {
        for args in [
            // (`pods/exec` would be read as the pod named "exec": subresources need the flag.)
            &["get", "secrets", "-n", ns][..],
            &["list", "secrets", "-n", ns],
            &["watch", "secrets", "-n", ns],
            &["get", "configmaps", "-n", ns],
            &["create", "pods", "--subresource=exec", "-n", ns],
            &["create", "pods", "--subresource=attach", "-n", ns],
            &["create", "pods", "--subresource=portforward", "-n", ns],
            &["get", "pods", "--subresource=log", "-n", ns],
            &["create", "serviceaccounts", "--subresource=token", "-n", ns],
            &["update", "services.ecs.tidewater.dev", "-n", ns],
            &["patch", "services.ecs.tidewater.dev", "-n", ns],
            &["update", "deployments.apps", "-n", ns],
            &["create", "roles.rbac.authorization.k8s.io", "-n", ns],
            &["*", "*", "-n", ns],
        ] {
            expect_can(user, args, false)?;
        }
    }
    expect_can(user, &["list", "secrets", "--all-namespaces"], false)?;
    expect_can(user, &["*", "*", "--all-namespaces"], false)?;
    expect_can(
        user,
        &[
            "create",
            "clusterrolebindings.rbac.authorization.k8s.io",
            "--all-namespaces",
        ],
        false,
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cluster-scoped leftovers
// ---------------------------------------------------------------------------------------------

/// Every cluster-scoped object that belongs to `release`: labelled with it (any listable
/// cluster-scoped type), or an RBAC object whose name contains it.
fn cluster_scoped_objects_of(release: &Release) -> Result<Vec<String>> {
    // A briefly unavailable aggregated API (metrics-server) makes api-resources exit non-zero
    // while still listing every other type: use what it lists.
    let out = kubectl(&[
        "api-resources",
        "--namespaced=false",
        "--verbs=list",
        "-o",
        "name",
    ]);
    if !out.success() {
        eprintln!("e2e: kubectl api-resources: {}", out.stderr.trim());
    }
    // Metrics (metrics.k8s.io) are not objects anyone creates, and componentstatuses is
    // deprecated: leave them out.
    let types: Vec<&str> = out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty() && *t != "componentstatuses")
        .filter(|t| !t.ends_with(".metrics.k8s.io"))
        .collect();
    ensure!(
        types.contains(&"clusterroles.rbac.authorization.k8s.io"),
        "api-resources lists no clusterroles: {types:?}"
    );
    let selector = format!("app.kubernetes.io/instance={}", release.name);
    let labelled = kubectl(&["get", &types.join(","), "-l", &selector, "-o", "name"]).ok()?;
    let mut found: Vec<String> = labelled.lines().map(str::to_string).collect();
    let rbac = kubectl(&["get", "clusterroles,clusterrolebindings", "-o", "name"]).ok()?;
    found.extend(
        rbac.lines()
            .filter(|l| l.contains(&release.name))
            .map(str::to_string),
    );
    found.sort();
    found.dedup();
    Ok(found)
}

fn get_json(args: &[&str]) -> Result<Value> {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    Ok(serde_json::from_str(&kubectl(&all).ok()?)?)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// The chart ships the CRDs of `crds/` (generated from the Rust types) byte for byte. After
/// `make generate` changed them: `cp crds/*.yaml charts/tidewater/crds/` (`make chart-crds`).
#[test]
fn chart_crds_match_generated() {
    let read = |dir: &Path| -> BTreeMap<String, String> {
        crate::support::yaml_files(dir)
            .into_iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
            .collect()
    };
    let generated = read(&repo_root().join("crds"));
    let shipped = read(&chart_dir().join("crds"));
    assert!(!generated.is_empty(), "crds/ holds no CRD");
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&shipped),
        names(&generated),
        "charts/tidewater/crds/ and crds/ hold different files: run `make chart-crds`"
    );
    for (name, text) in &generated {
        assert!(
            shipped[name] == *text,
            "charts/tidewater/crds/{name} differs from crds/{name}: run `make chart-crds`"
        );
    }
}

/// `helm lint --strict` passes with the defaults and with every option switched on, and the
/// schema rejects bad values.
#[test]
fn helm_lint_strict() {
    let chart = chart();
    let good: &[&[&str]] = &[
        &[],
        &["--set", "watchNamespaces={team-a,team-b}"],
        &[
            "--set",
            "replicaCount=2",
            "--set",
            "podDisruptionBudget.enabled=true",
            "--set",
            "metrics.serviceMonitor.enabled=true",
            "--set",
            "image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "--set",
            "logFormat=text",
            "--set",
            "leaderElection.namespace=kube-system",
            "--set",
            "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/x",
        ],
        &[
            "--set",
            "leaderElection.enabled=false",
            "--set",
            "metrics.service.enabled=false",
            "--set",
            "rbac.create=false",
        ],
        &[
            "--set",
            "ecsApi.enabled=true",
            "--set",
            "ecsApi.tls.secretName=ecs-api-tls",
            "--set",
            "ecsApi.namespaces={team-a}",
        ],
    ];
    for extra in good {
        let mut args: Vec<&str> = vec!["lint", "--strict", chart.as_str()];
        args.extend_from_slice(extra);
        let out = helm_output(&args);
        assert!(
            out.success && !out.stdout.contains("[WARNING]") && !out.stdout.contains("[ERROR]"),
            "helm {}:\n{}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
    }
    // The schema (checked by lint and by every install/upgrade/template).
    let bad: &[(&[&str], &str)] = &[
        (&["--set", "logFormat=xml"], "logFormat"),
        (&["--set", "replicas=2"], "replicas"),
        (
            &["--set", "watchNamespaces={Not_A_Namespace}"],
            "watchNamespaces",
        ),
        (&["--set", "runAsUser=0"], "runAsUser"),
        (&["--set", "ecsApi.accountId=12"], "accountId"),
    ];
    for (extra, expect) in bad {
        let mut args: Vec<&str> = vec!["lint", "--strict", chart.as_str()];
        args.extend_from_slice(extra);
        let out = helm_output(&args);
        assert!(
            !out.success && (out.stdout.contains(expect) || out.stderr.contains(expect)),
            "helm {} should fail mentioning {expect:?}:\n{}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
    }
    // Combinations the schema cannot express fail when rendering (lint mode ignores `fail`).
    let bad: &[(&[&str], &str)] = &[
        (
            &[
                "--set",
                "replicaCount=2",
                "--set",
                "leaderElection.enabled=false",
            ],
            "leaderElection",
        ),
        (
            &[
                "--set",
                "podDisruptionBudget.enabled=true",
                "--set",
                "podDisruptionBudget.maxUnavailable=1",
            ],
            "exactly one",
        ),
        (
            &["--set", "serviceAccount.create=false"],
            "serviceAccount.name is required",
        ),
        (&["--set", "ecsApi.enabled=true"], "ecsApi.tls.secretName"),
    ];
    for (extra, expect) in bad {
        let mut args: Vec<&str> = vec!["template", "tw", chart.as_str()];
        args.extend_from_slice(extra);
        let out = helm_output(&args);
        assert!(
            !out.success && out.stderr.contains(expect),
            "helm {} should fail mentioning {expect:?}:\n{}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
    }
}

/// `helm template` output (CRDs included) is accepted by the apiserver in both modes, has the
/// RBAC objects of its mode and a hardened Deployment.
#[tokio::test]
async fn helm_template_accepted_by_apiserver() {
    run("helm-tmpl", |ctx: Ctx| async move {
        let other = TestNamespace::create("helm-tmpl-w").await;
        let release = format!("tw-{}", random_suffix());
        let fullname = format!("{release}-tidewater");

        // All namespaces (default values), CRDs included.
        let yaml = template(&release, &ctx.ns, &["--include-crds"])?;
        let docs = documents(&yaml)?;
        let kinds = by_kind(&docs);
        let cluster_name = format!("{}-{fullname}", ctx.ns);
        ensure!(
            kinds.get("ClusterRole") == Some(&vec![cluster_name.clone()])
                && kinds.get("ClusterRoleBinding") == Some(&vec![cluster_name.clone()]),
            "all-namespaces mode: one ClusterRole and ClusterRoleBinding {cluster_name}: {kinds:?}"
        );
        ensure!(
            kinds.get("Role") == Some(&vec![format!("{}/{fullname}-leader-election", ctx.ns)]),
            "all-namespaces mode: only the Lease Role: {kinds:?}"
        );
        ensure!(
            kinds.get("CustomResourceDefinition").map(Vec::len) == Some(5),
            "five CRDs: {kinds:?}"
        );
        let deploy = the_one(&docs, "Deployment")?;
        check_deployment_hardening(deploy)?;
        let args = container_args(deploy);
        ensure!(
            args.first().map(String::as_str) == Some("run")
                && !args.iter().any(|a| a.starts_with("--namespace")),
            "all-namespaces mode runs `run` without --namespace: {args:?}"
        );
        server_dry_run(&yaml).context("server dry run, default values")?;

        // Selected namespaces: a Role per watched namespace, nothing cluster-scoped.
        let watch = format!("watchNamespaces={{{},{}}}", ctx.ns, other.name());
        let yaml = template(
            &release,
            &ctx.ns,
            &[
                "--set",
                &watch,
                "--set",
                "replicaCount=2",
                "--set",
                "podDisruptionBudget.enabled=true",
            ],
        )?;
        let docs = documents(&yaml)?;
        let kinds = by_kind(&docs);
        ensure!(
            !kinds.contains_key("ClusterRole") && !kinds.contains_key("ClusterRoleBinding"),
            "namespaced mode renders cluster-wide RBAC: {kinds:?}"
        );
        let mut want_roles = vec![
            format!("{}/{fullname}", ctx.ns),
            format!("{}/{fullname}-leader-election", ctx.ns),
            format!("{}/{fullname}", other.name()),
        ];
        want_roles.sort();
        ensure!(
            kinds.get("Role") == Some(&want_roles) && kinds.get("RoleBinding") == Some(&want_roles),
            "namespaced mode Roles/RoleBindings: {kinds:?}"
        );
        for d in docs.iter().filter(|d| d["kind"] == "Role") {
            let text = d["rules"].to_string();
            ensure!(!text.contains("\"nodes\""), "a Role grants nodes: {text}");
        }
        for d in &docs {
            ensure!(
                d["metadata"]["namespace"].is_string(),
                "cluster-scoped object in namespaced mode: {} {}",
                d["kind"],
                d["metadata"]["name"]
            );
        }
        let deploy = the_one(&docs, "Deployment")?;
        check_deployment_hardening(deploy)?;
        let args = container_args(deploy);
        for ns in [ctx.ns.as_str(), other.name()] {
            ensure!(
                args.contains(&format!("--namespace={ns}")),
                "--namespace={ns} missing: {args:?}"
            );
        }
        ensure!(kinds.contains_key("PodDisruptionBudget"), "PDB: {kinds:?}");
        server_dry_run(&yaml).context("server dry run, namespaced mode")?;

        // The optional ServiceMonitor renders (its CRD is not installed here, so no dry run).
        let yaml = template(
            &release,
            &ctx.ns,
            &["--set", "metrics.serviceMonitor.enabled=true"],
        )?;
        let docs = documents(&yaml)?;
        let sm = the_one(&docs, "ServiceMonitor")?;
        ensure!(
            sm["spec"]["endpoints"][0]["port"] == "metrics",
            "ServiceMonitor endpoint: {sm}"
        );
        drop(other);
        Ok(())
    })
    .await;
}

/// install (through the chart's crds/ path, into a namespace that enforces the `restricted`
/// Pod Security Standard), upgrade with changed values, switch to namespaced mode, uninstall:
/// nothing of the release is left but the CRDs.
#[tokio::test]
async fn helm_install_upgrade_uninstall() {
    run("helm-life", |ctx: Ctx| async move {
        kubectl(&[
            "label",
            "namespace",
            &ctx.ns,
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest",
        ])
        .ok()?;
        let rel = Release::new(&ctx.ns);
        let deployment = rel.fullname();

        rel.install(true, &["--wait", "--timeout", "120s"])
            .context("helm install")?;
        let d = get_json(&["get", "deployment", &deployment, "-n", &ctx.ns])?;
        ensure!(
            d["spec"]["replicas"] == 1,
            "replicas after install: {}",
            d["spec"]
        );
        ensure!(
            d["status"]["readyReplicas"] == 1,
            "pod not ready after install --wait: {}",
            d["status"]
        );
        ensure!(
            container_args(&d).contains(&"--log-format=json".to_string()),
            "args: {:?}",
            container_args(&d)
        );
        check_deployment_hardening(&d)?;
        for (kind, name) in [
            ("clusterrole", rel.cluster_name()),
            ("clusterrolebinding", rel.cluster_name()),
        ] {
            kubectl(&["get", kind, &name]).ok()?;
        }
        for (kind, name) in [
            ("serviceaccount", rel.service_account()),
            ("service", format!("{}-metrics", rel.fullname())),
            ("role", format!("{}-leader-election", rel.fullname())),
            ("rolebinding", format!("{}-leader-election", rel.fullname())),
        ] {
            ctx.kubectl(&["get", kind, &name]).ok()?;
        }
        for crd in [
            "taskdefinitions",
            "services",
            "clusters",
            "tasks",
            "scheduledtasks",
        ] {
            kubectl(&["get", "crd", &format!("{crd}.ecs.tidewater.dev")]).ok()?;
        }

        // Upgrade with changed values.
        rel.upgrade(&[
            "--wait",
            "--timeout",
            "120s",
            "--set",
            "replicaCount=2",
            "--set",
            "logFormat=text",
        ])
        .context("helm upgrade")?;
        let d = get_json(&["get", "deployment", &deployment, "-n", &ctx.ns])?;
        ensure!(
            d["spec"]["replicas"] == 2,
            "replicas after upgrade: {}",
            d["spec"]
        );
        ensure!(
            d["status"]["readyReplicas"] == 2,
            "pods not ready after upgrade --wait: {}",
            d["status"]
        );
        let args = container_args(&d);
        ensure!(
            args.contains(&"--log-format=text".to_string())
                && !args.contains(&"--log-format=json".to_string()),
            "log format not changed by the upgrade: {args:?}"
        );
        let status: Value =
            serde_json::from_str(&helm(&["status", &rel.name, "-n", &ctx.ns, "-o", "json"])?)?;
        ensure!(
            status["version"] == 2 && status["info"]["status"] == "deployed",
            "release after upgrade: version {} status {}",
            status["version"],
            status["info"]["status"]
        );

        // Upgrade into namespaced mode: the cluster-wide RBAC goes away, a Role takes over.
        let watch = format!("watchNamespaces={{{}}}", ctx.ns);
        rel.upgrade(&[
            "--reuse-values",
            "--set",
            &watch,
            "--wait",
            "--timeout",
            "120s",
        ])
        .context("helm upgrade to namespaced mode")?;
        ensure!(
            !kubectl(&["get", "clusterrole", &rel.cluster_name()]).success(),
            "the ClusterRole survived the switch to namespaced mode"
        );
        ctx.kubectl(&["get", "role", &rel.fullname()]).ok()?;
        let d = get_json(&["get", "deployment", &deployment, "-n", &ctx.ns])?;
        ensure!(
            container_args(&d).contains(&format!("--namespace={}", ctx.ns)),
            "args: {:?}",
            container_args(&d)
        );

        // And back to all namespaces, so the uninstall has cluster-scoped objects to remove.
        rel.upgrade(&[
            "--reuse-values",
            "--set-json",
            "watchNamespaces=[]",
            "--wait",
            "--timeout",
            "120s",
        ])
        .context("helm upgrade back to all namespaces")?;
        kubectl(&["get", "clusterrole", &rel.cluster_name()]).ok()?;
        kubectl(&["get", "clusterrolebinding", &rel.cluster_name()]).ok()?;
        ensure!(
            !ctx.kubectl(&["get", "role", &rel.fullname()]).success(),
            "the namespaced Role survived the switch back to all namespaces"
        );

        // Uninstall.
        rel.uninstall().context("helm uninstall")?;
        let left = cluster_scoped_objects_of(&rel)?;
        ensure!(left.is_empty(), "cluster-scoped leftovers: {left:?}");
        // Namespaced objects: helm deletes its own ones; ReplicaSets and Pods follow through
        // the garbage collector (background deletion), so they get a moment.
        let selector = format!("app.kubernetes.io/instance={}", rel.name);
        let mut left = String::new();
        let gone = eventually("the release's namespaced objects to be gone", WAIT, || {
            left = ctx
                .kubectl(&[
                    "get",
                    "deployments,replicasets,pods,services,serviceaccounts,roles,rolebindings,\
                     poddisruptionbudgets",
                    "-l",
                    &selector,
                    "-o",
                    "name",
                ])
                .ok()?;
            Ok(left.trim().is_empty())
        })
        .await;
        gone.with_context(|| format!("namespaced leftovers: {left}"))?;
        let releases = helm(&["list", "-n", &ctx.ns, "-a", "-q"])?;
        ensure!(releases.trim().is_empty(), "helm still lists: {releases}");
        // By design the CRDs (and so every ECS resource in the cluster) stay.
        for crd in [
            "taskdefinitions",
            "services",
            "clusters",
            "tasks",
            "scheduledtasks",
        ] {
            kubectl(&["get", "crd", &format!("{crd}.ecs.tidewater.dev")])
                .ok()
                .context("a CRD is gone after uninstall")?;
        }
        Ok(())
    })
    .await;
}

/// All-namespaces mode: the ServiceAccount's rights are exactly docs/rbac.md (nodes included,
/// the Lease only in the release namespace), with no wildcard, secret, configmap or exec.
#[tokio::test]
async fn helm_rbac_minimal_all_namespaces() {
    run("helm-rbac", |ctx: Ctx| async move {
        let rel = Release::new(&ctx.ns);
        rel.install(false, &[])?;
        let user = rel.user();
        let lease = rel.fullname();

        let want = expected_rules(true, true, Some(&lease));
        expect_rules(&user, &ctx.ns, &ctx.ns, &want).await?;
        check_red_lines(&extra_rules(&user, &ctx.ns, &ctx.ns)?, &ctx.ns)?;
        // Elsewhere: the same rules, but no Lease.
        let want = expected_rules(true, true, None);
        expect_rules(&user, &ctx.ns, "default", &want).await?;

        expect_can(
            &user,
            &["list", "deployments.apps", "--all-namespaces"],
            true,
        )?;
        expect_can(
            &user,
            &["watch", "services.ecs.tidewater.dev", "--all-namespaces"],
            true,
        )?;
        expect_can(&user, &["list", "nodes"], true)?;
        expect_can(&user, &["update", "nodes"], false)?;
        expect_can(
            &user,
            &["get", "leases.coordination.k8s.io", "-n", "default"],
            false,
        )?;
        expect_denied_everywhere(&user, &[&ctx.ns, "default", "kube-system"])?;
        Ok(())
    })
    .await;
}

/// Namespaced mode: a Role in each watched namespace, the Lease Role in the release namespace,
/// and no cluster-wide rights at all.
#[tokio::test]
async fn helm_rbac_minimal_namespaced() {
    run("helm-rbacns", |ctx: Ctx| async move {
        let w1 = TestNamespace::create("helm-rbacns-w1").await;
        let w2 = TestNamespace::create("helm-rbacns-w2").await;
        let rel = Release::new(&ctx.ns);
        let watch = format!("watchNamespaces={{{},{}}}", w1.name(), w2.name());
        rel.install(false, &["--set", &watch])?;
        let user = rel.user();
        let lease = rel.fullname();

        for ns in [w1.name(), w2.name()] {
            expect_rules(&user, &ctx.ns, ns, &expected_rules(true, false, None)).await?;
            check_red_lines(&extra_rules(&user, &ctx.ns, ns)?, ns)?;
        }
        // The release namespace is not watched: only the Lease.
        expect_rules(
            &user,
            &ctx.ns,
            &ctx.ns,
            &expected_rules(false, false, Some(&lease)),
        )
        .await?;
        // Any other namespace: nothing.
        expect_rules(&user, &ctx.ns, "default", &Rules::new()).await?;

        // No cluster-wide rights.
        for args in [
            ["list", "deployments.apps", "--all-namespaces"],
            ["watch", "services.ecs.tidewater.dev", "--all-namespaces"],
            ["list", "pods", "--all-namespaces"],
            ["create", "events.events.k8s.io", "--all-namespaces"],
        ] {
            expect_can(&user, &args, false)?;
        }
        expect_can(&user, &["list", "nodes"], false)?;
        expect_can(&user, &["get", "nodes"], false)?;
        expect_can(&user, &["list", "deployments.apps", "-n", w1.name()], true)?;
        expect_can(&user, &["list", "deployments.apps", "-n", "default"], false)?;
        expect_denied_everywhere(&user, &[&ctx.ns, w1.name(), w2.name(), "default"])?;

        let left = cluster_scoped_objects_of(&rel)?;
        ensure!(
            left.is_empty(),
            "namespaced mode created cluster-scoped objects: {left:?}"
        );
        drop(rel);
        drop((w1, w2));
        Ok(())
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// RBAC is sufficient: the operator with exactly the chart's rights
// ---------------------------------------------------------------------------------------------

/// The operator binary, run out of cluster, with a token of the chart's ServiceAccount.
/// Terminated (SIGTERM, then SIGKILL) when dropped.
struct OperatorProcess {
    child: Child,
    log: PathBuf,
}

impl OperatorProcess {
    fn spawn(kubeconfig: &Path, args: &[&str], log: PathBuf, ns: &str) -> Result<Self> {
        let file = std::fs::File::create(&log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_tidewater"))
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .env("POD_NAMESPACE", ns)
            .env("POD_NAME", "e2e-operator")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .context("spawning the tidewater binary")?;
        Ok(OperatorProcess { child, log })
    }

    fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    fn tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// An error if the operator exited, or logged an authorization failure.
    fn check(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the operator exited ({status}); its log:\n{}", self.tail());
        }
        let text = self.log_text().to_lowercase();
        if text.contains("forbidden") {
            bail!(
                "the operator was denied something (RBAC is not sufficient); its log:\n{}",
                self.tail()
            );
        }
        Ok(())
    }

    /// SIGTERM, and the exit status within `timeout`.
    fn terminate(&mut self, timeout: Duration) -> Result<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                bail!("the operator did not stop within {timeout:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.terminate(Duration::from_secs(10));
        }
        let _ = self.child.wait();
    }
}

/// A kubeconfig holding only `token` for the local cluster (server and CA from the admin
/// kubeconfig), so no admin client certificate can win.
fn token_kubeconfig(token: &str, path: &Path) -> Result<()> {
    let admin = get_json(&["config", "view", "--raw", "--minify"])?;
    let cluster = &admin["clusters"][0]["cluster"];
    let server = cluster["server"].as_str().context("server in kubeconfig")?;
    let mut c = json!({ "server": server });
    if let Some(ca) = cluster["certificate-authority-data"].as_str() {
        c["certificate-authority-data"] = json!(ca);
    } else if let Some(ca) = cluster["certificate-authority"].as_str() {
        c["certificate-authority"] = json!(ca);
    } else {
        bail!("no CA in the admin kubeconfig");
    }
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{ "name": "local", "cluster": c }],
        "users": [{ "name": "operator", "user": { "token": token } }],
        "contexts": [{ "name": "operator", "context": { "cluster": "local", "user": "operator" } }],
        "current-context": "operator",
    });
    std::fs::write(path, serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

/// `Kind/name` of every object in `ns` (of the kinds the operator makes for an ECS Service)
/// whose ownerReferences name `owner_uid`.
fn owned_children(ns: &str, owner_uid: &str) -> Result<BTreeSet<String>> {
    let list = get_json(&[
        "get",
        "deployments.apps,daemonsets.apps,services,serviceaccounts,\
         targetgroupbindings.elbv2.k8s.aws,horizontalpodautoscalers.autoscaling,\
         ingresses.networking.k8s.io,poddisruptionbudgets.policy",
        "-n",
        ns,
    ])?;
    let mut found = BTreeSet::new();
    for item in list["items"].as_array().into_iter().flatten() {
        let owned = item["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid));
        if owned {
            found.insert(format!(
                "{}/{}",
                item["kind"].as_str().unwrap_or("?"),
                item["metadata"]["name"].as_str().unwrap_or("?")
            ));
        }
    }
    Ok(found)
}

/// RBAC is sufficient: the operator runs with exactly the chart's rights (namespaced mode,
/// through a ServiceAccount token, not admin) through a full scenario: TaskDefinition + Service
/// with a load balancer and auto scaling -> all children, status, deletion cascades.
///
/// It runs `tidewater run --namespace NS --http-addr 127.0.0.1:0 --leader-election-namespace
/// NS --leader-election-name NAME` as in docs/rbac.md: the chart's Lease Role only allows
/// get/update of the Lease named `leaderElection.name` (default: the release's full name), so
/// the name is passed explicitly. It fails on any log line containing "forbidden", if the
/// operator exits early, or if it does not stop within 15s of SIGTERM.
#[tokio::test]
async fn helm_rbac_sufficient_for_the_operator() {
    operator_runs_with_chart_rbac().await;
}

async fn operator_runs_with_chart_rbac() {
    run("helm-op", |ctx: Ctx| async move {
        let rel = Release::new(&ctx.ns);
        // No operator pod (kwok would only pretend to run it): the real one runs here.
        let watch = format!("watchNamespaces={{{}}}", ctx.ns);
        rel.install(false, &["--set", &watch, "--set", "replicaCount=0"])?;
        let lease = rel.fullname();

        let token = ctx
            .kubectl(&["create", "token", &rel.service_account(), "--duration=2h"])
            .ok()?;
        let dir = std::env::temp_dir().join(format!("tidewater-e2e-{}", ctx.ns));
        std::fs::create_dir_all(&dir)?;
        let kubeconfig = dir.join("kubeconfig");
        token_kubeconfig(token.trim(), &kubeconfig)?;

        let mut op = OperatorProcess::spawn(
            &kubeconfig,
            &[
                "run",
                "--namespace",
                &ctx.ns,
                "--http-addr",
                "127.0.0.1:0",
                "--leader-election-namespace",
                &ctx.ns,
                "--leader-election-name",
                &lease,
                "--log-format",
                "text",
            ],
            dir.join("operator.log"),
            &ctx.ns,
        )?;

        // The whole web example: Cluster, TaskDefinition, Service (ALB target group, auto
        // scaling, ingress).
        let example = repo_root().join("examples/web-alb-autoscaling.yaml");
        ctx.kubectl(&["apply", "-f", &example.display().to_string()])
            .ok()?;
        let svc = get_json(&["get", "services.ecs.tidewater.dev", "web", "-n", &ctx.ns])?;
        let uid = svc["metadata"]["uid"]
            .as_str()
            .context("uid of the ECS Service")?
            .to_string();

        let wanted = [
            "Deployment",
            "Service",
            "ServiceAccount",
            "TargetGroupBinding",
            "HorizontalPodAutoscaler",
        ];
        let mut children = BTreeSet::new();
        let waited = eventually("the children of the ECS Service", WAIT, || {
            op.check()?;
            children = owned_children(&ctx.ns, &uid)?;
            let kinds: BTreeSet<&str> = children
                .iter()
                .filter_map(|c| c.split('/').next())
                .collect();
            Ok(wanted.iter().all(|k| kinds.contains(k)))
        })
        .await;
        waited.with_context(|| format!("children so far: {children:?}\n{}", op.tail()))?;
        // The chart's Roles let it watch the third-party kinds in its namespace: it caches them
        // (rather than reading them before each apply).
        ensure!(
            !op.log_text().contains("not watchable"),
            "a third-party kind left unwatched in namespaced mode:\n{}",
            op.tail()
        );

        let mut last = Value::Null;
        let waited = eventually("runningCount == desiredCount", WAIT, || {
            op.check()?;
            let s = get_json(&["get", "services.ecs.tidewater.dev", "web", "-n", &ctx.ns])?;
            last = s["status"].clone();
            let desired = s["status"]["desiredCount"]
                .as_i64()
                .or_else(|| s["spec"]["desiredCount"].as_i64());
            Ok(desired.is_some_and(|d| d > 0 && s["status"]["runningCount"].as_i64() == Some(d)))
        })
        .await;
        waited.with_context(|| format!("status: {last}\n{}", op.tail()))?;

        // Deleting the ECS Service removes everything it owns.
        ctx.kubectl(&["delete", "services.ecs.tidewater.dev", "web", "--wait=true"])
            .ok()?;
        let waited = eventually("the children to be deleted", WAIT, || {
            op.check()?;
            children = owned_children(&ctx.ns, &uid)?;
            Ok(children.is_empty())
        })
        .await;
        waited.with_context(|| format!("still there: {children:?}\n{}", op.tail()))?;

        op.check()?;
        let status = op.terminate(Duration::from_secs(15))?;
        ensure!(
            status.success(),
            "the operator exited with {status} on SIGTERM; its log:\n{}",
            op.tail()
        );
        drop(rel);
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// The ECS API server (ecsApi.enabled)
// ---------------------------------------------------------------------------------------------

/// The ECS API server's ServiceAccount may list/watch Secrets and impersonate ServiceAccounts,
/// nothing else (no `get` of a Secret, no impersonation of users or groups), and that is
/// enough: the real binary, run here with a token of that ServiceAccount, serves the AWS CLI.
/// With `ecsApi.namespaces` its rights are Roles in those namespaces only.
#[tokio::test]
async fn helm_ecs_api_rbac_minimal_and_sufficient() {
    run("helm-ecsapi", |ctx: Ctx| async move {
        let rel = Release::new(&ctx.ns);
        let enable = [
            "--set",
            "ecsApi.enabled=true",
            "--set",
            "ecsApi.allowInsecureHttp=true",
        ];
        rel.install(false, &[&enable[..], &["--set", "replicaCount=0"]].concat())?;
        let sa = format!("{}-ecs-api", rel.fullname());
        let user = format!("system:serviceaccount:{}:{sa}", ctx.ns);
        let want: Rules = [
            (("secrets", "[]"), &["list", "watch"][..]),
            (("serviceaccounts", "[]"), &["impersonate"][..]),
        ]
        .into_iter()
        .map(|((r, n), vs)| {
            let vs = vs.iter().map(|v| v.to_string()).collect();
            ((r.to_string(), n.to_string()), vs)
        })
        .collect();
        for ns in [ctx.ns.as_str(), "default"] {
            let got = extra_rules(&user, &ctx.ns, ns)?;
            ensure!(
                got == want,
                "ecs-api rights in {ns}:\n{}",
                diff(&want, &got)
            );
        }
        for (args, allowed) in [
            (&["get", "secrets", "-n", "default"][..], false),
            (&["impersonate", "groups"], false),
            (&["impersonate", "users"], false),
            (&["list", "deployments.apps", "--all-namespaces"], false),
            (
                &["create", "clusters.ecs.tidewater.dev", "-n", "default"],
                false,
            ),
        ] {
            expect_can(&user, args, allowed)?;
        }

        ecs_api_serves_with_token(&ctx, &sa).await?;
        ecs_api_namespaced_mode(&ctx, &rel, &enable, &sa)?;
        Ok(())
    })
    .await;
}

/// The real server, run here with a token of the chart's ServiceAccount `sa`, serves a key of
/// the test namespace: the chart's rights are sufficient.
async fn ecs_api_serves_with_token(ctx: &Ctx, sa: &str) -> Result<()> {
    let token = ctx
        .kubectl(&["create", "token", sa, "--duration=1h"])
        .ok()?;
    let dir = std::env::temp_dir().join(format!("tidewater-e2e-{}", ctx.ns));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    token_kubeconfig(token.trim(), &kubeconfig)?;
    let server = crate::ecs_api::EcsApiServer::start_as(&kubeconfig, &[]).await?;
    let key =
        crate::ecs_api::create_access_key(ctx, "deployer", crate::ecs_api::ecs_full_access_rules())
            .await?;
    let create = ["ecs", "create-cluster", "--cluster-name", "via-chart-rbac"];
    crate::ecs_api::aws(&server, &key, &create).ok_json()?;
    get_json(&[
        "get",
        "clusters.ecs.tidewater.dev",
        "via-chart-rbac",
        "-n",
        &ctx.ns,
    ])?;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// With `ecsApi.namespaces`, the server's objects (ServiceAccount, Role, RoleBinding,
/// Deployment, Service) all live in the namespace and it runs with `--namespace`.
fn ecs_api_namespaced_mode(ctx: &Ctx, rel: &Release, enable: &[&str], sa: &str) -> Result<()> {
    let only = format!("ecsApi.namespaces={{{}}}", ctx.ns);
    let yaml = template(&rel.name, &ctx.ns, &[enable, &["--set", &only]].concat())?;
    let docs = documents(&yaml)?;
    let ecs_api_objects: Vec<String> = docs
        .iter()
        .filter(|d| {
            d["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("-ecs-api"))
        })
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap_or("?"),
                d["metadata"]["namespace"].as_str().unwrap_or("-")
            )
        })
        .collect();
    ensure!(
        ecs_api_objects.len() == 5
            && ecs_api_objects
                .iter()
                .all(|o| o.ends_with(&format!("/{}", ctx.ns))),
        "namespaced ecs-api objects: {ecs_api_objects:?}"
    );
    let deploy = docs
        .iter()
        .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == sa)
        .context("the ecs-api Deployment")?;
    let args = container_args(deploy);
    ensure!(
        args.contains(&format!("--namespace={}", ctx.ns))
            && args.contains(&"--allow-insecure-http".to_string()),
        "ecs-api args: {args:?}"
    );
    server_dry_run(&yaml).context("server dry run, ecsApi.namespaces")?;
    Ok(())
}
