//! What went wrong inside a guest call, in the words a stream failure uses: the CPU deadline,
//! the memory cap, a trap. Raw wasm backtraces (full of the plugin's own symbol names) stay
//! out of the message.

use super::cpu::CpuDeadlineExceeded;
use super::error::StreamError;
use super::limits::{MemoryCapExceeded, SandboxLimits};
use super::untrusted::clean;

/// Turns a wasmtime error from a call into `plugin` into a typed stream error.
pub fn classify(plugin: &str, limits: &SandboxLimits, error: &wasmtime::Error) -> StreamError {
    let plugin = plugin.to_string();
    if let Some(cap) = error.downcast_ref::<MemoryCapExceeded>() {
        return StreamError::MemoryCap { plugin, detail: cap.to_string() };
    }
    if error.downcast_ref::<CpuDeadlineExceeded>().is_some()
        || matches!(error.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt))
    {
        return StreamError::Deadline { plugin, deadline_ms: limits.call_deadline.as_millis() };
    }
    let message = match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        // The outermost message only: the chain below it is the backtrace.
        None => error.to_string().lines().next().unwrap_or_default().to_string(),
    };
    StreamError::Trap { plugin, message: clean(&message).into_owned() }
}
