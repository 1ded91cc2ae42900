//! The socket's server messages, told apart by `type`: audio `chunk`s, `flush_done`, `done`,
//! `error`, and the timestamp messages this adapter does not ask for.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;

use crate::error::{from_message, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// What one text frame from the server says.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `{"type": "chunk", "data": "<base64>", "done": false, "status_code": 206, "step_time",
    /// "context_id", "flush_id"}`.
    Chunk {
        context_id: Option<String>,
        /// The decoded PCM (empty when `data` was empty or null).
        pcm: Vec<u8>,
        /// Which flush group the audio belongs to: 1 until the first flush, then 2...
        flush_id: Option<u32>,
        /// A chunk that says it is the context's last (older API versions sent no `done`
        /// message after it).
        done: bool,
    },
    /// `{"type": "flush_done", "flush_done": true, "flush_id": n, "context_id", ...}`: the audio of
    /// everything sent before the n-th flush has been sent.
    FlushDone { context_id: Option<String>, flush_id: u32 },
    /// `{"type": "done", "done": true, "status_code": 200, "context_id"}`: the context is complete.
    Done { context_id: Option<String> },
    /// `{"type": "error", "status_code", "message"|"error", ...}`.
    Error { context_id: Option<String>, error: ProviderError },
    /// Timestamps and message types newer than this adapter: nothing to act on.
    Other,
}

pub fn parse(text: &str) -> Result<Message, ProviderError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| protocol(format!("cartesia sent a message that is not JSON: {e}")))?;
    if !document.is_object() {
        return Err(protocol("cartesia sent a message that is not a JSON object"));
    }
    let context_id = document.get("context_id").and_then(Value::as_str).map(str::to_string);
    let flush_id = document.get("flush_id").and_then(Value::as_u64).and_then(|id| u32::try_from(id).ok());
    let done = document.get("done").and_then(Value::as_bool).unwrap_or(false);
    Ok(match document.get("type").and_then(Value::as_str) {
        Some("chunk") => {
            let pcm = match document.get("data") {
                Some(Value::String(encoded)) => BASE64
                    .decode(encoded)
                    .map_err(|e| protocol(format!("cartesia sent audio that is not base64: {e}")))?,
                None | Some(Value::Null) => Vec::new(),
                Some(_) => return Err(protocol("cartesia sent a `data` field that is not a string")),
            };
            Message::Chunk { context_id, pcm, flush_id, done }
        }
        Some("flush_done") => match flush_id {
            Some(flush_id) => Message::FlushDone { context_id, flush_id },
            None => return Err(protocol("cartesia sent a flush_done without a flush_id")),
        },
        Some("done") => Message::Done { context_id },
        Some("error") => Message::Error { context_id, error: from_message(&document) },
        // An error document without a type (seen from proxies and older versions).
        None if document.get("error").is_some() => Message::Error { context_id, error: from_message(&document) },
        _ => Message::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_flushes_and_done() {
        let chunk = r#"{"type":"chunk","data":"AAEC/w==","done":false,"status_code":206,"step_time":12.5,"context_id":"c","flush_id":1}"#;
        assert_eq!(
            parse(chunk).unwrap(),
            Message::Chunk { context_id: Some("c".into()), pcm: vec![0, 1, 2, 255], flush_id: Some(1), done: false }
        );
        assert_eq!(
            parse(r#"{"type":"chunk","data":"","done":true,"status_code":206}"#).unwrap(),
            Message::Chunk { context_id: None, pcm: Vec::new(), flush_id: None, done: true }
        );
        assert_eq!(
            parse(r#"{"type":"flush_done","done":false,"flush_done":true,"flush_id":2,"status_code":206,"context_id":"c"}"#)
                .unwrap(),
            Message::FlushDone { context_id: Some("c".into()), flush_id: 2 }
        );
        assert_eq!(
            parse(r#"{"type":"done","done":true,"status_code":200,"context_id":"c"}"#).unwrap(),
            Message::Done { context_id: Some("c".into()) }
        );
        let timestamps = r#"{"type":"timestamps","done":false,"status_code":206,"context_id":"c","word_timestamps":{"words":["Hi"],"start":[0.0],"end":[0.2]}}"#;
        assert_eq!(parse(timestamps).unwrap(), Message::Other);
        assert_eq!(parse(r#"{"type":"something_new"}"#).unwrap(), Message::Other);
    }

    #[test]
    fn errors_and_garbage() {
        assert!(matches!(
            parse(r#"{"type":"error","status_code":400,"message":"Invalid voice","done":true,"context_id":"c"}"#),
            Ok(Message::Error { error: ProviderError::InvalidRequest(_), .. })
        ));
        assert!(matches!(
            parse(r#"{"error":"Invalid API key","status_code":401}"#),
            Ok(Message::Error { error: ProviderError::Unauthorized(_), .. })
        ));
        assert!(matches!(parse("not json"), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse("[1]"), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse(r#"{"type":"chunk","data":"%%%"}"#), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse(r#"{"type":"chunk","data":5}"#), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse(r#"{"type":"flush_done"}"#), Err(ProviderError::Protocol(_))));
    }
}
