//! Shared helpers for the end-to-end tests: connecting to the local cluster, a throwaway
//! namespace per test (deleted afterwards, with a diagnostic dump when the test failed), waiting
//! on conditions through watches, and running kubectl.

#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::fmt::Debug;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{Client, Config, Resource};
use serde::de::DeserializeOwned;

/// Default time budget for one wait on the cluster.
pub const WAIT: Duration = Duration::from_secs(90);
/// Time budget for a whole test body.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `$TIDEWATER_CLUSTER_DIR`, default `~/.cache/tidewater/cluster` (as in hack/cluster.sh).
pub fn cluster_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TIDEWATER_CLUSTER_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/tidewater/cluster")
}

/// `$KUBECONFIG` if set, else the local cluster's admin kubeconfig.
pub fn kubeconfig_path() -> PathBuf {
    match std::env::var_os("KUBECONFIG").filter(|k| !k.is_empty()) {
        Some(k) => PathBuf::from(k),
        None => cluster_dir().join("kubeconfig"),
    }
}

/// A client for the local cluster. Panics with a clear message when the cluster cannot be
/// reached: these tests never skip.
pub async fn client() -> Client {
    let path = kubeconfig_path();
    let hint = "start the local control plane with `make cluster` (hack/cluster.sh up), \
                or run the tests through `make test-e2e` (hack/e2e.sh), which starts it";
    let config = async {
        let kubeconfig = Kubeconfig::read_from(&path)
            .with_context(|| format!("reading kubeconfig {}", path.display()))?;
        Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .with_context(|| format!("loading kubeconfig {}", path.display()))
    }
    .await;
    let config = match config {
        Ok(c) => c,
        Err(e) => panic!("e2e: no usable kubeconfig: {e:#}\n  -> {hint}"),
    };
    let url = config.cluster_url.clone();
    let client = Client::try_from(config)
        .unwrap_or_else(|e| panic!("e2e: building a client for {url}: {e}"));
    match tokio::time::timeout(Duration::from_secs(15), client.apiserver_version()).await {
        Ok(Ok(_)) => client,
        Ok(Err(e)) => panic!(
            "e2e: the Kubernetes API server at {url} (kubeconfig {}) is unreachable: {e}\n  -> {hint}",
            path.display()
        ),
        Err(_) => panic!(
            "e2e: the Kubernetes API server at {url} (kubeconfig {}) did not answer within 15s\n  -> {hint}",
            path.display()
        ),
    }
}

/// A random lowercase suffix for names (std only: RandomState is randomly keyed per process).
pub fn random_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    let mut n = h.finish();
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..6)
        .map(|_| {
            let c = alphabet[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

/// What a test body gets: a client and the name of its own namespace.
#[derive(Clone)]
pub struct Ctx {
    pub client: Client,
    pub ns: String,
}

impl Ctx {
    /// A namespaced API in the test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// A cluster-scoped API.
    pub fn cluster_api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::ClusterResourceScope>,
        <K as Resource>::DynamicType: Default,
    {
        Api::all(self.client.clone())
    }

    /// kubectl with `-n <test namespace>` appended.
    pub fn kubectl(&self, args: &[&str]) -> KubectlOutput {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-n", &self.ns]);
        kubectl(&all)
    }
}

/// A throwaway namespace; deleted on drop (also when the test panicked), after printing a
/// diagnostic dump if the test failed.
pub struct TestNamespace {
    ctx: Ctx,
}

impl TestNamespace {
    pub async fn create(prefix: &str) -> Self {
        let client = client().await;
        let name = format!("e2e-{prefix}-{}", random_suffix());
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([("tidewater.dev/e2e".to_string(), "true".to_string())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("e2e: creating namespace {name}: {e}"));
        let guard = TestNamespace {
            ctx: Ctx { client, ns: name },
        };
        // Pods need the namespace's `default` ServiceAccount (made by kube-controller-manager).
        let sa: Api<ServiceAccount> = guard.ctx.api();
        if let Err(e) = wait_for(&sa, "default", conditions::is_created(), WAIT).await {
            panic!("e2e: namespace {}: {e:#}", guard.ctx.ns);
        }
        guard
    }

    pub fn ctx(&self) -> Ctx {
        self.ctx.clone()
    }

    pub fn name(&self) -> &str {
        &self.ctx.ns
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            dump_failure(&self.ctx.ns);
        }
        // Don't wait for the namespace to go away: the namespace controller finishes it.
        let out = kubectl(&[
            "delete",
            "namespace",
            &self.ctx.ns,
            "--wait=false",
            "--ignore-not-found",
        ]);
        if !out.success() {
            eprintln!(
                "e2e: deleting namespace {} failed: {}",
                self.ctx.ns,
                out.stderr.trim()
            );
        }
    }
}

/// Every test holds this shared; a test that measures the whole API server (request counters)
/// holds it exclusively ([`run_alone`]), so no other test writes meanwhile.
static EXCLUSIVE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Runs a test body in a fresh namespace with an overall timeout; an `Err` fails the test (with
/// the diagnostic dump), as does a panic inside the body.
pub async fn run<F, Fut>(prefix: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let _shared = EXCLUSIVE.read().await;
    run_body(prefix, body).await
}

/// As [`run`], while no other test runs.
pub async fn run_alone<F, Fut>(prefix: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let _exclusive = EXCLUSIVE.write().await;
    run_body(prefix, body).await
}

async fn run_body<F, Fut>(prefix: &str, body: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let ns = TestNamespace::create(prefix).await;
    let result = match tokio::time::timeout(TEST_TIMEOUT, body(ns.ctx())).await {
        Ok(r) => r,
        Err(_) => Err(anyhow!("test timed out after {TEST_TIMEOUT:?}")),
    };
    if let Err(e) = result {
        // Panicking while `ns` is alive makes its Drop print the dump before deleting.
        panic!("e2e test in namespace {} failed: {e:#}", ns.name());
    }
}

/// Waits (through a watch, no polling) until `cond` holds for the object `name`.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    cond: impl Condition<K>,
    timeout: Duration,
) -> Result<Option<K>>
where
    K: Clone + Debug + Send + DeserializeOwned + Resource + 'static,
    <K as Resource>::DynamicType: Default,
{
    match tokio::time::timeout(timeout, await_condition(api.clone(), name, cond)).await {
        Ok(Ok(obj)) => Ok(obj),
        Ok(Err(e)) => Err(anyhow!(
            "watching {} {name}: {e}",
            K::kind(&Default::default())
        )),
        Err(_) => {
            let current = api.get_opt(name).await.ok().flatten();
            Err(anyhow!(
                "timed out after {timeout:?} waiting for {} {name}; last seen: {}",
                K::kind(&Default::default()),
                current
                    .map(|o| format!("{o:?}"))
                    .unwrap_or_else(|| "<absent>".into())
            ))
        }
    }
}

/// Retries a check that has no object to watch (e.g. an authorization decision) until it
/// returns `Ok(true)`, with a short backoff and a deadline.
pub async fn eventually<F>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Result<bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(50);
    loop {
        let last = check();
        if let Ok(true) = last {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!(
                "timed out after {timeout:?} waiting for {what} (last result: {last:?})"
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

/// The result of one kubectl run.
#[derive(Debug)]
pub struct KubectlOutput {
    pub args: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl KubectlOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout if kubectl succeeded, else an error carrying its stderr.
    pub fn ok(self) -> Result<String> {
        if self.success() {
            Ok(self.stdout)
        } else {
            bail!(
                "`kubectl {}` failed ({}): {}",
                self.args.join(" "),
                self.status,
                self.stderr.trim()
            )
        }
    }
}

fn kubectl_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into()));
    cmd.args(args).env("KUBECONFIG", kubeconfig_path());
    cmd
}

/// Runs kubectl against the local cluster.
pub fn kubectl(args: &[&str]) -> KubectlOutput {
    kubectl_stdin(args, None)
}

/// Runs kubectl with `stdin` fed to it (e.g. `-f -`).
pub fn kubectl_stdin(args: &[&str], stdin: Option<&[u8]>) -> KubectlOutput {
    let mut cmd = kubectl_command(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("e2e: cannot run kubectl (is it on PATH?)");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        // Write from another thread so a large input cannot deadlock against a full stdout pipe.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    let out = child.wait_with_output().expect("e2e: waiting for kubectl");
    KubectlOutput {
        args: args.iter().map(|s| s.to_string()).collect(),
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Prints what is in the namespace and the end of every control plane log.
pub fn dump_failure(ns: &str) {
    let mut report = format!("\n======== e2e failure dump for namespace {ns} ========\n");
    for args in [
        vec!["get", "all,events", "-o", "wide", "-n", ns],
        vec!["get", "nodes", "-o", "wide"],
    ] {
        let out = kubectl(&args);
        report.push_str(&format!(
            "---- kubectl {}\n{}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        ));
    }
    let logs = cluster_dir().join("logs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&logs)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| {
        p.extension().is_some_and(|e| e == "log") && !p.to_string_lossy().ends_with(".previous.log")
    });
    files.sort();
    if files.is_empty() {
        report.push_str(&format!("---- no component logs in {}\n", logs.display()));
    }
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(30)..];
        report.push_str(&format!(
            "---- tail of {}\n{}\n",
            f.display(),
            tail.join("\n")
        ));
    }
    report.push_str("======== end of dump ========\n");
    eprintln!("{report}");
}

/// YAML files (`*.yaml`, `*.yml`) directly in `dir`, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"));
    files.sort();
    files
}

/// Prints a figure a test measured and appends it to `$TIDEWATER_E2E_REPORT` when set
/// (hack/e2e.sh prints that file at the end of the run, so the figures show even though the
/// test harness captures the output of passing tests).
pub fn report(line: &str) {
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("TIDEWATER_E2E_REPORT").filter(|p| !p.is_empty()) {
        use std::io::Write as _;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}
