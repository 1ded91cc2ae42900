//! Chat completions through the LLM plugin: one stream per request, events as [`LlmChunk`]s.
//!
//! A [`ChatLlm`] may be a chain: the configured model, then its `fallbacks` in order. A
//! request goes to the first provider not cooling down; when it fails before its first token
//! (a connection error, a timeout, 429, 5xx: [`switches_provider`]) the next provider takes the
//! same request, the one that failed cools down (then it is tried first again), and the switch
//! is reported (a `provider_switch` event; [`super::chain`]). Once a reply has started, a
//! failure is not retried elsewhere: the user has heard part of it, and another model would
//! not continue the same sentence; it ends the reply as any failure does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::chain::ChainState;
pub use super::chain::{COOL_DOWN, switches_provider};
use crate::events::EventSink;
use crate::plugin::types::{Event, FinishReason, LlmEvent, ToolCall, Usage};
use crate::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamOutput, llm};

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
    chain: ChainState,
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
        let chain = ChainState::new("llm", vec![model.label()]);
        Self { models: Arc::new([model]), chain }
    }

    /// With `fallbacks` (each an LLM of its own, its first model taken) after this one.
    pub fn with_fallbacks(self, fallbacks: impl IntoIterator<Item = ChatLlm>) -> Self {
        let models: Vec<Model> =
            self.models.iter().cloned().chain(fallbacks.into_iter().map(|f| f.models[0].clone())).collect();
        let chain = ChainState::new("llm", models.iter().map(Model::label).collect());
        Self { models: models.into(), chain }
    }

    /// Reporting provider switches to `sink`.
    pub fn reporting_to(self, sink: Arc<dyn EventSink>) -> Self {
        Self { chain: self.chain.reporting_to(sink), ..self }
    }

    /// Passing a failed provider over for `cool_down` instead of [`COOL_DOWN`].
    pub fn with_cool_down(self, cool_down: Duration) -> Self {
        Self { chain: self.chain.with_cool_down(cool_down), ..self }
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
        let order = self.chain.order();
        let mut failed: Option<(usize, StreamError)> = None;
        for (position, &index) in order.iter().enumerate() {
            let model = &self.models[index];
            if let Some((from, error)) = failed.take() {
                self.chain.switch(from, index, &error);
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
                    self.chain.served(index, false);
                    return Ok(reply);
                }
                Err(error) if !last && switches_provider(&error) => {
                    self.chain.served(index, true);
                    failed = Some((index, error));
                }
                Err(error) => {
                    if switches_provider(&error) {
                        self.chain.served(index, true);
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
