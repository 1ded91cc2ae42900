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

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};

pub use script::{DEFAULT_INACTIVITY_TIMEOUT, ListenScript, NET0001_REASON};
pub use session::ListenSession;
pub use speak::{SPEAK_SAMPLE_RATES, SpeakScript};

use super::ids::uuid;
use super::server::{FakeServer, RecordedRequest, Shutdown, lock, prepare};
use super::wire::{Obj, Queue, Reply};

pub const LISTEN_PATH: &str = "/v1/listen";
pub const SPEAK_PATH: &str = "/v1/speak";

/// Everything the Deepgram fake will answer.
#[derive(Clone, Debug, Default)]
pub struct DeepgramScript {
    api_key: Option<String>,
    listen: Vec<ListenScript>,
    speak: Vec<SpeakScript>,
}

impl DeepgramScript {
    /// No key check; sessions hear nothing, speech requests get the default tone.
    pub fn new() -> Self {
        Self::default()
    }

    /// Require `Authorization: Token <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Queue the behaviour of the next `/v1/listen` connection.
    pub fn listen(mut self, script: ListenScript) -> Self {
        self.listen.push(script);
        self
    }

    /// Queue the answer to the next `POST /v1/speak`.
    pub fn speak(mut self, script: SpeakScript) -> Self {
        self.speak.push(script);
        self
    }

    pub fn start(self) -> DeepgramFake {
        DeepgramFake::start(self)
    }
}

impl From<ListenScript> for DeepgramScript {
    fn from(script: ListenScript) -> Self {
        DeepgramScript::new().listen(script)
    }
}

impl From<SpeakScript> for DeepgramScript {
    fn from(script: SpeakScript) -> Self {
        DeepgramScript::new().speak(script)
    }
}

/// Starts the fake on `127.0.0.1:0` (inside a tokio runtime).
pub fn start(script: impl Into<DeepgramScript>) -> DeepgramFake {
    DeepgramFake::start(script)
}

/// A running Deepgram fake; dropping it shuts it down and drops open sessions.
pub struct DeepgramFake {
    server: FakeServer,
    state: Arc<Deepgram>,
}

impl DeepgramFake {
    pub fn start(script: impl Into<DeepgramScript>) -> Self {
        let script = script.into();
        let prepared = prepare();
        let state = Arc::new(Deepgram {
            api_key: script.api_key,
            listen: Queue::new(script.listen),
            speak: Queue::new(script.speak),
            shutdown: prepared.shutdown.clone(),
            counter: AtomicU64::new(0),
            sessions: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route(LISTEN_PATH, get(handshake::handle))
            .route(SPEAK_PATH, post(speak::handle))
            .fallback(not_found)
            .with_state(state.clone());
        DeepgramFake { server: prepared.serve(router), state }
    }

    /// `http://127.0.0.1:PORT`, in the Deepgram SDKs' convention (no `/v1`).
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    /// `ws://127.0.0.1:PORT` (no `/v1`).
    pub fn ws_base_url(&self) -> String {
        self.server.ws_origin()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every HTTP request received (WebSocket handshakes included), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Requests whose path (query excluded) is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|request| request.path() == path);
        requests
    }

    pub fn speak_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(SPEAK_PATH)
    }

    /// Every `/v1/listen` session that was upgraded, live snapshots in connection order.
    pub fn sessions(&self) -> Vec<ListenSession> {
        lock(&self.state.sessions).clone()
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
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let sessions = self.sessions();
            if done(&sessions) {
                return Ok(sessions);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("condition not met within {timeout:?}; sessions: {sessions:#?}");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

pub(crate) struct Deepgram {
    api_key: Option<String>,
    listen: Queue<ListenScript>,
    speak: Queue<SpeakScript>,
    shutdown: Shutdown,
    counter: AtomicU64,
    sessions: Mutex<Vec<ListenSession>>,
}

impl Deepgram {
    fn next_request_id(&self) -> String {
        uuid(0xdee9, self.counter.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// The key check Deepgram performs before anything else: the 401 to send, if any.
    fn unauthorized(&self, headers: &HeaderMap, request_id: &str) -> Option<Response> {
        let expected = self.api_key.as_ref()?;
        let presented = headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Token "))
            .map(str::trim);
        if presented == Some(expected.as_str()) {
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
