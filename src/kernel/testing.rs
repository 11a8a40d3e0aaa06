//! A mocked Kubernetes API server for the reconciles' unit tests, in the
//! manner of kube-rs's controller-rs: a [`Client`] over a `tower_test` mock
//! service, and a verifier that answers each request a reconcile makes, in
//! order, as the API server would for the one object under test, after
//! asserting what the request must be.
//!
//! A test runs the reconcile and its verifier together with [`drive`]:
//!
//! ```ignore
//! let (action, api) = drive(api, reconcile(obj, ctx), |mut api| async move {
//!     let status = api.status_patch().await; // asserts method, path, manager
//!     assert_eq!(status["jobName"], "...");
//!     api.event().await;
//!     api
//! })
//! .await;
//! ```

use std::future::Future;
use std::time::Duration;

use futures::FutureExt;
use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::controller::Action;
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tower_test::mock::{self, Handle, SendResponse};

use crate::kernel::status::MANAGER;

/// How long the verifier waits for a request it expects, and a test for its
/// reconcile to end. Nothing in a reconcile under test sleeps: reaching it
/// means a request never came (or one the verifier did not expect hangs).
const PATIENCE: Duration = Duration::from_secs(20);

/// One request a reconcile made, not answered yet.
pub(crate) struct Received {
    pub(crate) method: Method,
    /// The URL path, without the query.
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) content_type: String,
    /// The JSON body (`Null` when there is none).
    pub(crate) body: Value,
    send: SendResponse<Response<Body>>,
}

impl Received {
    /// Answers `body` as JSON with `code`.
    pub(crate) fn answer(self, code: StatusCode, body: &Value) {
        let bytes = serde_json::to_vec(body).expect("answer serializes");
        let response = Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Body::from(bytes))
            .expect("answer builds");
        self.send.send_response(response);
    }

    fn describe(&self) -> String {
        format!("{} {}?{} {}", self.method, self.path, self.query, self.body)
    }
}

/// The mocked API server: the verifier's end of the client's service,
/// holding the object under test as stored.
pub(crate) struct ApiServer {
    handle: Handle<Request<Body>, Response<Body>>,
    stored: Value,
    /// The object's URL path.
    path: String,
    namespace: String,
    name: String,
}

/// A client whose every request goes to the returned [`ApiServer`], which
/// stores `obj` (it needs a namespace and a `resourceVersion`, as a stored
/// object has).
pub(crate) fn mock_api<K>(obj: &K) -> (Client, ApiServer)
where
    K: Resource<DynamicType = ()> + Serialize,
{
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let namespace = obj
        .namespace()
        .expect("the object under test is namespaced");
    assert!(
        obj.resource_version().is_some(),
        "the object under test needs a resourceVersion, as a stored object has"
    );
    let name = obj.name_any();
    let server = ApiServer {
        handle,
        stored: serde_json::to_value(obj).expect("object serializes"),
        path: format!("{}/{name}", K::url_path(&(), Some(&namespace))),
        namespace,
        name,
    };
    (client, server)
}

impl ApiServer {
    /// The next request; panics if none comes.
    pub(crate) async fn next(&mut self) -> Received {
        let next = tokio::time::timeout(PATIENCE, self.handle.next_request())
            .await
            .expect("the reconcile made no further request")
            .expect("the client is gone");
        received(next).await
    }

    /// Expects the status write: a forced server-side apply of the status
    /// subresource under the operator's field manager. Stores it, answers
    /// the object as stored, and returns the status written.
    pub(crate) async fn status_patch(&mut self) -> Value {
        let req = self.next().await;
        let what = req.describe();
        assert_eq!(req.method, Method::PATCH, "expected a status write: {what}");
        assert_eq!(req.path, format!("{}/status", self.path), "{what}");
        assert!(
            req.query.contains(&format!("fieldManager={MANAGER}"))
                && req.query.contains("force=true"),
            "a forced apply under the operator's field manager: {what}"
        );
        assert_eq!(req.content_type, "application/apply-patch+yaml", "{what}");
        assert_eq!(req.body["apiVersion"], self.stored["apiVersion"], "{what}");
        assert_eq!(req.body["kind"], self.stored["kind"], "{what}");
        let status = req.body["status"].clone();
        assert!(status.is_object(), "a status to write: {what}");
        self.stored["status"] = status.clone();
        self.bump();
        req.answer(StatusCode::OK, &self.stored);
        status
    }

    /// Expects a JSON patch of the object itself and applies it as the API
    /// server would (a failing `test` operation fails the test). Answers the
    /// patched object and returns the patch.
    pub(crate) async fn json_patch(&mut self) -> Value {
        let req = self.next().await;
        let what = req.describe();
        assert_eq!(req.method, Method::PATCH, "expected a patch: {what}");
        assert_eq!(req.path, self.path, "{what}");
        assert_eq!(req.content_type, "application/json-patch+json", "{what}");
        let patch: json_patch::Patch =
            serde_json::from_value(req.body.clone()).expect("a JSON patch");
        json_patch::patch(&mut self.stored, &patch)
            .unwrap_or_else(|e| panic!("the patch does not apply ({e}): {what}"));
        self.bump();
        let patch = req.body.clone();
        req.answer(StatusCode::OK, &self.stored);
        patch
    }

    /// Expects the deletion of the object; answers it as deleted and
    /// returns the delete options sent.
    pub(crate) async fn delete(&mut self) -> Value {
        let req = self.next().await;
        let what = req.describe();
        assert_eq!(req.method, Method::DELETE, "expected a delete: {what}");
        assert_eq!(req.path, self.path, "{what}");
        let options = req.body.clone();
        req.answer(StatusCode::OK, &self.stored);
        options
    }

    /// Expects an events.k8s.io/v1 Event about the object in its namespace;
    /// answers it as created and returns it.
    pub(crate) async fn event(&mut self) -> Value {
        let req = self.next().await;
        let what = req.describe();
        assert_eq!(req.method, Method::POST, "expected an event: {what}");
        assert_eq!(
            req.path,
            format!(
                "/apis/events.k8s.io/v1/namespaces/{}/events",
                self.namespace
            ),
            "{what}"
        );
        assert_eq!(req.body["regarding"]["name"], self.name.as_str(), "{what}");
        assert_eq!(req.body["regarding"]["kind"], self.stored["kind"], "{what}");
        assert_eq!(req.body["reportingController"], MANAGER, "{what}");
        let event = req.body.clone();
        req.answer(StatusCode::CREATED, &event);
        event
    }

    /// Panics if a request is waiting that no one answered.
    pub(crate) fn assert_idle(&mut self) {
        if let Some(Some(next)) = self.handle.next_request().now_or_never() {
            let req = received(next).now_or_never().expect("a body in one piece");
            panic!("unexpected request: {}", req.describe());
        }
    }

    /// The object as stored now: what the watch would hand the next
    /// reconcile.
    pub(crate) fn object<K: DeserializeOwned>(&self) -> K {
        serde_json::from_value(self.stored.clone()).expect("stored object deserializes")
    }

    /// A write makes a new resourceVersion.
    fn bump(&mut self) {
        let rv = self.stored["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|rv| rv.parse::<u64>().ok())
            .unwrap_or(0);
        self.stored["metadata"]["resourceVersion"] = Value::String((rv + 1).to_string());
    }
}

async fn received((request, send): (Request<Body>, SendResponse<Response<Body>>)) -> Received {
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.expect("request body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("a JSON request body")
    };
    Received {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        content_type: parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body,
        send,
    }
}

/// Runs `reconcile` while the `verifier` task answers its requests. Returns
/// what the reconcile returned and the server once the verifier is done;
/// fails the test with the verifier's own message if it panicked, and if
/// the reconcile made a request the verifier did not answer.
pub(crate) async fn drive<T, R, V, F>(
    server: ApiServer,
    reconcile: R,
    verifier: V,
) -> (T, ApiServer)
where
    R: Future<Output = T>,
    V: FnOnce(ApiServer) -> F,
    F: Future<Output = ApiServer> + Send + 'static,
{
    let task = tokio::spawn(verifier(server));
    let result = tokio::time::timeout(PATIENCE, reconcile).await;
    let mut server = match task.await {
        Ok(server) => server,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    server.assert_idle();
    (result.expect("the reconcile did not finish"), server)
}

/// When `action` requeues, or `None` for `await_change`.
pub(crate) fn requeue_after(action: &Action) -> Option<Duration> {
    if *action == Action::await_change() {
        return None;
    }
    // The delay is private to kube-runtime; its Debug form is
    // `Action { requeue_after: Some(27.31s) }`.
    let text = format!("{action:?}");
    let inner = text
        .split("Some(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("a requeue delay in {text}"));
    let at = inner
        .find(|c: char| c.is_alphabetic())
        .unwrap_or_else(|| panic!("a unit in {text}"));
    let (number, unit) = inner.split_at(at);
    let number: f64 = number.parse().expect("a number");
    let scale = match unit {
        "s" => 1.0,
        "ms" => 1e-3,
        "µs" => 1e-6,
        "ns" => 1e-9,
        _ => panic!("unit {unit} in {text}"),
    };
    Some(Duration::from_secs_f64(number * scale))
}

mod tests {
    use super::*;

    #[test]
    fn requeue_after_reads_the_delay_back() {
        assert_eq!(requeue_after(&Action::await_change()), None);
        for d in [
            Duration::from_secs(60),
            Duration::from_millis(27_310),
            Duration::from_millis(734),
            Duration::ZERO,
        ] {
            let back = requeue_after(&Action::requeue(d)).expect("a delay");
            assert!(
                back.abs_diff(d) < Duration::from_millis(1),
                "{d:?} {back:?}"
            );
        }
    }
}
