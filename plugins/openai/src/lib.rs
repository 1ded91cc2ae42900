//! OpenAI adapter: chat completions (streamed), speech (`/audio/speech`) and transcription
//! (`/audio/transcriptions`), for api.openai.com and any OpenAI-compatible server (Ollama, Groq,
//! vLLM, Azure OpenAI) reached through a configured base URL.
//!
//! Each stream is a sans-I/O state machine ([`llm::ChatStream`], [`tts::Speech`],
//! [`stt::Transcriber`]): the host feeds it inputs and performs the HTTP requests it returns.
//! The state machines are plain Rust so they are tested natively by replaying recorded traffic;
//! this file only describes them and exports them with the SDK.

mod config;
mod error;
pub mod llm;
mod llm_chunk;
mod llm_request;
mod multipart;
pub mod stt;
mod stt_response;
#[cfg(test)]
mod test_support;
mod tool_calls;
pub mod tts;

use voiceblox_plugin_sdk::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError, SttMode};
use voiceblox_plugin_sdk::{self as sdk, LlmProvider, ProviderSpec, Stream, SttProvider, TtsProvider, single_provider};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "openai";

/// The exported component.
pub struct Plugin;

impl sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        single_provider(
            "openai",
            env!("CARGO_PKG_VERSION"),
            &ProviderSpec {
                id: PROVIDER,
                kinds: &[Kind::Llm, Kind::Tts, Kind::Stt],
                hosts: &["api.openai.com"],
                config_keys: config::CONFIG_KEYS,
                api_key_env: &["OPENAI_API_KEY"],
                base_url_env: &["OPENAI_BASE_URL"],
                stt_mode: Some(SttMode::Batch),
                stt_sample_rate: Some(stt::SAMPLE_RATE),
                tts_sample_rates: &[tts::SAMPLE_RATE],
            },
        )
    }
}

impl LlmProvider for Plugin {
    type Stream = llm::ChatStream;

    fn open(config: ProviderConfig, request: sdk::llm::Request) -> Result<Self::Stream, ProviderError> {
        llm::ChatStream::open(&config, &request)
    }
}

impl TtsProvider for Plugin {
    type Stream = tts::Speech;

    fn open(config: ProviderConfig, request: sdk::tts::Request) -> Result<Self::Stream, ProviderError> {
        tts::Speech::open(&config, &request)
    }
}

impl SttProvider for Plugin {
    type Stream = stt::Transcriber;

    fn open(config: ProviderConfig, request: sdk::stt::Request) -> Result<Self::Stream, ProviderError> {
        stt::Transcriber::open(&config, &request)
    }
}

impl Stream for llm::ChatStream {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        llm::ChatStream::handle(self, input)
    }
}

impl Stream for tts::Speech {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        tts::Speech::handle(self, input)
    }
}

impl Stream for stt::Transcriber {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        stt::Transcriber::handle(self, input)
    }
}

sdk::export!(Plugin, llm = Plugin, tts = Plugin, stt = Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_sdk::Plugin as _;

    #[test]
    fn describe_declares_the_provider() {
        let info = Plugin::describe();
        assert_eq!(info.name, "openai");
        assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
        let provider = &info.providers[0];
        assert_eq!(provider.id, "openai");
        assert_eq!(provider.kinds, [Kind::Llm, Kind::Tts, Kind::Stt]);
        assert_eq!(provider.hosts, ["api.openai.com"]);
        assert_eq!(provider.api_key_env, ["OPENAI_API_KEY"]);
        assert_eq!(provider.base_url_env, ["OPENAI_BASE_URL"]);
        assert_eq!(provider.stt_mode, Some(SttMode::Batch));
        assert_eq!(provider.stt_sample_rate, Some(16_000));
        assert_eq!(provider.tts_sample_rates, [24_000]);
        assert!(provider.config_keys.iter().any(|k| k == "organization"));
    }
}
