//! Why a stream failed, in plain Rust: the kit's streams return it, and each adapter turns it into
//! its generated `provider-error` in one place (each [`ErrorClass`] onto the matching case).

use crate::error_body::HttpFailure;
use crate::status::ErrorClass;

/// A stream failure, before an adapter maps it onto its `provider-error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A failure the host acts on by its class (retry, fall back, report).
    Classified {
        /// What the host should do about it.
        class: ErrorClass,
        /// A one-line description naming the provider.
        message: String,
        /// How long the provider asked us to wait before retrying (rate limits only).
        retry_after_ms: Option<u32>,
    },
    /// The provider answered something the adapter cannot parse.
    Protocol(String),
}

impl Failure {
    /// A failure of this class, with no retry hint.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Failure::Classified { class, message: message.into(), retry_after_ms: None }
    }

    /// A request the adapter refuses to send.
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure::new(ErrorClass::InvalidRequest, message)
    }

    /// A response the adapter cannot understand.
    pub fn protocol(message: impl Into<String>) -> Self {
        Failure::Protocol(message.into())
    }

    /// A failed HTTP response, described as `provider returned HTTP <status>: <message>`.
    pub fn http(failure: HttpFailure, provider: &str) -> Self {
        Failure::Classified {
            class: failure.class,
            message: failure.describe(provider),
            retry_after_ms: failure.retry_after_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error_body::ErrorCollector;

    #[test]
    fn http_failures_keep_class_message_and_retry_hint() {
        let mut collector = ErrorCollector::new(429, Some(20_000));
        collector.push(br#"{"error":{"message":"Slow down"}}"#);
        assert_eq!(
            Failure::http(collector.finish(), "openai"),
            Failure::Classified {
                class: ErrorClass::RateLimited,
                message: "openai returned HTTP 429: Slow down".into(),
                retry_after_ms: Some(20_000),
            }
        );
    }

    #[test]
    fn constructors() {
        assert_eq!(
            Failure::invalid("bad"),
            Failure::Classified { class: ErrorClass::InvalidRequest, message: "bad".into(), retry_after_ms: None }
        );
        assert_eq!(Failure::protocol("odd"), Failure::Protocol("odd".into()));
    }
}
