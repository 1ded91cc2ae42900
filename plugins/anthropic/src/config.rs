//! Where requests go and how they authenticate: base URL, `x-api-key`, `anthropic-version`.

use serde_json::{Map, Value};
use voiceblox_plugin_kit::config::{self as kit_config, configured_base_url, merge_options};
use voiceblox_plugin_kit::json::OptionsExt;
use voiceblox_plugin_kit::url;

use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError};

/// The API's origin; a configured base URL replaces it (the SDKs' `ANTHROPIC_BASE_URL`, no
/// version path: requests go to `{base}/v1/messages`).
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The API version every request names (the current one; the SDKs send it too).
pub const API_VERSION: &str = "2023-06-01";

/// Keys read from `provider-config.options`: `anthropicVersion` overrides [`API_VERSION`],
/// `beta` is sent as `anthropic-beta` (comma-separated feature names).
pub const CONFIG_KEYS: &[&str] = &["anthropicVersion", "beta"];

/// The resolved endpoint of a stream.
#[derive(Debug, Clone)]
pub struct Endpoint {
    base: String,
    headers: Vec<Header>,
}

impl Endpoint {
    pub fn new(config: &ProviderConfig, options: &Map<String, Value>) -> Result<Self, ProviderError> {
        let base = configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL).trim_end_matches('/').to_string();
        let mut headers = Vec::new();
        // `api_key` is the host's placeholder; the real key never enters the plugin.
        if let Some(key) = config.api_key.as_deref() {
            headers.push(header("x-api-key", key));
        }
        let version = options.opt_str("anthropicVersion").map_err(invalid)?.unwrap_or(API_VERSION);
        headers.push(header("anthropic-version", version));
        if let Some(beta) = options.opt_str("beta").map_err(invalid)?.filter(|b| !b.trim().is_empty()) {
            headers.push(header("anthropic-beta", beta.trim()));
        }
        Ok(Endpoint { base, headers })
    }

    /// `{base}/v1/messages`, tolerating a base URL that already ends in `/v1`.
    pub fn messages_url(&self) -> String {
        let base = self.base.strip_suffix("/v1").unwrap_or(&self.base);
        url::join(base, "v1/messages")
    }

    pub fn headers(&self) -> Vec<Header> {
        let mut headers = self.headers.clone();
        headers.push(header("content-type", "application/json"));
        headers
    }
}

pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

/// The model to request, without a defensive `anthropic/` prefix, or `default`.
pub fn model_name(config: &ProviderConfig, default: &str) -> String {
    kit_config::model_name(&config.model, &config.provider, default)
}

pub fn merged_options(config: &ProviderConfig) -> Result<Map<String, Value>, ProviderError> {
    merge_options(&config.options, "").map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint(base_url: Option<&str>, options: Value) -> Endpoint {
        let config = crate::test_support::config("claude-sonnet-4-5", base_url, options);
        Endpoint::new(&config, &merged_options(&config).unwrap()).unwrap()
    }

    #[test]
    fn the_key_and_version_headers_and_the_messages_url() {
        let default = endpoint(None, json!({}));
        assert_eq!(default.messages_url(), "https://api.anthropic.com/v1/messages");
        let pairs: Vec<(String, String)> = default.headers().into_iter().map(|h| (h.name, h.value)).collect();
        assert_eq!(
            pairs,
            [
                ("x-api-key".to_string(), "{{api-key}}".to_string()),
                ("anthropic-version".into(), API_VERSION.into()),
                ("content-type".into(), "application/json".into()),
            ]
        );
        // A gateway, with or without the version path, and beta features.
        let gateway =
            endpoint(Some("https://llm.example.com/anthropic/v1/"), json!({"beta": "prompt-caching-2024-07-31"}));
        assert_eq!(gateway.messages_url(), "https://llm.example.com/anthropic/v1/messages");
        assert!(gateway.headers().iter().any(|h| h.name == "anthropic-beta" && h.value == "prompt-caching-2024-07-31"));
    }
}
