//! The JSON messages the streaming API sends, key for key in AssemblyAI's order.

use super::script::Word;
use crate::fakes::wire::{Obj, array, json_string};

/// `{"type":"Begin","id","expires_at"}`: the session may last 3 hours.
pub(crate) fn begin(id: &str, expires_at: u64) -> String {
    Obj::new().str("type", "Begin").str("id", id).int("expires_at", expires_at as i64).finish()
}

pub(crate) fn speech_started(timestamp_ms: f64) -> String {
    Obj::new().str("type", "SpeechStarted").int("timestamp", timestamp_ms.round() as i64).finish()
}

/// `{"type":"Termination", ...}`: whole seconds, as the SDKs' models declare them.
pub(crate) fn termination(audio_ms: f64, session_ms: f64) -> String {
    Obj::new()
        .str("type", "Termination")
        .int("audio_duration_seconds", (audio_ms / 1000.0).round() as i64)
        .int("session_duration_seconds", (session_ms / 1000.0).round() as i64)
        .finish()
}

/// One `Turn` update.
pub(crate) struct TurnMessage<'a> {
    pub(crate) turn_order: u32,
    pub(crate) formatted: bool,
    pub(crate) end_of_turn: bool,
    /// The words so far; the last `pending` of them are not final yet.
    pub(crate) words: &'a [Word],
    pub(crate) pending: usize,
    pub(crate) end_of_turn_confidence: f64,
    /// With `language_detection=true`, on the end of a turn.
    pub(crate) language: Option<&'a str>,
}

pub(crate) fn turn(message: &TurnMessage<'_>) -> String {
    let text = |w: &Word| if message.formatted { w.formatted.clone() } else { w.plain() };
    let finals = message.words.len().saturating_sub(message.pending);
    let transcript = message.words[..finals].iter().map(text).collect::<Vec<_>>().join(" ");
    let words = message.words.iter().enumerate().map(|(i, w)| {
        Obj::new()
            .int("start", w.start_ms.round() as i64)
            .int("end", w.end_ms.round() as i64)
            .raw("text", json_string(&text(w)))
            .float("confidence", w.confidence)
            .bool("word_is_final", i < finals)
            .finish()
    });
    let mut obj = Obj::new()
        .int("turn_order", i64::from(message.turn_order))
        .bool("turn_is_formatted", message.formatted)
        .bool("end_of_turn", message.end_of_turn)
        .str("transcript", &transcript)
        .float("end_of_turn_confidence", message.end_of_turn_confidence)
        .raw("words", array(words));
    if let Some(language) = message.language {
        obj = obj.str("language_code", language).float("language_confidence", 0.97);
    }
    let utterance = if message.end_of_turn { transcript.as_str() } else { "" };
    obj.str("utterance", utterance).str("type", "Turn").finish()
}
