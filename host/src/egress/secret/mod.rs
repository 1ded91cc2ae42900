//! API keys: held by the host only, filled into outgoing requests after the policy check and
//! only where a provider protocol needs them ([`placement`]), scrubbed from everything that
//! flows back to a plugin and from every message, log and event ([`scrub`]).

pub mod placement;
pub mod scrub;

use std::fmt;
use std::sync::Arc;

pub use placement::{PlacementError, fill_header, fill_url, fill_ws_text};
pub use scrub::BodyScrubber;

/// What plugins write where the key belongs.
pub const API_KEY_PLACEHOLDER: &str = "{{api-key}}";

/// A key. Cheap to clone.
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    /// The raw value, for host code that sends it itself (the LLM tools' own HTTP clients).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// Removes the key, in any of the forms it may be written in, from text that is about to
    /// leave the host's control (errors, logs, events).
    pub fn scrub(secret: Option<&Secret>, text: &str) -> String {
        match secret {
            Some(secret) => scrub::scrub_str(&secret.0, text).into_owned(),
            None => text.to_string(),
        }
    }

    /// [`Self::scrub`] for bytes (a WebSocket message); `None` when the key is not in them.
    pub fn scrub_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        scrub::scrub_bytes(&self.0, bytes)
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_text_and_hides_itself() {
        let key = Secret::new("sk-test-123");
        assert_eq!(Secret::scrub(Some(&key), "bad key sk-test-123!"), "bad key [redacted]!");
        assert_eq!(Secret::scrub(None, "sk-test-123"), "sk-test-123");
        assert_eq!(format!("{key:?}"), "Secret([redacted])");
        assert_eq!(key, Secret::new("sk-test-123"));
    }
}
