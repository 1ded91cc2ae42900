//! Reading a stream's provider configuration: base URL, model name and options.

use serde_json::{Map, Value};

use crate::json::{OptionsExt, parse_object};
use crate::url;

/// The configured base URL, or `default` when none (or a blank one) is configured. A bare host
/// (`api.eu.deepgram.com`) gets `https://`, as the provider SDKs allow.
pub fn configured_base_url(configured: Option<&str>, default: &str) -> String {
    let configured = configured.map(str::trim).filter(|s| !s.is_empty());
    configured.map_or_else(|| default.to_string(), url::with_default_scheme)
}

/// `model` without a defensive `<provider>/` prefix, or `default` when empty.
pub fn model_name(model: &str, provider: &str, default: &str) -> String {
    let model = model.trim();
    let model = model.strip_prefix(&format!("{provider}/")).unwrap_or(model);
    if model.is_empty() { default.to_string() } else { model.to_string() }
}

/// The provider options overlaid with a stream's own options (the stream's win). Both are JSON
/// object text, empty meaning `{}`; the error says which is wrong.
pub fn merge_options(provider_options: &str, stream_options: &str) -> Result<Map<String, Value>, String> {
    let mut options = parse_object(provider_options, "provider options")?;
    options.extend(parse_object(stream_options, "request options")?);
    Ok(options)
}

/// How a speech stream reaches its provider, when the provider offers both: the `transport`
/// option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One socket per stream: text goes out as it arrives, audio comes back meanwhile.
    WebSocket,
    /// One request per flushed sentence group.
    Http,
}

/// The `transport` option: `websocket` (or `ws`, the default) or `http`.
pub fn transport(options: &Map<String, Value>) -> Result<Transport, String> {
    match options.opt_str("transport")?.map(str::trim) {
        None | Some("websocket" | "ws") => Ok(Transport::WebSocket),
        Some("http") => Ok(Transport::Http),
        Some(other) => Err(format!("option `transport` must be \"websocket\" or \"http\", got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_urls() {
        assert_eq!(configured_base_url(None, "https://a.test/v1"), "https://a.test/v1");
        assert_eq!(configured_base_url(Some("  "), "https://a.test"), "https://a.test");
        assert_eq!(configured_base_url(Some(" b.test/ "), "https://a.test"), "https://b.test/");
        assert_eq!(configured_base_url(Some("http://localhost:8080"), "https://a.test"), "http://localhost:8080");
    }

    #[test]
    fn model_prefix_is_stripped_once() {
        assert_eq!(model_name("openai/gpt-4.1-mini", "openai", "x"), "gpt-4.1-mini");
        assert_eq!(model_name("meta-llama/llama-4-scout", "openai", "x"), "meta-llama/llama-4-scout");
        assert_eq!(model_name(" ", "deepgram", "aura-2-thalia-en"), "aura-2-thalia-en");
    }

    #[test]
    fn stream_options_win() {
        let options = merge_options(r#"{"speed": 1.0, "project": "p"}"#, r#"{"speed": 1.25}"#).unwrap();
        assert_eq!(Value::Object(options), json!({"speed": 1.25, "project": "p"}));
        assert!(merge_options("{", "").unwrap_err().starts_with("provider options is not valid JSON"));
        assert_eq!(merge_options("", "[]").unwrap_err(), "request options must be a JSON object, got an array");
    }

    #[test]
    fn transports() {
        let transport_of = |options: Value| match options {
            Value::Object(options) => transport(&options),
            _ => unreachable!("the test passes objects"),
        };
        assert_eq!(transport_of(json!({})), Ok(Transport::WebSocket));
        assert_eq!(transport_of(json!({"transport": " ws "})), Ok(Transport::WebSocket));
        assert_eq!(transport_of(json!({"transport": "http"})), Ok(Transport::Http));
        assert_eq!(
            transport_of(json!({"transport": "grpc"})),
            Err("option `transport` must be \"websocket\" or \"http\", got \"grpc\"".into())
        );
        assert_eq!(
            transport_of(json!({"transport": 1})),
            Err("option `transport` must be a string, got a number".into())
        );
    }
}
