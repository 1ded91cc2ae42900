//! Deepgram adapter: live speech-to-text over the `/v1/listen` WebSocket and Aura
//! text-to-speech over `POST /v1/speak`.
//!
//! Each stream is a sans-I/O state machine ([`listen::Listen`], [`speak::Speak`]): the host
//! feeds it inputs and performs the connections and requests it returns. The state machines are
//! plain Rust so they are tested natively by replaying recorded traffic; this file only
//! describes them and exports them with the SDK.

mod config;
mod error;
pub mod listen;
mod listen_message;
mod listen_query;
pub mod speak;
#[cfg(test)]
mod test_support;

use voiceblox_plugin_sdk::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError, SttMode};
use voiceblox_plugin_sdk::{ProviderSpec, Stream, SttProvider, TtsProvider, single_provider, stt, tts};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "deepgram";

/// The rate the host resamples microphone audio to for this provider.
pub const STT_SAMPLE_RATE: u32 = 16_000;

/// The exported component.
pub struct Plugin;

impl voiceblox_plugin_sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        single_provider(
            "deepgram",
            env!("CARGO_PKG_VERSION"),
            &ProviderSpec {
                id: PROVIDER,
                kinds: &[Kind::Stt, Kind::Tts],
                hosts: &["api.deepgram.com"],
                // Options are passed through as query parameters; none is interpreted here.
                config_keys: &[],
                api_key_env: &["DEEPGRAM_API_KEY"],
                // `DEEPGRAM_HOST` is the name Deepgram's Python and Go SDKs read.
                base_url_env: &["DEEPGRAM_BASE_URL", "DEEPGRAM_HOST"],
                stt_mode: Some(SttMode::Streaming),
                stt_sample_rate: Some(STT_SAMPLE_RATE),
                tts_sample_rates: speak::SAMPLE_RATES,
            },
        )
    }
}

impl SttProvider for Plugin {
    type Stream = listen::Listen;

    fn open(config: ProviderConfig, request: stt::Request) -> Result<Self::Stream, ProviderError> {
        listen::Listen::open(&config, &request)
    }
}

impl TtsProvider for Plugin {
    type Stream = speak::Speak;

    fn open(config: ProviderConfig, request: tts::Request) -> Result<Self::Stream, ProviderError> {
        speak::Speak::open(&config, &request)
    }
}

impl Stream for listen::Listen {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        listen::Listen::handle(self, input)
    }
}

impl Stream for speak::Speak {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        speak::Speak::handle(self, input)
    }
}

voiceblox_plugin_sdk::export!(Plugin, tts = Plugin, stt = Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_sdk::Plugin as _;

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
