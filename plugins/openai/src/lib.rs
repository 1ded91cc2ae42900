//! OpenAI adapter: chat completions (streamed), speech (`/audio/speech`) and transcription
//! (`/audio/transcriptions`), for api.openai.com and any OpenAI-compatible server (Ollama, Groq,
//! vLLM, Azure OpenAI) reached through a configured base URL.
//!
//! Each stream is a sans-I/O state machine ([`llm::ChatStream`], [`tts::Speech`],
//! [`stt::Transcriber`]): the host feeds it inputs and performs the HTTP requests it returns.
//! The state machines are plain Rust so they are tested natively by replaying recorded traffic;
//! this file only binds them to the WIT contract.

use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "full-plugin",
    additional_derives: [PartialEq],
    with: { "voiceblox:plugin/types@0.2.0": voiceblox_plugin_contract::types },
});

mod config;
mod error;
pub mod llm;
mod llm_chunk;
mod llm_request;
mod multipart;
mod response;
pub mod stt;
mod stt_response;
#[cfg(test)]
mod test_support;
mod tool_calls;
pub mod tts;

use exports::voiceblox::plugin::{llm as wit_llm, meta, stt as wit_stt, tts as wit_tts};
use voiceblox_plugin_contract::types::{
    Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError, ProviderInfo, SttMode,
};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "openai";

/// The exported component.
pub struct Plugin;

impl meta::Guest for Plugin {
    fn describe() -> PluginInfo {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        PluginInfo {
            name: "openai".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            providers: vec![ProviderInfo {
                id: PROVIDER.into(),
                kinds: vec![Kind::Llm, Kind::Tts, Kind::Stt],
                hosts: strings(&["api.openai.com"]),
                config_keys: strings(config::CONFIG_KEYS),
                api_key_env: strings(&["OPENAI_API_KEY"]),
                base_url_env: strings(&["OPENAI_BASE_URL"]),
                stt_mode: Some(SttMode::Batch),
                stt_sample_rate: Some(stt::SAMPLE_RATE),
                tts_sample_rates: vec![tts::SAMPLE_RATE],
            }],
        }
    }
}

// WIT resources take `&self`: each resource is its state machine in a `RefCell` (a component
// instance is single-threaded and the host never re-enters a stream).

impl wit_llm::GuestCompletion for RefCell<llm::ChatStream> {
    fn handle(&self, input: Input) -> Vec<Action> {
        self.borrow_mut().handle(input)
    }
}

impl wit_llm::Guest for Plugin {
    type Completion = RefCell<llm::ChatStream>;

    fn open(config: ProviderConfig, request: wit_llm::Request) -> Result<wit_llm::Completion, ProviderError> {
        Ok(wit_llm::Completion::new(RefCell::new(llm::ChatStream::open(&config, &request)?)))
    }
}

impl wit_tts::GuestSynthesis for RefCell<tts::Speech> {
    fn handle(&self, input: Input) -> Vec<Action> {
        self.borrow_mut().handle(input)
    }
}

impl wit_tts::Guest for Plugin {
    type Synthesis = RefCell<tts::Speech>;

    fn open(config: ProviderConfig, request: wit_tts::Request) -> Result<wit_tts::Synthesis, ProviderError> {
        Ok(wit_tts::Synthesis::new(RefCell::new(tts::Speech::open(&config, &request)?)))
    }
}

impl wit_stt::GuestTranscription for RefCell<stt::Transcriber> {
    fn handle(&self, input: Input) -> Vec<Action> {
        self.borrow_mut().handle(input)
    }
}

impl wit_stt::Guest for Plugin {
    type Transcription = RefCell<stt::Transcriber>;

    fn open(config: ProviderConfig, request: wit_stt::Request) -> Result<wit_stt::Transcription, ProviderError> {
        Ok(wit_stt::Transcription::new(RefCell::new(stt::Transcriber::open(&config, &request)?)))
    }
}

// Component export names (`voiceblox:plugin/llm@0.2.0#open`) are not valid symbol names for a
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
