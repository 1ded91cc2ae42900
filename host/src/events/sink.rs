//! Where a session's events go: the LiveKit data topic, a console, a test.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::AgentEvent;

/// Receives a session's events in order. Emitting never blocks the real-time loop: a slow
/// consumer is the sink's problem (buffer or drop), not the session's.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: AgentEvent);
}

/// Discards everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl EventSink for NullSink {
    fn emit(&self, _event: AgentEvent) {}
}

/// Gives every event to several sinks (the room and the worker's metrics, say).
#[derive(Clone)]
pub struct FanOutSink(pub Vec<Arc<dyn EventSink>>);

impl EventSink for FanOutSink {
    fn emit(&self, event: AgentEvent) {
        if let Some((last, rest)) = self.0.split_last() {
            for sink in rest {
                sink.emit(event.clone());
            }
            last.emit(event);
        }
    }
}

/// Keeps every event, for tests and post-mortems.
#[derive(Debug, Clone, Default)]
pub struct CollectSink(Arc<Mutex<Vec<AgentEvent>>>);

impl CollectSink {
    pub fn events(&self) -> Vec<AgentEvent> {
        self.0.lock().map(|events| events.clone()).unwrap_or_default()
    }

    /// The `error` events, as (code, message).
    pub fn errors(&self) -> Vec<(super::ErrorCode, String)> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                AgentEvent::Error { code, message } => Some((code, message)),
                _ => None,
            })
            .collect()
    }
}

impl EventSink for CollectSink {
    fn emit(&self, event: AgentEvent) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}

/// Writes one JSON object per line (console mode).
pub struct JsonLinesSink<W: Write + Send>(Mutex<W>);

impl<W: Write + Send> JsonLinesSink<W> {
    pub fn new(writer: W) -> Self {
        Self(Mutex::new(writer))
    }
}

impl<W: Write + Send> EventSink for JsonLinesSink<W> {
    fn emit(&self, event: AgentEvent) {
        if let Ok(mut out) = self.0.lock()
            && let Err(error) = writeln!(out, "{}", event.to_json()).and_then(|()| out.flush())
        {
            tracing::warn!(%error, "writing an event line");
        }
    }
}
