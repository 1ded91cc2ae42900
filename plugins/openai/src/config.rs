//! Where requests go and how they authenticate: base URL, Azure mode, headers, model names.

use serde_json::{Map, Value};
use voiceblox_plugin_kit::config::{self as kit_config, configured_base_url, merge_options};
use voiceblox_plugin_kit::json::OptionsExt;
use voiceblox_plugin_kit::url;

use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError};

/// Base URL of the public API; a configured one includes the version path like the SDKs'.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Azure OpenAI's current GA data-plane version.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";

/// Keys read from `provider-config.options` (and the per-stream request options).
pub const CONFIG_KEYS: &[&str] = &["organization", "project", "azure", "apiVersion", "instructions", "speed", "prompt"];

/// The one host that speaks today's OpenAI dialect (`max_completion_tokens`).
const OFFICIAL_HOST: &str = "api.openai.com";

/// One resolved endpoint configuration, shared by every request of a stream.
#[derive(Debug, Clone)]
pub struct Endpoint {
    base: String,
    /// A query the operator put on the base URL (some Azure setups paste `?api-version=...`).
    base_query: String,
    azure_api_version: Option<String>,
    official: bool,
    headers: Vec<Header>,
}

impl Endpoint {
    /// Resolves the endpoint from the provider config and the merged options.
    pub fn new(config: &ProviderConfig, options: &Map<String, Value>) -> Result<Self, ProviderError> {
        let base_url = configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL);
        let (base, base_query) = match base_url.split_once('?') {
            Some((base, query)) => (base.to_string(), query.to_string()),
            None => (base_url, String::new()),
        };
        let base = base.trim_end_matches('/').to_string();
        let host = url::host(&base);

        let azure = options.opt_bool("azure").map_err(invalid)?.unwrap_or(false) || host.ends_with(".openai.azure.com");
        let api_version = options.opt_str("apiVersion").map_err(invalid)?;
        let azure_api_version = azure.then(|| api_version.unwrap_or(DEFAULT_AZURE_API_VERSION).to_string());

        let mut headers = Vec::new();
        // `api_key` is the host's placeholder; the real key never enters the plugin.
        if let Some(key) = config.api_key.as_deref() {
            // Azure keys go in `api-key`; a Bearer header there means an Entra ID token.
            headers.push(if azure {
                header("api-key", key)
            } else {
                header("Authorization", &format!("Bearer {key}"))
            });
        }
        if let Some(organization) = options.opt_str("organization").map_err(invalid)? {
            headers.push(header("OpenAI-Organization", organization));
        }
        if let Some(project) = options.opt_str("project").map_err(invalid)? {
            headers.push(header("OpenAI-Project", project));
        }

        Ok(Endpoint { base, base_query, azure_api_version, official: host == OFFICIAL_HOST, headers })
    }

    /// The URL of an API path (`chat/completions`), with Azure's `api-version` when needed.
    pub fn url(&self, path: &str) -> String {
        let mut query = self.base_query.clone();
        if let Some(version) = &self.azure_api_version {
            let already = query.split('&').any(|pair| pair.starts_with("api-version="));
            if !already {
                let pair = format!("api-version={}", url::percent_encode(version));
                query = if query.is_empty() { pair } else { format!("{query}&{pair}") };
            }
        }
        url::append_query(&url::join(&self.base, path), &query)
    }

    /// Authentication and account headers plus this request's content type.
    pub fn headers(&self, content_type: &str) -> Vec<Header> {
        let mut headers = self.headers.clone();
        headers.push(header("Content-Type", content_type));
        headers
    }

    /// api.openai.com renamed `max_tokens` (rejected by reasoning models); compatible servers
    /// mostly know only the old name.
    pub fn max_tokens_field(&self) -> &'static str {
        if self.official { "max_completion_tokens" } else { "max_tokens" }
    }
}

/// A header record.
pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

/// The model to request: the configured one without a defensive `openai/` prefix, or `default`.
pub fn model_name(config: &ProviderConfig, default: &str) -> String {
    kit_config::model_name(&config.model, &config.provider, default)
}

/// The provider options overlaid with a stream's own options (the stream's win).
pub fn merged_options(config: &ProviderConfig, stream_options: &str) -> Result<Map<String, Value>, ProviderError> {
    merge_options(&config.options, stream_options).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(base_url: Option<&str>, options: Value) -> ProviderConfig {
        crate::test_support::config("gpt-4.1-mini", base_url, options)
    }

    fn endpoint(base_url: Option<&str>, options: Value) -> Endpoint {
        let config = config(base_url, options);
        let options = merged_options(&config, "").unwrap();
        Endpoint::new(&config, &options).unwrap()
    }

    fn pairs(headers: &[Header]) -> Vec<(&str, &str)> {
        headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect()
    }

    #[test]
    fn default_endpoint_is_public_api_with_bearer() {
        let endpoint = endpoint(None, json!({}));
        assert_eq!(endpoint.url("chat/completions"), "https://api.openai.com/v1/chat/completions");
        assert_eq!(
            pairs(&endpoint.headers("application/json")),
            [("Authorization", "Bearer {{api-key}}"), ("Content-Type", "application/json")]
        );
        assert_eq!(endpoint.max_tokens_field(), "max_completion_tokens");
    }

    #[test]
    fn compatible_servers_keep_their_version_path() {
        let ollama = endpoint(Some("http://127.0.0.1:11434/v1/"), json!({}));
        assert_eq!(ollama.url("chat/completions"), "http://127.0.0.1:11434/v1/chat/completions");
        assert_eq!(ollama.max_tokens_field(), "max_tokens");
        let groq = endpoint(Some("https://api.groq.com/openai/v1"), json!({}));
        assert_eq!(groq.url("audio/speech"), "https://api.groq.com/openai/v1/audio/speech");
    }

    #[test]
    fn no_key_means_no_auth_header() {
        let mut config = config(Some("http://127.0.0.1:11434/v1"), json!({}));
        config.api_key = None;
        let endpoint = Endpoint::new(&config, &Map::new()).unwrap();
        assert_eq!(pairs(&endpoint.headers("application/json")), [("Content-Type", "application/json")]);
    }

    #[test]
    fn azure_by_host_uses_api_key_header_and_version() {
        let endpoint = endpoint(Some("https://my-res.openai.azure.com/openai/deployments/gpt-4o"), json!({}));
        assert_eq!(
            endpoint.url("chat/completions"),
            "https://my-res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(pairs(&endpoint.headers("application/json"))[0], ("api-key", "{{api-key}}"));
        assert_eq!(endpoint.max_tokens_field(), "max_tokens");
    }

    #[test]
    fn azure_by_option_with_version_and_existing_query() {
        let endpoint = endpoint(
            Some("https://gateway.example.com/openai/deployments/x"),
            json!({"azure": true, "apiVersion": "2025-01-01-preview"}),
        );
        assert_eq!(
            endpoint.url("audio/speech"),
            "https://gateway.example.com/openai/deployments/x/audio/speech?api-version=2025-01-01-preview"
        );
        let pasted = endpoint_with_query();
        assert_eq!(
            pasted.url("chat/completions"),
            "https://r.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-06-01"
        );
    }

    fn endpoint_with_query() -> Endpoint {
        endpoint(Some("https://r.openai.azure.com/openai/deployments/d?api-version=2024-06-01"), json!({}))
    }

    #[test]
    fn organization_and_project_headers() {
        let endpoint = endpoint(None, json!({"organization": "org-1", "project": "proj_2"}));
        assert_eq!(
            pairs(&endpoint.headers("application/json")),
            [
                ("Authorization", "Bearer {{api-key}}"),
                ("OpenAI-Organization", "org-1"),
                ("OpenAI-Project", "proj_2"),
                ("Content-Type", "application/json"),
            ]
        );
    }

    #[test]
    fn wrong_option_types_are_invalid_requests() {
        let config = config(None, json!({"azure": "yes"}));
        let options = merged_options(&config, "").unwrap();
        assert_eq!(
            Endpoint::new(&config, &options).unwrap_err(),
            ProviderError::InvalidRequest("option `azure` must be a boolean, got a string".into())
        );
        let mut broken = config.clone();
        broken.options = "{".into();
        assert!(
            matches!(merged_options(&broken, ""), Err(ProviderError::InvalidRequest(m)) if m.starts_with("provider options is not valid JSON"))
        );
    }

    #[test]
    fn model_prefix_is_stripped_once() {
        let mut config = config(None, json!({}));
        config.model = "openai/gpt-4.1-mini".into();
        assert_eq!(model_name(&config, "x"), "gpt-4.1-mini");
        config.model = "meta-llama/llama-4-scout".into();
        assert_eq!(model_name(&config, "x"), "meta-llama/llama-4-scout");
        config.model = " ".into();
        assert_eq!(model_name(&config, "gpt-4o-mini-tts"), "gpt-4o-mini-tts");
    }

    #[test]
    fn stream_options_override_provider_options() {
        let config = config(None, json!({"speed": 1.0, "project": "p"}));
        let options = merged_options(&config, r#"{"speed": 1.25}"#).unwrap();
        assert_eq!(options.get("speed"), Some(&json!(1.25)));
        assert_eq!(options.get("project"), Some(&json!("p")));
    }
}
