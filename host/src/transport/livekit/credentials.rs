//! Where the LiveKit project is and how to sign for it.

use std::fmt;

use crate::egress::secret::Secret;

pub const URL_VAR: &str = "LIVEKIT_URL";
pub const API_KEY_VAR: &str = "LIVEKIT_API_KEY";
pub const API_SECRET_VAR: &str = "LIVEKIT_API_SECRET";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Names the environment variables, since that is where an operator fixes it.
    #[error("LiveKit is not configured: {} not set", .missing.join(", "))]
    Missing { missing: Vec<&'static str> },
    #[error("{URL_VAR} {url:?} is not a LiveKit URL: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// A LiveKit project: its URL (`wss://…` as browsers use it; `https://…` works too), API key
/// and secret. The secret never shows in `Debug` and leaves this crate only inside signatures.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveKitCredentials {
    url: String,
    api_key: String,
    api_secret: Secret,
}

impl LiveKitCredentials {
    pub fn new(url: &str, api_key: &str, api_secret: Secret) -> Result<Self, CredentialsError> {
        Self::from_parts(Some(url.to_string()), Some(api_key.to_string()), Some(api_secret))
    }

    /// From `LIVEKIT_URL`, `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`.
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_parts(var(URL_VAR), var(API_KEY_VAR), var(API_SECRET_VAR).map(Secret::new))
    }

    /// From values that may each be absent (the server merges a request's values over the
    /// environment's); blank counts as absent, and every missing one is named at once.
    pub fn from_parts(
        url: Option<String>,
        api_key: Option<String>,
        api_secret: Option<Secret>,
    ) -> Result<Self, CredentialsError> {
        let present = |value: Option<String>| value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let (url, api_key) = (present(url), present(api_key));
        // Secrets are used as given: trimming would sign with a different key than the operator set.
        let api_secret = api_secret.filter(|s| !s.expose().is_empty());
        let missing: Vec<&'static str> = [(URL_VAR, url.is_none()), (API_KEY_VAR, api_key.is_none())]
            .into_iter()
            .chain([(API_SECRET_VAR, api_secret.is_none())])
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
        match (url, api_key, api_secret) {
            (Some(url), Some(api_key), Some(api_secret)) => {
                check_url(&url)?;
                Ok(Self { url, api_key, api_secret })
            }
            _ => Err(CredentialsError::Missing { missing }),
        }
    }

    /// As configured: the URL handed to browsers (`serverUrl`) and to the Twirp client, which
    /// maps `ws(s)` to `http(s)` itself.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    pub(crate) fn api_secret(&self) -> &str {
        self.api_secret.expose()
    }
}

impl fmt::Debug for LiveKitCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveKitCredentials")
            .field("url", &self.url)
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret)
            .finish()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn check_url(raw: &str) -> Result<(), CredentialsError> {
    let invalid = |reason: &str| CredentialsError::InvalidUrl { url: raw.to_string(), reason: reason.to_string() };
    let url = url::Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "ws" | "wss" | "http" | "https") {
        return Err(invalid("the scheme must be wss, ws, https or http"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(url: &str, key: &str, secret: &str) -> Result<LiveKitCredentials, CredentialsError> {
        let some = |v: &str| Some(v.to_string());
        LiveKitCredentials::from_parts(some(url), some(key), Some(Secret::new(secret)))
    }

    #[test]
    fn names_every_missing_variable() {
        let error = LiveKitCredentials::from_parts(None, Some("key".into()), Some(Secret::new(""))).unwrap_err();
        assert_eq!(error, CredentialsError::Missing { missing: vec![URL_VAR, API_SECRET_VAR] });
        assert_eq!(error.to_string(), "LiveKit is not configured: LIVEKIT_URL, LIVEKIT_API_SECRET not set");
    }

    #[test]
    fn accepts_websocket_and_http_urls_only() {
        for url in ["wss://example.livekit.cloud", "ws://127.0.0.1:7880", "https://lk.example.com", "http://[::1]:7880"]
        {
            assert_eq!(parts(url, "key", "secret").unwrap().url(), url);
        }
        for url in ["ftp://example.com", "not a url", "unix:/tmp/x"] {
            let error = parts(url, "key", "secret").unwrap_err();
            assert!(matches!(error, CredentialsError::InvalidUrl { .. }), "{url}: {error}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let credentials = parts("wss://x.livekit.cloud", "APIkey", "very-secret-value").unwrap();
        let shown = format!("{credentials:?}");
        assert!(shown.contains("APIkey") && !shown.contains("very-secret-value"), "{shown}");
    }
}
