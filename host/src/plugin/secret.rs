//! API keys: held by the host only, filled into outgoing requests after the policy check,
//! never shown to plugins, logs or events.

use std::fmt;

/// What plugins write where the key belongs.
pub const API_KEY_PLACEHOLDER: &str = "{{api-key}}";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for host code that sends it itself (the LLM tools' own HTTP clients).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Substitutes the placeholder in a header value or URL.
    pub fn fill(secret: Option<&Secret>, text: &str) -> String {
        match secret {
            Some(secret) if text.contains(API_KEY_PLACEHOLDER) => text.replace(API_KEY_PLACEHOLDER, &secret.0),
            _ => text.to_string(),
        }
    }

    /// Removes the key from text that is about to leave the host's control (errors, logs).
    pub fn scrub(secret: Option<&Secret>, text: &str) -> String {
        match secret {
            Some(secret) if secret.0.len() >= 4 && text.contains(&secret.0) => text.replace(&secret.0, "[redacted]"),
            _ => text.to_string(),
        }
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_placeholders_and_scrubs_text() {
        let key = Secret::new("sk-test-123");
        assert_eq!(Secret::fill(Some(&key), "Bearer {{api-key}}"), "Bearer sk-test-123");
        assert_eq!(Secret::fill(None, "Bearer {{api-key}}"), "Bearer {{api-key}}");
        assert_eq!(Secret::scrub(Some(&key), "bad key sk-test-123!"), "bad key [redacted]!");
        assert_eq!(format!("{key:?}"), "Secret([redacted])");
    }
}
