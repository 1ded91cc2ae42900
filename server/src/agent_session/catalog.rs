//! Validation's view of a request: the server's providers and environment, plus the keys the
//! request brought in `apiKeys` (which count as set, as they override the environment).
//! In worker mode the agent runs with the worker's environment, which the server cannot see:
//! keys are the worker's concern there.

use std::collections::BTreeMap;

use voiceblox_host::config::{ApiKey, ProviderCatalog, ProviderKind};
use voiceblox_host::providers::request_keys::supplied_vars;

pub struct RequestCatalog<'a> {
    pub inner: &'a dyn ProviderCatalog,
    pub keys: &'a BTreeMap<String, ApiKey>,
    /// The session runs elsewhere (a worker), with an environment of its own.
    pub keys_elsewhere: bool,
}

/// The runtime an in-process session of this request uses: the server's, with each request
/// key standing in for the variables it overrides.
pub use voiceblox_host::providers::request_keys::runtime_with_keys as session_runtime;

impl ProviderCatalog for RequestCatalog<'_> {
    fn providers(&self, kind: ProviderKind) -> Vec<String> {
        self.inner.providers(kind)
    }

    fn key_vars(&self, kind: ProviderKind, provider: &str) -> Vec<String> {
        self.inner.key_vars(kind, provider)
    }

    fn env_has(&self, var: &str) -> bool {
        self.keys_elsewhere
            || self.inner.env_has(var)
            || self.keys.keys().any(|provider| supplied_vars(self.inner, provider).iter().any(|v| v == var))
    }
}

#[cfg(test)]
mod tests {
    use voiceblox_host::config::StaticCatalog;

    use super::*;

    #[test]
    fn request_keys_count_as_set() {
        let inner = StaticCatalog::default()
            .with(ProviderKind::Llm, "openai", &["OPENAI_API_KEY"])
            .with(ProviderKind::Stt, "deepgram", &["DEEPGRAM_API_KEY", "DG_KEY"])
            .with_env("ALREADY_SET");
        let keys = BTreeMap::from([("deepgram".to_string(), ApiKey::new("dg")), ("exa".into(), ApiKey::new("x"))]);
        let catalog = RequestCatalog { inner: &inner, keys: &keys, keys_elsewhere: false };
        assert!(catalog.env_has("ALREADY_SET"));
        assert!(catalog.env_has("DG_KEY") && catalog.env_has("DEEPGRAM_API_KEY"));
        assert!(catalog.env_has("EXA_API_KEY"));
        assert!(!catalog.env_has("OPENAI_API_KEY"));
        let worker = RequestCatalog { keys_elsewhere: true, ..catalog };
        assert!(worker.env_has("OPENAI_API_KEY"));
    }
}
