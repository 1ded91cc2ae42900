//! Helpers for replaying recorded provider traffic through the state machine.

use serde_json::Value;
use voiceblox_plugin_contract::test_support;
pub use voiceblox_plugin_contract::test_support::{CHUNK_SIZES, header_pairs, only_request, respond};
use voiceblox_plugin_contract::types::ProviderConfig;
use voiceblox_plugin_kit::replay;

/// A provider config as the host passes it: key placeholder, the model as given.
pub fn config(model: &str, base_url: Option<&str>, options: Value) -> ProviderConfig {
    test_support::config(crate::PROVIDER, model, base_url, &options.to_string())
}

/// A file under `tests/recordings/`.
pub fn recording(name: &str) -> Vec<u8> {
    replay::recording(env!("CARGO_MANIFEST_DIR"), name)
}
