//! What validation needs to know about the loaded providers, behind a trait so the config
//! model does not depend on the plugin registry (and tests need no plugins or environment).

use super::provider::ProviderKind;

pub trait ProviderCatalog {
    /// Provider ids loaded for `kind`, for "unknown provider" messages.
    fn providers(&self, kind: ProviderKind) -> Vec<String>;

    /// The environment variables `provider` reads its key from, in order; empty when it needs
    /// no key (a local model, say).
    fn key_vars(&self, kind: ProviderKind, provider: &str) -> Vec<String>;

    /// Whether the variable is set to something non-empty.
    fn env_has(&self, var: &str) -> bool;
}

/// A fixed catalog: for tests, and for checking a config against a known set of providers.
#[derive(Debug, Clone, Default)]
pub struct StaticCatalog {
    /// (kind, provider id, key variables).
    pub providers: Vec<(ProviderKind, String, Vec<String>)>,
    /// Variables treated as set.
    pub env: Vec<String>,
}

impl StaticCatalog {
    pub fn with(mut self, kind: ProviderKind, provider: &str, key_vars: &[&str]) -> Self {
        self.providers.push((kind, provider.to_string(), key_vars.iter().map(|v| v.to_string()).collect()));
        self
    }

    pub fn with_env(mut self, var: &str) -> Self {
        self.env.push(var.to_string());
        self
    }
}

impl ProviderCatalog for StaticCatalog {
    fn providers(&self, kind: ProviderKind) -> Vec<String> {
        self.providers.iter().filter(|(k, _, _)| *k == kind).map(|(_, id, _)| id.clone()).collect()
    }

    fn key_vars(&self, kind: ProviderKind, provider: &str) -> Vec<String> {
        let found = self.providers.iter().find(|(k, id, _)| *k == kind && id == provider);
        found.map(|(_, _, vars)| vars.clone()).unwrap_or_default()
    }

    fn env_has(&self, var: &str) -> bool {
        self.env.iter().any(|v| v == var)
    }
}
