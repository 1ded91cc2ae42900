//! A flow test's providers: the egress of its session answered from the test's script. LLM
//! requests get the next scripted reply in OpenAI's chat-completions stream format (so the
//! real adapter plugin parses it, as it would a live answer); every other request is a
//! webhook, answered as scripted (200 `{}` by default) and kept for the expectations.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use super::spec::{FullReply, LlmReply, WebhookReply};
use crate::record::{Answers, Asked, BodyStep, HttpExchange, HttpHead, WsExchange};

/// Time to the first token when a reply does not say.
pub const DEFAULT_FIRST_TOKEN: Duration = Duration::from_millis(200);
/// Between two streamed chunks of a reply.
const CHUNK_GAP: Duration = Duration::from_millis(20);
/// Words per streamed chunk.
const WORDS_PER_CHUNK: usize = 3;

/// The test's scripted answers and what the session asked.
pub struct Script {
    state: Mutex<State>,
    webhooks: Vec<WebhookReply>,
}

#[derive(Debug, Default)]
struct State {
    llm: VecDeque<LlmReply>,
    llm_requests: usize,
    seen: Seen,
}

/// What the session sent besides LLM requests, and what the script could not answer.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// Webhook requests: URL and body (JSON when it parses, else a string).
    pub webhooks: Vec<(String, Value)>,
    /// Requests the script had no answer for.
    pub unscripted: Vec<String>,
    /// Scripted LLM replies the session never asked for.
    pub unused_llm: usize,
}

impl Script {
    pub fn new(llm: Vec<LlmReply>, webhooks: Vec<WebhookReply>) -> Self {
        Self { state: Mutex::new(State { llm: llm.into(), ..State::default() }), webhooks }
    }

    pub fn seen(&self) -> Seen {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Seen { unused_llm: state.llm.len(), ..state.seen.clone() }
    }

    fn llm(&self, asked: Asked<'_>) -> HttpExchange {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.llm_requests += 1;
        let number = state.llm_requests;
        match state.llm.pop_front() {
            Some(LlmReply::Text(text)) => stream(number, &FullReply { say: Some(text), ..FullReply::default() }, asked),
            Some(LlmReply::Full(reply)) => stream(number, &reply, asked),
            None => {
                state.seen.unscripted.push(format!("LLM request #{number}: the script has no reply left"));
                let body =
                    json!({"error": {"message": "flow test: no scripted LLM reply left", "type": "server_error"}});
                answer(DEFAULT_FIRST_TOKEN, 500, "application/json", vec![body.to_string()])
            }
        }
    }

    fn webhook(&self, asked: Asked<'_>) -> HttpExchange {
        let body = serde_json::from_slice(asked.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(asked.body).into_owned()));
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.seen.webhooks.push((asked.url.to_string(), body));
        let (status, body) =
            self.webhooks.iter().find(|w| w.url == asked.url).map_or((200, json!({})), |w| (w.status, w.body.clone()));
        answer(Duration::from_millis(50), status, "application/json", vec![body.to_string()])
    }
}

impl Answers for Script {
    fn http(&self, asked: Asked<'_>) -> Option<HttpExchange> {
        let is_llm =
            asked.method == "POST" && asked.url.split('?').next().is_some_and(|u| u.ends_with("/chat/completions"));
        Some(if is_llm { self.llm(asked) } else { self.webhook(asked) })
    }

    fn ws(&self, asked: Asked<'_>) -> Option<WsExchange> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.seen.unscripted.push(format!("WebSocket {}: flow tests script text sessions", asked.url));
        None
    }
}

/// A response whose head comes after `after` and whose `chunks` follow, one per gap.
fn answer(after: Duration, status: u16, content_type: &str, chunks: Vec<String>) -> HttpExchange {
    let mut body: Vec<BodyStep> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| BodyStep::Chunk(after + CHUNK_GAP * i as u32, Bytes::from(chunk)))
        .collect();
    let end = after + CHUNK_GAP * body.len() as u32;
    body.push(BodyStep::End(end));
    let headers = vec![("content-type".to_string(), content_type.to_string())];
    HttpExchange { head: HttpHead::Answered { after, status, headers }, body }
}

/// A reply as an OpenAI `chat.completion.chunk` stream: the words a few at a time, then the
/// tool calls, the finish reason, the usage and `[DONE]`.
fn stream(number: usize, reply: &FullReply, asked: Asked<'_>) -> HttpExchange {
    let after = reply.delay_ms.map_or(DEFAULT_FIRST_TOKEN, Duration::from_millis);
    if let Some(status) = reply.error {
        let body = json!({"error": {"message": format!("scripted error {status}"), "type": "server_error"}});
        return answer(after, status, "application/json", vec![body.to_string()]);
    }
    let chunk = |delta: Value, finish: Value| {
        let chunk = json!({
            "id": format!("chatcmpl-flowtest-{number}"),
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "flowtest",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {chunk}\n\n")
    };
    let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
    let text = reply.say.clone().unwrap_or_default();
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    for piece in words.chunks(WORDS_PER_CHUNK) {
        chunks.push(chunk(json!({"content": piece.concat()}), Value::Null));
    }
    for (index, call) in reply.tools.iter().enumerate() {
        let delta = json!({"tool_calls": [{
            "index": index,
            "id": format!("call_{number}_{index}"),
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments.to_string()},
        }]});
        chunks.push(chunk(delta, Value::Null));
    }
    let finish = if reply.tools.is_empty() { "stop" } else { "tool_calls" };
    chunks.push(chunk(json!({}), json!(finish)));
    let usage = json!({
        "id": format!("chatcmpl-flowtest-{number}"),
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": asked.body.len() / 4, "completion_tokens": words.len() + reply.tools.len()},
    });
    chunks.push(format!("data: {usage}\n\n"));
    chunks.push("data: [DONE]\n\n".to_string());
    answer(after, 200, "text/event-stream", chunks)
}
