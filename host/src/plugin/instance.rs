//! One plugin instance and the stream it serves. The instance lives exactly as long as the
//! stream: a trap, a deadline or a memory overrun poisons it, and nothing else.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::Instance;

use super::bindings::{
    self,
    latest::{llm, stt, tts, types},
};
use super::cpu::CpuBudget;
use super::error::StreamError;
use super::fault;
use super::loaded::Plugin;
use super::store::{self as sandbox, StoreState};

/// What a stream is opened with.
#[derive(Debug, Clone)]
pub enum OpenRequest {
    Llm(llm::Request),
    Tts(tts::Request),
    Stt(stt::Request),
}

impl OpenRequest {
    pub fn kind(&self) -> types::Kind {
        match self {
            OpenRequest::Llm(_) => types::Kind::Llm,
            OpenRequest::Tts(_) => types::Kind::Tts,
            OpenRequest::Stt(_) => types::Kind::Stt,
        }
    }
}

pub struct PluginInstance {
    plugin: Arc<Plugin>,
    store: Store<StoreState>,
    instance: Instance,
}

impl PluginInstance {
    /// A fresh, sandboxed instance of `plugin` (one per stream: a trap poisons only it).
    pub async fn new(plugin: &Arc<Plugin>) -> Result<Self, StreamError> {
        let engine = plugin.engine();
        let mut store = sandbox::sandboxed_store(engine.engine(), plugin.name(), engine.limits());
        let instance = plugin
            .pre()
            .instantiate_async(&mut store)
            .await
            .map_err(|e| StreamError::Instantiate { plugin: plugin.name().to_string(), message: format!("{e:#}") })?;
        Ok(Self { plugin: plugin.clone(), store, instance })
    }

    /// Opens the stream; the adapter may refuse the request with a provider error.
    pub async fn open(
        mut self,
        config: &types::ProviderConfig,
        request: &OpenRequest,
    ) -> Result<GuestStream, StreamError> {
        let plugin = self.plugin.clone();
        let not_served = || StreamError::NotServed {
            plugin: plugin.name().to_string(),
            provider: config.provider.clone(),
            kind: super::loaded::kind_name(request.kind()),
        };
        let store = &mut self.store;
        sandbox::arm(store);
        let opened = plugin.exports().open(store, &self.instance, config, request).await.ok_or_else(not_served)?;
        let opened = opened.map_err(|e| fault(&plugin, store, e))?;
        let resource = opened.map_err(|error| StreamError::Provider {
            provider: config.provider.clone(),
            error: super::driver::clean_provider_error(None, error),
        })?;
        let limits = &plugin.engine().limits().stream;
        let budget = CpuBudget::new(limits.cpu_budget, limits.cpu_window);
        Ok(GuestStream { plugin, store: self.store, resource, poisoned: false, budget })
    }
}

/// An open stream inside its own instance: inputs in, actions out (sans-I/O).
pub struct GuestStream {
    plugin: Arc<Plugin>,
    store: Store<StoreState>,
    resource: bindings::Stream,
    poisoned: bool,
    budget: CpuBudget,
}

impl GuestStream {
    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Feeds one input; returns the actions the host must perform, in order.
    pub async fn handle(&mut self, input: &types::Input) -> Result<Vec<types::Action>, StreamError> {
        if self.poisoned {
            return Err(StreamError::Contract {
                plugin: self.plugin.name().to_string(),
                message: "stream used after it failed".into(),
            });
        }
        sandbox::arm(&mut self.store);
        let result = self.resource.handle(&mut self.store, input).await;
        let actions = result.map_err(|e| {
            self.poisoned = true;
            fault(&self.plugin, &self.store, e)
        })?;
        // Most calls reach no epoch tick and are charged nothing: no clock is read for them.
        let charge = self.store.data().cpu().charge();
        if !charge.is_zero()
            && let Err(exceeded) = self.budget.charge(charge, tokio::time::Instant::now())
        {
            self.poisoned = true;
            let limits = &self.plugin.engine().limits().stream;
            return Err(StreamError::CpuBudget {
                plugin: self.plugin.name().to_string(),
                used_ms: exceeded.used.as_millis(),
                budget_ms: limits.cpu_budget.as_millis(),
                window_s: limits.cpu_window.as_secs(),
            });
        }
        Ok(actions)
    }
}

/// Turns a wasmtime error from a guest call into a typed stream error.
fn fault(plugin: &Plugin, _store: &Store<StoreState>, error: wasmtime::Error) -> StreamError {
    fault::classify(plugin.name(), plugin.engine().limits(), &error)
}
