//! Fake of the ElevenLabs text-to-speech API: the `stream-input` WebSocket
//! (`GET /v1/text-to-speech/{voice_id}/stream-input`) and HTTP streaming
//! (`POST /v1/text-to-speech/{voice_id}/stream`), both with raw `pcm_*` output.
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::elevenlabs::{self, ElevenLabsScript};
//! let fake = elevenlabs::start(ElevenLabsScript::new().api_key("xi-test"));
//! // Point the adapter at fake.base_url() (no `/v1`: ElevenLabs' SDKs add it themselves).
//! # }
//! ```
//!
//! As with the real service the key travels as `xi-api-key` (on the socket's handshake, or as
//! `xi_api_key` in its first message). HTTP requests with a wrong key get 401 and ElevenLabs'
//! `{"detail": {"status": "invalid_api_key", ...}}`; a socket is upgraded first and then closed
//! with 1008 and the reason, as ElevenLabs does for keys, voices and models it refuses.
//!
//! "Speech" is a tone whose length follows the text (see [`crate::fakes::tone`]); on the socket
//! it is generated the way ElevenLabs' buffer does: when the buffered text reaches the next
//! length of `chunk_length_schedule` (default `[120, 160, 250, 290]`), on `flush: true`, and on
//! the end of input (`{"text": ""}`), which is answered with `{"isFinal": true}` and a close.

mod session;
mod speech;
mod stream_input;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

pub use session::StreamInputSession;
pub use speech::SpeechScript;
pub use stream_input::StreamInputScript;

use super::provider::provider_fake;
use super::server::{self, FakeServer, RecordedRequest, Shutdown};
use super::sessions::SessionLog;
use super::wire::{Obj, Queue, Reply};

/// The output formats ElevenLabs offers as raw 16-bit PCM, by rate.
pub const PCM_SAMPLE_RATES: [u32; 6] = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

/// Premade voices every account has (Rachel, George, Adam, Sarah).
pub const STOCK_VOICES: [&str; 4] =
    ["21m00Tcm4TlvDq8ikWAM", "JBFqnCBsd6RMkjVDRZzb", "pNInz6obpgDQGcFmaJgB", "EXAVITQu4vr4xnSDxMaL"];

/// Text-to-speech models (`GET /v1/models` with `can_do_text_to_speech`).
pub const MODELS: [&str; 8] = [
    "eleven_flash_v2_5",
    "eleven_flash_v2",
    "eleven_turbo_v2_5",
    "eleven_turbo_v2",
    "eleven_multilingual_v2",
    "eleven_monolingual_v1",
    "eleven_multilingual_v1",
    "eleven_v3",
];

/// The model ElevenLabs uses when a request names none.
pub const DEFAULT_MODEL: &str = "eleven_multilingual_v2";

/// Everything the ElevenLabs fake will answer. With nothing queued, sockets and requests speak
/// the default tone.
#[derive(Clone, Debug, Default)]
pub struct ElevenLabsScript {
    api_key: Option<String>,
    voices: Vec<String>,
    stream_input: Vec<StreamInputScript>,
    speech: Vec<SpeechScript>,
}

provider_fake! {
    ElevenLabsScript => ElevenLabsFake,
    /// Require this key (`xi-api-key`, or `xi_api_key` in the socket's first message).
    api_key,
    endpoints: {
        /// Queue the behaviour of the next `stream-input` socket.
        stream_input: StreamInputScript,
        /// Queue the answer to the next `POST .../stream`.
        speech: SpeechScript,
    },
}

impl ElevenLabsScript {
    /// A voice of the account besides the [`STOCK_VOICES`] (a clone, say).
    pub fn voice(mut self, voice_id: impl Into<String>) -> Self {
        self.voices.push(voice_id.into());
        self
    }
}

/// A running ElevenLabs fake; dropping it shuts it down and drops open sockets.
pub struct ElevenLabsFake {
    server: FakeServer,
    state: Arc<ElevenLabs>,
}

impl ElevenLabsFake {
    pub fn start(script: impl Into<ElevenLabsScript>) -> Self {
        let script = script.into();
        let router = Router::new()
            .route("/v1/text-to-speech/{voice_id}/stream-input", get(stream_input::handle))
            .route("/v1/text-to-speech/{voice_id}/stream", post(speech::handle))
            .fallback(not_found);
        let mut voices: Vec<String> = STOCK_VOICES.iter().map(|v| v.to_string()).collect();
        voices.extend(script.voices);
        let (server, state) = server::start(router, |shutdown| ElevenLabs {
            api_key: script.api_key,
            voices,
            stream_input: Queue::new(script.stream_input),
            speech: Queue::new(script.speech),
            shutdown,
            sessions: SessionLog::default(),
        });
        ElevenLabsFake { server, state }
    }

    /// `http://127.0.0.1:PORT`, in the SDKs' convention (no `/v1`).
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    /// `POST .../stream` requests, in arrival order.
    pub fn speech_requests(&self) -> Vec<RecordedRequest> {
        let mut requests = self.requests();
        requests.retain(|r| r.method == "POST" && r.path().ends_with("/stream"));
        requests
    }

    /// Every socket that was upgraded, live snapshots in connection order.
    pub fn sessions(&self) -> Vec<StreamInputSession> {
        self.state.sessions.snapshot()
    }

    /// Polls the sessions until `done` holds or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[StreamInputSession]) -> bool,
    ) -> anyhow::Result<Vec<StreamInputSession>> {
        self.state.sessions.wait_for(timeout, done).await
    }
}

pub(crate) struct ElevenLabs {
    api_key: Option<String>,
    voices: Vec<String>,
    stream_input: Queue<StreamInputScript>,
    speech: Queue<SpeechScript>,
    shutdown: Shutdown,
    sessions: SessionLog<StreamInputSession>,
}

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyProblem {
    Missing,
    Wrong,
}

impl ElevenLabs {
    /// The key check for a presented key (`None`: none presented).
    fn check_key(&self, presented: Option<&str>) -> Result<(), KeyProblem> {
        let Some(expected) = &self.api_key else {
            return Ok(());
        };
        match presented.map(str::trim) {
            None | Some("") => Err(KeyProblem::Missing),
            Some(key) if key == expected => Ok(()),
            Some(_) => Err(KeyProblem::Wrong),
        }
    }

    fn knows_voice(&self, voice_id: &str) -> bool {
        self.voices.iter().any(|v| v == voice_id)
    }
}

/// The `xi-api-key` header's value.
pub(crate) fn header_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("xi-api-key").and_then(|value| value.to_str().ok())
}

/// ElevenLabs' error body: `{"detail": {"status": "...", "message": "..."}}`.
pub fn detail_body(status: &str, message: &str) -> String {
    Obj::new().obj("detail", Obj::new().str("status", status).str("message", message)).finish()
}

pub(crate) fn key_problem_body(problem: KeyProblem) -> String {
    match problem {
        KeyProblem::Missing => detail_body(
            "needs_authorization",
            "Neither authorization header nor xi-api-key received, please provide one.",
        ),
        KeyProblem::Wrong => detail_body("invalid_api_key", "Invalid API key"),
    }
}

pub(crate) fn voice_not_found_body(voice_id: &str) -> String {
    detail_body("voice_not_found", &format!("A voice with the voice_id {voice_id} was not found."))
}

pub(crate) fn model_not_found_body(model_id: &str) -> String {
    detail_body("model_not_found", &format!("A model with model ID {model_id} does not exist."))
}

/// The body ElevenLabs sends with common statuses.
pub fn error_body(status: u16) -> String {
    match status {
        401 => key_problem_body(KeyProblem::Wrong),
        402 => detail_body("payment_required", "This feature requires a paid subscription."),
        429 => detail_body(
            "too_many_concurrent_requests",
            "Too many concurrent requests. Your current subscription is associated with a maximum of 2 \
             concurrent requests (running in parallel). Please upgrade your subscription or contact sales if \
             you want to increase this limit.",
        ),
        503 => detail_body(
            "system_busy",
            "We're experiencing a high volume of requests. Please try again in a few seconds.",
        ),
        _ => detail_body("internal_server_error", "An internal server error occurred."),
    }
}

/// The body of a 401 for an exhausted quota.
pub fn quota_exceeded_body(remaining: u32, required: u32) -> String {
    detail_body(
        "quota_exceeded",
        &format!(
            "This request exceeds your quota of 10000. You have {remaining} credits remaining, while {required} \
             credits are required for this request."
        ),
    )
}

/// The output format's PCM rate, or the 400 to send.
pub(crate) fn pcm_rate(output_format: Option<&str>) -> Result<u32, Reply> {
    let format = output_format.unwrap_or("mp3_44100_128");
    let Some(rate) = format.strip_prefix("pcm_") else {
        let message = format!("voiceblox fake: only pcm_* output formats are implemented, got {format}");
        return Err(Reply::json(400, detail_body("invalid_output_format", &message)));
    };
    rate.parse::<u32>().ok().filter(|rate| PCM_SAMPLE_RATES.contains(rate)).ok_or_else(|| {
        Reply::json(400, detail_body("invalid_output_format", &format!("Invalid output format {format}.")))
    })
}

/// FastAPI's answer to a path it has no route for.
async fn not_found() -> Response {
    Reply::json(404, r#"{"detail":"Not Found"}"#).into_response(&[])
}
