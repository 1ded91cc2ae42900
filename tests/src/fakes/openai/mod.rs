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

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::post;

pub use chat::{ChatScript, Usage};
pub use errors::error_body;
pub use speech::{SPEECH_SAMPLE_RATE, SpeechScript};
pub use transcription::{TranscriptionRecord, TranscriptionScript};

use super::ids::{Serial, hex_id};
use super::provider::provider_fake;
use super::server::{self, FakeServer, RecordedRequest, Shutdown, lock, presented_key};
use super::wire::{Piece, Queue, Reply, insert_header, streamed_body};

pub const CHAT_PATH: &str = "/v1/chat/completions";
pub const SPEECH_PATH: &str = "/v1/audio/speech";
pub const TRANSCRIPTIONS_PATH: &str = "/v1/audio/transcriptions";

/// Everything the OpenAI fake will answer, endpoint by endpoint. An endpoint with nothing queued
/// answers with its default script (a short text reply, a tone, the transcript "Hello world.").
#[derive(Clone, Debug, Default)]
pub struct OpenAiScript {
    api_key: Option<String>,
    chat: Vec<ChatScript>,
    speech: Vec<SpeechScript>,
    transcription: Vec<TranscriptionScript>,
}

provider_fake! {
    OpenAiScript => OpenAiFake,
    auth: "Bearer",
    endpoints: {
        /// Queue the answer to the next `POST /v1/chat/completions`.
        chat: ChatScript,
        /// Queue the answer to the next `POST /v1/audio/speech`.
        speech: SpeechScript,
        /// Queue the answer to the next `POST /v1/audio/transcriptions`.
        transcription: TranscriptionScript,
    },
}

/// A running OpenAI fake; dropping it shuts it down.
pub struct OpenAiFake {
    server: FakeServer,
    state: Arc<OpenAi>,
}

impl OpenAiFake {
    pub fn start(script: impl Into<OpenAiScript>) -> Self {
        let script = script.into();
        let router = Router::new()
            .route(CHAT_PATH, post(chat::handle))
            .route(SPEECH_PATH, post(speech::handle))
            .route(TRANSCRIPTIONS_PATH, post(transcription::handle))
            .fallback(invalid_url);
        let (server, state) = server::start(router, |shutdown| OpenAi {
            api_key: script.api_key,
            chat: Queue::new(script.chat),
            speech: Queue::new(script.speech),
            transcription: Queue::new(script.transcription),
            shutdown,
            requests: Serial::default(),
            transcriptions: Mutex::default(),
        });
        OpenAiFake { server, state }
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
    requests: Serial,
    transcriptions: Mutex<Vec<TranscriptionRecord>>,
}

impl OpenAi {
    /// A fresh per-request number, the seed of that request's ids.
    fn next_request(&self) -> u64 {
        self.requests.next()
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
        let body = match presented_key(headers, "Bearer") {
            Some(key) if key == expected => return None,
            Some(key) if !key.is_empty() => errors::invalid_api_key(key),
            _ => errors::missing_api_key(),
        };
        Some(Reply::json(401, body).into_response(&self.common_headers(request)))
    }

    /// A `200` streaming `pieces` with chunked transfer: the common headers, then
    /// `content_type`.
    fn stream(&self, pieces: Vec<Piece>, common: &[(String, String)], content_type: &str) -> Response {
        let mut response = Response::new(streamed_body(pieces, self.shutdown.clone()));
        for (name, value) in common {
            insert_header(&mut response, name, value);
        }
        insert_header(&mut response, "content-type", content_type);
        response
    }
}

async fn invalid_url(method: Method, uri: Uri) -> Response {
    let message = format!("Invalid URL ({method} {})", uri.path());
    Reply::json(404, errors::error_json(&message, "invalid_request_error", None, None)).into_response(&[])
}
