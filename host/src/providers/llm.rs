//! Chat completions through the LLM plugin: one stream per request, events as [`LlmChunk`]s.
//!
//! A [`ChatLlm`] may be a chain: the configured model, then its `fallbacks` in order. A
//! request goes to the first provider not cooling down; when it fails before its first token
//! (a connection error, a timeout, 429, 5xx: [`switches_provider`]) the next provider takes the
//! same request, the one that failed cools down for [`COOL_DOWN`] (then it is tried first
//! again), and the switch is reported (a `provider_switch` event). Once a reply has started,
//! a failure is not retried elsewhere: the user has heard part of it, and another model
//! would not continue the same sentence; it ends the reply as any failure does.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::events::{AgentEvent, EventSink};
use crate::plugin::types::{Event, FinishReason, LlmEvent, ProviderError, ToolCall, Usage};
use crate::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamOutput, llm};

/// How long a provider that failed is passed over.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

/// One model of a chain with its sampling settings.
#[derive(Clone)]
struct Model {
    runtime: PluginRuntime,
    settings: ProviderSettings,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
}

impl Model {
    /// `provider/model`, as events name it.
    fn label(&self) -> String {
        format!("{}/{}", self.settings.provider, self.settings.model)
    }
}

/// One LLM (the main one, a step's evaluation LLM, post-call's), with its fallbacks.
#[derive(Clone)]
pub struct ChatLlm {
    models: Arc<[Model]>,
    /// Until when each model is passed over after a failure (tokio's clock, so tests may pause it).
    cooling: Arc<Mutex<Vec<Option<tokio::time::Instant>>>>,
    cool_down: Duration,
    /// Where switches are reported.
    sink: Option<Arc<dyn EventSink>>,
}

/// Whether a failure before the first token hands the request to the next provider: the
/// provider could not serve it now (unreachable, slow, rate-limited, failing). A bad key or
/// a bad request would fail the same way again, and a plugin fault is the plugin's.
pub fn switches_provider(error: &StreamError) -> bool {
    matches!(
        error,
        StreamError::Provider {
            error: ProviderError::RateLimited(_) | ProviderError::Unavailable(_) | ProviderError::Timeout(_),
            ..
        }
    )
}

/// What a reply stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmChunk {
    Text(String),
    ToolCall(ToolCall),
    Usage(Usage),
    Finish(FinishReason),
}

/// A streaming reply; dropping it cancels the request.
pub struct LlmReply {
    stream: StreamHandle,
    sent_at: Instant,
    first_token: Option<Duration>,
    /// The first output, read while choosing the provider.
    first: Option<Option<Result<LlmChunk, StreamError>>>,
}

impl LlmReply {
    /// The next chunk; `None` when the reply is complete.
    pub async fn next(&mut self) -> Option<Result<LlmChunk, StreamError>> {
        if let Some(first) = self.first.take() {
            return first;
        }
        self.read().await
    }

    async fn read(&mut self) -> Option<Result<LlmChunk, StreamError>> {
        loop {
            return match self.stream.next().await? {
                StreamOutput::Event(Event::Llm(event)) => {
                    let chunk = match event {
                        LlmEvent::TextDelta(text) => LlmChunk::Text(text),
                        LlmEvent::ToolCall(call) => LlmChunk::ToolCall(call),
                        LlmEvent::Usage(usage) => LlmChunk::Usage(usage),
                        LlmEvent::Finish(reason) => LlmChunk::Finish(reason),
                    };
                    if matches!(chunk, LlmChunk::Text(_) | LlmChunk::ToolCall(_)) && self.first_token.is_none() {
                        self.first_token = Some(crate::clock::now().saturating_duration_since(self.sent_at));
                    }
                    Some(Ok(chunk))
                }
                StreamOutput::Event(other) => {
                    tracing::debug!(?other, "non-LLM event from an LLM stream ignored");
                    continue;
                }
                StreamOutput::Finished => None,
                StreamOutput::Failed(error) => Some(Err(error)),
            };
        }
    }

    /// Request sent → first text or tool call.
    pub fn time_to_first_token(&self) -> Option<Duration> {
        self.first_token
    }
}

/// A whole answer, collected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Option<Usage>,
}

impl ChatLlm {
    pub fn new(
        runtime: PluginRuntime,
        settings: ProviderSettings,
        temperature: Option<f64>,
        max_tokens: Option<u32>,
    ) -> Self {
        // Sampling temperature needs no more than f32 precision; the wire carries a short decimal.
        let model = Model { runtime, settings, temperature: temperature.map(|t| t as f32), max_tokens };
        Self { models: Arc::new([model]), cooling: Arc::new(Mutex::new(vec![None])), cool_down: COOL_DOWN, sink: None }
    }

    /// With `fallbacks` (each an LLM of its own, its first model taken) after this one.
    pub fn with_fallbacks(self, fallbacks: impl IntoIterator<Item = ChatLlm>) -> Self {
        let models: Vec<Model> =
            self.models.iter().cloned().chain(fallbacks.into_iter().map(|f| f.models[0].clone())).collect();
        let cooling = Arc::new(Mutex::new(vec![None; models.len()]));
        Self { models: models.into(), cooling, ..self }
    }

    /// Reporting provider switches to `sink`.
    pub fn reporting_to(self, sink: Arc<dyn EventSink>) -> Self {
        Self { sink: Some(sink), ..self }
    }

    /// Passing a failed provider over for `cool_down` instead of [`COOL_DOWN`].
    pub fn with_cool_down(self, cool_down: Duration) -> Self {
        Self { cool_down, ..self }
    }

    /// The configured model's settings (the chain's first).
    pub fn settings(&self) -> &ProviderSettings {
        &self.models[0].settings
    }

    /// Sends the request to the first provider that can take it (see the module docs); the
    /// returned reply streams the answer.
    pub async fn stream(
        &self,
        messages: Vec<llm::Message>,
        tools: Vec<llm::ToolDefinition>,
    ) -> Result<LlmReply, StreamError> {
        let order = self.order();
        let mut failed: Option<(usize, StreamError)> = None;
        for (position, &index) in order.iter().enumerate() {
            let model = &self.models[index];
            if let Some((from, error)) = failed.take() {
                self.report_switch(from, index, &error);
            }
            let request = llm::Request {
                messages: messages.clone(),
                tools: tools.clone(),
                temperature: model.temperature,
                max_tokens: model.max_tokens,
                extras: "{}".into(),
            };
            let last = position + 1 == order.len();
            match Self::open(model, request).await {
                Ok(reply) => {
                    self.cooled(index, false);
                    return Ok(reply);
                }
                Err(error) if !last && switches_provider(&error) => {
                    tracing::warn!(provider = %model.label(), %error, "LLM provider failed; the next one takes the request");
                    self.cooled(index, true);
                    failed = Some((index, error));
                }
                Err(error) => {
                    if switches_provider(&error) {
                        self.cooled(index, true);
                    }
                    return Err(error);
                }
            }
        }
        Err(failed.map(|(_, e)| e).unwrap_or_else(|| StreamError::Io("no LLM configured".into())))
    }

    /// Opens `request` on `model` and reads up to its first output, so a failure before it
    /// can still go to the next provider.
    async fn open(model: &Model, request: llm::Request) -> Result<LlmReply, StreamError> {
        let sent_at = crate::clock::now();
        let stream = model.runtime.open(&model.settings, OpenRequest::Llm(request)).await?;
        let mut reply = LlmReply { stream, sent_at, first_token: None, first: None };
        match reply.read().await {
            Some(Err(error)) => Err(error),
            first => {
                reply.first = Some(first);
                Ok(reply)
            }
        }
    }

    /// The models in the order to try: those not cooling down first (configured order), then
    /// the cooling ones, so a request always has somewhere to go.
    fn order(&self) -> Vec<usize> {
        let now = tokio::time::Instant::now();
        let cooling = self.cooling.lock().unwrap_or_else(PoisonError::into_inner);
        let (ready, resting): (Vec<usize>, Vec<usize>) =
            (0..self.models.len()).partition(|&i| cooling.get(i).copied().flatten().is_none_or(|until| now >= until));
        ready.into_iter().chain(resting).collect()
    }

    fn cooled(&self, index: usize, failed: bool) {
        let mut cooling = self.cooling.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = cooling.get_mut(index) {
            *slot = failed.then(|| tokio::time::Instant::now() + self.cool_down);
        }
    }

    fn report_switch(&self, from: usize, to: usize, error: &StreamError) {
        if let Some(sink) = &self.sink {
            sink.emit(AgentEvent::ProviderSwitch {
                kind: "llm".into(),
                from: self.models[from].label(),
                to: self.models[to].label(),
                reason: error.to_string(),
            });
        }
    }

    /// Sends the request and waits for the whole answer (branch evaluations, extraction).
    pub async fn complete(&self, messages: Vec<llm::Message>) -> Result<Completion, StreamError> {
        let mut reply = self.stream(messages, Vec::new()).await?;
        let mut completion = Completion::default();
        while let Some(chunk) = reply.next().await {
            match chunk? {
                LlmChunk::Text(text) => completion.text.push_str(&text),
                LlmChunk::ToolCall(call) => completion.tool_calls.push(call),
                LlmChunk::Usage(usage) => completion.usage = Some(usage),
                LlmChunk::Finish(_) => {}
            }
        }
        Ok(completion)
    }
}

/// A message with plain text content.
pub fn message(role: llm::Role, content: impl Into<String>) -> llm::Message {
    llm::Message { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
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
        let registry = crate::plugin::PluginRegistry::default();
        let policy = crate::egress::NetworkPolicy::default();
        let runtime = PluginRuntime::new(registry, policy, crate::egress::Timeouts::default()).unwrap();
        let settings = |provider: &str| ProviderSettings { provider: provider.into(), ..ProviderSettings::default() };
        let chain = ChatLlm::new(runtime.clone(), settings("main"), None, None)
            .with_fallbacks([ChatLlm::new(runtime.clone(), settings("spare"), None, None)])
            .with_cool_down(Duration::from_secs(30));
        assert_eq!(chain.order(), [0, 1]);
        chain.cooled(0, true);
        assert_eq!(chain.order(), [1, 0], "the spare first; the main one still last rather than nowhere");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(chain.order(), [1, 0]);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(chain.order(), [0, 1]);
        // A clone shares the chain's memory of failures (the session's LLM is cloned per turn).
        chain.clone().cooled(1, true);
        assert_eq!(chain.order(), [0, 1]);
        chain.cooled(0, true);
        assert_eq!(chain.order(), [0, 1], "both cooling: the configured order");
    }
}
