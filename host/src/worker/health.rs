//! The worker's small HTTP server: `GET /healthz` and `GET /metrics`.
//!
//! `/healthz` answers 200 while the worker is registered with LiveKit (draining included) and
//! 503 otherwise, with a JSON body naming the state and, when known, why. `/metrics` is
//! [`WorkerMetrics::render`] in Prometheus' text format.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::metrics::{ConnectionState, WorkerMetrics};

/// The default listen address: loopback only; an operator exposes it deliberately.
pub const DEFAULT_HEALTH_ADDR: &str = "127.0.0.1:8081";

/// The routes, without a listener (tests call them with `oneshot`).
pub fn router(metrics: WorkerMetrics) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(prometheus_text)).with_state(metrics)
}

/// A bound health server; it serves until `shutdown` completes.
pub struct HealthServer {
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HealthServer {
    /// Binds `addr` (port 0 picks a free port) and serves on the current runtime.
    pub async fn bind(addr: SocketAddr, metrics: WorkerMetrics) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router(metrics)).await {
                tracing::warn!(%error, "health server stopped");
            }
        });
        Ok(Self { local_addr, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn healthz(State(metrics): State<WorkerMetrics>) -> Response {
    let state = metrics.state();
    let status = if state.is_healthy() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut body = json!({ "status": if state.is_healthy() { "ok" } else { "unavailable" }, "state": state.name() });
    match &state {
        ConnectionState::Registered { worker_id } | ConnectionState::Draining { worker_id: Some(worker_id) } => {
            body["workerId"] = json!(worker_id);
        }
        ConnectionState::Connecting { reason: None } => body["reason"] = json!("not connected to LiveKit yet"),
        ConnectionState::Connecting { reason: Some(reason) } | ConnectionState::Stopped { reason } => {
            body["reason"] = json!(reason);
        }
        ConnectionState::Connected => body["reason"] = json!("connected; waiting for LiveKit to confirm registration"),
        ConnectionState::Draining { worker_id: None } => body["reason"] = json!("draining while disconnected"),
    }
    (status, axum::Json(body)).into_response()
}

async fn prometheus_text(State(metrics): State<WorkerMetrics>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.render()).into_response()
}
