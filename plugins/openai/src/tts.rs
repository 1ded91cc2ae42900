//! Text-to-speech: one `POST /audio/speech` per flushed sentence group, streamed back as raw
//! 24 kHz PCM.
//!
//! Requests run one at a time in flush order ([`SerialQueue`]) so audio plays in the order the
//! text was written; `flushed` follows the last audio of each flush.

use serde_json::{Map, Value, json};
use voiceblox_plugin_kit::json::{OptionsExt, f32_number};
use voiceblox_plugin_kit::pcm::PcmCarry;
use voiceblox_plugin_kit::queue::{SerialQueue, Step};
use voiceblox_plugin_kit::response::ResponseBody;
use voiceblox_plugin_kit::text::split_text;

use crate::config::{Endpoint, merged_options, model_name};
use crate::error::{from_http, invalid, protocol};
use crate::exports::voiceblox::plugin::tts::Request;
use crate::response::body_for;
use crate::voiceblox::plugin::types::{
    Action, Event, HttpRequest, Input, ProviderConfig, ProviderError, TtsAudio, TtsEvent,
};

/// `response_format: "pcm"` is 24 kHz 16-bit signed little-endian mono; nothing else is offered.
pub const SAMPLE_RATE: u32 = 24_000;

/// The API's limit on `input`.
const MAX_INPUT_CHARS: usize = 4096;

pub const DEFAULT_MODEL: &str = "gpt-4o-mini-tts";
pub const DEFAULT_VOICE: &str = "alloy";

/// One request's text; `last` marks the end of a flush.
#[derive(Debug)]
struct Job {
    text: String,
    last: bool,
}

/// One synthesis stream.
#[derive(Debug)]
pub struct Speech {
    endpoint: Endpoint,
    /// Every field but `input`, fixed for the stream.
    base_body: Map<String, Value>,
    text: String,
    queue: SerialQueue<Job>,
    body: ResponseBody,
    carry: PcmCarry,
    done: bool,
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
        Ok(Speech {
            endpoint,
            base_body,
            text: String::new(),
            queue: SerialQueue::new(),
            body: ResponseBody::AwaitingHead,
            carry: PcmCarry::new(),
            done: false,
        })
    }

    /// Advances the stream by one host input.
    pub fn handle(&mut self, input: Input) -> Vec<Action> {
        if self.done {
            return Vec::new();
        }
        let in_flight = self.queue.in_flight_id();
        let result = match input {
            Input::Text(text) => {
                self.text.push_str(&text);
                Ok(Vec::new())
            }
            Input::Flush => Ok(self.flush()),
            Input::End => {
                let mut out = if self.text.trim().is_empty() { Vec::new() } else { self.flush() };
                let steps = self.queue.end();
                out.extend(self.run(steps));
                Ok(out)
            }
            Input::HttpResponse((id, head)) if Some(id) == in_flight => {
                self.body = body_for(&head);
                Ok(Vec::new())
            }
            Input::HttpBody((id, bytes)) if Some(id) == in_flight => Ok(self.on_body(&bytes)),
            Input::HttpEnd(id) if Some(id) == in_flight => self.on_end(id),
            _ => Ok(Vec::new()),
        };
        result.unwrap_or_else(|error| {
            self.done = true;
            vec![Action::Fail(error)]
        })
    }

    fn flush(&mut self) -> Vec<Action> {
        let pieces = split_text(&std::mem::take(&mut self.text), MAX_INPUT_CHARS);
        let count = pieces.len();
        let mut steps = Vec::new();
        if count == 0 {
            // Nothing to say still answers the flush, in order.
            steps.extend(self.queue.submit(None));
        }
        for (index, text) in pieces.into_iter().enumerate() {
            steps.extend(self.queue.submit(Some(Job { text, last: index + 1 == count })));
        }
        self.run(steps)
    }

    fn on_body(&mut self, bytes: &[u8]) -> Vec<Action> {
        match &mut self.body {
            ResponseBody::Payload => {
                let pcm = self.carry.push(bytes);
                if pcm.is_empty() {
                    return Vec::new();
                }
                vec![Action::Emit(Event::Tts(TtsEvent::Audio(TtsAudio { pcm, sample_rate: SAMPLE_RATE })))]
            }
            ResponseBody::Failed(collector) => {
                collector.push(bytes);
                Vec::new()
            }
            ResponseBody::AwaitingHead => Vec::new(),
        }
    }

    fn on_end(&mut self, id: u32) -> Result<Vec<Action>, ProviderError> {
        match std::mem::replace(&mut self.body, ResponseBody::AwaitingHead) {
            ResponseBody::Failed(collector) => Err(from_http(collector.finish())),
            ResponseBody::AwaitingHead => Err(protocol("the speech response ended before its head arrived")),
            ResponseBody::Payload => {
                // An odd trailing byte cannot be a sample; dropping it keeps the next audio aligned.
                self.carry.reset();
                let steps = self.queue.complete(id);
                Ok(self.run(steps))
            }
        }
    }

    fn run(&mut self, steps: Vec<Step<Job>>) -> Vec<Action> {
        let mut out = Vec::new();
        for step in steps {
            match step {
                Step::Start { id } => {
                    if let Some(job) = self.queue.in_flight_job() {
                        out.push(Action::HttpRequest((id, self.request(&job.text))));
                        self.body = ResponseBody::AwaitingHead;
                    }
                }
                Step::Done(job) => {
                    if job.is_none_or(|job| job.last) {
                        out.push(Action::Emit(Event::Tts(TtsEvent::Flushed)));
                    }
                }
                Step::Finish => {
                    self.done = true;
                    out.push(Action::Finish);
                }
            }
        }
        out
    }

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

#[cfg(test)]
mod tests;
