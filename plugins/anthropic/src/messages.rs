//! One streamed Messages request: `POST /v1/messages` read as server-sent events and turned into
//! canonical LLM events.
//!
//! Event order: text deltas as they arrive; each tool call once its `content_block_stop` has
//! closed its input JSON; then `usage`, then `finish(reason)`, then the `finish` action (at
//! `message_stop`). An `error` event mid-stream fails the stream with its class (a mid-answer
//! `overloaded_error` is an outage, as a 529 would have been).

use std::collections::BTreeMap;

use voiceblox_plugin_kit::error_body::{ErrorCollector, truncate};
use voiceblox_plugin_kit::response::ResponseBody;
use voiceblox_plugin_kit::sse::{SseEvent, SseParser};

use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{from_http, from_stream_error, protocol};
use crate::request;
use crate::sse_event::{ContentBlock, Delta, StreamEvent, WireUsage, finish_reason};
use voiceblox_plugin_contract::types::{
    Action, Event, FinishReason, HttpRequest, HttpResponse, Input, LlmEvent, ProviderConfig, ProviderError, ToolCall,
};
use voiceblox_plugin_sdk::llm::Request;

/// The stream's only request id.
const REQUEST_ID: u32 = 1;

/// Default model when the config names none.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";

#[derive(Debug)]
pub struct MessageStream {
    request: Option<HttpRequest>,
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    Idle,
    AwaitingHead,
    Streaming(SseParser, Reply),
    Failed(ErrorCollector),
    Done,
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
        Ok(MessageStream {
            request: Some(HttpRequest {
                method: "POST".into(),
                url: endpoint.messages_url(),
                headers: endpoint.headers(),
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
                        _ => Phase::Streaming(SseParser::new(), Reply::default()),
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
            Phase::Streaming(parser, reply) => {
                for event in parser.push(bytes).map_err(|e| protocol(e.to_string()))? {
                    if reply.on_event(&event, out)? {
                        self.phase = Phase::Done;
                        break;
                    }
                }
            }
            Phase::Failed(collector) => collector.push(bytes),
            Phase::Idle | Phase::AwaitingHead | Phase::Done => {}
        }
        Ok(())
    }

    fn on_end(&mut self, out: &mut Vec<Action>) -> Result<(), ProviderError> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Streaming(mut parser, mut reply) => {
                if let Some(event) = parser.finish().map_err(|e| protocol(e.to_string()))?
                    && reply.on_event(&event, out)?
                {
                    return Ok(());
                }
                Err(protocol("stream ended early: the body ended before message_stop"))
            }
            Phase::Failed(collector) => Err(from_http(collector.finish())),
            Phase::AwaitingHead => Err(protocol("the response ended before its head arrived")),
            phase @ (Phase::Idle | Phase::Done) => {
                self.phase = phase;
                Ok(())
            }
        }
    }
}

fn body_for(head: &HttpResponse) -> ResponseBody {
    let headers = head.headers.iter().map(|h| (h.name.as_str(), h.value.as_str()));
    ResponseBody::for_head(head.status, headers)
}

fn emit(out: &mut Vec<Action>, event: LlmEvent) {
    out.push(Action::Emit(Event::Llm(event)));
}

impl Reply {
    /// One server-sent event; `true` once the message is complete.
    fn on_event(&mut self, event: &SseEvent, out: &mut Vec<Action>) -> Result<bool, ProviderError> {
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(false);
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
            StreamEvent::MessageStop => {
                self.complete(out);
                return Ok(true);
            }
            StreamEvent::Error { error } => return Err(from_stream_error(&serde_json::json!({ "error": error }))),
            StreamEvent::Ping | StreamEvent::Unknown => {}
        }
        Ok(false)
    }

    fn count(&mut self, usage: Option<WireUsage>) {
        if let Some(later) = usage {
            self.usage.get_or_insert_default().update(later);
        }
    }

    fn complete(&mut self, out: &mut Vec<Action>) {
        if let Some(usage) = self.usage.take() {
            emit(out, LlmEvent::Usage(usage.to_usage()));
        }
        let default = if self.called_tools { FinishReason::ToolCalls } else { FinishReason::Stop };
        emit(out, LlmEvent::Finish(self.stop_reason.as_deref().map_or(default, finish_reason)));
        out.push(Action::Finish);
    }
}

#[cfg(test)]
mod tests;
