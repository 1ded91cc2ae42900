//! Text-to-speech: one `POST /audio/speech` per flushed sentence group, streamed back as raw
//! 24 kHz PCM.
//!
//! The stream itself (ordering, splitting, PCM, errors) is the kit's [`SpeechStream`]; this module
//! builds the request.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::json::{OptionsExt, f32_number};
use voiceblox_plugin_kit::speech::{SpeechEndpoint, SpeechStream};

use crate::PROVIDER;
use crate::config::{Endpoint, merged_options, model_name};
use crate::error::invalid;
use voiceblox_plugin_contract::types::{Action, HttpRequest, Input, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::tts::Request;

/// `response_format: "pcm"` is 24 kHz 16-bit signed little-endian mono; nothing else is offered.
pub const SAMPLE_RATE: u32 = 24_000;

/// The API's limit on `input`.
const MAX_INPUT_CHARS: usize = 4096;

pub const DEFAULT_MODEL: &str = "gpt-4o-mini-tts";
pub const DEFAULT_VOICE: &str = "alloy";

/// One synthesis stream.
#[derive(Debug)]
pub struct Speech {
    stream: SpeechStream<SpeechRequest>,
}

/// The request every piece of text is sent with.
#[derive(Debug)]
struct SpeechRequest {
    endpoint: Endpoint,
    /// Every field but `input`, fixed for the stream.
    base_body: Map<String, Value>,
}

impl SpeechEndpoint for SpeechRequest {
    type Request = HttpRequest;

    fn request(&self, text: &str) -> HttpRequest {
        let mut body = self.base_body.clone();
        body.insert("input".into(), json!(text));
        HttpRequest {
            method: "POST".into(),
            url: self.endpoint.url("audio/speech"),
            headers: self.endpoint.headers("application/json"),
            body: Value::Object(body).to_string().into_bytes(),
        }
    }
}

impl Speech {
    /// Validates the options; nothing is sent before text is flushed.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merged_options(config, &request.options)?;
        let endpoint = Endpoint::new(config, &options)?;
        let voice = request.voice.as_deref().map(str::trim).filter(|v| !v.is_empty()).unwrap_or(DEFAULT_VOICE);

        let mut base_body = Map::new();
        base_body.insert("model".into(), json!(model_name(config, DEFAULT_MODEL)));
        base_body.insert("voice".into(), json!(voice));
        base_body.insert("response_format".into(), json!("pcm"));
        if let Some(instructions) = options.opt_str("instructions").map_err(invalid)?.filter(|s| !s.trim().is_empty()) {
            base_body.insert("instructions".into(), json!(instructions));
        }
        if let Some(speed) = options.opt_f64("speed").map_err(invalid)? {
            if !(0.25..=4.0).contains(&speed) {
                return Err(invalid(format!("option `speed` must be between 0.25 and 4.0, got {speed}")));
            }
            base_body.insert("speed".into(), f32_number(speed as f32));
        }
        let request = SpeechRequest { endpoint, base_body };
        Ok(Speech { stream: SpeechStream::new(PROVIDER, request, SAMPLE_RATE, MAX_INPUT_CHARS) })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        self.stream.handle(input.into()).into_iter().map(Action::from).collect()
    }
}

#[cfg(test)]
mod tests;
