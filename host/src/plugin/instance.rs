//! One plugin instance and the stream it serves. The instance lives exactly as long as the
//! stream: a trap, a deadline or a memory overrun poisons it, and nothing else.

use std::sync::Arc;

use wasmtime::Store;
use wasmtime::component::{Instance, ResourceAny};

use super::bindings::latest::{llm, stt, tts, types};
use super::error::StreamError;
use super::limits::MemoryCapExceeded;
use super::loaded::Plugin;
use super::store::StoreState;

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
    pub(super) fn new(plugin: Arc<Plugin>, store: Store<StoreState>, instance: Instance) -> Self {
        Self { plugin, store, instance }
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
        let exports = plugin.exports();
        let store = &mut self.store;
        store.set_epoch_deadline(plugin.engine().limits().deadline_ticks());
        let opened = match request {
            OpenRequest::Llm(req) => {
                let guest = exports.llm.as_ref().ok_or_else(not_served)?.load(&mut *store, &self.instance);
                let guest = guest.map_err(|e| fault(&plugin, store, e))?;
                let res = guest.call_open(&mut *store, config, req).await.map_err(|e| fault(&plugin, store, e))?;
                res.map(|r| Resource::Llm(guest, r))
            }
            OpenRequest::Tts(req) => {
                let guest = exports.tts.as_ref().ok_or_else(not_served)?.load(&mut *store, &self.instance);
                let guest = guest.map_err(|e| fault(&plugin, store, e))?;
                let res = guest.call_open(&mut *store, config, req).await.map_err(|e| fault(&plugin, store, e))?;
                res.map(|r| Resource::Tts(guest, r))
            }
            OpenRequest::Stt(req) => {
                let guest = exports.stt.as_ref().ok_or_else(not_served)?.load(&mut *store, &self.instance);
                let guest = guest.map_err(|e| fault(&plugin, store, e))?;
                let res = guest.call_open(&mut *store, config, req).await.map_err(|e| fault(&plugin, store, e))?;
                res.map(|r| Resource::Stt(guest, r))
            }
        };
        let resource = opened.map_err(|error| StreamError::Provider { provider: config.provider.clone(), error })?;
        Ok(GuestStream { plugin, store: self.store, resource, poisoned: false })
    }
}

enum Resource {
    Llm(llm::Guest, ResourceAny),
    Tts(tts::Guest, ResourceAny),
    Stt(stt::Guest, ResourceAny),
}

/// An open stream inside its own instance: inputs in, actions out (sans-I/O).
pub struct GuestStream {
    plugin: Arc<Plugin>,
    store: Store<StoreState>,
    resource: Resource,
    poisoned: bool,
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
        self.store.set_epoch_deadline(self.plugin.engine().limits().deadline_ticks());
        let store = &mut self.store;
        let result = match &self.resource {
            Resource::Llm(guest, r) => guest.completion().call_handle(&mut *store, *r, input).await,
            Resource::Tts(guest, r) => guest.synthesis().call_handle(&mut *store, *r, input).await,
            Resource::Stt(guest, r) => guest.transcription().call_handle(&mut *store, *r, input).await,
        };
        result.map_err(|e| {
            self.poisoned = true;
            fault(&self.plugin, &self.store, e)
        })
    }
}

/// Turns a wasmtime error from a guest call into a typed stream error.
fn fault(plugin: &Plugin, _store: &Store<StoreState>, error: wasmtime::Error) -> StreamError {
    let name = plugin.name().to_string();
    if let Some(cap) = error.downcast_ref::<MemoryCapExceeded>() {
        return StreamError::MemoryCap { plugin: name, detail: cap.to_string() };
    }
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => {
            StreamError::Deadline { plugin: name, deadline_ms: plugin.engine().limits().call_deadline.as_millis() }
        }
        Some(trap) => StreamError::Trap { plugin: name, message: trap.to_string() },
        None => StreamError::Trap {
            plugin: name,
            message: format!("{error:#}").lines().next().unwrap_or_default().to_string(),
        },
    }
}
