//! What a socket saw and sent, for assertions.

use serde_json::Value;

use crate::fakes::sessions::{parsed, query_param};
use crate::fakes::ws::socket_record;

/// The record of one socket, updated live while it runs.
#[derive(Clone, Debug, Default)]
pub struct CartesiaSession {
    /// The handshake's query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The `X-API-Key` header of the handshake.
    pub header_key: Option<String>,
    /// The API version the handshake named (header or query).
    pub version: String,
    /// Every text frame from the client, verbatim.
    pub received: Vec<String>,
    /// `flush: true` inputs received.
    pub flushes: usize,
    /// Each generation, in order: the context, its `flush_id` and the text it spoke.
    pub generations: Vec<(String, u32, String)>,
    /// Contexts that ended with `done`, in order.
    pub done: Vec<String>,
    /// Every PCM byte sent (decoded), concatenated.
    pub audio: Vec<u8>,
    /// Every message the fake sent, verbatim, in order.
    pub sent: Vec<String>,
    /// The client's close frame, when it sent one.
    pub client_close: Option<(u16, String)>,
    /// The session is over (either side ended it).
    pub ended: bool,
}

socket_record!(CartesiaSession);

impl CartesiaSession {
    /// The first value of a handshake query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name)
    }

    /// The texts spoken, in order.
    pub fn spoken(&self) -> Vec<&str> {
        self.generations.iter().map(|(_, _, text)| text.as_str()).collect()
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
