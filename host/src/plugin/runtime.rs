//! The plugin runtime: what the rest of the host uses to open provider streams.
//!
//! It resolves a provider's key and base URL (config first, then the environment variables the
//! operator's [`ProviderPolicy`] gives that provider id, never those a plugin asks for),
//! computes the stream's network grant, instantiates the plugin and starts the stream's driver.

use std::sync::Arc;

use super::bindings::latest::types::{Kind, ProviderConfig};
use super::driver::{self, StreamHandle, Timeouts};
use super::error::StreamError;
use super::instance::OpenRequest;
use super::instance::PluginInstance;
use super::loaded::{Plugin, kind_name};
use super::provider_policy::ProviderPolicy;
use super::registry::PluginRegistry;
use crate::egress::Egress;
use crate::egress::policy::{HostPattern, NetworkPolicy, StreamGrant};
use crate::egress::secret::{API_KEY_PLACEHOLDER, Secret};

/// How to reach one provider for one stream, as the session's configuration says.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    /// Provider id (`openai`, `deepgram`, ...).
    pub provider: String,
    /// Model name; a `provider/` prefix is removed.
    pub model: String,
    /// The key; when absent the plugin's declared environment variables are read.
    pub api_key: Option<Secret>,
    /// Base URL override; when absent the plugin's declared environment variables are read.
    pub base_url: Option<String>,
    pub language: Option<String>,
    /// Provider-specific options (a JSON object).
    pub options: serde_json::Map<String, serde_json::Value>,
}

/// Reads environment variables; swapped out in tests so they never touch the process env.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Plugins, policy and the shared I/O they use. Cheap to clone.
#[derive(Clone)]
pub struct PluginRuntime {
    registry: Arc<PluginRegistry>,
    policy: Arc<NetworkPolicy>,
    io: Egress,
    env: EnvLookup,
    providers: Arc<ProviderPolicy>,
}

impl PluginRuntime {
    pub fn new(registry: PluginRegistry, policy: NetworkPolicy, timeouts: Timeouts) -> Result<Self, StreamError> {
        let policy = Arc::new(policy);
        let io = Egress::new(policy.clone(), timeouts).map_err(StreamError::Io)?;
        Ok(Self {
            registry: Arc::new(registry),
            policy,
            io,
            env: Arc::new(|name| std::env::var(name).ok()),
            providers: Arc::new(ProviderPolicy::default()),
        })
    }

    /// Replaces the operator's provider policy (which variables feed which provider id).
    pub fn with_provider_policy(mut self, providers: ProviderPolicy) -> Self {
        self.providers = Arc::new(providers);
        self
    }

    /// Variables the key of provider `id` is read from, in order: the operator's choice, never
    /// the plugin's.
    pub fn key_vars(&self, id: &str) -> Vec<String> {
        self.providers.key_vars(id)
    }

    /// Replaces how environment variables are read.
    pub fn with_env(mut self, env: EnvLookup) -> Self {
        self.env = env;
        self
    }

    /// This runtime with some variables set to secrets (a request's own keys, which override
    /// the environment for its session); other variables are read as before.
    pub fn with_secret_vars(&self, vars: impl IntoIterator<Item = (String, Secret)>) -> Self {
        let vars: std::collections::HashMap<String, Secret> = vars.into_iter().collect();
        if vars.is_empty() {
            return self.clone();
        }
        let base = self.env.clone();
        self.clone().with_env(Arc::new(move |name| match vars.get(name) {
            Some(secret) => Some(secret.expose().to_string()),
            None => base(name),
        }))
    }

    /// An environment variable as this runtime sees it (tests swap the lookup out).
    pub fn env_var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    pub fn registry(&self) -> &PluginRegistry {
        &self.registry
    }

    /// This runtime with its egress recording into, or replaying from, a session's recording.
    pub fn with_tap(&self, tap: crate::egress::Tap) -> Self {
        Self { io: self.io.with_tap(tap), ..self.clone() }
    }

    /// This runtime under another network policy (a replay applies the recorded one).
    pub fn with_network_policy(&self, policy: NetworkPolicy) -> Result<Self, StreamError> {
        let policy = Arc::new(policy);
        let io = Egress::new(policy.clone(), self.io.timeouts().clone()).map_err(StreamError::Io)?;
        Ok(Self { policy, io, ..self.clone() })
    }

    /// Variables the base URL of provider `id` is read from, in order.
    pub fn base_url_vars(&self, id: &str) -> Vec<String> {
        self.providers.base_url_vars(id)
    }

    /// The way out for every request, the host's own too (webhooks, tools).
    pub fn egress(&self) -> &Egress {
        &self.io
    }

    pub fn policy(&self) -> &NetworkPolicy {
        &self.policy
    }

    /// The plugin serving `provider` for `kind`, or an error listing the loaded ones.
    pub fn plugin_for(&self, provider: &str, kind: Kind) -> Result<&Arc<Plugin>, StreamError> {
        self.registry.get(provider, kind).ok_or_else(|| StreamError::UnknownProvider {
            provider: provider.to_string(),
            kind: kind_name(kind),
            loaded: self.registry.providers(kind).join(", "),
        })
    }

    /// The key this stream would use: the settings', else the provider id's variables.
    pub fn resolve_key(&self, settings: &ProviderSettings, kind: Kind) -> Result<Option<Secret>, StreamError> {
        self.plugin_for(&settings.provider, kind)?;
        match &settings.api_key {
            Some(key) => Ok(Some(key.clone())),
            None => Ok(self.first_env(&self.providers.key_vars(&settings.provider)).map(Secret::new)),
        }
    }

    /// The base URL this stream would use: the settings', else the provider id's variables.
    pub fn resolve_base_url(&self, settings: &ProviderSettings, kind: Kind) -> Result<Option<String>, StreamError> {
        self.plugin_for(&settings.provider, kind)?;
        match &settings.base_url {
            Some(url) => Ok(Some(url.clone())),
            None => Ok(self.first_env(&self.providers.base_url_vars(&settings.provider))),
        }
    }

    /// The first non-empty variable among `vars`.
    fn first_env(&self, vars: &[String]) -> Option<String> {
        vars.iter().find_map(|var| (self.env)(var).filter(|v| !v.is_empty()))
    }

    /// Opens a stream and starts its driver. Dropping the handle cancels it, including every
    /// request and connection it has in flight.
    pub async fn open(&self, settings: &ProviderSettings, request: OpenRequest) -> Result<StreamHandle, StreamError> {
        let kind = request.kind();
        let plugin = self.plugin_for(&settings.provider, kind)?.clone();
        let secret = self.resolve_key(settings, kind)?;
        let base_url = self.resolve_base_url(settings, kind)?;
        let mut grant = StreamGrant { declared: plugin.declared_hosts(&settings.provider), operator_hosts: Vec::new() };
        if let Some(base) = &base_url {
            grant.operator_hosts.push(
                base_url_host(base)
                    .map_err(|source| StreamError::Denied { plugin: plugin.name().to_string(), source })?,
            );
        }
        let config = ProviderConfig {
            provider: settings.provider.clone(),
            model: strip_provider_prefix(&settings.model, &settings.provider).to_string(),
            api_key: secret.as_ref().map(|_| API_KEY_PLACEHOLDER.to_string()),
            base_url,
            language: settings.language.clone(),
            options: serde_json::Value::Object(settings.options.clone()).to_string(),
        };
        let guest = PluginInstance::new(&plugin).await?.open(&config, &request).await?;
        Ok(driver::spawn(guest, settings.provider.clone(), grant, secret, self.io.clone()))
    }
}

/// `openai/gpt-4.1-mini` → `gpt-4.1-mini` when the prefix names this provider.
fn strip_provider_prefix<'a>(model: &'a str, provider: &str) -> &'a str {
    model.strip_prefix(provider).and_then(|rest| rest.strip_prefix('/')).unwrap_or(model)
}

fn base_url_host(base: &str) -> Result<HostPattern, crate::egress::policy::PolicyError> {
    let url = url::Url::parse(base)
        .map_err(|e| crate::egress::policy::PolicyError::BadUrl { url: base.to_string(), reason: e.to_string() })?;
    let host = url.host_str().ok_or_else(|| crate::egress::policy::PolicyError::BadUrl {
        url: base.to_string(),
        reason: "no host".into(),
    })?;
    let port = url.port_or_known_default();
    let text = match (host.contains(':') && !host.starts_with('['), port) {
        (true, Some(p)) => format!("[{host}]:{p}"),
        (false, Some(p)) => format!("{host}:{p}"),
        (_, None) => host.to_string(),
    };
    HostPattern::parse(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_prefixes_are_removed_only_for_the_same_provider() {
        assert_eq!(strip_provider_prefix("openai/gpt-4.1-mini", "openai"), "gpt-4.1-mini");
        assert_eq!(strip_provider_prefix("meta-llama/llama-3", "openai"), "meta-llama/llama-3");
        assert_eq!(strip_provider_prefix("gpt-4.1", "openai"), "gpt-4.1");
    }

    #[test]
    fn base_url_hosts_keep_their_port() {
        assert_eq!(base_url_host("http://127.0.0.1:11434/v1").unwrap().to_string(), "127.0.0.1:11434");
        assert_eq!(base_url_host("https://api.groq.com/openai/v1").unwrap().to_string(), "api.groq.com:443");
        assert!(base_url_host("not a url").is_err());
    }
}
