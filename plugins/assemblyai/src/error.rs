//! Mapping AssemblyAI failures onto the contract's typed `provider-error`: WebSocket close
//! codes (the streaming API reports every refusal after the upgrade, as a close) and `Error`
//! messages sent on the socket.
//!
//! The codes are AssemblyAI's: the "common session errors and closures" table of the streaming
//! docs (1008, 3005–3009) and the SDKs' error-code tables (4000–4103, 1013), which the v3
//! Python SDK still maps. A refused handshake (HTTP 4xx/5xx before the upgrade) never reaches
//! the plugin: the host classifies it by status.

use serde_json::Value;
use voiceblox_plugin_kit::error_body::truncate;
use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::ErrorClass;

use crate::PROVIDER;
pub use voiceblox_plugin_contract::errors::{invalid, protocol};
use voiceblox_plugin_contract::types::ProviderError;

/// Longest provider text quoted in an error.
const MAX_QUOTED: usize = 300;

/// Said when the account cannot pay: retrying or another key of the same account cannot help.
const OUT_OF_FUNDS: &str = "the AssemblyAI account has insufficient funds for streaming";

/// The server closed the socket while we still wanted it.
pub fn from_close(code: u16, reason: &str) -> ProviderError {
    let reason = reason.trim();
    let known = documented(code);
    let mut message = match (reason.is_empty(), known) {
        (false, _) => format!("{PROVIDER} closed the stream with code {code}: {}", truncate(reason, MAX_QUOTED)),
        (true, Some((_, text))) => format!("{PROVIDER} closed the stream with code {code} ({text})"),
        (true, None) => format!("{PROVIDER} closed the stream with code {code}"),
    };
    if code == 1002 {
        return protocol(message);
    }
    let class = class_of_text(reason).or(known.map(|(class, _)| class)).unwrap_or(ErrorClass::Unavailable);
    if code == 4002 || out_of_funds(reason) {
        message = format!("{message}; {OUT_OF_FUNDS}");
    }
    Failure::new(class, message).into()
}

/// An `Error` message: `{"type": "Error", "error_code": 3006, "error": "..."}`, or the bare
/// `{"error": "..."}` older servers send.
pub fn from_message(document: &Value) -> ProviderError {
    let text = document.get("error").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    let code = document.get("error_code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok());
    let quoted = if text.is_empty() { truncate(&document.to_string(), MAX_QUOTED) } else { truncate(text, MAX_QUOTED) };
    let mut message = match code {
        Some(code) => format!("{PROVIDER} error {code}: {quoted}"),
        None => format!("{PROVIDER} error: {quoted}"),
    };
    let class =
        class_of_text(text).or(code.and_then(documented).map(|(class, _)| class)).unwrap_or(ErrorClass::Unavailable);
    if code == Some(4002) || out_of_funds(text) {
        message = format!("{message}; {OUT_OF_FUNDS}");
    }
    Failure::new(class, message).into()
}

/// The class and meaning of a documented close code.
fn documented(code: u16) -> Option<(ErrorClass, &'static str)> {
    use ErrorClass::*;
    Some(match code {
        // "Unauthorized Connection: Missing Authorization header" or an account problem
        // ("insufficient account balance, account temporarily disabled").
        1008 => (Unauthorized, "unauthorized connection"),
        1011 => (Unavailable, "internal server error"),
        1013 => (Unavailable, "temporary server condition"),
        3005 => (Unavailable, "session cancelled: server error"),
        3006 => (InvalidRequest, "input validation error"),
        // Chunks outside 50–1000 ms, or audio sent faster than real time.
        3007 => (InvalidRequest, "audio chunk duration or rate violation"),
        // The 3-hour limit: a new session works.
        3008 | 4008 => (Unavailable, "session expired"),
        3009 => (RateLimited, "too many concurrent sessions"),
        4000 => (InvalidRequest, "sample rate must be a positive integer"),
        4001 => (Unauthorized, "not authorized"),
        4002 => (Unauthorized, "insufficient funds"),
        4003 => (Unauthorized, "this feature is paid-only and requires a credit card on the account"),
        4029 => (RateLimited, "client sent audio too fast"),
        4031 => (Timeout, "session idle for too long"),
        4100 => (InvalidRequest, "endpoint received invalid JSON"),
        4101 => (InvalidRequest, "endpoint received a message with an invalid schema"),
        4102 => (RateLimited, "too many concurrent streams"),
        4004 | 4010 | 4030 | 4103 => (Unavailable, "session no longer valid"),
        _ => return None,
    })
}

/// The class AssemblyAI's wording points to, if any. It reports concurrency refusals as
/// "Unauthorized Connection: Too many concurrent sessions", so that wording is read first.
fn class_of_text(text: &str) -> Option<ErrorClass> {
    let text = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|word| text.contains(word));
    if has(&["concurrent", "too many", "rate limit"]) {
        Some(ErrorClass::RateLimited)
    } else if out_of_funds(&text)
        || has(&["unauthorized", "not authorized", "authorization", "api key", "invalid token"])
    {
        Some(ErrorClass::Unauthorized)
    } else {
        None
    }
}

fn out_of_funds(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    ["insufficient", "balance", "funds"].iter().any(|word| text.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_contract::types::RateLimit;

    #[test]
    fn documented_close_reasons() {
        assert_eq!(
            from_close(1008, "Unauthorized Connection: Missing Authorization header"),
            ProviderError::Unauthorized(
                "assemblyai closed the stream with code 1008: Unauthorized Connection: Missing Authorization header"
                    .into()
            )
        );
        assert_eq!(
            from_close(1008, "Unauthorized Connection: Insufficient account balance"),
            ProviderError::Unauthorized(
                "assemblyai closed the stream with code 1008: Unauthorized Connection: Insufficient account \
                 balance; the AssemblyAI account has insufficient funds for streaming"
                    .into()
            )
        );
        assert_eq!(
            from_close(3009, "Unauthorized Connection: Too many concurrent sessions"),
            ProviderError::RateLimited(RateLimit {
                message: "assemblyai closed the stream with code 3009: Unauthorized Connection: Too many concurrent \
                          sessions"
                    .into(),
                retry_after_ms: None
            })
        );
        assert!(matches!(
            from_close(3007, "Input duration violation: 20 ms. Expected between 50 and 1000 ms"),
            ProviderError::InvalidRequest(_)
        ));
        assert!(matches!(from_close(3006, "Invalid JSON: {"), ProviderError::InvalidRequest(_)));
        assert!(matches!(from_close(3005, "Session Cancelled: An error occurred"), ProviderError::Unavailable(_)));
        assert!(matches!(
            from_close(3008, "Session Expired: Maximum session duration exceeded"),
            ProviderError::Unavailable(_)
        ));
    }

    #[test]
    fn bare_codes_are_explained() {
        assert_eq!(
            from_close(4001, ""),
            ProviderError::Unauthorized("assemblyai closed the stream with code 4001 (not authorized)".into())
        );
        assert_eq!(
            from_close(4002, ""),
            ProviderError::Unauthorized(
                "assemblyai closed the stream with code 4002 (insufficient funds); the AssemblyAI account has \
                 insufficient funds for streaming"
                    .into()
            )
        );
        assert!(matches!(from_close(4029, ""), ProviderError::RateLimited(_)));
        assert!(matches!(from_close(4102, ""), ProviderError::RateLimited(_)));
        assert!(matches!(from_close(4031, ""), ProviderError::Timeout(_)));
        assert!(matches!(from_close(4000, ""), ProviderError::InvalidRequest(_)));
        assert_eq!(
            from_close(1006, ""),
            ProviderError::Unavailable("assemblyai closed the stream with code 1006".into())
        );
        assert!(matches!(from_close(1011, ""), ProviderError::Unavailable(_)));
        assert!(matches!(from_close(1002, ""), ProviderError::Protocol(_)));
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            from_message(&json!({"type": "Error", "error_code": 3006, "error": "Invalid Message Type: Finalize"})),
            ProviderError::InvalidRequest("assemblyai error 3006: Invalid Message Type: Finalize".into())
        );
        assert!(matches!(from_message(&json!({"error": "Not authorized"})), ProviderError::Unauthorized(_)));
        assert!(matches!(from_message(&json!({"type": "Error", "error": "boom"})), ProviderError::Unavailable(_)));
    }
}
