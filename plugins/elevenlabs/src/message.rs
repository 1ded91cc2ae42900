//! The stream-input socket's server messages: audio chunks with their alignment, the final
//! message, and error documents.

use serde_json::Value;

use crate::error::{from_message, protocol};
use crate::flushes::spoken_chars;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use voiceblox_plugin_contract::types::ProviderError;

/// What one text frame from the server says.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// `{"audio": "<base64>", "isFinal": ..., "alignment": {"chars": [...], ...}, ...}`; the
    /// final message has `"audio": null` and `"isFinal": true`.
    Audio {
        /// The decoded PCM (empty when `audio` was null or absent).
        pcm: Vec<u8>,
        /// Non-whitespace characters of the input text this chunk speaks.
        spoken_chars: usize,
        is_final: bool,
    },
    /// `{"message", "error", "code"}`: the server is refusing and will close.
    Error(ProviderError),
}

pub fn parse(text: &str) -> Result<Message, ProviderError> {
    let document: Value =
        serde_json::from_str(text).map_err(|e| protocol(format!("elevenlabs sent a message that is not JSON: {e}")))?;
    if !document.is_object() {
        return Err(protocol("elevenlabs sent a message that is not a JSON object"));
    }
    let audio = document.get("audio");
    let is_final = document.get("isFinal").and_then(Value::as_bool).unwrap_or(false);
    let has_error = document.get("error").is_some_and(|e| !e.is_null());
    if has_error || (audio.is_none() && !is_final && document.get("message").is_some()) {
        return Ok(Message::Error(from_message(&document)));
    }
    let pcm = match audio {
        Some(Value::String(encoded)) => {
            BASE64.decode(encoded).map_err(|e| protocol(format!("elevenlabs sent audio that is not base64: {e}")))?
        }
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(protocol("elevenlabs sent an `audio` field that is not a string")),
    };
    // The alignment of the text as it was given (`normalizedAlignment` is of the text after
    // numbers and abbreviations were spelled out, so it cannot be compared with what we sent).
    let spoken = document
        .get("alignment")
        .and_then(|alignment| alignment.get("chars"))
        .and_then(Value::as_array)
        .map_or(0, |chars| chars.iter().filter_map(Value::as_str).map(spoken_chars).sum());
    Ok(Message::Audio { pcm, spoken_chars: spoken, is_final })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_alignment_and_final() {
        let chunk = r#"{"audio":"AAEC/w==","isFinal":false,"normalizedAlignment":{"chars":[" ","o","n","e"],"charStartTimesMs":[0,10,20,30],"charsDurationsMs":[10,10,10,10]},"alignment":{"chars":[" ","1","."],"charStartTimesMs":[0,10,30],"charsDurationsMs":[10,20,10]}}"#;
        assert_eq!(parse(chunk).unwrap(), Message::Audio { pcm: vec![0, 1, 2, 255], spoken_chars: 2, is_final: false });
        assert_eq!(
            parse(r#"{"audio":null,"isFinal":true,"normalizedAlignment":null,"alignment":null}"#).unwrap(),
            Message::Audio { pcm: Vec::new(), spoken_chars: 0, is_final: true }
        );
        assert_eq!(
            parse(r#"{"isFinal":true}"#).unwrap(),
            Message::Audio { pcm: Vec::new(), spoken_chars: 0, is_final: true }
        );
    }

    #[test]
    fn errors_and_garbage() {
        assert!(matches!(
            parse(r#"{"message":"Invalid API key","error":"invalid_api_key","code":1008}"#),
            Ok(Message::Error(ProviderError::Unauthorized(_)))
        ));
        assert!(matches!(parse("not json"), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse("[1]"), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse(r#"{"audio":"%%%"}"#), Err(ProviderError::Protocol(_))));
        assert!(matches!(parse(r#"{"audio":5}"#), Err(ProviderError::Protocol(_))));
    }
}
