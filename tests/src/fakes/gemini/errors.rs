//! Google's error bodies, word for word where the real text is known.
//!
//! Every error is a `google.rpc.Status`: `{"error": {"code", "message", "status", "details"?}}`,
//! indented by two spaces. A wrong key is a 400 with an `ErrorInfo` detail (reason
//! `API_KEY_INVALID`), a missing one a 403; a rate limit says how long to wait only in a
//! `RetryInfo` detail, never in a `Retry-After` header.

use super::format::pretty;
use crate::fakes::wire::{Obj, array};

pub(super) const MISSING_KEY: &str = "Method doesn't allow unregistered callers (callers without established \
     identity). Please use API Key or other form of API consumer identity to call this API.";
pub(super) const INVALID_KEY: &str = "API key not valid. Please pass a valid API key.";

const ERROR_INFO: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const LOCALIZED: &str = "type.googleapis.com/google.rpc.LocalizedMessage";
const BAD_REQUEST: &str = "type.googleapis.com/google.rpc.BadRequest";

/// The `google.rpc.Code` name Google gives each HTTP status.
pub(super) fn status_name(status: u16) -> &'static str {
    match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ if status >= 500 => "UNKNOWN",
        _ => "FAILED_PRECONDITION",
    }
}

/// The error document, compact; `details` are compact JSON objects.
pub(super) fn error_json(status: u16, message: &str, details: Vec<String>) -> String {
    let mut error = Obj::new().int("code", status).str("message", message).str("status", status_name(status));
    if !details.is_empty() {
        error = error.raw("details", array(details));
    }
    Obj::new().obj("error", error).finish()
}

/// The body as Google sends it.
pub(super) fn body(status: u16, message: &str, details: Vec<String>) -> String {
    pretty(&error_json(status, message, details))
}

/// The refusal of a wrong key. Google's `DebugInfo` detail echoes the key it was sent, which is
/// what makes this body a test of who keeps keys out of error text.
pub(super) fn invalid_key(presented: &str) -> String {
    let info = Obj::new()
        .str("@type", ERROR_INFO)
        .str("reason", "API_KEY_INVALID")
        .str("domain", "googleapis.com")
        .obj("metadata", Obj::new().str("service", "generativelanguage.googleapis.com"))
        .finish();
    let localized = Obj::new().str("@type", LOCALIZED).str("locale", "en-US").str("message", INVALID_KEY).finish();
    let debug = Obj::new()
        .str("@type", "type.googleapis.com/google.rpc.DebugInfo")
        .str("detail", &format!("Invalid API key: {presented}"))
        .finish();
    body(400, INVALID_KEY, vec![info, localized, debug])
}

/// An `Invalid JSON payload received` refusal of a field the API does not know, with the
/// `BadRequest` detail naming it.
pub(super) fn unknown_field(name: &str, at: Option<&str>) -> String {
    let message = match at {
        Some(at) => format!("Invalid JSON payload received. Unknown name \"{name}\" at '{at}': Cannot find field."),
        None => format!("Invalid JSON payload received. Unknown name \"{name}\": Cannot find field."),
    };
    let violation = Obj::new().str("field", at.unwrap_or_default()).str("description", &message).finish();
    let detail = Obj::new().str("@type", BAD_REQUEST).raw("fieldViolations", array([violation])).finish();
    body(400, &message, vec![detail])
}

/// A `RESOURCE_EXHAUSTED` of the free tier's per-minute requests, retryable after `delay_secs`.
pub(super) fn rate_limited(model: &str, delay_secs: u64) -> String {
    let message = format!(
        "You exceeded your current quota, please check your plan and billing details. For more information on \
         this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, \
         head to: https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: \
         generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: {model}\n\
         Please retry in {delay_secs}.{:09}s.",
        271_428_571u32
    );
    let violation = Obj::new()
        .str("quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests")
        .str("quotaId", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier")
        .obj("quotaDimensions", Obj::new().str("location", "global").str("model", model))
        .str("quotaValue", "10")
        .finish();
    let quota = Obj::new()
        .str("@type", "type.googleapis.com/google.rpc.QuotaFailure")
        .raw("violations", array([violation]))
        .finish();
    let link = Obj::new()
        .str("description", "Learn more about Gemini API quotas")
        .str("url", "https://ai.google.dev/gemini-api/docs/rate-limits")
        .finish();
    let help = Obj::new().str("@type", "type.googleapis.com/google.rpc.Help").raw("links", array([link])).finish();
    let retry = Obj::new()
        .str("@type", "type.googleapis.com/google.rpc.RetryInfo")
        .str("retryDelay", &format!("{delay_secs}s"))
        .finish();
    body(429, &message, vec![quota, help, retry])
}

pub(super) fn model_not_found(version: &str, model: &str) -> String {
    body(
        404,
        &format!(
            "models/{model} is not found for API version {version}, or is not supported for generateContent. \
             Call ListModels to see the list of available models and their supported methods."
        ),
        Vec::new(),
    )
}

/// The body Google sends for `status` (a 429 asks for a 7 s wait, as free-tier limits do).
pub fn error_body(status: u16) -> String {
    match status {
        400 => body(400, "Request contains an invalid argument.", Vec::new()),
        403 => body(403, "The caller does not have permission", Vec::new()),
        404 => model_not_found("v1beta", "gemini-nonexistent"),
        429 => rate_limited("gemini-2.5-flash", 7),
        500 => body(
            500,
            "An internal error has occurred. Please retry or report in \
             https://developers.generativeai.google/guide/troubleshooting",
            Vec::new(),
        ),
        503 => body(503, "The model is overloaded. Please try again later.", Vec::new()),
        504 => body(504, "The request timed out. Please try again.", Vec::new()),
        _ => body(status, "The service could not serve the request.", Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn bodies_have_the_documented_shape() -> anyhow::Result<()> {
        for (status, name) in [
            (400, "INVALID_ARGUMENT"),
            (403, "PERMISSION_DENIED"),
            (404, "NOT_FOUND"),
            (429, "RESOURCE_EXHAUSTED"),
            (500, "INTERNAL"),
            (503, "UNAVAILABLE"),
            (504, "DEADLINE_EXCEEDED"),
        ] {
            let body: Value = serde_json::from_str(&error_body(status))?;
            assert_eq!(body["error"]["code"], status);
            assert_eq!(body["error"]["status"], name);
            assert!(body["error"]["message"].is_string());
        }
        let limited: Value = serde_json::from_str(&rate_limited("gemini-2.5-flash", 3))?;
        assert_eq!(limited["error"]["details"][2]["retryDelay"], "3s");
        assert!(limited["error"]["message"].as_str().is_some_and(|m| m.contains("Please retry in 3.271428571s.")));
        assert!(error_body(503).starts_with("{\n  \"error\": {\n    \"code\": 503,\n    \"message\": "));
        let key: Value = serde_json::from_str(&invalid_key("AIza-x"))?;
        assert_eq!(key["error"]["details"][0]["reason"], "API_KEY_INVALID");
        assert_eq!(key["error"]["details"][2]["detail"], "Invalid API key: AIza-x");
        Ok(())
    }
}
