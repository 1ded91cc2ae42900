//! Server messages on the `/v3/ws` socket: `Begin`, `Turn`, `SpeechStarted`, `Termination`,
//! `Error`, and the informational ones (`Warning`, `Heartbeat`, `SpeakerRevision`,
//! `LLMGatewayResponse`) this adapter does not use.

use serde::Deserialize;
use serde_json::Value;
use voiceblox_plugin_kit::error_body::truncate;

use crate::error::{from_message, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// What one text message means for the stream.
#[derive(Debug, PartialEq)]
pub enum Message {
    /// The session is open.
    Begin {
        id: String,
    },
    Turn(Turn),
    /// Voice activity started this many ms into the stream's audio.
    SpeechStarted(u32),
    /// The answer to `Terminate`: every result has been sent.
    Termination,
    Error(ProviderError),
    /// Nothing to act on (informational or future message types).
    Nothing,
}

/// One update of the current turn. `words` is the turn so far, the last ones possibly not final;
/// `transcript` holds only the final words.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Turn {
    pub turn_order: u32,
    #[serde(default)]
    pub turn_is_formatted: bool,
    #[serde(default)]
    pub end_of_turn: bool,
    #[serde(default)]
    pub transcript: String,
    #[serde(default)]
    pub words: Vec<TurnWord>,
    /// Only with `language_detection=true`, on final turns.
    #[serde(default)]
    pub language_code: Option<String>,
}

/// A word; times are milliseconds from the start of the stream's audio.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TurnWord {
    pub text: String,
    #[serde(default)]
    pub start: f64,
    #[serde(default)]
    pub end: f64,
    #[serde(default)]
    pub confidence: f64,
    #[serde(default)]
    pub word_is_final: bool,
    /// With `speaker_labels=true`: `"A"`, `"B"`... or `"UNKNOWN"`.
    #[serde(default)]
    pub speaker: Option<String>,
}

/// Reads one text message.
pub fn parse(text: &str) -> Result<Message, ProviderError> {
    let malformed = |e: serde_json::Error| protocol(format!("malformed message ({e}): {}", truncate(text, 200)));
    let document: Value = serde_json::from_str(text).map_err(malformed)?;
    let kind = document.get("type").and_then(Value::as_str).unwrap_or_default();
    Ok(match kind {
        "Begin" => Message::Begin { id: document.get("id").and_then(Value::as_str).unwrap_or_default().to_string() },
        "Turn" => Message::Turn(serde_json::from_value(document).map_err(malformed)?),
        "SpeechStarted" => Message::SpeechStarted(ms(document.get("timestamp").and_then(Value::as_f64).unwrap_or(0.0))),
        "Termination" => Message::Termination,
        "Error" => Message::Error(from_message(&document)),
        // The SDKs read a bare `{"error": ...}` as an error too.
        "" if document.get("error").is_some() => Message::Error(from_message(&document)),
        _ => Message::Nothing,
    })
}

/// Milliseconds as the contract's u32 (`as` saturates: negative and NaN → 0).
pub fn ms(value: f64) -> u32 {
    value.round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_messages() {
        assert_eq!(
            parse(r#"{"type":"Begin","id":"de5d9927-73a6-4be8-b52d-b4c07be37e6b","expires_at":1759796682}"#),
            Ok(Message::Begin { id: "de5d9927-73a6-4be8-b52d-b4c07be37e6b".into() })
        );
        assert_eq!(parse(r#"{"type":"SpeechStarted","timestamp":1920}"#), Ok(Message::SpeechStarted(1920)));
        assert_eq!(
            parse(r#"{"type":"Termination","audio_duration_seconds":4,"session_duration_seconds":5}"#),
            Ok(Message::Termination)
        );
        for ignored in [
            r#"{"type":"Warning","warning_code":1,"warning":"x"}"#,
            r#"{"type":"Heartbeat","total_audio_received_ms":1,"total_duration_ms":1,"realtime_factor":1.0}"#,
            r#"{"type":"SomethingNew"}"#,
        ] {
            assert_eq!(parse(ignored), Ok(Message::Nothing), "{ignored}");
        }
    }

    #[test]
    fn turns() {
        let text = r#"{"turn_order":0,"turn_is_formatted":false,"end_of_turn":false,"transcript":"hi","end_of_turn_confidence":0.01,"words":[{"start":1920,"end":2000,"text":"hi","confidence":0.87,"word_is_final":true},{"start":2800,"end":2880,"text":"my","confidence":0.81,"word_is_final":false}],"utterance":"","type":"Turn"}"#;
        let Ok(Message::Turn(turn)) = parse(text) else { panic!() };
        assert_eq!(turn.turn_order, 0);
        assert!(!turn.end_of_turn);
        assert_eq!(turn.transcript, "hi");
        assert_eq!(turn.words.len(), 2);
        assert_eq!(turn.words[1].start, 2800.0);
        assert!(!turn.words[1].word_is_final);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse(r#"{"type":"Error","error_code":3006,"error":"Invalid JSON: x"}"#),
            Ok(Message::Error(ProviderError::InvalidRequest(_)))
        ));
        assert!(matches!(parse(r#"{"error":"Not authorized"}"#), Ok(Message::Error(ProviderError::Unauthorized(_)))));
        let Err(ProviderError::Protocol(message)) = parse(r#"{"type":"Turn","turn_order":"x"}"#) else { panic!() };
        assert!(message.starts_with("malformed message (invalid type: string \"x\""), "{message}");
        assert!(matches!(parse("{\"type\":"), Err(ProviderError::Protocol(_))));
    }
}
