//! Fake of the Anthropic Messages API: `POST /v1/messages`, streamed (SSE) or not.
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::anthropic::{self, AnthropicScript, MessageScript};
//! let fake = anthropic::start(
//!     AnthropicScript::new()
//!         .api_key("sk-ant-test")
//!         .message(MessageScript::error(529))
//!         .message(MessageScript::text(["Hel", "lo."]).with_usage(12, 3)),
//! );
//! // Point the adapter at fake.base_url() ("http://127.0.0.1:PORT", no `/v1`: the SDKs'
//! // ANTHROPIC_BASE_URL convention).
//! # }
//! ```
//!
//! Behaviour copied from the real service: the `x-api-key` check comes first, then the
//! `anthropic-version` header, then the body; every answer carries a `request-id: req_...`
//! header, and every error body is `{"type":"error","error":{"type","message"},"request_id"}`
//! with that same id. A stream is `event: <type>\ndata: <json>\n\n` events, one per HTTP chunk:
//! `message_start`, content blocks (`content_block_start`, a `ping` after the first one,
//! `content_block_delta`s, `content_block_stop`), `message_delta`, `message_stop`. A mid-stream
//! failure is an `error` event, after which the body simply ends.
//!
//! Consecutive messages of the same role are accepted and merged into one turn, as the API
//! documents today; [`AnthropicScript::require_alternating_roles`] restores the 2024 rules.

mod errors;
mod message;
mod request;
mod stream;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;

pub use errors::error_body;
pub use message::MessageScript;

use super::answer::Answer;
use super::ids::{Serial, alnum_id, uuid};
use super::server::{self, FakeServer, RecordedRequest, Shutdown};
use super::wire::{Piece, Queue, Reply, insert_header, streamed_body};
use request::Roles;

pub const MESSAGES_PATH: &str = "/v1/messages";

/// The `anthropic-version` values the API accepts.
const VERSIONS: [&str; 2] = ["2023-06-01", "2023-01-01"];

/// Everything the Anthropic fake will answer. With nothing queued, every message request gets a
/// short text reply.
#[derive(Clone, Debug, Default)]
pub struct AnthropicScript {
    api_key: Option<String>,
    message: Vec<MessageScript>,
    roles: Roles,
}

impl AnthropicScript {
    /// No key check; every request answered with the default script.
    pub fn new() -> Self {
        Self::default()
    }

    /// Require `x-api-key: <key>`; anything else gets Anthropic's 401.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Queue the answer to the next `POST /v1/messages`.
    pub fn message(mut self, script: MessageScript) -> Self {
        self.message.push(script);
        self
    }

    /// Refuse, as the API did until 2024, a first message that is not `user` and two messages
    /// of the same role in a row (the API now merges them into one turn).
    pub fn require_alternating_roles(mut self) -> Self {
        self.roles = Roles::Alternating;
        self
    }

    pub fn start(self) -> AnthropicFake {
        AnthropicFake::start(self)
    }
}

impl From<MessageScript> for AnthropicScript {
    fn from(script: MessageScript) -> Self {
        AnthropicScript::new().message(script)
    }
}

/// Starts the fake on `127.0.0.1:0` (inside a tokio runtime).
pub fn start(script: impl Into<AnthropicScript>) -> AnthropicFake {
    AnthropicFake::start(script)
}

/// A running Anthropic fake; dropping it shuts it down.
pub struct AnthropicFake {
    server: FakeServer,
}

impl AnthropicFake {
    pub fn start(script: impl Into<AnthropicScript>) -> Self {
        let script = script.into();
        let router = Router::new().route(MESSAGES_PATH, post(message::handle)).fallback(not_found);
        let (server, _) = server::start(router, |shutdown| Anthropic {
            api_key: script.api_key,
            messages: Queue::new(script.message),
            roles: script.roles,
            shutdown,
            requests: Serial::default(),
        });
        AnthropicFake { server }
    }

    /// The base URL in the Anthropic SDKs' convention (`ANTHROPIC_BASE_URL`), without `/v1`:
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Every `POST /v1/messages` received, in arrival order (refused ones included).
    pub fn message_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(MESSAGES_PATH)
    }

    /// Every HTTP request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Requests whose path (query excluded) is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.server.requests_to(path)
    }
}

pub(crate) struct Anthropic {
    api_key: Option<String>,
    messages: Queue<MessageScript>,
    roles: Roles,
    shutdown: Shutdown,
    requests: Serial,
}

/// One request being answered: its number (the seed of its ids) and the headers every answer
/// to it carries.
struct Call {
    serial: u64,
    request_id: String,
    headers: Vec<(String, String)>,
}

impl Call {
    /// An error answer with the API's body for it.
    fn error(&self, status: u16, kind: &str, message: &str) -> Response {
        Reply::json(status, errors::error_json(kind, message, Some(&self.request_id))).into_response(&self.headers)
    }

    /// The scripted failure, if any; a body from [`error_body`] gets this request's id, as the
    /// real one would carry it.
    fn scripted_failure(&self, answer: &Answer) -> Option<Response> {
        let mut reply = answer.failure.clone()?;
        if reply.body == error_body(reply.status) {
            let (kind, message) = errors::kind_and_message(reply.status);
            reply.body = errors::error_json(kind, message, Some(&self.request_id));
        }
        Some(reply.into_response(&self.headers))
    }
}

impl Anthropic {
    fn begin(&self) -> Call {
        let serial = self.requests.next();
        let request_id = format!("req_011C{}", alnum_id(0x7e9, serial, 20));
        let headers =
            vec![("request-id".into(), request_id.clone()), ("anthropic-organization-id".into(), uuid(0x0a9, 1))];
        Call { serial, request_id, headers }
    }

    /// The checks the API makes before reading the body, key first: the refusal, if any.
    fn refusal(&self, headers: &HeaderMap, call: &Call) -> Option<Response> {
        let header = |name: &str| headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        if let Some(expected) = &self.api_key {
            match header("x-api-key") {
                Some(key) if key == *expected => {}
                Some(key) if !key.is_empty() => {
                    return Some(call.error(401, "authentication_error", errors::INVALID_API_KEY));
                }
                _ => return Some(call.error(401, "authentication_error", errors::MISSING_API_KEY)),
            }
        }
        match header("anthropic-version") {
            Some(version) if VERSIONS.contains(&version.as_str()) => None,
            Some(version) => Some(call.error(400, "invalid_request_error", &errors::invalid_version(&version))),
            None => Some(call.error(400, "invalid_request_error", errors::MISSING_VERSION)),
        }
    }

    /// A `200` event stream of `pieces`, one chunk each.
    fn stream(&self, pieces: Vec<Piece>, call: &Call) -> Response {
        let mut response = Response::new(streamed_body(pieces, self.shutdown.clone()));
        for (name, value) in &call.headers {
            insert_header(&mut response, name, value);
        }
        insert_header(&mut response, "content-type", "text/event-stream; charset=utf-8");
        insert_header(&mut response, "cache-control", "no-cache");
        response
    }
}

async fn not_found(State(api): State<Arc<Anthropic>>) -> Response {
    api.begin().error(404, "not_found_error", "Not Found")
}
