//! Request authentication: SigV4 signatures checked against access keys kept in Kubernetes
//! Secrets of type `ecs.tidewater.dev/access-key`.
//!
//! The steps, in AWS's order and with AWS's error types and messages: parse the
//! `Authorization` header ([`Authorization::parse`]), check the request time against the
//! server's clock ([`check_time`]: more than 5 minutes apart is `Signature expired`), find the
//! access key ([`KeyIndex`], fed by a watch over the access-key Secrets), recompute the
//! signature with the `aws-sigv4` crate over exactly the headers the client signed and compare
//! in constant time ([`verify_signature`]). The key then yields a [`Caller`]: its namespace and
//! a Kubernetes client impersonating its ServiceAccount (built once per identity and cached).
//!
//! Replay: as AWS, only the time window is enforced; a captured request can be replayed within
//! 5 minutes of its `X-Amz-Date`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use subtle::ConstantTimeEq;

use super::{ApiError, Caller};

/// The Secret type of an access key.
pub const SECRET_TYPE: &str = "ecs.tidewater.dev/access-key";
/// The largest difference between the request's `X-Amz-Date` and the server's clock (AWS's).
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);
/// The signing name of ECS, the only service a credential scope may name.
pub const SERVICE: &str = "ecs";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";
/// How long a request with an unknown key waits for the Secret watch to catch up (a key
/// created just before its first use).
const UNKNOWN_KEY_GRACE: Duration = Duration::from_secs(1);

/// One access key, as read from its Secret.
#[derive(Clone, PartialEq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The namespace of the Secret: the only one the key serves.
    pub namespace: String,
    /// The Secret's name.
    pub secret_name: String,
    /// The ServiceAccount (in `namespace`) whose RBAC rights the key carries.
    pub service_account: String,
    /// When the Secret was created: of two Secrets holding the same id, the older one wins.
    pub created: Option<k8s_openapi::jiff::Timestamp>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("namespace", &self.namespace)
            .field("secret_name", &self.secret_name)
            .field("service_account", &self.service_account)
            .field("created", &self.created)
            .finish()
    }
}

impl AccessKey {
    /// The access key a Secret holds: `None` when it is not an access-key Secret, an error
    /// naming the problem when it is one but incomplete.
    pub fn from_secret(secret: &Secret) -> Option<Result<AccessKey, String>> {
        if secret.type_.as_deref() != Some(SECRET_TYPE) {
            return None;
        }
        let field = |key: &str| {
            secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|v| String::from_utf8_lossy(&v.0).trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let name = secret.name_any();
        let namespace = secret.namespace().unwrap_or_default();
        let service_account = field("serviceAccount").unwrap_or_else(|| name.clone());
        let result = match (field("accessKeyId"), field("secretAccessKey")) {
            _ if !is_dns_subdomain(&service_account) => Err(format!(
                "Secret {namespace}/{name}: serviceAccount '{service_account:.80}' is not a ServiceAccount name"
            )),
            (Some(access_key_id), Some(secret_access_key)) => Ok(AccessKey {
                access_key_id,
                secret_access_key,
                namespace,
                service_account,
                secret_name: name,
                created: secret.metadata.creation_timestamp.as_ref().map(|t| t.0),
            }),
            _ => Err(format!(
                "Secret {namespace}/{name} of type {SECRET_TYPE} needs data keys accessKeyId and secretAccessKey"
            )),
        };
        Some(result)
    }

    /// The Kubernetes user the key acts as.
    pub fn username(&self) -> String {
        format!(
            "system:serviceaccount:{}:{}",
            self.namespace, self.service_account
        )
    }
}

/// A Kubernetes object name (DNS-1123 subdomain): what a ServiceAccount name must be.
fn is_dns_subdomain(name: &str) -> bool {
    let ok_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.';
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes.iter().all(|&b| ok_char(b))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// The parsed `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lowercase header names, as listed by the client.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// Parses the header value; malformed values are `IncompleteSignatureException`.
    pub fn parse(value: &str) -> Result<Authorization, ApiError> {
        let incomplete = |m: String| ApiError::IncompleteSignature(m);
        let Some(rest) = value.strip_prefix(ALGORITHM) else {
            let algorithm = value.split_whitespace().next().unwrap_or_default();
            return Err(incomplete(format!(
                "Unsupported authorization type '{algorithm}': only {ALGORITHM} (Signature Version 4) is accepted"
            )));
        };
        let mut parts: HashMap<&str, &str> = HashMap::new();
        for part in rest.split(',') {
            if let Some((k, v)) = part.trim().split_once('=') {
                parts.insert(k.trim(), v.trim());
            }
        }
        let missing: Vec<String> = ["Credential", "SignedHeaders", "Signature"]
            .into_iter()
            .filter(|k| parts.get(k).is_none_or(|v| v.is_empty()))
            .map(|k| format!("Authorization header requires '{k}' parameter."))
            .collect();
        if !missing.is_empty() {
            return Err(incomplete(format!(
                "{} Authorization={value:.60}",
                missing.join(" ")
            )));
        }
        let scope: Vec<&str> = parts["Credential"].split('/').collect();
        let [access_key_id, date, region, service, "aws4_request"] = scope[..] else {
            return Err(incomplete(format!(
                "Credential should be of the form ACCESS_KEY_ID/YYYYMMDD/REGION/{SERVICE}/aws4_request; got '{}'",
                parts["Credential"]
            )));
        };
        Ok(Authorization {
            access_key_id: access_key_id.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            signed_headers: parts["SignedHeaders"]
                .split(';')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            signature: parts["Signature"].to_string(),
        })
    }

    /// The scope rules AWS checks before the signature: the service is `ecs`, the region is a
    /// region name, the scope's date is the date of `X-Amz-Date`, `host` is signed.
    pub fn check_scope(&self, amz_date: &str) -> Result<(), ApiError> {
        if self.service != SERVICE {
            return Err(ApiError::InvalidSignature(format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            )));
        }
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 32
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(ApiError::InvalidSignature(
                "Credential should be scoped to a valid region. ".into(),
            ));
        }
        if !amz_date.starts_with(&self.date) || self.date.len() != 8 {
            return Err(ApiError::InvalidSignature(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
                self.date,
                amz_date.get(..8).unwrap_or(amz_date)
            )));
        }
        if !self.signed_headers.iter().any(|h| h == "host") {
            return Err(ApiError::IncompleteSignature(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
            ));
        }
        Ok(())
    }
}

/// Parses `X-Amz-Date` (`20150830T123600Z`).
pub fn parse_amz_date(value: &str) -> Result<SystemTime, ApiError> {
    chrono::NaiveDateTime::parse_from_str(value, DATE_FORMAT)
        .map(|t| SystemTime::from(t.and_utc()))
        .map_err(|_| {
            ApiError::IncompleteSignature(format!(
                "Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ))
        })
}

fn format_amz_date(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format(DATE_FORMAT)
        .to_string()
}

/// AWS's time window: a request dated more than [`MAX_SKEW`] before or after `now` is refused
/// with AWS's own words.
pub fn check_time(request_time: SystemTime, now: SystemTime) -> Result<(), ApiError> {
    let (req, now_s) = (format_amz_date(request_time), format_amz_date(now));
    if request_time + MAX_SKEW < now {
        return Err(ApiError::InvalidSignature(format!(
            "Signature expired: {req} is now earlier than {} ({now_s} - 5 min.)",
            format_amz_date(now - MAX_SKEW)
        )));
    }
    if request_time > now + MAX_SKEW {
        return Err(ApiError::InvalidSignature(format!(
            "Signature not yet current: {req} is still later than {} ({now_s} + 5 min.)",
            format_amz_date(now + MAX_SKEW)
        )));
    }
    Ok(())
}

/// The parts of an HTTP request a signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// Path and query, as received.
    pub uri: &'a str,
    pub headers: &'a axum::http::HeaderMap,
    pub body: &'a [u8],
}

/// The message of a signature mismatch, as AWS words it.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// Recomputes the signature of `request` with `secret` over exactly the headers the client
/// listed in `SignedHeaders`, at the request's own time, and compares it in constant time.
pub fn verify_signature(
    request: &SignedRequest<'_>,
    auth: &Authorization,
    secret: &str,
    time: SystemTime,
) -> Result<(), ApiError> {
    let mismatch = || ApiError::InvalidSignature(SIGNATURE_MISMATCH.into());
    let mut headers: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        // The signer adds X-Amz-Date itself, from `time`.
        if name == "x-amz-date" {
            continue;
        }
        let values = request.headers.get_all(name.as_str());
        let mut any = false;
        for value in values {
            headers.push((name.as_str(), value.to_str().map_err(|_| mismatch())?));
            any = true;
        }
        if !any {
            return Err(mismatch());
        }
    }
    let identity = aws_credential_types::Credentials::new(
        auth.access_key_id.clone(),
        secret.to_string(),
        None,
        None,
        "tidewater-ecs-api",
    )
    .into();
    let mut settings = SigningSettings::default();
    // Sign what the client signed, nothing less.
    settings.excluded_headers = None;
    let params = SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| ApiError::Server(format!("signing parameters: {e}")))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|_| mismatch())?;
    let expected = sign(signable, &params).map_err(|_| mismatch())?;
    if bool::from(
        expected
            .signature()
            .as_bytes()
            .ct_eq(auth.signature.as_bytes()),
    ) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// The access keys by access key id, kept current by a watch over the access-key Secrets.
/// An id held by several Secrets belongs to the one created first (a later Secret cannot take
/// over, or disable, a key someone else already holds); when that is not clear, it is refused.
#[derive(Default)]
pub struct KeyIndex {
    keys: RwLock<HashMap<String, Vec<AccessKey>>>,
    changed: tokio::sync::Notify,
}

impl KeyIndex {
    /// The key with this id: the only Secret holding it, or the one created strictly first.
    pub fn get(&self, access_key_id: &str) -> Option<AccessKey> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let holders = keys.get(access_key_id)?;
        if let [key] = holders.as_slice() {
            return Some(key.clone());
        }
        let first = holders.iter().min_by_key(|k| k.created)?;
        let clear = first.created.is_some()
            && holders
                .iter()
                .filter(|k| k.created == first.created)
                .count()
                == 1;
        if !clear {
            tracing::warn!(
                access_key_id,
                "access key id held by several Secrets created together; refused"
            );
            return None;
        }
        Some(first.clone())
    }

    /// Replaces every key (after a fresh list).
    pub fn replace_all(&self, all: Vec<AccessKey>) {
        self.replace_scope(None, all);
    }

    /// Replaces the keys of `namespace` (every namespace when `None`) after a fresh list.
    pub fn replace_scope(&self, namespace: Option<&str>, listed: Vec<AccessKey>) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        for list in keys.values_mut() {
            list.retain(|k| namespace.is_some_and(|ns| k.namespace != ns));
        }
        keys.retain(|_, list| !list.is_empty());
        for key in listed {
            keys.entry(key.access_key_id.clone()).or_default().push(key);
        }
        drop(keys);
        self.changed.notify_waiters();
    }

    /// Adds or replaces the key of Secret `namespace/name` (`None`: the Secret holds none).
    pub fn upsert(&self, namespace: &str, name: &str, key: Option<AccessKey>) {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        for list in keys.values_mut() {
            list.retain(|k| (k.namespace.as_str(), k.secret_name.as_str()) != (namespace, name));
        }
        keys.retain(|_, list| !list.is_empty());
        if let Some(key) = key {
            keys.entry(key.access_key_id.clone()).or_default().push(key);
        }
        drop(keys);
        self.changed.notify_waiters();
    }

    /// Number of access key ids known.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key with this id, waiting up to `grace` for the watch to bring it.
    async fn get_or_wait(&self, access_key_id: &str, grace: Duration) -> Option<AccessKey> {
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let changed = self.changed.notified();
            if let Some(key) = self.get(access_key_id) {
                return Some(key);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return None;
            }
        }
    }
}

fn key_of(secret: &Secret) -> Option<AccessKey> {
    match AccessKey::from_secret(secret)? {
        Ok(key) => Some(key),
        Err(problem) => {
            tracing::warn!("{problem}; ignored");
            None
        }
    }
}

/// Keeps `index` current from a watch over the access-key Secrets of `namespace` (every
/// namespace when `None`), with a field selector on the Secret type: the server is sent no
/// other Secret. Calls `synced` once, after the first complete list. Runs until the stream
/// ends.
pub async fn watch_keys(
    client: kube::Client,
    index: Arc<KeyIndex>,
    namespace: Option<String>,
    synced: impl FnOnce(),
) {
    let api: Api<Secret> = match &namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    let config = watcher::Config::default().fields(&format!("type={SECRET_TYPE}"));
    let mut stream = watcher(api, config).default_backoff().boxed();
    let mut initial: Vec<AccessKey> = Vec::new();
    let mut synced = Some(synced);
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Init) => initial.clear(),
            Ok(watcher::Event::InitApply(s)) => initial.extend(key_of(&s)),
            Ok(watcher::Event::InitDone) => {
                index.replace_scope(namespace.as_deref(), std::mem::take(&mut initial));
                tracing::info!(
                    namespace = namespace.as_deref().unwrap_or("*"),
                    keys = index.len(),
                    "access keys loaded"
                );
                if let Some(synced) = synced.take() {
                    synced();
                }
            }
            Ok(watcher::Event::Apply(s)) => index.upsert(
                &s.namespace().unwrap_or_default(),
                &s.name_any(),
                key_of(&s),
            ),
            Ok(watcher::Event::Delete(s)) => {
                index.upsert(&s.namespace().unwrap_or_default(), &s.name_any(), None)
            }
            Err(e) => tracing::warn!(error = %e, "watching access-key Secrets"),
        }
    }
}

/// Turns signed requests into [`Caller`]s.
pub struct Authenticator {
    pub keys: Arc<KeyIndex>,
    /// The server's own Kubernetes configuration; impersonating clients derive from it.
    base: kube::Config,
    account_id: String,
    clients: Mutex<HashMap<String, kube::Client>>,
}

impl Authenticator {
    pub fn new(base: kube::Config, account_id: String) -> Authenticator {
        Authenticator {
            keys: Arc::default(),
            base,
            account_id,
            clients: Mutex::default(),
        }
    }

    /// Checks the request's signature and returns the caller, or the AWS error refusing it.
    pub async fn authenticate(
        &self,
        request: &SignedRequest<'_>,
        now: SystemTime,
    ) -> Result<Caller, ApiError> {
        let (key, auth) = self.verify(request, now).await?;
        Ok(Caller {
            namespace: key.namespace.clone(),
            region: auth.region,
            account_id: self.account_id.clone(),
            access_key_id: key.access_key_id.clone(),
            client: self.client_for(&key)?,
        })
    }

    /// Every check of [`Self::authenticate`]: the key that signed the request and its scope.
    pub async fn verify(
        &self,
        request: &SignedRequest<'_>,
        now: SystemTime,
    ) -> Result<(AccessKey, Authorization), ApiError> {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let Some(authorization) = header("authorization") else {
            return Err(ApiError::MissingAuthenticationToken(
                "Missing Authentication Token".into(),
            ));
        };
        let auth = Authorization::parse(authorization)?;
        let Some(amz_date) = header("x-amz-date") else {
            return Err(ApiError::IncompleteSignature(
                "Authorization header requires existence of a 'X-Amz-Date' header.".into(),
            ));
        };
        let time = parse_amz_date(amz_date)?;
        auth.check_scope(amz_date)?;
        check_time(time, now)?;
        let unrecognized = || {
            ApiError::UnrecognizedClient(
                "The security token included in the request is invalid.".into(),
            )
        };
        // Temporary credentials are not issued here: a session token is one we do not know.
        if request.headers.contains_key("x-amz-security-token") {
            return Err(unrecognized());
        }
        let key = self
            .keys
            .get_or_wait(&auth.access_key_id, UNKNOWN_KEY_GRACE)
            .await
            .ok_or_else(unrecognized)?;
        verify_signature(request, &auth, &key.secret_access_key, time)?;
        Ok((key, auth))
    }

    /// A client impersonating the key's ServiceAccount, built once per identity.
    fn client_for(&self, key: &AccessKey) -> Result<kube::Client, ApiError> {
        let user = key.username();
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(&user) {
            return Ok(client.clone());
        }
        let mut config = self.base.clone();
        // Only the user: for a ServiceAccount user the API server adds its groups itself
        // (`system:serviceaccounts`, `system:serviceaccounts:<ns>`, `system:authenticated`),
        // so the server needs `impersonate` on serviceaccounts and never on groups (a right to
        // impersonate groups would include `system:masters`).
        config.auth_info.impersonate = Some(user.clone());
        config.auth_info.impersonate_groups = None;
        let client = kube::Client::try_from(config)
            .map_err(|e| ApiError::Server(format!("building the Kubernetes client: {e}")))?;
        clients.insert(user, client.clone());
        Ok(client)
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
