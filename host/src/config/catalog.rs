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

    /// The audio STT `provider` takes, when known: a stream or one upload per utterance, and
    /// at what rate.
    fn stt_input(&self, provider: &str) -> Option<SttInput> {
        let _ = provider;
        None
    }
}

/// The audio an STT provider takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SttInput {
    /// Every frame as it comes (else one upload per utterance).
    pub streaming: bool,
    pub sample_rate: u32,
}

impl std::fmt::Display for SttInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.streaming { "streamed" } else { "uploaded per utterance" };
        write!(f, "{} Hz audio {how}", self.sample_rate)
    }
}

/// A fixed catalog: for tests, and for checking a config against a known set of providers.
#[derive(Debug, Clone, Default)]
pub struct StaticCatalog {
    /// (kind, provider id, key variables).
    pub providers: Vec<(ProviderKind, String, Vec<String>)>,
    /// Variables treated as set.
    pub env: Vec<String>,
    /// STT providers' audio, where a test says.
    pub stt_inputs: Vec<(String, SttInput)>,
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

    pub fn with_stt_input(mut self, provider: &str, input: SttInput) -> Self {
        self.stt_inputs.push((provider.to_string(), input));
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

    fn stt_input(&self, provider: &str) -> Option<SttInput> {
        self.stt_inputs.iter().find(|(id, _)| id == provider).map(|(_, input)| *input)
    }
}
