//! Where requests go and how they authenticate: base URL, `Token` header, model names, and
//! provider options passed through as query parameters.

use serde_json::{Map, Value};
pub use voiceblox_plugin_kit::config::model_name;
use voiceblox_plugin_kit::config::{configured_base_url, merge_options};
use voiceblox_plugin_kit::json::type_name;
use voiceblox_plugin_kit::url::{self, Query};

use crate::error::invalid;
use voiceblox_plugin_contract::types::{Header, ProviderConfig, ProviderError};

/// The public API; `/v1/...` paths are appended.
pub const DEFAULT_BASE_URL: &str = "https://api.deepgram.com";

/// The configured base URL (a bare host such as `api.eu.deepgram.com` gets `https://`, as the
/// SDKs' `DEEPGRAM_HOST` allows), without a trailing slash.
pub fn base_url(config: &ProviderConfig) -> String {
    configured_base_url(config.base_url.as_deref(), DEFAULT_BASE_URL).trim_end_matches('/').to_string()
}

/// `{base}/v1/{endpoint}`; a base that already ends in `/v1` is not given a second one.
pub fn api_url(base: &str, endpoint: &str) -> String {
    if base.ends_with("/v1") { url::join(base, endpoint) } else { url::join(base, &format!("v1/{endpoint}")) }
}

/// `Authorization: Token <placeholder>` when the host holds a key (self-hosted servers need none).
pub fn auth_headers(config: &ProviderConfig) -> Vec<Header> {
    config.api_key.as_deref().map(|key| vec![header("Authorization", &format!("Token {key}"))]).unwrap_or_default()
}

/// A header record.
pub fn header(name: &str, value: &str) -> Header {
    Header { name: name.to_string(), value: value.to_string() }
}

/// Provider options overlaid with the stream's own options (the stream's win).
pub fn merged_options(config: &ProviderConfig, stream_options: &str) -> Result<Map<String, Value>, ProviderError> {
    merge_options(&config.options, stream_options).map_err(invalid)
}

/// Applies options as query parameters, after the adapter's own: a value replaces the default
/// with the same name, an array repeats the parameter, `null` removes it. Keys are applied in
/// sorted order so the URL does not depend on how the JSON map is ordered.
pub fn apply_options(query: &mut Query, options: &Map<String, Value>) -> Result<(), ProviderError> {
    let mut entries: Vec<(&String, &Value)> = options.iter().collect();
    entries.sort_by_key(|(key, _)| *key);
    for (key, value) in entries {
        match value {
            Value::Null => {
                query.remove(key);
            }
            Value::Array(items) => {
                query.remove(key);
                for item in items {
                    query.push(key, scalar(key, item)?);
                }
            }
            other => {
                query.set(key, scalar(key, other)?);
            }
        }
    }
    Ok(())
}

fn scalar(key: &str, value: &Value) -> Result<String, ProviderError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(invalid(format!("option `{key}` must be a string, number or boolean, got {}", type_name(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(base_url: Option<&str>) -> ProviderConfig {
        crate::test_support::config("nova-3", base_url, json!({}))
    }

    #[test]
    fn base_urls() {
        assert_eq!(base_url(&config(None)), "https://api.deepgram.com");
        assert_eq!(base_url(&config(Some("api.eu.deepgram.com"))), "https://api.eu.deepgram.com");
        assert_eq!(base_url(&config(Some("http://localhost:8080/"))), "http://localhost:8080");
        assert_eq!(api_url("https://api.deepgram.com", "speak"), "https://api.deepgram.com/v1/speak");
        assert_eq!(api_url("http://dg.internal/v1", "listen"), "http://dg.internal/v1/listen");
    }

    #[test]
    fn token_auth_only_with_a_key() {
        let mut config = config(None);
        assert_eq!(auth_headers(&config), [header("Authorization", "Token {{api-key}}")]);
        config.api_key = None;
        assert!(auth_headers(&config).is_empty());
    }

    #[test]
    fn models() {
        assert_eq!(model_name("deepgram/nova-3", "deepgram", "x"), "nova-3");
        assert_eq!(model_name("", "deepgram", "aura-2-thalia-en"), "aura-2-thalia-en");
        assert_eq!(model_name("nova-2-phonecall", "deepgram", "x"), "nova-2-phonecall");
    }

    #[test]
    fn options_become_query_parameters() {
        let mut query = Query::new();
        query.push("model", "nova-3").push("smart_format", "true").push("punctuate", "true");
        let Value::Object(options) = json!({
            "smart_format": false,
            "punctuate": null,
            "redact": ["pci", "ssn"],
            "utterance_end_ms": 1500,
            "tag": "support line",
        }) else {
            unreachable!()
        };
        apply_options(&mut query, &options).unwrap();
        assert_eq!(
            query.encode(),
            "model=nova-3&smart_format=false&redact=pci&redact=ssn&tag=support%20line&utterance_end_ms=1500"
        );
    }

    #[test]
    fn nested_option_objects_are_refused() {
        let Value::Object(options) = json!({"extra": {"a": 1}}) else { unreachable!() };
        assert_eq!(
            apply_options(&mut Query::new(), &options).unwrap_err(),
            ProviderError::InvalidRequest("option `extra` must be a string, number or boolean, got an object".into())
        );
    }
}
