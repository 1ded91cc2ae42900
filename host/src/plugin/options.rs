//! Operator options of the plugin runtime (flags and environment), shared by every binary
//! that loads plugins, and building the runtime from them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::limits::StreamLimits;
use super::provider_policy::{ProviderEntry, ProviderPolicy, ProviderPolicyError};
use super::{
    CompileCache, PluginEngine, PluginError, PluginRegistry, PluginRuntime, SandboxLimits, StreamError, Timeouts,
    default_plugins_dir,
};
use crate::egress::{HostPattern, NetworkPolicy, PolicyError};

/// Why the operator's options could not be turned into a runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    #[error("reading policy file {path}: {source}")]
    ReadPolicy { path: PathBuf, source: std::io::Error },
    #[error("parsing policy file {path}: {source}")]
    ParsePolicy { path: PathBuf, source: Box<toml::de::Error> },
    #[error("policy file {path}: {source}")]
    Providers { path: PathBuf, source: ProviderPolicyError },
    #[error(transparent)]
    Pattern(#[from] PolicyError),
    #[error(transparent)]
    Engine(#[from] PluginError),
    #[error(transparent)]
    Runtime(#[from] StreamError),
}

#[derive(Args, Debug, Clone)]
pub struct PluginOptions {
    /// Folder of plugin components (*.wasm). Default: the plugins built from this repository.
    #[arg(long, global = true, env = "VOICEBLOX_PLUGINS")]
    pub plugins: Option<PathBuf>,
    /// Allow plugins to reach this host (`host`, `host:port`, `*.domain`), on any address,
    /// private ranges included. Repeatable; comma-separated in the environment variable.
    #[arg(long = "allow-host", global = true, env = "VOICEBLOX_ALLOW_HOSTS", value_delimiter = ',')]
    pub allow_hosts: Vec<String>,
    /// TOML policy file: `[network] allow = ["host", ...]` (same meaning as --allow-host);
    /// `[providers.ID] plugin = "file.wasm"`, `key_env = [...]`, `base_url_env = [...]`.
    #[arg(long, global = true, env = "VOICEBLOX_POLICY")]
    pub policy: Option<PathBuf>,
    /// Only the hosts allowed explicitly; drop the built-in provider host list.
    #[arg(long, global = true)]
    pub no_default_hosts: bool,
    /// Compiled-component cache folder. Default: ~/.cache/voiceblox/components.
    #[arg(long, global = true, env = "VOICEBLOX_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every plugin afresh.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Memory cap per plugin instance, in MiB.
    #[arg(long, global = true, default_value_t = 64)]
    pub plugin_memory_mb: usize,
    /// CPU time one plugin call may take, in milliseconds (the guest's own CPU time).
    #[arg(long, global = true, default_value_t = 100)]
    pub plugin_call_ms: u64,
    /// CPU time one plugin stream may spend in any 10 s, in milliseconds.
    #[arg(long, global = true, default_value_t = 2000)]
    pub plugin_cpu_budget_ms: u64,
    /// Seconds a plugin stream may sit with nothing pending and no input before it fails.
    #[arg(long, global = true, default_value_t = 60)]
    pub plugin_idle_s: u64,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    network: NetworkSection,
    #[serde(default)]
    providers: BTreeMap<String, ProviderEntry>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct NetworkSection {
    #[serde(default)]
    allow: Vec<String>,
}

impl PluginOptions {
    pub fn plugins_dir(&self) -> PathBuf {
        self.plugins.clone().unwrap_or_else(default_plugins_dir)
    }

    pub fn engine(&self) -> Result<PluginEngine, OptionsError> {
        let defaults = SandboxLimits::default();
        let limits = SandboxLimits {
            memory_bytes: self.plugin_memory_mb << 20,
            call_deadline: Duration::from_millis(self.plugin_call_ms),
            stream: StreamLimits {
                cpu_budget: Duration::from_millis(self.plugin_cpu_budget_ms),
                idle: Duration::from_secs(self.plugin_idle_s),
                ..defaults.stream.clone()
            },
            ..defaults
        };
        Ok(PluginEngine::new(limits)?)
    }

    pub fn cache(&self) -> CompileCache {
        if self.no_cache {
            CompileCache::new(None)
        } else {
            CompileCache::new(self.cache_dir.clone().or_else(super::cache::default_dir))
        }
    }

    fn policy_file(&self) -> Result<PolicyFile, OptionsError> {
        let Some(path) = &self.policy else { return Ok(PolicyFile::default()) };
        let text =
            std::fs::read_to_string(path).map_err(|source| OptionsError::ReadPolicy { path: path.clone(), source })?;
        toml::from_str(&text)
            .map_err(|source| OptionsError::ParsePolicy { path: path.clone(), source: Box::new(source) })
    }

    pub fn policy(&self) -> Result<NetworkPolicy, OptionsError> {
        let mut policy = if self.no_default_hosts { NetworkPolicy::deny_all() } else { NetworkPolicy::default() };
        let mut allowed = self.allow_hosts.clone();
        allowed.extend(self.policy_file()?.network.allow);
        for host in allowed.iter().filter(|h| !h.trim().is_empty()) {
            policy = policy.allow(HostPattern::parse(host)?);
        }
        Ok(policy)
    }

    /// The policy file's `[providers]`: pins and key variables.
    pub fn provider_policy(&self) -> Result<ProviderPolicy, OptionsError> {
        let entries = self.policy_file()?.providers;
        ProviderPolicy::new(entries)
            .map_err(|source| OptionsError::Providers { path: self.policy.clone().unwrap_or_default(), source })
    }

    pub async fn registry(&self, engine: &PluginEngine) -> Result<PluginRegistry, OptionsError> {
        Ok(PluginRegistry::load_dir_with(engine, &self.cache(), &self.plugins_dir(), &self.provider_policy()?).await)
    }

    /// Engine, registry and policy. Refused plugins are in `registry().failures()`.
    pub async fn runtime(&self) -> Result<PluginRuntime, OptionsError> {
        let engine = self.engine()?;
        let registry = self.registry(&engine).await?;
        Ok(PluginRuntime::new(registry, self.policy()?, Timeouts::default())?
            .with_provider_policy(self.provider_policy()?))
    }
}
