//! Reading the close frame of a provider's WebSocket that closed while the stream still wanted
//! it.
//!
//! Streaming APIs report most refusals after the upgrade as a close: the code says roughly what
//! went wrong, the reason (free text) often says it better. Every adapter describes the close the
//! same way and starts from the same reading of the codes; what a provider adds is its own
//! wording ([`close_failure`]'s `refine`).

use crate::error_body::truncate;
use crate::failure::Failure;
use crate::status::{ErrorClass, classify_status};

/// Longest close reason quoted in an error.
pub const MAX_QUOTED_REASON: usize = 300;

/// The close code a server sends for a protocol error: ours, so a retry would fail the same way.
pub const PROTOCOL_ERROR: u16 = 1002;

/// `<provider> closed the stream with code <code>[: <reason>]`, the reason trimmed and shortened.
pub fn close_message(provider: &str, code: u16, reason: &str) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        format!("{provider} closed the stream with code {code}")
    } else {
        format!("{provider} closed the stream with code {code}: {}", truncate(reason, MAX_QUOTED_REASON))
    }
}

/// The class a close code alone points to: the codes of RFC 6455 that blame the data sent, and
/// 4000 + an HTTP status, the usual convention for application close codes. Anything else means
/// the provider could not go on.
pub fn close_code_class(code: u16) -> ErrorClass {
    match code {
        // Unsupported data, inconsistent data, policy violation, message too big.
        1003 | 1007 | 1008 | 1009 => ErrorClass::InvalidRequest,
        4100..=4599 => classify_status(code - 4000),
        _ => ErrorClass::Unavailable,
    }
}

/// The failure a close with `code` and `reason` reports: a protocol error for 1002, else the
/// class `refine` reads from the (trimmed) reason, else the code's ([`close_code_class`]).
pub fn close_failure(
    provider: &str,
    code: u16,
    reason: &str,
    refine: impl FnOnce(&str) -> Option<ErrorClass>,
) -> Failure {
    let message = close_message(provider, code, reason);
    if code == PROTOCOL_ERROR {
        return Failure::protocol(message);
    }
    let class = refine(reason.trim()).unwrap_or_else(|| close_code_class(code));
    Failure::new(class, message)
}

/// A normal close (1000) that came before the stream was `what` (`ended`, `done`): the provider
/// gave up on it, and another attempt may work. `reason` is quoted as given, when not empty.
pub fn closed_early(provider: &str, what: &str, reason: &str) -> Failure {
    let reason = if reason.is_empty() { String::new() } else { format!(": {reason}") };
    Failure::new(ErrorClass::Unavailable, format!("{provider} closed the stream before it was {what}{reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_trimmed_reason() {
        assert_eq!(close_message("prov", 1011, "  "), "prov closed the stream with code 1011");
        assert_eq!(close_message("prov", 1011, " oops\n"), "prov closed the stream with code 1011: oops");
        let long = "x".repeat(MAX_QUOTED_REASON + 5);
        assert!(close_message("prov", 1011, &long).ends_with('…'));
    }

    #[test]
    fn codes_have_a_default_class() {
        assert_eq!(close_code_class(1008), ErrorClass::InvalidRequest);
        assert_eq!(close_code_class(4401), ErrorClass::Unauthorized);
        assert_eq!(close_code_class(4429), ErrorClass::RateLimited);
        assert_eq!(close_code_class(1011), ErrorClass::Unavailable);
        assert_eq!(close_code_class(4000), ErrorClass::Unavailable);
    }

    #[test]
    fn the_provider_refines_the_class_but_not_a_protocol_error() {
        let unauthorized = |reason: &str| reason.contains("key").then_some(ErrorClass::Unauthorized);
        assert_eq!(
            close_failure("prov", 1008, " bad key ", unauthorized),
            Failure::new(ErrorClass::Unauthorized, "prov closed the stream with code 1008: bad key")
        );
        assert_eq!(
            close_failure("prov", 1008, "bad input", unauthorized),
            Failure::new(ErrorClass::InvalidRequest, "prov closed the stream with code 1008: bad input")
        );
        assert_eq!(
            close_failure("prov", 1002, "key", unauthorized),
            Failure::protocol("prov closed the stream with code 1002: key")
        );
    }

    #[test]
    fn early_closes_are_unavailable() {
        assert_eq!(
            closed_early("prov", "ended", ""),
            Failure::new(ErrorClass::Unavailable, "prov closed the stream before it was ended")
        );
        assert_eq!(
            closed_early("prov", "done", "bye"),
            Failure::new(ErrorClass::Unavailable, "prov closed the stream before it was done: bye")
        );
    }
}
