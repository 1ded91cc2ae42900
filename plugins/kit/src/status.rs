//! HTTP status → error class, so every adapter maps failures the same way.

/// The provider-independent kinds of failure the host acts on (retry, fall back, report).
/// Adapters map each onto the matching `provider-error` case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The key is missing, wrong or lacks access (or the account cannot pay for the call).
    Unauthorized,
    /// Slow down and retry later.
    RateLimited,
    /// The request itself is wrong; retrying it unchanged cannot help.
    InvalidRequest,
    /// The provider did not answer in time.
    Timeout,
    /// The provider failed or refused to serve; another attempt or provider may work.
    Unavailable,
}

/// Classifies a non-2xx status.
pub fn classify_status(status: u16) -> ErrorClass {
    match status {
        // 402: billing, not the request; falling back to another provider is the remedy.
        401..=403 => ErrorClass::Unauthorized,
        408 | 504 => ErrorClass::Timeout,
        429 => ErrorClass::RateLimited,
        400..=499 => ErrorClass::InvalidRequest,
        // 3xx that reach an adapter were not followed: as useless as a 5xx.
        _ => ErrorClass::Unavailable,
    }
}

/// True for 2xx.
pub fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_classes() {
        for (status, class) in [
            (401, ErrorClass::Unauthorized),
            (402, ErrorClass::Unauthorized),
            (403, ErrorClass::Unauthorized),
            (429, ErrorClass::RateLimited),
            (400, ErrorClass::InvalidRequest),
            (404, ErrorClass::InvalidRequest),
            (409, ErrorClass::InvalidRequest),
            (413, ErrorClass::InvalidRequest),
            (422, ErrorClass::InvalidRequest),
            (408, ErrorClass::Timeout),
            (504, ErrorClass::Timeout),
            (500, ErrorClass::Unavailable),
            (502, ErrorClass::Unavailable),
            (503, ErrorClass::Unavailable),
            (529, ErrorClass::Unavailable),
            (302, ErrorClass::Unavailable),
        ] {
            assert_eq!(classify_status(status), class, "{status}");
        }
    }

    #[test]
    fn success_range() {
        assert!(is_success(200));
        assert!(is_success(204));
        assert!(!is_success(199));
        assert!(!is_success(300));
    }
}
