//! Reading the response of the request in flight: its head decides whether the body is the
//! payload or an error document to collect until the end.

use crate::error_body::ErrorCollector;
use crate::retry_after::retry_after_ms;
use crate::status::is_success;

/// How the body of the request in flight is being read.
#[derive(Debug)]
pub enum ResponseBody {
    /// Sent; no head yet.
    AwaitingHead,
    /// 2xx: the body is the payload.
    Payload,
    /// Non-2xx: the body is an error document.
    Failed(ErrorCollector),
}

impl ResponseBody {
    /// The reading a response head calls for, from its status and (name, value) headers.
    pub fn for_head<'a, I>(status: u16, headers: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        if is_success(status) {
            ResponseBody::Payload
        } else {
            ResponseBody::Failed(ErrorCollector::new(status, retry_after_ms(headers)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::ErrorClass;

    #[test]
    fn success_is_payload() {
        assert!(matches!(ResponseBody::for_head(200, []), ResponseBody::Payload));
        assert!(matches!(ResponseBody::for_head(206, []), ResponseBody::Payload));
    }

    #[test]
    fn failure_collects_with_retry_hint() {
        let ResponseBody::Failed(mut collector) = ResponseBody::for_head(429, [("Retry-After", "3")]) else {
            panic!("expected a failure");
        };
        collector.push(b"{\"err_msg\":\"Too many requests\"}");
        let failure = collector.finish();
        assert_eq!(failure.class, ErrorClass::RateLimited);
        assert_eq!(failure.retry_after_ms, Some(3000));
        assert_eq!(failure.message.as_deref(), Some("Too many requests"));
    }
}
