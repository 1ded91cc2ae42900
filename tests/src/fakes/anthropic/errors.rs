//! Anthropic's error bodies, word for word where the real text is known.
//!
//! Every error is `{"type":"error","error":{"type","message"},"request_id"}`, compact, with the
//! `request_id` equal to the response's `request-id` header.

use crate::fakes::wire::{Obj, json_string};

/// The body with the request's id, as the API sends it.
pub(super) fn error_json(kind: &str, message: &str, request_id: Option<&str>) -> String {
    let body = Obj::new().str("type", "error").obj("error", Obj::new().str("type", kind).str("message", message));
    match request_id {
        Some(id) => body.str("request_id", id),
        None => body,
    }
    .finish()
}

/// The `error.type` and a real-looking message for `status` (4xx other than the documented ones
/// are `invalid_request_error`, 5xx other than 529 are `api_error`).
pub(super) fn kind_and_message(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("invalid_request_error", "prompt is too long: 201234 tokens > 200000 maximum"),
        401 => ("authentication_error", "invalid x-api-key"),
        403 => ("permission_error", "Your API key does not have permission to use the specified resource."),
        404 => ("not_found_error", "model: claude-nonexistent"),
        413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
        429 => (
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute. \
             For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response \
             headers for current usage. Please reduce the prompt length or the maximum tokens requested, or \
             try again later.",
        ),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "The request could not be served."),
    }
}

/// The body Anthropic sends for `status`, without a `request_id`: the fake adds the request's
/// own when it sends this exact body. Without one it is also the data of a mid-stream `error`
/// event, as the streaming docs show it.
pub fn error_body(status: u16) -> String {
    let (kind, message) = kind_and_message(status);
    error_json(kind, message, None)
}

pub(super) const MISSING_API_KEY: &str = "x-api-key header is required";
pub(super) const INVALID_API_KEY: &str = "invalid x-api-key";
pub(super) const MISSING_VERSION: &str = "anthropic-version: header is required";

pub(super) fn invalid_version(version: &str) -> String {
    format!("anthropic-version: {} is not a valid version", json_string(version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_documented_shape() -> anyhow::Result<()> {
        for (status, kind) in [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (500, "api_error"),
            (529, "overloaded_error"),
            (418, "invalid_request_error"),
        ] {
            let body: serde_json::Value = serde_json::from_str(&error_body(status))?;
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], kind, "{status}");
            assert!(body["error"]["message"].is_string());
        }
        assert_eq!(error_body(529), r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
        assert!(error_json("api_error", "x", Some("req_1")).ends_with(r#"},"request_id":"req_1"}"#));
        assert_eq!(invalid_version("2024-01-01"), r#"anthropic-version: "2024-01-01" is not a valid version"#);
        Ok(())
    }
}
