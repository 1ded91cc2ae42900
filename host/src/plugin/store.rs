//! Per-instance Store state and the sandbox it runs in (DESIGN decision 3).

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::cpu::CpuMeter;
use super::limits::{MemoryCap, SandboxLimits};
use super::stderr::PluginStderr;

/// What a plugin instance's Store holds: its WASI context, resource table and limits.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: MemoryCap,
    cpu: CpuMeter,
}

impl StoreState {
    pub fn cpu(&self) -> &CpuMeter {
        &self.cpu
    }
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
/// bytes per host call and CPU time per call are capped by `limits`; every call into the guest
/// starts with [`arm`].
pub fn sandboxed_store(engine: &Engine, plugin: &str, limits: &SandboxLimits) -> Store<StoreState> {
    let mut wasi = WasiCtx::builder();
    wasi.stderr(PluginStderr::new(plugin)).allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
    let mut table = ResourceTable::new();
    table.set_max_capacity(limits.max_handles);
    let state = StoreState {
        wasi: wasi.build(),
        table,
        limits: MemoryCap::new(limits.memory_bytes),
        cpu: CpuMeter::new(limits.call_deadline),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store.set_hostcall_fuel(limits.hostcall_fuel);
    store.epoch_deadline_callback(|mut ctx| ctx.data_mut().cpu.on_tick());
    arm(&mut store);
    store
}

/// Prepares the Store for one call into the guest: a fresh CPU account, interrupted at the
/// next epoch tick to be measured (see [`super::cpu`]).
pub fn arm(store: &mut Store<StoreState>) {
    store.data_mut().cpu.begin_call();
    store.set_epoch_deadline(1);
}
