//! A provider chain's memory: which of its providers failed recently, the order to try them
//! in, and the `provider_switch` report. The LLM, TTS and STT chains share it.
//!
//! A provider that could not serve a request now ([`switches_provider`]: unreachable, slow,
//! rate-limited, failing) is passed over for a cool-down ([`COOL_DOWN`]) and then tried first
//! again; a bad key or a bad request would fail the same way anywhere and switches nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::events::{AgentEvent, EventSink};
use crate::plugin::StreamError;
use crate::plugin::types::ProviderError;

/// How long a provider that failed is passed over, unless the config says otherwise.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

/// The cool-down a config's `fallbackCoolDownSecs` asks for.
pub fn cool_down(secs: Option<u32>) -> Duration {
    secs.map_or(COOL_DOWN, |secs| Duration::from_secs(u64::from(secs)))
}

/// Whether a failure hands the request to the next provider: the provider could not serve
/// it now (unreachable, slow, rate-limited, failing). A bad key or a bad request would fail
/// the same way again, and a plugin fault is the plugin's.
pub fn switches_provider(error: &StreamError) -> bool {
    matches!(
        error,
        StreamError::Provider {
            error: ProviderError::RateLimited(_) | ProviderError::Unavailable(_) | ProviderError::Timeout(_),
            ..
        }
    )
}

/// The failure memory of a chain of `labels` (`provider/model`, as events name them). Clones
/// share it: a session's clients are cloned per turn or utterance.
#[derive(Clone)]
pub struct ChainState {
    kind: &'static str,
    labels: Arc<[String]>,
    /// Until when each provider is passed over (tokio's clock, so tests may pause it).
    cooling: Arc<Mutex<Vec<Option<tokio::time::Instant>>>>,
    cool_down: Duration,
    sink: Option<Arc<dyn EventSink>>,
}

impl ChainState {
    /// A chain of `kind` (`llm`, `tts`, `stt`) over providers named `labels`, in order.
    pub fn new(kind: &'static str, labels: Vec<String>) -> Self {
        let cooling = Arc::new(Mutex::new(vec![None; labels.len()]));
        Self { kind, labels: labels.into(), cooling, cool_down: COOL_DOWN, sink: None }
    }

    /// Reporting switches to `sink`.
    pub fn reporting_to(self, sink: Arc<dyn EventSink>) -> Self {
        Self { sink: Some(sink), ..self }
    }

    /// Passing a failed provider over for `cool_down` instead of [`COOL_DOWN`].
    pub fn with_cool_down(self, cool_down: Duration) -> Self {
        Self { cool_down, ..self }
    }

    /// The providers in the order to try: those not cooling down first (configured order),
    /// then the cooling ones, so a request always has somewhere to go.
    pub fn order(&self) -> Vec<usize> {
        let now = tokio::time::Instant::now();
        let cooling = self.cooling.lock().unwrap_or_else(PoisonError::into_inner);
        let (ready, resting): (Vec<usize>, Vec<usize>) =
            (0..self.labels.len()).partition(|&i| cooling.get(i).copied().flatten().is_none_or(|until| now >= until));
        ready.into_iter().chain(resting).collect()
    }

    /// Provider `index` served (`failed` false: it is tried in its place again) or failed (it
    /// is passed over for the cool-down).
    pub fn served(&self, index: usize, failed: bool) {
        let mut cooling = self.cooling.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = cooling.get_mut(index) {
            *slot = failed.then(|| tokio::time::Instant::now() + self.cool_down);
        }
    }

    /// Provider `from` failed with `error` and `to` takes over: logged and reported.
    pub fn switch(&self, from: usize, to: usize, error: &StreamError) {
        let (from, to) = (self.label(from), self.label(to));
        tracing::warn!(kind = self.kind, %from, %to, %error, "provider failed; the next one takes over");
        if let Some(sink) = &self.sink {
            sink.emit(AgentEvent::ProviderSwitch { kind: self.kind.into(), from, to, reason: error.to_string() });
        }
    }

    fn label(&self, index: usize) -> String {
        self.labels.get(index).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::types::RateLimit;

    fn failure(error: ProviderError) -> StreamError {
        StreamError::Provider { provider: "openai".into(), error }
    }

    #[test]
    fn outages_switch_and_mistakes_do_not() {
        let rate = RateLimit { message: "slow down".into(), retry_after_ms: Some(20_000) };
        assert!(switches_provider(&failure(ProviderError::RateLimited(rate))));
        assert!(switches_provider(&failure(ProviderError::Unavailable("503".into()))));
        assert!(switches_provider(&failure(ProviderError::Timeout("no answer".into()))));
        assert!(!switches_provider(&failure(ProviderError::Unauthorized("bad key".into()))));
        assert!(!switches_provider(&failure(ProviderError::InvalidRequest("no such model".into()))));
        assert!(!switches_provider(&StreamError::Io("roots".into())));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_provider_is_passed_over_for_its_cool_down_then_tried_first_again() {
        let chain =
            ChainState::new("llm", vec!["main/a".into(), "spare/b".into()]).with_cool_down(Duration::from_secs(30));
        assert_eq!(chain.order(), [0, 1]);
        chain.served(0, true);
        assert_eq!(chain.order(), [1, 0], "the spare first; the main one still last rather than nowhere");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(chain.order(), [1, 0]);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(chain.order(), [0, 1]);
        // A clone shares the chain's memory of failures.
        chain.clone().served(1, true);
        assert_eq!(chain.order(), [0, 1]);
        chain.served(0, true);
        assert_eq!(chain.order(), [0, 1], "both cooling: the configured order");
    }
}
