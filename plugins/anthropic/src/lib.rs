//! Anthropic adapter: the Messages API (`POST /v1/messages`, streamed), with tool use and usage,
//! for api.anthropic.com or a configured base URL (a proxy, a gateway).
//!
//! The stream is a sans-I/O state machine ([`messages::MessageStream`]): the host feeds it
//! inputs and performs the HTTP request it returns. It is plain Rust, tested natively by
//! replaying recorded traffic; this file only describes it and exports it with the SDK.

mod config;
mod error;
pub mod messages;
mod request;
mod sse_event;
#[cfg(test)]
mod test_support;

use voiceblox_plugin_sdk::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::{LlmProvider, ProviderSpec, llm, single_provider};

/// Provider id, also the `provider/` prefix stripped from model names.
pub const PROVIDER: &str = "anthropic";

/// The exported component.
pub struct Plugin;

impl voiceblox_plugin_sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        single_provider(
            "anthropic",
            env!("CARGO_PKG_VERSION"),
            &ProviderSpec {
                id: PROVIDER,
                kinds: &[Kind::Llm],
                hosts: &["api.anthropic.com"],
                config_keys: config::CONFIG_KEYS,
                api_key_env: &["ANTHROPIC_API_KEY"],
                base_url_env: &["ANTHROPIC_BASE_URL"],
                ..ProviderSpec::NONE
            },
        )
    }
}

impl LlmProvider for Plugin {
    type Stream = messages::MessageStream;

    fn open(config: ProviderConfig, request: llm::Request) -> Result<Self::Stream, ProviderError> {
        messages::MessageStream::open(&config, &request)
    }
}

impl voiceblox_plugin_sdk::Stream for messages::MessageStream {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        messages::MessageStream::handle(self, input)
    }
}

voiceblox_plugin_sdk::export!(Plugin, llm = Plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use voiceblox_plugin_sdk::Plugin as _;

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
