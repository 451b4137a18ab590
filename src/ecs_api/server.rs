//! The HTTP(S) server of the ECS JSON 1.1 protocol.
//!
//! `POST /` with `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>` and a JSON body
//! (`application/x-amz-json-1.1`); the answer has the same content type, an `x-amzn-RequestId`
//! header and, for errors, `{"__type", "message"}` with the `x-amzn-ErrorType` header, as AWS
//! answers. One request: size limit → SigV4 ([`super::auth`]) → operation → JSON →
//! [`super::ops::dispatch`]; an audit line per request.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, anyhow, bail};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use serde_json::Value;

use super::auth::{Authenticator, Authorization, SignedRequest, watch_keys};
use super::{ApiError, ops};
use crate::controller::LogFormat;

/// The prefix of `X-Amz-Target` for ECS operations.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// The content type of requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The largest request body accepted (1 MiB); larger ones are refused before being read whole.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long the server waits for the first list of access keys before giving up.
const KEYS_SYNC_TIMEOUT: Duration = Duration::from_secs(60);

/// `tidewater ecs-api` options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8443 (port 0 picks a free port; the address is
    /// logged). Plain HTTP is served only on a loopback address unless --allow-insecure-http.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve only the access keys of this namespace (repeatable): the server then lists and
    /// watches Secrets in these namespaces only, and needs no cluster-wide right to Secrets.
    /// Default: every namespace.
    #[arg(long = "namespace", short = 'n')]
    pub namespaces: Vec<String>,
    /// The account id used in the ARNs returned.
    #[arg(long, default_value = "000000000000")]
    pub account_id: String,
    /// Serve plain HTTP on a non-loopback address (only behind a TLS-terminating proxy or mesh:
    /// bodies and responses would otherwise cross the network in clear).
    #[arg(long)]
    pub allow_insecure_http: bool,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Entry point of `tidewater ecs-api`.
pub fn main(args: Args) -> ExitCode {
    crate::controller::init_logging(args.log_format);
    if let Err(e) = check_transport(&args) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    crate::controller::run_to_end("ECS API server", run(args))
}

/// Plain HTTP only on loopback unless explicitly allowed; TLS needs both files.
pub fn check_transport(args: &Args) -> Result<()> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(_), Some(_)) => Ok(()),
        (None, None) if args.listen.ip().is_loopback() || args.allow_insecure_http => Ok(()),
        (None, None) => bail!(
            "refusing to serve plain HTTP on the non-loopback address {}: give --tls-cert and \
             --tls-key, or --allow-insecure-http when a TLS-terminating proxy or service mesh \
             is in front",
            args.listen
        ),
        _ => bail!("--tls-cert and --tls-key go together"),
    }
}

/// What every request handler shares.
pub struct App {
    pub auth: Authenticator,
}

/// The routes: `POST /` (the ECS API) and `GET /healthz`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", post(handle))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(|| async {
            respond(
                Err(ApiError::UnknownOperation(
                    "the ECS API is served at POST /".into(),
                )),
                &uuid::Uuid::new_v4().to_string(),
            )
        })
        .with_state(app)
}

async fn run(args: Args) -> Result<()> {
    let config = kube::Config::infer()
        .await
        .context("loading the Kubernetes configuration")?;
    let client = kube::Client::try_from(config.clone()).context("building the client")?;
    let app = Arc::new(App {
        auth: Authenticator::new(config, args.account_id.clone()),
    });
    let scopes: Vec<Option<String>> = if args.namespaces.is_empty() {
        vec![None]
    } else {
        args.namespaces.iter().cloned().map(Some).collect()
    };
    let (synced_tx, mut synced) = tokio::sync::watch::channel(0usize);
    for scope in scopes.iter().cloned() {
        let tx = synced_tx.clone();
        let done = move || tx.send_modify(|n| *n += 1);
        tokio::spawn(watch_keys(
            client.clone(),
            app.auth.keys.clone(),
            scope,
            done,
        ));
    }
    tokio::time::timeout(KEYS_SYNC_TIMEOUT, synced.wait_for(|n| *n == scopes.len()))
        .await
        .map_err(|_| {
            anyhow!(
                "the access-key Secrets could not be listed within {KEYS_SYNC_TIMEOUT:?} \
                 (does the server's identity may list and watch Secrets?)"
            )
        })?
        .context("watching the access-key Secrets")?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(addr = %addr, tls = tls.is_some(), max_body_bytes = MAX_BODY_BYTES, "ECS API listening");
    let router = router(app);
    match tls {
        Some(acceptor) => serve_tls(listener, acceptor, router).await,
        None => axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving"),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown requested");
}

/// A rustls acceptor (ring, the provider kube uses) for a PEM certificate chain and key.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the certificates of {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the private key {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not fit together")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TLS connections until shutdown; each is served as HTTP/1.1 by `router`.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: Router,
) -> Result<()> {
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return Ok(()),
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                .await
            {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// What the audit line of a request says.
#[derive(Default)]
struct Audit {
    access_key_id: Option<String>,
    namespace: Option<String>,
    operation: Option<String>,
}

async fn handle(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut audit = Audit::default();
    let result = serve_request(&app, request, &mut audit).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.type_name(),
    };
    let status = result.as_ref().map_or_else(ApiError::status, |_| 200);
    tracing::info!(
        target: "tidewater::ecs_api::audit",
        request_id = %request_id,
        access_key_id = audit.access_key_id.as_deref().unwrap_or("-"),
        namespace = audit.namespace.as_deref().unwrap_or("-"),
        operation = audit.operation.as_deref().unwrap_or("-"),
        outcome,
        status,
        message = result.as_ref().err().map(|e| e.to_string()).unwrap_or_default(),
        duration_ms = started.elapsed().as_millis() as u64,
        "ecs-api request"
    );
    respond(result, &request_id)
}

/// The named steps of one request; `audit` collects what the audit line reports.
async fn serve_request(app: &App, request: Request, audit: &mut Audit) -> Result<Value, ApiError> {
    let (parts, body) = request.into_parts();
    audit.operation = header_str(&parts.headers, "x-amz-target").map(|t| {
        t.strip_prefix(TARGET_PREFIX)
            .unwrap_or(t)
            .chars()
            .take(100)
            .collect()
    });
    // The key the request claims, before it is checked (an unknown key is worth an audit line).
    audit.access_key_id = header_str(&parts.headers, "authorization")
        .and_then(|a| Authorization::parse(a).ok())
        .map(|a| a.access_key_id.chars().take(128).collect());
    let bytes = read_body(&parts.headers, body).await?;
    let signed = SignedRequest {
        method: parts.method.as_str(),
        uri: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        headers: &parts.headers,
        body: &bytes,
    };
    let caller = app.auth.authenticate(&signed, SystemTime::now()).await?;
    audit.namespace = Some(caller.namespace.clone());
    let operation = operation_of(&parts.headers)?;
    let input = parse_input(&bytes)?;
    ops::dispatch(&caller, operation, input).await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The operation named by `X-Amz-Target`.
pub fn operation_of(headers: &HeaderMap) -> Result<&str, ApiError> {
    let target = header_str(headers, "x-amz-target").unwrap_or_default();
    match target.strip_prefix(TARGET_PREFIX) {
        Some(op) if !op.is_empty() => Ok(op),
        _ => Err(ApiError::UnknownOperation(format!(
            "X-Amz-Target must be {TARGET_PREFIX}<Operation>; got '{target:.120}'"
        ))),
    }
}

/// The body, refused with a 413 `ClientException` beyond [`MAX_BODY_BYTES`]: at once when
/// `Content-Length` says so, else as soon as the bytes read pass the limit.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::RequestTooLarge(format!(
            "Request body exceeds the limit of {MAX_BODY_BYTES} bytes"
        ))
    };
    let declared = header_str(headers, "content-length").and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match http_body_util::Limited::new(body, MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::Client(format!(
            "could not read the request body: {e}"
        ))),
    }
}

/// The JSON input: an object (an empty body counts as `{}`).
pub fn parse_input(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::Serialization(
            "the request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::Serialization(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

/// The HTTP response of an operation's result, as AWS shapes it.
fn respond(result: Result<Value, ApiError>, request_id: &str) -> Response {
    let (status, body, error_type) = match result {
        Ok(v) => (200, v, None),
        Err(e) => (e.status(), e.body(), Some(e.type_name())),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))
        .header("x-amzn-RequestId", request_id);
    if let Some(t) = error_type {
        builder = builder.header("x-amzn-ErrorType", t);
    }
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    builder.body(Body::from(bytes)).unwrap_or_else(|_| {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
