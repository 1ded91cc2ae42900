//! What a stream is configured with: the `/v3/ws` URL and its query (model, audio format, turn
//! detection, keyterms), the `Authorization` header, and how results are read back.

use serde_json::{Map, Value};
use voiceblox_plugin_kit::config::{configured_base_url, merge_options, model_name};
use voiceblox_plugin_kit::json::{OptionsExt, type_name};
use voiceblox_plugin_kit::url::{self, Query};

use crate::PROVIDER;
use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError, WsConnect};
use voiceblox_plugin_sdk::stt::Request;

/// The streaming API's origin; a configured base URL replaces it (`ASSEMBLYAI_BASE_URL`, e.g.
/// `wss://streaming.eu.assemblyai.com`). The SDKs append `/v3/ws` themselves, so do we.
pub const DEFAULT_BASE_URL: &str = "wss://streaming.assemblyai.com";

/// The English model: the default of AssemblyAI's SDKs before Universal-3 Pro, and the fastest.
pub const DEFAULT_MODEL: &str = "universal-streaming-english";

/// English, Spanish, French, German, Italian and Portuguese; the only Universal-Streaming model
/// that detects the language.
pub const MULTILINGUAL_MODEL: &str = "universal-streaming-multilingual";

/// Options read from the provider config (camelCase, like the rest of the agent config):
/// - `keytermsPrompt`: words to boost, a comma-separated string or a list, added to the
///   request's keyterms;
/// - `formatTurns` (default true): punctuated, cased transcripts;
/// - `endOfTurnConfidenceThreshold`, `minTurnSilence`, `maxTurnSilence`, `vadThreshold`:
///   AssemblyAI's turn detection (`minTurnSilence` replaces the request's `endpointing-ms`);
/// - `inactivityTimeout`: seconds (5–3600) after which AssemblyAI ends a silent session.
pub const CONFIG_KEYS: &[&str] = &[
    "keytermsPrompt",
    "formatTurns",
    "endOfTurnConfidenceThreshold",
    "minTurnSilence",
    "maxTurnSilence",
    "vadThreshold",
    "inactivityTimeout",
];

/// Model names that are not a `speech_model` but mean "Universal-Streaming": the agent
/// builder's and the v2 API's names.
const MODEL_ALIASES: &[&str] = &["universal-streaming", "universal"];

/// A stream's resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub connect: WsConnect,
    pub format_turns: bool,
    pub interim_results: bool,
    /// Reported on transcripts when AssemblyAI names no language (it only does when detecting).
    pub fallback_language: Option<String>,
    pub sample_rate: u32,
}

impl Settings {
    pub fn new(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        if request.sample_rate == 0 {
            return Err(invalid("sample-rate must be positive"));
        }
        let options = merge_options(&config.options, &request.options).map_err(invalid)?;
        let language = config.language.as_deref().map(str::trim).filter(|l| !l.is_empty());
        let format_turns = options.opt_bool("formatTurns").map_err(invalid)?.unwrap_or(true);

        let mut query = Query::new();
        query
            .push("speech_model", speech_model(config, request.detect_language, language))
            .push("sample_rate", request.sample_rate.to_string())
            .push("encoding", "pcm_s16le")
            .push("format_turns", format_turns.to_string());
        if request.detect_language {
            query.push("language_detection", "true");
        }
        turn_detection(&mut query, &options, request.endpointing_ms)?;
        if let Some(seconds) = whole_number(&options, "inactivityTimeout", 5..=3600)? {
            query.push("inactivity_timeout", seconds.to_string());
        }
        if request.diarization {
            query.push("speaker_labels", "true");
        }
        let keyterms = keyterms(&request.keyterms, &options)?;
        if !keyterms.is_empty() {
            // A JSON list in one parameter, as the SDKs send it.
            query.push("keyterms_prompt", Value::from(keyterms).to_string());
        }

        let base = configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL);
        let url = url::append_query(&ws_url(&url::to_websocket(&base)), &query.encode());
        Ok(Settings {
            connect: WsConnect { url, headers: auth_headers(config) },
            format_turns,
            interim_results: request.interim_results,
            fallback_language: if request.detect_language { None } else { language.map(str::to_string) },
            sample_rate: request.sample_rate,
        })
    }
}

/// `{base}/v3/ws`, without doubling a path an operator already wrote.
fn ws_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/v3/ws") {
        base.to_string()
    } else if base.ends_with("/v3") {
        url::join(base, "ws")
    } else {
        url::join(base, "v3/ws")
    }
}

/// `Authorization: <placeholder>`: AssemblyAI takes the bare key, no scheme.
fn auth_headers(config: &ProviderConfig) -> Vec<Header> {
    let header = |key: &str| Header { name: "Authorization".into(), value: key.to_string() };
    config.api_key.as_deref().map(|key| vec![header(key)]).unwrap_or_default()
}

/// The configured model; with none (or an alias) the default, which becomes the multilingual model when the
/// language is to be detected or is not English, since the English model hears only English.
fn speech_model(config: &ProviderConfig, detect_language: bool, language: Option<&str>) -> String {
    let model = model_name(&config.model, PROVIDER, "");
    if !model.is_empty() && !MODEL_ALIASES.contains(&model.as_str()) {
        return model;
    }
    let english = language.is_none_or(|tag| tag.split(['-', '_']).next().is_some_and(|l| l.eq_ignore_ascii_case("en")));
    if detect_language || !english { MULTILINGUAL_MODEL.into() } else { DEFAULT_MODEL.into() }
}

/// `min_turn_silence` (the request's endpointing unless configured), `max_turn_silence`,
/// `end_of_turn_confidence_threshold` and `vad_threshold`.
fn turn_detection(
    query: &mut Query,
    options: &Map<String, Value>,
    endpointing_ms: Option<u32>,
) -> Result<(), ProviderError> {
    let min_silence = whole_number(options, "minTurnSilence", 0..=60_000)?.or(endpointing_ms.map(u64::from));
    if let Some(ms) = min_silence {
        query.push("min_turn_silence", ms.to_string());
    }
    if let Some(ms) = whole_number(options, "maxTurnSilence", 0..=60_000)? {
        query.push("max_turn_silence", ms.to_string());
    }
    for (key, parameter) in
        [("endOfTurnConfidenceThreshold", "end_of_turn_confidence_threshold"), ("vadThreshold", "vad_threshold")]
    {
        match options.opt_f64(key).map_err(invalid)? {
            Some(value) if (0.0..=1.0).contains(&value) => {
                query.push(parameter, value.to_string());
            }
            Some(value) => return Err(invalid(format!("option `{key}` must be between 0 and 1, got {value}"))),
            None => {}
        }
    }
    Ok(())
}

/// A whole-number option within `range`.
fn whole_number(
    options: &Map<String, Value>,
    key: &str,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, ProviderError> {
    let Some(value) = options.opt_f64(key).map_err(invalid)? else {
        return Ok(None);
    };
    if value.fract() == 0.0 && value >= *range.start() as f64 && value <= *range.end() as f64 {
        Ok(Some(value as u64))
    } else {
        Err(invalid(format!(
            "option `{key}` must be a whole number between {} and {}, got {value}",
            range.start(),
            range.end()
        )))
    }
}

/// The request's keyterms, then the configured `keytermsPrompt`, trimmed, blanks and repeats
/// dropped.
fn keyterms(requested: &[String], options: &Map<String, Value>) -> Result<Vec<String>, ProviderError> {
    let configured: Vec<String> = match options.get("keytermsPrompt") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text)) => text.split(',').map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(term) => Ok(term.clone()),
                other => Err(invalid(format!(
                    "option `keytermsPrompt` must list strings, got {} in the list",
                    type_name(other)
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(invalid(format!(
                "option `keytermsPrompt` must be a string or a list of strings, got {}",
                type_name(other)
            )));
        }
    };
    let mut terms: Vec<String> = Vec::new();
    for term in requested.iter().chain(&configured).map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if !terms.iter().any(|known| known == term) {
            terms.push(term.to_string());
        }
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{config, request};
    use serde_json::json;

    fn url(config: &ProviderConfig, request: &Request) -> String {
        Settings::new(config, request).unwrap().connect.url
    }

    #[test]
    fn default_stream() {
        let mut config = config("", None, json!({}));
        config.language = Some("en-US".into());
        let settings = Settings::new(&config, &request(&[], false, false, Some(300), json!({}))).unwrap();
        assert_eq!(
            settings.connect.url,
            "wss://streaming.assemblyai.com/v3/ws?speech_model=universal-streaming-english&sample_rate=16000\
             &encoding=pcm_s16le&format_turns=true&min_turn_silence=300"
        );
        assert_eq!(settings.connect.headers, [Header { name: "Authorization".into(), value: "{{api-key}}".into() }]);
        assert!(settings.format_turns);
        assert_eq!(settings.fallback_language.as_deref(), Some("en-US"));
    }

    #[test]
    fn detection_diarization_keyterms_and_options() {
        let config = config(
            "assemblyai/universal-streaming",
            Some("https://streaming.eu.assemblyai.com"),
            json!({"keytermsPrompt": "Voiceblox, Bistro Verde", "maxTurnSilence": 1500, "vadThreshold": 0.5}),
        );
        let request = request(
            &["Voiceblox", "  ", "Acme & Co"],
            true,
            true,
            Some(300),
            json!({"minTurnSilence": 160, "endOfTurnConfidenceThreshold": 0.7, "formatTurns": false}),
        );
        let settings = Settings::new(&config, &request).unwrap();
        assert_eq!(
            settings.connect.url,
            "wss://streaming.eu.assemblyai.com/v3/ws?speech_model=universal-streaming-multilingual\
             &sample_rate=16000&encoding=pcm_s16le&format_turns=false&language_detection=true\
             &min_turn_silence=160&max_turn_silence=1500&end_of_turn_confidence_threshold=0.7\
             &vad_threshold=0.5&speaker_labels=true\
             &keyterms_prompt=%5B%22Voiceblox%22%2C%22Acme%20%26%20Co%22%2C%22Bistro%20Verde%22%5D"
        );
        assert!(!settings.format_turns);
        assert_eq!(settings.fallback_language, None, "a detected language is never replaced");
    }

    #[test]
    fn models() {
        let open = |model: &str, language: Option<&str>| {
            let mut config = config(model, None, json!({}));
            config.language = language.map(str::to_string);
            url(&config, &request(&[], false, false, None, json!({})))
        };
        assert!(open("universal-streaming", Some("en")).contains("speech_model=universal-streaming-english&"));
        assert!(open("", Some("es-MX")).contains("speech_model=universal-streaming-multilingual&"));
        assert!(open("universal-streaming-english", Some("fr")).contains("speech_model=universal-streaming-english&"));
        assert!(open("u3-rt-pro", None).contains("speech_model=u3-rt-pro&"));
    }

    #[test]
    fn base_urls() {
        let open = |base: &str| url(&config("", Some(base), json!({})), &request(&[], false, false, None, json!({})));
        assert!(open("http://127.0.0.1:9").starts_with("ws://127.0.0.1:9/v3/ws?"));
        assert!(open("streaming.eu.assemblyai.com").starts_with("wss://streaming.eu.assemblyai.com/v3/ws?"));
        assert!(open("wss://proxy.internal/aai/v3/").starts_with("wss://proxy.internal/aai/v3/ws?"));
        assert!(open("wss://proxy.internal/v3/ws").starts_with("wss://proxy.internal/v3/ws?"));
    }

    #[test]
    fn no_key_no_header() {
        let mut config = config("", None, json!({}));
        config.api_key = None;
        let settings = Settings::new(&config, &request(&[], false, false, None, json!({}))).unwrap();
        assert!(settings.connect.headers.is_empty());
    }

    #[test]
    fn bad_options_are_invalid_requests() {
        let open = |options: Value| {
            Settings::new(&config("", None, json!({})), &request(&[], false, false, None, options)).map(|_| ())
        };
        assert_eq!(
            open(json!({"vadThreshold": 2})),
            Err(ProviderError::InvalidRequest("option `vadThreshold` must be between 0 and 1, got 2".into()))
        );
        assert_eq!(
            open(json!({"minTurnSilence": 12.5})),
            Err(ProviderError::InvalidRequest(
                "option `minTurnSilence` must be a whole number between 0 and 60000, got 12.5".into()
            ))
        );
        assert!(matches!(open(json!({"inactivityTimeout": 2})), Err(ProviderError::InvalidRequest(_))));
        assert!(matches!(open(json!({"keytermsPrompt": [1]})), Err(ProviderError::InvalidRequest(_))));
        assert!(matches!(open(json!({"formatTurns": "yes"})), Err(ProviderError::InvalidRequest(_))));
        let mut zero = request(&[], false, false, None, json!({}));
        zero.sample_rate = 0;
        assert_eq!(
            Settings::new(&config("", None, json!({})), &zero),
            Err(ProviderError::InvalidRequest("sample-rate must be positive".into()))
        );
    }
}
