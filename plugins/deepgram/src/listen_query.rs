//! The `/v1/listen` WebSocket URL: everything the live transcription API is told up front.

use voiceblox_plugin_kit::url::{self, Query};

use crate::PROVIDER;
use crate::config::{api_url, apply_options, auth_headers, base_url, merged_options, model_name};
use crate::error::invalid;
use voiceblox_plugin_contract::types::{ProviderConfig, ProviderError, WsConnect};
use voiceblox_plugin_sdk::stt::Request;

pub const DEFAULT_MODEL: &str = "nova-3";

/// `UtteranceEnd` after this much silence following the last final word; Deepgram sends interim
/// results about once a second, so shorter gaps gain nothing.
const UTTERANCE_END_MS: u32 = 1000;

/// The connection request for a transcription stream.
pub fn connect(config: &ProviderConfig, request: &Request) -> Result<WsConnect, ProviderError> {
    if request.sample_rate == 0 {
        return Err(invalid("sample-rate must be positive"));
    }
    let options = merged_options(config, &request.options)?;
    let model = model_name(&config.model, PROVIDER, DEFAULT_MODEL);
    let multilingual_model = model.starts_with("nova-3") || model.starts_with("nova-2");

    let mut query = Query::new();
    query
        .push("model", &model)
        .push("encoding", "linear16")
        .push("sample_rate", request.sample_rate.to_string())
        .push("channels", "1")
        .push("interim_results", request.interim_results.to_string());
    if let Some(ms) = request.endpointing_ms {
        query.push("endpointing", ms.to_string());
    }
    query.push("vad_events", "true");
    // Deepgram derives UtteranceEnd from interim results and rejects it without them.
    if request.interim_results {
        query.push("utterance_end_ms", UTTERANCE_END_MS.to_string());
    }
    query.push("smart_format", "true").push("punctuate", "true");

    let language = config.language.as_deref().map(str::trim).filter(|l| !l.is_empty());
    if request.detect_language {
        // `detect_language` is a pre-recorded feature; live audio gets the code-switching
        // multilingual model, which tags each result with the languages it heard.
        if multilingual_model {
            query.push("language", "multi");
        } else {
            query.push("detect_language", "true");
        }
    } else if let Some(language) = language {
        query.push("language", language);
    }
    if request.diarization {
        query.push("diarize", "true");
    }
    // Keyterm prompting exists only for Nova-3; older models boost single words with `keywords`.
    let boost = if model.starts_with("nova-3") { "keyterm" } else { "keywords" };
    for term in request.keyterms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        query.push(boost, term);
    }
    apply_options(&mut query, &options)?;

    let base = url::to_websocket(&base_url(config));
    Ok(WsConnect { url: url::append_query(&api_url(&base, "listen"), &query.encode()), headers: auth_headers(config) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::header;
    use crate::test_support::{config, stt_request};
    use serde_json::json;

    #[test]
    fn default_stream_url() {
        let mut config = config("nova-3", None, json!({}));
        config.language = Some("en-US".into());
        let connect = connect(&config, &stt_request(&[], false, false, Some(300), json!({}))).unwrap();
        assert_eq!(
            connect.url,
            "wss://api.deepgram.com/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000&channels=1\
             &interim_results=true&endpointing=300&vad_events=true&utterance_end_ms=1000&smart_format=true\
             &punctuate=true&language=en-US"
        );
        assert_eq!(connect.headers, [header("Authorization", "Token {{api-key}}")]);
    }

    #[test]
    fn detection_diarization_keyterms_and_options() {
        let config = config("deepgram/nova-3-general", Some("http://localhost:8080"), json!({"mip_opt_out": true}));
        let request =
            stt_request(&["Voiceblox", "  ", "Bistro Verde"], true, true, None, json!({"endpointing": false}));
        let connect = connect(&config, &request).unwrap();
        assert_eq!(
            connect.url,
            "ws://localhost:8080/v1/listen?model=nova-3-general&encoding=linear16&sample_rate=16000&channels=1\
             &interim_results=true&vad_events=true&utterance_end_ms=1000&smart_format=true&punctuate=true\
             &language=multi&diarize=true&keyterm=Voiceblox&keyterm=Bistro%20Verde&endpointing=false&mip_opt_out=true"
        );
    }

    #[test]
    fn older_models_use_keywords_and_detect_language() {
        let config = config("enhanced-phonecall", None, json!({}));
        let mut request = stt_request(&["Acme"], true, false, None, json!({}));
        request.interim_results = false;
        let url = connect(&config, &request).unwrap().url;
        assert!(url.contains("&interim_results=false&"), "{url}");
        assert!(!url.contains("utterance_end_ms"), "{url}");
        assert!(url.ends_with("&detect_language=true&keywords=Acme"), "{url}");
    }

    #[test]
    fn no_key_no_auth_header() {
        let mut config = config("nova-3", Some("ws://dg.internal:8080"), json!({}));
        config.api_key = None;
        let connect = connect(&config, &stt_request(&[], false, false, None, json!({}))).unwrap();
        assert!(connect.url.starts_with("ws://dg.internal:8080/v1/listen?"));
        assert!(connect.headers.is_empty());
    }

    #[test]
    fn bad_options_are_invalid_requests() {
        let config = config("nova-3", None, json!({}));
        let request = stt_request(&[], false, false, None, json!({"search": {"x": 1}}));
        assert!(matches!(connect(&config, &request), Err(ProviderError::InvalidRequest(_))));
        let mut zero = stt_request(&[], false, false, None, json!({}));
        zero.sample_rate = 0;
        assert_eq!(connect(&config, &zero), Err(ProviderError::InvalidRequest("sample-rate must be positive".into())));
    }
}
