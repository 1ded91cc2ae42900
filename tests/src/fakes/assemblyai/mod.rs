//! Fake of AssemblyAI's Universal-Streaming API: live transcription over `GET /v3/ws`
//! (WebSocket), driven by the audio it receives.
//!
//! ```no_run
//! # async fn demo() {
//! use voiceblox_tests::fakes::assemblyai::{self, AssemblyAiScript, StreamScript};
//! let fake = assemblyai::start(
//!     AssemblyAiScript::new().api_key("aai-test").stream(StreamScript::transcript("Hello there.")),
//! );
//! // Point the adapter at fake.ws_base_url() (no `/v3/ws`: the SDKs add it themselves).
//! # }
//! ```
//!
//! As with the real service, the key travels as the bare `Authorization` header value, the
//! upgrade is accepted whatever the key, and a missing or wrong key gets `Begin`-less close 1008
//! ("Unauthorized Connection: ..."). Binary messages must carry 50–1000 ms of audio (else close
//! 3007); unknown or invalid text messages close with 3006.

mod handshake;
mod messages;
mod script;
mod session;
mod stream;
#[cfg(test)]
mod tests;
mod timeline;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;

pub use script::{Formatting, StreamScript};
pub use session::StreamSession;

use super::ids::Serial;
use super::provider::provider_fake;
use super::server::{self, FakeServer, Shutdown};
use super::sessions::SessionLog;
use super::wire::Queue;
use stream::Refusal;

pub const STREAM_PATH: &str = "/v3/ws";

/// The speech models the fake serves.
pub const ENGLISH: &str = "universal-streaming-english";
pub const MULTILINGUAL: &str = "universal-streaming-multilingual";

/// The close reasons for a refused key, in AssemblyAI's wording ("Unauthorized Connection: <why>").
pub const MISSING_KEY_REASON: &str = "Unauthorized Connection: Missing Authorization header";
pub const INVALID_KEY_REASON: &str = "Unauthorized Connection: Invalid API key";

/// Everything the fake will answer. With nothing queued, sessions hear nothing.
#[derive(Clone, Debug, Default)]
pub struct AssemblyAiScript {
    api_key: Option<String>,
    stream: Vec<StreamScript>,
}

provider_fake! {
    AssemblyAiScript => AssemblyAiFake,
    /// Require `Authorization: <key>`; anything else is closed with 1008.
    api_key,
    endpoints: {
        /// Queue the behaviour of the next `/v3/ws` session (the last one repeats).
        stream: StreamScript,
    },
}

/// A running AssemblyAI fake; dropping it shuts it down and drops open sessions.
pub struct AssemblyAiFake {
    server: FakeServer,
    state: Arc<AssemblyAi>,
}

impl AssemblyAiFake {
    pub fn start(script: impl Into<AssemblyAiScript>) -> Self {
        let script = script.into();
        let router = Router::new().route(STREAM_PATH, get(handshake::handle));
        let (server, state) = server::start(router, |shutdown| AssemblyAi {
            api_key: script.api_key,
            streams: Queue::new(script.stream),
            shutdown,
            sessions_started: Serial::default(),
            sessions: SessionLog::default(),
        });
        AssemblyAiFake { server, state }
    }

    /// `ws://127.0.0.1:PORT`, in the SDKs' convention (no `/v3/ws`).
    pub fn ws_base_url(&self) -> String {
        self.server.ws_origin()
    }

    /// Every `/v3/ws` session that was upgraded, live snapshots in connection order.
    pub fn sessions(&self) -> Vec<StreamSession> {
        self.state.sessions.snapshot()
    }

    /// Polls the sessions until `done` holds or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[StreamSession]) -> bool,
    ) -> anyhow::Result<Vec<StreamSession>> {
        self.state.sessions.wait_for(timeout, done).await
    }
}

pub(crate) struct AssemblyAi {
    api_key: Option<String>,
    streams: Queue<StreamScript>,
    shutdown: Shutdown,
    sessions_started: Serial,
    sessions: SessionLog<StreamSession>,
}

impl AssemblyAi {
    /// The key check the service performs first: the close to send instead of `Begin`, if any.
    fn refusal(&self, headers: &HeaderMap, query: &[(String, String)]) -> Option<Refusal> {
        let expected = self.api_key.as_ref()?;
        let presented = headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::trim);
        let token = query.iter().any(|(key, _)| key == "token");
        let reason = match presented {
            Some(key) if key == expected => return None,
            Some(_) => INVALID_KEY_REASON,
            // The fake issues no temporary tokens, so none is valid.
            None if token => INVALID_KEY_REASON,
            None => MISSING_KEY_REASON,
        };
        Some(Refusal { code: 1008, reason: reason.into() })
    }
}
