//! Per-instance resource limits: where a plugin's memory, CPU time and handles are capped.

use std::time::Duration;

/// Caps applied to every plugin instance and stream. The defaults fit the Rust adapters with a
/// wide margin and leave room for interpreter-based guests (Python, JavaScript embed ~9 MB
/// runtimes).
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// Linear memory per instance (all of its memories together count against the pool slot).
    pub memory_bytes: usize,
    /// CPU time one call into the plugin may take before it is interrupted (the guest's own
    /// CPU time, measured at each epoch tick: see `plugin::cpu`).
    pub call_deadline: Duration,
    /// Live resource handles (streams, WASI handles) per instance. wasmtime's default is
    /// effectively unbounded.
    pub max_handles: usize,
    /// Bytes a guest may pass to one host call (wasmtime's default is 128 MiB).
    pub hostcall_fuel: usize,
    /// Live instances across the process (sizes the pooling allocator).
    pub max_instances: u32,
    /// Per-stream bounds.
    pub stream: StreamLimits,
}

/// What one stream may do over its life, beyond single calls.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// A stream with nothing pending (no request, connection or timer) that gets no input for
    /// this long fails with a timeout instead of leaving its caller waiting forever.
    pub idle: Duration,
    /// Guest CPU time a stream may spend in any [`Self::cpu_window`].
    pub cpu_budget: Duration,
    pub cpu_window: Duration,
    /// HTTP requests in flight at once.
    pub max_requests_in_flight: usize,
    /// HTTP requests and WebSocket connections started in any minute.
    pub max_requests_per_minute: usize,
    /// Shorter timers are stretched to this.
    pub min_timer: Duration,
    /// Timers pending at once.
    pub max_timers: usize,
}

impl Default for StreamLimits {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(60),
            cpu_budget: Duration::from_secs(2),
            cpu_window: Duration::from_secs(10),
            max_requests_in_flight: 8,
            max_requests_per_minute: 120,
            min_timer: Duration::from_millis(10),
            max_timers: 16,
        }
    }
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_millis(100),
            max_handles: 1_000,
            hostcall_fuel: 4 << 20,
            max_instances: 1_000,
            stream: StreamLimits::default(),
        }
    }
}

/// How often the engine's epoch advances: the granularity of CPU accounting.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The memory cap of one instance. Growing past it traps with [`MemoryCapExceeded`], which
/// the stream reports as a typed error instead of a generic trap.
pub struct MemoryCap {
    memory_bytes: usize,
}

/// A plugin tried to grow a linear memory past its cap.
#[derive(Debug, thiserror::Error)]
#[error("plugin tried to grow its memory to {requested} bytes; the cap is {cap} bytes")]
pub struct MemoryCapExceeded {
    pub requested: usize,
    pub cap: usize,
}

impl MemoryCap {
    pub fn new(memory_bytes: usize) -> Self {
        Self { memory_bytes }
    }
}

/// Tables and instances are bounded by the component's own structure; these caps only stop a
/// pathological component at instantiation.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(MemoryCapExceeded { requested: desired, cap: self.memory_bytes }.into());
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        64
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}
