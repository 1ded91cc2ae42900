//! `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (and `:generateContent`):
//! scripted text and function calls, streamed as Gemini streams them.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;

use super::stream::{self, Answer};
use super::{Gemini, errors, request};
use crate::fakes::answer::{Answer as Scripted, answer_builders};
use crate::fakes::wire::{Piece, insert_header, paced};

#[derive(Clone, Debug)]
pub(super) struct FunctionCall {
    pub(super) id: Option<String>,
    pub(super) name: String,
    /// The `args` object as JSON text; `None` leaves `args` out, as the API does for a function
    /// without parameters.
    pub(super) args: Option<String>,
    pub(super) signature: Option<String>,
}

#[derive(Clone, Debug)]
pub(super) enum Outcome {
    Complete,
    /// This many chunks, then an `{"error": ...}` document with the body of `status`, then the
    /// end of the body.
    ErrorAfter {
        chunks: usize,
        status: u16,
    },
    /// The chunks but the last, then silence until the client leaves.
    Hang,
    /// Abort the connection after this many chunks.
    CutAfter(usize),
}

/// How one `generateContent` request is answered.
#[derive(Clone, Debug)]
pub struct GenerateScript {
    pub(super) answer: Scripted,
    pub(super) text: Vec<String>,
    pub(super) calls: Vec<FunctionCall>,
    pub(super) finish_reason: Option<String>,
    pub(super) blocked: Option<String>,
    /// `(promptTokenCount, candidatesTokenCount)`.
    pub(super) usage: Option<(u32, u32)>,
    pub(super) cached_tokens: u32,
    pub(super) thoughts_tokens: u32,
    pub(super) chunk_delay: Duration,
    pub(super) outcome: Outcome,
}

impl Default for GenerateScript {
    fn default() -> Self {
        GenerateScript::text(["Hello", " from the", " fake."])
    }
}

impl GenerateScript {
    /// An answer with no parts yet: add [`GenerateScript::function_call`]s, or send it as is (one
    /// empty text part with `finishReason: "STOP"`).
    pub fn new() -> Self {
        GenerateScript {
            answer: Scripted::default(),
            text: Vec::new(),
            calls: Vec::new(),
            finish_reason: None,
            blocked: None,
            usage: None,
            cached_tokens: 0,
            thoughts_tokens: 0,
            chunk_delay: Duration::from_millis(2),
            outcome: Outcome::Complete,
        }
    }

    /// Text streamed one chunk per piece.
    pub fn text<I, S>(pieces: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut script = GenerateScript::new();
        script.text = pieces.into_iter().map(Into::into).collect();
        script
    }

    /// Adds a function call (after any text; all calls come whole, in one last chunk). `args` is
    /// JSON object text; empty leaves `args` out.
    pub fn function_call(mut self, name: &str, args: &str) -> Self {
        let args = (!args.trim().is_empty()).then(|| args.to_string());
        self.calls.push(FunctionCall { id: None, name: name.into(), args, signature: None });
        self
    }

    /// Like [`GenerateScript::function_call`], with the `thoughtSignature` a thinking model puts
    /// on the part.
    pub fn signed_function_call(mut self, name: &str, args: &str, signature: &str) -> Self {
        self = self.function_call(name, args);
        if let Some(call) = self.calls.last_mut() {
            call.signature = Some(signature.into());
        }
        self
    }

    /// Gives the last function call an `id`, as newer models do.
    pub fn call_id(mut self, id: &str) -> Self {
        if let Some(call) = self.calls.last_mut() {
            call.id = Some(id.into());
        }
        self
    }

    /// Overrides the last chunk's `finishReason` (default `"STOP"`, function calls included),
    /// e.g. `"MAX_TOKENS"` or `"SAFETY"`.
    pub fn finish_reason(mut self, reason: &str) -> Self {
        self.finish_reason = Some(reason.into());
        self
    }

    /// A prompt the API refuses to answer: one chunk with `promptFeedback.blockReason` and no
    /// candidates.
    pub fn blocked(reason: &str) -> Self {
        let mut script = GenerateScript::new();
        script.blocked = Some(reason.into());
        script
    }

    /// `promptTokenCount` and `candidatesTokenCount` (default: a rough count of the request and
    /// one token per piece).
    pub fn with_usage(mut self, prompt_tokens: u32, candidates_tokens: u32) -> Self {
        self.usage = Some((prompt_tokens, candidates_tokens));
        self
    }

    /// `cachedContentTokenCount` (part of the prompt count, as the API reports it).
    pub fn with_cached(mut self, tokens: u32) -> Self {
        self.cached_tokens = tokens;
        self
    }

    /// `thoughtsTokenCount` on the last chunk.
    pub fn with_thoughts(mut self, tokens: u32) -> Self {
        self.thoughts_tokens = tokens;
        self
    }

    /// Pause between chunks (default 2 ms, so chunks arrive as separate reads).
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// A `429 RESOURCE_EXHAUSTED` whose `RetryInfo` asks for `delay_secs` (and no
    /// `Retry-After` header, as Google sends it).
    pub fn rate_limited(delay_secs: u64) -> Self {
        GenerateScript::status(429, errors::rate_limited("gemini-2.5-flash", delay_secs))
    }

    /// After `chunks` chunks, an `{"error": ...}` document for `status` ends the body.
    pub fn error_after(mut self, chunks: usize, status: u16) -> Self {
        self.outcome = Outcome::ErrorAfter { chunks, status };
        self
    }

    /// Send every chunk but the last, then nothing more until the client leaves.
    pub fn hang(mut self) -> Self {
        self.outcome = Outcome::Hang;
        self
    }

    /// Abort the TCP connection after `chunks` chunks.
    pub fn cut_after(mut self, chunks: usize) -> Self {
        self.outcome = Outcome::CutAfter(chunks);
        self
    }
}

answer_builders!(GenerateScript { base: GenerateScript::new(), error_body: errors::error_body, provider: "Google" });

pub(super) async fn handle(
    State(api): State<Arc<Gemini>>,
    Path(call): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call_state = api.begin();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if let Some(refusal) = api.refusal(&headers, param("key")) {
        return call_state.json(refusal.0, refusal.1);
    }
    let Some((model, method)) = call.split_once(':') else {
        return call_state.json(404, errors::body(404, "Method not found.", Vec::new()));
    };
    let streaming = match method {
        "streamGenerateContent" => true,
        "generateContent" => false,
        _ => return call_state.json(404, errors::body(404, "Method not found.", Vec::new())),
    };
    if !api.knows(model) {
        return call_state.json(404, errors::model_not_found("v1beta", model));
    }
    let request = match request::parse(&body, api.require_signatures) {
        Ok(request) => request,
        Err(refusal) => return call_state.json(refusal.status, refusal.body),
    };
    let script = api.generate.next().unwrap_or_default();
    script.answer.wait(&api.shutdown).await;
    if let Some(mut response) = script.answer.failure(&call_state.headers) {
        // Google labels its JSON with the charset.
        if response.headers().get("content-type").is_some_and(|t| t == "application/json") {
            insert_header(&mut response, "content-type", "application/json; charset=UTF-8");
        }
        return response;
    }
    let answer = Answer::new(&script, model, request.prompt_chars, call_state.serial);
    if !streaming {
        return call_state.json(200, answer.whole());
    }
    let mut chunks = answer.chunks();
    if param("alt") != Some("sse") {
        // Without `alt=sse` the API streams one JSON array, not events.
        return call_state.json(200, stream::json_array(&chunks));
    }
    let tail = match script.outcome {
        Outcome::Complete => None,
        Outcome::ErrorAfter { chunks: n, status } => {
            chunks.truncate(n);
            chunks.push(errors::error_json(status, &error_message(status), Vec::new()));
            None
        }
        Outcome::Hang => {
            chunks.pop();
            Some(Piece::Hang)
        }
        Outcome::CutAfter(n) => {
            chunks.truncate(n);
            Some(Piece::Cut)
        }
    };
    let mut pieces = paced(chunks.iter().map(|c| stream::event(c)).collect(), script.chunk_delay);
    pieces.extend(tail);
    api.stream(pieces, &call_state)
}

/// The message of the body Google sends for `status`.
fn error_message(status: u16) -> String {
    let body: serde_json::Value = serde_json::from_str(&errors::error_body(status)).unwrap_or_default();
    body["error"]["message"].as_str().unwrap_or_default().to_string()
}
