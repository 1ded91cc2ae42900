//! Anthropic adapter: the Messages API (`POST /v1/messages`, streamed), with tool use and usage,
//! for api.anthropic.com or a configured base URL (a proxy, a gateway).
//!
//! The stream is a sans-I/O state machine ([`messages::MessageStream`]): the host feeds it
//! inputs and performs the HTTP request it returns. It is plain Rust, tested natively by
//! replaying recorded traffic; this file only binds it to the WIT contract.

use std::cell::RefCell;

wit_bindgen::generate!({
    path: "../../wit",
    world: "llm-plugin",
    additional_derives: [PartialEq],
    with: { "voiceblox:plugin/types@0.1.0": voiceblox_plugin_contract::types },
});

mod config;
mod error;
pub mod messages;
mod request;
mod sse_event;
#[cfg(test)]
mod test_support;

use exports::voiceblox::plugin::{llm as wit_llm, meta};
use voiceblox_plugin_contract::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError, ProviderInfo};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "anthropic";

/// The exported component.
pub struct Plugin;

impl meta::Guest for Plugin {
    fn describe() -> PluginInfo {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        PluginInfo {
            name: "anthropic".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            providers: vec![ProviderInfo {
                id: PROVIDER.into(),
                kinds: vec![Kind::Llm],
                hosts: strings(&["api.anthropic.com"]),
                config_keys: strings(config::CONFIG_KEYS),
                api_key_env: strings(&["ANTHROPIC_API_KEY"]),
                base_url_env: strings(&["ANTHROPIC_BASE_URL"]),
                stt_mode: None,
                stt_sample_rate: None,
                tts_sample_rates: Vec::new(),
            }],
        }
    }
}

// WIT resources take `&self`: the stream is its state machine in a `RefCell` (a component
// instance is single-threaded and the host never re-enters a stream).
impl wit_llm::GuestCompletion for RefCell<messages::MessageStream> {
    fn handle(&self, input: Input) -> Vec<Action> {
        self.borrow_mut().handle(input)
    }
}

impl wit_llm::Guest for Plugin {
    type Completion = RefCell<messages::MessageStream>;

    fn open(config: ProviderConfig, request: wit_llm::Request) -> Result<wit_llm::Completion, ProviderError> {
        Ok(wit_llm::Completion::new(RefCell::new(messages::MessageStream::open(&config, &request)?)))
    }
}

// Component export names are not valid symbols for a native library, so the exports exist only
// in the wasm build; native builds (unit tests) call the state machine directly.
#[cfg(target_arch = "wasm32")]
export!(Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use meta::Guest as _;

    #[test]
    fn describe_declares_the_provider() {
        let info = Plugin::describe();
        assert_eq!(info.name, "anthropic");
        let provider = &info.providers[0];
        assert_eq!(provider.id, "anthropic");
        assert_eq!(provider.kinds, [Kind::Llm]);
        assert_eq!(provider.hosts, ["api.anthropic.com"]);
        assert_eq!(provider.api_key_env, ["ANTHROPIC_API_KEY"]);
        assert_eq!(provider.base_url_env, ["ANTHROPIC_BASE_URL"]);
    }
}
