//! `POST /v1/audio/speech` with `response_format: "pcm"`: raw 24 kHz 16-bit little-endian mono,
//! streamed with chunked transfer.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::OpenAi;
use super::errors;
use crate::fakes::tone::{AudioOutcome, ToneStream};
use crate::fakes::wire::{Reply, insert_header, streamed_body};

/// The only rate OpenAI's `pcm` format comes in.
pub const SPEECH_SAMPLE_RATE: u32 = 24_000;

/// How one speech request is answered.
#[derive(Clone, Debug)]
pub struct SpeechScript {
    pub(super) error: Option<Reply>,
    pub(super) tone: ToneStream,
    pub(super) response_delay: Duration,
}

impl Default for SpeechScript {
    fn default() -> Self {
        SpeechScript::tone()
    }
}

impl SpeechScript {
    /// A deterministic tone whose length is proportional to the input text (40 ms per
    /// character, 440 Hz), sent in 4801-byte chunks so boundaries fall mid-sample.
    pub fn tone() -> Self {
        SpeechScript { error: None, tone: ToneStream::default(), response_delay: Duration::ZERO }
    }

    /// Answer with `status` and this exact body.
    pub fn status(status: u16, body: impl Into<String>) -> Self {
        let mut script = SpeechScript::tone();
        script.error = Some(Reply::json(status, body));
        script
    }

    /// Answer with `status` and OpenAI's body for it.
    pub fn error(status: u16) -> Self {
        SpeechScript::status(status, errors::error_body(status))
    }

    pub fn retry_after(self, seconds: u64) -> Self {
        self.header("retry-after", &seconds.to_string())
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Some(reply) = &mut self.error {
            reply.set_header(name, value.into());
        }
        self
    }

    pub fn ms_per_char(mut self, ms: u64) -> Self {
        self.tone.ms_per_char = ms;
        self
    }

    pub fn frequency(mut self, hz: f64) -> Self {
        self.tone.frequency = hz;
        self
    }

    /// Bytes per HTTP chunk (default 4801; odd on purpose).
    pub fn chunk_bytes(mut self, bytes: usize) -> Self {
        self.tone.chunk_bytes = bytes.max(1);
        self
    }

    /// Pause between chunks (default 5 ms).
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.tone.chunk_delay = delay;
        self
    }

    /// Pause before the response head.
    pub fn response_delay(mut self, delay: Duration) -> Self {
        self.response_delay = delay;
        self
    }

    /// Send the head, then nothing, holding the connection open.
    pub fn hang(self) -> Self {
        self.hang_after(0)
    }

    /// Send `chunks` chunks of audio, then hold the connection open without finishing.
    pub fn hang_after(mut self, chunks: usize) -> Self {
        self.tone.outcome = AudioOutcome::HangAfter(chunks);
        self
    }

    /// Send `chunks` chunks, then abort the connection.
    pub fn cut_after(mut self, chunks: usize) -> Self {
        self.tone.outcome = AudioOutcome::CutAfter(chunks);
        self
    }

    /// The exact PCM bytes a complete answer to `input` carries.
    pub fn pcm_for(&self, input: &str) -> Vec<u8> {
        self.tone.pcm_for(input, SPEECH_SAMPLE_RATE)
    }
}

/// Checks the body as OpenAI does; returns the input text or the 400 body.
fn validate(body: &[u8]) -> Result<String, String> {
    let json: Value = serde_json::from_slice(body).map_err(|_| errors::unparseable_json())?;
    let text_field = |name: &str| json.get(name).and_then(Value::as_str);
    if text_field("model").is_none_or(str::is_empty) {
        return Err(errors::missing_parameter("model"));
    }
    let Some(input) = text_field("input") else {
        return Err(errors::missing_parameter("input"));
    };
    let length = input.chars().count();
    if length > 4096 {
        return Err(errors::error_json(
            &format!(
                "Invalid 'input': string too long. Expected a string with maximum length 4096, \
                 but got a string with length {length} instead."
            ),
            "invalid_request_error",
            Some("input"),
            Some("string_above_max_length"),
        ));
    }
    match json.get("voice") {
        Some(Value::String(voice)) if !voice.is_empty() => {}
        Some(Value::Object(voice)) if voice.get("id").is_some_and(Value::is_string) => {}
        Some(_) => {
            return Err(errors::invalid_value(
                "voice",
                "Invalid value for 'voice': expected a voice name or an object with an 'id'.",
            ));
        }
        None => return Err(errors::missing_parameter("voice")),
    }
    let format = text_field("response_format").unwrap_or("mp3");
    if format != "pcm" {
        return Err(errors::invalid_value(
            "response_format",
            &format!("voiceblox fake: only response_format \"pcm\" is implemented, got \"{format}\"."),
        ));
    }
    if let Some(speed) = json.get("speed").and_then(Value::as_f64)
        && !(0.25..=4.0).contains(&speed)
    {
        return Err(errors::error_json(
            &format!("Invalid 'speed': {speed} is not between 0.25 and 4.0."),
            "invalid_request_error",
            Some("speed"),
            Some("invalid_value"),
        ));
    }
    if text_field("stream_format").is_some_and(|format| format != "audio") {
        return Err(errors::invalid_value(
            "stream_format",
            "voiceblox fake: only stream_format \"audio\" is implemented.",
        ));
    }
    Ok(input.to_owned())
}

pub(super) async fn handle(State(api): State<Arc<OpenAi>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_number = api.next_request();
    let common = api.common_headers(request_number);
    if let Some(response) = api.unauthorized(&headers, request_number) {
        return response;
    }
    let input = match validate(&body) {
        Ok(input) => input,
        Err(error_body) => return Reply::json(400, error_body).into_response(&common),
    };
    let script = api.speech.next().unwrap_or_default();
    api.pause(script.response_delay).await;
    if let Some(reply) = script.error {
        return reply.into_response(&common);
    }
    let pieces = script.tone.pieces(&input, SPEECH_SAMPLE_RATE);
    let mut response = Response::new(streamed_body(pieces, api.shutdown.clone()));
    for (name, value) in &common {
        insert_header(&mut response, name, value);
    }
    insert_header(&mut response, "content-type", "audio/pcm");
    response
}
