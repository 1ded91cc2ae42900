//! Failures as the contract's `provider-error`: HTTP errors by status, and the `error` events
//! a 200 stream may carry by their `type` (`overloaded_error` mid-answer, say).

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

/// `{"type": "error", "error": {"type", "message"}}` inside a stream: the status is gone, so
/// the error's type decides the class.
pub fn from_stream_error(document: &Value) -> ProviderError {
    let kind = document.get("error").and_then(|e| e.get("type")).and_then(Value::as_str).unwrap_or_default();
    let class = match kind {
        "rate_limit_error" => ErrorClass::RateLimited,
        "authentication_error" | "permission_error" | "billing_error" => ErrorClass::Unauthorized,
        "invalid_request_error" | "not_found_error" | "request_too_large" => ErrorClass::InvalidRequest,
        "timeout_error" => ErrorClass::Timeout,
        // overloaded_error, api_error, and whatever a newer API adds: the provider failed.
        _ => ErrorClass::Unavailable,
    };
    Failure::new(class, format!("{PROVIDER} stream error: {}", document_message(document))).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_kit::error_body::ErrorCollector;

    #[test]
    fn http_errors_by_status_with_the_apis_message() {
        let mut collector = ErrorCollector::new(529, None);
        collector.push(br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
        assert_eq!(
            from_http(collector.finish()),
            ProviderError::Unavailable("anthropic returned HTTP 529: Overloaded".into())
        );
    }

    #[test]
    fn stream_errors_by_type() {
        let error = |kind: &str| json!({"type": "error", "error": {"type": kind, "message": "m"}});
        assert_eq!(
            from_stream_error(&error("overloaded_error")),
            ProviderError::Unavailable("anthropic stream error: m".into())
        );
        assert!(matches!(from_stream_error(&error("rate_limit_error")), ProviderError::RateLimited(_)));
        assert!(matches!(from_stream_error(&error("invalid_request_error")), ProviderError::InvalidRequest(_)));
        assert!(matches!(from_stream_error(&error("authentication_error")), ProviderError::Unauthorized(_)));
    }
}
