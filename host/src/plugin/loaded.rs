//! A loaded plugin: compiled, checked against the contract, pre-linked, described.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::InstancePre;

use super::bindings::{Exports, latest::types};
use super::cache::CompileCache;
use super::contract;
use super::engine::PluginEngine;
use super::error::PluginError;
use super::fault;
use super::store::{StoreState, arm, sandboxed_store};
use super::untrusted::{clean, is_plain_id, is_plain_name};
use crate::egress::policy::HostPattern;
use sha2::{Digest, Sha256};

pub use types::{Kind, PluginInfo, ProviderInfo};

/// A plugin ready to instantiate. Shared by every session that uses it.
pub struct Plugin {
    path: PathBuf,
    info: PluginInfo,
    pre: InstancePre<StoreState>,
    exports: Exports,
    engine: PluginEngine,
    wasm_bytes: usize,
    sha256: String,
}

impl Plugin {
    /// Reads, checks, compiles (through the cache), links and describes the component at `path`.
    pub async fn load(engine: &PluginEngine, cache: &CompileCache, path: &Path) -> Result<Arc<Self>, PluginError> {
        let bytes = std::fs::read(path).map_err(|source| PluginError::Read { path: path.into(), source })?;
        contract::check_header(&bytes, path)?;
        let component = cache
            .load(engine.engine(), &bytes)
            .map_err(|e| PluginError::Invalid { path: path.into(), message: format!("{e:#}") })?;
        let version = contract::check(engine.engine(), &component, path)?;
        let pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Invalid { path: path.into(), message: format!("{e:#}") })?;
        let exports = Exports::locate(&version, &component, &pre)
            .map_err(|e| PluginError::Invalid { path: path.into(), message: format!("{e:#}") })?;
        let info = describe(engine, &pre, &exports, path).await?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let plugin =
            Self { path: path.into(), info, pre, exports, engine: engine.clone(), wasm_bytes: bytes.len(), sha256 };
        plugin.validate()?;
        Ok(Arc::new(plugin))
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn wasm_bytes(&self) -> usize {
        self.wasm_bytes
    }

    /// SHA-256 of the component file, hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The file's name in its folder (what a policy file pins).
    pub fn file_name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Whether this is byte for byte a plugin this host was built with (from `plugins/`).
    pub fn is_first_party(&self) -> bool {
        first_party_hashes().any(|hash| hash == self.sha256)
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderInfo> {
        self.info.providers.iter().find(|p| p.id == id)
    }

    /// The pre-linked component, for [`super::PluginInstance::new`].
    pub(super) fn pre(&self) -> &InstancePre<StoreState> {
        &self.pre
    }

    /// The contract version the plugin was built for (older ones are forwarded).
    pub fn contract_version(&self) -> semver::Version {
        self.exports.version()
    }

    pub(super) fn exports(&self) -> &Exports {
        &self.exports
    }

    pub(super) fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    /// Host patterns the plugin declared for `provider`.
    pub fn declared_hosts(&self, provider: &str) -> Vec<HostPattern> {
        self.provider(provider)
            .map(|p| p.hosts.iter().filter_map(|h| HostPattern::parse(h).ok()).collect())
            .unwrap_or_default()
    }

    /// What describe() says must be plain and must match what the component exports.
    fn validate(&self) -> Result<(), PluginError> {
        let bad = |message: String| PluginError::BadDescription { path: self.path.clone(), message };
        let info = &self.info;
        if !is_plain_name(&info.name) {
            return Err(bad(format!(
                "describe() returned the plugin name `{}`; names are 1-64 printable ASCII characters",
                clean(&info.name)
            )));
        }
        if !is_plain_name(&info.version) {
            return Err(bad(format!("describe() returned the version `{}`; not plain ASCII", clean(&info.version))));
        }
        if info.providers.is_empty() {
            return Err(bad("describe() lists no providers".into()));
        }
        for (i, provider) in info.providers.iter().enumerate() {
            if !is_plain_id(&provider.id) {
                return Err(bad(format!(
                    "provider #{i} has the id `{}`; ids are lower-case ASCII letters, digits, `-` and `_`, starting with a letter",
                    clean(&provider.id)
                )));
            }
            if info.providers[..i].iter().any(|p| p.id == provider.id) {
                return Err(bad(format!("provider `{}` is listed twice", provider.id)));
            }
            for kind in &provider.kinds {
                if !self.exports.serves(*kind) {
                    return Err(bad(format!(
                        "provider `{}` claims {} but the component does not export {}",
                        provider.id,
                        kind_name(*kind),
                        super::bindings::interface_name(kind_name(*kind), &self.exports.version())
                    )));
                }
            }
            for host in &provider.hosts {
                HostPattern::parse(host).map_err(|e| bad(format!("provider `{}`: {e}", provider.id)))?;
            }
            let texts = provider.config_keys.iter().chain(&provider.api_key_env).chain(&provider.base_url_env);
            if let Some(text) = texts.into_iter().find(|t| !is_plain_name(t)) {
                return Err(bad(format!("provider `{}` declares `{}`; not plain ASCII", provider.id, clean(text))));
            }
        }
        Ok(())
    }
}

/// Hashes of the plugins this host was built with (from host/build.rs).
fn first_party_hashes() -> impl Iterator<Item = &'static str> {
    env!("VOICEBLOX_FIRST_PARTY_SHA256").split(',').filter(|h| !h.is_empty())
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Llm => "llm",
        Kind::Tts => "tts",
        Kind::Stt => "stt",
    }
}

async fn describe(
    engine: &PluginEngine,
    pre: &InstancePre<StoreState>,
    exports: &Exports,
    path: &Path,
) -> Result<PluginInfo, PluginError> {
    let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    // Worded like a stream failure (deadline, memory cap, trap), without the wasm backtrace.
    let fail = |e: wasmtime::Error| PluginError::Describe {
        path: path.into(),
        message: fault::classify(&name, engine.limits(), &e).to_string(),
    };
    let mut store = sandboxed_store(engine.engine(), &name, engine.limits());
    let instance = pre.instantiate_async(&mut store).await.map_err(fail)?;
    arm(&mut store);
    exports.describe(&mut store, &instance).await.map_err(fail)
}
