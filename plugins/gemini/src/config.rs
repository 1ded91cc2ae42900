//! Where requests go and how they authenticate: base URL, API version, model path and the
//! `x-goog-api-key` header.

use serde_json::{Map, Value};
use voiceblox_plugin_kit::config::{self as kit_config, configured_base_url, merge_options};
use voiceblox_plugin_kit::json::OptionsExt;
use voiceblox_plugin_kit::url;

use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError};

/// The API's origin; a configured base URL replaces it. As in the google-genai SDKs, the base
/// carries no version: requests go to `{base}/{apiVersion}/models/{model}:streamGenerateContent`.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The API version requests name: `v1beta` is where function calling, system instructions and
/// thought signatures all live (the SDKs default to it too).
pub const API_VERSION: &str = "v1beta";

/// Keys read from `provider-config.options`: `apiVersion` overrides [`API_VERSION`].
pub const CONFIG_KEYS: &[&str] = &["apiVersion"];

/// The resolved endpoint of a stream.
#[derive(Debug, Clone)]
pub struct Endpoint {
    base: String,
    version: String,
    headers: Vec<Header>,
}

impl Endpoint {
    pub fn new(config: &ProviderConfig, options: &Map<String, Value>) -> Result<Self, ProviderError> {
        let base = configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL).trim_end_matches('/').to_string();
        let version = options.opt_str("apiVersion").map_err(invalid)?.map_or(API_VERSION, str::trim);
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid(format!("option `apiVersion` must be a version like `v1beta`, got `{version}`")));
        }
        let mut headers = Vec::new();
        // `api_key` is the host's placeholder; the real key never enters the plugin. The header,
        // not the `?key=` query the REST docs also show, so the key stays out of URLs and logs.
        if let Some(key) = config.api_key.as_deref() {
            headers.push(header("x-goog-api-key", key));
        }
        headers.push(header("content-type", "application/json"));
        Ok(Endpoint { base, version: version.to_string(), headers })
    }

    /// `{base}/{version}/models/{model}:streamGenerateContent?alt=sse`, tolerating a base URL that
    /// already ends in the version (a gateway configured with the SDK's full path).
    pub fn stream_url(&self, model: &str) -> String {
        let suffix = format!("/{}", self.version);
        let base = self.base.strip_suffix(&suffix).unwrap_or(&self.base);
        // Without `alt=sse` the API streams one JSON array instead of server-sent events.
        url::join(base, &format!("{}/models/{model}:streamGenerateContent?alt=sse", self.version))
    }

    pub fn headers(&self) -> Vec<Header> {
        self.headers.clone()
    }
}

pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

/// The model to request: without a defensive `google/` prefix or the API's own `models/`
/// resource prefix, or `default`. It becomes a path segment, so anything but a plain model id
/// is refused rather than sent.
pub fn model_name(config: &ProviderConfig, default: &str) -> Result<String, ProviderError> {
    let model = kit_config::model_name(&config.model, &config.provider, default);
    let model = model.strip_prefix("models/").unwrap_or(&model).to_string();
    if model.is_empty() || !model.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')) {
        return Err(invalid(format!("`{model}` is not a Gemini model id (like `gemini-2.5-flash`)")));
    }
    Ok(model)
}

pub fn merged_options(config: &ProviderConfig) -> Result<Map<String, Value>, ProviderError> {
    merge_options(&config.options, "").map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoint(base_url: Option<&str>, options: Value) -> Result<Endpoint, ProviderError> {
        let config = crate::test_support::config("gemini-2.5-flash", base_url, options);
        Endpoint::new(&config, &merged_options(&config)?)
    }

    #[test]
    fn the_key_header_and_the_streaming_url() {
        let default = endpoint(None, json!({})).unwrap();
        assert_eq!(
            default.stream_url("gemini-2.5-flash"),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        let pairs: Vec<(String, String)> = default.headers().into_iter().map(|h| (h.name, h.value)).collect();
        assert_eq!(
            pairs,
            [
                ("x-goog-api-key".to_string(), "{{api-key}}".to_string()),
                ("content-type".into(), "application/json".into())
            ]
        );
        // A gateway, with or without the version path, and another version.
        let gateway = endpoint(Some("https://llm.example.com/google/v1beta/"), json!({})).unwrap();
        assert_eq!(
            gateway.stream_url("m"),
            "https://llm.example.com/google/v1beta/models/m:streamGenerateContent?alt=sse"
        );
        let v1 = endpoint(Some("http://127.0.0.1:9"), json!({"apiVersion": "v1"})).unwrap();
        assert_eq!(v1.stream_url("m"), "http://127.0.0.1:9/v1/models/m:streamGenerateContent?alt=sse");
        assert!(endpoint(None, json!({"apiVersion": "../x"})).is_err());
    }

    #[test]
    fn model_ids_lose_their_prefixes_and_must_be_plain() {
        let model = |name: &str| model_name(&crate::test_support::config(name, None, json!({})), "gemini-2.5-flash");
        assert_eq!(model("google/gemini-2.5-pro").unwrap(), "gemini-2.5-pro");
        assert_eq!(model("models/gemini-2.0-flash-001").unwrap(), "gemini-2.0-flash-001");
        assert_eq!(model("").unwrap(), "gemini-2.5-flash");
        assert!(matches!(model("gemini/../../x?key=1"), Err(ProviderError::InvalidRequest(_))));
    }
}
