//! Local fakes of the provider APIs the plugins talk to.
//!
//! - [`openai`]: `POST /v1/chat/completions` (SSE streaming), `POST /v1/audio/speech` (chunked
//!   PCM) and `POST /v1/audio/transcriptions` (multipart upload).
//! - [`deepgram`]: `GET /v1/listen` (streaming WebSocket) and `POST /v1/speak` (chunked PCM).
//! - [`anthropic`]: `POST /v1/messages` (SSE streaming, tool use).
//! - [`gemini`]: `POST /v1beta/models/{model}:streamGenerateContent` (SSE, function calling).
//! - [`elevenlabs`]: the `stream-input` WebSocket and `POST /v1/text-to-speech/{voice}/stream`.
//! - [`assemblyai`]: Universal-Streaming's `GET /v3/ws` (streaming WebSocket, turn-based).
//! - [`cartesia`]: the `/tts/websocket` socket (contexts, continuations, flushes) and `POST /tts/bytes`.
//! - [`mcp`]: a real MCP server over streamable HTTP (rmcp's server side) with deterministic tools.
//! - [`exa`]: Exa's `POST /search`.
//! - [`livekit`]: LiveKit's Twirp control plane (rooms, agent dispatch), JWT-authenticated.
//! - [`reflector`]: a hostile server that reflects requests back, for the sandbox's key tests.
//!
//! Every fake is started with a script describing how it should answer, binds `127.0.0.1:0` on
//! the current tokio runtime, records every request it receives ([`RecordedRequest`]) and stops
//! when its handle is dropped: in-flight streams are cut, WebSocket sessions are dropped.
//!
//! Scripts are queued per endpoint: the n-th request to an endpoint gets the n-th script, and
//! the last script answers every request after that. A retry test therefore queues the failure
//! first and the success second.

pub mod anthropic;
pub mod assemblyai;
pub mod cartesia;
pub mod deepgram;
pub mod elevenlabs;
pub mod exa;
pub mod gemini;
pub mod livekit;
pub mod mcp;
pub mod openai;
pub mod reflector;
pub mod webhook;

mod answer;
mod faults;
mod ids;
mod provider;
mod server;
mod sessions;
#[cfg(test)]
mod test_support;
mod tokens;
mod tone;
mod wire;
mod ws;

pub use server::RecordedRequest;
