//! Text-to-speech (Aura): one `POST /v1/speak` per flushed sentence group, answered with raw
//! `linear16` PCM (`container=none`) streamed as it is synthesized.
//!
//! Requests run one at a time in flush order ([`SerialQueue`]) so audio plays in the order the
//! text was written; `flushed` follows the last audio of each flush.

use serde_json::json;
use voiceblox_plugin_kit::pcm::PcmCarry;
use voiceblox_plugin_kit::queue::{SerialQueue, Step};
use voiceblox_plugin_kit::response::ResponseBody;
use voiceblox_plugin_kit::text::split_text;
use voiceblox_plugin_kit::url::{self, Query};

use crate::PROVIDER;
use crate::config::{api_url, apply_options, auth_headers, base_url, header, merged_options, model_name};
use crate::error::{from_http, protocol};
use crate::exports::voiceblox::plugin::tts::Request;
use crate::response::body_for;
use crate::voiceblox::plugin::types::{
    Action, Event, Header, HttpRequest, Input, ProviderConfig, ProviderError, TtsAudio, TtsEvent,
};

/// Rates `linear16` output supports; the first is the default.
pub const SAMPLE_RATES: &[u32] = &[24_000, 16_000, 48_000, 8_000, 32_000];

pub const DEFAULT_MODEL: &str = "aura-2-thalia-en";

/// The REST endpoint's limit on `text`.
const MAX_TEXT_CHARS: usize = 2000;

/// One request's text; `last` marks the end of a flush.
#[derive(Debug)]
struct Job {
    text: String,
    last: bool,
}

/// One synthesis stream.
#[derive(Debug)]
pub struct Speak {
    url: String,
    headers: Vec<Header>,
    sample_rate: u32,
    text: String,
    queue: SerialQueue<Job>,
    body: ResponseBody,
    carry: PcmCarry,
    done: bool,
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
        Ok(Speak {
            url: url::append_query(&api_url(&base, "speak"), &query.encode()),
            headers,
            sample_rate,
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
        let pieces = split_text(&std::mem::take(&mut self.text), MAX_TEXT_CHARS);
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
                vec![Action::Emit(Event::Tts(TtsEvent::Audio(TtsAudio { pcm, sample_rate: self.sample_rate })))]
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
                        let request = HttpRequest {
                            method: "POST".into(),
                            url: self.url.clone(),
                            headers: self.headers.clone(),
                            body: json!({ "text": job.text }).to_string().into_bytes(),
                        };
                        out.push(Action::HttpRequest((id, request)));
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
}

#[cfg(test)]
mod tests;
