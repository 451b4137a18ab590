//! Test helpers: requests signed as the AWS SDKs sign them (by the `aws-sigv4` crate, the Rust
//! SDK's signer) and an authenticator with fixed keys.

use std::time::SystemTime;

use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;

use super::auth::{AccessKey, Authenticator};

pub const AKID: &str = "AKIDEXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// Adds `X-Amz-Date` and `Authorization` to `headers`: a SigV4 signature of `POST /` with
/// `body` by (`access_key_id`, `secret`) for ECS in `region` at `time`.
pub fn sign_request(
    headers: &mut http::HeaderMap,
    body: &[u8],
    (access_key_id, secret): (&str, &str),
    region: &str,
    time: SystemTime,
) {
    let identity =
        aws_credential_types::Credentials::new(access_key_id, secret, None, None, "test").into();
    let params = SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ecs")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .expect("signing parameters")
        .into();
    let pairs: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_string()))
        .collect();
    let signable = SignableRequest::new(
        "POST",
        "/",
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("signing").into_parts();
    for (name, value) in instructions.headers() {
        headers.insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
}

/// The headers of an ECS request as an SDK sends them, before signing.
pub fn ecs_headers(operation: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "127.0.0.1:8443".parse().expect("value"));
    headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().expect("value"),
    );
    headers.insert(
        "x-amz-target",
        format!("AmazonEC2ContainerServiceV20141113.{operation}")
            .parse()
            .expect("value"),
    );
    headers.insert("user-agent", "test/1.0".parse().expect("value"));
    headers
}

/// An authenticator knowing one key, [`AKID`], serving namespace `team-a` as ServiceAccount
/// `deployer`; its Kubernetes clients point at a closed local port.
pub fn authenticator() -> Authenticator {
    let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
    let auth = Authenticator::new(config, "123456789012".into());
    auth.keys.replace_all(vec![AccessKey {
        access_key_id: AKID.into(),
        secret_access_key: SECRET.into(),
        namespace: "team-a".into(),
        secret_name: "deployer".into(),
        service_account: "deployer".into(),
        created: None,
    }]);
    auth
}

/// Now, in whole seconds (X-Amz-Date has no fraction).
pub fn now() -> SystemTime {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}
