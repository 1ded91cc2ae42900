//! `retry-after-ms` / `retry-after` response headers.
//!
//! `retry-after-ms` (OpenAI and Azure send it; their SDKs prefer it) is more precise, so it wins.
//! `retry-after` may also be an HTTP date; a plugin has no clock, so a date yields `None` and the
//! host falls back to its own backoff.

/// Milliseconds the provider asked us to wait, from response headers given as (name, value).
pub fn retry_after_ms<'a, I>(headers: I) -> Option<u32>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut seconds = None;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("retry-after-ms") {
            if let Some(ms) = parse_non_negative(value) {
                return Some(to_u32(ms));
            }
        } else if name.eq_ignore_ascii_case("retry-after") && seconds.is_none() {
            seconds = parse_non_negative(value);
        }
    }
    seconds.map(|s| to_u32(s * 1000.0))
}

fn parse_non_negative(value: &str) -> Option<f64> {
    let number: f64 = value.trim().parse().ok()?;
    (number.is_finite() && number >= 0.0).then_some(number)
}

fn to_u32(ms: f64) -> u32 {
    // `as` saturates for floats: a huge value becomes u32::MAX rather than wrapping.
    ms.round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_header() {
        assert_eq!(retry_after_ms([("Retry-After", "20")]), Some(20_000));
        assert_eq!(retry_after_ms([("retry-after", "1.5")]), Some(1_500));
    }

    #[test]
    fn milliseconds_header_wins_in_any_order() {
        let headers = [("retry-after", "2"), ("Retry-After-Ms", "350")];
        assert_eq!(retry_after_ms(headers), Some(350));
        let headers = [("retry-after-ms", "350"), ("retry-after", "2")];
        assert_eq!(retry_after_ms(headers), Some(350));
    }

    #[test]
    fn dates_garbage_and_negatives_are_ignored() {
        assert_eq!(retry_after_ms([("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]), None);
        assert_eq!(retry_after_ms([("retry-after", "-3")]), None);
        assert_eq!(retry_after_ms([("retry-after-ms", "soon"), ("retry-after", "1")]), Some(1000));
        assert_eq!(retry_after_ms([("content-type", "text/plain")]), None);
    }

    #[test]
    fn huge_values_saturate() {
        assert_eq!(retry_after_ms([("retry-after", "1e12")]), Some(u32::MAX));
    }
}
