//! Text-to-speech over HTTP (`transport: "http"`): one `POST /tts/bytes` per flushed sentence
//! group, answered with raw `pcm_s16le` streamed as it is synthesized.
//!
//! The stream itself (ordering, splitting, PCM, errors) is the kit's [`SpeechStream`]; this module
//! builds the request. Cartesia's error bodies (`{"error_code", "title", "message", ...}`) are
//! quoted by their `message`, which the kit reads.

use serde_json::{Map, Value};
use voiceblox_plugin_kit::speech::{SpeechEndpoint, SpeechStream};

use crate::PROVIDER;
use crate::config::{Settings, header};
use voiceblox_plugin_contract::types::{Action, Header, HttpRequest, Input};

/// Characters per request. Cartesia documents no hard limit; long transcripts are slow to start
/// and a sentence group is far shorter, so this only splits the pathological case.
const MAX_TEXT_CHARS: usize = 5_000;

/// One synthesis stream.
#[derive(Debug)]
pub struct HttpSpeech {
    stream: SpeechStream<BytesRequest>,
}

/// The request every piece of text is sent with.
#[derive(Debug)]
struct BytesRequest {
    url: String,
    headers: Vec<Header>,
    settings: Settings,
}

impl SpeechEndpoint for BytesRequest {
    type Request = HttpRequest;

    fn request(&self, text: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: Value::Object(self.settings.generation(text, Map::new())).to_string().into_bytes(),
        }
    }
}

impl HttpSpeech {
    /// Nothing is sent before text is flushed.
    pub fn open(settings: &Settings) -> Self {
        let mut headers = settings.headers();
        headers.push(header("Content-Type", "application/json"));
        let request = BytesRequest { url: settings.bytes_url(), headers, settings: settings.clone() };
        HttpSpeech { stream: SpeechStream::new(PROVIDER, request, settings.sample_rate, MAX_TEXT_CHARS) }
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        self.stream.handle(input.into()).into_iter().map(Action::from).collect()
    }
}

#[cfg(test)]
mod tests;
