//! Unit tests of the HTTP layer (src/ecs_api/server.rs): the router answers as AWS does, for
//! signed, unsigned, oversized and malformed requests.

use std::sync::Arc;

use axum::body::Body;
use clap::Parser;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;
use crate::ecs_api::testing::{self, AKID, SECRET};

fn app() -> Router {
    router(Arc::new(App {
        auth: testing::authenticator(),
    }))
}

/// POSTs `body` with `headers` to the router: status, headers, JSON body.
async fn post(headers: HeaderMap, body: Body) -> (u16, HeaderMap, Value) {
    let mut request = axum::http::Request::builder()
        .method("POST")
        .uri("/")
        .body(body)
        .unwrap();
    *request.headers_mut() = headers;
    let response = app().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        serde_json::from_slice(&bytes).unwrap(),
    )
}

fn signed(operation: &str, body: &str) -> HeaderMap {
    let mut headers = testing::ecs_headers(operation);
    testing::sign_request(
        &mut headers,
        body.as_bytes(),
        (AKID, SECRET),
        "us-east-1",
        testing::now(),
    );
    headers
}

#[tokio::test]
async fn a_signed_request_reaches_dispatch_and_errors_carry_type_and_request_id() {
    let (status, headers, body) = post(signed("NoSuchOperation", "{}"), Body::from("{}")).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
    assert_eq!(headers["content-type"], CONTENT_TYPE);
    assert_eq!(headers["x-amzn-errortype"], "UnknownOperationException");
    let id = headers["x-amzn-requestid"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn an_unsigned_request_is_refused_before_anything_else() {
    let (status, _, body) = post(testing::ecs_headers("ListClusters"), Body::from("{}")).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"})
        )
    );
}

#[tokio::test]
async fn a_body_over_one_mib_is_refused_with_413() {
    let expected = json!({
        "__type": "ClientException",
        "message": "Request body exceeds the limit of 1048576 bytes"
    });
    // Declared too large: refused without reading.
    let mut headers = signed("ListClusters", "{}");
    headers.insert("content-length", "1048577".parse().unwrap());
    let (status, _, body) = post(headers, Body::from("{}")).await;
    assert_eq!((status, body), (413, expected.clone()));
    // Streamed without a length: refused once the bytes read pass the limit.
    let chunks =
        futures::stream::iter((0..2048).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
    let (status, _, body) = post(signed("ListClusters", "{}"), Body::from_stream(chunks)).await;
    assert_eq!((status, body), (413, expected));
}

#[tokio::test]
async fn a_signed_body_that_is_not_a_json_object_is_a_serialization_exception() {
    for input in ["{not json", "[1]"] {
        let (status, _, body) = post(signed("ListClusters", input), Body::from(input)).await;
        assert_eq!(
            (status, &body["__type"]),
            (400, &json!("SerializationException")),
            "{input}"
        );
    }
}

#[tokio::test]
async fn a_missing_target_is_an_unknown_operation() {
    let mut headers = testing::ecs_headers("ListClusters");
    headers.remove("x-amz-target");
    testing::sign_request(
        &mut headers,
        b"{}",
        (AKID, SECRET),
        "us-east-1",
        testing::now(),
    );
    let (status, _, body) = post(headers, Body::from("{}")).await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"__type": "UnknownOperationException", "message": "X-Amz-Target must be AmazonEC2ContainerServiceV20141113.<Operation>; got ''"})
        )
    );
}

#[test]
fn empty_bodies_are_empty_objects() {
    assert_eq!(parse_input(b"").unwrap(), json!({}));
    assert_eq!(parse_input(b" {\"a\": 1} ").unwrap(), json!({"a": 1}));
}

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn transport(argv: &[&str]) -> Result<(), String> {
    let cli = Cli::try_parse_from(std::iter::once("ecs-api").chain(argv.iter().copied()))
        .map_err(|e| e.kind().to_string())?;
    check_transport(&cli.args).map_err(|e| e.to_string())
}

#[test]
fn plain_http_is_served_only_on_loopback_unless_allowed() {
    assert_eq!(transport(&[]), Ok(()));
    assert_eq!(transport(&["--listen", "[::1]:80"]), Ok(()));
    assert_eq!(
        transport(&["--listen", "0.0.0.0:8080"]),
        Err(
            "refusing to serve plain HTTP on the non-loopback address 0.0.0.0:8080: give \
             --tls-cert and --tls-key, or --allow-insecure-http when a TLS-terminating proxy \
             or service mesh is in front"
                .into()
        )
    );
    assert_eq!(
        transport(&["--listen", "0.0.0.0:8080", "--allow-insecure-http"]),
        Ok(())
    );
    assert_eq!(
        transport(&[
            "--listen",
            "0.0.0.0:8443",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem"
        ]),
        Ok(())
    );
    assert_eq!(
        transport(&["--tls-cert", "c.pem"]),
        Err("one or more required arguments were not provided".into())
    );
}
