//! The chat completion wire format: request validation and the chunk JSON OpenAI streams.

use serde_json::Value;

use super::chat::{ChatScript, Usage};
use super::errors;
use crate::fakes::ids::{alnum_id, hex_id, unix_seconds};
use crate::fakes::wire::{Obj, array};

/// What the fake needs from a chat request body.
pub(super) struct ChatRequest {
    pub(super) model: String,
    pub(super) stream: bool,
    pub(super) include_usage: bool,
    pub(super) include_obfuscation: bool,
    /// Characters of message content, for the default token estimate.
    pub(super) prompt_chars: usize,
}

/// OpenAI refuses longer tool-call ids in a conversation (other providers' ids included).
const MAX_TOOL_CALL_ID: usize = 40;

impl ChatRequest {
    /// Validates like OpenAI does; the error is the 400 body to send.
    pub(super) fn parse(body: &[u8]) -> Result<ChatRequest, String> {
        let json: Value = serde_json::from_slice(body).map_err(|_| errors::unparseable_json())?;
        let Some(object) = json.as_object() else {
            return Err(errors::unparseable_json());
        };
        let model = match object.get("model") {
            Some(Value::String(model)) if !model.is_empty() => model.clone(),
            _ => {
                return Err(errors::error_json(
                    "you must provide a model parameter",
                    "invalid_request_error",
                    None,
                    None,
                ));
            }
        };
        let messages = match object.get("messages") {
            Some(Value::Array(messages)) => messages,
            Some(_) => {
                return Err(errors::invalid_value(
                    "messages",
                    "Invalid type for 'messages': expected an array of objects.",
                ));
            }
            None => return Err(errors::missing_parameter("messages")),
        };
        if messages.is_empty() {
            return Err(errors::error_json(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got \
                 an empty array instead.",
                "invalid_request_error",
                Some("messages"),
                Some("empty_array"),
            ));
        }
        for (i, message) in messages.iter().enumerate() {
            if message.get("role").and_then(Value::as_str).is_none() {
                return Err(errors::missing_parameter(&format!("messages[{i}].role")));
            }
            let calls = message.get("tool_calls").and_then(Value::as_array).into_iter().flatten();
            for (j, call) in calls.enumerate() {
                let id = call.get("id").and_then(Value::as_str).unwrap_or_default();
                if id.chars().count() > MAX_TOOL_CALL_ID {
                    return Err(errors::string_too_long(&format!("messages[{i}].tool_calls[{j}].id"), id));
                }
            }
        }
        let stream = object.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let options = object.get("stream_options").filter(|value| !value.is_null());
        if options.is_some() && !stream {
            return Err(errors::error_json(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                "invalid_request_error",
                Some("stream_options"),
                None,
            ));
        }
        let option = |name: &str| options.and_then(|o| o.get(name)).and_then(Value::as_bool);
        let prompt_chars = messages
            .iter()
            .filter_map(|message| message.get("content"))
            .map(|content| match content {
                Value::String(text) => text.chars().count(),
                other => other.to_string().len(),
            })
            .sum();
        Ok(ChatRequest {
            model,
            stream,
            include_usage: option("include_usage").unwrap_or(false),
            include_obfuscation: option("include_obfuscation").unwrap_or(true),
            prompt_chars,
        })
    }
}

/// One scripted completion, rendered as chunks.
pub(super) struct Completion<'a> {
    script: &'a ChatScript,
    request: &'a ChatRequest,
    id: String,
    created: u64,
    fingerprint: String,
    serial: u64,
}

impl<'a> Completion<'a> {
    pub(super) fn new(script: &'a ChatScript, request: &'a ChatRequest, serial: u64) -> Self {
        Completion {
            script,
            request,
            id: format!("chatcmpl-{}", alnum_id(0xc4a7, serial, 29)),
            created: unix_seconds(),
            fingerprint: format!("fp_{}", hex_id(0xf9, 1, 10)),
            serial,
        }
    }

    fn model(&self) -> &str {
        self.script.model.as_deref().unwrap_or(&self.request.model)
    }

    fn finish_reason(&self) -> &str {
        match &self.script.finish_reason {
            Some(reason) => reason,
            None if self.script.tool_calls.is_empty() => "stop",
            None => "tool_calls",
        }
    }

    fn usage(&self) -> Usage {
        self.script.usage.unwrap_or_else(|| {
            let argument_pieces: usize = self.script.tool_calls.iter().map(|c| c.pieces.len()).sum();
            Usage {
                prompt_tokens: (self.request.prompt_chars / 4).max(1) as u32,
                completion_tokens: (self.script.text.len() + argument_pieces).max(1) as u32,
                cached_tokens: 0,
            }
        })
    }

    fn usage_json(&self) -> Obj {
        let usage = self.usage();
        Obj::new()
            .int("prompt_tokens", usage.prompt_tokens)
            .int("completion_tokens", usage.completion_tokens)
            .int("total_tokens", usage.prompt_tokens + usage.completion_tokens)
            .obj("prompt_tokens_details", Obj::new().int("cached_tokens", usage.cached_tokens).int("audio_tokens", 0))
            .obj(
                "completion_tokens_details",
                Obj::new()
                    .int("reasoning_tokens", 0)
                    .int("audio_tokens", 0)
                    .int("accepted_prediction_tokens", 0)
                    .int("rejected_prediction_tokens", 0),
            )
    }

    /// One `chat.completion.chunk` with the given `choices` array and usage value.
    fn chunk(&self, choices: String, usage: Option<Obj>, n: usize) -> String {
        let mut chunk = Obj::new()
            .str("id", &self.id)
            .str("object", "chat.completion.chunk")
            .int("created", self.created as i64)
            .str("model", self.model())
            .str("service_tier", "default")
            .str("system_fingerprint", &self.fingerprint)
            .raw("choices", choices);
        if self.request.include_usage {
            chunk = match usage {
                Some(usage) => chunk.obj("usage", usage),
                None => chunk.null("usage"),
            };
        }
        if self.request.include_obfuscation {
            // Padding that varies the chunk sizes; its length is what matters, not its text.
            let len = ((self.serial as usize + n * 7) % 12) + 1;
            chunk = chunk.str("obfuscation", &alnum_id(0x0bf, (n as u64) << 16 | self.serial, len));
        }
        chunk.finish()
    }

    fn choice(&self, delta: Obj, finish_reason: Option<&str>, n: usize) -> String {
        let choice = Obj::new()
            .int("index", 0)
            .obj("delta", delta)
            .null("logprobs")
            .opt_str("finish_reason", finish_reason)
            .finish();
        self.chunk(array([choice]), None, n)
    }

    /// The content events: role, text pieces, tool calls; no finish chunk.
    pub(super) fn events(&self) -> Vec<String> {
        let mut deltas: Vec<Obj> = Vec::new();
        let tools_only = self.script.text.is_empty() && !self.script.tool_calls.is_empty();
        let has_content = !self.script.text.is_empty() || !self.script.tool_calls.is_empty();
        let hangs_silent = matches!(self.script.outcome, super::chat::Outcome::Hang) && !has_content;
        if !tools_only && !hangs_silent {
            deltas.push(Obj::new().str("role", "assistant").str("content", "").null("refusal"));
        }
        for piece in &self.script.text {
            deltas.push(Obj::new().str("content", piece));
        }
        for (index, call) in self.script.tool_calls.iter().enumerate() {
            let opening = Obj::new()
                .int("index", index as i64)
                .str("id", &call.id)
                .str("type", "function")
                .obj("function", Obj::new().str("name", &call.name).str("arguments", ""))
                .finish();
            deltas.push(if index == 0 && tools_only {
                Obj::new().str("role", "assistant").null("content").raw("tool_calls", array([opening])).null("refusal")
            } else {
                Obj::new().raw("tool_calls", array([opening]))
            });
            for piece in &call.pieces {
                let fragment =
                    Obj::new().int("index", index as i64).obj("function", Obj::new().str("arguments", piece)).finish();
                deltas.push(Obj::new().raw("tool_calls", array([fragment])));
            }
        }
        deltas.into_iter().enumerate().map(|(n, delta)| self.choice(delta, None, n)).collect()
    }

    /// The finish chunk and, when asked for, the usage chunk.
    pub(super) fn closing_events(&self) -> Vec<String> {
        let base = 1000;
        let mut events = vec![self.choice(Obj::new(), Some(self.finish_reason()), base)];
        if self.request.include_usage && self.script.send_usage {
            events.push(self.chunk(array([]), Some(self.usage_json()), base + 1));
        }
        events
    }

    /// A chunk cut off mid-JSON.
    pub(super) fn truncated_event(&self) -> String {
        let whole = self.choice(Obj::new().str("content", "lo"), None, 2000);
        whole[..whole.len() / 2].to_owned()
    }

    /// The non-streamed `chat.completion` object.
    pub(super) fn non_streaming(&self) -> String {
        let text = self.script.full_text();
        let mut message = Obj::new().str("role", "assistant");
        message = if text.is_empty() && !self.script.tool_calls.is_empty() {
            message.null("content")
        } else {
            message.str("content", &text)
        };
        if !self.script.tool_calls.is_empty() {
            let calls = self.script.tool_calls.iter().map(|call| {
                Obj::new()
                    .str("id", &call.id)
                    .str("type", "function")
                    .obj("function", Obj::new().str("name", &call.name).str("arguments", &call.pieces.concat()))
                    .finish()
            });
            message = message.raw("tool_calls", array(calls));
        }
        let message = message.null("refusal").raw("annotations", "[]");
        let choice = Obj::new()
            .int("index", 0)
            .obj("message", message)
            .null("logprobs")
            .str("finish_reason", self.finish_reason())
            .finish();
        Obj::new()
            .str("id", &self.id)
            .str("object", "chat.completion")
            .int("created", self.created as i64)
            .str("model", self.model())
            .raw("choices", array([choice]))
            .obj("usage", self.usage_json())
            .str("service_tier", "default")
            .str("system_fingerprint", &self.fingerprint)
            .finish()
    }
}
