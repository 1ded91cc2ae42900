//! Mapping Cartesia failures onto the contract's typed `provider-error`: error messages sent on
//! the socket and close frames. (HTTP error bodies are the kit's: it quotes their `message`.)
//!
//! Cartesia's error documents carry an HTTP-style `status_code`, the explanation (`message`, or
//! `error` in the older shape) and since 2025 a machine-readable `error_code` and a `title`:
//! `{"type": "error", "status_code": 401, "error_code": "invalid_api_key", "title": "...",
//! "message": "...", "done": true, "context_id": "...", "request_id": "..."}`.

use serde_json::Value;
use voiceblox_plugin_kit::error_body::truncate;
use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::{ErrorClass, classify_status};
use voiceblox_plugin_kit::ws_close::close_failure;

use crate::PROVIDER;
pub use voiceblox_plugin_contract::errors::{invalid, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// Longest provider text quoted in an error.
const MAX_QUOTED: usize = 300;

/// The explanation in an error document: its message (or title, or older `error`), with the
/// error code when there is one.
fn explanation(document: &Value) -> Option<String> {
    let text = |key: &str| document.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let message = text("message").or(text("error")).or(text("title"))?;
    Some(match text("error_code") {
        Some(code) => format!("{} ({code})", truncate(message, MAX_QUOTED)),
        None => truncate(message, MAX_QUOTED),
    })
}

/// An error message sent on the socket (`"type": "error"`), classified by its `status_code`.
pub fn from_message(document: &Value) -> ProviderError {
    let status = document.get("status_code").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok());
    let explanation = explanation(document).unwrap_or_else(|| truncate(&document.to_string(), MAX_QUOTED));
    let message = match status {
        Some(status) => format!("{PROVIDER} error {status}: {explanation}"),
        None => format!("{PROVIDER} error: {explanation}"),
    };
    // Without a status the server still refused to serve; another attempt may work.
    let class = status.filter(|s| *s >= 400).map_or(ErrorClass::Unavailable, classify_status);
    Failure::new(class, message).into()
}

/// The server closed the socket while the stream still wanted it. A policy close (1008) says
/// why only in its reason.
pub fn from_close(code: u16, reason: &str) -> ProviderError {
    close_failure(PROVIDER, code, reason, |reason| if code == 1008 { class_of_reason(reason) } else { None }).into()
}

fn class_of_reason(reason: &str) -> Option<ErrorClass> {
    let reason = reason.to_ascii_lowercase();
    if ["api key", "api_key", "unauthorized", "credits", "token"].iter().any(|word| reason.contains(word)) {
        Some(ErrorClass::Unauthorized)
    } else if ["rate limit", "concurren", "too many"].iter().any(|word| reason.contains(word)) {
        Some(ErrorClass::RateLimited)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_contract::types::RateLimit;

    #[test]
    fn socket_errors_are_classified_by_status_code() {
        assert_eq!(
            from_message(&json!({
                "type": "error", "status_code": 401, "error_code": "invalid_api_key", "title": "Invalid API key",
                "message": "The API key is not valid.", "done": true
            })),
            ProviderError::Unauthorized("cartesia error 401: The API key is not valid. (invalid_api_key)".into())
        );
        // The older shape: the explanation in `error`.
        assert_eq!(
            from_message(&json!({"type": "error", "error": "Too many requests", "status_code": 429, "done": true})),
            ProviderError::RateLimited(RateLimit {
                message: "cartesia error 429: Too many requests".into(),
                retry_after_ms: None
            })
        );
        assert!(matches!(
            from_message(&json!({"type": "error", "message": "bad voice", "status_code": 400})),
            ProviderError::InvalidRequest(_)
        ));
        assert!(matches!(
            from_message(&json!({"type": "error", "message": "oops", "status_code": 500})),
            ProviderError::Unavailable(_)
        ));
        assert_eq!(
            from_message(&json!({"type": "error"})),
            ProviderError::Unavailable(r#"cartesia error: {"type":"error"}"#.into())
        );
    }

    #[test]
    fn close_codes() {
        assert!(matches!(from_close(1008, "Invalid API key"), ProviderError::Unauthorized(_)));
        assert!(matches!(from_close(1008, "bad input"), ProviderError::InvalidRequest(_)));
        assert!(matches!(from_close(4429, ""), ProviderError::RateLimited(_)));
        assert!(matches!(from_close(1002, ""), ProviderError::Protocol(_)));
        assert_eq!(
            from_close(1011, "internal error"),
            ProviderError::Unavailable("cartesia closed the stream with code 1011: internal error".into())
        );
    }
}
