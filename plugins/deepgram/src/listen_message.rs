//! Server messages on the live transcription socket: `Results`, `SpeechStarted`,
//! `UtteranceEnd`, `Metadata` and error documents.

use serde::Deserialize;
use serde_json::Value;
use voiceblox_plugin_kit::error_body::truncate;

use crate::error::{from_message, protocol};
use voiceblox_plugin_contract::types::{ProviderError, SttEvent, Transcript, Word};

/// What one text message means for the stream.
#[derive(Debug, PartialEq)]
pub enum Message {
    Event(SttEvent),
    /// The summary Deepgram sends after `CloseStream`, before closing.
    Metadata,
    /// The server reported an error.
    Error(ProviderError),
    /// Nothing to report (an empty interim, an unknown or future message type).
    Nothing,
}

#[derive(Debug, Deserialize)]
struct Results {
    channel: Channel,
    #[serde(default)]
    is_final: bool,
    #[serde(default)]
    speech_final: bool,
    #[serde(default)]
    from_finalize: bool,
    #[serde(default)]
    start: f64,
    #[serde(default)]
    duration: f64,
}

#[derive(Debug, Deserialize)]
struct Channel {
    #[serde(default)]
    alternatives: Vec<Alternative>,
    #[serde(default)]
    detected_language: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Alternative {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    confidence: f64,
    #[serde(default)]
    words: Vec<WireWord>,
    #[serde(default)]
    languages: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct WireWord {
    word: String,
    #[serde(default)]
    punctuated_word: Option<String>,
    start: f64,
    end: f64,
    #[serde(default)]
    confidence: f64,
    #[serde(default)]
    speaker: Option<u32>,
    #[serde(default)]
    language: Option<String>,
}

/// Reads one text message. `fallback_language` is reported when Deepgram names none (it only
/// does for multilingual streams).
pub fn parse(text: &str, fallback_language: Option<&str>) -> Result<Message, ProviderError> {
    let malformed = |e: serde_json::Error| protocol(format!("malformed message ({e}): {}", truncate(text, 200)));
    let document: Value = serde_json::from_str(text).map_err(malformed)?;
    let kind = document.get("type").and_then(Value::as_str).unwrap_or_default();
    Ok(match kind {
        "Results" => {
            let results: Results = serde_json::from_value(document).map_err(malformed)?;
            results_message(results, fallback_language)
        }
        "SpeechStarted" => Message::Event(SttEvent::SpeechStarted(seconds_field(&document, "timestamp"))),
        "UtteranceEnd" => Message::Event(SttEvent::SpeechEnded(seconds_field(&document, "last_word_end"))),
        "Metadata" => Message::Metadata,
        "Error" => Message::Error(from_message(&document)),
        _ if document.get("error_code").is_some() || document.get("err_code").is_some() => {
            Message::Error(from_message(&document))
        }
        _ => Message::Nothing,
    })
}

fn results_message(results: Results, fallback_language: Option<&str>) -> Message {
    let Some(alternative) = results.channel.alternatives.into_iter().next() else {
        return Message::Nothing;
    };
    let text = alternative.transcript.trim().to_string();
    // Empty finals matter only when they close an utterance (endpointing fired, or they answer
    // our Finalize); otherwise they are silence being confirmed.
    if text.is_empty() && !(results.is_final && (results.speech_final || results.from_finalize)) {
        return Message::Nothing;
    }
    let language = alternative
        .languages
        .as_ref()
        .and_then(|l| l.first().cloned())
        .or(results.channel.detected_language)
        .or_else(|| alternative.words.iter().find_map(|w| w.language.clone()))
        .or_else(|| fallback_language.map(str::to_string));
    let words = alternative
        .words
        .into_iter()
        .map(|w| Word {
            text: w.punctuated_word.unwrap_or(w.word),
            start_ms: seconds_to_ms(w.start),
            end_ms: seconds_to_ms(w.end),
            confidence: w.confidence as f32,
            speaker: w.speaker,
        })
        .collect();
    let transcript = Transcript {
        text,
        words,
        confidence: alternative.confidence as f32,
        language,
        start_ms: seconds_to_ms(results.start),
        end_ms: seconds_to_ms(results.start + results.duration),
        speech_final: results.speech_final,
    };
    Message::Event(if results.is_final { SttEvent::Final(transcript) } else { SttEvent::Interim(transcript) })
}

fn seconds_field(document: &Value, key: &str) -> u32 {
    seconds_to_ms(document.get(key).and_then(Value::as_f64).unwrap_or(0.0))
}

/// Deepgram times are seconds from the start of the stream's audio.
fn seconds_to_ms(seconds: f64) -> u32 {
    // `as` saturates: negative and NaN → 0, huge → u32::MAX.
    (seconds * 1000.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_started_and_utterance_end() {
        assert_eq!(
            parse(r#"{"type":"SpeechStarted","channel":[0,1],"timestamp":9.54}"#, None),
            Ok(Message::Event(SttEvent::SpeechStarted(9540)))
        );
        assert_eq!(
            parse(r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":2.395}"#, None),
            Ok(Message::Event(SttEvent::SpeechEnded(2395)))
        );
    }

    #[test]
    fn empty_interims_and_unknown_types_say_nothing() {
        let empty = r#"{"type":"Results","channel":{"alternatives":[{"transcript":"","confidence":0.0,"words":[]}]},"is_final":false,"speech_final":false,"start":0.0,"duration":1.0}"#;
        assert_eq!(parse(empty, None), Ok(Message::Nothing));
        assert_eq!(parse(r#"{"type":"SomethingNew","x":1}"#, None), Ok(Message::Nothing));
        let no_alternatives = r#"{"type":"Results","channel":{"alternatives":[]},"is_final":true}"#;
        assert_eq!(parse(no_alternatives, None), Ok(Message::Nothing));
    }

    #[test]
    fn metadata_and_errors() {
        assert_eq!(
            parse(r#"{"type":"Metadata","request_id":"x","duration":1.0,"channels":1}"#, None),
            Ok(Message::Metadata)
        );
        assert!(matches!(
            parse(r#"{"error_code":401,"error_message":"Invalid credentials","request_id":"r"}"#, None),
            Ok(Message::Error(ProviderError::Unauthorized(_)))
        ));
    }

    #[test]
    fn malformed_messages_are_protocol_errors() {
        let Err(ProviderError::Protocol(message)) = parse("{\"type\":\"Results\",", None) else { panic!() };
        assert!(message.starts_with("malformed message (EOF while parsing"), "{message}");
        let Err(ProviderError::Protocol(message)) = parse(r#"{"type":"Results","channel":{"alternatives":"x"}}"#, None)
        else {
            panic!()
        };
        assert!(message.starts_with("malformed message (invalid type: string \"x\", expected a sequence"), "{message}");
    }
}
