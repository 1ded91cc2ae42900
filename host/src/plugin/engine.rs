//! The process-wide wasmtime engine: compilation settings, the pooling allocator, the epoch
//! ticker behind per-call CPU deadlines, and the linker every plugin is instantiated with.
//!
//! Guests are called asynchronously (on fibers): WASI's synchronous bindings block on the
//! ambient tokio runtime for stream I/O, which panics inside a tokio task the moment a plugin
//! writes to stderr (every Rust panic message does).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::error::PluginError;
use super::limits::{EPOCH_TICK, SandboxLimits};
use super::store::StoreState;

/// Engine, linker and limits shared by every plugin in the process. Cheap to clone.
#[derive(Clone)]
pub struct PluginEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: SandboxLimits,
    pooled: bool,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl PluginEngine {
    /// Creates the engine with the pooling allocator sized from `limits`. Where the pool cannot
    /// reserve its virtual memory (a tight `ulimit -v`), falls back to on-demand allocation.
    pub fn new(limits: SandboxLimits) -> Result<Self, PluginError> {
        let (engine, pooled) = match Engine::new(&config(&limits, true)) {
            Ok(engine) => (engine, true),
            Err(pool_error) => {
                tracing::warn!(error = %pool_error, "pooling allocator unavailable; instances are allocated on demand");
                let engine = Engine::new(&config(&limits, false)).map_err(PluginError::Engine)?;
                (engine, false)
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(PluginError::Engine)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.weak(), ticker_stop.clone());
        Ok(Self { inner: Arc::new(Inner { engine, linker, limits, pooled, ticker_stop }) })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn linker(&self) -> &Linker<StoreState> {
        &self.inner.linker
    }

    pub fn limits(&self) -> &SandboxLimits {
        &self.inner.limits
    }

    /// Whether instances come from the pooling allocator.
    pub fn is_pooled(&self) -> bool {
        self.inner.pooled
    }
}

fn config(limits: &SandboxLimits, pooled: bool) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true).epoch_interruption(true);
    if pooled {
        let mut pool = PoolingAllocationConfig::new();
        // Interpreter guests (componentize-py/-js) hold ~13 core instances each.
        pool.total_component_instances(limits.max_instances)
            .total_core_instances(limits.max_instances.saturating_mul(4))
            .total_memories(limits.max_instances.saturating_mul(2))
            .total_tables(limits.max_instances.saturating_mul(4))
            .total_stacks(limits.max_instances)
            .max_memory_size(limits.memory_bytes)
            .max_memories_per_component(16)
            .max_core_instances_per_component(32);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the epoch every [`EPOCH_TICK`] so a guest call past its deadline traps. Holds only
/// a weak reference: the thread ends when the engine is dropped.
fn spawn_epoch_ticker(engine: wasmtime::EngineWeak, stop: Arc<AtomicBool>) {
    let spawned = thread::Builder::new().name("voiceblox-epoch".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            thread::sleep(EPOCH_TICK);
            match engine.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "could not start the epoch ticker; plugin CPU deadlines are not enforced");
    }
}
