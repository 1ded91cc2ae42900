//! Turning a failed HTTP response into a classified failure with the provider's own message.

use serde_json::Value;

use crate::status::{ErrorClass, classify_status};

/// Body bytes kept from an error response; error documents are small, a proxy's HTML page is not.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// Characters of provider message kept; enough for any real explanation, short enough for a log.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// A non-2xx response, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure {
    /// What the host should do about it.
    pub class: ErrorClass,
    /// The response status.
    pub status: u16,
    /// The provider's explanation, when the body had one.
    pub message: Option<String>,
    /// How long the provider asked us to wait before retrying.
    pub retry_after_ms: Option<u32>,
}

impl HttpFailure {
    /// A one-line description naming the provider, e.g.
    /// `openai returned HTTP 401: Incorrect API key provided`.
    pub fn describe(&self, provider: &str) -> String {
        match &self.message {
            Some(message) => format!("{provider} returned HTTP {}: {message}", self.status),
            None => format!("{provider} returned HTTP {}", self.status),
        }
    }
}

/// Collects the body of a failed response until the host reports its end.
#[derive(Debug)]
pub struct ErrorCollector {
    status: u16,
    retry_after_ms: Option<u32>,
    body: Vec<u8>,
}

impl ErrorCollector {
    /// Starts collecting for a response head with this status and retry hint.
    pub fn new(status: u16, retry_after_ms: Option<u32>) -> Self {
        ErrorCollector { status, retry_after_ms, body: Vec::new() }
    }

    /// Appends a body chunk, keeping at most [`MAX_ERROR_BODY`] bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        let room = MAX_ERROR_BODY.saturating_sub(self.body.len());
        self.body.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The body so far (at most [`MAX_ERROR_BODY`] bytes), for error documents a provider reads
    /// its own way.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The classified failure, once the body is complete.
    pub fn finish(self) -> HttpFailure {
        HttpFailure {
            class: classify_status(self.status),
            status: self.status,
            message: provider_error_message(&self.body),
            retry_after_ms: self.retry_after_ms,
        }
    }
}

/// The human-readable message in a provider's error body.
///
/// Understands the common JSON shapes (`{"error": {"message"}}` from OpenAI and compatible
/// servers, `{"error": "..."}` from Ollama, `{"err_msg"}` and `{"message", "details"}` from
/// Deepgram, `{"detail"}` from FastAPI-based servers); any other body is returned as trimmed
/// text, since a proxy's plain-text error is still better than nothing.
pub fn provider_error_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let message = match serde_json::from_str::<Value>(text) {
        Ok(json) => json_message(&json).unwrap_or_else(|| text.to_string()),
        Err(_) => text.to_string(),
    };
    Some(truncate(message.trim(), MAX_MESSAGE_CHARS))
}

/// The message inside an already-parsed error document, if it has one of the known shapes.
pub fn json_message(json: &Value) -> Option<String> {
    let non_empty =
        |v: Option<&Value>| v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    match json.get("error") {
        Some(Value::String(s)) if !s.trim().is_empty() => return Some(s.trim().to_string()),
        Some(error @ Value::Object(_)) => {
            if let Some(message) = non_empty(error.get("message")).or(non_empty(error.get("msg"))) {
                return Some(message);
            }
        }
        _ => {}
    }
    for key in ["err_msg", "error_message", "message", "description"] {
        if let Some(message) = non_empty(json.get(key)) {
            return Some(match non_empty(json.get("details")) {
                Some(details) if key == "message" => format!("{message} ({details})"),
                _ => message,
            });
        }
    }
    match json.get("detail") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Array(items)) => {
            let messages: Vec<&str> = items.iter().filter_map(|item| item.get("msg").and_then(Value::as_str)).collect();
            (!messages.is_empty()).then(|| messages.join("; "))
        }
        _ => None,
    }
}

/// The message of an error document a provider sent in a stream: its explanation when it has one
/// of the known shapes, else the document itself, shortened.
pub fn document_message(json: &Value) -> String {
    json_message(json).unwrap_or_else(|| truncate(&json.to_string(), 300))
}

/// Cuts `text` to at most `max_chars` characters, marking the cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Option<String> {
        provider_error_message(body.as_bytes())
    }

    #[test]
    fn openai_error_object() {
        let body = r#"{"error": {"message": "Incorrect API key provided: sk-abc.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}"#;
        assert_eq!(message(body).as_deref(), Some("Incorrect API key provided: sk-abc."));
    }

    #[test]
    fn ollama_error_string() {
        assert_eq!(
            message(r#"{"error":"model \"llama9\" not found, try pulling it first"}"#).as_deref(),
            Some("model \"llama9\" not found, try pulling it first")
        );
    }

    #[test]
    fn deepgram_shapes() {
        let rest = r#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"6b29"}"#;
        assert_eq!(message(rest).as_deref(), Some("Invalid credentials."));
        let management = r#"{"category":"UNAUTHORIZED","message":"Authentication failed.","details":"Check that you are using the correct credentials."}"#;
        assert_eq!(
            message(management).as_deref(),
            Some("Authentication failed. (Check that you are using the correct credentials.)")
        );
    }

    #[test]
    fn fastapi_detail() {
        assert_eq!(message(r#"{"detail":"Not Found"}"#).as_deref(), Some("Not Found"));
        let validation = r#"{"detail":[{"loc":["body","model"],"msg":"field required"},{"msg":"bad"}]}"#;
        assert_eq!(message(validation).as_deref(), Some("field required; bad"));
    }

    #[test]
    fn stream_documents_fall_back_to_their_text() {
        assert_eq!(document_message(&serde_json::json!({"err_msg": "Bad."})), "Bad.");
        assert_eq!(document_message(&serde_json::json!({"code": 1})), r#"{"code":1}"#);
        assert_eq!(document_message(&Value::String("x".repeat(400))).chars().count(), 301);
    }

    #[test]
    fn plain_text_and_empty_bodies() {
        assert_eq!(message("  upstream connect error \n").as_deref(), Some("upstream connect error"));
        assert_eq!(message(""), None);
        assert_eq!(message(" \n"), None);
        assert_eq!(message(r#"{"unrelated": 1}"#).as_deref(), Some(r#"{"unrelated": 1}"#));
    }

    #[test]
    fn long_messages_are_truncated_on_char_boundaries() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let got = message(&long).unwrap();
        assert_eq!(got.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(got.ends_with('…'));
    }

    #[test]
    fn collector_classifies_and_caps() {
        let mut collector = ErrorCollector::new(429, Some(1200));
        collector.push(br#"{"error":{"message":"Rate limit reached"#);
        collector.push(br#" for gpt-4.1"}}"#);
        let failure = collector.finish();
        assert_eq!(
            failure,
            HttpFailure {
                class: ErrorClass::RateLimited,
                status: 429,
                message: Some("Rate limit reached for gpt-4.1".into()),
                retry_after_ms: Some(1200),
            }
        );
        assert_eq!(failure.describe("openai"), "openai returned HTTP 429: Rate limit reached for gpt-4.1");

        let mut big = ErrorCollector::new(502, None);
        big.push(&vec![b'x'; MAX_ERROR_BODY * 2]);
        big.push(b"more");
        assert_eq!(big.body.len(), MAX_ERROR_BODY);
        assert_eq!(
            big.finish().describe("x").len(),
            "x returned HTTP 502: ".len() + MAX_MESSAGE_CHARS + '…'.len_utf8()
        );
    }

    #[test]
    fn describe_without_message() {
        let failure = ErrorCollector::new(503, None).finish();
        assert_eq!(failure.class, ErrorClass::Unavailable);
        assert_eq!(failure.describe("deepgram"), "deepgram returned HTTP 503");
    }
}
