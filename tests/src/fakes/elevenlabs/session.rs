//! What a `stream-input` socket saw and sent, for assertions.

use serde_json::Value;

use crate::fakes::sessions::{parsed, query_param};
use crate::fakes::ws::socket_record;

/// The record of one socket, updated live while it runs.
#[derive(Clone, Debug, Default)]
pub struct StreamInputSession {
    pub voice_id: String,
    /// The handshake's query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The `xi-api-key` header of the handshake.
    pub header_key: Option<String>,
    pub sample_rate: u32,
    /// Every text frame from the client, verbatim.
    pub received: Vec<String>,
    /// `flush: true` frames received.
    pub flushes: usize,
    /// The text each generation spoke, in order.
    pub generations: Vec<String>,
    /// Every PCM byte sent (decoded), concatenated.
    pub audio: Vec<u8>,
    /// Every message the fake sent, verbatim, in order.
    pub sent: Vec<String>,
    /// The client's close frame, when it sent one.
    pub client_close: Option<(u16, String)>,
    /// The fake's close frame, when it sent one.
    pub server_close: Option<(u16, String)>,
    /// The session is over (either side ended it).
    pub ended: bool,
}

socket_record!(StreamInputSession, server_close);

impl StreamInputSession {
    /// The first value of a handshake query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name)
    }

    /// The frames received, parsed.
    pub fn received_json(&self) -> Vec<Value> {
        parsed(&self.received)
    }

    /// The messages sent, parsed.
    pub fn sent_json(&self) -> Vec<Value> {
        parsed(&self.sent)
    }
}
