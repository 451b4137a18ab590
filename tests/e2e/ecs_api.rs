//! Harness of the ECS API end-to-end tests (`tidewater ecs-api`, issue 13): the server binary on
//! a free loopback port, access keys (Secret + ServiceAccount + Role/RoleBinding) in a test
//! namespace, and the real AWS clients pointed at it: the AWS CLI and boto3 (pinned, from PyPI,
//! in a cached virtualenv) and the AWS SDK for Go v2 driver of hack/ecs-sdk-go (the SDK
//! ecspresso is built on). hack/ecs-clients.sh installs the clients (hack/e2e.sh runs it and
//! exports `TIDEWATER_ECS_VENV` / `TIDEWATER_ECS_SDK_GO`; without them the harness runs it).
//!
//! Typical use in a test:
//!
//! ```ignore
//! support::run("ecs-life", |ctx| async move {
//!     let server = EcsApiServer::start().await?;
//!     let key = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
//!     let out = aws(&server, &key, &["ecs", "list-clusters"]).ok_json()?;
//!     let out = boto3(&server, &key, "print(json.dumps(ecs.list_clusters()))").ok_json()?;
//!     let out = sdk_go(&server, &key, &["call", "ListClusters"]).ok_json()?;
//!     Ok(())
//! }).await;
//! ```
//! The server stops when the [`EcsApiServer`] is dropped (also when the test panics); the key's
//! objects live in the test namespace and go with it.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use serde_json::Value;

use crate::support::{self, Ctx};

/// The account id the harness's server puts in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region the clients sign for (any region works: it comes from the SigV4 scope).
pub const REGION: &str = "eu-west-1";

/// A running `tidewater ecs-api` on `127.0.0.1:<free port>` (plain HTTP on loopback), with the
/// admin kubeconfig of the local cluster; killed on drop.
pub struct EcsApiServer {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// Its log file (JSON lines; the audit lines have `"target":"tidewater::ecs_api::audit"`).
    pub log: PathBuf,
}

impl EcsApiServer {
    /// Starts the server (`--account-id` [`ACCOUNT_ID`]) and waits until it listens, which it
    /// does only once it has listed the access-key Secrets.
    pub async fn start() -> Result<EcsApiServer> {
        Self::start_with(&[]).await
    }

    /// As [`EcsApiServer::start`], with extra arguments (`--namespace`, `--tls-cert`, ...).
    pub async fn start_with(extra: &[&str]) -> Result<EcsApiServer> {
        Self::start_as(&support::kubeconfig_path(), extra).await
    }

    /// As [`EcsApiServer::start_with`], with another kubeconfig (e.g. a ServiceAccount token:
    /// the server with exactly the chart's rights).
    pub async fn start_as(kubeconfig: &std::path::Path, extra: &[&str]) -> Result<EcsApiServer> {
        let log = std::env::temp_dir().join(format!(
            "tidewater-ecs-api-{}.log",
            support::random_suffix()
        ));
        let file = std::fs::File::create(&log)?;
        let child = Command::new(env!("CARGO_BIN_EXE_tidewater"))
            .args(["ecs-api", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(["--account-id", ACCOUNT_ID])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .context("spawning tidewater ecs-api")?;
        let mut server = EcsApiServer {
            child: Some(child),
            addr: String::new(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.addr.is_empty() {
            if Instant::now() > deadline {
                bail!(
                    "ecs-api did not report its address; log:\n{}",
                    server.logs()
                );
            }
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                bail!("ecs-api exited with {status}; log:\n{}", server.logs());
            }
            if let Some(addr) = server.log_lines().iter().find_map(|v| v["addr"].as_str()) {
                server.addr = addr.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`, the endpoint URL clients are given.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The log lines that are JSON objects.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The audit lines (one per request: request_id, access_key_id, namespace, operation,
    /// outcome, status, message, duration_ms).
    pub fn audit_lines(&self) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|v| v["target"] == "tidewater::ecs_api::audit")
            .collect()
    }

    /// Stops the server (SIGKILL) and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for EcsApiServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- ecs-api log {} ----\n{}",
                self.log.display(),
                self.logs()
            );
        }
        self.stop();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The credentials of an access key and the region clients sign for.
#[derive(Clone, Debug)]
pub struct AccessKeyCreds {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
    /// The namespace the key serves.
    pub namespace: String,
}

impl AccessKeyCreds {
    /// The same key id with another secret (a client that signs wrongly).
    pub fn with_secret(&self, secret: &str) -> AccessKeyCreds {
        AccessKeyCreds {
            secret_access_key: secret.into(),
            ..self.clone()
        }
    }
}

/// RBAC rules granting everything on the Tidewater resources (`ecs.tidewater.dev`, every
/// resource and verb): what a deploy pipeline's key typically gets.
pub fn ecs_full_access_rules() -> Vec<PolicyRule> {
    vec![PolicyRule {
        api_groups: Some(vec!["ecs.tidewater.dev".into()]),
        resources: Some(vec!["*".into()]),
        verbs: vec!["*".into()],
        ..Default::default()
    }]
}

/// Creates an access key in the test namespace: ServiceAccount `name`, a Role `name` with
/// `rules` bound to it (no Role when `rules` is empty: an identity without rights), and the
/// Secret `name` of type `ecs.tidewater.dev/access-key` with a random key id and secret.
pub async fn create_access_key(
    ctx: &Ctx,
    name: &str,
    rules: Vec<PolicyRule>,
) -> Result<AccessKeyCreds> {
    let pp = PostParams::default();
    let meta = || ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ctx.ns.clone()),
        ..Default::default()
    };
    ctx.api::<ServiceAccount>()
        .create(
            &pp,
            &ServiceAccount {
                metadata: meta(),
                ..Default::default()
            },
        )
        .await
        .context("creating the key's ServiceAccount")?;
    if !rules.is_empty() {
        let role = Role {
            metadata: meta(),
            rules: Some(rules),
        };
        ctx.api::<Role>()
            .create(&pp, &role)
            .await
            .context("creating the Role")?;
        let binding = RoleBinding {
            metadata: meta(),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: name.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: name.into(),
                namespace: Some(ctx.ns.clone()),
                ..Default::default()
            }]),
        };
        ctx.api::<RoleBinding>()
            .create(&pp, &binding)
            .await
            .context("creating the RoleBinding")?;
    }
    let creds = AccessKeyCreds {
        access_key_id: format!("AKIA{}", support::random_suffix().to_uppercase()),
        secret_access_key: format!("{}{}", support::random_suffix(), support::random_suffix()),
        region: REGION.into(),
        namespace: ctx.ns.clone(),
    };
    create_key_secret(ctx, name, &creds).await?;
    Ok(creds)
}

/// Creates only the access-key Secret `name` holding `creds` in the test namespace (its
/// ServiceAccount defaults to `name`), e.g. to give a second Secret an id already in use.
pub async fn create_key_secret(ctx: &Ctx, name: &str, creds: &AccessKeyCreds) -> Result<()> {
    let meta = ObjectMeta {
        name: Some(name.into()),
        namespace: Some(ctx.ns.clone()),
        ..Default::default()
    };
    let data = [
        ("accessKeyId", &creds.access_key_id),
        ("secretAccessKey", &creds.secret_access_key),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
    .collect();
    let secret = Secret {
        metadata: meta,
        type_: Some("ecs.tidewater.dev/access-key".into()),
        data: Some(data),
        ..Default::default()
    };
    ctx.api::<Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .context("creating the access-key Secret")?;
    Ok(())
}

/// The result of one client run.
#[derive(Debug)]
pub struct ClientOutput {
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl ClientOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// stdout parsed as JSON when the client succeeded (empty output is `null`), else an
    /// error carrying stderr.
    pub fn ok_json(&self) -> Result<Value> {
        if !self.success() {
            bail!(
                "{} failed ({}): {}",
                self.what,
                self.status,
                self.stderr.trim()
            );
        }
        if self.stdout.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&self.stdout)
            .with_context(|| format!("{}: stdout is not JSON: {}", self.what, self.stdout))
    }

    /// The AWS error code the client reported (it must have failed): the CLI's and boto3's
    /// `An error occurred (CODE) when calling ...`, or the Go driver's `{"error": {"code"}}`.
    pub fn error_code(&self) -> Result<String> {
        if self.success() {
            bail!(
                "{} succeeded, an error was expected: {}",
                self.what,
                self.stdout
            );
        }
        if let Some(rest) = self.stderr.split("An error occurred (").nth(1)
            && let Some((code, _)) = rest.split_once(')')
        {
            return Ok(code.to_string());
        }
        let json_start = self.stderr.find('{').unwrap_or(0);
        serde_json::from_str::<Value>(&self.stderr[json_start..])
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
            .filter(|c| !c.is_empty())
            .ok_or_else(|| anyhow!("{}: no AWS error code in: {}", self.what, self.stderr))
    }
}

/// Where hack/ecs-clients.sh installed the clients: (virtualenv, Go driver).
pub fn client_paths() -> (PathBuf, PathBuf) {
    static PATHS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PATHS
        .get_or_init(|| {
            let var = |k: &str| {
                std::env::var_os(k)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            };
            if let (Some(venv), Some(go)) = (var("TIDEWATER_ECS_VENV"), var("TIDEWATER_ECS_SDK_GO"))
            {
                return (venv, go);
            }
            let out = Command::new(support::repo_root().join("hack/ecs-clients.sh"))
                .arg("env")
                .stderr(Stdio::inherit())
                .output()
                .expect("e2e: running hack/ecs-clients.sh");
            assert!(out.status.success(), "e2e: hack/ecs-clients.sh env failed");
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let get = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{k}=")))
                    .map(PathBuf::from)
                    .unwrap_or_else(|| panic!("e2e: hack/ecs-clients.sh printed no {k}"))
            };
            (get("TIDEWATER_ECS_VENV"), get("TIDEWATER_ECS_SDK_GO"))
        })
        .clone()
}

/// A client command with only the server and the key in its AWS environment: endpoint through
/// `AWS_ENDPOINT_URL_ECS`, static credentials, region, no shared config or credentials files,
/// no instance metadata, no proxy, a single attempt (no retries).
fn client_command(program: PathBuf, server: &EcsApiServer, key: &AccessKeyCreds) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("AWS_") || k.to_ascii_lowercase().ends_with("_proxy") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AWS_ENDPOINT_URL_ECS", server.endpoint())
        .env("AWS_ACCESS_KEY_ID", &key.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &key.secret_access_key)
        .env("AWS_DEFAULT_REGION", &key.region)
        .env("AWS_REGION", &key.region)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null());
    cmd
}

fn run_client(what: String, mut cmd: Command) -> ClientOutput {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("e2e: running {what}: {e}"));
    ClientOutput {
        what,
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the AWS CLI (`aws ARGS... --output json`) against the server with `key`.
/// Example: `aws(&server, &key, &["ecs", "describe-services", "--cluster", "c", "--services", "s"])`.
pub fn aws(server: &EcsApiServer, key: &AccessKeyCreds, args: &[&str]) -> ClientOutput {
    let (venv, _) = client_paths();
    let mut cmd = client_command(venv.join("bin/aws"), server, key);
    cmd.args(args).args(["--output", "json"]);
    run_client(format!("aws {}", args.join(" ")), cmd)
}

/// Runs a Python script with boto3 against the server with `key`. The script starts with
/// `import boto3, botocore, json, sys` and `ecs = boto3.client("ecs")` done; it prints its
/// result (e.g. `print(json.dumps(ecs.list_clusters(), default=str))`). A botocore
/// `ClientError` left uncaught prints `An error occurred (CODE) ...` like the CLI, so
/// [`ClientOutput::error_code`] reads it.
pub fn boto3(server: &EcsApiServer, key: &AccessKeyCreds, script: &str) -> ClientOutput {
    let (venv, _) = client_paths();
    let program = format!(
        "import boto3, botocore, botocore.config, json, sys\n\
         ecs = boto3.client('ecs', config=botocore.config.Config(retries={{'max_attempts': 1}}))\n\
         try:\n{}\nexcept botocore.exceptions.ClientError as e:\n    print(e, file=sys.stderr)\n    sys.exit(1)\n",
        indent(script)
    );
    let mut cmd = client_command(venv.join("bin/python"), server, key);
    cmd.args(["-c", &program]);
    run_client(format!("boto3 script {script:.80}"), cmd)
}

fn indent(script: &str) -> String {
    script
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

/// Runs the AWS SDK for Go v2 driver (hack/ecs-sdk-go) against the server with `key`:
/// `["call", "RegisterTaskDefinition", "@/path/input.json"]` (input as JSON text or `@file`,
/// output printed as JSON with the API's lowerCamel member names) or
/// `["wait", "services-stable", "--cluster", "c", "--services", "s", "--timeout", "3m"]`
/// (also `tasks-running` / `tasks-stopped` with `--tasks`; the SDK's own waiters, polling every
/// 1-3 s). An API error exits 1 with `{"error": {"code", "message"}}` on stderr.
pub fn sdk_go(server: &EcsApiServer, key: &AccessKeyCreds, args: &[&str]) -> ClientOutput {
    let (_, go) = client_paths();
    let mut cmd = client_command(go, server, key);
    cmd.args(args);
    run_client(format!("ecs-sdk-go {}", args.join(" ")), cmd)
}
