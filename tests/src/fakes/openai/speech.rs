//! `POST /v1/audio/speech` with `response_format: "pcm"`: raw 24 kHz 16-bit little-endian mono,
//! streamed with chunked transfer.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::OpenAi;
use super::errors;
use crate::fakes::tone::tone_script;
use crate::fakes::wire::Reply;

/// The only rate OpenAI's `pcm` format comes in.
pub const SPEECH_SAMPLE_RATE: u32 = 24_000;

tone_script! {
    /// How one speech request is answered.
    SpeechScript { error_body: errors::error_body, provider: "OpenAI" }
}

impl SpeechScript {
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
    script.answer.wait(&api.shutdown).await;
    if let Some(response) = script.answer.failure(&common) {
        return response;
    }
    api.stream(script.tone.pieces(&input, SPEECH_SAMPLE_RATE), &common, "audio/pcm")
}
