//! Per-instance resource limits: where a plugin's memory, CPU time and handles are capped.

use std::time::Duration;

/// Caps applied to every plugin instance. The defaults fit the Rust adapters with a wide margin
/// and leave room for interpreter-based guests (Python, JavaScript embed ~9 MB runtimes).
#[derive(Debug, Clone)]
pub struct SandboxLimits {
    /// Linear memory per instance (all of its memories together count against the pool slot).
    pub memory_bytes: usize,
    /// CPU time one call into the plugin may take before it is interrupted.
    pub call_deadline: Duration,
    /// Live resource handles (streams, WASI handles) per instance. wasmtime's default is
    /// effectively unbounded.
    pub max_handles: usize,
    /// Bytes a guest may pass to one host call (wasmtime's default is 128 MiB).
    pub hostcall_fuel: usize,
    /// Live instances across the process (sizes the pooling allocator).
    pub max_instances: u32,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            call_deadline: Duration::from_millis(100),
            max_handles: 1_000,
            hostcall_fuel: 4 << 20,
            max_instances: 1_000,
        }
    }
}

/// How often the engine's epoch advances; call deadlines are rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

impl SandboxLimits {
    /// The call deadline in epoch ticks (at least one full tick beyond the current one).
    pub fn deadline_ticks(&self) -> u64 {
        let ticks = self.call_deadline.as_micros().div_ceil(EPOCH_TICK.as_micros());
        u64::try_from(ticks).unwrap_or(u64::MAX).max(1) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_rounds_up_and_adds_the_partial_current_tick() {
        let limits = SandboxLimits { call_deadline: Duration::from_millis(12), ..Default::default() };
        assert_eq!(limits.deadline_ticks(), 4);
        let tiny = SandboxLimits { call_deadline: Duration::from_micros(1), ..Default::default() };
        assert_eq!(tiny.deadline_ticks(), 2);
    }
}

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
