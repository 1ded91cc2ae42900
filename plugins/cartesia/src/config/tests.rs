use super::*;
use crate::test_support::{config, request};

fn settings(base_url: Option<&str>, voice: Option<&str>, rate: Option<u32>, options: Value) -> Settings {
    Settings::new(&config("", base_url, json!({})), &request(voice, rate, options)).unwrap()
}

/// The fields of a generation request for "Hi" with no context fields.
fn body(settings: &Settings) -> Value {
    Value::Object(settings.generation("Hi", Map::new()))
}

#[test]
fn defaults() {
    let settings = settings(None, None, None, json!({}));
    assert_eq!(settings.model, "sonic-3");
    assert_eq!(settings.voice, "f786b574-daa5-4673-aa0c-cbe3e8534c02");
    assert_eq!(settings.sample_rate, 24_000);
    assert_eq!(settings.transport, Transport::WebSocket);
    assert_eq!(settings.max_buffer_delay_ms, None);
    assert_eq!(settings.websocket_url(), "wss://api.cartesia.ai/tts/websocket?cartesia_version=2025-04-16");
    assert_eq!(settings.bytes_url(), "https://api.cartesia.ai/tts/bytes");
    assert_eq!(settings.headers(), [header("X-API-Key", "{{api-key}}"), header("Cartesia-Version", "2025-04-16")]);
    assert_eq!(
        body(&settings),
        json!({
            "model_id": "sonic-3",
            "transcript": "Hi",
            "voice": {"mode": "id", "id": "f786b574-daa5-4673-aa0c-cbe3e8534c02"},
            "output_format": {"container": "raw", "encoding": "pcm_s16le", "sample_rate": 24000},
        })
    );
}

#[test]
fn base_urls_voices_rates_and_languages() {
    let local = settings(Some("http://127.0.0.1:9/"), Some(" my-voice "), Some(16_000), json!({}));
    assert_eq!(local.websocket_url(), "ws://127.0.0.1:9/tts/websocket?cartesia_version=2025-04-16");
    assert_eq!(local.bytes_url(), "http://127.0.0.1:9/tts/bytes");
    assert_eq!(body(&local)["voice"]["id"], "my-voice");
    assert_eq!(body(&local)["output_format"]["sample_rate"], 16_000);
    for rate in [8_000, 22_050, 44_100, 48_000] {
        assert_eq!(settings(None, None, Some(rate), json!({})).sample_rate, rate);
    }
    // A rate Cartesia has no raw format for falls back to the default.
    assert_eq!(settings(None, None, Some(32_000), json!({})).sample_rate, 24_000);

    let mut german = config("cartesia/sonic-2", None, json!({}));
    german.language = Some("de-DE".into());
    let german = Settings::new(&german, &request(None, None, json!({}))).unwrap();
    assert_eq!(german.model, "sonic-2");
    assert_eq!(german.language.as_deref(), Some("de"));
    assert_eq!(body(&german)["language"], "de");
    let overridden = settings(None, None, None, json!({"language": "fr"}));
    assert_eq!(body(&overridden)["language"], "fr");
}

#[test]
fn sonic_3_controls_go_in_generation_config() {
    let controlled = settings(None, None, None, json!({"emotion": "excited", "speed": 1.2, "volume": 0.8}));
    assert_eq!(body(&controlled)["generation_config"], json!({"emotion": "excited", "speed": 1.2, "volume": 0.8}));
    assert!(body(&controlled)["voice"].get("__experimental_controls").is_none());
    let named = settings(None, None, None, json!({"speed": "fast"}));
    assert_eq!(body(&named)["speed"], "fast");
    assert!(body(&named).get("generation_config").is_none());
}

#[test]
fn older_models_read_the_voice_controls() {
    let sonic_2 =
        Settings::new(&config("sonic-2", None, json!({"emotion": "positivity:high"})), &request(None, None, json!({})))
            .unwrap();
    assert_eq!(
        body(&sonic_2)["voice"],
        json!({"mode": "id", "id": DEFAULT_VOICE, "__experimental_controls": {"emotion": ["positivity:high"]}})
    );
    assert!(body(&sonic_2).get("generation_config").is_none());
    assert!(uses_generation_config("sonic-latest"));
    assert!(uses_generation_config("sonic-3-2025-10-27"));
    assert!(!uses_generation_config("sonic-turbo"));
    assert!(!uses_generation_config("sonic"));
}

#[test]
fn bad_options_are_refused() {
    let open = |options: Value| Settings::new(&config("", None, json!({})), &request(None, None, options)).map(|_| ());
    assert_eq!(
        open(json!({"speed": 2.0})),
        Err(ProviderError::InvalidRequest("option `speed` must be between 0.6 and 1.5, got 2".into()))
    );
    assert!(matches!(open(json!({"speed": "warp"})), Err(ProviderError::InvalidRequest(_))));
    assert!(matches!(open(json!({"volume": 3})), Err(ProviderError::InvalidRequest(_))));
    assert!(matches!(open(json!({"emotion": 5})), Err(ProviderError::InvalidRequest(_))));
    assert!(matches!(open(json!({"emotion": ["a", 1]})), Err(ProviderError::InvalidRequest(_))));
    assert!(matches!(open(json!({"maxBufferDelayMs": 9000})), Err(ProviderError::InvalidRequest(_))));
    assert!(matches!(open(json!({"maxBufferDelayMs": 1.5})), Err(ProviderError::InvalidRequest(_))));
    assert_eq!(
        open(json!({"transport": "grpc"})),
        Err(ProviderError::InvalidRequest("option `transport` must be \"websocket\" or \"http\", got \"grpc\"".into()))
    );
    assert_eq!(settings(None, None, None, json!({"maxBufferDelayMs": 0})).max_buffer_delay_ms, Some(0));
    assert_eq!(settings(None, None, None, json!({"transport": "http"})).transport, Transport::Http);
}

#[test]
fn no_key_no_key_header() {
    let mut config = config("", None, json!({}));
    config.api_key = None;
    let settings = Settings::new(&config, &request(None, None, json!({}))).unwrap();
    assert_eq!(settings.headers(), [header("Cartesia-Version", "2025-04-16")]);
}
