//! Text-to-speech over HTTP (`transport: "http"`): one
//! `POST /v1/text-to-speech/{voice_id}/stream?output_format=pcm_<rate>` per flushed sentence
//! group, answered with raw PCM streamed as it is synthesized.
//!
//! The stream itself (ordering, splitting, PCM, errors) is the kit's [`SpeechStream`]; this module
//! builds the request and reads ElevenLabs' error bodies.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::requests::Output;
use voiceblox_plugin_kit::speech::{SpeechEndpoint, SpeechStream};

use crate::PROVIDER;
use crate::config::{Settings, header};
use crate::error::refine_http;
use voiceblox_plugin_contract::types::{Action, Header, HttpRequest, Input};

/// Characters per request: the limit of ElevenLabs' older models (Flash v2.5 takes 40 000), so
/// every model accepts every piece.
const MAX_TEXT_CHARS: usize = 5_000;

/// One synthesis stream.
#[derive(Debug)]
pub struct HttpSpeech {
    stream: SpeechStream<SpeechRequest>,
}

/// The request every piece of text is sent with.
#[derive(Debug)]
struct SpeechRequest {
    url: String,
    headers: Vec<Header>,
    /// Every field but `text`, fixed for the stream.
    base_body: Map<String, Value>,
}

impl SpeechEndpoint for SpeechRequest {
    type Request = HttpRequest;

    fn request(&self, text: &str) -> HttpRequest {
        let mut body = Map::new();
        body.insert("text".into(), json!(text));
        body.extend(self.base_body.clone());
        HttpRequest {
            method: "POST".into(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: Value::Object(body).to_string().into_bytes(),
        }
    }
}

impl HttpSpeech {
    /// Nothing is sent before text is flushed.
    pub fn open(settings: &Settings) -> Self {
        let mut headers = settings.auth_headers();
        headers.push(header("Content-Type", "application/json"));
        let mut base_body = Map::new();
        base_body.insert("model_id".into(), json!(settings.model));
        if let Some(voice_settings) = &settings.voice_settings {
            base_body.insert("voice_settings".into(), voice_settings.clone());
        }
        let request = SpeechRequest { url: settings.stream_url(), headers, base_body };
        HttpSpeech { stream: SpeechStream::new(PROVIDER, request, settings.sample_rate, MAX_TEXT_CHARS) }
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        self.stream
            .handle(input.into())
            .into_iter()
            .map(|output| match output {
                Output::Fail(failure) => Output::Fail(refine_http(failure)),
                other => other,
            })
            .map(Action::from)
            .collect()
    }
}

#[cfg(test)]
mod tests;
