//! What the worker counts, for `/metrics` (Prometheus text format) and `/healthz`.
//!
//! [`WorkerMetrics`] is one cheap-to-clone handle: the connection and the job runner update it,
//! and the integrator feeds it each session's [`AgentEvent`]s through
//! [`WorkerMetrics::observe_event`] (turn latencies and error codes).

use std::sync::{Arc, Mutex, MutexGuard};

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::events::{AgentEvent, ErrorCode, EventSink};

/// Where the worker stands with LiveKit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not yet connected, or reconnecting; `reason` says why the last attempt or link failed.
    Connecting {
        reason: Option<String>,
    },
    /// The WebSocket is open; registration is under way.
    Connected,
    Registered {
        worker_id: String,
    },
    /// Shutting down: no new jobs, running ones finishing.
    Draining {
        worker_id: Option<String>,
    },
    /// The worker stopped (cleanly or on a fatal error).
    Stopped {
        reason: String,
    },
}

impl ConnectionState {
    /// The state's name, as `/healthz` and the `voiceblox_worker_connection_state` label show it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting { .. } => "connecting",
            Self::Connected => "connected",
            Self::Registered { .. } => "registered",
            Self::Draining { .. } => "draining",
            Self::Stopped { .. } => "stopped",
        }
    }

    /// Healthy: registered, or draining while still serving its jobs.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Self::Registered { .. } | Self::Draining { worker_id: Some(_) })
    }
}

const STATES: [&str; 5] = ["connecting", "connected", "registered", "draining", "stopped"];

/// Turn-latency buckets, in seconds: voice targets live between 100 ms and 2 s.
const LATENCY_BUCKETS: &[f64] = &[0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];

/// The worker's metrics and health. Clones share the same counters.
#[derive(Clone)]
pub struct WorkerMetrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    jobs_started: IntCounter,
    jobs_succeeded: IntCounter,
    jobs_failed: IntCounter,
    running: IntGauge,
    connection_state: prometheus::IntGaugeVec,
    reconnects: IntCounter,
    errors: IntCounterVec,
    switches: IntCounterVec,
    eou_delay: Histogram,
    llm_ttft: Histogram,
    tts_ttfb: Histogram,
    response: Histogram,
    state: Mutex<ConnectionState>,
}

/// As a session's observer: every event it emits is fed to [`WorkerMetrics::observe_event`].
impl EventSink for WorkerMetrics {
    fn emit(&self, event: AgentEvent) {
        self.observe_event(&event);
    }
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerMetrics").field("state", &self.state()).finish_non_exhaustive()
    }
}

impl WorkerMetrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str| {
            let counter = IntCounter::new(name, help).unwrap_or_else(|e| unreachable!("static metric {name}: {e}"));
            register(&registry, counter)
        };
        let histogram = |name: &str, help: &str| {
            let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
            let histogram = Histogram::with_opts(opts).unwrap_or_else(|e| unreachable!("static metric {name}: {e}"));
            register(&registry, histogram)
        };
        // The names, help texts and labels below are constants, so building them cannot fail.
        let running = IntGauge::new("voiceblox_worker_running_sessions", "Jobs (voice sessions) running now.")
            .unwrap_or_else(|e| unreachable!("{e}"));
        let connection_state = prometheus::IntGaugeVec::new(
            Opts::new("voiceblox_worker_connection_state", "1 for the worker's current connection state."),
            &["state"],
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let errors = IntCounterVec::new(
            Opts::new("voiceblox_session_errors_total", "Session errors by code (the events' error codes)."),
            &["code"],
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let switches = IntCounterVec::new(
            Opts::new(
                "voiceblox_provider_switches_total",
                "Requests a provider could not serve, taken by the next of its chain (by kind).",
            ),
            &["kind"],
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let inner = Inner {
            jobs_started: counter("voiceblox_worker_jobs_started_total", "Jobs assigned and started."),
            jobs_succeeded: counter("voiceblox_worker_jobs_succeeded_total", "Jobs that ended successfully."),
            jobs_failed: counter("voiceblox_worker_jobs_failed_total", "Jobs that failed, panicked or were cancelled."),
            reconnects: counter("voiceblox_worker_reconnects_total", "Connections to LiveKit after the first."),
            eou_delay: histogram("voiceblox_turn_eou_delay_seconds", "End of user speech to end of turn."),
            llm_ttft: histogram("voiceblox_turn_llm_ttft_seconds", "LLM request to first token."),
            tts_ttfb: histogram("voiceblox_turn_tts_ttfb_seconds", "First text to TTS to first audio."),
            response: histogram("voiceblox_turn_response_seconds", "End of turn to first agent audio."),
            running: register(&registry, running),
            connection_state: register(&registry, connection_state),
            errors: register(&registry, errors),
            switches: register(&registry, switches),
            state: Mutex::new(ConnectionState::Connecting { reason: None }),
            registry,
        };
        let metrics = Self(Arc::new(inner));
        metrics.set_state(ConnectionState::Connecting { reason: None });
        metrics
    }

    /// Feeds one session event: turn metrics become latency observations, errors count by code.
    pub fn observe_event(&self, event: &AgentEvent) {
        match event {
            AgentEvent::Metrics(turn) => {
                let observe = |histogram: &Histogram, ms: Option<f64>| {
                    if let Some(ms) = ms.filter(|ms| ms.is_finite() && *ms >= 0.0) {
                        histogram.observe(ms / 1000.0);
                    }
                };
                observe(&self.0.eou_delay, turn.eou_delay_ms);
                observe(&self.0.llm_ttft, turn.llm_ttft_ms);
                observe(&self.0.tts_ttfb, turn.tts_ttfb_ms);
                observe(&self.0.response, turn.response_ms);
            }
            AgentEvent::Error { code, .. } => self.0.errors.with_label_values(&[error_code_name(*code)]).inc(),
            AgentEvent::ProviderSwitch { kind, .. } => self.0.switches.with_label_values(&[kind.as_str()]).inc(),
            _ => {}
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.lock_state().clone()
    }

    /// The whole registry in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Encoding into a Vec fails only on a metric without a value, which none of ours is.
        if let Err(error) = TextEncoder::new().encode(&self.0.registry.gather(), &mut text) {
            tracing::warn!(%error, "cannot encode the metrics");
        }
        String::from_utf8_lossy(&text).into_owned()
    }

    pub(crate) fn set_state(&self, state: ConnectionState) {
        for name in STATES {
            self.0.connection_state.with_label_values(&[name]).set(i64::from(name == state.name()));
        }
        *self.lock_state() = state;
    }

    pub(crate) fn reconnected(&self) {
        self.0.reconnects.inc();
    }

    pub(crate) fn job_started(&self) {
        self.0.jobs_started.inc();
        self.0.running.inc();
    }

    pub(crate) fn job_ended(&self, outcome: &super::jobs::JobOutcome) {
        self.0.running.dec();
        match outcome {
            Ok(()) => self.0.jobs_succeeded.inc(),
            Err(_) => self.0.jobs_failed.inc(),
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, ConnectionState> {
        // Poisoned only if a holder panicked mid-assignment of a plain value; the value is whole.
        self.0.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    // Names are unique constants, so registration cannot collide.
    if let Err(error) = registry.register(Box::new(metric.clone())) {
        tracing::warn!(%error, "metric not registered");
    }
    metric
}

/// The code as events spell it (`llm_failed`, ...).
fn error_code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidConfig => "invalid_config",
        ErrorCode::LlmFailed => "llm_failed",
        ErrorCode::TtsFailed => "tts_failed",
        ErrorCode::SttFailed => "stt_failed",
        ErrorCode::ToolFailed => "tool_failed",
        ErrorCode::EvaluationFailed => "evaluation_failed",
        ErrorCode::WebhookFailed => "webhook_failed",
        ErrorCode::PostCallFailed => "post_call_failed",
        ErrorCode::TransferFailed => "transfer_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::TurnMetrics;

    #[test]
    fn error_code_names_match_the_events_json() {
        for code in [
            ErrorCode::InvalidConfig,
            ErrorCode::LlmFailed,
            ErrorCode::TtsFailed,
            ErrorCode::SttFailed,
            ErrorCode::ToolFailed,
            ErrorCode::EvaluationFailed,
            ErrorCode::WebhookFailed,
            ErrorCode::PostCallFailed,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), error_code_name(code));
        }
    }

    #[test]
    fn events_and_jobs_show_in_the_text_format() {
        let metrics = WorkerMetrics::new();
        metrics.observe_event(&AgentEvent::Metrics(TurnMetrics {
            turn: 1,
            eou_delay_ms: Some(420.0),
            llm_ttft_ms: Some(180.0),
            response_ms: Some(900.0),
            ..Default::default()
        }));
        metrics.observe_event(&AgentEvent::error(ErrorCode::TtsFailed, "503"));
        let switch = |to: &str| AgentEvent::ProviderSwitch {
            kind: "llm".into(),
            from: "openai/gpt-4.1-mini".into(),
            to: to.into(),
            reason: "unavailable: 503".into(),
        };
        metrics.observe_event(&switch("openai/llama-3.3-70b"));
        metrics.observe_event(&switch("openai/gpt-4.1-nano"));
        metrics.job_started();
        metrics.job_started();
        metrics.job_ended(&Err(super::super::jobs::JobFailure::Cancelled));
        metrics.set_state(ConnectionState::Registered { worker_id: "AW_1".into() });
        let text = metrics.render();
        for line in [
            "voiceblox_worker_jobs_started_total 2",
            "voiceblox_worker_jobs_failed_total 1",
            "voiceblox_worker_jobs_succeeded_total 0",
            "voiceblox_worker_running_sessions 1",
            "voiceblox_session_errors_total{code=\"tts_failed\"} 1",
            "voiceblox_provider_switches_total{kind=\"llm\"} 2",
            "voiceblox_turn_eou_delay_seconds_bucket{le=\"0.5\"} 1",
            "voiceblox_turn_eou_delay_seconds_sum 0.42",
            "voiceblox_turn_llm_ttft_seconds_count 1",
            "voiceblox_turn_tts_ttfb_seconds_count 0",
            "voiceblox_worker_connection_state{state=\"registered\"} 1",
            "voiceblox_worker_connection_state{state=\"connecting\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }
}
