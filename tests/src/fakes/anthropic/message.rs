//! `POST /v1/messages`: scripted text and tool calls, streamed as Anthropic streams them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::stream::{Event, Message, keep_deltas};
use super::{Anthropic, errors, request};
use crate::fakes::answer::{Answer, answer_builders};
use crate::fakes::tokens::split_uneven;
use crate::fakes::wire::{Piece, Reply, paced};

#[derive(Clone, Debug)]
pub(super) struct ToolCall {
    pub(super) id: String,
    pub(super) name: String,
    /// The `partial_json` pieces as streamed; concatenated they form the input's JSON text.
    pub(super) pieces: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) enum Outcome {
    Complete,
    /// This many content deltas, then an `error` event with the body of `status`, then the end
    /// of the body (no `message_delta`, no `message_stop`).
    ErrorAfter {
        deltas: usize,
        status: u16,
    },
    /// The content events, then silence until the client leaves.
    Hang,
    /// Abort the connection after this many SSE events.
    CutAfter(usize),
}

/// How one `POST /v1/messages` is answered.
#[derive(Clone, Debug)]
pub struct MessageScript {
    pub(super) answer: Answer,
    pub(super) text: Vec<String>,
    pub(super) tool_calls: Vec<ToolCall>,
    pub(super) stop_reason: Option<String>,
    /// `(input_tokens, output_tokens)`.
    pub(super) usage: Option<(u32, u32)>,
    pub(super) cache_read: u32,
    pub(super) model: Option<String>,
    pub(super) chunk_delay: Duration,
    pub(super) outcome: Outcome,
}

impl Default for MessageScript {
    fn default() -> Self {
        MessageScript::text(["Hello", " from", " the", " fake."])
    }
}

impl MessageScript {
    /// An assistant message with no content yet: add [`MessageScript::tool_call`]s, or send it as
    /// is (no content blocks, `stop_reason: "end_turn"`).
    pub fn new() -> Self {
        MessageScript {
            answer: Answer::default(),
            text: Vec::new(),
            tool_calls: Vec::new(),
            stop_reason: None,
            usage: None,
            cache_read: 0,
            model: None,
            chunk_delay: Duration::from_millis(2),
            outcome: Outcome::Complete,
        }
    }

    /// A text block streamed one `text_delta` per piece.
    pub fn text<I, S>(pieces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut script = MessageScript::new();
        script.text = pieces.into_iter().map(Into::into).collect();
        script
    }

    /// Adds a `tool_use` block (after any text; several calls get consecutive indexes). The input
    /// streams as the API streams it: an empty `partial_json` first, then uneven pieces.
    pub fn tool_call(self, id: &str, name: &str, input_json: &str) -> Self {
        let mut pieces = vec![String::new()];
        pieces.extend(split_input(input_json));
        self.tool_call_pieces(id, name, pieces)
    }

    /// Like [`MessageScript::tool_call`] with the `partial_json` pieces given exactly (no empty
    /// first piece is added).
    pub fn tool_call_pieces<I, S>(mut self, id: &str, name: &str, pieces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let pieces = pieces.into_iter().map(Into::into).collect();
        self.tool_calls.push(ToolCall { id: id.into(), name: name.into(), pieces });
        self
    }

    /// Overrides `stop_reason` (default `"tool_use"` with tool calls, else `"end_turn"`), e.g.
    /// `"max_tokens"` for a reply cut by the token limit.
    pub fn stop_reason(mut self, reason: &str) -> Self {
        self.stop_reason = Some(reason.into());
        self
    }

    /// `input_tokens` and `output_tokens` in `usage` (default: a rough count of the request and
    /// one token per streamed piece).
    pub fn with_usage(mut self, input_tokens: u32, output_tokens: u32) -> Self {
        self.usage = Some((input_tokens, output_tokens));
        self
    }

    /// `cache_read_input_tokens` in `usage`.
    pub fn with_cache_read(mut self, tokens: u32) -> Self {
        self.cache_read = tokens;
        self
    }

    /// The `model` reported (default: the requested model).
    pub fn model(mut self, model: &str) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Pause between SSE events (default 2 ms, so events arrive as separate reads).
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// After `deltas` content deltas, an `overloaded_error` event ends the stream, as the API
    /// does when it runs out of capacity mid-message.
    pub fn overloaded_after(self, deltas: usize) -> Self {
        self.error_event_after(deltas, 529)
    }

    /// After `deltas` content deltas, an `error` event with the body of `status` (e.g. 500 for
    /// `api_error`) ends the stream.
    pub fn error_event_after(mut self, deltas: usize, status: u16) -> Self {
        self.outcome = Outcome::ErrorAfter { deltas, status };
        self
    }

    /// Send `message_start` and the content events, then nothing more: the connection is held
    /// open until the client leaves or the fake is dropped.
    pub fn hang(mut self) -> Self {
        self.outcome = Outcome::Hang;
        self
    }

    /// Abort the TCP connection after `events` SSE events (no terminating chunk).
    pub fn cut_after(mut self, events: usize) -> Self {
        self.outcome = Outcome::CutAfter(events);
        self
    }

    /// The full text the script streams.
    pub fn full_text(&self) -> String {
        self.text.concat()
    }
}

answer_builders!(MessageScript { base: MessageScript::new(), error_body: errors::error_body, provider: "Anthropic" });

/// Uneven pieces of 2 to 9 characters: the API sends a tool's input a few tokens at a time.
fn split_input(input: &str) -> Vec<String> {
    split_uneven(input, &[6, 3, 9, 2, 7])
}

pub(super) async fn handle(State(api): State<Arc<Anthropic>>, headers: HeaderMap, body: Bytes) -> Response {
    let call = api.begin();
    if let Some(refusal) = api.refusal(&headers, &call) {
        return refusal;
    }
    let request = match request::parse(&body, api.roles) {
        Ok(request) => request,
        Err(message) => return call.error(400, "invalid_request_error", &message),
    };
    let script = api.messages.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if let Some(response) = call.scripted_failure(&script.answer) {
        return response;
    }
    let message = Message::new(&script, &request, call.serial);
    if !request.stream {
        return Reply::json(200, message.json()).into_response(&call.headers);
    }
    let mut events = message.content_events();
    let tail = match script.outcome {
        Outcome::Complete => {
            events.extend(message.closing_events());
            None
        }
        Outcome::ErrorAfter { deltas, status } => {
            keep_deltas(&mut events, deltas);
            events.push(Event::error(status));
            None
        }
        Outcome::Hang => Some(Piece::Hang),
        Outcome::CutAfter(n) => {
            events.extend(message.closing_events());
            events.truncate(n);
            Some(Piece::Cut)
        }
    };
    let mut pieces = paced(events.iter().map(Event::encode).collect(), script.chunk_delay);
    pieces.extend(tail);
    api.stream(pieces, &call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_splits_unevenly_and_rejoins() {
        let pieces = split_input(r#"{"location": "Paris"}"#);
        assert_eq!(pieces, [r#"{"loca"#, r#"tio"#, r#"n": "Pari"#, r#"s""#, "}"]);
        assert_eq!(pieces.concat(), r#"{"location": "Paris"}"#);
        assert!(split_input("").is_empty());
        assert_eq!(split_input("héé").concat(), "héé");
    }
}
