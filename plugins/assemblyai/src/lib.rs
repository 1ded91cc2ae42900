//! AssemblyAI adapter: live speech-to-text over Universal-Streaming, the `/v3/ws` WebSocket.
//!
//! The stream is a sans-I/O state machine ([`stream::Transcription`]): the host feeds it inputs
//! and performs the connection it returns. It is plain Rust, tested natively by replaying
//! recorded traffic; this file only describes it and exports it with the SDK.

mod chunker;
mod config;
mod error;
mod message;
pub mod stream;
#[cfg(test)]
mod test_support;
mod turns;

use voiceblox_plugin_sdk::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError, SttMode};
use voiceblox_plugin_sdk::{ProviderSpec, SttProvider, single_provider, stt};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "assemblyai";

/// The rate the host resamples microphone audio to: Universal-Streaming's default and the rate
/// its models are trained at.
pub const STT_SAMPLE_RATE: u32 = 16_000;

/// The exported component.
pub struct Plugin;

impl voiceblox_plugin_sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        single_provider(
            "assemblyai",
            env!("CARGO_PKG_VERSION"),
            &ProviderSpec {
                id: PROVIDER,
                kinds: &[Kind::Stt],
                hosts: &["streaming.assemblyai.com"],
                config_keys: config::CONFIG_KEYS,
                // The name AssemblyAI's SDKs, LiveKit's and Pipecat's plugins read.
                api_key_env: &["ASSEMBLYAI_API_KEY"],
                base_url_env: &["ASSEMBLYAI_BASE_URL"],
                stt_mode: Some(SttMode::Streaming),
                stt_sample_rate: Some(STT_SAMPLE_RATE),
                ..ProviderSpec::NONE
            },
        )
    }
}

impl SttProvider for Plugin {
    type Stream = stream::Transcription;

    fn open(config: ProviderConfig, request: stt::Request) -> Result<Self::Stream, ProviderError> {
        stream::Transcription::open(&config, &request)
    }
}

impl voiceblox_plugin_sdk::Stream for stream::Transcription {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        stream::Transcription::handle(self, input)
    }
}

voiceblox_plugin_sdk::export!(Plugin, stt = Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_sdk::Plugin as _;

    #[test]
    fn describe_declares_the_provider() {
        let info = Plugin::describe();
        assert_eq!(info.name, "assemblyai");
        assert_eq!(info.providers.len(), 1);
        let provider = &info.providers[0];
        assert_eq!(provider.id, "assemblyai");
        assert_eq!(provider.kinds, [Kind::Stt]);
        assert_eq!(provider.hosts, ["streaming.assemblyai.com"]);
        assert_eq!(provider.api_key_env, ["ASSEMBLYAI_API_KEY"]);
        assert_eq!(provider.base_url_env, ["ASSEMBLYAI_BASE_URL"]);
        assert_eq!(provider.stt_mode, Some(SttMode::Streaming));
        assert_eq!(provider.stt_sample_rate, Some(16_000));
        assert!(provider.tts_sample_rates.is_empty());
        assert_eq!(
            provider.config_keys,
            [
                "keytermsPrompt",
                "formatTurns",
                "endOfTurnConfidenceThreshold",
                "minTurnSilence",
                "maxTurnSilence",
                "vadThreshold",
                "inactivityTimeout"
            ]
        );
    }
}
