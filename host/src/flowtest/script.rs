//! A flow test's providers: the egress of its session answered from the test's script. LLM
//! requests get the next scripted reply in their API's stream format ([`wire`]: OpenAI chat
//! completions, Anthropic Messages), so the real adapter plugin parses it as it would a live
//! answer; a voice test's STT and TTS are answered by [`super::speech`]; every other request
//! is a webhook, answered as scripted (200 `{}` by default) and kept for the expectations.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use super::spec::{FullReply, LlmReply, WebhookReply};
use super::speech::{self, Heard};
use super::wire::Wire;
use crate::record::{Answers, Asked, BodyStep, HttpExchange, HttpHead, WsExchange};

/// Time to the first token when a reply does not say.
pub const DEFAULT_FIRST_TOKEN: Duration = Duration::from_millis(200);
/// Between two streamed chunks of a reply.
const CHUNK_GAP: Duration = Duration::from_millis(20);

/// The test's scripted answers and what the session asked.
pub struct Script {
    state: Mutex<State>,
    webhooks: Vec<WebhookReply>,
    heard: Arc<Heard>,
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
        Self { state: Mutex::new(State { llm: llm.into(), ..State::default() }), webhooks, heard: Arc::default() }
    }

    /// What the user has said, for the scripted STT.
    pub fn heard(&self) -> Arc<Heard> {
        self.heard.clone()
    }

    pub fn seen(&self) -> Seen {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Seen { unused_llm: state.llm.len(), ..state.seen.clone() }
    }

    fn llm(&self, wire: Wire, asked: Asked<'_>) -> HttpExchange {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.llm_requests += 1;
        let number = state.llm_requests;
        match state.llm.pop_front() {
            Some(LlmReply::Text(text)) => {
                wire.reply(number, &FullReply { say: Some(text), ..FullReply::default() }, asked)
            }
            Some(LlmReply::Full(reply)) => wire.reply(number, &reply, asked),
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
        if let Some(wire) = Wire::of(asked) {
            return Some(self.llm(wire, asked));
        }
        let speech = speech::tts(&asked).or_else(|| speech::transcription(&asked, &self.heard));
        Some(speech.unwrap_or_else(|| self.webhook(asked)))
    }

    fn ws(&self, asked: Asked<'_>) -> Option<WsExchange> {
        let listen = speech::listen(&asked, self.heard.clone());
        if listen.is_none() {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let message = format!("WebSocket {}: flow tests script Deepgram's live STT only", asked.url);
            state.seen.unscripted.push(message);
        }
        listen
    }
}

/// A response whose head comes after `after` and whose `chunks` follow, one per gap.
pub(super) fn answer(after: Duration, status: u16, content_type: &str, chunks: Vec<String>) -> HttpExchange {
    answer_bytes(after, status, content_type, chunks.into_iter().map(Bytes::from).collect())
}

/// [`answer`] with bytes.
pub(super) fn answer_bytes(after: Duration, status: u16, content_type: &str, chunks: Vec<Bytes>) -> HttpExchange {
    let mut body: Vec<BodyStep> =
        chunks.into_iter().enumerate().map(|(i, chunk)| BodyStep::Chunk(after + CHUNK_GAP * i as u32, chunk)).collect();
    let end = after + CHUNK_GAP * body.len() as u32;
    body.push(BodyStep::End(end));
    let headers = vec![("content-type".to_string(), content_type.to_string())];
    HttpExchange { head: HttpHead::Answered { after, status, headers }, body }
}
