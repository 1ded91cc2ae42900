//! `POST /tts/bytes`: the whole transcript in one request, answered with raw `pcm_s16le` at the
//! requested rate, streamed with chunked transfer as it is "synthesized".

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde_json::Value;

use super::{Cartesia, MODELS, check_version, error_body, header_key, model_not_found, pcm_rate, voice_not_found};
use crate::fakes::tone::tone_script;
use crate::fakes::wire::{Reply, insert_header, streamed_body};

tone_script! {
    /// How one `POST /tts/bytes` request is answered.
    BytesScript {
        error_body: super::status_body,
        provider: "Cartesia",
    }
}

impl BytesScript {
    /// The exact PCM bytes a complete answer to `transcript` carries at `sample_rate`.
    pub fn pcm_for(&self, transcript: &str, sample_rate: u32) -> Vec<u8> {
        self.tone.pcm_for(transcript, sample_rate)
    }
}

fn bad_request(code: &str, message: &str) -> Reply {
    Reply::json(400, error_body(code, "Bad request", message))
}

/// A validated request: what to say, at which rate.
struct BytesRequest {
    transcript: String,
    sample_rate: u32,
}

fn validate(api: &Cartesia, body: &[u8]) -> Result<BytesRequest, Reply> {
    let Ok(Value::Object(json)) = serde_json::from_slice::<Value>(body) else {
        return Err(bad_request("invalid_request", "The request body must be a JSON object."));
    };
    let Some(model) = json.get("model_id").and_then(Value::as_str) else {
        return Err(bad_request("invalid_request", "model_id is required."));
    };
    if !MODELS.contains(&model) {
        let (code, title, message) = model_not_found(model);
        return Err(Reply::json(400, error_body(code, title, &message)));
    }
    let transcript = match json.get("transcript").and_then(Value::as_str) {
        Some(transcript) if !transcript.trim().is_empty() => transcript.to_owned(),
        _ => return Err(bad_request("invalid_request", "transcript must be a non-empty string.")),
    };
    let voice = json.get("voice").and_then(|voice| voice.get("id").or(Some(voice))).and_then(Value::as_str);
    let Some(voice) = voice else {
        return Err(bad_request("invalid_request", "voice is required."));
    };
    if !api.knows_voice(voice) {
        let (code, title, message) = voice_not_found(voice);
        return Err(Reply::json(400, error_body(code, title, &message)));
    }
    let sample_rate =
        pcm_rate(json.get("output_format")).map_err(|message| bad_request("invalid_request", &message))?;
    Ok(BytesRequest { transcript, sample_rate })
}

pub(super) async fn handle(State(api): State<Arc<Cartesia>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(reply) = api.check_key(header_key(&headers)) {
        return reply.into_response(&[]);
    }
    let version = headers.get("cartesia-version").and_then(|v| v.to_str().ok());
    if let Err(reply) = check_version(version) {
        return reply.into_response(&[]);
    }
    let request = match validate(&api, &body) {
        Ok(request) => request,
        Err(reply) => return reply.into_response(&[]),
    };
    let script = api.bytes.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if let Some(response) = script.answer.failure(&[]) {
        return response;
    }
    let pieces = script.tone.pieces(&request.transcript, request.sample_rate);
    let mut response = Response::new(streamed_body(pieces, api.shutdown.clone()));
    insert_header(&mut response, "content-type", "application/octet-stream");
    response
}
