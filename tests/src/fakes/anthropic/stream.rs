//! The Message wire format: the SSE events of a streamed message and the non-streamed object.
//!
//! The shapes follow captured responses: compact JSON (except the ping, which the API writes as
//! `{"type": "ping"}`), `model` first in the message object, a `message_start` usage with the
//! cache fields and `output_tokens: 1`, and a `message_delta` usage with the cumulative counts.

use bytes::Bytes;

use super::errors;
use super::message::MessageScript;
use super::request::MessagesRequest;
use crate::fakes::ids::alnum_id;
use crate::fakes::wire::{Obj, array};

/// One server-sent event.
#[derive(Clone, Debug)]
pub(super) struct Event {
    name: &'static str,
    data: String,
}

impl Event {
    fn new(name: &'static str, data: Obj) -> Self {
        Event { name, data: data.finish() }
    }

    /// The mid-stream error the API sends where it would have answered `status`.
    pub(super) fn error(status: u16) -> Self {
        Event { name: "error", data: errors::error_body(status) }
    }

    pub(super) fn is_delta(&self) -> bool {
        self.name == "content_block_delta"
    }

    pub(super) fn encode(&self) -> Bytes {
        Bytes::from(format!("event: {}\ndata: {}\n\n", self.name, self.data))
    }
}

/// Token counts reported in `usage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Usage {
    pub(super) input_tokens: u32,
    pub(super) output_tokens: u32,
    pub(super) cache_read_input_tokens: u32,
}

/// One scripted message, rendered.
pub(super) struct Message<'a> {
    script: &'a MessageScript,
    request: &'a MessagesRequest,
    id: String,
}

impl<'a> Message<'a> {
    pub(super) fn new(script: &'a MessageScript, request: &'a MessagesRequest, serial: u64) -> Self {
        Message { script, request, id: format!("msg_01{}", alnum_id(0x5e55, serial, 22)) }
    }

    fn model(&self) -> &str {
        self.script.model.as_deref().unwrap_or(&self.request.model)
    }

    fn stop_reason(&self) -> &str {
        match &self.script.stop_reason {
            Some(reason) => reason,
            None if self.script.tool_calls.is_empty() => "end_turn",
            None => "tool_use",
        }
    }

    fn usage(&self) -> Usage {
        let pieces: usize = self.script.tool_calls.iter().map(|call| call.pieces.len()).sum();
        Usage {
            input_tokens: self.script.usage.map_or((self.request.prompt_chars / 4).max(1) as u32, |(i, _)| i),
            output_tokens: self.script.usage.map_or((self.script.text.len() + pieces).max(1) as u32, |(_, o)| o),
            cache_read_input_tokens: self.script.cache_read,
        }
    }

    /// `usage` in the message object, with `output_tokens` as given.
    fn message_usage(&self, output_tokens: u32) -> Obj {
        let usage = self.usage();
        Obj::new()
            .int("input_tokens", usage.input_tokens)
            .int("cache_creation_input_tokens", 0)
            .int("cache_read_input_tokens", usage.cache_read_input_tokens)
            .obj("cache_creation", Obj::new().int("ephemeral_5m_input_tokens", 0).int("ephemeral_1h_input_tokens", 0))
            .int("output_tokens", output_tokens)
            .str("service_tier", "standard")
    }

    /// The message object; `content` and `stop_reason` are empty in `message_start`.
    fn message(&self, content: String, stop_reason: Option<&str>, usage: Obj) -> Obj {
        Obj::new()
            .str("model", self.model())
            .str("id", &self.id)
            .str("type", "message")
            .str("role", "assistant")
            .raw("content", content)
            .opt_str("stop_reason", stop_reason)
            .null("stop_sequence")
            .obj("usage", usage)
    }

    /// `message_start`, then each content block (start, deltas, stop) with one `ping` after the
    /// first block's start; no `message_delta` or `message_stop`.
    pub(super) fn content_events(&self) -> Vec<Event> {
        let start = self.message(array([]), None, self.message_usage(1));
        let mut events =
            vec![Event::new("message_start", Obj::new().str("type", "message_start").obj("message", start))];
        let ping = Event { name: "ping", data: r#"{"type": "ping"}"#.into() };
        let mut blocks: Vec<(Obj, Vec<Obj>)> = Vec::new();
        if !self.script.text.is_empty() {
            let deltas = self.script.text.iter().map(|piece| Obj::new().str("type", "text_delta").str("text", piece));
            blocks.push((Obj::new().str("type", "text").str("text", ""), deltas.collect()));
        }
        for call in &self.script.tool_calls {
            let opening =
                Obj::new().str("type", "tool_use").str("id", &call.id).str("name", &call.name).raw("input", "{}");
            let deltas =
                call.pieces.iter().map(|piece| Obj::new().str("type", "input_json_delta").str("partial_json", piece));
            blocks.push((opening, deltas.collect()));
        }
        if blocks.is_empty() {
            events.push(ping.clone());
        }
        for (index, (opening, deltas)) in blocks.into_iter().enumerate() {
            let block_event = |kind: &'static str| Obj::new().str("type", kind).int("index", index as i64);
            events.push(Event::new(
                "content_block_start",
                block_event("content_block_start").obj("content_block", opening),
            ));
            if index == 0 {
                events.push(ping.clone());
            }
            for delta in deltas {
                events.push(Event::new("content_block_delta", block_event("content_block_delta").obj("delta", delta)));
            }
            events.push(Event::new("content_block_stop", block_event("content_block_stop")));
        }
        events
    }

    /// `message_delta` with the stop reason and cumulative usage, then `message_stop`.
    pub(super) fn closing_events(&self) -> Vec<Event> {
        let usage = self.usage();
        let delta = Obj::new()
            .str("type", "message_delta")
            .obj("delta", Obj::new().str("stop_reason", self.stop_reason()).null("stop_sequence"))
            .obj(
                "usage",
                Obj::new()
                    .int("input_tokens", usage.input_tokens)
                    .int("cache_creation_input_tokens", 0)
                    .int("cache_read_input_tokens", usage.cache_read_input_tokens)
                    .int("output_tokens", usage.output_tokens),
            );
        vec![Event::new("message_delta", delta), Event::new("message_stop", Obj::new().str("type", "message_stop"))]
    }

    /// The non-streamed message object.
    pub(super) fn json(&self) -> String {
        let mut content = Vec::new();
        if !self.script.text.is_empty() {
            content.push(Obj::new().str("type", "text").str("text", &self.script.full_text()).finish());
        }
        for call in &self.script.tool_calls {
            let arguments = call.pieces.concat();
            // `input` is always an object; arguments that are not one leave it empty.
            let is_object = serde_json::from_str::<serde_json::Value>(&arguments).is_ok_and(|v| v.is_object());
            let input = if is_object { arguments.as_str() } else { "{}" };
            content.push(
                Obj::new()
                    .str("type", "tool_use")
                    .str("id", &call.id)
                    .str("name", &call.name)
                    .raw("input", input)
                    .finish(),
            );
        }
        let output_tokens = self.usage().output_tokens;
        self.message(array(content), Some(self.stop_reason()), self.message_usage(output_tokens)).finish()
    }
}

/// Keeps the events up to (not including) the delta after the first `deltas` ones.
pub(super) fn keep_deltas(events: &mut Vec<Event>, deltas: usize) {
    let mut seen = 0;
    let cut = events.iter().position(|event| {
        if !event.is_delta() {
            return false;
        }
        seen += 1;
        seen > deltas
    });
    if let Some(cut) = cut {
        events.truncate(cut);
    }
}
