//! What a `/v1/listen` session saw and sent, for assertions.

use anyhow::Result;
use serde_json::Value;

use crate::audio::{ms_for_samples, s16le_to_samples};
use crate::fakes::sessions::{of_type, parsed, query_param};
use crate::fakes::ws::socket_record;

/// The record of one WebSocket session, updated live while it runs.
#[derive(Clone, Debug, Default)]
pub struct ListenSession {
    /// The handshake's query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    pub sample_rate: u32,
    /// The `request_id` this session reports (also in the `dg-request-id` header).
    pub request_id: String,
    /// Every audio byte received, concatenated.
    pub audio: Vec<u8>,
    pub binary_frames: usize,
    pub keep_alives: usize,
    pub finalizes: usize,
    pub close_streams: usize,
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

socket_record!(ListenSession, server_close, dropped);

impl ListenSession {
    pub(crate) fn new(query: Vec<(String, String)>, sample_rate: u32, request_id: String) -> Self {
        ListenSession { query, sample_rate, request_id, ..ListenSession::default() }
    }

    /// The first value of a handshake query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        query_param(&self.query, name)
    }

    /// Every value of a repeated query parameter (`keyterm`, `keywords`...).
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query.iter().filter_map(|(key, value)| (key == name).then_some(value.as_str())).collect()
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

    /// The sent messages of one `type` (`Results`, `Metadata`, `SpeechStarted`, `UtteranceEnd`).
    pub fn sent_of_type(&self, kind: &str) -> Vec<Value> {
        of_type(&self.sent, kind)
    }

    /// Transcripts of the final `Results` sent, empty ones skipped.
    pub fn final_transcripts(&self) -> Vec<String> {
        self.sent_of_type("Results")
            .into_iter()
            .filter(|message| message["is_final"] == true)
            .filter_map(|message| message["channel"]["alternatives"][0]["transcript"].as_str().map(str::to_owned))
            .filter(|transcript| !transcript.is_empty())
            .collect()
    }
}
