//! Mapping failures onto the contract's typed `provider-error`.

use serde_json::Value;
use voiceblox_plugin_kit::error_body::{HttpFailure, document_message};
use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::ErrorClass;

use crate::PROVIDER;
use voiceblox_plugin_contract::errors;
pub use voiceblox_plugin_contract::errors::{invalid, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// A failed HTTP response.
pub fn from_http(failure: HttpFailure) -> ProviderError {
    errors::from_http(failure, PROVIDER)
}

/// An `{"error": {...}}` object sent inside a 200 stream: the status is gone, so the error's
/// `type`/`code` decide the class (`rate_limit_exceeded`, `server_error`, ...).
pub fn from_stream_error(document: &Value) -> ProviderError {
    let error = document.get("error").unwrap_or(document);
    let field = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default();
    let kind = format!("{} {}", field("type"), field("code")).to_ascii_lowercase();
    let class = if kind.contains("rate_limit") || kind.contains("quota") {
        ErrorClass::RateLimited
    } else if kind.contains("auth") || kind.contains("api_key") || kind.contains("permission") {
        ErrorClass::Unauthorized
    } else if kind.contains("invalid_request") || kind.contains("context_length") {
        ErrorClass::InvalidRequest
    } else if kind.contains("timeout") {
        ErrorClass::Timeout
    } else {
        ErrorClass::Unavailable
    };
    Failure::new(class, format!("{PROVIDER} stream error: {}", document_message(document))).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_contract::types::RateLimit;
    use voiceblox_plugin_kit::error_body::ErrorCollector;

    #[test]
    fn http_failures_keep_class_and_retry_hint() {
        let mut collector = ErrorCollector::new(429, Some(20_000));
        collector.push(br#"{"error":{"message":"Slow down","type":"requests","code":"rate_limit_exceeded"}}"#);
        assert_eq!(
            from_http(collector.finish()),
            ProviderError::RateLimited(RateLimit {
                message: "openai returned HTTP 429: Slow down".into(),
                retry_after_ms: Some(20_000),
            })
        );
    }

    #[test]
    fn stream_errors_classify_by_type_and_code() {
        let server = json!({"error": {"message": "The server had an error", "type": "server_error", "code": null}});
        assert_eq!(
            from_stream_error(&server),
            ProviderError::Unavailable("openai stream error: The server had an error".into())
        );
        let limit = json!({"error": {"message": "Rate limit", "type": "tokens", "code": "rate_limit_exceeded"}});
        assert!(matches!(from_stream_error(&limit), ProviderError::RateLimited(_)));
        let context = json!({"error": {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}});
        assert!(matches!(from_stream_error(&context), ProviderError::InvalidRequest(_)));
    }
}
