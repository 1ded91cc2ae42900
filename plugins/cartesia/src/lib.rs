//! Cartesia adapter: text-to-speech over the `/tts/websocket` socket, one context per stream
//! (text goes out as continuations as it arrives, audio comes back while the rest is still being
//! written), or with `transport: "http"` one `POST /tts/bytes` per flushed sentence group.
//!
//! Each stream is a sans-I/O state machine ([`socket::SocketSpeech`], [`http::HttpSpeech`]): the
//! host feeds it inputs and performs the connection or requests it returns. They are plain Rust,
//! tested natively by replaying recorded traffic; this file only describes them and exports them
//! with the SDK.

mod config;
mod error;
mod flushes;
pub mod http;
mod message;
pub mod socket;
pub mod speech;
#[cfg(test)]
mod test_support;

use voiceblox_plugin_sdk::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::{ProviderSpec, TtsProvider, single_provider, tts};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "cartesia";

/// The exported component.
pub struct Plugin;

impl voiceblox_plugin_sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        single_provider(
            "cartesia",
            env!("CARGO_PKG_VERSION"),
            &ProviderSpec {
                id: PROVIDER,
                kinds: &[Kind::Tts],
                hosts: &["api.cartesia.ai"],
                config_keys: config::CONFIG_KEYS,
                // What Cartesia's SDKs read.
                api_key_env: &["CARTESIA_API_KEY"],
                base_url_env: &["CARTESIA_BASE_URL"],
                tts_sample_rates: config::SAMPLE_RATES,
                ..ProviderSpec::NONE
            },
        )
    }
}

impl TtsProvider for Plugin {
    type Stream = speech::Speech;

    fn open(config: ProviderConfig, request: tts::Request) -> Result<Self::Stream, ProviderError> {
        speech::Speech::open(&config, &request)
    }
}

impl voiceblox_plugin_sdk::Stream for speech::Speech {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        speech::Speech::handle(self, input)
    }
}

voiceblox_plugin_sdk::export!(Plugin, tts = Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_sdk::Plugin as _;

    #[test]
    fn describe_declares_the_provider() {
        let info = Plugin::describe();
        assert_eq!(info.name, "cartesia");
        let provider = &info.providers[0];
        assert_eq!(provider.id, "cartesia");
        assert_eq!(provider.kinds, [Kind::Tts]);
        assert_eq!(provider.hosts, ["api.cartesia.ai"]);
        assert_eq!(provider.api_key_env, ["CARTESIA_API_KEY"]);
        assert_eq!(provider.base_url_env, ["CARTESIA_BASE_URL"]);
        assert_eq!(provider.tts_sample_rates, [24_000, 8_000, 16_000, 22_050, 44_100, 48_000]);
        assert_eq!(provider.stt_mode, None);
        assert_eq!(provider.stt_sample_rate, None);
        assert_eq!(provider.config_keys, ["transport", "emotion", "speed", "volume", "language", "maxBufferDelayMs"]);
    }
}
