//! One streamed request: `POST .../models/{model}:streamGenerateContent?alt=sse` read as
//! server-sent events and turned into canonical LLM events.
//!
//! Each event's data is a whole `GenerateContentResponse` holding what was generated since the
//! last one. Event order: text deltas as they arrive; function calls as they arrive (Gemini sends
//! each call whole, in one part); then, once the body ends, `usage` (the last counts seen),
//! `finish(reason)` and the `finish` action. There is no end-of-stream event: the `finishReason`
//! on the last candidate says the answer is complete, and a body that ends without one was cut.
//!
//! A prompt the API refuses to answer (`promptFeedback.blockReason`, no candidates) fails the
//! stream as an invalid request: asking again cannot help. An answer cut by a safety filter
//! keeps what was said and finishes with `content-filter`.

use voiceblox_plugin_kit::error_body::{ErrorCollector, truncate};
use voiceblox_plugin_kit::sse::SseEvent;
use voiceblox_plugin_kit::sse_request::{Flow, SseReply, SseRequest};

use crate::chunk::{Chunk, UsageMetadata, finish_reason};
use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{from_http, from_stream_error, invalid, protocol};
use crate::{PROVIDER, request, tool_id};
use voiceblox_plugin_contract::types::{
    Action, Event, FinishReason, HttpRequest, Input, LlmEvent, ProviderConfig, ProviderError, ToolCall,
};
use voiceblox_plugin_sdk::llm::Request;

/// Default model when the config names none: fast and cheap, as a voice turn needs.
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash";

#[derive(Debug)]
pub struct GenerateStream {
    request: SseRequest<HttpRequest, Reply>,
}

/// What the reply has said so far.
#[derive(Debug, Default)]
struct Reply {
    /// Calls emitted so far; numbers the ids made for unnamed calls.
    calls: usize,
    usage: Option<UsageMetadata>,
    finish_reason: Option<String>,
}

impl GenerateStream {
    /// Validates the request and prepares the HTTP call; nothing is sent before `start`.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merged_options(config)?;
        let endpoint = Endpoint::new(config, &options)?;
        let model = model_name(config, DEFAULT_MODEL)?;
        let body = request::body(request)?;
        let request = HttpRequest {
            method: "POST".into(),
            url: endpoint.stream_url(&model),
            headers: endpoint.headers(),
            body: body.to_string().into_bytes(),
        };
        Ok(GenerateStream { request: SseRequest::new(request, Reply::default()) })
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
        let chunk: Chunk = serde_json::from_str(data)
            .map_err(|e| protocol(format!("malformed stream chunk ({e}): {}", truncate(data, 200))))?;
        if let Some(error) = &chunk.error {
            return Err(from_stream_error(&serde_json::json!({ "error": error })));
        }
        if let Some(usage) = chunk.usage_metadata {
            self.usage = Some(usage);
        }
        if let Some(reason) = chunk.prompt_feedback.as_ref().and_then(|f| f.block_reason.as_deref()) {
            let detail = chunk.prompt_feedback.as_ref().and_then(|f| f.block_reason_message.as_deref());
            let detail = detail.map(|d| format!(": {d}")).unwrap_or_default();
            return Err(invalid(format!("{PROVIDER} blocked the prompt ({reason}){detail}")));
        }
        // One candidate is requested; others (a `candidateCount` in the extras) are not spoken.
        for candidate in chunk.candidates.iter().filter(|c| c.index == 0) {
            for part in candidate.content.iter().flat_map(|c| &c.parts) {
                if let Some(call) = &part.function_call {
                    let arguments = match &call.args {
                        None | Some(serde_json::Value::Null) => "{}".to_string(),
                        Some(args @ serde_json::Value::Object(_)) => args.to_string(),
                        Some(other) => {
                            return Err(protocol(format!(
                                "function call `{}` has non-object args: {other}",
                                call.name
                            )));
                        }
                    };
                    let id = tool_id::encode(call.id.as_deref(), chunk.response_id.as_deref(), self.calls);
                    let provider_data = tool_id::provider_data(part.thought_signature.as_deref());
                    self.calls += 1;
                    emit(out, LlmEvent::ToolCall(ToolCall { id, name: call.name.clone(), arguments, provider_data }));
                } else if let Some(text) = part.text.as_deref().filter(|t| !t.is_empty() && !part.thought) {
                    emit(out, LlmEvent::TextDelta(text.to_string()));
                }
            }
            if let Some(reason) = &candidate.finish_reason {
                self.finish_reason = Some(reason.clone());
            }
        }
        Ok(Flow::Continue)
    }

    /// There is no end-of-stream event: the end of the body ends the reply, and `complete` tells
    /// a cut one by its missing finishReason.
    fn ended(&mut self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Usage, then the finish reason, or a cut stream.
    fn complete(&mut self, out: &mut Vec<Event>) -> Result<(), ProviderError> {
        let Some(reason) = self.finish_reason.take() else {
            return Err(protocol("stream ended early: the body ended before a finishReason"));
        };
        if let Some(usage) = self.usage.take() {
            emit(out, LlmEvent::Usage(usage.to_usage()));
        }
        // A call ends its candidate with STOP: Gemini has no tool-specific reason.
        let finish = match finish_reason(&reason) {
            FinishReason::Stop if self.calls > 0 => FinishReason::ToolCalls,
            other => other,
        };
        emit(out, LlmEvent::Finish(finish));
        Ok(())
    }

    fn failed(&mut self, response: ErrorCollector) -> ProviderError {
        from_http(response)
    }
}

#[cfg(test)]
mod tests;
