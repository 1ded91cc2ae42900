//! Fake of the OpenAI API: chat completions (SSE), speech (chunked PCM) and transcriptions
//! (multipart upload).
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::openai::{self, ChatScript, OpenAiScript};
//! let fake = openai::start(
//!     OpenAiScript::new()
//!         .api_key("sk-test")
//!         .chat(ChatScript::error(429).retry_after(1))
//!         .chat(ChatScript::text(["Hel", "lo", " there."]).with_usage(12, 3)),
//! );
//! // Point the adapter at fake.base_url() ("http://127.0.0.1:PORT/v1").
//! # }
//! ```
//!
//! Behaviour copied from the real service: the `Authorization: Bearer` check comes before any
//! validation; every error body is `{"error": {"message", "type", "param", "code"}}`; a
//! streamed chat sends the usage chunk only when the request set
//! `stream_options.include_usage`, and then every other chunk carries `"usage": null`.

mod chat;
mod errors;
mod speech;
mod stream;
#[cfg(test)]
mod tests;
mod transcript_json;
mod transcription;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::post;

pub use chat::{ChatScript, Usage};
pub use errors::error_body;
pub use speech::{SPEECH_SAMPLE_RATE, SpeechScript};
pub use transcription::{TranscriptionRecord, TranscriptionScript};

use super::ids::hex_id;
use super::server::{FakeServer, RecordedRequest, Shutdown, lock, prepare};
use super::wire::{Queue, Reply};

pub const CHAT_PATH: &str = "/v1/chat/completions";
pub const SPEECH_PATH: &str = "/v1/audio/speech";
pub const TRANSCRIPTIONS_PATH: &str = "/v1/audio/transcriptions";

/// Everything the OpenAI fake will answer, endpoint by endpoint.
#[derive(Clone, Debug, Default)]
pub struct OpenAiScript {
    api_key: Option<String>,
    chat: Vec<ChatScript>,
    speech: Vec<SpeechScript>,
    transcription: Vec<TranscriptionScript>,
}

impl OpenAiScript {
    /// No key check; every endpoint answers with its default script (a short text reply, a
    /// tone, the transcript "Hello world.").
    pub fn new() -> Self {
        Self::default()
    }

    /// Require `Authorization: Bearer <key>`; anything else gets OpenAI's 401.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Queue the answer to the next `POST /v1/chat/completions`.
    pub fn chat(mut self, script: ChatScript) -> Self {
        self.chat.push(script);
        self
    }

    /// Queue the answer to the next `POST /v1/audio/speech`.
    pub fn speech(mut self, script: SpeechScript) -> Self {
        self.speech.push(script);
        self
    }

    /// Queue the answer to the next `POST /v1/audio/transcriptions`.
    pub fn transcription(mut self, script: TranscriptionScript) -> Self {
        self.transcription.push(script);
        self
    }

    pub fn start(self) -> OpenAiFake {
        OpenAiFake::start(self)
    }
}

impl From<ChatScript> for OpenAiScript {
    fn from(script: ChatScript) -> Self {
        OpenAiScript::new().chat(script)
    }
}

impl From<SpeechScript> for OpenAiScript {
    fn from(script: SpeechScript) -> Self {
        OpenAiScript::new().speech(script)
    }
}

impl From<TranscriptionScript> for OpenAiScript {
    fn from(script: TranscriptionScript) -> Self {
        OpenAiScript::new().transcription(script)
    }
}

/// Starts the fake on `127.0.0.1:0` (inside a tokio runtime).
pub fn start(script: impl Into<OpenAiScript>) -> OpenAiFake {
    OpenAiFake::start(script)
}

/// A running OpenAI fake; dropping it shuts it down.
pub struct OpenAiFake {
    server: FakeServer,
    state: Arc<OpenAi>,
}

impl OpenAiFake {
    pub fn start(script: impl Into<OpenAiScript>) -> Self {
        let script = script.into();
        let prepared = prepare();
        let state = Arc::new(OpenAi {
            api_key: script.api_key,
            chat: Queue::new(script.chat),
            speech: Queue::new(script.speech),
            transcription: Queue::new(script.transcription),
            shutdown: prepared.shutdown.clone(),
            counter: AtomicU64::new(0),
            transcriptions: Mutex::new(Vec::new()),
        });
        let router = Router::new()
            .route(CHAT_PATH, post(chat::handle))
            .route(SPEECH_PATH, post(speech::handle))
            .route(TRANSCRIPTIONS_PATH, post(transcription::handle))
            .fallback(invalid_url)
            .with_state(state.clone());
        OpenAiFake { server: prepared.serve(router), state }
    }

    /// The base URL in the OpenAI SDKs' convention (`OPENAI_BASE_URL`), version prefix
    /// included: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.http_origin())
    }

    /// `http://127.0.0.1:PORT`, without the `/v1` prefix.
    pub fn origin(&self) -> String {
        self.server.http_origin()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Requests whose path (query excluded) is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|request| request.path() == path);
        requests
    }

    pub fn chat_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(CHAT_PATH)
    }

    pub fn speech_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to(SPEECH_PATH)
    }

    /// Every transcription upload that parsed, with its decoded audio.
    pub fn transcriptions(&self) -> Vec<TranscriptionRecord> {
        lock(&self.state.transcriptions).clone()
    }
}

pub(crate) struct OpenAi {
    api_key: Option<String>,
    chat: Queue<ChatScript>,
    speech: Queue<SpeechScript>,
    transcription: Queue<TranscriptionScript>,
    shutdown: Shutdown,
    counter: AtomicU64,
    transcriptions: Mutex<Vec<TranscriptionRecord>>,
}

impl OpenAi {
    /// A fresh per-request number, the seed of that request's ids.
    fn next_request(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Headers OpenAI puts on every answer.
    fn common_headers(&self, request: u64) -> Vec<(String, String)> {
        vec![
            ("x-request-id".into(), format!("req_{}", hex_id(0x0a1, request, 32))),
            ("openai-version".into(), "2020-10-01".into()),
            ("openai-processing-ms".into(), (90 + request % 200).to_string()),
        ]
    }

    /// The key check OpenAI performs before looking at the request: the 401 to send, if any.
    fn unauthorized(&self, headers: &HeaderMap, request: u64) -> Option<Response> {
        let expected = self.api_key.as_ref()?;
        let presented = headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let body = match presented {
            Some(key) if key == expected => return None,
            Some(key) if !key.is_empty() => errors::invalid_api_key(key),
            _ => errors::missing_api_key(),
        };
        Some(Reply::json(401, body).into_response(&self.common_headers(request)))
    }

    /// Waits `delay`, unless the fake is dropped first.
    async fn pause(&self, delay: std::time::Duration) {
        if delay.is_zero() {
            return;
        }
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shutdown.signalled() => {}
        }
    }
}

async fn invalid_url(method: Method, uri: Uri) -> Response {
    let message = format!("Invalid URL ({method} {})", uri.path());
    Reply::json(404, errors::error_json(&message, "invalid_request_error", None, None)).into_response(&[])
}
