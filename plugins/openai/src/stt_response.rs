//! Reading `/audio/transcriptions` answers: `json` (`{"text", "logprobs"?}`) and whisper's
//! `verbose_json` (`{"text", "language", "words", "segments"}`).

use serde::Deserialize;
use voiceblox_plugin_kit::error_body::truncate;

use crate::error::protocol;
use voiceblox_plugin_contract::types::{ProviderError, Transcript, Word};

#[derive(Debug, Deserialize)]
struct Transcription {
    text: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    words: Option<Vec<WireWord>>,
    #[serde(default)]
    segments: Option<Vec<Segment>>,
    #[serde(default)]
    logprobs: Option<Vec<Logprob>>,
}

#[derive(Debug, Deserialize)]
struct WireWord {
    word: String,
    start: f64,
    end: f64,
}

#[derive(Debug, Deserialize)]
struct Segment {
    #[serde(default)]
    avg_logprob: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Logprob {
    logprob: f64,
}

/// Where the transcribed audio sits in the stream, and the language the caller asked for.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    pub start_ms: u32,
    pub end_ms: u32,
    pub requested_language: Option<&'a str>,
}

/// The final transcript in a successful response body.
pub fn parse(body: &[u8], span: Span<'_>) -> Result<Transcript, ProviderError> {
    let text = String::from_utf8_lossy(body);
    let parsed: Transcription = serde_json::from_str(&text)
        .map_err(|e| protocol(format!("malformed transcription ({e}): {}", truncate(&text, 200))))?;
    let words = parsed
        .words
        .iter()
        .flatten()
        .map(|w| Word {
            text: w.word.trim().to_string(),
            start_ms: span.start_ms.saturating_add(seconds_to_ms(w.start)),
            end_ms: span.start_ms.saturating_add(seconds_to_ms(w.end)),
            // Whisper gives no per-word confidence.
            confidence: 1.0,
            speaker: None,
        })
        .collect();
    let language =
        parsed.language.as_deref().and_then(language_code).or_else(|| span.requested_language.map(str::to_string));
    Ok(Transcript {
        text: parsed.text.trim().to_string(),
        words,
        confidence: confidence(&parsed),
        language,
        start_ms: span.start_ms,
        end_ms: span.end_ms,
        speech_final: true,
    })
}

/// The model's own certainty: the geometric-mean token probability when the response carries
/// log-probabilities (gpt-4o `logprobs`, whisper segment `avg_logprob`); 1.0 when it says
/// nothing, so a missing score never reads as "unsure".
fn confidence(parsed: &Transcription) -> f32 {
    let from_tokens = parsed.logprobs.as_ref().and_then(|l| mean(l.iter().map(|p| p.logprob)));
    let from_segments = || parsed.segments.as_ref().and_then(|s| mean(s.iter().filter_map(|seg| seg.avg_logprob)));
    match from_tokens.or_else(from_segments) {
        Some(mean_logprob) => mean_logprob.exp().clamp(0.0, 1.0) as f32,
        None => 1.0,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (count > 0).then(|| sum / f64::from(count))
}

pub fn seconds_to_ms(seconds: f64) -> u32 {
    // `as` saturates: negative → 0, huge → u32::MAX, NaN → 0.
    (seconds * 1000.0).round() as u32
}

/// BCP-47 code for whisper's language names (`verbose_json` says `"english"`); codes pass through.
fn language_code(name: &str) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    if name.len() <= 3 || name.contains('-') {
        return Some(name);
    }
    WHISPER_LANGUAGES.iter().find(|(_, n)| *n == name).map(|(code, _)| code.to_string())
}

/// The languages OpenAI documents for its transcription models.
const WHISPER_LANGUAGES: &[(&str, &str)] = &[
    ("af", "afrikaans"),
    ("ar", "arabic"),
    ("hy", "armenian"),
    ("az", "azerbaijani"),
    ("be", "belarusian"),
    ("bs", "bosnian"),
    ("bg", "bulgarian"),
    ("ca", "catalan"),
    ("zh", "chinese"),
    ("hr", "croatian"),
    ("cs", "czech"),
    ("da", "danish"),
    ("nl", "dutch"),
    ("en", "english"),
    ("et", "estonian"),
    ("fi", "finnish"),
    ("fr", "french"),
    ("gl", "galician"),
    ("de", "german"),
    ("el", "greek"),
    ("he", "hebrew"),
    ("hi", "hindi"),
    ("hu", "hungarian"),
    ("is", "icelandic"),
    ("id", "indonesian"),
    ("it", "italian"),
    ("ja", "japanese"),
    ("kn", "kannada"),
    ("kk", "kazakh"),
    ("ko", "korean"),
    ("lv", "latvian"),
    ("lt", "lithuanian"),
    ("mk", "macedonian"),
    ("ms", "malay"),
    ("mr", "marathi"),
    ("mi", "maori"),
    ("ne", "nepali"),
    ("no", "norwegian"),
    ("fa", "persian"),
    ("pl", "polish"),
    ("pt", "portuguese"),
    ("ro", "romanian"),
    ("ru", "russian"),
    ("sr", "serbian"),
    ("sk", "slovak"),
    ("sl", "slovenian"),
    ("es", "spanish"),
    ("sw", "swahili"),
    ("sv", "swedish"),
    ("tl", "tagalog"),
    ("ta", "tamil"),
    ("th", "thai"),
    ("tr", "turkish"),
    ("uk", "ukrainian"),
    ("ur", "urdu"),
    ("vi", "vietnamese"),
    ("cy", "welsh"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: Span<'static> = Span { start_ms: 0, end_ms: 1000, requested_language: None };

    #[test]
    fn plain_json() {
        let t = parse(br#"{"text":" Hello there. "}"#, SPAN).unwrap();
        assert_eq!(t.text, "Hello there.");
        assert_eq!(t.confidence, 1.0);
        assert!(t.words.is_empty());
        assert_eq!(t.language, None);
        assert!(t.speech_final);
    }

    #[test]
    fn language_names_map_to_codes() {
        assert_eq!(language_code("English").as_deref(), Some("en"));
        assert_eq!(language_code("portuguese").as_deref(), Some("pt"));
        assert_eq!(language_code("en").as_deref(), Some("en"));
        assert_eq!(language_code("pt-BR").as_deref(), Some("pt-br"));
        assert_eq!(language_code("klingon"), None);
        let span = Span { requested_language: Some("de"), ..SPAN };
        assert_eq!(parse(br#"{"text":"x","language":"klingon"}"#, span).unwrap().language.as_deref(), Some("de"));
    }

    #[test]
    fn malformed_bodies_are_protocol_errors() {
        let Err(ProviderError::Protocol(message)) = parse(b"{\"txt\": 1}", SPAN) else { panic!() };
        assert!(message.starts_with("malformed transcription (missing field `text`"), "{message}");
        assert!(matches!(parse(b"<html>", SPAN), Err(ProviderError::Protocol(_))));
    }

    #[test]
    fn seconds_convert_with_saturation() {
        assert_eq!(seconds_to_ms(1.2345), 1235);
        assert_eq!(seconds_to_ms(-1.0), 0);
        assert_eq!(seconds_to_ms(f64::NAN), 0);
        assert_eq!(seconds_to_ms(1e12), u32::MAX);
    }
}
