//! `GET /v1/text-to-speech/{voice_id}/stream-input`: the socket, from the handshake to the close.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use tokio::time::Instant;

use super::session::StreamInputSession;
use super::{DEFAULT_MODEL, ElevenLabs, KeyProblem, MODELS, detail_body, header_key, pcm_rate};
use crate::fakes::server::decode_query;
use crate::fakes::tone::{ToneStream, socket_tone_builders};
use crate::fakes::wire::{Obj, Reply, array, json_string};
use crate::fakes::ws::{Incoming, Socket};

/// ElevenLabs' default generation schedule: characters buffered before each generation.
pub const DEFAULT_CHUNK_LENGTH_SCHEDULE: [usize; 4] = [120, 160, 250, 290];

/// The inactivity timeout when the handshake sets none, and the largest it may set.
const DEFAULT_INACTIVITY_S: u64 = 20;
const MAX_INACTIVITY_S: u64 = 180;

/// The most a close frame's reason may hold (125 bytes of payload less the code). ElevenLabs'
/// longer reasons arrive cut here, mid-word ("...Please make sure to eit").
const MAX_CLOSE_REASON: usize = 123;

/// A scripted way for a socket to go wrong.
#[derive(Clone, Debug)]
enum Fault {
    /// After the first text (past the initialisation message): an error message, then a close.
    Refuse { error: String, message: String },
}

/// How one `stream-input` socket behaves.
#[derive(Clone, Debug)]
pub struct StreamInputScript {
    tone: ToneStream,
    chunk_bytes: usize,
    reject: Option<Reply>,
    fault: Option<Fault>,
}

impl Default for StreamInputScript {
    fn default() -> Self {
        StreamInputScript::new()
    }
}

impl StreamInputScript {
    /// Speaks a 440 Hz tone, 40 ms per character, in messages of 4800 bytes (whole samples:
    /// ElevenLabs never splits one) 5 ms apart.
    pub fn new() -> Self {
        StreamInputScript { tone: ToneStream::default(), chunk_bytes: 4_800, reject: None, fault: None }
    }

    /// Refuse the upgrade with `status` and ElevenLabs' body for it.
    pub fn reject(status: u16) -> Self {
        let mut script = Self::new();
        script.reject = Some(Reply::json(status, super::error_body(status)));
        script
    }

    /// Answer the first text with `{"message", "error": "quota_exceeded", "code": 1008}` and a
    /// 1008 close.
    pub fn quota_exceeded() -> Self {
        let mut script = Self::new();
        script.fault = Some(Fault::Refuse {
            error: "quota_exceeded".into(),
            message: "This request exceeds your quota of 10000. You have 3 credits remaining, while 15 credits \
                      are required for this request."
                .into(),
        });
        script
    }
}

socket_tone_builders!(StreamInputScript);

/// The handshake parameters the session runs with.
struct Params {
    voice_id: String,
    sample_rate: u32,
    inactivity: Duration,
    model: String,
}

fn parse_params(voice_id: String, query: &[(String, String)]) -> Result<Params, Reply> {
    let get = |name: &str| query.iter().find_map(|(key, value)| (key == name).then_some(value.as_str()));
    let sample_rate = pcm_rate(get("output_format"))?;
    let inactivity = match get("inactivity_timeout") {
        None => DEFAULT_INACTIVITY_S,
        Some(value) => value.parse::<u64>().ok().filter(|s| (1..=MAX_INACTIVITY_S).contains(s)).ok_or_else(|| {
            let message = format!("inactivity_timeout must be between 1 and {MAX_INACTIVITY_S}, got {value}");
            Reply::json(400, detail_body("invalid_inactivity_timeout", &message))
        })?,
    };
    Ok(Params {
        voice_id,
        sample_rate,
        inactivity: Duration::from_secs(inactivity),
        model: get("model_id").unwrap_or(DEFAULT_MODEL).to_owned(),
    })
}

pub(super) async fn handle(
    State(api): State<Arc<ElevenLabs>>,
    Path(voice_id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let query = decode_query(query.as_deref().unwrap_or(""));
    let params = match parse_params(voice_id, &query) {
        Ok(params) => params,
        Err(reply) => return reply.into_response(&[]),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            let message = format!("not a WebSocket upgrade ({rejection})");
            return Reply::json(400, detail_body("bad_request", &message)).into_response(&[]);
        }
    };
    let script = api.stream_input.next().unwrap_or_default();
    if let Some(reply) = script.reject.clone() {
        return reply.into_response(&[]);
    }
    let header_key = header_key(&headers).map(str::to_owned);
    let entry = api.sessions.open(StreamInputSession {
        voice_id: params.voice_id.clone(),
        query,
        header_key: header_key.clone(),
        sample_rate: params.sample_rate,
        ..StreamInputSession::default()
    });
    upgrade.on_upgrade(move |ws| async move {
        let socket = Socket::new(ws, entry, api.shutdown.clone());
        let session = Session {
            api,
            socket,
            script,
            params,
            header_key,
            initialised: false,
            buffer: String::new(),
            schedule: DEFAULT_CHUNK_LENGTH_SCHEDULE.to_vec(),
            generations: 0,
            voice_settings: None,
        };
        session.run().await;
    })
}

/// What the session does after a client frame.
enum Out {
    Text(String),
    /// Send this PCM, spoken for this text, as audio messages.
    Speak(String),
    Close(u16, String),
}

struct Session {
    api: Arc<ElevenLabs>,
    socket: Socket<StreamInputSession>,
    script: StreamInputScript,
    params: Params,
    header_key: Option<String>,
    initialised: bool,
    /// Text received and not yet spoken.
    buffer: String,
    schedule: Vec<usize>,
    generations: usize,
    voice_settings: Option<Value>,
}

impl Session {
    fn record(&self, update: impl FnOnce(&mut StreamInputSession)) {
        self.socket.record(update);
    }

    async fn run(mut self) {
        let mut deadline = Instant::now() + self.params.inactivity;
        loop {
            let Some(incoming) = self.socket.next(Some(deadline)).await else {
                return;
            };
            deadline = Instant::now() + self.params.inactivity;
            let outputs = match incoming {
                Incoming::Deadline => {
                    let reason = format!(
                        "Have not received a new text input within the timeout of {} seconds. Streaming input \
                         terminated. Please make sure to either feed the input in the timely manner, or to send \
                         the end of input text (empty string \"\") when done.",
                        self.params.inactivity.as_secs()
                    );
                    self.emit(vec![Out::Close(1008, reason)]).await;
                    return;
                }
                Incoming::Text(text) => self.on_text(text.as_str()),
                Incoming::Binary(_) => invalid_message("binary frames are not accepted"),
                Incoming::Control => Vec::new(),
            };
            if !self.emit(outputs).await {
                return;
            }
        }
    }

    fn on_text(&mut self, frame: &str) -> Vec<Out> {
        self.record(|s| s.received.push(frame.to_owned()));
        let Ok(Value::Object(message)) = serde_json::from_str::<Value>(frame) else {
            return invalid_message(
                "Could not parse input message, make sure it is a json and follows the schema outlined in protocol.",
            );
        };
        let Some(text) = message.get("text").and_then(Value::as_str) else {
            return invalid_message(
                "Could not parse input message, make sure it is a json and follows the schema outlined in protocol.",
            );
        };
        if !self.initialised {
            return self.initialise(&message, text);
        }
        // Voice settings may be repeated unchanged, never changed.
        if let Some(settings) = message.get("voice_settings").filter(|s| !s.is_null())
            && Some(settings) != self.voice_settings.as_ref()
        {
            let reason = "voice_settings field must be provided in the first message and then either be not \
                          provided or not change.";
            return vec![Out::Close(1008, reason.into())];
        }
        if let Some(Fault::Refuse { error, message }) = self.script.fault.clone() {
            let document = Obj::new().str("message", &message).str("error", &error).int("code", 1008).finish();
            return vec![Out::Text(document), Out::Close(1008, message)];
        }
        if text.is_empty() {
            // End of input: speak the rest, then say so and close.
            let mut outputs = self.generate_all();
            outputs.push(Out::Text(
                Obj::new().null("audio").bool("isFinal", true).null("normalizedAlignment").null("alignment").finish(),
            ));
            outputs.push(Out::Close(1000, String::new()));
            return outputs;
        }
        self.buffer.push_str(text);
        if message.get("flush").and_then(Value::as_bool) == Some(true) {
            self.record(|s| s.flushes += 1);
            return self.generate_all();
        }
        let threshold = self.schedule[self.generations.min(self.schedule.len() - 1)];
        if self.buffer.chars().count() >= threshold {
            // Whole words only: the end of a word may still be coming.
            if let Some(cut) = self.buffer.rfind(char::is_whitespace) {
                let rest = self.buffer.split_off(cut);
                let words = std::mem::replace(&mut self.buffer, rest);
                return self.generate(words);
            }
        }
        Vec::new()
    }

    /// The first message: a single space, the key (unless the handshake carried one), the
    /// voice settings and generation config that hold for the whole socket.
    fn initialise(&mut self, message: &serde_json::Map<String, Value>, text: &str) -> Vec<Out> {
        let key =
            self.header_key.clone().or_else(|| message.get("xi_api_key").and_then(Value::as_str).map(str::to_owned));
        match self.api.check_key(key.as_deref()) {
            Err(KeyProblem::Wrong) => return vec![Out::Close(1008, "Invalid API key".into())],
            Err(KeyProblem::Missing) => {
                let reason = "You must be authenticated to use this endpoint: provide xi-api-key.";
                return vec![Out::Close(1008, reason.into())];
            }
            Ok(()) => {}
        }
        if !self.api.knows_voice(&self.params.voice_id) {
            let reason = format!("A voice with voice_id {} does not exist.", self.params.voice_id);
            return vec![Out::Close(1008, reason)];
        }
        if !MODELS.contains(&self.params.model.as_str()) {
            let reason = format!("A model with model ID {} does not exist.", self.params.model);
            return vec![Out::Close(1008, reason)];
        }
        if text != " " {
            return invalid_message("The first message must have a single space as text.");
        }
        self.voice_settings = message.get("voice_settings").filter(|s| !s.is_null()).cloned();
        if let Some(schedule) = message
            .get("generation_config")
            .and_then(|config| config.get("chunk_length_schedule"))
            .and_then(Value::as_array)
        {
            let schedule: Vec<usize> =
                schedule.iter().filter_map(Value::as_u64).filter_map(|n| usize::try_from(n).ok()).collect();
            if schedule.is_empty() || schedule.iter().any(|n| !(50..=500).contains(n)) {
                return invalid_message("chunk_length_schedule values must be between 50 and 500.");
            }
            self.schedule = schedule;
        }
        self.initialised = true;
        Vec::new()
    }

    fn generate_all(&mut self) -> Vec<Out> {
        let text = std::mem::take(&mut self.buffer);
        self.generate(text)
    }

    fn generate(&mut self, text: String) -> Vec<Out> {
        if text.trim().is_empty() {
            return Vec::new();
        }
        self.generations += 1;
        self.record(|s| s.generations.push(text.trim().to_owned()));
        vec![Out::Speak(text.trim().to_owned())]
    }

    /// The audio messages of one generation: the tone in whole-sample chunks, each with the
    /// alignment of its share of the text.
    fn audio_messages(&self, text: &str) -> Vec<(Vec<u8>, String)> {
        let pcm = self.script.pcm_for(text, self.params.sample_rate);
        let chunks: Vec<&[u8]> = pcm.chunks(self.script.chunk_bytes).collect();
        // ElevenLabs' alignment starts each generation with the space before it.
        let chars: Vec<char> = std::iter::once(' ').chain(text.chars()).collect();
        let count = chunks.len().max(1);
        let bytes_per_ms = f64::from(self.params.sample_rate) * 2.0 / 1000.0;
        chunks
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let share = &chars[chars.len() * i / count..chars.len() * (i + 1) / count];
                let chunk_ms = chunk.len() as f64 / bytes_per_ms;
                let per_char = if share.is_empty() { 0 } else { (chunk_ms / share.len() as f64) as i64 };
                let alignment = || {
                    Obj::new()
                        .raw("charStartTimesMs", array((0..share.len()).map(|j| (j as i64 * per_char).to_string())))
                        .raw("charsDurationsMs", array(share.iter().map(|_| per_char.to_string())))
                        .raw("chars", array(share.iter().map(|c| json_string(&c.to_string()))))
                };
                let message = Obj::new()
                    .str("audio", &STANDARD.encode(chunk))
                    .null("isFinal")
                    .obj("normalizedAlignment", alignment())
                    .obj("alignment", alignment())
                    .finish();
                (chunk.to_vec(), message)
            })
            .collect()
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
                Out::Speak(text) => {
                    for (i, (pcm, message)) in self.audio_messages(&text).into_iter().enumerate() {
                        if i > 0 {
                            self.api.shutdown.sleep(self.script.tone.chunk_delay).await;
                        }
                        self.record(|s| s.audio.extend_from_slice(&pcm));
                        if !self.socket.send_text(message).await {
                            return false;
                        }
                    }
                }
                Out::Close(code, mut reason) => {
                    let mut cut = reason.len().min(MAX_CLOSE_REASON);
                    while !reason.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    reason.truncate(cut);
                    self.socket.close(code, reason).await;
                    return false;
                }
            }
        }
        true
    }
}

/// The error message and close ElevenLabs sends for a frame it cannot read.
fn invalid_message(message: &str) -> Vec<Out> {
    let document = Obj::new().str("message", message).str("error", "invalid_input_message").int("code", 1008).finish();
    vec![Out::Text(document), Out::Close(1008, message.to_owned())]
}
