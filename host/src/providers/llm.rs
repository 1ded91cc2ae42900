//! Chat completions through the LLM plugin: one stream per request, events as [`LlmChunk`]s.

use std::time::{Duration, Instant};

use crate::plugin::types::{Event, FinishReason, LlmEvent, ToolCall, Usage};
use crate::plugin::{OpenRequest, PluginRuntime, ProviderSettings, StreamError, StreamHandle, StreamOutput, llm};

/// One model (the main LLM, or a step's evaluation LLM) with its sampling settings.
#[derive(Clone)]
pub struct ChatLlm {
    runtime: PluginRuntime,
    settings: ProviderSettings,
    temperature: Option<f32>,
    max_tokens: Option<u32>,
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
}

impl LlmReply {
    /// The next chunk; `None` when the reply is complete.
    pub async fn next(&mut self) -> Option<Result<LlmChunk, StreamError>> {
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
                        self.first_token = Some(self.sent_at.elapsed());
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
        Self { runtime, settings, temperature: temperature.map(|t| t as f32), max_tokens }
    }

    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    /// Sends the request; the returned reply streams the answer.
    pub async fn stream(
        &self,
        messages: Vec<llm::Message>,
        tools: Vec<llm::ToolDefinition>,
    ) -> Result<LlmReply, StreamError> {
        let request = llm::Request {
            messages,
            tools,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            extras: "{}".into(),
        };
        let sent_at = Instant::now();
        let stream = self.runtime.open(&self.settings, OpenRequest::Llm(request)).await?;
        Ok(LlmReply { stream, sent_at, first_token: None })
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
