//! A webhook endpoint: what a user's server receiving step and post-call webhooks looks like.
//! Answers every POST with the next queued status (200 when none), recording the request.

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;

use super::RecordedRequest;
use super::server::{self, FakeServer};
use super::wire::Queue;

pub struct WebhookReceiver {
    server: FakeServer,
}

struct Statuses(Queue<u16>);

impl WebhookReceiver {
    /// Starts on `127.0.0.1:0`, answering in turn with `statuses` (the last one repeats).
    pub fn start(statuses: Vec<u16>) -> Self {
        let router = Router::new().route(
            "/{*path}",
            post(|axum::extract::State(state): axum::extract::State<Arc<Statuses>>| async move {
                StatusCode::from_u16(state.0.next().unwrap_or(200)).unwrap_or(StatusCode::OK)
            }),
        );
        let (server, _) = server::start(router, |_| Statuses(Queue::new(statuses)));
        Self { server }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.http_origin())
    }

    /// The POSTs received at `path`, in order.
    pub fn received(&self, path: &str) -> Vec<RecordedRequest> {
        self.server.requests_to(path)
    }
}
