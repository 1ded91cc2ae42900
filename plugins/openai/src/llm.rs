//! Streamed chat completions: one `POST /chat/completions` per stream, read as server-sent
//! `chat.completion.chunk`s and turned into canonical LLM events.
//!
//! Event order is fixed whatever the server's order: text deltas as they arrive, tool calls when
//! the choice finishes, then `usage`, then `finish(reason)`, then the `finish` action. Usage
//! arrives after `finish_reason` (its own chunk with `choices: []`), so the finish event waits
//! for `[DONE]` to keep "finish is last" true for consumers.

use serde_json::json;
use voiceblox_plugin_kit::error_body::{ErrorCollector, truncate};
use voiceblox_plugin_kit::sse::SseEvent;
use voiceblox_plugin_kit::sse_request::{Body, Flow, SseReply, SseRequest};

use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{from_http, from_stream_error, protocol};
use crate::llm_chunk::{Chunk, Completion, finish_reason};
use crate::llm_request;
use crate::tool_calls::ToolCallAccumulator;
use voiceblox_plugin_contract::types::{
    Action, Event, FinishReason, HttpRequest, Input, LlmEvent, ProviderConfig, ProviderError, Usage,
};
use voiceblox_plugin_sdk::llm::Request;

/// Cap on a non-streamed JSON answer; a chat completion is kilobytes.
const MAX_JSON_BODY: usize = 8 * 1024 * 1024;

/// Default model when the config names none.
pub const DEFAULT_MODEL: &str = "gpt-4.1-mini";

/// One chat completion.
#[derive(Debug)]
pub struct ChatStream {
    request: SseRequest<HttpRequest, Turn>,
}

/// What happened in the completion so far.
#[derive(Debug, Default)]
struct Turn {
    tools: ToolCallAccumulator,
    called_tools: bool,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
    /// The answer of a server that ignored `stream: true`: one JSON document.
    whole: Vec<u8>,
}

impl ChatStream {
    /// Validates the request and prepares the HTTP call; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merged_options(config, "")?;
        let endpoint = Endpoint::new(config, &options)?;
        let body = llm_request::body(&model_name(config, DEFAULT_MODEL), request, endpoint.max_tokens_field())?;
        let request = HttpRequest {
            method: "POST".into(),
            url: endpoint.url("chat/completions"),
            headers: endpoint.headers("application/json"),
            body: body.to_string().into_bytes(),
        };
        Ok(ChatStream { request: SseRequest::new(request, Turn::default()) })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        voiceblox_plugin_contract::drive_sse(&mut self.request, input)
    }
}

fn emit(out: &mut Vec<Event>, event: LlmEvent) {
    out.push(Event::Llm(event));
}

impl SseReply for Turn {
    type Event = Event;
    type Error = ProviderError;

    fn head(&mut self, headers: &[(String, String)]) -> Body {
        let content_type = headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        match content_type {
            Some((_, value)) if value.trim_start().starts_with("application/json") => Body::Document,
            _ => Body::Events,
        }
    }

    fn event(&mut self, event: SseEvent, out: &mut Vec<Event>) -> Result<Flow, ProviderError> {
        let data = event.data.trim();
        if data == "[DONE]" {
            return Ok(Flow::Complete);
        }
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        if event.event.as_deref() == Some("error") {
            let document = serde_json::from_str(data).unwrap_or_else(|_| json!({"error": {"message": data}}));
            return Err(from_stream_error(&document));
        }
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| protocol(format!("malformed stream chunk ({e}): {}", truncate(data, 200))))?;
        if let Some(error) = chunk.error.filter(|e| !e.is_null()) {
            return Err(from_stream_error(&json!({ "error": error })));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.to_usage());
        }
        // `n > 1` (only possible through extras) would interleave choices; voice wants one.
        for choice in chunk.choices.unwrap_or_default().iter().filter(|c| c.index.unwrap_or(0) == 0) {
            if let Some(delta) = &choice.delta {
                if let Some(text) = delta.content.as_deref().filter(|t| !t.is_empty()) {
                    emit(out, LlmEvent::TextDelta(text.to_string()));
                }
                for call in delta.tool_calls.iter().flatten() {
                    self.tools.push(call);
                }
            }
            if let Some(reason) = &choice.finish_reason {
                self.emit_tool_calls(out)?;
                self.finish = Some(finish_reason(reason));
            }
        }
        Ok(Flow::Continue)
    }

    fn ended(&mut self) -> Result<(), ProviderError> {
        // Without `[DONE]` a finish_reason still says the answer is whole.
        match self.finish {
            Some(_) => Ok(()),
            None => Err(protocol("stream ended early: the body ended without [DONE] or a finish_reason")),
        }
    }

    fn complete(&mut self, out: &mut Vec<Event>) -> Result<(), ProviderError> {
        self.emit_tool_calls(out)?;
        if let Some(usage) = self.usage.take() {
            emit(out, LlmEvent::Usage(usage));
        }
        // `[DONE]` without a finish_reason is still a normal end.
        let default = if self.called_tools { FinishReason::ToolCalls } else { FinishReason::Stop };
        emit(out, LlmEvent::Finish(self.finish.unwrap_or(default)));
        Ok(())
    }

    fn failed(&mut self, response: ErrorCollector) -> ProviderError {
        from_http(response.finish())
    }

    fn document(&mut self, bytes: &[u8]) -> Result<(), ProviderError> {
        if self.whole.len() + bytes.len() > MAX_JSON_BODY {
            return Err(protocol(format!("chat completion larger than {MAX_JSON_BODY} bytes")));
        }
        self.whole.extend_from_slice(bytes);
        Ok(())
    }

    fn document_end(&mut self, out: &mut Vec<Event>) -> Result<(), ProviderError> {
        let text = String::from_utf8_lossy(&self.whole);
        let completion: Completion = serde_json::from_str(&text)
            .map_err(|e| protocol(format!("malformed chat completion ({e}): {}", truncate(&text, 200))))?;
        if let Some(error) = completion.error.filter(|e| !e.is_null()) {
            return Err(from_stream_error(&json!({ "error": error })));
        }
        let choice = completion.choices.unwrap_or_default().into_iter().next();
        let Some(choice) = choice else {
            return Err(protocol("chat completion has no choices"));
        };
        if let Some(message) = choice.message {
            if let Some(content) = message.content.filter(|c| !c.is_empty()) {
                emit(out, LlmEvent::TextDelta(content));
            }
            for call in message.tool_calls.iter().flatten() {
                self.tools.push(call);
            }
        }
        self.finish = choice.finish_reason.as_deref().map(finish_reason);
        self.usage = completion.usage.map(|u| u.to_usage());
        Ok(())
    }
}

impl Turn {
    fn emit_tool_calls(&mut self, out: &mut Vec<Event>) -> Result<(), ProviderError> {
        if self.tools.is_empty() {
            return Ok(());
        }
        for call in self.tools.take().map_err(protocol)? {
            emit(out, LlmEvent::ToolCall(call));
        }
        self.called_tools = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
