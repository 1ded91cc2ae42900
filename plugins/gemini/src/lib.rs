//! Google Gemini adapter: the Gemini API's `streamGenerateContent` (server-sent events), with
//! function calling and usage, for generativelanguage.googleapis.com or a configured base URL.
//!
//! The stream is a sans-I/O state machine ([`generate::GenerateStream`]): the host feeds it
//! inputs and performs the HTTP request it returns. It is plain Rust, tested natively by
//! replaying recorded traffic; this file only describes it and exports it with the SDK.

mod chunk;
mod config;
mod error;
pub mod generate;
mod request;
mod schema;
#[cfg(test)]
mod test_support;
mod tool_id;

use voiceblox_plugin_sdk::types::{Action, Input, Kind, PluginInfo, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::{LlmProvider, ProviderSpec, llm, single_provider};

/// Provider id, also the `provider/` prefix stripped from model names (`google/gemini-2.5-flash`).
pub const PROVIDER: &str = "google";

/// The exported component.
pub struct Plugin;

impl voiceblox_plugin_sdk::Plugin for Plugin {
    fn describe() -> PluginInfo {
        single_provider(
            "gemini",
            env!("CARGO_PKG_VERSION"),
            &ProviderSpec {
                id: PROVIDER,
                kinds: &[Kind::Llm],
                hosts: &["generativelanguage.googleapis.com"],
                config_keys: config::CONFIG_KEYS,
                // The google-genai SDKs read GOOGLE_API_KEY first, then GEMINI_API_KEY.
                api_key_env: &["GOOGLE_API_KEY", "GEMINI_API_KEY"],
                base_url_env: &["GOOGLE_BASE_URL"],
                ..ProviderSpec::NONE
            },
        )
    }
}

// WIT resources take `&self`: the stream is its state machine in a `RefCell` (a component
// instance is single-threaded and the host never re-enters a stream).
impl LlmProvider for Plugin {
    type Stream = generate::GenerateStream;

    fn open(config: ProviderConfig, request: llm::Request) -> Result<Self::Stream, ProviderError> {
        generate::GenerateStream::open(&config, &request)
    }
}

impl voiceblox_plugin_sdk::Stream for generate::GenerateStream {
    fn handle(&mut self, input: Input) -> Vec<Action> {
        generate::GenerateStream::handle(self, input)
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
        assert_eq!(info.name, "gemini");
        let provider = &info.providers[0];
        assert_eq!(provider.id, "google");
        assert_eq!(provider.kinds, [Kind::Llm]);
        assert_eq!(provider.hosts, ["generativelanguage.googleapis.com"]);
        assert_eq!(provider.api_key_env, ["GOOGLE_API_KEY", "GEMINI_API_KEY"]);
        assert_eq!(provider.base_url_env, ["GOOGLE_BASE_URL"]);
        assert_eq!(provider.config_keys, ["apiVersion"]);
    }
}
