//! Unit tests of SigV4 verification (src/ecs_api/auth.rs).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;

use super::*;
use crate::ecs_api::testing::{self, AKID, SECRET};

fn at(amz_date: &str) -> SystemTime {
    parse_amz_date(amz_date).unwrap()
}

fn header_map(headers: &[(&str, &str)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (k, v) in headers {
        map.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    map
}

/// "get-vanilla" of the published AWS SigV4 test suite: the signature the suite lists for
/// `GET /` with `Host: example.amazonaws.com` and `X-Amz-Date: 20150830T123600Z`.
#[test]
fn sigv4_test_suite_get_vanilla() {
    let headers = header_map(&[
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    let auth = Authorization::parse(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=host;x-amz-date, \
         Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    )
    .unwrap();
    let request = SignedRequest {
        method: "GET",
        uri: "/",
        headers: &headers,
        body: b"",
    };
    verify_signature(&request, &auth, SECRET, at("20150830T123600Z")).unwrap();
    // One character of the secret changed: the same request no longer verifies.
    let err = verify_signature(
        &request,
        &auth,
        &SECRET.replace('w', "W"),
        at("20150830T123600Z"),
    );
    assert_eq!(err.unwrap_err().type_name(), "InvalidSignatureException");
}

/// "post-x-www-form-urlencoded" of the published AWS SigV4 test suite (a signed body).
#[test]
fn sigv4_test_suite_post_x_www_form_urlencoded() {
    let headers = header_map(&[
        ("content-type", "application/x-www-form-urlencoded"),
        ("host", "example.amazonaws.com"),
        ("x-amz-date", "20150830T123600Z"),
    ]);
    let auth = Authorization::parse(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders=content-type;host;x-amz-date, \
         Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    )
    .unwrap();
    let request = SignedRequest {
        method: "POST",
        uri: "/",
        headers: &headers,
        body: b"Param1=value1",
    };
    verify_signature(&request, &auth, SECRET, at("20150830T123600Z")).unwrap();
    let tampered = SignedRequest {
        body: b"Param1=value2",
        ..request
    };
    assert_eq!(
        verify_signature(&tampered, &auth, SECRET, at("20150830T123600Z"))
            .unwrap_err()
            .to_string(),
        SIGNATURE_MISMATCH
    );
}

/// An ECS request as an AWS SDK sends it, signed with `secret` at `time`.
fn ecs_request(secret: &str, time: SystemTime, body: &str) -> http::HeaderMap {
    let mut headers = testing::ecs_headers("ListClusters");
    testing::sign_request(
        &mut headers,
        body.as_bytes(),
        (AKID, secret),
        "eu-west-3",
        time,
    );
    headers
}

fn authenticator() -> Authenticator {
    testing::authenticator()
}

fn now() -> SystemTime {
    testing::now()
}

async fn verify(
    auth: &Authenticator,
    headers: &http::HeaderMap,
    body: &str,
    now: SystemTime,
) -> Result<(AccessKey, Authorization), ApiError> {
    let request = SignedRequest {
        method: "POST",
        uri: "/",
        headers,
        body: body.as_bytes(),
    };
    auth.verify(&request, now).await
}

#[tokio::test]
async fn a_request_signed_by_the_sdk_signer_is_accepted_with_its_key_and_region() {
    let auth = authenticator();
    let t = now();
    let headers = ecs_request(SECRET, t, "{}");
    let (key, scope) = verify(&auth, &headers, "{}", t + Duration::from_secs(299))
        .await
        .unwrap();
    assert_eq!(
        (
            key.namespace.as_str(),
            key.username(),
            scope.region.as_str()
        ),
        (
            "team-a",
            "system:serviceaccount:team-a:deployer".to_string(),
            "eu-west-3"
        )
    );
}

#[tokio::test]
async fn a_tampered_body_or_header_is_refused() {
    let auth = authenticator();
    let t = now();
    let headers = ecs_request(SECRET, t, "{}");
    let err = verify(&auth, &headers, r#"{"x":1}"#, t).await.unwrap_err();
    assert_eq!(
        (err.type_name(), err.to_string().as_str()),
        ("InvalidSignatureException", SIGNATURE_MISMATCH)
    );
    let mut other_op = headers.clone();
    other_op.insert(
        "x-amz-target",
        "AmazonEC2ContainerServiceV20141113.DeleteCluster"
            .parse()
            .unwrap(),
    );
    let err = verify(&auth, &other_op, "{}", t).await.unwrap_err();
    assert_eq!(err.type_name(), "InvalidSignatureException");
}

#[tokio::test]
async fn a_wrong_secret_is_refused() {
    let auth = authenticator();
    let t = now();
    let headers = ecs_request("not-the-secret", t, "{}");
    let err = verify(&auth, &headers, "{}", t).await.unwrap_err();
    assert_eq!(
        (err.type_name(), err.to_string().as_str()),
        ("InvalidSignatureException", SIGNATURE_MISMATCH)
    );
}

#[tokio::test]
async fn an_unknown_key_is_unrecognized() {
    let auth = authenticator();
    auth.keys.replace_all(vec![]);
    let t = now();
    let headers = ecs_request(SECRET, t, "{}");
    let err = verify(&auth, &headers, "{}", t).await.unwrap_err();
    assert_eq!(
        (err.type_name(), err.to_string().as_str()),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );
}

/// IAM User Guide, "AWS Signature Version 4 for API requests": "In most cases, a request must
/// reach AWS within five minutes of the time stamp in the request. Otherwise, AWS denies the
/// request." Older or newer requests are refused in AWS's words (botocore issue 149 quotes one).
#[tokio::test]
async fn a_request_more_than_five_minutes_off_is_expired() {
    let auth = authenticator();
    let t = at("20260101T120000Z");
    let headers = ecs_request(SECRET, t, "{}");
    let err = verify(&auth, &headers, "{}", at("20260101T120501Z"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.type_name(), err.to_string().as_str()),
        (
            "InvalidSignatureException",
            "Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z (20260101T120501Z - 5 min.)"
        )
    );
    let err = verify(&auth, &headers, "{}", at("20260101T115459Z"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Signature not yet current: 20260101T120000Z is still later than 20260101T115959Z (20260101T115459Z + 5 min.)"
    );
    // Exactly 5 minutes is still inside the window.
    verify(&auth, &headers, "{}", at("20260101T120500Z"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_missing_or_malformed_authorization_is_refused() {
    let auth = authenticator();
    let t = now();
    let mut headers = ecs_request(SECRET, t, "{}");
    headers.remove("authorization");
    let err = verify(&auth, &headers, "{}", t).await.unwrap_err();
    assert_eq!(
        err.body(),
        serde_json::json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"})
    );
    headers.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=x".parse().unwrap(),
    );
    let err = verify(&auth, &headers, "{}", t).await.unwrap_err();
    assert_eq!(err.type_name(), "IncompleteSignatureException");
    assert!(err.to_string().starts_with(
        "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter."
    ));
}

#[test]
fn the_scope_must_name_ecs_the_request_date_and_sign_host() {
    let auth = |credential: &str, signed: &str| {
        Authorization::parse(&format!(
            "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders={signed}, Signature=abc"
        ))
        .unwrap()
    };
    let ok = auth("AK/20260101/us-east-1/ecs/aws4_request", "host;x-amz-date");
    assert_eq!(
        ok,
        Authorization {
            access_key_id: "AK".into(),
            date: "20260101".into(),
            region: "us-east-1".into(),
            service: "ecs".into(),
            signed_headers: vec!["host".into(), "x-amz-date".into()],
            signature: "abc".into(),
        }
    );
    ok.check_scope("20260101T000000Z").unwrap();
    let errors: Vec<String> = [
        auth("AK/20260101/us-east-1/s3/aws4_request", "host").check_scope("20260101T000000Z"),
        auth("AK/20260101/us-east-1/ecs/aws4_request", "host").check_scope("20260102T000000Z"),
        auth("AK/20260101/US_EAST/ecs/aws4_request", "host").check_scope("20260101T000000Z"),
        auth("AK/20260101/us-east-1/ecs/aws4_request", "x-amz-date")
            .check_scope("20260101T000000Z"),
    ]
    .into_iter()
    .map(|r| r.unwrap_err().to_string())
    .collect();
    assert_eq!(
        errors,
        [
            "Credential should be scoped to correct service: 'ecs'. ",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20260102', from '20260102T000000Z'.",
            "Credential should be scoped to a valid region. ",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ]
    );
}

fn secret(name: &str, type_: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("team-a".into()),
            ..Default::default()
        },
        type_: Some(type_.into()),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

#[test]
fn access_keys_are_read_from_secrets_of_their_type() {
    let key = |s: &Secret| AccessKey::from_secret(s);
    let data = [("accessKeyId", "AK1"), ("secretAccessKey", "S1")];
    assert_eq!(
        key(&secret("ci", SECRET_TYPE, &data)),
        Some(Ok(AccessKey {
            access_key_id: "AK1".into(),
            secret_access_key: "S1".into(),
            namespace: "team-a".into(),
            secret_name: "ci".into(),
            service_account: "ci".into(),
            created: None,
        }))
    );
    let with_sa = [
        ("accessKeyId", "AK1"),
        ("secretAccessKey", "S1"),
        ("serviceAccount", "deployer"),
    ];
    assert_eq!(
        key(&secret("ci", SECRET_TYPE, &with_sa))
            .unwrap()
            .unwrap()
            .service_account,
        "deployer"
    );
    assert_eq!(key(&secret("ci", "Opaque", &data)), None);
    let bad_sa = [
        ("accessKeyId", "AK1"),
        ("secretAccessKey", "S1"),
        ("serviceAccount", "x:admin"),
    ];
    assert_eq!(
        key(&secret("ci", SECRET_TYPE, &bad_sa)),
        Some(Err(
            "Secret team-a/ci: serviceAccount 'x:admin' is not a ServiceAccount name".into()
        ))
    );
    assert_eq!(
        key(&secret("ci", SECRET_TYPE, &[("accessKeyId", "AK1")])),
        Some(Err(format!(
            "Secret team-a/ci of type {SECRET_TYPE} needs data keys accessKeyId and secretAccessKey"
        )))
    );
}

#[test]
fn an_access_key_id_held_by_two_secrets_belongs_to_the_older_or_to_none() {
    let index = KeyIndex::default();
    let at = |secs: i64| Some(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap());
    let key = |ns: &str, created| AccessKey {
        access_key_id: "AK".into(),
        secret_access_key: format!("S-{ns}"),
        namespace: ns.into(),
        secret_name: "k".into(),
        service_account: "k".into(),
        created,
    };
    index.upsert("a", "k", Some(key("a", at(100))));
    assert_eq!(index.get("AK"), Some(key("a", at(100))));
    // A later Secret of another namespace with the same id neither takes over nor disables it.
    index.upsert("b", "k", Some(key("b", at(200))));
    assert_eq!(index.get("AK"), Some(key("a", at(100))));
    // Created in the same second, or without a creation time: ambiguous, refused.
    index.upsert("b", "k", Some(key("b", at(100))));
    assert_eq!(index.get("AK"), None);
    index.upsert("b", "k", Some(key("b", None)));
    index.upsert("a", "k", Some(key("a", None)));
    assert_eq!(index.get("AK"), None);
    index.upsert("b", "k", None);
    assert_eq!(index.get("AK"), Some(key("a", None)));
    index.upsert("a", "k", None);
    assert!(index.is_empty());
}

#[test]
fn the_debug_form_of_a_key_hides_its_secret() {
    let k = AccessKey {
        access_key_id: "AK".into(),
        secret_access_key: "very-secret".into(),
        namespace: "n".into(),
        secret_name: "s".into(),
        service_account: "s".into(),
        created: None,
    };
    assert!(!format!("{k:?}").contains("very-secret"));
}

#[test]
fn a_fresh_list_of_one_namespace_replaces_only_that_namespace() {
    let index = KeyIndex::default();
    let key = |id: &str, ns: &str| AccessKey {
        access_key_id: id.into(),
        secret_access_key: "S".into(),
        namespace: ns.into(),
        secret_name: id.to_lowercase(),
        service_account: "sa".into(),
        created: None,
    };
    index.replace_scope(Some("a"), vec![key("A1", "a"), key("A2", "a")]);
    index.replace_scope(Some("b"), vec![key("B1", "b")]);
    index.replace_scope(Some("a"), vec![key("A3", "a")]);
    let known: Vec<bool> = ["A1", "A2", "A3", "B1"]
        .iter()
        .map(|id| index.get(id).is_some())
        .collect();
    assert_eq!(known, [false, false, true, true]);
    index.replace_all(vec![key("C1", "c")]);
    assert_eq!((index.len(), index.get("C1")), (1, Some(key("C1", "c"))));
}
