//! `/healthz`, `/readyz` and `/metrics`.
//!
//! Liveness only says that the process answers: restarting a replica because
//! it is not the leader, or because the API server is slow to list, would not
//! help. Readiness says that this replica is doing the work: its watch caches
//! have synced and, with leader election, it holds the lease.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::telemetry::Metrics;

/// The content type of `/metrics`: what prometheus-client's text encoder
/// writes (OpenMetrics, not the older Prometheus 0.0.4 format).
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the probes report. Shared as `Arc<Health>` between the controller,
/// the leader election and the HTTP server; the flags are plain atomics since
/// each is written by one task and read by the probe handler.
#[derive(Debug)]
pub struct Health {
    synced: AtomicBool,
    leader: AtomicBool,
    leader_election: bool,
}

impl Health {
    /// Not synced and not leader yet. With `leader_election_enabled` false the
    /// leader flag is ignored: a single replica is always the one acting.
    pub fn new(leader_election_enabled: bool) -> Self {
        Health {
            synced: AtomicBool::new(false),
            leader: AtomicBool::new(false),
            leader_election: leader_election_enabled,
        }
    }

    /// The watch caches have (or no longer have) their first full list.
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::Release);
    }

    /// This replica holds (or no longer holds) the leader lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Release);
    }

    /// Synced, and leading unless leader election is off.
    pub fn is_ready(&self) -> bool {
        self.not_ready_reason().is_none()
    }

    /// Why the operator is not ready, if it is not; `/readyz` answers with it.
    /// "not leader" comes first: a standby replica never starts its watches,
    /// so "watch not synced" would hide the real reason.
    pub fn not_ready_reason(&self) -> Option<&'static str> {
        if self.leader_election && !self.leader.load(Ordering::Acquire) {
            Some("not leader")
        } else if !self.synced.load(Ordering::Acquire) {
            Some("watch not synced")
        } else {
            None
        }
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

/// The routes, without a listener (for [`serve`] and for tests).
fn router(metrics: Arc<Metrics>, health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(AppState { metrics, health })
}

/// Serves `GET /healthz`, `/readyz` and `/metrics` on `listener` until
/// `shutdown` resolves, then stops accepting and lets requests in flight
/// finish (graceful shutdown).
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics, health))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.health.not_ready_reason() {
        None => (StatusCode::OK, "ok"),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason),
    }
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)],
        s.metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A response as read off the wire.
    struct Response {
        status: u16,
        head: String,
        body: String,
    }

    /// One HTTP/1.1 GET over a raw socket. `Connection: close` makes the
    /// server end the stream after the response, so reading to the end is
    /// the whole response (no chunked/length parsing needed).
    async fn get(addr: SocketAddr, path: &str) -> Response {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("a head and a body");
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {raw:?}"));
        Response {
            status,
            head: head.to_ascii_lowercase(),
            body: body.to_string(),
        }
    }

    struct Server {
        addr: SocketAddr,
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    async fn start(metrics: Arc<Metrics>, health: Arc<Health>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, metrics, health, async {
            let _ = rx.await;
        }));
        Server { addr, stop, task }
    }

    impl Server {
        async fn shut_down(self) {
            self.stop.send(()).unwrap();
            tokio::time::timeout(std::time::Duration::from_secs(5), self.task)
                .await
                .expect("graceful shutdown in time")
                .unwrap()
                .unwrap();
        }
    }

    #[tokio::test]
    async fn healthz_answers_even_when_not_ready() {
        let server = start(Arc::new(Metrics::new()), Arc::new(Health::new(true))).await;
        let r = get(server.addr, "/healthz").await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        server.shut_down().await;
    }

    #[tokio::test]
    async fn readyz_follows_leadership_and_sync() {
        let health = Arc::new(Health::new(true));
        let server = start(Arc::new(Metrics::new()), health.clone()).await;

        let r = get(server.addr, "/readyz").await;
        assert_eq!((r.status, r.body.as_str()), (503, "not leader"));
        health.set_leader(true);
        let r = get(server.addr, "/readyz").await;
        assert_eq!((r.status, r.body.as_str()), (503, "watch not synced"));
        health.set_synced(true);
        let r = get(server.addr, "/readyz").await;
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        // And back: losing the lease makes the replica unready at once.
        health.set_leader(false);
        let r = get(server.addr, "/readyz").await;
        assert_eq!((r.status, r.body.as_str()), (503, "not leader"));

        server.shut_down().await;
    }

    #[tokio::test]
    async fn metrics_are_openmetrics_text() {
        let metrics = Arc::new(Metrics::new());
        metrics.reconciled();
        let server = start(metrics.clone(), Arc::new(Health::new(false))).await;

        let r = get(server.addr, "/metrics").await;
        assert_eq!(r.status, 200);
        assert!(
            r.head
                .contains(&format!("content-type: {OPENMETRICS_CONTENT_TYPE}")),
            "{}",
            r.head
        );
        assert!(
            r.body.contains("comprehend_operator_reconciles_total 1"),
            "{}",
            r.body
        );
        assert!(r.body.ends_with("# EOF\n"), "{}", r.body);
        // Each scrape encodes the current values.
        metrics.reconciled();
        let r = get(server.addr, "/metrics").await;
        assert!(
            r.body.contains("comprehend_operator_reconciles_total 2"),
            "{}",
            r.body
        );

        assert_eq!(get(server.addr, "/nope").await.status, 404);
        server.shut_down().await;
    }

    #[test]
    fn without_leader_election_only_sync_matters() {
        let h = Health::new(false);
        assert!(!h.is_ready());
        assert_eq!(h.not_ready_reason(), Some("watch not synced"));
        h.set_synced(true);
        assert!(h.is_ready());
        assert_eq!(h.not_ready_reason(), None);
    }

    #[test]
    fn with_leader_election_both_are_needed() {
        let h = Health::new(true);
        h.set_synced(true);
        assert!(!h.is_ready());
        h.set_leader(true);
        assert!(h.is_ready());
        h.set_synced(false);
        assert!(!h.is_ready());
    }
}
