//! Deepgram adapter: live speech-to-text over the `/v1/listen` WebSocket and Aura
//! text-to-speech over `POST /v1/speak`.
//!
//! Each stream is a sans-I/O state machine ([`listen::Listen`], [`speak::Speak`]): the host
//! feeds it inputs and performs the connections and requests it returns. The state machines are
//! plain Rust so they are tested natively by replaying recorded traffic; this file only binds
//! them to the WIT contract.

use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "speech-plugin",
    additional_derives: [PartialEq],
    with: { "voiceblox:plugin/types@0.2.0": voiceblox_plugin_contract::types },
});

mod config;
mod error;
pub mod listen;
mod listen_message;
mod listen_query;
pub mod speak;
#[cfg(test)]
mod test_support;

use exports::voiceblox::plugin::{meta, stt as wit_stt, tts as wit_tts};
use voiceblox_plugin_contract::types::{
    Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError, ProviderInfo, SttMode,
};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "deepgram";

/// The rate the host resamples microphone audio to for this provider.
pub const STT_SAMPLE_RATE: u32 = 16_000;

/// The exported component.
pub struct Plugin;

impl meta::Guest for Plugin {
    fn describe() -> PluginInfo {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        PluginInfo {
            name: "deepgram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            providers: vec![ProviderInfo {
                id: PROVIDER.into(),
                kinds: vec![Kind::Stt, Kind::Tts],
                hosts: strings(&["api.deepgram.com"]),
                // Options are passed through as query parameters; none is interpreted here.
                config_keys: Vec::new(),
                api_key_env: strings(&["DEEPGRAM_API_KEY"]),
                // `DEEPGRAM_HOST` is the name Deepgram's Python and Go SDKs read.
                base_url_env: strings(&["DEEPGRAM_BASE_URL", "DEEPGRAM_HOST"]),
                stt_mode: Some(SttMode::Streaming),
                stt_sample_rate: Some(STT_SAMPLE_RATE),
                tts_sample_rates: speak::SAMPLE_RATES.to_vec(),
            }],
        }
    }
}

// WIT resources take `&self`: each resource is its state machine in a `RefCell` (a component
// instance is single-threaded and the host never re-enters a stream).

impl wit_stt::GuestTranscription for RefCell<listen::Listen> {
    fn handle(&self, input: Input) -> Vec<Action> {
        self.borrow_mut().handle(input)
    }
}

impl wit_stt::Guest for Plugin {
    type Transcription = RefCell<listen::Listen>;

    fn open(config: ProviderConfig, request: wit_stt::Request) -> Result<wit_stt::Transcription, ProviderError> {
        Ok(wit_stt::Transcription::new(RefCell::new(listen::Listen::open(&config, &request)?)))
    }
}

impl wit_tts::GuestSynthesis for RefCell<speak::Speak> {
    fn handle(&self, input: Input) -> Vec<Action> {
        self.borrow_mut().handle(input)
    }
}

impl wit_tts::Guest for Plugin {
    type Synthesis = RefCell<speak::Speak>;

    fn open(config: ProviderConfig, request: wit_tts::Request) -> Result<wit_tts::Synthesis, ProviderError> {
        Ok(wit_tts::Synthesis::new(RefCell::new(speak::Speak::open(&config, &request)?)))
    }
}

// Component export names (`voiceblox:plugin/stt@0.2.0#open`) are not valid symbol names for a
// native shared library's version script, so the exports exist only in the wasm build; native
// builds (unit tests) call the state machines directly.
#[cfg(target_arch = "wasm32")]
export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use meta::Guest as _;

    #[test]
    fn describe_declares_the_provider() {
        let info = Plugin::describe();
        assert_eq!(info.name, "deepgram");
        let provider = &info.providers[0];
        assert_eq!(provider.id, "deepgram");
        assert_eq!(provider.kinds, [Kind::Stt, Kind::Tts]);
        assert_eq!(provider.hosts, ["api.deepgram.com"]);
        assert_eq!(provider.api_key_env, ["DEEPGRAM_API_KEY"]);
        assert_eq!(provider.base_url_env, ["DEEPGRAM_BASE_URL", "DEEPGRAM_HOST"]);
        assert_eq!(provider.stt_mode, Some(SttMode::Streaming));
        assert_eq!(provider.stt_sample_rate, Some(16_000));
        assert_eq!(provider.tts_sample_rates, [24_000, 16_000, 48_000, 8_000, 32_000]);
    }
}
