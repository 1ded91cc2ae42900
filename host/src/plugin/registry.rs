//! The registry: (provider id, kind) → the plugin that serves it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::cache::CompileCache;
use super::discovery;
use super::engine::PluginEngine;
use super::error::PluginError;
use super::loaded::{Kind, Plugin, kind_name};

/// Every plugin loaded from a folder, plus the files that were refused and why.
#[derive(Default)]
pub struct PluginRegistry {
    plugins: Vec<Arc<Plugin>>,
    routes: BTreeMap<(String, &'static str), Arc<Plugin>>,
    failures: Vec<PluginError>,
}

impl PluginRegistry {
    /// Loads every `*.wasm` in `dir`. A bad file is recorded in [`Self::failures`] and skipped;
    /// it never stops the others from loading. When two plugins serve the same provider and
    /// kind, the first by file name wins and the other is reported.
    pub async fn load_dir(engine: &PluginEngine, cache: &CompileCache, dir: &Path) -> Self {
        let mut registry = Self::default();
        let files = match discovery::wasm_files(dir) {
            Ok(files) => files,
            Err(source) => {
                registry.failures.push(PluginError::Read { path: dir.into(), source });
                return registry;
            }
        };
        for path in files {
            match Plugin::load(engine, cache, &path).await {
                Ok(plugin) => registry.add(plugin),
                Err(error) => {
                    tracing::warn!(%error, "plugin refused");
                    registry.failures.push(error);
                }
            }
        }
        registry
    }

    /// Registers a loaded plugin's routes.
    pub fn add(&mut self, plugin: Arc<Plugin>) {
        for provider in &plugin.info().providers {
            for kind in &provider.kinds {
                let key = (provider.id.clone(), kind_name(*kind));
                if let Some(existing) = self.routes.get(&key) {
                    let message = format!(
                        "provider `{}` ({}) is already served by plugin {} ({}); ignored here",
                        provider.id,
                        key.1,
                        existing.name(),
                        existing.path().display()
                    );
                    tracing::warn!(plugin = plugin.name(), "{message}");
                    self.failures.push(PluginError::BadDescription { path: plugin.path().into(), message });
                    continue;
                }
                self.routes.insert(key, plugin.clone());
            }
        }
        tracing::info!(plugin = plugin.name(), version = %plugin.info().version, path = %plugin.path().display(), "plugin loaded");
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
