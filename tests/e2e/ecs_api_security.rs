//! End-to-end security tests of the ECS API (`tidewater ecs-api`, issue 13), through the real
//! AWS CLI, boto3 and the AWS SDK for Go v2: a wrong secret, an unknown key, an expired
//! request, an unsigned request, a key of namespace A reaching for namespace B, a key whose
//! ServiceAccount lacks RBAC. Each is refused with the error AWS gives, and nothing is written
//! (checked through the Kubernetes API). Run with `hack/e2e.sh ecs_api_security`.

use anyhow::{Result, ensure};
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::api::{Api, ListParams};
use serde_json::Value;
use tidewater::api::{Cluster, TaskDefinition};

use crate::ecs_api::{
    AccessKeyCreds, EcsApiServer, aws, boto3, create_access_key, create_key_secret,
    ecs_full_access_rules, sdk_go,
};
use crate::support::{self, Ctx, TestNamespace};

/// The Cluster and TaskDefinition resources of a namespace: what a refused request must not
/// have written.
async fn written(client: &kube::Client, ns: &str) -> Result<(usize, usize)> {
    let clusters = Api::<Cluster>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    let tds = Api::<TaskDefinition>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await?;
    Ok((clusters.items.len(), tds.items.len()))
}

fn unknown_key(key: &AccessKeyCreds) -> AccessKeyCreds {
    AccessKeyCreds {
        access_key_id: "AKIANOSUCHKEY0000000".into(),
        ..key.clone()
    }
}

/// The audit line outcomes of the requests signed by `key_id`.
fn outcomes(server: &EcsApiServer, key_id: &str) -> Vec<String> {
    server
        .audit_lines()
        .iter()
        .filter(|l| l["access_key_id"] == key_id)
        .map(|l| l["outcome"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// "InvalidSignatureException: The request signature we calculated does not match the
/// signature you provided." and "UnrecognizedClientException: The security token included in
/// the request is invalid." are what ECS answers; every client maps them to the same code.
#[tokio::test]
async fn a_wrong_secret_or_an_unknown_key_is_refused_and_writes_nothing() {
    support::run("ecs-sec-sig", |ctx: Ctx| async move {
        let server = EcsApiServer::start().await?;
        let key = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        // Control: the right key works.
        aws(&server, &key, &["ecs", "list-clusters"]).ok_json()?;
        let wrong = key.with_secret("not-the-secret");
        let create = ["ecs", "create-cluster", "--cluster-name", "intruder"];
        assert_eq!(
            aws(&server, &wrong, &create).error_code()?,
            "InvalidSignatureException"
        );
        let script = "ecs.create_cluster(clusterName='intruder')";
        assert_eq!(
            boto3(&server, &wrong, script).error_code()?,
            "InvalidSignatureException"
        );
        let go = ["call", "CreateCluster", r#"{"clusterName": "intruder"}"#];
        assert_eq!(
            sdk_go(&server, &wrong, &go).error_code()?,
            "InvalidSignatureException"
        );
        let unknown = unknown_key(&key);
        assert_eq!(
            aws(&server, &unknown, &create).error_code()?,
            "UnrecognizedClientException"
        );
        assert_eq!(
            boto3(&server, &unknown, script).error_code()?,
            "UnrecognizedClientException"
        );
        assert_eq!(
            sdk_go(&server, &unknown, &go).error_code()?,
            "UnrecognizedClientException"
        );
        assert_eq!(written(&ctx.client, &ctx.ns).await?, (0, 0));
        // Every refusal has its audit line, under the key id the request claimed.
        assert_eq!(
            outcomes(&server, &key.access_key_id),
            [
                "ok",
                "InvalidSignatureException",
                "InvalidSignatureException",
                "InvalidSignatureException"
            ]
        );
        assert_eq!(outcomes(&server, &unknown.access_key_id).len(), 3);
        Ok(())
    })
    .await;
}

/// A request signed 20 minutes ago (botocore's signer with its clock set back) is refused:
/// "In most cases, a request must reach AWS within five minutes of the time stamp in the
/// request. Otherwise, AWS denies the request." (IAM User Guide, Signature Version 4).
#[tokio::test]
async fn an_expired_request_is_refused() {
    support::run("ecs-sec-exp", |ctx: Ctx| async move {
        let server = EcsApiServer::start().await?;
        let key = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        let script = "import botocore.auth, datetime\n\
             real = botocore.auth.get_current_datetime\n\
             botocore.auth.get_current_datetime = lambda: real() - datetime.timedelta(minutes=20)\n\
             ecs.create_cluster(clusterName='late')";
        let out = boto3(&server, &key, script);
        assert_eq!(out.error_code()?, "InvalidSignatureException");
        ensure!(
            out.stderr.contains("Signature expired: ") && out.stderr.contains(" - 5 min.)"),
            "{}",
            out.stderr
        );
        assert_eq!(written(&ctx.client, &ctx.ns).await?, (0, 0));
        Ok(())
    })
    .await;
}

/// An unsigned request (boto3 with `signature_version=UNSIGNED`) gets
/// `MissingAuthenticationTokenException`.
#[tokio::test]
async fn an_unsigned_request_is_refused() {
    support::run("ecs-sec-unsigned", |ctx: Ctx| async move {
        let server = EcsApiServer::start().await?;
        let key = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        let script = "unsigned = boto3.client('ecs', config=botocore.config.Config(\n\
             signature_version=botocore.UNSIGNED, retries={'max_attempts': 1}))\n\
             unsigned.create_cluster(clusterName='anonymous')";
        let out = boto3(&server, &key, script);
        assert_eq!(out.error_code()?, "MissingAuthenticationTokenException");
        assert_eq!(written(&ctx.client, &ctx.ns).await?, (0, 0));
        Ok(())
    })
    .await;
}

fn cluster_names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list["clusterArns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str()?.rsplit('/').next().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// A key serves one namespace: a key of A lists only A's clusters, cannot describe B's, and a
/// cluster it creates with the name of one of B's lands in A, leaving B's untouched.
#[tokio::test]
async fn a_key_of_namespace_a_sees_and_touches_only_namespace_a() {
    support::run("ecs-sec-ns-a", |ctx: Ctx| async move {
        let ns_b = TestNamespace::create("ecs-sec-ns-b").await;
        let server = EcsApiServer::start().await?;
        let key_a = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        let key_b = create_access_key(&ns_b.ctx(), "deployer", ecs_full_access_rules()).await?;
        let create_b = ["ecs", "create-cluster", "--cluster-name", "payments"];
        aws(&server, &key_b, &create_b).ok_json()?;
        aws(
            &server,
            &key_a,
            &["ecs", "create-cluster", "--cluster-name", "web"],
        )
        .ok_json()?;
        let list_a = aws(&server, &key_a, &["ecs", "list-clusters"]).ok_json()?;
        ensure!(
            !cluster_names(&list_a).contains(&"payments".into()),
            "{list_a}"
        );
        ensure!(cluster_names(&list_a).contains(&"web".into()), "{list_a}");
        let described = boto3(
            &server,
            &key_a,
            "print(json.dumps(ecs.describe_clusters(clusters=['payments']), default=str))",
        )
        .ok_json()?;
        ensure!(
            described["clusters"]
                .as_array()
                .is_none_or(|c| c.is_empty())
                && described["failures"][0]["reason"] == "MISSING",
            "{described}"
        );
        let b_before = Api::<Cluster>::namespaced(ctx.client.clone(), ns_b.name())
            .list(&ListParams::default())
            .await?;
        // The same name through A: created in A, B's own is unchanged.
        sdk_go(
            &server,
            &key_a,
            &["call", "CreateCluster", r#"{"clusterName": "payments"}"#],
        )
        .ok_json()?;
        let b_after = Api::<Cluster>::namespaced(ctx.client.clone(), ns_b.name())
            .list(&ListParams::default())
            .await?;
        let versions = |l: &kube::core::ObjectList<Cluster>| -> Vec<Option<String>> {
            l.items
                .iter()
                .map(|c| c.metadata.resource_version.clone())
                .collect()
        };
        assert_eq!(versions(&b_after), versions(&b_before));
        assert_eq!(b_after.items.len(), 1);
        assert_eq!(written(&ctx.client, &ctx.ns).await?.0, 2);
        let list_b = aws(&server, &key_b, &["ecs", "list-clusters"]).ok_json()?;
        ensure!(!cluster_names(&list_b).contains(&"web".into()), "{list_b}");
        Ok(())
    })
    .await;
}

/// Kubernetes RBAC decides what a key may do: a key whose ServiceAccount has no rights gets
/// `AccessDeniedException` for reads and writes alike; one with read-only rights reads and is
/// refused writes. Nothing is written.
#[tokio::test]
async fn a_key_whose_identity_lacks_rbac_is_denied_and_writes_nothing() {
    support::run("ecs-sec-rbac", |ctx: Ctx| async move {
        let server = EcsApiServer::start().await?;
        let none = create_access_key(&ctx, "no-rights", vec![]).await?;
        let read_only = create_access_key(
            &ctx,
            "reader",
            vec![PolicyRule {
                api_groups: Some(vec!["ecs.tidewater.dev".into()]),
                resources: Some(vec!["*".into()]),
                verbs: vec!["get".into(), "list".into(), "watch".into()],
                ..Default::default()
            }],
        )
        .await?;
        let create = ["ecs", "create-cluster", "--cluster-name", "denied"];
        assert_eq!(aws(&server, &none, &create).error_code()?, "AccessDeniedException");
        let list = "print(json.dumps(ecs.list_clusters()))";
        assert_eq!(boto3(&server, &none, list).error_code()?, "AccessDeniedException");
        let td = r#"{"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]}"#;
        let register = ["call", "RegisterTaskDefinition", td];
        assert_eq!(sdk_go(&server, &none, &register).error_code()?, "AccessDeniedException");
        boto3(&server, &read_only, list).ok_json()?;
        assert_eq!(aws(&server, &read_only, &create).error_code()?, "AccessDeniedException");
        assert_eq!(sdk_go(&server, &read_only, &register).error_code()?, "AccessDeniedException");
        assert_eq!(written(&ctx.client, &ctx.ns).await?, (0, 0));
        Ok(())
    })
    .await;
}

/// `--namespace A`: the server lists and serves only A's keys; a valid key of B is unknown.
#[tokio::test]
async fn a_server_limited_to_namespace_a_does_not_know_the_keys_of_b() {
    support::run("ecs-sec-only-a", |ctx: Ctx| async move {
        let ns_b = TestNamespace::create("ecs-sec-only-b").await;
        let key_a = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        let key_b = create_access_key(&ns_b.ctx(), "deployer", ecs_full_access_rules()).await?;
        let server = EcsApiServer::start_with(&["--namespace", &ctx.ns]).await?;
        aws(&server, &key_a, &["ecs", "list-clusters"]).ok_json()?;
        let create = ["ecs", "create-cluster", "--cluster-name", "b-side"];
        assert_eq!(
            aws(&server, &key_b, &create).error_code()?,
            "UnrecognizedClientException"
        );
        assert_eq!(written(&ctx.client, ns_b.name()).await?, (0, 0));
        Ok(())
    })
    .await;
}

/// With `--tls-cert/--tls-key` the server speaks HTTPS (rustls); the AWS CLI verifies the
/// certificate against `AWS_CA_BUNDLE`. A self-signed certificate for 127.0.0.1 is made here.
#[tokio::test]
async fn the_server_serves_https_with_a_certificate() {
    support::run("ecs-sec-tls", |ctx: Ctx| async move {
        let dir = std::env::temp_dir().join(format!("tidewater-ecs-tls-{}", ctx.ns));
        std::fs::create_dir_all(&dir)?;
        let (cert, key_file) = (dir.join("tls.crt"), dir.join("tls.key"));
        let openssl = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key_file)
            .arg("-out")
            .arg(&cert)
            .output()?;
        ensure!(
            openssl.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&openssl.stderr)
        );
        let (c, k) = (cert.display().to_string(), key_file.display().to_string());
        let server = EcsApiServer::start_with(&["--tls-cert", &c, "--tls-key", &k]).await?;
        let key = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        let https = format!("https://{}", server.addr);
        let out = aws(
            &server,
            &key,
            &[
                "ecs",
                "list-clusters",
                "--endpoint-url",
                &https,
                "--ca-bundle",
                &c,
            ],
        );
        let _ = std::fs::remove_dir_all(&dir);
        out.ok_json()?;
        Ok(())
    })
    .await;
}

/// A Secret in namespace B copying the access key id of A's key (ids are not secret) neither
/// takes the key over nor disables it: the Secret created first keeps the id, and a request
/// signed with B's secret is a bad signature.
#[tokio::test]
async fn a_later_secret_reusing_a_key_id_takes_nothing_over() {
    support::run("ecs-sec-dup-a", |ctx: Ctx| async move {
        let ns_b = TestNamespace::create("ecs-sec-dup-b").await;
        let server = EcsApiServer::start().await?;
        let key_a = create_access_key(&ctx, "deployer", ecs_full_access_rules()).await?;
        // Creation times have a one-second resolution: make B's Secret clearly later.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let copy = AccessKeyCreds {
            secret_access_key: "attackers-own-secret".into(),
            namespace: ns_b.name().into(),
            ..key_a.clone()
        };
        create_key_secret(&ns_b.ctx(), "copy", &copy).await?;
        // Let the server's watch see the copy before the checks.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let create = ["ecs", "create-cluster", "--cluster-name", "hijack"];
        assert_eq!(
            aws(&server, &copy, &create).error_code()?,
            "InvalidSignatureException"
        );
        assert_eq!(written(&ctx.client, ns_b.name()).await?, (0, 0));
        aws(
            &server,
            &key_a,
            &["ecs", "create-cluster", "--cluster-name", "mine"],
        )
        .ok_json()?;
        assert_eq!(written(&ctx.client, &ctx.ns).await?, (1, 0));
        Ok(())
    })
    .await;
}
