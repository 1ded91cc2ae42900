//! The contract's tool-call ids for Gemini's function calls, and back.
//!
//! Gemini matches a `functionResponse` to its `functionCall` by function name (and by `id` when
//! the model gave the call one; older models do not), while the contract matches a tool result
//! to its call by id. So every call gets an id: the API's own when it sent one, else one made
//! here, marked so it is never sent back as if the API had chosen it.
//!
//! Thinking models also attach a `thoughtSignature` to a function call part and refuse the next
//! request of the same turn unless the part comes back with it. A stream keeps no state past its
//! end (each one runs in a fresh sandbox), so the signature travels with the call in the
//! contract's `provider-data` (since 0.2.0), which the host keeps in the conversation; the id
//! stays short, as other providers want it after a fallback (OpenAI takes at most 40 characters).

use serde_json::{Value, json};

/// Prefix of the ids made here for calls the API did not name.
const MADE_HERE: &str = "gemini-call-";

/// The key of the signature in `provider-data` (a JSON object).
const SIGNATURE_KEY: &str = "thoughtSignature";

/// The id for the `n`-th call of a response.
pub fn encode(api_id: Option<&str>, response_id: Option<&str>, n: usize) -> String {
    match (api_id.filter(|id| !id.is_empty()), response_id.filter(|id| !id.is_empty())) {
        (Some(api_id), _) => api_id.to_string(),
        (None, Some(response)) => format!("{MADE_HERE}{response}-{n}"),
        (None, None) => format!("{MADE_HERE}{n}"),
    }
}

/// The id the API gave the call, to echo in the `functionCall` and `functionResponse`; none
/// for an id made here. An id from another provider's turn (after a fallback) reads as the
/// API's own and is echoed: the API only compares a `functionCall` id with the
/// `functionResponse` id, and both carry the same string.
pub fn api_id(id: &str) -> Option<&str> {
    (!id.is_empty() && !id.starts_with(MADE_HERE)).then_some(id)
}

/// `provider-data` carrying a call's thought signature, if it had one.
pub fn provider_data(signature: Option<&str>) -> Option<String> {
    signature.filter(|s| !s.is_empty()).map(|s| json!({ SIGNATURE_KEY: s }).to_string())
}

/// The thought signature in a call's `provider-data`; none when another provider (or no one)
/// wrote it.
pub fn signature(provider_data: Option<&str>) -> Option<String> {
    let data: Value = serde_json::from_str(provider_data?).ok()?;
    data.get(SIGNATURE_KEY)?.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_apis_or_made_here() {
        assert_eq!(encode(Some("fc_1"), Some("resp"), 0), "fc_1");
        assert_eq!(api_id("fc_1"), Some("fc_1"));
        let made = encode(None, Some("8L8kaKnhF"), 2);
        assert_eq!(made, "gemini-call-8L8kaKnhF-2");
        assert_eq!(api_id(&made), None);
        assert_eq!(encode(None, None, 1), "gemini-call-1");
    }

    #[test]
    fn ids_from_other_providers_are_echoed() {
        assert_eq!(api_id("call_abc123"), Some("call_abc123"));
        assert_eq!(api_id(""), None);
    }

    #[test]
    fn signatures_round_trip_through_provider_data() {
        let data = provider_data(Some("CiQB0e2Kb+/=")).unwrap();
        assert_eq!(signature(Some(&data)).as_deref(), Some("CiQB0e2Kb+/="));
        assert_eq!(provider_data(Some("")), None);
        assert_eq!(provider_data(None), None);
    }

    #[test]
    fn provider_data_written_by_others_is_ignored() {
        assert_eq!(signature(None), None);
        assert_eq!(signature(Some("not json")), None);
        assert_eq!(signature(Some(r#"{"cache":"x"}"#)), None);
        assert_eq!(signature(Some(r#"{"thoughtSignature":7}"#)), None);
    }
}
