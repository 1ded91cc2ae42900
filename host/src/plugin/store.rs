//! Per-instance Store state and the sandbox it runs in (DESIGN decision 3).

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::{MemoryCap, SandboxLimits};
use super::stderr::PluginStderr;

/// What a plugin instance's Store holds: its WASI context, resource table and limits.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: MemoryCap,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Builds a Store for one plugin instance.
///
/// Deny by default: no preopened directories, no environment variables or arguments, stdin
/// closed, no TCP, UDP or name lookup. stdout is discarded and stderr is logged under the
/// plugin's name. Clocks and randomness stay available (they leak nothing). Memory, handles,
/// bytes per host call and CPU time per call are capped by `limits`.
pub fn sandboxed_store(engine: &Engine, plugin: &str, limits: &SandboxLimits) -> Store<StoreState> {
    let mut wasi = WasiCtx::builder();
    wasi.stderr(PluginStderr::new(plugin)).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    let mut table = ResourceTable::new();
    table.set_max_capacity(limits.max_handles);
    let state = StoreState { wasi: wasi.build(), table, limits: MemoryCap::new(limits.memory_bytes) };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store.set_hostcall_fuel(limits.hostcall_fuel);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(limits.deadline_ticks());
    store
}
