//! Helpers for replaying recorded provider traffic through the state machines.

use serde_json::Value;
use voiceblox_plugin_contract::test_support;
pub use voiceblox_plugin_contract::test_support::{CHUNK_SIZES, only_request, respond};
use voiceblox_plugin_contract::types::ProviderConfig;
use voiceblox_plugin_kit::replay;

use voiceblox_plugin_sdk::stt;

/// A provider config as the host passes it: key placeholder, no prefix on the model.
pub fn config(model: &str, base_url: Option<&str>, options: Value) -> ProviderConfig {
    test_support::config(crate::PROVIDER, model, base_url, &options.to_string())
}

/// A live transcription request at 16 kHz with interim results.
pub fn stt_request(
    keyterms: &[&str],
    detect_language: bool,
    diarization: bool,
    endpointing_ms: Option<u32>,
    options: Value,
) -> stt::Request {
    stt::Request {
        sample_rate: 16_000,
        interim_results: true,
        detect_language,
        diarization,
        keyterms: keyterms.iter().map(|k| k.to_string()).collect(),
        endpointing_ms,
        options: options.to_string(),
    }
}

/// A file under `tests/recordings/`.
pub fn recording(name: &str) -> Vec<u8> {
    replay::recording(env!("CARGO_MANIFEST_DIR"), name)
}

/// A recording of WebSocket text messages, one JSON document per line.
pub fn messages(name: &str) -> Vec<String> {
    String::from_utf8(recording(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_string)
        .collect()
}
