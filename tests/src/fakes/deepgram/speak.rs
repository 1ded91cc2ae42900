//! `POST /v1/speak?encoding=linear16&container=none&sample_rate=N`: raw 16-bit PCM at the
//! requested rate, streamed with chunked transfer.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::Deepgram;
use crate::fakes::server::decode_query;
use crate::fakes::tone::tone_script;
use crate::fakes::wire::{Obj, Reply, insert_header, streamed_body};

/// The rates Deepgram offers for `linear16`; 24000 is its default.
pub const SPEAK_SAMPLE_RATES: [u32; 5] = [8_000, 16_000, 24_000, 32_000, 48_000];

tone_script! {
    /// How one `/v1/speak` request is answered.
    SpeakScript {
        error_body: |status| super::error_body(status, "fake-request-id"),
        provider: "Deepgram",
    }
}

impl SpeakScript {
    /// The exact PCM bytes a complete answer to `text` carries at `sample_rate`.
    pub fn pcm_for(&self, text: &str, sample_rate: u32) -> Vec<u8> {
        self.tone.pcm_for(text, sample_rate)
    }
}

struct SpeakRequest {
    text: String,
    model: String,
    sample_rate: u32,
}

/// The TTS endpoint reports problems as `{"category","message","details"}`.
fn invalid(category: &str, message: &str, request_id: &str) -> Reply {
    let body = Obj::new()
        .str("category", category)
        .str("message", message)
        .str("details", message)
        .str("request_id", request_id)
        .finish();
    Reply::json(400, body)
}

fn validate(query: &[(String, String)], body: &[u8], request_id: &str) -> Result<SpeakRequest, Reply> {
    let get = |name: &str| query.iter().find_map(|(k, v)| (k == name).then_some(v.as_str()));
    let bad_query = |message: &str| invalid("INVALID_QUERY_PARAMETER", message, request_id);
    match get("encoding") {
        Some("linear16") => {}
        other => {
            let got = other.unwrap_or("mp3 (the default)");
            return Err(bad_query(&format!("voiceblox fake: only encoding=linear16 is implemented, got {got}")));
        }
    }
    if get("container") != Some("none") {
        return Err(bad_query("voiceblox fake: only container=none (raw PCM) is implemented"));
    }
    let sample_rate = match get("sample_rate") {
        None => 24_000,
        Some(rate) => rate.parse::<u32>().ok().filter(|rate| SPEAK_SAMPLE_RATES.contains(rate)).ok_or_else(|| {
            bad_query(&format!(
                "Invalid sample_rate {rate} for encoding linear16. Supported: 8000, 16000, \
                     24000, 32000, 48000."
            ))
        })?,
    };
    let json: Value = serde_json::from_slice(body)
        .map_err(|_| invalid("INVALID_JSON", "Invalid JSON in request body.", request_id))?;
    let text = match json.get("text").and_then(Value::as_str) {
        Some(text) if !text.trim().is_empty() => text.to_owned(),
        _ => {
            return Err(invalid("INVALID_JSON", "Request body must contain a non-empty `text` field.", request_id));
        }
    };
    Ok(SpeakRequest { text, model: get("model").unwrap_or("aura-asteria-en").to_owned(), sample_rate })
}

pub(super) async fn handle(
    State(api): State<Arc<Deepgram>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let request_id = api.next_request_id();
    if let Some(response) = api.unauthorized(&headers, &request_id) {
        return response;
    }
    let id_header = [("dg-request-id".to_owned(), request_id.clone())];
    let query = decode_query(query.as_deref().unwrap_or(""));
    let request = match validate(&query, &body, &request_id) {
        Ok(request) => request,
        Err(reply) => return reply.into_response(&id_header),
    };
    let script = api.speak.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if let Some(response) = script.answer.failure(&id_header) {
        return response;
    }
    let pieces = script.tone.pieces(&request.text, request.sample_rate);
    let mut response = Response::new(streamed_body(pieces, api.shutdown.clone()));
    insert_header(&mut response, "content-type", "application/octet-stream");
    insert_header(&mut response, "dg-request-id", &request_id);
    insert_header(&mut response, "dg-model-name", &request.model);
    insert_header(&mut response, "dg-model-uuid", "c5ac7a4c-3a1e-4ee4-9f95-ad3b8b7ba66c");
    insert_header(&mut response, "dg-char-count", &request.text.chars().count().to_string());
    response
}
