//! What a `/v3/ws` session saw and sent, for assertions.

use anyhow::Result;
use serde_json::Value;

use crate::audio::{ms_for_samples, s16le_to_samples};
use crate::fakes::sessions::{of_type, parsed, query_param};
use crate::fakes::ws::socket_record;

/// The record of one WebSocket session, updated live while it runs.
#[derive(Clone, Debug, Default)]
pub struct StreamSession {
    /// The handshake's query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    pub sample_rate: u32,
    /// The session id sent in `Begin`.
    pub id: String,
    /// Every audio byte received, concatenated.
    pub audio: Vec<u8>,
    /// Milliseconds of audio in each binary message, in order.
    pub chunk_ms: Vec<f64>,
    pub force_endpoints: usize,
    pub terminates: usize,
    pub keep_alives: usize,
    /// Every text frame from the client, verbatim (control messages included).
    pub text_messages: Vec<String>,
    /// Every JSON message the fake sent, verbatim, in order.
    pub sent: Vec<String>,
    /// The client's close frame, when it sent one.
    pub client_close: Option<(u16, String)>,
    /// The fake's close frame, when it sent one.
    pub server_close: Option<(u16, String)>,
    /// The fake dropped the TCP connection on purpose.
    pub dropped: bool,
    /// The session is over (either side ended it).
    pub ended: bool,
}

socket_record!(StreamSession, server_close, dropped);

impl StreamSession {
    pub(crate) fn new(query: Vec<(String, String)>, sample_rate: u32, id: String) -> Self {
        StreamSession { query, sample_rate, id, ..StreamSession::default() }
    }

    /// The first value of a handshake query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name)
    }

    /// The audio received, as samples.
    pub fn samples(&self) -> Result<Vec<i16>> {
        s16le_to_samples(&self.audio)
    }

    /// Milliseconds of audio received.
    pub fn audio_ms(&self) -> f64 {
        ms_for_samples(self.sample_rate, self.audio.len() / 2)
    }

    /// The messages sent, parsed.
    pub fn sent_json(&self) -> Vec<Value> {
        parsed(&self.sent)
    }

    /// The sent messages of one `type` (`Begin`, `Turn`, `SpeechStarted`, `Termination`).
    pub fn sent_of_type(&self, kind: &str) -> Vec<Value> {
        of_type(&self.sent, kind)
    }

    /// Transcripts of the `end_of_turn` updates sent, in order (a trailing formatted copy counts
    /// as its own entry).
    pub fn turn_ends(&self) -> Vec<String> {
        self.sent_of_type("Turn")
            .into_iter()
            .filter(|turn| turn["end_of_turn"] == true)
            .filter_map(|turn| turn["transcript"].as_str().map(str::to_owned))
            .collect()
    }
}
