//! Errors as one line of text, causes included: HTTP and WebSocket libraries put the useful
//! part ("Connection refused", "dns error") in the cause, not in their own message.

/// `error: cause: cause …`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_message() {
        let error = Outer(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused"));
        assert_eq!(super::chain(&error), "request failed: Connection refused");
    }
}
