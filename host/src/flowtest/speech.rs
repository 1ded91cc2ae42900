//! A voice flow test's speech providers. The STT hears what the test says the user said (a
//! turn's `user` text) once that turn's WAV has been played into the microphone: Deepgram's
//! live socket answers each `Finalize` with it, an OpenAI-style transcription request gets it
//! as its text. The TTS answers with silence as long as the text would take to say.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use super::script::answer_bytes;
use super::wire::deepgram;
use crate::record::format::WsData;
use crate::record::{Asked, HttpExchange, Responder, WsExchange, WsOpen, WsResponder, WsStep};

/// How long the scripted TTS takes to say one character (about 15 characters a second).
const PER_CHARACTER: Duration = Duration::from_millis(65);
/// The scripted TTS's time to first audio, and the STT's time to a final transcript.
const LATENCY: Duration = Duration::from_millis(150);
/// Audio per streamed TTS chunk.
const TTS_CHUNK: Duration = Duration::from_millis(100);
/// The rate of Deepgram's and OpenAI's default PCM output.
const DEFAULT_TTS_RATE: u32 = 24_000;

/// What the user said, for the STT: each spoken turn's text, ready once its audio has played.
#[derive(Debug, Default)]
pub struct Heard(Mutex<VecDeque<Utterance>>);

#[derive(Debug)]
struct Utterance {
    text: String,
    played: bool,
}

impl Heard {
    /// The user starts saying `text`.
    pub fn speaking(&self, text: &str) {
        self.lock().push_back(Utterance { text: text.to_string(), played: false });
    }

    /// The audio of what the user is saying has all gone into the microphone.
    pub fn said(&self) {
        if let Some(last) = self.lock().back_mut() {
            last.played = true;
        }
    }

    /// The transcript of the next utterance whose audio has played; empty if none has (an
    /// STT finalising mid-sentence, or on a noise).
    fn transcript(&self) -> String {
        let mut utterances = self.lock();
        match utterances.front() {
            Some(first) if first.played => utterances.pop_front().map(|u| u.text).unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Utterance>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn path(asked: &Asked<'_>) -> String {
    asked.url.split('?').next().unwrap_or_default().to_string()
}

fn query_value(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').filter_map(|pair| pair.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
}

/// A TTS request (OpenAI `/audio/speech`, Deepgram `/v1/speak`): silence for as long as its
/// text takes to say, streamed as raw 16-bit PCM.
pub fn tts(asked: &Asked<'_>) -> Option<HttpExchange> {
    let path = path(asked);
    let field = if path.ends_with("/audio/speech") {
        "input"
    } else if path.ends_with("/v1/speak") {
        "text"
    } else {
        return None;
    };
    let body: Value = serde_json::from_slice(asked.body).unwrap_or_default();
    let text = body.get(field).and_then(Value::as_str).unwrap_or_default();
    let rate = query_value(asked.url, "sample_rate").and_then(|r| r.parse().ok()).unwrap_or(DEFAULT_TTS_RATE);
    let length = PER_CHARACTER * text.chars().count().max(1) as u32;
    let total = (u128::from(rate) * length.as_millis() / 1000) as usize * 2;
    let chunk = (u128::from(rate) * TTS_CHUNK.as_millis() / 1000) as usize * 2;
    let chunks = (0..total).step_by(chunk).map(|at| Bytes::from(vec![0u8; chunk.min(total - at)])).collect();
    Some(answer_bytes(LATENCY, 200, "application/octet-stream", chunks))
}

/// A batch transcription request (`/audio/transcriptions`): the utterance just played.
pub fn transcription(asked: &Asked<'_>, heard: &Heard) -> Option<HttpExchange> {
    if !path(asked).ends_with("/audio/transcriptions") {
        return None;
    }
    let text = json!({"text": heard.transcript()}).to_string();
    Some(answer_bytes(LATENCY, 200, "application/json", vec![Bytes::from(text)]))
}

/// Deepgram's live transcription socket (`/v1/listen`), answering as the session talks.
pub fn listen(asked: &Asked<'_>, heard: Arc<Heard>) -> Option<WsExchange> {
    if !path(asked).ends_with("/v1/listen") {
        return None;
    }
    let rate = query_value(asked.url, "sample_rate").and_then(|r| r.parse().ok()).unwrap_or(16_000);
    let listen = DeepgramListen { heard, rate, samples: 0, finalized: 0, last_end: 0.0 };
    let responder = Responder(Arc::new(Mutex::new(listen)));
    Some(WsExchange {
        open: WsOpen::Opened(Duration::from_millis(50)),
        incoming: Vec::new(),
        responder: Some(responder),
    })
}

struct DeepgramListen {
    heard: Arc<Heard>,
    rate: u32,
    /// Audio received so far.
    samples: u64,
    finalized: usize,
    /// Where the last final transcript ended, in seconds of audio.
    last_end: f64,
}

impl WsResponder for DeepgramListen {
    fn sent(&mut self, message: &Message) -> Vec<WsStep> {
        let text = match message {
            Message::Binary(audio) => {
                self.samples += audio.len() as u64 / 2;
                return Vec::new();
            }
            Message::Text(text) => text.as_str(),
            _ => return Vec::new(),
        };
        let kind: Value = serde_json::from_str(text).unwrap_or_default();
        let audio_seconds = self.samples as f64 / f64::from(self.rate);
        match kind.get("type").and_then(Value::as_str) {
            Some("Finalize") => {
                self.finalized += 1;
                let transcript = self.heard.transcript();
                let start = self.last_end;
                self.last_end = audio_seconds;
                let results = deepgram::finalized(self.finalized, &transcript, start, audio_seconds - start);
                vec![WsStep::Message(LATENCY, WsData::Text { text: results })]
            }
            Some("CloseStream") => vec![
                WsStep::Message(LATENCY, WsData::Text { text: deepgram::metadata(audio_seconds) }),
                WsStep::Message(LATENCY, WsData::Close { code: Some(1000), reason: String::new() }),
                WsStep::End(LATENCY),
            ],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked<'a>(url: &'a str, body: &'a [u8]) -> Asked<'a> {
        Asked { method: "POST", url, headers: &[], body }
    }

    #[test]
    fn speech_lasts_as_long_as_its_text_and_is_silent() {
        let body = br#"{"model": "gpt-4o-mini-tts", "input": "Hello there.", "response_format": "pcm"}"#;
        let exchange = tts(&asked("https://api.openai.com/v1/audio/speech", body)).unwrap();
        let bytes: usize = exchange
            .body
            .iter()
            .map(|step| match step {
                crate::record::BodyStep::Chunk(_, chunk) => {
                    assert!(chunk.iter().all(|b| *b == 0));
                    chunk.len()
                }
                _ => 0,
            })
            .sum();
        assert_eq!(bytes, 24_000 * 2 * 12 * 65 / 1000);
        assert!(tts(&asked("https://api.openai.com/v1/chat/completions", body)).is_none());
    }

    #[test]
    fn the_stt_hears_an_utterance_only_once_it_has_been_played() {
        let heard = Arc::new(Heard::default());
        let exchange =
            listen(&asked("wss://api.deepgram.com/v1/listen?sample_rate=16000", b""), heard.clone()).unwrap();
        let Responder(listen) = exchange.responder.unwrap();
        let mut listen = listen.lock().unwrap();
        heard.speaking("Book a table for two.");
        assert!(listen.sent(&Message::Binary(vec![0u8; 32_000].into())).is_empty());
        let finalize = Message::Text(r#"{"type":"Finalize"}"#.into());
        let transcript = |steps: Vec<WsStep>| match &steps[0] {
            WsStep::Message(_, WsData::Text { text }) => {
                let results: Value = serde_json::from_str(text).unwrap();
                results["channel"]["alternatives"][0]["transcript"].as_str().unwrap().to_string()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(transcript(listen.sent(&finalize)), "", "mid-sentence: nothing yet");
        heard.said();
        assert_eq!(transcript(listen.sent(&finalize)), "Book a table for two.");
        let closing = listen.sent(&Message::Text(r#"{"type":"CloseStream"}"#.into()));
        assert!(matches!(closing.last(), Some(WsStep::End(_))));
    }
}
