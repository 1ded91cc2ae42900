//! The registry: (provider id, kind) → the plugin that serves it.
//!
//! A provider id belongs to one plugin, whatever kinds it serves (the id's key goes with it).
//! When several plugins claim an id, file names never decide: the plugin the operator pinned in
//! the policy file wins; without a pin, the first-party plugin (byte for byte one this host was
//! built with) wins; otherwise nobody does. Every other claimant is refused whole, with a
//! message that says how to pin it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::cache::CompileCache;
use super::discovery;
use super::engine::PluginEngine;
use super::error::PluginError;
use super::loaded::{Kind, Plugin, kind_name};
use super::provider_policy::ProviderPolicy;

/// Every plugin loaded from a folder, plus the files that were refused and why.
#[derive(Default)]
pub struct PluginRegistry {
    plugins: Vec<Arc<Plugin>>,
    routes: BTreeMap<(String, &'static str), Arc<Plugin>>,
    failures: Vec<PluginError>,
}

impl PluginRegistry {
    /// Loads every `*.wasm` in `dir` under the default provider policy (no pins).
    pub async fn load_dir(engine: &PluginEngine, cache: &CompileCache, dir: &Path) -> Self {
        Self::load_dir_with(engine, cache, dir, &ProviderPolicy::default()).await
    }

    /// Loads every `*.wasm` in `dir`. A bad file is recorded in [`Self::failures`] and skipped;
    /// it never stops the others from loading.
    pub async fn load_dir_with(
        engine: &PluginEngine,
        cache: &CompileCache,
        dir: &Path,
        policy: &ProviderPolicy,
    ) -> Self {
        let files = match discovery::wasm_files(dir) {
            Ok(files) => files,
            Err(source) => {
                return Self { failures: vec![PluginError::Read { path: dir.into(), source }], ..Self::default() };
            }
        };
        let mut loaded = Vec::new();
        let mut failures = Vec::new();
        for path in files {
            match Plugin::load(engine, cache, &path).await {
                Ok(plugin) => loaded.push(plugin),
                Err(error) => failures.push(error),
            }
        }
        Self::from_plugins(loaded, failures, policy)
    }

    /// Settles who serves which provider id among `loaded` and registers the winners.
    pub fn from_plugins(loaded: Vec<Arc<Plugin>>, mut failures: Vec<PluginError>, policy: &ProviderPolicy) -> Self {
        let mut claims: BTreeMap<&str, Vec<&Arc<Plugin>>> = BTreeMap::new();
        for plugin in &loaded {
            for provider in &plugin.info().providers {
                claims.entry(provider.id.as_str()).or_default().push(plugin);
            }
        }
        let mut refused: Vec<(Arc<Plugin>, String)> = Vec::new();
        for (id, claimants) in &claims {
            for (loser, reason) in settle(id, claimants, policy) {
                if !refused.iter().any(|(p, _)| Arc::ptr_eq(p, loser)) {
                    refused.push((loser.clone(), reason));
                }
            }
        }
        let mut registry = Self::default();
        for (plugin, message) in &refused {
            failures.push(PluginError::ProviderTaken { path: plugin.path().into(), message: message.clone() });
        }
        for plugin in loaded {
            if !refused.iter().any(|(p, _)| Arc::ptr_eq(p, &plugin)) {
                registry.add(plugin);
            }
        }
        for failure in &failures {
            tracing::warn!(%failure, "plugin refused");
        }
        registry.failures = failures;
        registry
    }

    fn add(&mut self, plugin: Arc<Plugin>) {
        for provider in &plugin.info().providers {
            for kind in &provider.kinds {
                self.routes.insert((provider.id.clone(), kind_name(*kind)), plugin.clone());
            }
        }
        tracing::info!(
            plugin = plugin.name(),
            version = %plugin.info().version,
            path = %plugin.path().display(),
            first_party = plugin.is_first_party(),
            "plugin loaded"
        );
        self.plugins.push(plugin);
    }

    pub fn get(&self, provider: &str, kind: Kind) -> Option<&Arc<Plugin>> {
        self.routes.get(&(provider.to_string(), kind_name(kind)))
    }

    /// Provider ids that serve `kind`, for "unknown provider" messages.
    pub fn providers(&self, kind: Kind) -> Vec<&str> {
        self.routes.keys().filter(|(_, k)| *k == kind_name(kind)).map(|(id, _)| id.as_str()).collect()
    }

    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    pub fn failures(&self) -> &[PluginError] {
        &self.failures
    }
}

/// The claimants of `id` that must not serve it, each with the reason.
fn settle<'a>(id: &str, claimants: &[&'a Arc<Plugin>], policy: &ProviderPolicy) -> Vec<(&'a Arc<Plugin>, String)> {
    let files = || claimants.iter().map(|p| p.file_name()).collect::<Vec<_>>().join(", ");
    let pin_hint = |file: &str| format!("to use it, pin it in the policy file: [providers.{id}] plugin = \"{file}\"");
    if let Some(pinned) = policy.pinned(id) {
        return claimants
            .iter()
            .filter(|p| p.file_name() != pinned)
            .map(|p| (*p, format!("claims provider `{id}`, which the policy file pins to {pinned}; refused")))
            .collect();
    }
    if claimants.len() < 2 {
        return Vec::new();
    }
    let first_party: Vec<&&Arc<Plugin>> = claimants.iter().filter(|p| p.is_first_party()).collect();
    match first_party.as_slice() {
        [winner] => claimants
            .iter()
            .filter(|p| !Arc::ptr_eq(p, winner))
            .map(|p| {
                let reason = format!(
                    "claims provider `{id}`, which the first-party plugin {} ({}) serves; refused ({})",
                    winner.name(),
                    winner.file_name(),
                    pin_hint(&p.file_name())
                );
                (*p, reason)
            })
            .collect(),
        _ => claimants
            .iter()
            .map(|p| {
                let reason = format!(
                    "claims provider `{id}` like {}; none of them is pinned or first-party, so none serves it ({})",
                    files(),
                    pin_hint(&p.file_name())
                );
                (*p, reason)
            })
            .collect(),
    }
}
