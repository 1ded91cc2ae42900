//! Helpers for replaying recorded provider traffic through the state machines.

use std::path::Path;

use serde_json::Value;

use crate::exports::voiceblox::plugin::stt;
use crate::voiceblox::plugin::types::{Action, Header, HttpRequest, HttpResponse, Input, ProviderConfig};

/// A provider config as the host passes it: key placeholder, no prefix on the model.
pub fn config(model: &str, base_url: Option<&str>, options: Value) -> ProviderConfig {
    ProviderConfig {
        provider: "deepgram".into(),
        model: model.into(),
        api_key: Some("{{api-key}}".into()),
        base_url: base_url.map(str::to_string),
        language: None,
        options: options.to_string(),
    }
}

/// A live transcription request at 16 kHz with interim results.
pub fn stt_request(
    keyterms: &[&str],
    detect_language: bool,
    diarization: bool,
    endpointing_ms: Option<u32>,
    options: Value,
) -> stt::Request {
    stt::Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language,
        diarization,
        keyterms: keyterms.iter().map(|k| k.to_string()).collect(),
        endpointing_ms,
        options: options.to_string(),
    }
}

/// A file under `tests/recordings/`.
pub fn recording(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A recording of WebSocket text messages, one JSON document per line.
pub fn messages(name: &str) -> Vec<String> {
    String::from_utf8(recording(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// The chunk sizes every HTTP body is replayed with: whole, byte by byte, and primes that cut
/// samples at different places.
pub const CHUNK_SIZES: &[usize] = &[usize::MAX, 1, 2, 3, 7, 13, 61, 257];

/// Feeds one response (head, body in `chunk`-byte pieces, end) and collects the actions.
pub fn respond(
    mut handle: impl FnMut(Input) -> Vec<Action>,
    id: u32,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    chunk: usize,
) -> Vec<Action> {
    let head = HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(name, value)| Header { name: name.to_string(), value: value.to_string() })
            .collect(),
    };
    let mut out = handle(Input::HttpResponse((id, head)));
    for piece in body.chunks(chunk.clamp(1, body.len().max(1))) {
        out.extend(handle(Input::HttpBody((id, piece.to_vec()))));
    }
    out.extend(handle(Input::HttpEnd(id)));
    out
}

/// The single HTTP request among `actions`, with its id.
pub fn only_request(actions: &[Action]) -> (u32, HttpRequest) {
    let requests: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::HttpRequest((id, request)) => Some((*id, request.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(requests.len(), 1, "expected one request in {actions:?}");
    requests.into_iter().next().unwrap_or_else(|| unreachable!())
}
