//! `GET /tts/websocket`: the socket, from the handshake to the close, with its contexts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::session::CartesiaSession;
use super::{Cartesia, MODELS, check_version, error_body, header_key, model_not_found, pcm_rate, voice_not_found};
use crate::fakes::server::decode_query;
use crate::fakes::tone::{ToneStream, socket_tone_builders};
use crate::fakes::wire::{Obj, Reply};
use crate::fakes::ws::{Incoming, Socket};

/// How long a context buffers text before speaking it when the request sets no
/// `max_buffer_delay_ms` (Cartesia's documented default), and the most it may set.
const DEFAULT_BUFFER_DELAY_MS: u64 = 3_000;
const MAX_BUFFER_DELAY_MS: u64 = 5_000;

/// Request fields that may change between the inputs of one context; every other field must
/// stay the same.
const PER_INPUT_FIELDS: [&str; 6] =
    ["transcript", "continue", "flush", "duration", "max_buffer_delay_ms", "context_id"];

/// A scripted way for a socket to go wrong.
#[derive(Clone, Debug)]
enum Fault {
    /// Answer the first generation request with this status's error message.
    Refuse(u16),
}

/// How one socket behaves.
#[derive(Clone, Debug)]
pub struct SocketScript {
    tone: ToneStream,
    chunk_bytes: usize,
    reject: Option<Reply>,
    fault: Option<Fault>,
}

impl Default for SocketScript {
    fn default() -> Self {
        SocketScript::new()
    }
}

impl SocketScript {
    /// Speaks a 440 Hz tone, 40 ms per character, in chunks of 4800 bytes (whole samples) 5 ms
    /// apart.
    pub fn new() -> Self {
        SocketScript { tone: ToneStream::default(), chunk_bytes: 4_800, reject: None, fault: None }
    }

    /// Refuse the upgrade with `status` and Cartesia's body for it.
    pub fn reject(status: u16) -> Self {
        let mut script = Self::new();
        script.reject = Some(Reply::json(status, super::status_body(status)));
        script
    }

    /// Answer the first generation request with a 402 `insufficient_credits` error message.
    pub fn out_of_credits() -> Self {
        let mut script = Self::new();
        script.fault = Some(Fault::Refuse(402));
        script
    }
}

socket_tone_builders!(SocketScript);

pub(super) async fn handle(
    State(api): State<Arc<Cartesia>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let query = decode_query(query.as_deref().unwrap_or(""));
    let get = |name: &str| query.iter().find_map(|(key, value)| (key == name).then_some(value.as_str()));
    let header_key = header_key(&headers).map(str::to_owned);
    if let Err(reply) = api.check_key(header_key.as_deref().or(get("api_key"))) {
        return reply.into_response(&[]);
    }
    let version = headers.get("cartesia-version").and_then(|v| v.to_str().ok()).or(get("cartesia_version"));
    let version = match check_version(version) {
        Ok(version) => version,
        Err(reply) => return reply.into_response(&[]),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let message = format!("not a WebSocket upgrade ({rejection})");
            return Reply::json(400, error_body("bad_request", "Bad request", &message)).into_response(&[]);
        }
    };
    let script = api.sockets.next().unwrap_or_default();
    if let Some(reply) = script.reject.clone() {
        return reply.into_response(&[]);
    }
    let entry = api.sessions.open(CartesiaSession { query, header_key, version, ..CartesiaSession::default() });
    upgrade.on_upgrade(move |ws| async move {
        let socket = Socket::new(ws, entry, api.shutdown.clone());
        let session = Session { api, socket, script, contexts: HashMap::new(), generated: false };
        session.run().await;
    })
}

/// One context's state.
struct Context {
    /// The fields fixed by its first input.
    fixed: Map<String, Value>,
    sample_rate: u32,
    /// Transcripts received and not yet spoken, joined verbatim.
    buffer: String,
    /// When the oldest unspoken transcript arrived.
    buffered_since: Option<Instant>,
    buffer_delay: Duration,
    /// The current flush group (1 until the first flush).
    flush_id: u32,
    closed: bool,
}

/// What the session does after a client frame.
enum Out {
    Text(String),
    /// Speak this text as audio messages for a context's flush group.
    Speak {
        context_id: String,
        flush_id: u32,
        sample_rate: u32,
        text: String,
    },
}

struct Session {
    api: Arc<Cartesia>,
    socket: Socket<CartesiaSession>,
    script: SocketScript,
    contexts: HashMap<String, Context>,
    /// A generation request was accepted (faults strike the first one).
    generated: bool,
}

impl Session {
    fn record(&self, update: impl FnOnce(&mut CartesiaSession)) {
        self.socket.record(update);
    }

    async fn run(mut self) {
        loop {
            // Buffered text is spoken once its delay has passed.
            let outputs = match self.socket.next(self.next_deadline()).await {
                None => return,
                Some(Incoming::Deadline) => self.speak_overdue(),
                Some(Incoming::Text(text)) => self.on_text(text.as_str()),
                Some(Incoming::Binary(_)) => {
                    vec![Out::Text(error_message(None, 400, "invalid_request", "Binary messages are not supported."))]
                }
                Some(Incoming::Control) => Vec::new(),
            };
            if !self.emit(outputs).await {
                return;
            }
        }
    }

    fn on_text(&mut self, frame: &str) -> Vec<Out> {
        self.record(|s| s.received.push(frame.to_owned()));
        let Ok(Value::Object(request)) = serde_json::from_str::<Value>(frame) else {
            return vec![Out::Text(error_message(None, 400, "invalid_request", "Invalid JSON message."))];
        };
        let Some(context_id) = request.get("context_id").and_then(Value::as_str).map(str::to_owned) else {
            return vec![Out::Text(error_message(None, 400, "invalid_request", "context_id is required."))];
        };
        if request.get("cancel").and_then(Value::as_bool) == Some(true) {
            // No more audio for the context; nothing is sent in reply.
            if let Some(context) = self.contexts.get_mut(&context_id) {
                context.closed = true;
                context.buffer.clear();
                context.buffered_since = None;
            }
            return Vec::new();
        }
        match self.accept(&context_id, &request) {
            Ok(outputs) => outputs,
            Err((status, code, message)) => {
                // A refused input ends its context, as Cartesia's `done: true` on errors says.
                if let Some(context) = self.contexts.get_mut(&context_id) {
                    context.closed = true;
                }
                vec![Out::Text(error_message(Some(&context_id), status, code, &message))]
            }
        }
    }

    /// Takes one generation request on `context_id`; the error message's parts otherwise.
    fn accept(
        &mut self,
        context_id: &str,
        request: &Map<String, Value>,
    ) -> Result<Vec<Out>, (u16, &'static str, String)> {
        let bad = |message: &str| (400, "invalid_request", message.to_owned());
        if let Some(Fault::Refuse(status)) = self.script.fault
            && !self.generated
        {
            self.generated = true;
            let body: Value = serde_json::from_str(&super::status_body(status)).unwrap_or_default();
            let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            let code = if status == 402 { "insufficient_credits" } else { "internal_error" };
            return Err((status, code, text("message")));
        }
        self.generated = true;
        let transcript =
            request.get("transcript").and_then(Value::as_str).ok_or_else(|| bad("transcript is required."))?;
        let fixed: Map<String, Value> = request
            .iter()
            .filter(|(key, _)| !PER_INPUT_FIELDS.contains(&key.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let delay = match request.get("max_buffer_delay_ms").filter(|v| !v.is_null()) {
            None => None,
            Some(value) => match value.as_u64().filter(|ms| *ms <= MAX_BUFFER_DELAY_MS) {
                Some(ms) => Some(Duration::from_millis(ms)),
                None => return Err(bad("max_buffer_delay_ms must be between 0 and 5000.")),
            },
        };
        if !self.contexts.contains_key(context_id) {
            let context = self.open_context(fixed.clone())?;
            self.contexts.insert(context_id.to_owned(), context);
        }
        let Some(context) = self.contexts.get_mut(context_id) else {
            return Err((500, "internal_error", "context vanished".into()));
        };
        if context.closed {
            return Err(bad(&format!("Context {context_id} has closed. Use a new context_id for further inputs.")));
        }
        if context.fixed != fixed {
            return Err(bad(
                "Inputs on the same context must keep all fields except transcript, continue and duration the same.",
            ));
        }
        if let Some(delay) = delay {
            context.buffer_delay = delay;
        }
        if !transcript.is_empty() {
            context.buffer.push_str(transcript);
            context.buffered_since.get_or_insert_with(Instant::now);
        }
        let flush = request.get("flush").and_then(Value::as_bool) == Some(true);
        // `continue` defaults to false: an input without it is the context's last.
        let continues = request.get("continue").and_then(Value::as_bool) == Some(true);
        let mut outputs = Vec::new();
        if flush || !continues || context.buffer_delay.is_zero() {
            outputs.extend(speak(context_id, context));
        }
        if flush {
            outputs.push(Out::Text(
                Obj::new()
                    .str("type", "flush_done")
                    .bool("done", false)
                    .bool("flush_done", true)
                    .int("flush_id", context.flush_id)
                    .int("status_code", 206)
                    .str("context_id", context_id)
                    .finish(),
            ));
            context.flush_id += 1;
        }
        if !continues {
            context.closed = true;
            outputs.push(Out::Text(
                Obj::new()
                    .str("type", "done")
                    .bool("done", true)
                    .int("status_code", 200)
                    .str("context_id", context_id)
                    .finish(),
            ));
        }
        let flushed = usize::from(flush);
        let done = (!continues).then(|| context_id.to_owned());
        self.record(|s| {
            s.flushes += flushed;
            s.done.extend(done);
        });
        Ok(outputs)
    }

    /// A context for a first input: its model, voice and output format checked.
    fn open_context(&self, fixed: Map<String, Value>) -> Result<Context, (u16, &'static str, String)> {
        let model = fixed.get("model_id").and_then(Value::as_str).unwrap_or_default();
        if !MODELS.contains(&model) {
            let (code, _, message) = model_not_found(model);
            return Err((400, code, message));
        }
        let voice = fixed.get("voice").and_then(|voice| voice.get("id").or(Some(voice))).and_then(Value::as_str);
        let voice = voice.ok_or((400, "invalid_request", "voice is required.".to_owned()))?;
        if !self.api.knows_voice(voice) {
            let (code, _, message) = voice_not_found(voice);
            return Err((400, code, message));
        }
        let sample_rate = pcm_rate(fixed.get("output_format")).map_err(|message| (400, "invalid_request", message))?;
        Ok(Context {
            fixed,
            sample_rate,
            buffer: String::new(),
            buffered_since: None,
            buffer_delay: Duration::from_millis(DEFAULT_BUFFER_DELAY_MS),
            flush_id: 1,
            closed: false,
        })
    }

    /// When the earliest buffered text is due to be spoken.
    fn next_deadline(&self) -> Option<Instant> {
        self.contexts
            .values()
            .filter(|context| !context.closed)
            .filter_map(|context| context.buffered_since.map(|since| since + context.buffer_delay))
            .min()
    }

    /// Speaks every buffer whose delay has passed.
    fn speak_overdue(&mut self) -> Vec<Out> {
        let now = Instant::now();
        let mut outputs = Vec::new();
        for (context_id, context) in &mut self.contexts {
            if !context.closed && context.buffered_since.is_some_and(|since| since + context.buffer_delay <= now) {
                outputs.extend(speak(context_id, context));
            }
        }
        outputs
    }

    /// Sends `outputs` in order; false once the session is over.
    async fn emit(&mut self, outputs: Vec<Out>) -> bool {
        for output in outputs {
            match output {
                Out::Text(text) => {
                    if !self.socket.send_text(text).await {
                        return false;
                    }
                }
                Out::Speak { context_id, flush_id, sample_rate, text } => {
                    self.record(|s| s.generations.push((context_id.clone(), flush_id, text.clone())));
                    let pcm = self.script.pcm_for(&text, sample_rate);
                    for (i, chunk) in pcm.chunks(self.script.chunk_bytes).enumerate() {
                        if i > 0 {
                            self.api.shutdown.sleep(self.script.tone.chunk_delay).await;
                        }
                        let message = Obj::new()
                            .str("type", "chunk")
                            .str("data", &STANDARD.encode(chunk))
                            .bool("done", false)
                            .int("status_code", 206)
                            .float("step_time", 12.5)
                            .int("flush_id", flush_id)
                            .str("context_id", &context_id)
                            .finish();
                        self.record(|s| s.audio.extend_from_slice(chunk));
                        if !self.socket.send_text(message).await {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }
}

/// Takes a context's buffer as one generation of its current flush group.
fn speak(context_id: &str, context: &mut Context) -> Option<Out> {
    context.buffered_since = None;
    let text = std::mem::take(&mut context.buffer);
    (!text.trim().is_empty()).then(|| Out::Speak {
        context_id: context_id.to_owned(),
        flush_id: context.flush_id,
        sample_rate: context.sample_rate,
        text: text.trim().to_owned(),
    })
}

/// Cartesia's error message: `{"type": "error", "status_code", "error_code", "title",
/// "message", "done": true, "context_id", "request_id"}`.
fn error_message(context_id: Option<&str>, status: u16, code: &str, message: &str) -> String {
    let title = match status {
        400 => "Bad request",
        401 => "Unauthorized",
        402 => "Insufficient credits",
        429 => "Too many requests",
        _ => "Internal server error",
    };
    Obj::new()
        .str("type", "error")
        .opt_str("context_id", context_id)
        .int("status_code", status)
        .bool("done", true)
        .str("error_code", code)
        .str("title", title)
        .str("message", message)
        .str("request_id", "req_fake")
        .finish()
}
