//! Errors as one line of text, causes included: HTTP and WebSocket libraries put the useful
//! part ("Connection refused", "dns error") in the cause, not in their own message. The one
//! formatter of error chains in the host.

type Error<'a> = &'a (dyn std::error::Error + 'static);

/// `error: cause: cause …`, each piece once (wrappers often repeat their cause's text).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    join(&causes(error, |_| None))
}

/// The causes of `error`, outermost first. `inner` steps into errors that hold a cause
/// without reporting it as `source()` (rmcp's transport errors).
pub fn causes<'a>(error: Error<'a>, inner: impl Fn(Error<'a>) -> Option<Error<'a>>) -> Vec<Error<'a>> {
    let mut found = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        found.push(e);
        current = e.source().or_else(|| inner(e));
    }
    found
}

/// The first cause of type `E` (a policy refusal inside a transport error, say).
pub fn find<'a, E: std::error::Error + 'static>(causes: &[Error<'a>]) -> Option<&'a E> {
    causes.iter().find_map(|e| e.downcast_ref::<E>())
}

/// Causes on one line, each piece once.
pub fn join(causes: &[Error<'_>]) -> String {
    let mut text = String::new();
    for cause in causes {
        let line = cause.to_string();
        if line.is_empty() || text.contains(&line) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&line);
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("request failed: {0}")]
    struct Repeating(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_message_once_each() {
        let refused = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(super::chain(&Outer(refused())), "request failed: Connection refused");
        assert_eq!(super::chain(&Repeating(refused())), "request failed: Connection refused");
        let outer = Outer(refused());
        let causes = super::causes(&outer, |_| None);
        assert!(super::find::<std::io::Error>(&causes).is_some());
    }
}
