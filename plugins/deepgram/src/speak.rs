//! Text-to-speech (Aura): one `POST /v1/speak` per flushed sentence group, answered with raw
//! `linear16` PCM (`container=none`) streamed as it is synthesized.
//!
//! The stream itself (ordering, splitting, PCM, errors) is the kit's [`SpeechStream`]; this module
//! builds the request.

use serde_json::json;
use voiceblox_plugin_kit::speech::{SpeechEndpoint, SpeechStream};
use voiceblox_plugin_kit::url::{self, Query};

use crate::PROVIDER;
use crate::config::{api_url, apply_options, auth_headers, base_url, header, merged_options, model_name};
use voiceblox_plugin_contract::types::{Action, Header, HttpRequest, Input, ProviderConfig, ProviderError};
use voiceblox_plugin_sdk::tts::Request;

/// Rates `linear16` output supports; the first is the default.
pub const SAMPLE_RATES: &[u32] = &[24_000, 16_000, 48_000, 8_000, 32_000];

pub const DEFAULT_MODEL: &str = "aura-2-thalia-en";

/// The REST endpoint's limit on `text`.
const MAX_TEXT_CHARS: usize = 2000;

/// One synthesis stream.
#[derive(Debug)]
pub struct Speak {
    sample_rate: u32,
    stream: SpeechStream<SpeakRequest>,
}

/// The request every piece of text is sent with.
#[derive(Debug)]
struct SpeakRequest {
    url: String,
    headers: Vec<Header>,
}

impl SpeechEndpoint for SpeakRequest {
    type Request = HttpRequest;

    fn request(&self, text: &str) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: json!({ "text": text }).to_string().into_bytes(),
        }
    }
}

impl Speak {
    /// Validates the options; nothing is sent before text is flushed.
    pub fn open(config: &ProviderConfig, request: &Request) -> Result<Self, ProviderError> {
        let options = merged_options(config, &request.options)?;
        // A Deepgram voice is a model (`aura-2-<voice>-<language>`).
        let voice = request.voice.as_deref().map(str::trim).filter(|v| !v.is_empty());
        let model = model_name(voice.unwrap_or(&config.model), PROVIDER, DEFAULT_MODEL);
        let sample_rate = request.sample_rate.filter(|rate| SAMPLE_RATES.contains(rate)).unwrap_or(SAMPLE_RATES[0]);

        let mut query = Query::new();
        query
            .push("model", model)
            .push("encoding", "linear16")
            .push("sample_rate", sample_rate.to_string())
            .push("container", "none");
        apply_options(&mut query, &options)?;
        if query.get_all("encoding").ne(["linear16"]) || query.get_all("container").ne(["none"]) {
            return Err(crate::error::invalid(
                "options may not change `encoding` or `container`: audio is raw linear16",
            ));
        }
        let sample_rate = match query.get_all("sample_rate").next().map(str::parse::<u32>) {
            Some(Ok(rate)) if SAMPLE_RATES.contains(&rate) => rate,
            _ => return Err(crate::error::invalid(format!("option `sample_rate` must be one of {SAMPLE_RATES:?}"))),
        };

        let mut headers = auth_headers(config);
        headers.push(header("Content-Type", "application/json"));
        let base = base_url(config);
        let url = url::append_query(&api_url(&base, "speak"), &query.encode());
        let stream = SpeechStream::new(PROVIDER, SpeakRequest { url, headers }, sample_rate, MAX_TEXT_CHARS);
        Ok(Speak { sample_rate, stream })
    }

    /// The rate of the audio this stream produces.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        self.stream.handle(input.into()).into_iter().map(Action::from).collect()
    }
}

#[cfg(test)]
mod tests;
