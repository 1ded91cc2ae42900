//! One streamed Messages request: `POST /v1/messages` read as server-sent events and turned into
//! canonical LLM events.
//!
//! Event order: text deltas as they arrive; each tool call once its `content_block_stop` has
//! closed its input JSON; then `usage`, then `finish(reason)`, then the `finish` action (at
//! `message_stop`). An `error` event mid-stream fails the stream with its class (a mid-answer
//! `overloaded_error` is an outage, as a 529 would have been).

use std::collections::BTreeMap;

use voiceblox_plugin_kit::error_body::{ErrorCollector, truncate};
use voiceblox_plugin_kit::sse::SseEvent;
use voiceblox_plugin_kit::sse_request::{Flow, SseReply, SseRequest};

use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{from_http, from_stream_error, protocol};
use crate::request;
use crate::sse_event::{ContentBlock, Delta, StreamEvent, WireUsage, finish_reason};
use voiceblox_plugin_contract::types::{
    Action, Event, FinishReason, HttpRequest, Input, LlmEvent, ProviderConfig, ProviderError, ToolCall,
};
use voiceblox_plugin_sdk::llm::Request;

/// Default model when the config names none.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

#[derive(Debug)]
pub struct MessageStream {
    request: SseRequest<HttpRequest, Reply>,
}

/// What the reply has said so far.
#[derive(Debug, Default)]
struct Reply {
    /// Tool calls being received, by content block index: id, name, input JSON so far.
    tools: BTreeMap<u32, (String, String, String)>,
    called_tools: bool,
    usage: Option<WireUsage>,
    stop_reason: Option<String>,
}

impl MessageStream {
    /// Validates the request and prepares the HTTP call; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merged_options(config)?;
        let endpoint = Endpoint::new(config, &options)?;
        let body = request::body(&model_name(config, DEFAULT_MODEL), request)?;
        let request = HttpRequest {
            method: "POST".into(),
            url: endpoint.messages_url(),
            headers: endpoint.headers(),
            body: body.to_string().into_bytes(),
        };
        Ok(MessageStream { request: SseRequest::new(request, Reply::default()) })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        voiceblox_plugin_contract::drive_sse(&mut self.request, input)
    }
}

fn emit(out: &mut Vec<Event>, event: LlmEvent) {
    out.push(Event::Llm(event));
}

impl SseReply for Reply {
    type Event = Event;
    type Error = ProviderError;

    fn event(&mut self, event: SseEvent, out: &mut Vec<Event>) -> Result<Flow, ProviderError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(Flow::Continue);
        }
        let parsed: StreamEvent = serde_json::from_str(data)
            .map_err(|e| protocol(format!("malformed stream event ({e}): {}", truncate(data, 200))))?;
        match parsed {
            StreamEvent::MessageStart { message } => self.count(message.usage),
            StreamEvent::ContentBlockStart { index, content_block: ContentBlock::ToolUse { id, name } } => {
                self.tools.insert(index, (id, name, String::new()));
            }
            StreamEvent::ContentBlockStart { .. } => {}
            StreamEvent::ContentBlockDelta { delta: Delta::Text { text }, .. } => {
                if !text.is_empty() {
                    emit(out, LlmEvent::TextDelta(text));
                }
            }
            StreamEvent::ContentBlockDelta { index, delta: Delta::InputJson { partial_json } } => {
                let Some((.., input)) = self.tools.get_mut(&index) else {
                    return Err(protocol(format!("input_json_delta for block {index}, which is not a tool_use")));
                };
                input.push_str(&partial_json);
            }
            StreamEvent::ContentBlockDelta { .. } => {}
            StreamEvent::ContentBlockStop { index } => {
                if let Some((id, name, input)) = self.tools.remove(&index) {
                    let arguments = if input.trim().is_empty() { "{}".to_string() } else { input };
                    if serde_json::from_str::<serde_json::Value>(&arguments).is_err() {
                        return Err(protocol(format!("tool call `{name}` ended with incomplete input JSON")));
                    }
                    emit(out, LlmEvent::ToolCall(ToolCall { id, name, arguments, provider_data: None }));
                    self.called_tools = true;
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.stop_reason = delta.stop_reason.or(self.stop_reason.take());
                self.count(usage);
            }
            StreamEvent::MessageStop => return Ok(Flow::Complete),
            StreamEvent::Error { error } => return Err(from_stream_error(&serde_json::json!({ "error": error }))),
            StreamEvent::Ping | StreamEvent::Unknown => {}
        }
        Ok(Flow::Continue)
    }

    fn ended(&mut self) -> Result<(), ProviderError> {
        Err(protocol("stream ended early: the body ended before message_stop"))
    }

    fn complete(&mut self, out: &mut Vec<Event>) -> Result<(), ProviderError> {
        if let Some(usage) = self.usage.take() {
            emit(out, LlmEvent::Usage(usage.to_usage()));
        }
        let default = if self.called_tools { FinishReason::ToolCalls } else { FinishReason::Stop };
        emit(out, LlmEvent::Finish(self.stop_reason.as_deref().map_or(default, finish_reason)));
        Ok(())
    }

    fn failed(&mut self, response: ErrorCollector) -> ProviderError {
        from_http(response.finish())
    }
}

impl Reply {
    fn count(&mut self, usage: Option<WireUsage>) {
        if let Some(later) = usage {
            self.usage.get_or_insert_default().update(later);
        }
    }
}

#[cfg(test)]
mod tests;
