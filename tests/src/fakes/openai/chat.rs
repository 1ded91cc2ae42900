//! `POST /v1/chat/completions`: scripted text and tool calls, streamed as OpenAI streams them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::OpenAi;
use super::errors;
use super::stream::{ChatRequest, Completion};
use crate::fakes::answer::{Answer, answer_builders};
use crate::fakes::tokens::split_uneven;
use crate::fakes::wire::{Piece, Reply, insert_header, paced};

/// Token counts reported in the usage chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub cached_tokens: u32,
}

#[derive(Clone, Debug)]
pub(super) struct ToolCall {
    pub(super) id: String,
    pub(super) name: String,
    /// The arguments as they will be streamed; concatenated they form the full JSON text.
    pub(super) pieces: Vec<String>,
}

#[derive(Clone, Debug)]
pub(super) enum Outcome {
    Complete,
    /// Content, then silence until the client leaves.
    Hang,
    /// Content, then one event of truncated JSON, then a clean end of body without `[DONE]`.
    Malformed,
    /// Abort the connection after this many SSE events.
    CutAfter(usize),
}

/// How one chat completion request is answered.
#[derive(Clone, Debug)]
pub struct ChatScript {
    pub(super) answer: Answer,
    pub(super) text: Vec<String>,
    pub(super) tool_calls: Vec<ToolCall>,
    pub(super) finish_reason: Option<String>,
    pub(super) usage: Option<Usage>,
    pub(super) send_usage: bool,
    pub(super) model: Option<String>,
    pub(super) chunk_delay: Duration,
    pub(super) outcome: Outcome,
}

impl Default for ChatScript {
    fn default() -> Self {
        ChatScript::text(["Hello", " from", " the", " fake."])
    }
}

impl ChatScript {
    /// An assistant turn with no content yet: add [`ChatScript::tool_call`]s, or stream it as is
    /// (a role chunk, then `finish_reason: "stop"`).
    pub fn new() -> Self {
        ChatScript {
            answer: Answer::default(),
            text: Vec::new(),
            tool_calls: Vec::new(),
            finish_reason: None,
            usage: None,
            send_usage: true,
            model: None,
            chunk_delay: Duration::from_millis(2),
            outcome: Outcome::Complete,
        }
    }

    /// Text streamed one `delta.content` per piece.
    pub fn text<I, S>(pieces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut script = ChatScript::new();
        script.text = pieces.into_iter().map(Into::into).collect();
        script
    }

    /// Adds a function call (after any text; several calls stream with increasing `index`).
    /// The arguments are streamed in small uneven pieces, like model tokens; the first delta
    /// of the call carries `index`, `id`, `type: "function"`, the name and empty arguments.
    pub fn tool_call(self, id: &str, name: &str, arguments: &str) -> Self {
        let pieces = split_arguments(arguments);
        self.tool_call_pieces(id, name, pieces)
    }

    /// Like [`ChatScript::tool_call`] with the argument pieces given exactly.
    pub fn tool_call_pieces<I, S>(mut self, id: &str, name: &str, pieces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tool_calls.push(ToolCall {
            id: id.into(),
            name: name.into(),
            pieces: pieces.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// A stream that breaks: a role chunk, `"Hel"`, then an event whose JSON is cut off, then
    /// the body ends without `[DONE]`.
    pub fn malformed() -> Self {
        let mut script = ChatScript::text(["Hel"]);
        script.outcome = Outcome::Malformed;
        script
    }

    /// The usage chunk's counts (sent only when the request asked with
    /// `stream_options.include_usage`; otherwise a rough count of the request is reported).
    pub fn with_usage(mut self, prompt_tokens: u32, completion_tokens: u32) -> Self {
        let cached_tokens = self.usage.map_or(0, |usage| usage.cached_tokens);
        self.usage = Some(Usage { prompt_tokens, completion_tokens, cached_tokens });
        self
    }

    /// `prompt_tokens_details.cached_tokens` in the usage chunk.
    pub fn with_cached_tokens(mut self, cached_tokens: u32) -> Self {
        let mut usage =
            self.usage.unwrap_or(Usage { prompt_tokens: cached_tokens, completion_tokens: 1, cached_tokens: 0 });
        usage.cached_tokens = cached_tokens;
        self.usage = Some(usage);
        self
    }

    /// Never send the usage chunk, as when a stream is interrupted before it.
    pub fn without_usage_chunk(mut self) -> Self {
        self.send_usage = false;
        self
    }

    /// Overrides `finish_reason` (default `"tool_calls"` when there are calls, else `"stop"`).
    pub fn finish_reason(mut self, reason: &str) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// The `model` reported in the chunks (default: the requested model).
    pub fn model(mut self, model: &str) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Pause between SSE events (default 2 ms, so events arrive as separate reads).
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Send the head and the content events, then nothing more: no finish chunk, no `[DONE]`,
    /// the connection held open until the client leaves or the fake is dropped.
    /// `ChatScript::new().hang()` sends the head only.
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

answer_builders!(ChatScript { base: ChatScript::new(), error_body: errors::error_body, provider: "OpenAI" });

/// Uneven pieces of 1 to 5 characters, the way model tokens break JSON apart.
fn split_arguments(arguments: &str) -> Vec<String> {
    split_uneven(arguments, &[1, 4, 2, 5, 3])
}

pub(super) async fn handle(State(api): State<Arc<OpenAi>>, headers: HeaderMap, body: Bytes) -> Response {
    let request_number = api.next_request();
    let common = api.common_headers(request_number);
    if let Some(response) = api.unauthorized(&headers, request_number) {
        return response;
    }
    let request = match ChatRequest::parse(&body) {
        Ok(request) => request,
        Err(error_body) => return Reply::json(400, error_body).into_response(&common),
    };
    let script = api.chat.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if let Some(response) = script.answer.failure(&common) {
        return response;
    }
    let completion = Completion::new(&script, &request, request_number);
    if !request.stream {
        return Reply::json(200, completion.non_streaming()).into_response(&common);
    }
    let mut events: Vec<String> = completion.events();
    let tail = match &script.outcome {
        Outcome::Complete => {
            events.extend(completion.closing_events());
            None
        }
        Outcome::Hang => Some(Piece::Hang),
        Outcome::Malformed => {
            events.push(completion.truncated_event());
            None
        }
        Outcome::CutAfter(n) => {
            events.extend(completion.closing_events());
            events.truncate(*n);
            Some(Piece::Cut)
        }
    };
    let events = events.into_iter().map(|event| Bytes::from(format!("data: {event}\n\n"))).collect();
    let mut pieces = paced(events, script.chunk_delay);
    if matches!(script.outcome, Outcome::Complete) {
        pieces.push(Piece::Data(Bytes::from_static(b"data: [DONE]\n\n")));
    }
    pieces.extend(tail);
    let mut response = api.stream(pieces, &common, "text/event-stream; charset=utf-8");
    insert_header(&mut response, "cache-control", "no-cache, must-revalidate");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_split_unevenly_and_rejoin() {
        let pieces = split_arguments(r#"{"city":"Paris"}"#);
        assert_eq!(pieces, [r#"{"#, r#""cit"#, r#"y""#, r#":"Par"#, r#"is""#, r#"}"#]);
        assert_eq!(pieces.concat(), r#"{"city":"Paris"}"#);
        assert!(split_arguments("").is_empty());
        assert_eq!(split_arguments("héé").concat(), "héé");
    }
}
