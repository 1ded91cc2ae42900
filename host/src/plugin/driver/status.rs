//! Host-side classification of HTTP failures the plugin never sees (a refused WebSocket
//! handshake, a connection that could not be made), into the contract's typed errors.

use super::super::bindings::latest::types::{ProviderError, RateLimit};

/// Longest provider error body quoted in an error message.
const MAX_QUOTED: usize = 300;

pub fn from_status(status: u16, retry_after_ms: Option<u32>, body: &str) -> ProviderError {
    let body = body.trim();
    let quoted: String = body.chars().take(MAX_QUOTED).collect();
    let message = if quoted.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {quoted}") };
    match status {
        401 | 403 => ProviderError::Unauthorized(message),
        429 => ProviderError::RateLimited(RateLimit { message, retry_after_ms }),
        408 | 504 => ProviderError::Timeout(message),
        400..=499 => ProviderError::InvalidRequest(message),
        _ => ProviderError::Unavailable(message),
    }
}

/// `retry-after` in seconds (the HTTP-date form is rare for APIs and ignored).
pub fn retry_after_ms(value: Option<&str>) -> Option<u32> {
    let seconds: f64 = value?.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).min(f64::from(u32::MAX)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_typed_errors() {
        assert!(matches!(from_status(401, None, "{}"), ProviderError::Unauthorized(_)));
        assert!(matches!(
            from_status(429, Some(2000), ""),
            ProviderError::RateLimited(RateLimit { retry_after_ms: Some(2000), .. })
        ));
        assert!(matches!(from_status(422, None, ""), ProviderError::InvalidRequest(_)));
        assert!(matches!(from_status(503, None, ""), ProviderError::Unavailable(_)));
        assert_eq!(retry_after_ms(Some("1.5")), Some(1500));
        assert_eq!(retry_after_ms(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
    }
}
