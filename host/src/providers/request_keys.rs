//! Keys a session start brings along (`apiKeys: {provider: key}`): each stands in for the
//! environment variables the provider's key is read from.

use std::collections::BTreeMap;

use super::RuntimeCatalog;
use crate::config::{ApiKey, ProviderCatalog, ProviderKind};
use crate::plugin::PluginRuntime;

const KINDS: [ProviderKind; 3] = [ProviderKind::Llm, ProviderKind::Tts, ProviderKind::Stt];

/// The variables a key for `provider` stands in for: those the provider's plugins read their
/// key from, and `<PROVIDER>_API_KEY` for keys the host reads itself (`exa` → `EXA_API_KEY`).
pub fn supplied_vars(catalog: &dyn ProviderCatalog, provider: &str) -> Vec<String> {
    let mut vars: Vec<String> = KINDS.iter().flat_map(|kind| catalog.key_vars(*kind, provider)).collect();
    vars.push(format!("{}_API_KEY", provider.to_ascii_uppercase()));
    vars
}

/// `runtime` with each key standing in for the variables it overrides.
pub fn runtime_with_keys(runtime: &PluginRuntime, keys: &BTreeMap<String, ApiKey>) -> PluginRuntime {
    let catalog = RuntimeCatalog(runtime);
    let vars = keys.iter().flat_map(|(provider, key)| {
        supplied_vars(&catalog, provider).into_iter().map(|name| (name, key.secret().clone()))
    });
    runtime.with_secret_vars(vars.collect::<Vec<_>>())
}
