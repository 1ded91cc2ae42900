//! Fake of the Cartesia text-to-speech API: the `/tts/websocket` socket (contexts,
//! continuations, flushes) and `POST /tts/bytes`, both with raw `pcm_s16le` output.
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::cartesia::{self, CartesiaScript};
//! let fake = cartesia::start(CartesiaScript::new().api_key("sk_car_test"));
//! // Point the adapter at fake.base_url() (paths are `/tts/...` directly below it).
//! # }
//! ```
//!
//! As with the real service every request names an API version (`Cartesia-Version` header, or
//! `cartesia_version` on the socket's query) and the key travels as `X-API-Key` (or `api_key`
//! on the socket's query). A wrong or missing key is refused with HTTP 401 and Cartesia's error
//! document, on the socket's handshake as on HTTP; unknown voices and models are refused with
//! 400 (on the socket: an `error` message for the context).
//!
//! "Speech" is a tone whose length follows the text (see [`crate::fakes::tone`]). On the socket
//! each context buffers its transcripts (joined verbatim) and speaks them on `flush: true` (then
//! `flush_done` with the flush's `flush_id`, which starts at 1), on the last input
//! (`continue: false`, then `done`), and, as Cartesia's managed buffering does, once
//! `max_buffer_delay_ms` (default 3000) has passed since the first unspoken input.

mod session;
mod socket;
mod speech;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

pub use session::CartesiaSession;
pub use socket::SocketScript;
pub use speech::BytesScript;

use super::provider::provider_fake;
use super::server::{self, FakeServer, RecordedRequest, Shutdown};
use super::sessions::SessionLog;
use super::wire::{Obj, Queue, Reply};

/// API versions the service accepts.
pub const API_VERSIONS: [&str; 5] = ["2024-06-10", "2024-11-13", "2025-04-16", "2026-03-01", "2026-08-14"];

/// The rates raw output supports.
pub const PCM_SAMPLE_RATES: [u32; 6] = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

/// Stock voices every account has (Katie, Barbershop Man, Tessa).
pub const STOCK_VOICES: [&str; 3] = [
    "f786b574-daa5-4673-aa0c-cbe3e8534c02",
    "a0e99841-438c-4a64-b679-ae501e7d6091",
    "6ccbfb76-1fc6-48f7-b71d-91ac6298247b",
];

/// Text-to-speech models.
pub const MODELS: [&str; 9] = [
    "sonic-3.5",
    "sonic-3",
    "sonic-latest",
    "sonic-3-2025-10-27",
    "sonic-2",
    "sonic-2-2025-03-07",
    "sonic-turbo",
    "sonic",
    "sonic-multilingual",
];

/// Everything the Cartesia fake will answer. With nothing queued, sockets and requests speak
/// the default tone.
#[derive(Clone, Debug, Default)]
pub struct CartesiaScript {
    api_key: Option<String>,
    voices: Vec<String>,
    socket: Vec<SocketScript>,
    bytes: Vec<BytesScript>,
}

provider_fake! {
    CartesiaScript => CartesiaFake,
    /// Require this key (`X-API-Key`, or `api_key` on the socket's query).
    api_key,
    endpoints: {
        /// Queue the behaviour of the next socket.
        socket: SocketScript,
        /// Queue the answer to the next `POST /tts/bytes`.
        bytes: BytesScript,
    },
}

impl CartesiaScript {
    /// A voice of the account besides the [`STOCK_VOICES`] (a clone, say).
    pub fn voice(mut self, voice_id: impl Into<String>) -> Self {
        self.voices.push(voice_id.into());
        self
    }
}

/// A running Cartesia fake; dropping it shuts it down and drops open sockets.
pub struct CartesiaFake {
    server: FakeServer,
    state: Arc<Cartesia>,
}

impl CartesiaFake {
    pub fn start(script: impl Into<CartesiaScript>) -> Self {
        let script = script.into();
        let router = Router::new()
            .route("/tts/websocket", get(socket::handle))
            .route("/tts/bytes", post(speech::handle))
            .fallback(not_found);
        let mut voices: Vec<String> = STOCK_VOICES.iter().map(|v| v.to_string()).collect();
        voices.extend(script.voices);
        let (server, state) = server::start(router, |shutdown| Cartesia {
            api_key: script.api_key,
            voices,
            sockets: Queue::new(script.socket),
            bytes: Queue::new(script.bytes),
            shutdown,
            sessions: SessionLog::default(),
        });
        CartesiaFake { server, state }
    }

    /// `http://127.0.0.1:PORT`, in the SDKs' convention (paths are `/tts/...` below it).
    pub fn base_url(&self) -> String {
        self.server.http_origin()
    }

    /// `POST /tts/bytes` requests, in arrival order.
    pub fn bytes_requests(&self) -> Vec<RecordedRequest> {
        self.requests_to("/tts/bytes")
    }

    /// Every socket that was upgraded, live snapshots in connection order.
    pub fn sessions(&self) -> Vec<CartesiaSession> {
        self.state.sessions.snapshot()
    }

    /// Polls the sessions until `done` holds or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[CartesiaSession]) -> bool,
    ) -> anyhow::Result<Vec<CartesiaSession>> {
        self.state.sessions.wait_for(timeout, done).await
    }
}

pub(crate) struct Cartesia {
    api_key: Option<String>,
    voices: Vec<String>,
    sockets: Queue<SocketScript>,
    bytes: Queue<BytesScript>,
    shutdown: Shutdown,
    sessions: SessionLog<CartesiaSession>,
}

impl Cartesia {
    /// The key check for a presented key (`None`: none presented); the 401 to send otherwise.
    fn check_key(&self, presented: Option<&str>) -> Result<(), Reply> {
        let Some(expected) = &self.api_key else {
            return Ok(());
        };
        match presented.map(str::trim) {
            Some(key) if key == expected => Ok(()),
            None | Some("") => Err(Reply::json(
                401,
                error_body(
                    "missing_api_key",
                    "Unauthorized",
                    "No API key was provided. Pass it in the X-API-Key header.",
                ),
            )),
            Some(_) => Err(Reply::json(401, invalid_key_body())),
        }
    }

    fn knows_voice(&self, voice_id: &str) -> bool {
        self.voices.iter().any(|v| v == voice_id)
    }
}

/// The version a request names, or the 400 to send.
pub(crate) fn check_version(version: Option<&str>) -> Result<String, Reply> {
    match version.map(str::trim) {
        Some(version) if API_VERSIONS.contains(&version) => Ok(version.to_owned()),
        None | Some("") => Err(Reply::json(
            400,
            error_body("missing_version", "Bad request", "The Cartesia-Version header is required."),
        )),
        Some(other) => Err(Reply::json(
            400,
            error_body(
                "invalid_version",
                "Bad request",
                &format!("Invalid Cartesia-Version {other}. Supported versions: {}.", API_VERSIONS.join(", ")),
            ),
        )),
    }
}

/// The `X-API-Key` header's value.
pub(crate) fn header_key(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-api-key").and_then(|value| value.to_str().ok())
}

/// Cartesia's error document: `{"error_code", "title", "message", "request_id"}`.
pub fn error_body(code: &str, title: &str, message: &str) -> String {
    Obj::new()
        .str("error_code", code)
        .str("title", title)
        .str("message", message)
        .str("request_id", "req_fake")
        .finish()
}

pub(crate) fn invalid_key_body() -> String {
    error_body("invalid_api_key", "Invalid API key", "The API key you provided is invalid.")
}

pub(crate) fn voice_not_found(voice_id: &str) -> (&'static str, &'static str, String) {
    ("voice_not_found", "Voice not found", format!("Voice with id '{voice_id}' was not found."))
}

pub(crate) fn model_not_found(model_id: &str) -> (&'static str, &'static str, String) {
    ("model_not_found", "Model not found", format!("Model '{model_id}' does not exist."))
}

/// The body Cartesia sends with common statuses.
pub fn status_body(status: u16) -> String {
    match status {
        401 => invalid_key_body(),
        402 => error_body(
            "insufficient_credits",
            "Insufficient credits",
            "You have run out of credits. Upgrade your plan or wait for your credits to renew.",
        ),
        429 => error_body(
            "concurrency_limit_exceeded",
            "Too many requests",
            "You have exceeded the concurrency limit of your plan.",
        ),
        503 => error_body("service_unavailable", "Service unavailable", "The service is temporarily unavailable."),
        _ => error_body("internal_error", "Internal server error", "An internal error occurred."),
    }
}

/// The raw `pcm_s16le` rate of an output format, or the problem with it.
pub(crate) fn pcm_rate(format: Option<&serde_json::Value>) -> Result<u32, String> {
    let Some(format) = format else {
        return Err("output_format is required.".into());
    };
    let field = |key: &str| format.get(key).and_then(serde_json::Value::as_str);
    if field("container") != Some("raw") || field("encoding") != Some("pcm_s16le") {
        return Err(format!("voiceblox fake: only raw pcm_s16le output is implemented, got {format}"));
    }
    let rate = format.get("sample_rate").and_then(serde_json::Value::as_u64);
    rate.and_then(|rate| u32::try_from(rate).ok())
        .filter(|rate| PCM_SAMPLE_RATES.contains(rate))
        .ok_or_else(|| format!("Invalid sample_rate {}.", rate.map_or("(none)".into(), |r| r.to_string())))
}

async fn not_found() -> Response {
    Reply::json(404, error_body("not_found", "Not found", "The requested resource was not found.")).into_response(&[])
}
