//! The contract's tool-call ids for Gemini's function calls, and back.
//!
//! Gemini matches a `functionResponse` to its `functionCall` by function name (and by `id` when
//! the model gave the call one; older models do not), while the contract matches a tool result
//! to its call by id. So every call gets an id: the API's own when it sent one, else one made
//! here, marked so it is never sent back as if the API had chosen it.
//!
//! Thinking models also attach a `thoughtSignature` to a function call part and refuse the next
//! request of the same turn unless the part comes back with it. A stream keeps no state past its
//! end (each one runs in a fresh sandbox), so the signature travels in the id itself, after
//! [`SIGNATURE_MARK`]; signatures are base64, which never contains the mark.

/// Separates the call's id from its thought signature.
const SIGNATURE_MARK: &str = "|ts:";

/// Prefix of the ids made here for calls the API did not name.
const MADE_HERE: &str = "gemini-call-";

/// The id for the `n`-th call of a response.
pub fn encode(api_id: Option<&str>, response_id: Option<&str>, n: usize, signature: Option<&str>) -> String {
    let mut id = match (api_id.filter(|id| !id.is_empty()), response_id.filter(|id| !id.is_empty())) {
        (Some(api_id), _) => api_id.to_string(),
        (None, Some(response)) => format!("{MADE_HERE}{response}-{n}"),
        (None, None) => format!("{MADE_HERE}{n}"),
    };
    if let Some(signature) = signature.filter(|s| !s.is_empty()) {
        id.push_str(SIGNATURE_MARK);
        id.push_str(signature);
    }
    id
}

/// What an id says about its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The id the API gave the call, to echo in the `functionCall` and `functionResponse`.
    pub api_id: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// Reads an id made by [`encode`]. An id from another provider's turn (after a fallback) reads
/// as the API's own and is echoed: the API only compares a `functionCall` id with the
/// `functionResponse` id, and both carry the same string.
pub fn decode(id: &str) -> Decoded<'_> {
    let (base, signature) = match id.split_once(SIGNATURE_MARK) {
        Some((base, signature)) => (base, Some(signature).filter(|s| !s.is_empty())),
        None => (id, None),
    };
    let api_id = (!base.is_empty() && !base.starts_with(MADE_HERE)).then_some(base);
    Decoded { api_id, signature }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let signed = encode(Some("fc_1"), Some("resp"), 0, Some("CiQB0e2Kb+/="));
        assert_eq!(signed, "fc_1|ts:CiQB0e2Kb+/=");
        assert_eq!(decode(&signed), Decoded { api_id: Some("fc_1"), signature: Some("CiQB0e2Kb+/=") });

        let made = encode(None, Some("8L8kaKnhF"), 2, Some("sig"));
        assert_eq!(made, "gemini-call-8L8kaKnhF-2|ts:sig");
        assert_eq!(decode(&made), Decoded { api_id: None, signature: Some("sig") });

        let plain = encode(None, None, 1, None);
        assert_eq!(plain, "gemini-call-1");
        assert_eq!(decode(&plain), Decoded { api_id: None, signature: None });
    }

    #[test]
    fn ids_from_other_providers_are_echoed_unsigned() {
        assert_eq!(decode("call_abc123"), Decoded { api_id: Some("call_abc123"), signature: None });
        assert_eq!(decode("toolu_01|ts:"), Decoded { api_id: Some("toolu_01"), signature: None });
    }
}
