//! Mapping ElevenLabs failures onto the contract's typed `provider-error`: HTTP error bodies
//! (`{"detail": {"status", "message"}}`), error messages sent on the socket
//! (`{"message", "error", "code"}`) and close frames.

use serde_json::Value;
use voiceblox_plugin_kit::error_body::truncate;
use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::ErrorClass;
use voiceblox_plugin_kit::ws_close::{close_code_class, close_failure};

use crate::PROVIDER;
pub use voiceblox_plugin_contract::errors::{invalid, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// Longest provider text quoted in an error.
const MAX_QUOTED: usize = 300;

/// The kit reads the common error shapes; ElevenLabs' `{"detail": {"status", "message"}}` is not
/// one of them, so the kit's message is the whole body. This swaps it for the explanation and the
/// machine-readable status (`invalid_api_key`, `quota_exceeded`, `voice_not_found`...).
pub fn refine_http(failure: Failure) -> Failure {
    let Failure::Classified { class, message, retry_after_ms } = failure else {
        return failure;
    };
    let refined = message.split_once(": ").and_then(|(head, body)| Some(format!("{head}: {}", detail_message(body)?)));
    Failure::Classified { class, message: refined.unwrap_or(message), retry_after_ms }
}

/// `message (status)` from a `{"detail": {...}}` body; `None` for any other body.
fn detail_message(body: &str) -> Option<String> {
    let json: Value = serde_json::from_str(body).ok()?;
    let detail = json.get("detail")?;
    let message = detail.get("message").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty())?;
    Some(match detail.get("status").and_then(Value::as_str) {
        Some(status) => format!("{} ({status})", truncate(message, MAX_QUOTED)),
        None => truncate(message, MAX_QUOTED),
    })
}

/// The class a piece of ElevenLabs' own wording points to, if any.
fn class_of_text(text: &str) -> Option<ErrorClass> {
    let text = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| text.contains(word));
    if has(&["api key", "api_key", "unauthorized", "authenticat", "permission", "quota", "credits", "payment"]) {
        Some(ErrorClass::Unauthorized)
    } else if has(&["concurrent", "rate limit", "rate_limit", "too many", "too_many", "system_busy", "busy"]) {
        Some(ErrorClass::RateLimited)
    } else if has(&["have not received a new text input", "timeout", "timed out"]) {
        Some(ErrorClass::Timeout)
    } else if has(&["invalid", "not found", "not_found", "does not exist", "unsupported", "not supported", "must be"]) {
        Some(ErrorClass::InvalidRequest)
    } else {
        None
    }
}

/// An error document sent on the socket before it closes:
/// `{"message": "...", "error": "invalid_input_message", "code": 1008}`.
pub fn from_message(document: &Value) -> ProviderError {
    let text = |key: &str| document.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let message = match (text("message"), text("error")) {
        (Some(message), Some(kind)) => format!("{PROVIDER} error: {} ({kind})", truncate(message, MAX_QUOTED)),
        (Some(message), None) => format!("{PROVIDER} error: {}", truncate(message, MAX_QUOTED)),
        (None, Some(kind)) => format!("{PROVIDER} error: {kind}"),
        (None, None) => format!("{PROVIDER} error: {}", truncate(&document.to_string(), MAX_QUOTED)),
    };
    let wording = format!("{} {}", text("error").unwrap_or_default(), text("message").unwrap_or_default());
    let code = document.get("code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok());
    let class = class_of_text(&wording).unwrap_or_else(|| code.map_or(ErrorClass::Unavailable, close_code_class));
    Failure::new(class, message).into()
}

/// The server closed the socket while we still wanted it. ElevenLabs closes with 1008 (policy
/// violation) for most refusals and says why in the reason, so the reason decides first.
pub fn from_close(code: u16, reason: &str) -> ProviderError {
    close_failure(PROVIDER, code, reason, class_of_text).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_contract::types::RateLimit;

    #[test]
    fn http_detail_bodies_are_read() {
        let failure = Failure::Classified {
            class: ErrorClass::Unauthorized,
            message: r#"elevenlabs returned HTTP 401: {"detail":{"status":"quota_exceeded","message":"This request exceeds your quota of 10000."}}"#.into(),
            retry_after_ms: None,
        };
        assert_eq!(
            ProviderError::from(refine_http(failure)),
            ProviderError::Unauthorized(
                "elevenlabs returned HTTP 401: This request exceeds your quota of 10000. (quota_exceeded)".into()
            )
        );
        // Anything else is left alone.
        let plain = Failure::new(ErrorClass::Unavailable, "elevenlabs returned HTTP 502: Bad Gateway");
        assert_eq!(refine_http(plain.clone()), plain);
        assert_eq!(refine_http(Failure::protocol("x")), Failure::protocol("x"));
    }

    #[test]
    fn socket_error_messages() {
        assert_eq!(
            from_message(&json!({"message": "Invalid API key", "error": "invalid_api_key", "code": 1008})),
            ProviderError::Unauthorized("elevenlabs error: Invalid API key (invalid_api_key)".into())
        );
        assert_eq!(
            from_message(&json!({
                "message": "Could not parse input message, make sure it is a json and follows the schema outlined in protocol.",
                "error": "invalid_input_message", "code": 1008
            })),
            ProviderError::InvalidRequest(
                "elevenlabs error: Could not parse input message, make sure it is a json and follows the schema \
                 outlined in protocol. (invalid_input_message)"
                    .into()
            )
        );
        assert_eq!(
            from_message(&json!({"message": "Too many concurrent requests.", "error": "too_many_concurrent_requests"})),
            ProviderError::RateLimited(RateLimit {
                message: "elevenlabs error: Too many concurrent requests. (too_many_concurrent_requests)".into(),
                retry_after_ms: None
            })
        );
        assert!(matches!(
            from_message(&json!({"error": "something_new", "code": 1011})),
            ProviderError::Unavailable(_)
        ));
    }

    #[test]
    fn close_reasons_decide_before_codes() {
        assert_eq!(
            from_close(1008, "Invalid API key"),
            ProviderError::Unauthorized("elevenlabs closed the stream with code 1008: Invalid API key".into())
        );
        assert!(matches!(
            from_close(
                1008,
                "Have not received a new text input within the timeout of 20 seconds. Streaming input terminated."
            ),
            ProviderError::Timeout(_)
        ));
        assert!(matches!(
            from_close(
                1008,
                "voice_settings field must be provided in the first message and then either be not provided or not change."
            ),
            ProviderError::InvalidRequest(_)
        ));
        assert!(matches!(
            from_close(1008, "We are sorry, something went wrong. You are not charged for this request."),
            ProviderError::InvalidRequest(_)
        ));
        assert!(matches!(from_close(1011, ""), ProviderError::Unavailable(_)));
        assert!(matches!(from_close(4429, ""), ProviderError::RateLimited(_)));
        assert!(matches!(from_close(1002, ""), ProviderError::Protocol(_)));
    }
}
