//! Failures as the contract's `provider-error`.
//!
//! Google's error document is `{"error": {"code", "message", "status", "details": [...]}}` (the
//! `google.rpc.Status` shape). Its HTTP status decides the class, with two corrections the
//! status alone gets wrong:
//! - a wrong key is `400 INVALID_ARGUMENT` with an `ErrorInfo` whose reason is
//!   `API_KEY_INVALID`: that is an authorization failure, not a bad request;
//! - a rate limit carries no `Retry-After` header; how long to wait is a `RetryInfo` detail
//!   (`"retryDelay": "7s"`, a protobuf duration that may have a fraction).
//!
//! Only `error.message` is reported: a `DebugInfo` detail may echo the key that was sent.

use serde_json::Value;
use voiceblox_plugin_kit::error_body::{ErrorCollector, MAX_MESSAGE_CHARS, json_message, truncate};
use voiceblox_plugin_kit::failure::Failure;
use voiceblox_plugin_kit::status::{ErrorClass, classify_status};

use crate::PROVIDER;
use voiceblox_plugin_contract::errors;
pub use voiceblox_plugin_contract::errors::{invalid, protocol};
use voiceblox_plugin_contract::types::ProviderError;

const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const RETRY_INFO: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// A failed response, its body collected: classified by status (with the corrections above) and
/// described by Google's document rather than the kit's generic reading.
pub fn from_http(response: ErrorCollector) -> ProviderError {
    let text = String::from_utf8_lossy(response.body()).into_owned();
    let document = serde_json::from_str::<Value>(text.trim()).ok().map(unwrap_array);
    let mut failure = response.finish();
    match &document {
        Some(document) => {
            let error = document.get("error").unwrap_or(&Value::Null);
            if has_reason(error, "API_KEY_INVALID") {
                failure.class = ErrorClass::Unauthorized;
            }
            failure.retry_after_ms = failure.retry_after_ms.or_else(|| retry_delay_ms(error));
            failure.message = describe(document);
        }
        // A proxy's HTML page or plain text: still better than nothing.
        None => {
            let text = text.trim();
            failure.message = (!text.is_empty()).then(|| truncate(text, MAX_MESSAGE_CHARS));
        }
    }
    errors::from_http(failure, PROVIDER)
}

/// An `{"error": ...}` document inside a 200 stream: the API's way to fail after it has started
/// answering. Its `code` is the HTTP status it would have sent.
pub fn from_stream_error(document: &Value) -> ProviderError {
    let error = document.get("error").unwrap_or(&Value::Null);
    let code = error.get("code").and_then(Value::as_u64).and_then(|c| u16::try_from(c).ok());
    let class = match code {
        Some(code) if has_reason(error, "API_KEY_INVALID") && code < 500 => ErrorClass::Unauthorized,
        Some(code) if code >= 400 => classify_status(code),
        _ => ErrorClass::Unavailable,
    };
    let message = describe(document).unwrap_or_else(|| truncate(&document.to_string(), 300));
    let message = format!("{PROVIDER} stream error: {message}");
    match class {
        ErrorClass::RateLimited => Failure::Classified { class, message, retry_after_ms: retry_delay_ms(error) }.into(),
        _ => Failure::new(class, message).into(),
    }
}

/// `streamGenerateContent` without `alt=sse` (a misconfigured gateway) wraps documents in an array.
fn unwrap_array(document: Value) -> Value {
    match document {
        Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
        other => other,
    }
}

/// `error.message (STATUS)`: the status names the kind of failure in Google's terms.
fn describe(document: &Value) -> Option<String> {
    let message = json_message(document)?;
    let status = document.get("error").and_then(|e| e.get("status")).and_then(Value::as_str);
    let message = match status {
        Some(status) if !status.is_empty() => format!("{} ({status})", message.trim()),
        _ => message.trim().to_string(),
    };
    Some(truncate(&message, MAX_MESSAGE_CHARS))
}

fn details(error: &Value) -> impl Iterator<Item = &Value> {
    error.get("details").and_then(Value::as_array).into_iter().flatten()
}

fn has_reason(error: &Value, reason: &str) -> bool {
    details(error).any(|d| d["@type"] == ERROR_INFO && d["reason"] == reason)
}

/// `RetryInfo.retryDelay` in milliseconds: `"7s"`, `"38.601658672s"`.
fn retry_delay_ms(error: &Value) -> Option<u32> {
    let delay = details(error).find(|d| d["@type"] == RETRY_INFO)?.get("retryDelay")?.as_str()?;
    let seconds: f64 = delay.trim().strip_suffix('s')?.parse().ok()?;
    // `as` saturates: an absurd delay becomes u32::MAX rather than wrapping.
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use voiceblox_plugin_contract::types::RateLimit;
    use voiceblox_plugin_kit::retry_after::retry_after_ms;

    fn finish(status: u16, headers: &[(&str, &str)], body: &str) -> ProviderError {
        let mut collector = ErrorCollector::new(status, retry_after_ms(headers.iter().copied()));
        for piece in body.as_bytes().chunks(5) {
            collector.push(piece);
        }
        from_http(collector)
    }

    #[test]
    fn retry_delays_are_protobuf_durations() {
        let error = |delay: &str| json!({"details": [{"@type": RETRY_INFO, "retryDelay": delay}]});
        assert_eq!(retry_delay_ms(&error("7s")), Some(7000));
        assert_eq!(retry_delay_ms(&error("38.601658672s")), Some(38_602));
        assert_eq!(retry_delay_ms(&error("soon")), None);
        assert_eq!(retry_delay_ms(&json!({"details": []})), None);
    }

    #[test]
    fn a_retry_after_header_wins_over_the_body() {
        let body = json!({"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": RETRY_INFO, "retryDelay": "9s"}]}});
        assert_eq!(
            finish(429, &[("retry-after", "2")], &body.to_string()),
            ProviderError::RateLimited(RateLimit {
                message: "google returned HTTP 429: slow (RESOURCE_EXHAUSTED)".into(),
                retry_after_ms: Some(2000)
            })
        );
    }

    #[test]
    fn bodies_that_are_not_google_documents() {
        assert_eq!(
            finish(502, &[], "<html>Bad Gateway</html>"),
            ProviderError::Unavailable("google returned HTTP 502: <html>Bad Gateway</html>".into())
        );
        assert_eq!(finish(500, &[], ""), ProviderError::Unavailable("google returned HTTP 500".into()));
        let array = r#"[{"error": {"code": 404, "message": "models/x is not found", "status": "NOT_FOUND"}}]"#;
        assert_eq!(
            finish(404, &[], array),
            ProviderError::InvalidRequest("google returned HTTP 404: models/x is not found (NOT_FOUND)".into())
        );
    }

    #[test]
    fn stream_errors_by_code() {
        let error = |code: u16, status: &str| json!({"error": {"code": code, "message": "m", "status": status}});
        assert_eq!(
            from_stream_error(&error(503, "UNAVAILABLE")),
            ProviderError::Unavailable("google stream error: m (UNAVAILABLE)".into())
        );
        assert_eq!(
            from_stream_error(&error(500, "INTERNAL")),
            ProviderError::Unavailable("google stream error: m (INTERNAL)".into())
        );
        assert!(matches!(from_stream_error(&error(429, "RESOURCE_EXHAUSTED")), ProviderError::RateLimited(_)));
        assert!(matches!(from_stream_error(&error(400, "INVALID_ARGUMENT")), ProviderError::InvalidRequest(_)));
        assert!(matches!(from_stream_error(&json!({"error": {}})), ProviderError::Unavailable(_)));
    }
}
