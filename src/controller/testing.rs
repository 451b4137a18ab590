//! Test support: a [`Context`] over a mocked API server (`tower-test`), caches filled by hand,
//! and an [`ApiServer`] that answers the reconciler's requests one by one, in order, so that a
//! test asserts every request a reconcile makes.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use kube::{Client, Resource};
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use super::context::{Context, Settings, Stores};
use super::metrics::Metrics;

/// A cache holding `objects`.
pub fn store_of<K>(objects: Vec<K>) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let (reader, mut writer) = reflector::store();
    for o in objects {
        writer.apply_watcher_event(&watcher::Event::Apply(o));
    }
    reader
}

/// Empty caches for every kind.
pub fn empty_stores() -> Stores {
    Stores {
        task_definitions: store_of(vec![]),
        services: store_of(vec![]),
        clusters: store_of(vec![]),
        tasks: store_of(vec![]),
        scheduled_tasks: store_of(vec![]),
        revisions: store_of(vec![]),
        pods: store_of(vec![]),
        deployments: store_of(vec![]),
        daemon_sets: store_of(vec![]),
        k8s_services: store_of(vec![]),
        service_accounts: store_of(vec![]),
        ingresses: store_of(vec![]),
        hpas: store_of(vec![]),
        pdbs: store_of(vec![]),
        cron_jobs: store_of(vec![]),
        nodes: None,
        third_party: Default::default(),
        indexes: Default::default(),
    }
}

/// A synced context over `stores` whose client talks to the returned [`ApiServer`].
pub fn context(stores: Stores) -> (Arc<Context>, ApiServer) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let ctx = Context::new(
        client,
        stores.reindexed(),
        Metrics::default(),
        Settings::default(),
    );
    ctx.set_synced();
    (ctx, ApiServer(handle))
}

/// One request the reconciler made.
pub struct Received {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub uri: String,
    /// `Content-Type`.
    pub content_type: String,
    /// The body, as JSON (`null` when empty).
    pub body: Value,
    respond: tower_test::mock::SendResponse<Response<Body>>,
}

impl Received {
    /// Answer with `status` and `body`.
    pub fn reply(self, status: StatusCode, body: &Value) {
        let response = Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(body).expect("JSON")))
            .expect("response");
        self.respond.send_response(response);
    }

    /// Answer 200 with the request's own body (what the API server stores for an apply or a
    /// create), with a `resourceVersion`.
    pub fn echo(self) {
        let mut body = self.body.clone();
        body["metadata"]["resourceVersion"] = json!("2");
        self.reply(StatusCode::OK, &body);
    }

    /// Answer 404 Not Found.
    pub fn not_found(self) {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found",
        });
        self.reply(StatusCode::NOT_FOUND, &status);
    }
}

/// The mocked API server.
pub struct ApiServer(Handle<Request<Body>, Response<Body>>);

impl ApiServer {
    /// The next request (fails the test after 5 seconds without one).
    pub async fn next(&mut self) -> Received {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(5), self.0.next_request())
                .await
                .expect("the reconciler made no further request")
                .expect("the client is gone");
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        Received {
            method: parts.method,
            uri: parts.uri.to_string(),
            content_type: parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            body: if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).expect("a JSON body")
            },
            respond,
        }
    }

    /// Fails the test if the reconciler made another request.
    pub async fn no_more(&mut self) {
        let more = tokio::time::timeout(Duration::from_millis(200), self.0.next_request()).await;
        if let Ok(Some((r, _))) = more {
            panic!("unexpected request: {} {}", r.method(), r.uri());
        }
    }
}

/// A condition set at second `t` for generation 2.
pub fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    t: i64,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: Some(2),
        last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(t).expect("a valid time"),
        ),
    }
}
