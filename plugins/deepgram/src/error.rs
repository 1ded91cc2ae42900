//! Mapping Deepgram failures onto the contract's typed `provider-error`: REST error bodies,
//! WebSocket close frames and error messages sent on the socket.

use serde_json::Value;
use voiceblox_plugin_kit::error_body::document_message;
use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::{ErrorClass, classify_status};
use voiceblox_plugin_kit::ws_close::close_failure;

use crate::PROVIDER;
pub use voiceblox_plugin_contract::errors::{invalid, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// The server closed the socket while we still wanted it.
///
/// Deepgram's documented codes: 1008 `DATA-0000` (the payload is not decodable audio), 1011
/// `NET-0000` (internal error) and 1011 `NET-0001` (no audio or message received in time).
/// Codes 4000–4999 are read as 4000 + an HTTP status, the usual convention for
/// application-defined close codes.
pub fn from_close(code: u16, reason: &str) -> ProviderError {
    let timed_out = |reason: &str| (code == 1011 && reason.contains("NET-0001")).then_some(ErrorClass::Timeout);
    close_failure(PROVIDER, code, reason, timed_out).into()
}

/// An error document sent as a text message: `{"error_code": 429, "error_message"}` (the
/// streaming spec), `{"err_code": "...", "err_msg"}` (the REST shape) or `{"type": "Error",
/// "description"}`.
pub fn from_message(document: &Value) -> ProviderError {
    let message = format!("{PROVIDER} error: {}", document_message(document));
    let class = match document.get("error_code").and_then(Value::as_u64) {
        Some(status) => classify_status(u16::try_from(status).unwrap_or(500)),
        None => {
            let code = ["err_code", "variant", "code"]
                .iter()
                .find_map(|key| document.get(*key).and_then(Value::as_str))
                .unwrap_or_default()
                .to_ascii_uppercase();
            class_of_code(&code)
        }
    };
    Failure::new(class, message).into()
}

fn class_of_code(code: &str) -> ErrorClass {
    if code.contains("AUTH") || code.contains("PERMISSION") || code.contains("PAYMENT") {
        ErrorClass::Unauthorized
    } else if code.contains("RATE") || code.contains("TOO_MANY") || code.contains("CONCURRENCY") {
        ErrorClass::RateLimited
    } else if code.contains("INVALID") || code.contains("BAD_REQUEST") || code.contains("UNSUPPORTED") {
        ErrorClass::InvalidRequest
    } else if code.contains("TIMEOUT") {
        ErrorClass::Timeout
    } else {
        ErrorClass::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_contract::types::RateLimit;

    #[test]
    fn documented_close_codes() {
        assert_eq!(
            from_close(1008, "DATA-0000"),
            ProviderError::InvalidRequest("deepgram closed the stream with code 1008: DATA-0000".into())
        );
        assert_eq!(
            from_close(1011, "NET-0001"),
            ProviderError::Timeout("deepgram closed the stream with code 1011: NET-0001".into())
        );
        assert_eq!(
            from_close(1011, "NET-0000"),
            ProviderError::Unavailable("deepgram closed the stream with code 1011: NET-0000".into())
        );
        assert_eq!(
            from_close(1006, ""),
            ProviderError::Unavailable("deepgram closed the stream with code 1006".into())
        );
        assert!(matches!(from_close(1002, ""), ProviderError::Protocol(_)));
    }

    #[test]
    fn application_close_codes_carry_http_statuses() {
        assert!(matches!(from_close(4401, "INVALID_AUTH"), ProviderError::Unauthorized(_)));
        assert!(matches!(from_close(4429, ""), ProviderError::RateLimited(_)));
        assert!(matches!(from_close(4400, ""), ProviderError::InvalidRequest(_)));
        assert!(matches!(from_close(4001, ""), ProviderError::Unavailable(_)));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            from_message(
                &json!({"error_code": 429, "error_message": "Too many concurrent requests", "request_id": "r"})
            ),
            ProviderError::RateLimited(RateLimit {
                message: "deepgram error: Too many concurrent requests".into(),
                retry_after_ms: None
            })
        );
        assert_eq!(
            from_message(&json!({"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "r"})),
            ProviderError::Unauthorized("deepgram error: Invalid credentials.".into())
        );
        assert_eq!(
            from_message(&json!({"type": "Error", "description": "Something broke", "variant": "SERVER_ERROR"})),
            ProviderError::Unavailable("deepgram error: Something broke".into())
        );
    }
}
