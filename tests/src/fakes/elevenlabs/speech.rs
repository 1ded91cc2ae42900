//! `POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>`: raw 16-bit PCM at the
//! requested rate, streamed with chunked transfer.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::{
    DEFAULT_MODEL, ElevenLabs, MODELS, header_key, key_problem_body, model_not_found_body, pcm_rate,
    voice_not_found_body,
};
use crate::fakes::server::decode_query;
use crate::fakes::tone::tone_script;
use crate::fakes::wire::{Reply, insert_header, streamed_body};

tone_script! {
    /// How one `POST .../stream` request is answered.
    SpeechScript {
        error_body: super::error_body,
        provider: "ElevenLabs",
    }
}

impl SpeechScript {
    /// The exact PCM bytes a complete answer to `text` carries at `sample_rate`.
    pub fn pcm_for(&self, text: &str, sample_rate: u32) -> Vec<u8> {
        self.tone.pcm_for(text, sample_rate)
    }

    /// A 401 for an exhausted quota, as ElevenLabs sends it.
    pub fn quota_exceeded() -> Self {
        Self::status(401, super::quota_exceeded_body(0, 91))
    }
}

/// FastAPI's validation error, the shape ElevenLabs' 422s have.
fn unprocessable(location: &str, message: &str, kind: &str, input: &Value) -> Reply {
    let body = json!({"detail": [{"type": kind, "loc": ["body", location], "msg": message, "input": input}]});
    Reply::json(422, body.to_string())
}

struct SpeechRequest {
    text: String,
    model: String,
}

fn validate(body: &[u8]) -> Result<SpeechRequest, Reply> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| unprocessable("", "JSON decode error", "json_invalid", &Value::Null))?;
    let text = match json.get("text") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => return Err(unprocessable("text", "Input should be a valid string", "string_type", other)),
        None => return Err(unprocessable("text", "Field required", "missing", &json)),
    };
    if text.trim().is_empty() {
        return Err(Reply::json(400, super::detail_body("empty_text", "Text must not be empty.")));
    }
    if let Some(settings) = json.get("voice_settings").filter(|s| !s.is_null()) {
        for key in ["stability", "similarity_boost", "style"] {
            if let Some(value) = settings.get(key).filter(|v| !v.is_null())
                && !value.as_f64().is_some_and(|v| (0.0..=1.0).contains(&v))
            {
                let message = "Input should be less than or equal to 1";
                return Err(unprocessable(key, message, "less_than_equal", value));
            }
        }
    }
    let model = json.get("model_id").and_then(Value::as_str).unwrap_or(DEFAULT_MODEL).to_owned();
    Ok(SpeechRequest { text, model })
}

pub(super) async fn handle(
    State(api): State<Arc<ElevenLabs>>,
    Path(voice_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Err(problem) = api.check_key(header_key(&headers)) {
        return Reply::json(401, key_problem_body(problem)).into_response(&[]);
    }
    let query = decode_query(query.as_deref().unwrap_or(""));
    let output_format = query.iter().find_map(|(k, v)| (k == "output_format").then_some(v.as_str()));
    let sample_rate = match pcm_rate(output_format) {
        Ok(rate) => rate,
        Err(reply) => return reply.into_response(&[]),
    };
    if !api.knows_voice(&voice_id) {
        return Reply::json(404, voice_not_found_body(&voice_id)).into_response(&[]);
    }
    let request = match validate(&body) {
        Ok(request) => request,
        Err(reply) => return reply.into_response(&[]),
    };
    if !MODELS.contains(&request.model.as_str()) {
        return Reply::json(400, model_not_found_body(&request.model)).into_response(&[]);
    }
    let script = api.speech.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if let Some(response) = script.answer.failure(&[]) {
        return response;
    }
    let pieces = script.tone.pieces(&request.text, sample_rate);
    let mut response = Response::new(streamed_body(pieces, api.shutdown.clone()));
    insert_header(&mut response, "content-type", "audio/pcm");
    insert_header(&mut response, "character-cost", &request.text.chars().count().to_string());
    insert_header(&mut response, "request-id", "fake-request-id");
    response
}
