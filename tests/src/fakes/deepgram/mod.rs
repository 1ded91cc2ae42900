//! Fake of the Deepgram API: live transcription over `GET /v1/listen` (WebSocket) and
//! text-to-speech over `POST /v1/speak` (chunked PCM).
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::deepgram::{self, DeepgramScript, ListenScript};
//! let fake = deepgram::start(
//!     DeepgramScript::new()
//!         .api_key("dg-test")
//!         .listen(ListenScript::transcript("Hello there.")),
//! );
//! // Point the adapter at fake.base_url() / fake.ws_base_url() (no `/v1`: Deepgram's SDKs
//! // add it themselves).
//! # }
//! ```
//!
//! As with the real service, the key travels as `Authorization: Token <key>` and is checked
//! before anything else: a WebSocket handshake with a wrong key gets HTTP 401 and Deepgram's
//! `{"err_code":"INVALID_AUTH",...}` body instead of the upgrade.

mod handshake;
mod listen;
mod messages;
mod script;
mod session;
mod speak;
#[cfg(test)]
mod tests;
mod timeline;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};

pub use script::{DEFAULT_INACTIVITY_TIMEOUT, ListenScript, NET0001_REASON};
pub use session::ListenSession;
pub use speak::{SPEAK_SAMPLE_RATES, SpeakScript};

use super::ids::{Serial, uuid};
use super::provider::provider_fake;
use super::server::{self, FakeServer, RecordedRequest, Shutdown, presented_key};
use super::sessions::SessionLog;
use super::wire::{Obj, Queue, Reply};

pub const LISTEN_PATH: &str = "/v1/listen";
pub const SPEAK_PATH: &str = "/v1/speak";

/// Everything the Deepgram fake will answer. With nothing queued, sessions hear nothing and
/// speech requests get the default tone.
#[derive(Clone, Debug, Default)]
pub struct DeepgramScript {
    api_key: Option<String>,
    listen: Vec<ListenScript>,
    speak: Vec<SpeakScript>,
}

provider_fake! {
    DeepgramScript => DeepgramFake,
    auth: "Token",
    endpoints: {
        /// Queue the behaviour of the next `/v1/listen` connection.
        listen: ListenScript,
        /// Queue the answer to the next `POST /v1/speak`.
        speak: SpeakScript,
    },
}

/// A running Deepgram fake; dropping it shuts it down and drops open sessions.
pub struct DeepgramFake {
    server: FakeServer,
    state: Arc<Deepgram>,
}

impl DeepgramFake {
    pub fn start(script: impl Into<DeepgramScript>) -> Self {
        let script = script.into();
        let router = Router::new()
            .route(LISTEN_PATH, get(handshake::handle))
            .route(SPEAK_PATH, post(speak::handle))
            .fallback(not_found);
        let (server, state) = server::start(router, |shutdown| Deepgram {
            api_key: script.api_key,
            listen: Queue::new(script.listen),
            speak: Queue::new(script.speak),
            shutdown,
            requests: Serial::default(),
            sessions: SessionLog::default(),
        });
        DeepgramFake { server, state }
    }

    /// `http://127.0.0.1:PORT`, in the Deepgram SDKs' convention (no `/v1`).
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    /// `ws://127.0.0.1:PORT` (no `/v1`).
    pub fn ws_base_url(&self) -> String {
        self.server.ws_origin()
    }

    pub fn speak_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(SPEAK_PATH)
    }

    /// Every `/v1/listen` session that was upgraded, live snapshots in connection order.
    pub fn sessions(&self) -> Vec<ListenSession> {
        self.state.sessions.snapshot()
    }

    /// `{"type":"KeepAlive"}` messages received, over all sessions.
    pub fn keep_alive_count(&self) -> usize {
        self.sessions().iter().map(|s| s.keep_alives).sum()
    }

    /// Polls the sessions until `done` holds or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[ListenSession]) -> bool,
    ) -> anyhow::Result<Vec<ListenSession>> {
        self.state.sessions.wait_for(timeout, done).await
    }
}

pub(crate) struct Deepgram {
    api_key: Option<String>,
    listen: Queue<ListenScript>,
    speak: Queue<SpeakScript>,
    shutdown: Shutdown,
    requests: Serial,
    sessions: SessionLog<ListenSession>,
}

impl Deepgram {
    fn next_request_id(&self) -> String {
        uuid(0xdee9, self.requests.next())
    }

    /// The key check Deepgram performs before anything else: the 401 to send, if any.
    fn unauthorized(&self, headers: &HeaderMap, request_id: &str) -> Option<Response> {
        let expected = self.api_key.as_ref()?;
        if presented_key(headers, "Token") == Some(expected.as_str()) {
            return None;
        }
        Some(error_reply(401, error_body(401, request_id), request_id))
    }
}

fn error_reply(status: u16, body: String, request_id: &str) -> Response {
    let headers = [("dg-request-id".to_owned(), request_id.to_owned())];
    Reply::json(status, body).into_response(&headers)
}

fn err_code_body(code: &str, message: &str, request_id: &str) -> String {
    Obj::new().str("err_code", code).str("err_msg", message).str("request_id", request_id).finish()
}

/// Deepgram's `{"err_code","err_msg","request_id"}` body for common statuses.
pub fn error_body(status: u16, request_id: &str) -> String {
    let (code, message) = match status {
        400 => ("Bad Request", "Bad Request: failed to process audio: corrupt or unsupported data"),
        401 => ("INVALID_AUTH", "Invalid credentials."),
        402 => ("ASR_PAYMENT_REQUIRED", "Project does not have enough credits for an ASR request."),
        403 => ("INSUFFICIENT_PERMISSIONS", "Insufficient permissions."),
        429 => ("TOO_MANY_REQUESTS", "Too many requests. Please try again later."),
        503 => ("SERVICE_UNAVAILABLE", "Service Unavailable"),
        _ => ("INTERNAL_SERVER_ERROR", "Internal Server Error"),
    };
    err_code_body(code, message, request_id)
}

fn bad_request(message: &str, request_id: &str) -> Response {
    error_reply(400, err_code_body("Bad Request", message, request_id), request_id)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    let message = format!("No route for {method} {}", uri.path());
    error_reply(404, err_code_body("NOT_FOUND", &message, ""), "")
}
