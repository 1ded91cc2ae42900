//! Helpers for replaying recorded provider traffic through the state machine.

use serde_json::Value;
use voiceblox_plugin_contract::test_support;
use voiceblox_plugin_contract::types::ProviderConfig;
use voiceblox_plugin_kit::replay;
use voiceblox_plugin_sdk::stt::Request;

/// A provider config as the host passes it: key placeholder, no prefix on the model.
pub fn config(model: &str, base_url: Option<&str>, options: Value) -> ProviderConfig {
    test_support::config(crate::PROVIDER, model, base_url, &options.to_string())
}

/// A live transcription request at 16 kHz with interim results.
pub fn request(
    keyterms: &[&str],
    detect_language: bool,
    diarization: bool,
    endpointing_ms: Option<u32>,
    options: Value,
) -> Request {
    Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language,
        diarization,
        keyterms: keyterms.iter().map(|k| k.to_string()).collect(),
        endpointing_ms,
        options: options.to_string(),
    }
}

/// A recording of WebSocket text messages under `tests/recordings/`, one JSON document per line.
pub fn messages(name: &str) -> Vec<String> {
    String::from_utf8(replay::recording(env!("CARGO_MANIFEST_DIR"), name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}
