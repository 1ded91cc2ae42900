//! Streamed chat completions: one `POST /chat/completions` per stream, read as server-sent
//! `chat.completion.chunk`s and turned into canonical LLM events.
//!
//! Event order is fixed whatever the server's order: text deltas as they arrive, tool calls when
//! the choice finishes, then `usage`, then `finish(reason)`, then the `finish` action. Usage
//! arrives after `finish_reason` (its own chunk with `choices: []`), so the finish event waits
//! for `[DONE]` to keep "finish is last" true for consumers.

use serde_json::json;
use voiceblox_plugin_kit::error_body::{ErrorCollector, truncate};
use voiceblox_plugin_kit::response::ResponseBody;
use voiceblox_plugin_kit::sse::{SseEvent, SseParser};

use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{from_http, from_stream_error, protocol};
use crate::exports::voiceblox::plugin::llm::Request;
use crate::llm_chunk::{Chunk, Completion, finish_reason};
use crate::llm_request;
use crate::response::{body_for, header};
use crate::tool_calls::ToolCallAccumulator;
use voiceblox_plugin_contract::types::{
    Action, Event, FinishReason, HttpRequest, Input, LlmEvent, ProviderConfig, ProviderError, Usage,
};

/// The stream's only request id.
const REQUEST_ID: u32 = 1;

/// Cap on a non-streamed JSON answer; a chat completion is kilobytes.
const MAX_JSON_BODY: usize = 8 * 1024 * 1024;

/// Default model when the config names none.
pub const DEFAULT_MODEL: &str = "gpt-4.1-mini";

/// One chat completion.
#[derive(Debug)]
pub struct ChatStream {
    request: Option<HttpRequest>,
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    Idle,
    AwaitingHead,
    Streaming(SseParser, Turn),
    /// The server ignored `stream: true` and answers with one JSON document.
    Whole(Vec<u8>),
    Failed(ErrorCollector),
    Done,
}

/// What happened in the completion so far.
#[derive(Debug, Default)]
struct Turn {
    tools: ToolCallAccumulator,
    called_tools: bool,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

enum Flow {
    Continue,
    Complete,
}

impl ChatStream {
    /// Validates the request and prepares the HTTP call; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merged_options(config, "")?;
        let endpoint = Endpoint::new(config, &options)?;
        let body = llm_request::body(&model_name(config, DEFAULT_MODEL), request, endpoint.max_tokens_field())?;
        Ok(ChatStream {
            request: Some(HttpRequest {
                method: "POST".into(),
                url: endpoint.url("chat/completions"),
                headers: endpoint.headers("application/json"),
                body: body.to_string().into_bytes(),
            }),
            phase: Phase::Idle,
        })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        let result = match input {
            Input::Start => {
                if let (Phase::Idle, Some(request)) = (&self.phase, self.request.take()) {
                    out.push(Action::HttpRequest((REQUEST_ID, request)));
                    self.phase = Phase::AwaitingHead;
                }
                Ok(())
            }
            Input::HttpResponse((REQUEST_ID, head)) => {
                if let Phase::AwaitingHead = self.phase {
                    self.phase = match body_for(&head) {
                        ResponseBody::Failed(collector) => Phase::Failed(collector),
                        _ if header(&head, "content-type")
                            .is_some_and(|t| t.trim_start().starts_with("application/json")) =>
                        {
                            Phase::Whole(Vec::new())
                        }
                        _ => Phase::Streaming(SseParser::new(), Turn::default()),
                    };
                }
                Ok(())
            }
            Input::HttpBody((REQUEST_ID, bytes)) => self.on_body(&bytes, &mut out),
            Input::HttpEnd(REQUEST_ID) => self.on_end(&mut out),
            _ => Ok(()),
        };
        if let Err(error) = result {
            out.push(Action::Fail(error));
            self.phase = Phase::Done;
        }
        out
    }

    fn on_body(&mut self, bytes: &[u8], out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match &mut self.phase {
            Phase::Streaming(parser, turn) => {
                let events = parser.push(bytes).map_err(|e| protocol(e.to_string()))?;
                for event in events {
                    if let Flow::Complete = turn.on_event(event, out)? {
                        turn.complete(out)?;
                        self.phase = Phase::Done;
                        break;
                    }
                }
            }
            Phase::Whole(body) => {
                if body.len() + bytes.len() > MAX_JSON_BODY {
                    return Err(protocol(format!("chat completion larger than {MAX_JSON_BODY} bytes")));
                }
                body.extend_from_slice(bytes);
            }
            Phase::Failed(collector) => collector.push(bytes),
            Phase::Idle | Phase::AwaitingHead | Phase::Done => {}
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Streaming(mut parser, mut turn) => {
                let last = parser.finish().map_err(|e| protocol(e.to_string()))?;
                let complete = match last {
                    Some(event) => matches!(turn.on_event(event, out)?, Flow::Complete),
                    None => false,
                };
                // Without `[DONE]` a finish_reason still says the answer is whole.
                if complete || turn.finish.is_some() {
                    turn.complete(out)
                } else {
                    Err(protocol("stream ended early: the body ended without [DONE] or a finish_reason"))
                }
            }
            Phase::Whole(body) => Turn::default().whole(&body, out),
            Phase::Failed(collector) => Err(from_http(collector.finish())),
            Phase::AwaitingHead => Err(protocol("the response ended before its head arrived")),
            phase @ (Phase::Idle | Phase::Done) => {
                self.phase = phase;
                Ok(())
            }
        }
    }
}

fn emit(out: &mut Vec<Action>, event: LlmEvent) {
    out.push(Action::Emit(Event::Llm(event)));
}

impl Turn {
    fn on_event(&mut self, event: SseEvent, out: &mut Vec<Action>) -> Result<Flow, ProviderError> {
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

    fn emit_tool_calls(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        if self.tools.is_empty() {
            return Ok(());
        }
        for call in self.tools.take().map_err(protocol)? {
            emit(out, LlmEvent::ToolCall(call));
        }
        self.called_tools = true;
        Ok(())
    }

    fn complete(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        self.emit_tool_calls(out)?;
        if let Some(usage) = self.usage.take() {
            emit(out, LlmEvent::Usage(usage));
        }
        // `[DONE]` without a finish_reason is still a normal end.
        let default = if self.called_tools { FinishReason::ToolCalls } else { FinishReason::Stop };
        emit(out, LlmEvent::Finish(self.finish.unwrap_or(default)));
        out.push(Action::Finish);
        Ok(())
    }

    fn whole(mut self, body: &[u8], out: &mut Vec<Action>) -> Result<(), ProviderError> {
        let text = String::from_utf8_lossy(body);
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
        self.complete(out)
    }
}

#[cfg(test)]
mod tests;
